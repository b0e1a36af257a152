"""The real-engine tier: a Docker API (Docker, or Podman's from tools/engine-up.sh) and the test image.

Without an engine these tests skip with how to get one; under CI=true they fail instead,
since CI provisions the engine (``make test`` runs tools/engine-up.sh). Every container a
test creates has a unique name from ``container_names`` and is removed afterwards.
"""

import os
import uuid

import pytest
from engine_helpers import TEST_IMAGE

from psa_scripts.containers import DockerEngine
from psa_scripts.errors import EngineError

NO_ENGINE = "no container engine: run tools/engine-up.sh (Debian, root) or start Docker"


def _unavailable(reason):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the engine tier is required)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def engine():
    """A DockerEngine on DOCKER_HOST, with short bounds so that a misbehaving test ends quickly."""
    try:
        engine = DockerEngine.from_env(os.environ, timeout=30, log_read_seconds=3)
        engine.client.ping()
    except Exception as error:  # EngineError, or the SDK's error when the socket is gone
        _unavailable(f"{NO_ENGINE} ({error})")
    try:
        engine.client.images.get(TEST_IMAGE)
    except Exception:
        _unavailable(f"test image {TEST_IMAGE} missing: run tools/engine-up.sh")
    return engine


@pytest.fixture
def container_names(engine):
    """``container_names()`` gives a fresh unique name; every such container is removed at the end."""
    made = []

    def make(prefix="psa-test"):
        made.append(f"{prefix}-{uuid.uuid4().hex[:10]}")
        return made[-1]

    yield make
    for name in made:
        try:
            engine.remove(name)
        except EngineError:
            pass
