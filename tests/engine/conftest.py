"""The real-engine tier: a Docker API (Docker, or Podman's from tools/engine-up.sh) and the test image.

Without an engine these tests skip with how to get one; under CI=true they fail instead,
since CI provisions the engine (``make test`` runs tools/engine-up.sh). Every container a
test creates has a unique name from ``container_names`` and is removed afterwards.
"""

import uuid

import pytest
from engine_support import require_engine

from psa_scripts.errors import EngineError


@pytest.fixture(scope="session")
def engine():
    """A DockerEngine on DOCKER_HOST, with short bounds so that a misbehaving test ends quickly."""
    return require_engine(timeout=30, log_read_seconds=3)


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
