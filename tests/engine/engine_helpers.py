"""Helpers of the real-engine tests: polling with a deadline, fetching the test page."""

import time
import urllib.request

TEST_IMAGE = "psa-test/busybox-httpd:latest"  # built by tools/engine-up.sh; serves psa-test-page on 80
PAGE_MARKER = b"psa-test-page"


def wait_until(predicate, timeout=20.0, interval=0.05, what="condition"):
    """Poll ``predicate`` until it gives something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def fetch_page(port, timeout=20.0):
    """The page the service serves on 127.0.0.1:port, polled until it answers."""

    def attempt():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                return response.read()
        except OSError:
            return None

    return wait_until(attempt, timeout, what=f"a page on port {port}")


def containers_named(engine, name):
    """The ids of the containers called exactly ``name`` (other test sessions may run alongside)."""
    found = engine.client.api.containers(all=True, filters={"name": name})
    return [c["Id"] for c in found if name in [n.lstrip("/") for n in c.get("Names") or []]]


class SpyEngine:
    """Passes every call to ``engine`` and records the names of the methods called."""

    def __init__(self, engine):
        self.engine = engine
        self.calls = []

    def __getattr__(self, attribute):
        value = getattr(self.engine, attribute)
        if not callable(value):
            return value

        def spy(*args, **kwargs):
            self.calls.append(attribute)
            return value(*args, **kwargs)

        return spy
