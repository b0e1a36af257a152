"""``psa run``: a PSA service's own workflows, run on this machine, end to end.

The runner plays the two parts a ProActive server plays:

- **PSA** (the loopback emulator, ``psa_scripts.local.emulator``): it creates the service
  instance as PSA does when a user starts a service (id, ``VOID -> RUNNING`` submission,
  the variables), injects ``PCA_INSTANCE_ID`` and the REST URLs, and launches each ``--then``
  action on the instance only when the action's ``pca.states`` has a transition from the
  instance's status (PSA merges the variables collected so far into the action's).
- **the scheduler**: tasks in dependency order on one local node; each script in its slot
  (selection, pre, executable, post, flow, cleaning — ProActive's order: the flow script runs
  even after a failure, the cleaning script always); ``$VAR`` / ``${VAR}`` substituted in
  variables, generic information and script arguments; variables written by pre / executable
  / post / flow scripts propagated to later tasks (clean and selection scripts get copies);
  the generic information ``NODE_ACCESS_TOKEN`` honoured against the node's tokens (a task
  whose token no node holds does not run, and the timeline says why); a loop repeats at once
  when its script says ``True``, and on a cron string after one *tick* (time-compressed:
  ``ticks`` iterations, then the actions; without ``ticks`` until SIGINT).

Each script runs the way the ``cpython`` engine runs it: its text (inline, a file, or the
Catalog object its URL names — resolved to the local bundles: the built-in scripts rendered by
the bundler) between a prologue and an epilogue, in a fresh interpreter, with the bindings as
module globals and the write-back of ``result``/``selected``/``branch``/``runs``/``loop``/
``resultMetadata`` after exit code 0. The Java bindings are served by the runner over a Unix
socket (``psa_scripts.workflow.gateway``): ``variables`` is a live map, ``schedulerapi``,
``rmapi`` and ``synchronizationapi`` are the in-memory APIs of ``psa_scripts.local.apis``
called by their Java method names. ``engine="memory"`` serves the in-memory container engine
the same way; ``engine="docker"`` leaves the scripts to the Docker API of ``DOCKER_HOST``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, TextIO, Tuple

from .. import names
from ..errors import InputError
from ..local.apis import JavaMap
from . import endpoint_check, gateway
from .model import Job, ScriptRef, Task, Workflow, catalog_ref, parse_workflow
from .states import VOID, parse_states, transition_from

NODE_URL = "pnp://127.0.0.1:64738/psa-run-node"
NODE_NAME = "psa-run-node"
NODE_HOST = "127.0.0.1"
NODE_SOURCE = "LocalNodes"
PYTHON_LANGUAGES = ("cpython", "python")
SCRIPT_TIMEOUT = 900.0  # seconds: a script that runs longer is killed and fails its task
EXTRA_TICKS_AFTER_ACTIONS = 3  # iterations the status loop gets to see the actions' outcome
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_TRUE = ("true",)


class RunError(InputError):
    """A workflow cannot be run locally (a script not found, a language not run...): said before any effect."""


# --- what a run produces ---------------------------------------------------------------------------
@dataclass
class ScriptRun:
    workflow: str
    task: str
    slot: str
    script: str
    ok: bool
    output: str
    iteration: int = 0
    error: Optional[str] = None
    seconds: float = 0.0


@dataclass
class WorkflowRun:
    workflow: str
    job_id: str
    transition: str
    ok: bool = True
    reason: Optional[str] = None


@dataclass
class RunReport:
    """What ``psa run --report`` writes: the instance as PSA holds it at the end, the status
    history, each workflow and each script run, the endpoint."""

    instance: Dict[str, Any] = field(default_factory=dict)
    status_history: List[str] = field(default_factory=list)
    workflows: List[WorkflowRun] = field(default_factory=list)
    scripts: List[ScriptRun] = field(default_factory=list)
    endpoint: Optional[str] = None
    log_lines: List[str] = field(default_factory=list)
    left_behind: Dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Every workflow ended as PSA would count a success, and the instance is not ERROR."""
        return all(w.ok for w in self.workflows) and self.instance.get("instance_status") != names.ERROR

    @property
    def status(self) -> Optional[str]:
        return self.instance.get("instance_status")

    def to_json(self) -> Dict[str, Any]:
        return {"ok": self.ok, "instance": self.instance, "status_history": self.status_history,
                "endpoint": self.endpoint, "workflows": [asdict(w) for w in self.workflows],
                "scripts": [asdict(s) for s in self.scripts], "left_behind": self.left_behind}


class Timeline:
    """The readable account of a run, a line an event, each script's output prefixed with
    where it comes from (``[workflow/task#iteration slot]``)."""

    def __init__(self, out: Optional[TextIO]) -> None:
        self.out = out

    def say(self, text: str) -> None:
        if self.out is not None:
            print(text, file=self.out, flush=True)


# --- the local node's Java side, served to the scripts ------------------------------------------------
_ALLOWED = {
    "variables": {"get", "put", "containsKey", "keySet", "size", "remove", "isEmpty", "putAll"},
    "schedulerapi": {"connect", "getSession", "registerService", "detachService", "isJobFinished",
                     "putThirdPartyCredential", "removeThirdPartyCredential", "disconnect", "isConnected"},
    "rmapi": {"connect", "addNodeToken", "removeNodeToken", "disconnect"},
    "synchronizationapi": {"createChannelIfAbsent", "channelExists", "deleteChannel", "put", "get",
                           "containsKey", "remove", "keySet"},
    "engine": {"is_running", "read_logs", "deploy", "stop", "start", "remove"},
    "script": {"bindings", "writeback"},
}


class LiveMap(JavaMap):
    """``variables`` as the JVM holds it: the Java methods over a dict (a missing key gives None)."""

    def size(self) -> int:
        return len(self)

    def remove(self, key: str) -> Any:
        return self.pop(key, None)

    def isEmpty(self) -> bool:
        return not self

    def putAll(self, values: Mapping[str, Any]) -> None:
        self.update(values)


class _EngineService:
    """The container engine's interface in JSON terms (spec and outcomes as plain data)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def is_running(self, name: str) -> bool:
        return self.engine.is_running(name)

    def read_logs(self, name: str, cursor: Optional[str], max_lines: int, max_bytes: int) -> Dict[str, Any]:
        batch = self.engine.read_logs(name, cursor, max_lines=max_lines, max_bytes=max_bytes)
        return {"lines": list(batch.lines), "cursor": batch.cursor, "skipped": batch.skipped}

    def deploy(self, spec: Dict[str, Any]) -> Dict[str, Any]:
        from ..containers.spec import DeploySpec

        spec = dict(spec, volumes=tuple(spec.get("volumes") or ()),
                    command=tuple(spec["command"]) if spec.get("command") else None)
        return asdict(self.engine.deploy(DeploySpec(**spec)))

    # ``owner``: the labels of the service instance that may act on the container (None: any).
    def stop(self, name: str, timeout: int = 10, owner: Optional[Dict[str, str]] = None) -> str:
        return self.engine.stop(name, timeout, owner=owner).name

    def start(self, name: str, owner: Optional[Dict[str, str]] = None) -> str:
        return self.engine.start(name, owner=owner).name

    def remove(self, name: str, owner: Optional[Dict[str, str]] = None) -> str:
        return self.engine.remove(name, owner=owner).name


@dataclass
class _Session:
    """One script run as the gateway sees it: its bindings and what it writes back."""

    values: Dict[str, Any]
    variables: LiveMap
    objects: Dict[str, Any]
    writeback: Dict[str, Any] = field(default_factory=dict)

    def bindings(self) -> Dict[str, Any]:
        return {"values": self.values, "maps": ["variables"],
                "objects": [name for name in self.objects if name != "engine"]}


class GatewayServer:
    """Serves the Java side to the scripts: a Unix socket in a private directory, one token a
    script run (a script can reach only its own variables)."""

    def __init__(self, directory: str) -> None:
        self.address = os.path.join(directory, "gateway.sock")
        self.sessions: Dict[str, _Session] = {}
        self.lock = threading.Lock()
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                for line in self.rfile:
                    answer = server.answer(line)
                    self.wfile.write((json.dumps(answer, default=_jsonable) + "\n").encode("utf-8"))
                    self.wfile.flush()

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self.server = Server(self.address, Handler)
        os.chmod(self.address, 0o600)
        self.thread = threading.Thread(target=self.server.serve_forever, name="psa-run-gateway", daemon=True)
        self.thread.start()

    def open(self, session: _Session) -> str:
        token = secrets.token_hex(16)
        with self.lock:
            self.sessions[token] = session
        return token

    def close_session(self, token: str) -> None:
        with self.lock:
            self.sessions.pop(token, None)

    def answer(self, line: bytes) -> Dict[str, Any]:
        try:
            request = json.loads(line)
            with self.lock:
                session = self.sessions.get(str(request.get("token")))
            if session is None:
                return _error("SecurityException", "unknown or expired gateway token")
            name, method, args = request["object"], request["method"], request.get("args") or []
            if method not in _ALLOWED.get(name, ()):
                return _error("NoSuchMethodException", f"{name}.{method}")
            if name == "script":
                if method == "bindings":
                    return {"value": session.bindings()}
                session.writeback[str(args[0])] = args[1]
                return {"value": None}
            target = session.variables if name == "variables" else session.objects.get(name)
            if target is None:
                return _error("NullPointerException", f"binding {name} is not available to this script")
            return {"value": getattr(target, method)(*args)}
        except Exception as error:  # the Java side raises: the script sees it, the runner goes on
            from ..errors import EngineError

            # The engine's refusals (ForeignContainer...) reach the script as the EngineError a real
            # engine raises on a node; the gateway client re-raises only that type as itself.
            return _error("EngineError" if isinstance(error, EngineError) else type(error).__name__, str(error))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _error(kind: str, message: str) -> Dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


def _jsonable(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


# --- variables ------------------------------------------------------------------------------------------
def substitute(text: Optional[str], variables: Mapping[str, Any]) -> Optional[str]:
    """``$VAR`` and ``${VAR}`` replaced by their values; unknown names left as written
    (the scheduler's rule)."""
    if text is None:
        return None

    def value(match: "re.Match[str]") -> str:
        name = match.group(1) or match.group(2)
        found = variables.get(name)
        return match.group(0) if found is None else str(found)

    return _VARIABLE.sub(value, text)


def resolve_variables(values: Mapping[str, Any], context: Mapping[str, Any]) -> Dict[str, str]:
    """Variables whose values refer to others (``coco-annotator-$PA_JOB_ID``) resolved, as at submission."""
    resolved = {name: str(value) for name, value in values.items()}
    for _ in range(10):
        scope = dict(context, **resolved)
        changed = {name: substitute(value, scope) for name, value in resolved.items()}
        if changed == resolved:
            break
        resolved = changed
    return resolved


def _flag(value: Any) -> Optional[bool]:
    """A write-back read as ProActive reads it: True/"true" and False/"false"; else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() in _TRUE
    return None


# --- where scripts come from -------------------------------------------------------------------------------
class ScriptSource:
    """The text of each script a workflow references: inline, a file beside the workflow, or a
    Catalog object of the local bundles (the built-in scripts, rendered as ``psa bundle`` does)."""

    def __init__(self, scripts: Optional[Mapping[str, Any]] = None,
                 search_path: Optional[Sequence[Path]] = None) -> None:
        if scripts is None:
            from ..scripts import SCRIPTS as scripts
        self.scripts = dict(scripts)
        self.search_path = [Path.cwd()] if search_path is None else [Path(p) for p in search_path]
        self._rendered: Dict[str, str] = {}

    def author_scripts(self, workflow: Workflow) -> Dict[str, Any]:
        """The author's scripts (package.json ``"scripts": [...]``) of the packages beside the
        workflow's own, when the workflow sits in a package directory."""
        from ..bundler import PACKAGE_FILE, author_scripts

        directory = Path(workflow.source).resolve().parent
        if not (directory / PACKAGE_FILE).is_file():
            return {}
        return {script.name: script for script in author_scripts(directory.parent)}

    def text(self, ref: ScriptRef, workflow: Workflow) -> str:
        if ref.code is not None:
            return ref.code
        if ref.path:
            path = Path(workflow.source).parent / ref.path
            try:
                return path.read_text(encoding="utf-8")
            except OSError as error:
                raise RunError(f"{_where(workflow, ref)}: cannot read script file {path}: "
                               f"{error.strerror or error}") from None
        found = catalog_ref(ref.url)
        if found is None:
            raise RunError(f"{_where(workflow, ref)}: script URL {ref.url!r} is not a Catalog object "
                           "(.../buckets/<bucket>/resources/<name>/raw): psa run cannot fetch it")
        if found.name not in self._rendered:
            known = dict(self.author_scripts(workflow), **self.scripts)
            info = known.get(found.name)
            if info is None:
                raise RunError(f"{_where(workflow, ref)}: no local bundle has script {found.name!r} "
                               f"(bucket {found.bucket}); the scripts are: {', '.join(sorted(known))}")
            from ..bundler import render_script

            self._rendered[found.name] = render_script(info, search_path=self.search_path)
        return self._rendered[found.name]

    def check(self, workflow: Workflow) -> None:
        """Every script of ``workflow`` can be run here: RunError naming the first that cannot."""
        assert workflow.job is not None
        for _, ref in workflow.job.scripts():
            language = (ref.language or "").lower()
            if language not in PYTHON_LANGUAGES:
                said = f"language {ref.language!r}" if ref.language else "no language"
                raise RunError(f"{_where(workflow, ref)}: {ref.label} has {said}; psa run runs cpython "
                               'scripts only (set language="cpython")')
            self.text(ref, workflow)


def _where(workflow: Workflow, ref: ScriptRef) -> str:
    return f"{workflow.source}:{ref.line}:{ref.column}: {ref.slot} script"


# --- the run ------------------------------------------------------------------------------------------------
@dataclass
class _TaskOutcome:
    ran: bool
    ok: bool
    writeback: Dict[str, Any] = field(default_factory=dict)
    reason: Optional[str] = None


def load_workflow(path: Path) -> Workflow:
    workflow = parse_workflow(path)
    if workflow.job is None:
        raise RunError(f"{path}: not a ProActive workflow (root element <{workflow.root.tag}>)")
    return workflow


def _states(workflow: Workflow) -> List[Tuple[str, str]]:
    assert workflow.job is not None
    info = workflow.job.info(names.GI_STATES)
    pairs = parse_states(info.value) if info is not None else None
    if pairs is None:
        where = f"{workflow.source}:{info.line}" if info is not None else workflow.source
        raise RunError(f"{where}: {names.GI_STATES} is missing or does not parse: psa run cannot tell which "
                       "transition this workflow performs (write e.g. (VOID,RUNNING))")
    return pairs


class Runner:
    """One ``psa run``: a deployment workflow, its actions, one local PSA, one local node.

    ``engine``: ``"docker"`` (the scripts use ``DOCKER_HOST``), ``"memory"`` (a fresh
    ``FakeEngine``) or an engine object (``FakeEngine``...) served to the scripts.
    ``ticks``: status-loop iterations before the actions (None: until ``interrupt()``).
    ``tick_seconds``: the pause a cron loop waits for in place of its schedule.
    ``search_path``: where the author's script modules are (default: the current directory).
    """

    def __init__(self, workflow: Path, *, variables: Optional[Mapping[str, str]] = None,
                 engine: Any = "memory", ticks: Optional[int] = None, then: Sequence[Path] = (),
                 out: Optional[TextIO] = None, tick_seconds: float = 1.0,
                 scripts: Optional[Mapping[str, Any]] = None, search_path: Optional[Sequence[Path]] = None,
                 python: Optional[str] = None,
                 environ: Optional[Mapping[str, str]] = None,
                 on_tick: Optional[Callable[["Runner", int], None]] = None) -> None:
        self.deployment = load_workflow(Path(workflow))
        self.actions = [load_workflow(Path(p)) for p in then]
        self.overrides = dict(variables or {})
        self.ticks = ticks
        self.tick_seconds = tick_seconds
        self.timeline = Timeline(out)
        self.source = ScriptSource(scripts, search_path)
        self.python = python or sys.executable
        self.environ = dict(os.environ if environ is None else environ)
        self.on_tick = on_tick
        self.report = RunReport()
        self.interrupted = threading.Event()
        self.engine_kind = engine if isinstance(engine, str) else "memory"
        if self.engine_kind not in ("docker", "memory"):
            raise RunError(f"engine {engine!r}: expected docker or memory")
        self.engine = engine if not isinstance(engine, str) else None
        self._jobs = 0
        self._flows: Dict[int, _Flow] = {}
        for workflow_ in [self.deployment] + self.actions:
            self.source.check(workflow_)
            self._flows[id(workflow_)] = _Flow(workflow_)  # if/replicate it cannot play: refused before any effect
        pairs = _states(self.deployment)
        if not any(source == VOID for source, _ in pairs):
            raise RunError(f"{self.deployment.source}: {names.GI_STATES} has no transition from VOID: "
                           "it does not start a service (give the deployment workflow first)")
        for action in self.actions:
            _states(action)

    # --- outside control --------------------------------------------------------------------
    def interrupt(self) -> None:
        """End the ticking now (Ctrl-C): the actions run next."""
        self.interrupted.set()

    # --- the run ---------------------------------------------------------------------------------
    def run(self) -> RunReport:
        from ..local.apis import CallLog, FakeEngine, FakeRmApi, FakeSchedulerApi, FakeSynchronizationApi
        from ..local.emulator import ProActiveEmulator

        self.workdir = tempfile.mkdtemp(prefix="psa-run-")
        os.chmod(self.workdir, 0o700)
        self.emulator = ProActiveEmulator().start()
        try:
            self.emulator.public_address = NODE_HOST
            self.calls = CallLog()
            self.scheduler = FakeSchedulerApi(self.emulator.new_session(), calls=self.calls)
            self.rm = FakeRmApi(calls=self.calls)
            self.sync = FakeSynchronizationApi(calls=self.calls)
            if self.engine_kind == "memory" and self.engine is None:
                self.engine = FakeEngine(on_start=_announce_start)
            self.gateway = GatewayServer(self.workdir)
            try:
                self._play()
            finally:
                self.gateway.close()
        finally:
            self.report.instance = self.emulator.instance(self.instance_id) if hasattr(self, "instance_id") else {}
            self.report.left_behind = self._left_behind()
            self.emulator.stop()
            shutil.rmtree(self.workdir, ignore_errors=True)
        return self.report

    def _play(self) -> None:
        deployment = self.deployment
        job = deployment.job
        assert job is not None
        source, target = next(pair for pair in _states(deployment) if pair[0] == VOID)
        self.instance_id = self.emulator.add_instance({
            "service_id": job.gi.get(names.GI_SERVICE_ID, job.name), "bucket_name": "local",
            "user_name": "admin", "instance_status": f"{source} -> {target}",
            "creation_time": int(time.time() * 1000), "variables": {}, "deployments": [], "groups": [],
            "job_submissions": []})
        self._status_seen = None
        job_id = self._submit(deployment, f"{source} -> {target}", {})
        with self.emulator.lock:  # PSA keeps the variables the service was started with
            self.emulator.instances[self.instance_id]["variables"] = dict(self._job_variables)
        self._watch_status()
        self.deployment_job_id = job_id
        deployment_run = self._job(deployment, job_id)
        self._deployment_over = False
        self._tick(deployment_run)
        for action in self.actions:
            self._launch(action)
        extra = 0
        while self.actions and not self._deployment_over and extra < EXTRA_TICKS_AFTER_ACTIONS:
            extra += 1  # the status loop's next checks see what the actions did, and end it
            self._step(deployment_run)
        if not self._deployment_over:
            self._close_job(deployment_run, "its status loop was still running after the actions"
                            if self.actions else None)

    # The deployment job is a generator: it yields where its status loop waits for its cron.
    def _tick(self, run: Iterator[None]) -> None:
        """Let the status loop iterate: ``ticks`` times, or until interrupted, or until it ends."""
        done = 0
        while self._step(run):
            done += 1
            if (self.ticks is not None and done >= self.ticks) or self.interrupted.is_set():
                return
            if self.on_tick is not None:
                self.on_tick(self, done)
            if self.interrupted.wait(self.tick_seconds):
                return

    def _step(self, run: Iterator[None]) -> bool:
        """Run the deployment to its next loop wait; False when it ended."""
        try:
            next(run)
            return True
        except StopIteration:
            self._deployment_over = True
            return False

    def _close_job(self, run: Any, reason: Optional[str]) -> None:
        run.close()
        self._deployment_over = True
        self.scheduler.finished_jobs.add(self.deployment_job_id)
        self.timeline.say(f"== {self.deployment.job.name}: stopped by psa run (job {self.deployment_job_id})")
        if reason:
            for record in self.report.workflows:
                if record.job_id == self.deployment_job_id and record.ok:
                    record.ok, record.reason = False, reason

    # --- PSA ---------------------------------------------------------------------------------
    def _submit(self, workflow: Workflow, transition: str, inherited: Mapping[str, str]) -> str:
        self._jobs += 1
        job_id = str(self._jobs)
        job = workflow.job
        assert job is not None
        context = self._scheduler_variables(job_id, job.name)
        declared = {v.name: v.value for v in job.variables}
        declared.update(inherited)
        declared.update({k: v for k, v in self.overrides.items() if k in declared or not inherited})
        declared[names.PCA_INSTANCE_ID] = str(self.instance_id)
        self._job_variables = resolve_variables(declared, context)
        with self.emulator.lock:
            self.emulator.instances[self.instance_id].setdefault("job_submissions", []).append({
                "transition_state": transition, "job_id": job_id, "submission_time": int(time.time() * 1000)})
        self.emulator.job_status[job_id] = "RUNNING"
        self.report.workflows.append(WorkflowRun(job.name, job_id, transition))
        self.timeline.say(f"== {job.name}: job {job_id}, transition {transition}, instance {self.instance_id}")
        return job_id

    def _launch(self, action: Workflow) -> None:
        job = action.job
        assert job is not None
        status = str(self.emulator.instance(self.instance_id).get("instance_status"))
        pair = transition_from(_states(action), status)
        if pair is None:
            reason = (f"{job.name} does not start from {status} ({names.GI_STATES}="
                      f"{job.gi.get(names.GI_STATES)}): PSA would not offer it")
            self.report.workflows.append(WorkflowRun(job.name, "", f"{status} -> ?", False, reason))
            self.timeline.say(f"== {job.name}: refused: {reason}")
            return
        collected = dict(self.emulator.instance(self.instance_id).get("variables") or {})
        job_id = self._submit(action, f"{status} -> {pair[1]}", collected)
        for _ in self._job(action, job_id):
            pass  # an action's loop (rare) runs without waiting

    def _watch_status(self) -> None:
        """Record a status change or a new endpoint of the instance as PSA holds it."""
        instance = self.emulator.instance(self.instance_id)
        status = instance.get("instance_status")
        if status != self._status_seen:
            self._status_seen = status
            self.report.status_history.append(status)
            self.timeline.say(f"   status: {status}")
        for deployment in instance.get("deployments") or []:
            endpoint = (deployment.get("endpoint") or {}).get("url")
            if endpoint and endpoint != self.report.endpoint:
                self.report.endpoint = endpoint
                proxied = (deployment.get("endpoint") or {}).get("proxyfiedUrl")
                self.timeline.say(f"   endpoint: {endpoint}" + (f" (through PSA: {proxied})" if proxied else ""))
                if self.engine_kind == "docker":  # the in-memory engine's ports have nothing behind them
                    endpoint_check.warn_if_silent(endpoint, self.timeline.say, self._job_variables.get(names.CONTAINER_PORT))

    def _left_behind(self) -> Dict[str, Any]:
        if not hasattr(self, "rm"):
            return {}
        found: Dict[str, Any] = {
            "node_tokens": sorted(t for tokens in self.rm.node_tokens.values() for t in tokens),
            "channels": sorted(self.sync.channels),
            "credentials": sorted(self.scheduler.credentials),
        }
        if self.engine is not None and hasattr(self.engine, "containers"):
            found["containers"] = sorted(self.engine.containers)
        return found

    # --- the scheduler ------------------------------------------------------------------------
    def _scheduler_variables(self, job_id: str, job_name: str) -> Dict[str, str]:
        emulator = self.emulator
        return {
            names.PA_JOB_ID: job_id, "PA_JOB_NAME": job_name, "PA_USER": "admin",
            names.PA_NODE_URL: NODE_URL, names.PA_NODE_NAME: NODE_NAME, names.PA_NODE_HOST: NODE_HOST,
            names.PA_NODE_SOURCE: NODE_SOURCE,
            names.PA_SCHEDULER_REST_URL: emulator.scheduler_url, "PA_SCHEDULER_REST_PUBLIC_URL": emulator.scheduler_url,
            names.PA_CATALOG_REST_URL: emulator.catalog_url, "PA_CATALOG_REST_PUBLIC_URL": emulator.catalog_url,
            names.PA_CLOUD_AUTOMATION_REST_URL: emulator.psa_url,
            names.PA_CLOUD_AUTOMATION_REST_PUBLIC_URL: emulator.psa_url,
        }

    def _job(self, workflow: Workflow, job_id: str) -> Iterator[None]:
        """Run ``workflow``'s tasks; yields where a loop waits for its cron."""
        job = workflow.job
        assert job is not None
        record = next(w for w in self.report.workflows if w.job_id == job_id)
        context = self._scheduler_variables(job_id, job.name)
        propagated = LiveMap(dict(context, **self._job_variables))
        flow = self._flows[id(workflow)]
        order = _task_order(job, flow.implicit)
        iterations: Dict[str, int] = {}
        ran: Dict[str, bool] = {}
        skipped: set = set()  # the tasks of the branches an if did not take
        replications: Dict[str, int] = {}  # replicated task -> how many runs its replicate asked
        cancel_on_error = (job.element.get("onTaskError") or "continueJobExecution") == "cancelJob"
        index = 0
        try:
            while index < len(order):
                task = order[index]
                if task.name in skipped:
                    self.timeline.say(f"   {job.name}/{task.name}: skipped (a branch its if did not take)")
                    index += 1
                    continue
                # A failed task's dependents still run (the job goes on); a task that never ran holds them.
                blocked = [d for d in flow.depends(task) if not ran.get(d, False) and d not in skipped]
                if blocked:
                    self._fail(record, f"task {task.name} did not run: it depends on {', '.join(blocked)}, "
                               "which did not run")
                    index += 1
                    continue
                iteration = iterations.get(task.name, 0)
                outcome = self._replicas(workflow, job_id, task, propagated, iteration, replications.get(task.name, 1))
                ran[task.name] = outcome.ran
                if outcome.ran and outcome.ok and task.flow is not None:
                    decided = self._decide(task, flow, outcome.writeback, skipped, replications)
                    if decided is not None:  # no branch, no replica: what follows the decision does not run
                        outcome = _TaskOutcome(False, False, reason=decided)
                        ran[task.name] = False
                if not outcome.ok:
                    self._fail(record, outcome.reason or f"task {task.name} failed")
                    on_error = task.element.get("onTaskError") or ("cancelJob" if cancel_on_error else "")
                    if on_error == "cancelJob":
                        self.timeline.say(f"   {job.name}: job cancelled (onTaskError=cancelJob)")
                        break
                loop = task.flow.loop if task.flow is not None else None
                decision = outcome.writeback.get("loop") if loop is not None and outcome.ran else None
                if decision is not None and _flag(decision) is not False:
                    target = next((i for i, t in enumerate(order) if t.name == loop.target), None)
                    if target is None:
                        self._fail(record, f"task {task.name}: loop target {loop.target!r} is not a task")
                        break
                    for looped in order[target:index + 1]:
                        iterations[looped.name] = iterations.get(looped.name, 0) + 1
                    if _flag(decision) is None:  # a cron expression: wait for the next tick
                        yield
                    index = target
                    continue
                index += 1
        finally:
            self.scheduler.finished_jobs.add(job_id)
            self.emulator.job_status[job_id] = "FINISHED" if record.ok else "FAILED"
        self.timeline.say(f"== {job.name}: job {job_id} " + ("finished" if record.ok else f"failed: {record.reason}"))

    def _replicas(self, workflow: Workflow, job_id: str, task: Task, propagated: LiveMap, iteration: int,
                  runs: int) -> _TaskOutcome:
        """``task`` once, or ``runs`` times when a replicate asked for it (PA_TASK_REPLICATION 0..runs-1,
        one after the other here; the scheduler would run them side by side)."""
        outcomes = [self._task(workflow, job_id, task, propagated, iteration, replication)
                    for replication in range(runs)]
        if len(outcomes) == 1:
            return outcomes[0]
        failed = next((o for o in outcomes if not o.ok), None)
        return _TaskOutcome(any(o.ran for o in outcomes), failed is None, {},
                            failed.reason if failed is not None else None)

    def _decide(self, task: Task, flow: "_Flow", writeback: Mapping[str, Any], skipped: set,
                replications: Dict[str, int]) -> Optional[str]:
        """Apply ``task``'s if or replicate decision; why the task fails when its flow script decided
        nothing valid (the scheduler fails it too), else None."""
        assert task.flow is not None
        if task.flow.if_ is not None:
            branch = writeback.get("branch")
            if branch not in ("if", "else"):
                return (f"task {task.name}: its if flow script must set branch to 'if' or 'else', "
                        f"got {branch!r}")
            not_taken = task.flow.if_.else_ if branch == "if" else task.flow.if_.target
            skipped.update(flow.branch(not_taken, task.flow.if_.continuation))
            self.timeline.say(f"   {task.name}: branch {branch} "
                              f"({task.flow.if_.target if branch == 'if' else task.flow.if_.else_})")
        elif task.flow.replicate is not None:
            runs = writeback.get("runs")
            if isinstance(runs, bool) or not isinstance(runs, (int, str)) or not str(runs).strip().isdigit() \
                    or int(runs) < 1:
                return f"task {task.name}: its replicate flow script must set runs to a whole number >= 1, got {runs!r}"
            for replicated in flow.replicated(task.name):
                replications[replicated] = int(runs)
            self.timeline.say(f"   {task.name}: replicate {int(runs)} time(s): "
                              f"{', '.join(flow.replicated(task.name)) or 'no task depends on it'}")
        return None

    def _fail(self, record: WorkflowRun, reason: str) -> None:
        if record.ok:
            record.ok, record.reason = False, reason
        self.timeline.say(f"   {reason}")

    def _task(self, workflow: Workflow, job_id: str, task: Task, propagated: LiveMap,
              iteration: int, replication: int = 0) -> _TaskOutcome:
        job = workflow.job
        assert job is not None
        variables = LiveMap(propagated)
        name = task.name + (f"*{replication}" if replication else "")  # the scheduler names replicas so
        variables.update({names.PA_TASK_ID: f"{job_id}t{job.tasks.index(task)}", "PA_TASK_NAME": name,
                          "PA_TASK_ITERATION": str(iteration), "PA_TASK_REPLICATION": str(replication)})
        for variable in task.variables:
            if not (_flag(variable.inherited) and variable.name in propagated):
                variables[variable.name] = substitute(variable.value, variables)
        generic_information = {name: substitute(value, variables)
                               for name, value in dict(job.gi, **task.gi).items()}
        where = f"{job.name}/{name}" + (f"#{iteration}" if iteration else "")
        token = generic_information.get(names.GI_NODE_ACCESS_TOKEN)
        if token and token not in self.rm.node_tokens.get(NODE_URL, set()):
            held = sorted(self.rm.node_tokens.get(NODE_URL, set()))
            reason = (f"task {task.name} did not run: it needs a node holding token {token} "
                      f"({names.GI_NODE_ACCESS_TOKEN}) and no node holds it (the node's tokens: "
                      f"{', '.join(held) or 'none'})")
            return _TaskOutcome(False, False, reason=reason)
        for ref in task.selection:
            run = self._script(workflow, task, ref, LiveMap(variables), generic_information, where, iteration,
                               selection=True)
            if not run.ok or _flag(run.writeback.get("selected")) is not True:
                why = run.error if not run.ok else f"selected={run.writeback.get('selected')!r}"
                return _TaskOutcome(False, False, reason=f"task {task.name} did not run: its selection script "
                                    f"{ref.label} rejected the only node ({why})")
        localspace = os.path.join(self.workdir, f"job{job_id}", f"{task.name}-{iteration}-{replication}")
        os.makedirs(localspace, exist_ok=True)
        ok, failure, result = True, None, None
        writeback: Dict[str, Any] = {}
        for ref in (task.pre, task.executable, task.post):
            if ref is None or not ok:
                continue
            run = self._script(workflow, task, ref, variables, generic_information, where, iteration,
                               localspace=localspace, result=result if ref.slot == "post" else None)
            ok = run.ok
            failure = None if ok else f"task {task.name}: {ref.slot} script {ref.label} failed: {run.error}"
            result = run.writeback.get("result", result)
        if task.executable is None and task.executable_kind is not None:
            ok, failure = False, f"task {task.name}: psa run runs script executables only, not a {task.executable_kind}"
        if task.flow is not None and task.flow.script is not None:
            variables[names.PA_TASK_SUCCESS] = ok
            run = self._script(workflow, task, task.flow.script, variables, generic_information, where, iteration,
                               localspace=localspace, result=result)
            writeback = run.writeback
            if not run.ok:
                ok, failure = False, failure or f"task {task.name}: flow script {task.flow.script.label} failed: {run.error}"
                writeback = {}
            variables.pop(names.PA_TASK_SUCCESS, None)
        for name in list(variables):  # what pre/task/post/flow wrote goes on to later tasks
            if not name.startswith("PA_TASK_"):
                propagated[name] = variables[name]
        if task.cleaning is not None:
            self._script(workflow, task, task.cleaning, LiveMap(variables), generic_information, where, iteration)
        return _TaskOutcome(True, ok, writeback, failure)

    def _script(self, workflow: Workflow, task: Task, ref: ScriptRef, variables: LiveMap,
                generic_information: Mapping[str, str], where: str, iteration: int, *,
                localspace: Optional[str] = None, result: Any = None, selection: bool = False) -> "_ScriptResult":
        job = workflow.job
        assert job is not None
        text = self.source.text(ref, workflow)
        values: Dict[str, Any] = {"genericInformation": dict(generic_information)}
        if ref.arguments:
            values["args"] = [substitute(a, variables) for a in ref.arguments]
        objects: Dict[str, Any] = {"synchronizationapi": self.sync}
        if selection:
            values.update(nodeurl=NODE_URL, nodename=NODE_NAME, nodehost=NODE_HOST,
                          nodeTokens=sorted(self.rm.node_tokens.get(NODE_URL, set())))
        else:
            objects.update(schedulerapi=self.scheduler, rmapi=self.rm)
            values["credentials"] = {}
        if localspace is not None:
            values.update(localspace=localspace, resultMap={}, results=[])
        if ref.slot in ("post", "flow"):
            values["result"] = result
        if self.engine is not None:
            objects["engine"] = _EngineService(self.engine)
        session = _Session(values, variables, objects)
        token = self.gateway.open(session)
        path = os.path.join(self.workdir, f"script-{secrets.token_hex(4)}.py")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(_PROLOGUE + text + "\n" + _EPILOGUE)
        environ = dict(self.environ, **{gateway.ADDRESS_ENV: self.gateway.address, gateway.TOKEN_ENV: token})
        if self.engine is not None:
            environ[gateway.ENGINE_ENV] = "gateway"
        label = f"[{where} {ref.slot}]"
        started = time.monotonic()
        lines: List[str] = []
        try:
            process = subprocess.Popen([self.python, "-u", path], cwd=localspace or self.workdir, env=environ,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True, encoding="utf-8", errors="replace", start_new_session=True)
        except OSError as error:
            raise RunError(f"cannot start {self.python}: {error.strerror or error}") from None
        timer = threading.Timer(SCRIPT_TIMEOUT, process.kill)
        timer.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                line = line.rstrip("\n")
                lines.append(line)
                self.timeline.say(f"{label} {line}")
            code = process.wait()
        finally:
            timer.cancel()
            if process.stdin is not None:
                process.stdin.close()
            self.gateway.close_session(token)
            os.unlink(path)
        ok = code == 0
        error = None if ok else (_last_words(lines) or f"Python process execution has failed with exit code {code}")
        seconds = time.monotonic() - started
        self.timeline.say(f"{label} {ref.label}: " + ("ok" if ok else f"FAILED (exit code {code}): {error}")
                          + f" ({seconds:.1f} s)")
        self.report.scripts.append(ScriptRun(job.name, task.name, ref.slot, ref.label, ok, "\n".join(lines),
                                             iteration, error, round(seconds, 3)))
        if ref.slot == "executable" and task.flow is not None and task.flow.loop is not None:
            self.report.log_lines.extend(lines)
        self._watch_status()
        return _ScriptResult(ok, session.writeback if ok else {}, error)


@dataclass
class _ScriptResult:
    ok: bool
    writeback: Dict[str, Any]
    error: Optional[str]


# The engine's prologue and epilogue, with the gateway in place of py4j (7 lines before the
# script, like the engine's: traceback line numbers are shifted the same way).
_PROLOGUE = """\
import os
import sys
sys.path.append(os.getcwd())
from psa_scripts.workflow.gateway import bindings as _psa_bindings, write_back as _psa_write_back
locals().update(_psa_bindings())
del _psa_bindings
# --- the script ---
"""
_EPILOGUE = """\
_psa_write_back(globals())
sys.exit()
"""


def _last_words(lines: Sequence[str]) -> Optional[str]:
    """The line that says what went wrong: the last non-blank line of the output."""
    return next((line.strip() for line in reversed(lines) if line.strip()), None)


def _announce_start(name: str, container: Any) -> None:
    container.logs.append(f"{name} started from {container.image or 'its image'} (in-memory engine)")


class _Flow:
    """A job's if and replicate structure, checked: what psa run cannot play is a RunError.

    - ``if`` on task T (``target``, ``else``, optional ``continuation``): the target and else
      tasks start after T; the branch T's flow script does not take (``branch`` = ``"if"`` or
      ``"else"``) is skipped: its first task and every task that depends on it, up to the
      continuation, which runs after both branches' tasks (the skipped ones count as done).
    - ``replicate`` on task T: each task that depends on T runs ``runs`` times (T's flow script
      sets ``runs``), with ``PA_TASK_REPLICATION`` 0..runs-1; a task depending on it waits for all.
      A replicated block (``block="start"``) is refused: psa run replicates single tasks.
    """

    def __init__(self, workflow: Workflow) -> None:
        job = workflow.job
        assert job is not None
        self.job = job
        known = {t.name: t for t in job.tasks}
        self.implicit: Dict[str, List[str]] = {}
        for task in job.tasks:
            decision = task.flow.if_ if task.flow is not None else None
            if decision is None:
                continue
            where = f"{workflow.source}: task {task.name}"
            for role, name in (("target", decision.target), ("else", decision.else_),
                               ("continuation", decision.continuation)):
                if name is not None and name not in known:
                    raise RunError(f"{where}: its if {role} {name!r} is not a task of the workflow")
            for name in (decision.target, decision.else_):
                self.implicit.setdefault(name, []).append(task.name)
            if decision.continuation is not None:
                branches = self.branch(decision.target, decision.continuation) | self.branch(
                    decision.else_, decision.continuation)
                self.implicit.setdefault(decision.continuation, []).extend(
                    [task.name] + [t.name for t in job.tasks if t.name in branches])
        for task in job.tasks:
            if task.flow is not None and task.flow.replicate is not None:
                for name in self.replicated(task.name):
                    replicated = known[name]
                    if replicated.flow is not None and replicated.flow.block == "start":
                        raise RunError(f"{workflow.source}: task {name} starts a block that task {task.name} "
                                       "replicates: psa run replicates single tasks, not blocks")

    def depends(self, task: Task) -> List[str]:
        return list(task.depends) + self.implicit.get(task.name, [])

    def branch(self, first: str, continuation: Optional[str]) -> set:
        """``first`` and every task that depends on it, directly or not, up to ``continuation``."""
        members = {first}
        grew = True
        while grew:
            grew = False
            for task in self.job.tasks:
                if task.name not in members and task.name != continuation and members & set(task.depends):
                    members.add(task.name)
                    grew = True
        return members

    def replicated(self, name: str) -> List[str]:
        """The tasks a replicate on task ``name`` runs several times: those that depend on it."""
        return [t.name for t in self.job.tasks if name in t.depends]


def _task_order(job: Job, implicit: Optional[Mapping[str, Sequence[str]]] = None) -> List[Task]:
    """The tasks in an order that respects ``depends`` and ``implicit`` ones (an if's branches
    after it), document order among equals."""
    order: List[Task] = []
    placed: set = set()
    pending = list(job.tasks)
    known = {t.name for t in job.tasks}
    extra = implicit or {}
    while pending:
        ready = next((t for t in pending if all(d in placed or d not in known
                                                for d in list(t.depends) + list(extra.get(t.name, ())))), None)
        if ready is None:
            cycle = ", ".join(t.name for t in pending)
            raise RunError(f"tasks {cycle} depend on each other in a cycle: no order runs them")
        order.append(ready)
        placed.add(ready.name)
        pending.remove(ready)
    return order


def run_workflow(workflow: Path, **options: Any) -> RunReport:
    """Run ``workflow`` and its actions (keyword arguments of ``Runner``); the report."""
    return Runner(workflow, **options).run()
