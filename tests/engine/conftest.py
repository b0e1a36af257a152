"""The real-engine tier: a Docker API (Docker, or Podman's from tools/engine-up.sh) and the test image.

Without an engine these tests skip with how to get one; under CI=true they fail instead,
since CI provisions the engine (``make test`` runs tools/engine-up.sh): the rule of the
plugin's ``real_engine`` fixture, which ``require_engine`` shares. Every container a test
creates has a unique name from ``container_names`` and is removed afterwards.
"""

import pytest
from engine_support import require_engine

from psa_scripts.testing.plugin import DisposableEngine


@pytest.fixture(scope="session")
def engine():
    """A DockerEngine on DOCKER_HOST, with short bounds so that a misbehaving test ends quickly."""
    return require_engine(timeout=30, log_read_seconds=3)


@pytest.fixture
def container_names(engine):
    """``container_names()`` gives a fresh unique name; every such container is removed at the end."""
    disposable = DisposableEngine(engine)
    yield disposable.container_name
    disposable.remove_all()


@pytest.fixture
def harness(engine, tmp_path):
    """A harness whose Docker scripts run on the real engine, its localspace under ``tmp_path``."""
    from psa_scripts.testing.harness import Harness

    with Harness(engine=engine, workdir=str(tmp_path)) as running:
        yield running
