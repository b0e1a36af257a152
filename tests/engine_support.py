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
HOW_TO_GET_AN_ENGINE = "run tools/engine-up.sh (Debian, root) or start Docker"


def require_engine(**options):
    """A DockerEngine on DOCKER_HOST (else the default socket) that answers and holds the
    test image; ``options`` go to ``DockerEngine.from_env``.

    No engine: skipped with how to get one, or failed under CI=true (the plugin's rule,
    ``psa_scripts.testing.plugin.require_real_engine``). The test image missing fails: it
    is a fault to see, not a reason to skip.
    """
    from psa_scripts.testing.plugin import require_real_engine

    engine = require_real_engine(HOW_TO_GET_AN_ENGINE, **options)
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
