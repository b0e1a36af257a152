"""What every real-engine test shares: the test image, the engine or a skip, polling a page.

Importable from any test directory (tests/ is on pytest's pythonpath): the engine tier
(tests/engine/conftest.py, engine_helpers.py) and the bundled scripts' engine tests use it.
"""

import os
import time
import urllib.request

import pytest

TEST_IMAGE = "psa-test/busybox-httpd:latest"  # built by tools/engine-up.sh; serves psa-test-page on 80
PAGE_MARKER = b"psa-test-page"
NO_ENGINE = "no container engine: run tools/engine-up.sh (Debian, root) or start Docker"


def engine_unreachable(error):
    """Whether ``error`` says that no engine answers (no socket, nothing listening): the only
    reason the engine tier may skip. Any other error is a failure to report."""
    import requests

    return isinstance(error, (requests.exceptions.ConnectionError, ConnectionRefusedError, FileNotFoundError))


def require_engine(**options):
    """A DockerEngine on DOCKER_HOST (else the default socket) that answers and holds the
    test image; ``options`` go to ``DockerEngine.from_env``.

    When no engine answers, the calling test (or fixture) is skipped with how to get one;
    under CI=true it fails instead, since CI provisions the engine (``make test`` runs
    tools/engine-up.sh). Any other error (an engine that answers wrongly, a malformed
    DOCKER_HOST, the test image missing) fails: it is a fault to see, not a reason to skip.
    """
    from psa_scripts.containers import DockerEngine

    try:
        engine = DockerEngine.from_env(os.environ, **options)
        engine.client.ping()
    except Exception as error:
        if not engine_unreachable(error):
            pytest.fail(f"the container engine at {os.environ.get('DOCKER_HOST', 'the default socket')} "
                        f"answered with an error: {error!r}")
        if os.environ.get("CI") == "true":
            pytest.fail(f"{NO_ENGINE} ({error}) (CI=true: the engine tier is required)")
        pytest.skip(f"{NO_ENGINE} ({error})")
    try:
        engine.client.images.get(TEST_IMAGE)
    except Exception as error:
        pytest.fail(f"test image {TEST_IMAGE} is not usable ({error}): run tools/engine-up.sh")
    return engine


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
