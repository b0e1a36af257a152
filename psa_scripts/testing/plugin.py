"""The pytest plugin of psa-scripts: fixtures for testing a PSA service's scripts.

Installing psa-scripts registers it (entry point ``pytest11``); ``pytest --fixtures`` lists:

- ``psa_harness``: a ``Harness`` (PSA = the emulator below, the in-memory doubles, a localspace
  under ``tmp_path``); ``harness.run(script, State(...))`` and ``Scenario(harness, state)``.
  Its container engine is the ``in_memory_engine`` of the same test (one object).
- ``psa_emulator``: the loopback ProActive REST server the harness talks to (faults, requests).
- ``in_memory_engine``: a ``FakeEngine``, the container engine in memory.
- ``real_engine``: the Docker API of ``DOCKER_HOST`` (Docker or Podman); a test without one is
  skipped with how to get one, and fails instead when ``CI=true``. Its ``container_name()``
  gives unique names; every container made through it is removed at the end of the test.

A test needs nothing but these fixtures. How ``psa_harness`` and ``in_memory_engine`` go together:

- Each run starts from its ``State``, as with a plain ``Harness()``: before the run the engine
  holds copies of ``State.containers`` and nothing else (``FakeEngine.hold``); its calls are
  the run's (``outcome.calls``) and its clock the harness's. After the run,
  ``outcome.state.containers`` are the engine's very containers.
- So between two steps of a ``Scenario`` (each runs on the state the previous one left),
  ``in_memory_engine.kill("web-1")`` or ``in_memory_engine.containers["web-1"].logs.append(line)``
  change what the next step sees. A container of one's own goes in ``State(containers=...)``.
- What the engine does when a container starts is the test's to set, at any time:
  ``in_memory_engine.on_start = ready`` (``ready(name, container)`` plays the service's program:
  log lines, or ``container.running = False``); ``in_memory_engine.images = {...}`` limits the
  images there are. These stay across runs.
- ``psa_harness.run_workflow(...)`` runs on ``in_memory_engine`` too, as it is.
- ``psa_harness.engine = real_engine`` runs the harness's Docker scripts on the real engine
  instead (an engine without ``hold`` is used as it is: its containers stay across runs).

``Harness(engine=...)`` built by hand keeps its meaning: the engine is used as it is and
``State.containers`` is not read.

Loaded by every pytest run where psa-scripts is installed: this module imports nothing
but pytest until a fixture is used.
"""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from typing import Any, Iterator, List

import pytest

HOW_TO_GET_AN_ENGINE = ("start Docker, or serve Podman's Docker API (`podman system service --time=0 "
                        "unix:///run/podman.sock`) and export DOCKER_HOST=unix:///run/podman.sock")


def _engine_unreachable(error: BaseException) -> bool:
    """Whether ``error`` only says that nothing answers (no socket, nothing listening)."""
    import requests

    return isinstance(error, (requests.exceptions.ConnectionError, ConnectionRefusedError, FileNotFoundError))


def require_real_engine(how_to_get_one: str = HOW_TO_GET_AN_ENGINE, **options: Any) -> Any:
    """A ``DockerEngine`` on ``DOCKER_HOST`` (else the default socket) that answers a ping.

    When none answers, the calling test is skipped with how to get one; under ``CI=true`` it
    fails instead (CI is where the engine must be). An engine that answers with an error
    fails the test: that is a fault to see, not a reason to skip. ``how_to_get_one`` ends the
    skip message; ``options`` go to ``DockerEngine.from_env`` (``timeout``, ``log_read_seconds``...).
    """
    from ..containers import DockerEngine

    where = os.environ.get("DOCKER_HOST") or "the default socket /var/run/docker.sock"
    try:
        engine = DockerEngine.from_env(os.environ, **options)
        engine.client.ping()
    except Exception as error:
        if not _engine_unreachable(error):
            pytest.fail(f"the container engine at {where} answered with an error: {error!r}")
        message = f"no container engine answers at {where} ({error}): {how_to_get_one}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: a real engine is required)")
        pytest.skip(message)
    return engine


class DisposableEngine:
    """A real engine whose containers belong to one test: unique names, all removed at the end.

    Every method of the engine (``deploy``, ``stop``, ``start``, ``remove``, ``is_running``,
    ``read_logs``, ``inspect``, ``client``...) passes through; ``deploy`` also remembers the
    name, so containers the scripts deploy through it are removed too.
    """

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.names: List[str] = []

    def container_name(self, prefix: str = "psa-test") -> str:
        """A name no other test (nor another run on the same engine) uses; removed at the end."""
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.names.append(name)
        return name

    def deploy(self, spec: Any) -> Any:
        if spec.name not in self.names:
            self.names.append(spec.name)
        return self.engine.deploy(spec)

    def remove_all(self) -> None:
        """Remove every container this test named or deployed (a missing one is fine)."""
        from ..errors import EngineError

        for name in self.names:
            with contextlib.suppress(EngineError):
                self.engine.remove(name)

    def __getattr__(self, attribute: str) -> Any:
        if attribute in ("engine", "names"):
            raise AttributeError(attribute)
        return getattr(self.engine, attribute)

    def __repr__(self) -> str:
        return f"DisposableEngine({self.engine!r}, {len(self.names)} containers)"


@pytest.fixture
def psa_emulator() -> Iterator[Any]:
    """A ``ProActiveEmulator``: Service Automation, scheduler, RM and Catalog REST on 127.0.0.1.

    A real HTTP server, stopped after the test. Seed it (``add_instance``), inject faults
    (``fail("PUT", r"/serviceInstances/7$", 503, times=2)``, ``drop``, ``delay``), and read
    what the scripts sent (``requests``, ``requests_to``, ``instance(7)``).
    """
    from ..local.emulator import ProActiveEmulator

    with ProActiveEmulator() as emulator:
        yield emulator


@pytest.fixture
def psa_harness(psa_emulator: Any, in_memory_engine: Any, tmp_path: Any) -> Iterator[Any]:
    """A ``Harness`` running scripts as the cpython engine would, with no ProActive server.

    PSA is ``psa_emulator``; ``schedulerapi``, ``rmapi``, ``synchronizationapi`` are recording
    in-memory doubles; the container engine is ``in_memory_engine``, holding the run's
    ``State.containers`` when each run starts; the localspace is ``tmp_path / "localspace"``.
    Retry back-offs run on its clock (no real wait). ``psa_harness.run("Post_Start_Service",
    State(...))`` gives an ``Outcome``; chain steps with ``Scenario(psa_harness, state)``.
    """
    workdir = tmp_path / "localspace"
    workdir.mkdir()
    with _fixture_harness_class()(emulator=psa_emulator, engine=in_memory_engine, workdir=str(workdir)) as harness:
        yield harness


@functools.lru_cache(maxsize=None)
def _fixture_harness_class() -> Any:
    from .harness import Harness

    class FixtureHarness(Harness):
        """The ``psa_harness`` fixture's ``Harness``: each run starts with its engine holding the
        state's containers (see the module's docstring); an engine without ``hold`` is used as it is."""

        def _run_engine(self, state: Any, calls: Any) -> Any:
            hold = getattr(self.engine, "hold", None)
            if hold is None:
                return super()._run_engine(state, calls)
            return hold(state.containers, calls=calls, clock=self.clock)

    return FixtureHarness


@pytest.fixture
def in_memory_engine() -> Any:
    """A ``FakeEngine``: the container engine in memory, with the real engine's behaviour.

    ``deploy`` (picked or fixed ports, reuse, restart), ``stop``, ``start``, ``remove``,
    ``read_logs`` (the real ``LOG_CURSOR``), ``inspect``; ``kill(name)`` makes a container die;
    ``containers[name].logs.append(line)`` makes it log; ``on_start = hook`` plays each started
    container's program (``hook(name, container)``). It is ``psa_harness``'s engine: each run
    of the harness starts with it holding the run's ``State.containers``.
    """
    from ..local.apis import FakeEngine

    return FakeEngine()


@pytest.fixture
def real_engine() -> Iterator[DisposableEngine]:
    """The Docker API of ``DOCKER_HOST`` (Docker, or Podman's), for tests that need real containers.

    Skipped with how to get one when no engine answers; under ``CI=true`` the test fails instead.
    ``real_engine.container_name()`` gives a unique name; every container named that way or
    deployed through it is removed at the end of the test. ``psa_harness.engine = real_engine``
    runs the harness's Docker scripts on it.
    """
    engine = DisposableEngine(require_real_engine())
    try:
        yield engine
    finally:
        engine.remove_all()
