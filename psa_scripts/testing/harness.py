"""The declarative runner: a script name and a frozen input state in, an outcome out.

    harness = Harness()
    state = State(variables={...}, files={"svc_port": "8080"}, instance={...})
    outcome = harness.run("Post_Start_Service", state)
    assert outcome.status_history == ["RUNNING"]
    next_outcome = harness.run("Check_Instance_Status", outcome.state)

The PSA REST API is the loopback emulator (real HTTP); the scheduler, RM and
synchronization APIs are the recording doubles; the container engine is ``FakeEngine``
unless one is given. ``outcome.state`` is the world after the run, ready for the next
step of a scenario (deploy → post → check ×N → trigger → post trigger → clean).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, FrozenSet, List, Mapping, Optional, Tuple

from .. import names
from ..scripts import run, script_info
from ..local.apis import (
    CallLog,
    Call,
    ContainerState,
    FakeEngine,
    FakeRmApi,
    FakeSchedulerApi,
    FakeSynchronizationApi,
    JavaArray,
    JavaMap,
)
from ..local.emulator import ProActiveEmulator


def node_variables(**overrides: Any) -> Dict[str, Any]:
    """The variables the scheduler gives every task on a sample node, plus ``overrides``."""
    variables = {
        names.PA_JOB_ID: "42",
        names.PA_TASK_ID: "42t0",
        names.PA_NODE_URL: "pnp://node-1.example:64738/node-1",
        names.PA_NODE_NAME: "node-1",
        names.PA_NODE_HOST: "node-1.example",
        names.PA_NODE_SOURCE: "Default",
    }
    variables.update(overrides)
    return variables


class Clock:
    """The harness's clock: the time scripts read, and sleeps that move it on without waiting.

    ``Clock()`` follows the wall clock, ``Clock(1_764_000_000.0)`` stands at that epoch, and
    ``Clock(some_callable)`` follows the callable. ``sleep(seconds)`` (a retry's back-off) returns
    at once: it adds ``seconds`` to the time the clock gives and appends them to ``slept``.
    """

    def __init__(self, start: Any = None) -> None:
        if start is None:
            self._base: Callable[[], float] = time.time
        elif callable(start):
            self._base = start
        else:
            fixed = float(start)
            self._base = lambda: fixed
        self.slept: List[float] = []
        self._offset = 0.0

    def __call__(self) -> float:
        return self._base() + self._offset

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self._offset += max(0.0, seconds)


@dataclass(frozen=True)
class State:
    """Everything a script run starts from. Frozen: derive the next one with ``replace``."""

    variables: Mapping[str, Any] = field(default_factory=dict)
    args: Tuple[str, ...] = ()
    generic_info: Mapping[str, Any] = field(default_factory=dict)
    files: Mapping[str, "str | bytes"] = field(default_factory=dict)  # bytes: any content, UTF-8 or not
    channels: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    instance: Optional[Mapping[str, Any]] = None
    containers: Mapping[str, ContainerState] = field(default_factory=dict)
    node_tokens: Mapping[str, FrozenSet[str]] = field(default_factory=dict)
    finished_jobs: FrozenSet[str] = frozenset()
    credentials: Mapping[str, str] = field(default_factory=dict)
    failures: Mapping[str, Exception] = field(default_factory=dict)  # "rmapi.addNodeToken": error
    java_types: bool = False  # bind JavaMap / JavaArray look-alikes instead of dict / list

    def replace(self, **changes: Any) -> "State":
        return replace(self, **changes)

    def with_variables(self, **variables: Any) -> "State":
        return replace(self, variables={**self.variables, **variables})


@dataclass
class Outcome:
    """What one script run did."""

    script: str
    state: State
    variables_written: Dict[str, Any]
    writeback: Dict[str, Any]
    calls: List[Call]
    psa_requests: List[Any]
    status_history: List[str]
    output: str
    error: Optional[BaseException]
    slept: List[float] = field(default_factory=list)  # the back-offs the script waited, on the harness's clock

    @property
    def ok(self) -> bool:
        return self.error is None

    def calls_to(self, api: str, method: Optional[str] = None) -> List[Call]:
        return [c for c in self.calls if c.api == api and (method is None or c.method == method)]

    @property
    def psa_writes(self) -> List[Any]:
        return [r for r in self.psa_requests if r.method in ("PUT", "POST", "DELETE")]

    def raise_error(self) -> "Outcome":
        if self.error is not None:
            raise self.error
        return self


class _RecordingMap(JavaMap):
    """Variables as the engine binds them, recording what the script writes."""

    def __init__(self, initial: Mapping[str, Any], missing_is_none: bool) -> None:
        super().__init__(initial)
        self.written: Dict[str, Any] = {}
        self.missing_is_none = missing_is_none

    def __missing__(self, key: Any) -> Any:
        if self.missing_is_none:
            return None
        raise KeyError(key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.written[key] = value
        super().__setitem__(key, value)


class Harness:
    """Runs catalog scripts against a state, through the emulator and the doubles."""

    def __init__(
        self,
        *,
        emulator: Optional[ProActiveEmulator] = None,
        workdir: Optional[str] = None,
        clock: Any = None,
        engine: Any = None,
        transport: str = "loopback",
    ) -> None:
        if transport not in ("loopback", "requests"):
            raise ValueError(f"Harness(transport=...) must be 'loopback' or 'requests', got {transport!r}")
        self.transport = transport
        self._own_emulator = emulator is None
        self.emulator = emulator or ProActiveEmulator().start()
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="psa-harness-")
        # Scripts read the time from it and their retries sleep on it: back-offs take no real time.
        self.clock: Clock = clock if isinstance(clock, Clock) else Clock(clock)
        self.engine = engine
        self.session_id = self.emulator.new_session()
        self._http: Any = None

    @property
    def http(self) -> Any:
        """What the scripts' REST clients send with, shared across runs: a ``LoopbackTransport``
        (the standard library's ``http.client``, one kept-alive connection to the emulator; see
        ``psa_scripts.clients.loopback``), or with ``Harness(transport="requests")`` a
        ``requests.Session`` as on a node."""
        if self._http is None:
            if self.transport == "requests":
                from ..clients.http import new_session

                self._http = new_session()
            else:
                from ..clients.loopback import LoopbackTransport

                self._http = LoopbackTransport()
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._own_emulator:
            self.emulator.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "Harness":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def run_workflow(self, workflow: Any, *, then: Any = (), ticks: Optional[int] = 1,
                     variables: Optional[Mapping[str, str]] = None, engine: Any = None,
                     on_tick: Optional[Callable[[Any, int], None]] = None, out: Any = None,
                     keep: bool = False) -> Any:
        """Run a service's deployment workflow, its status loop ``ticks`` times, then its ending,
        end to end as ``psa run`` does (its own local PSA and node; each script in a fresh
        interpreter): the ``then`` actions, else the service's finish workflow beside the
        deployment, else the removal of the containers it created; ``keep``: none of that.
        ``engine``: ``"docker"``, ``"memory"`` or an engine object (default: this harness's
        engine, else a fresh ``FakeEngine``). ``on_tick(runner, n)`` runs between loop iterations
        (a test appends log lines there). Returns the ``RunReport``."""
        from pathlib import Path

        from ..workflow.runner import Runner

        chosen = engine if engine is not None else (self.engine if self.engine is not None else "memory")
        return Runner(Path(workflow), variables=variables, engine=chosen, ticks=ticks,
                      then=[Path(p) for p in then], out=out, tick_seconds=0.0, on_tick=on_tick, keep=keep).run()

    def run(self, script: Any, state: State = State(), *, kind: Optional[str] = None, **variables: Any) -> Outcome:
        """Run ``script`` on ``state`` (``variables`` override the state's) and report.

        ``script`` is a catalog name, an author's dotted module path (``"tiny_httpd.wait_ready"``)
        or module object; ``kind`` is an author script's catalog kind (default ``Script/task``).
        """
        info = script_info(script, kind)
        info.load()  # a module that cannot be imported is a broken test, not an outcome
        if variables:
            state = state.with_variables(**variables)
        emulator = self.emulator
        instance_id = self._prepare_instance(state)
        self._prepare_files(state)

        calls = CallLog()

        def failures(api: str) -> Dict[str, Exception]:
            return {key.split(".", 1)[1]: error for key, error in state.failures.items() if key.startswith(api + ".")}

        scheduler = FakeSchedulerApi(self.session_id, finished_jobs=state.finished_jobs,
                                     credentials=dict(state.credentials), calls=calls, fail=failures("schedulerapi"))
        rm = FakeRmApi(state.node_tokens, calls=calls, fail=failures("rmapi"))
        sync = FakeSynchronizationApi(state.channels, calls=calls, fail=failures("synchronizationapi"))
        engine = self._run_engine(state, calls)
        initial_variables = {
            names.PA_CLOUD_AUTOMATION_REST_URL: emulator.psa_url,
            names.PA_CLOUD_AUTOMATION_REST_PUBLIC_URL: emulator.psa_url,
            names.PA_SCHEDULER_REST_URL: emulator.scheduler_url,
            **state.variables,
        }
        bound_variables = _RecordingMap(initial_variables, missing_is_none=state.java_types)
        bindings: Dict[str, Any] = {
            "variables": bound_variables,
            "genericInformation": JavaMap(state.generic_info) if state.java_types else dict(state.generic_info),
            "schedulerapi": scheduler,
            "rmapi": rm,
            "synchronizationapi": sync,
        }
        if state.args:
            bindings["args"] = JavaArray(state.args) if state.java_types else list(state.args)
        if info.kind != names.CLEAN_KIND:
            bindings["localspace"] = self.workdir
        first_request = len(emulator.requests)
        first_sleep = len(self.clock.slept)

        output = io.StringIO()
        error: Optional[BaseException] = None
        keys_before = set(bindings)
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            try:
                run(info, bindings, engine=engine, clock=self.clock, http=self.http)
            except Exception as raised:  # a failed task is an outcome, not a test crash
                error = raised
        writeback = {k: bindings[k] for k in ("result", "selected", "branch", "runs", "loop", "resultMetadata") if k in bindings and k not in keys_before}

        psa_requests = list(emulator.requests[first_request:])
        status_history = [
            r.json.get("instance_status") for r in psa_requests if r.method == "PUT" and isinstance(r.json, dict)
        ]
        carried = dict(state.variables)
        if info.kind != names.CLEAN_KIND:  # a clean script's variables are a copy: they do not propagate
            carried.update(bound_variables.written)
        next_state = replace(
            state,
            variables=carried,
            files=self._read_files(),
            channels={n: dict(c) for n, c in sync.channels.items()},
            instance=emulator.instance(instance_id) if instance_id is not None else None,
            containers=dict(getattr(engine, "containers", state.containers)),
            node_tokens={url: frozenset(t) for url, t in rm.node_tokens.items()},
            credentials=dict(scheduler.credentials),
        )
        return Outcome(
            script=info.name,
            state=next_state,
            variables_written=dict(bound_variables.written),
            writeback=writeback,
            calls=list(calls),
            psa_requests=psa_requests,
            status_history=status_history,
            output=output.getvalue(),
            error=error,
            slept=self.clock.slept[first_sleep:],
        )

    def _run_engine(self, state: State, calls: CallLog) -> Any:
        """The container engine of one run: the one given, else one holding the state's containers."""
        if self.engine is not None:
            return self.engine
        return FakeEngine({name: c.copy() for name, c in state.containers.items()}, calls=calls, clock=self.clock)

    def _prepare_instance(self, state: State) -> Optional[int]:
        if state.instance is None:
            return None
        instance = dict(state.instance)
        self.emulator.add_instance(instance)
        return int(instance["instance_id"])

    def _prepare_files(self, state: State) -> None:
        for entry in os.listdir(self.workdir):
            os.remove(os.path.join(self.workdir, entry))
        for name, content in state.files.items():
            data = content if isinstance(content, bytes) else content.encode("utf-8")
            with open(os.path.join(self.workdir, name), "wb") as handle:
                handle.write(data)

    def _read_files(self) -> Dict[str, "str | bytes"]:
        """The localspace's files: text when UTF-8, else the bytes as they are (never a crash)."""
        files: Dict[str, "str | bytes"] = {}
        for entry in sorted(os.listdir(self.workdir)):
            with open(os.path.join(self.workdir, entry), "rb") as handle:
                data = handle.read()
            try:
                files[entry] = data.decode("utf-8")
            except UnicodeDecodeError:
                files[entry] = data
        return files
