"""``psa run``: a PSA service's own workflows, run on this machine, end to end.

The runner plays the two parts a ProActive server plays:

- **PSA** (the loopback emulator, ``psa_scripts.local.emulator``): it creates the service
  instance as PSA does when a user starts a service (id, ``VOID -> RUNNING`` submission,
  the variables), injects ``PCA_INSTANCE_ID`` and the REST URLs, and launches each ``--then``
  action on the instance only when the action's ``pca.states`` has a transition from the
  instance's status (PSA merges the variables collected so far into the action's).
- **the scheduler** (``job_player``): the tasks of each job on one local node; a status loop
  on a cron string waits one *tick* (time-compressed: ``ticks`` iterations, then the actions;
  without ``ticks`` until interrupted).

Each script runs the way the ``cpython`` engine runs it (``script_process``): its text
(``script_source``: inline, a file, or the Catalog object its URL names — resolved to the
local bundles) in a fresh interpreter, with the bindings as module globals and the
write-back of ``result``/``selected``/``branch``/``runs``/``loop``/``resultMetadata`` after
exit code 0. The Java bindings are served by the runner over a Unix socket
(``gateway_server``; the script's side is ``gateway``): ``variables`` is a live map,
``schedulerapi``, ``rmapi`` and ``synchronizationapi`` are the in-memory APIs of
``psa_scripts.local.apis`` called by their Java method names. ``engine="memory"`` hands the
scripts the in-memory container engine the same way (a binding: the engine module never
knows about the runner); ``engine="docker"`` leaves the scripts to the Docker API of
``DOCKER_HOST``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, TextIO, Tuple

from .. import names
from . import endpoint_check
from .control_flow import ControlFlow
from .gateway_server import GatewayServer
from .job_player import (BEFORE_SCRIPT, CRON_WAIT, NODE_HOST, NODE_NAME, NODE_SOURCE, NODE_URL, SCRIPT_TIMEOUT,
                         JobPlayer, LocalNode)
from .model import Workflow, parse_workflow
from .run_containers import RunContainers, docker_engine
from .run_control import RunControl, RunForced
from .run_error import RunError
from .run_report import RunReport, WorkflowRun
from .script_source import ScriptSource
from .service_finish import finish_sibling
from .states import VOID, parse_states, transition_from
from .substitution import resolve_variables, substitute
from .timeline import Timeline

__all__ = ["RunError", "RunReport", "Runner", "load_workflow", "run_workflow", "substitute"]

EXTRA_TICKS_AFTER_ACTIONS = 3  # iterations the status loop gets to see the actions' outcome


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
    ``ticks``: status-loop iterations before the ending (None: until ``stop()``); every loop
    iteration counts, a cron loop's waits ``tick_seconds`` in place of its schedule.
    The ending (after the ticks or a first ``stop()``): the ``then`` actions if any, else the
    service's own finish workflow (``service_finish``), else (or after it) the removal of the
    containers the run created; ``keep``: none of that, the service is left running.
    A second ``stop()`` forces: the scripts' process groups are killed, no script starts again.
    ``search_path``: where the author's script modules are (default: the current directory).
    ``script_timeout``: seconds a script may run before its process group is killed.
    """

    def __init__(self, workflow: Path, *, variables: Optional[Mapping[str, str]] = None,
                 engine: Any = "memory", ticks: Optional[int] = None, then: Sequence[Path] = (),
                 out: Optional[TextIO] = None, tick_seconds: float = 1.0,
                 scripts: Optional[Mapping[str, Any]] = None, search_path: Optional[Sequence[Path]] = None,
                 python: Optional[str] = None,
                 environ: Optional[Mapping[str, str]] = None,
                 on_tick: Optional[Callable[["Runner", int], None]] = None,
                 keep: bool = False, script_timeout: float = SCRIPT_TIMEOUT) -> None:
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
        self.keep = keep
        self.script_timeout = script_timeout
        self.report = RunReport()
        self.control = RunControl()
        self.interrupted = self.control.stopping  # set by the first stop request
        self.engine_kind = engine if isinstance(engine, str) else "memory"
        if self.engine_kind not in ("docker", "memory"):
            raise RunError(f"engine {engine!r}: expected docker or memory")
        self.engine = engine if not isinstance(engine, str) else None
        self._jobs = 0
        self._flows: Dict[int, ControlFlow] = {}
        for workflow_ in [self.deployment] + self.actions:
            self.source.check(workflow_)
            self._flows[id(workflow_)] = ControlFlow(workflow_)  # if/replicate it cannot play: refused before any effect
        pairs = _states(self.deployment)
        if not any(source == VOID for source, _ in pairs):
            raise RunError(f"{self.deployment.source}: {names.GI_STATES} has no transition from VOID: "
                           "it does not start a service (give the deployment workflow first)")
        for action in self.actions:
            _states(action)
        self.finish = None if self.actions or keep else self._checked_finish()

    def _checked_finish(self) -> Optional[Workflow]:
        """The service's finish workflow, when one is beside the deployment and can run here."""
        finish = finish_sibling(self.deployment)
        if finish is None:
            return None
        try:
            self.source.check(finish)
            self._flows[id(finish)] = ControlFlow(finish)
        except RunError as error:
            self.timeline.say(f"psa run: the finish workflow {finish.source} cannot run here ({error}): "
                              "the run's containers will be removed instead")
            return None
        return finish

    def workflows(self) -> List[Workflow]:
        """Every workflow the run may launch: the deployment, the actions, the service's finish."""
        return [self.deployment] + self.actions + ([self.finish] if self.finish is not None else [])

    # --- outside control --------------------------------------------------------------------
    def stop(self, reason: str = "stop") -> bool:
        """A stop request (``reason``: the signal's name): the first ends the run in order at the
        next step, the second forces it. True when this one forces."""
        return self.control.stop(reason)

    def interrupt(self) -> None:
        """End the ticking now (Ctrl-C): the ending runs next."""
        self.stop("interrupt")

    # --- the run ---------------------------------------------------------------------------------
    def run(self) -> RunReport:
        from ..local.apis import CallLog, FakeEngine, FakeRmApi, FakeSchedulerApi, FakeSynchronizationApi
        from ..local.emulator import ProActiveEmulator

        if self.engine_kind == "memory" and self.engine is None:
            self.engine = FakeEngine(on_start=_announce_start)
        self.instance_id = 0
        service_id = self.deployment.job.gi.get(names.GI_SERVICE_ID) if self.deployment.job is not None else None
        self.containers = RunContainers(self.engine if self.engine is not None else docker_engine(self.environ),
                                        service_id, self.timeline)  # before any step: the engine answers
        self.workdir = tempfile.mkdtemp(prefix="psa-run-")
        os.chmod(self.workdir, 0o700)
        try:
            self.emulator = ProActiveEmulator(users={}).start()  # no password login: only the runner's session
            try:
                self.emulator.public_address = NODE_HOST
                self.calls = CallLog()
                self.scheduler = FakeSchedulerApi(self.emulator.new_session(), calls=self.calls)
                self.rm = FakeRmApi(calls=self.calls)
                self.sync = FakeSynchronizationApi(calls=self.calls)
                self.gateway = GatewayServer(self.workdir, on_note=self.timeline.say)
                try:
                    node = LocalNode(self.workdir, self.python, self.environ, self.gateway, self.scheduler, self.rm,
                                     self.sync, self.engine)
                    self.player = JobPlayer(node, self.source, self._flows, self.timeline, self.report,
                                            self.emulator.job_status, self._watch_status, self.control,
                                            self.script_timeout)
                    self._open_jobs: List[Iterator[str]] = []
                    try:
                        self._play()
                    except RunForced:
                        self.report.forced = True
                        self.timeline.say(f"psa run: forced to stop ({self.control.reason}, twice): the scripts' "
                                          "processes were killed; the ending did not run")
                    except Exception:  # the run cannot go on (a script file gone...): still nothing left
                        self.control.kill_all()
                        if not self.keep:
                            self.containers.remove_leftovers()
                        raise
                    finally:
                        self.control.kill_all()
                        for job in self._open_jobs:
                            job.close()
                finally:
                    self.gateway.close()
            finally:
                self.report.stopped_by = self.control.reason
                self.report.secrets.update(str(value) for value in self.scheduler.credentials.values() if value)
                self.report.secrets.add(str(self.scheduler.getSession()))
                self.report.instance = self.emulator.instance(self.instance_id) if self.instance_id else {}
                self.report.left_behind = self._left_behind()
                self.emulator.stop()
        finally:
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
        self.containers.instance_id = self.instance_id
        self._status_seen = None
        job_id = self._submit(deployment, f"{source} -> {target}", {})
        with self.emulator.lock:  # PSA keeps the variables the service was started with
            self.emulator.instances[self.instance_id]["variables"] = dict(self._job_variables)
        self._watch_status()
        self.deployment_job_id = job_id
        deployment_run = self._job(deployment, job_id)
        self._deployment_over = False
        self._tick(deployment_run)
        if self.control.stopping.is_set():
            self.timeline.say(f"psa run: stopping ({self.control.reason}): " + self._ending_said())
        ended = False
        for action in self.actions:
            ended = self._launch(action) or ended
        if self.finish is not None:
            ended = self._launch(self.finish, offered_only=True)
        extra = 0
        while ended and not self._deployment_over and extra < EXTRA_TICKS_AFTER_ACTIONS:
            extra += 1  # the deployment goes on (as beside an action on a server): its status loop sees what
            # the ending did and ends itself, releasing what the service holds
            if self._advance(deployment_run, pause_on_stop=False) is None:
                self._deployment_over = True
        if not self._deployment_over:
            self._close_job(deployment_run, "its status loop was still running after the actions"
                            if self.actions else None)
        if not self.actions and not self.keep:
            self.containers.remove_leftovers()

    def _ending_said(self) -> str:
        if self.actions:
            return "running the --then actions (again to force)"
        if self.keep:
            return "leaving the service running (--keep; again to force)"
        if self.finish is not None:
            return f"running the service's finish workflow {self.finish.job.name} (again to force)"
        return "removing the containers the run created (again to force)"

    # The jobs are generators: they yield before each script and at each loop iteration.
    def _advance(self, run: Iterator[str], *, pause_on_stop: bool) -> Optional[str]:
        """Run a job to its next loop iteration: the marker (``LOOP_AGAIN``, ``CRON_WAIT``), None when
        the job ended, ``BEFORE_SCRIPT`` when a stop was asked and ``pause_on_stop``. RunForced once
        a forced stop was asked."""
        while True:
            self.control.check()
            try:
                marker = next(run)
            except StopIteration:
                return None
            self.control.check()
            if marker != BEFORE_SCRIPT or (pause_on_stop and self.control.stopping.is_set()):
                return marker

    def _tick(self, run: Iterator[str]) -> None:
        """Let the status loop iterate: ``ticks`` times, or until a stop, or until it ends."""
        done = 0
        while True:
            marker = self._advance(run, pause_on_stop=True)
            if marker is None:
                self._deployment_over = True
                return
            if marker == BEFORE_SCRIPT:  # a stop asked between two scripts
                return
            done += 1
            if (self.ticks is not None and done >= self.ticks) or self.control.stopping.is_set():
                return
            if self.on_tick is not None:
                self.on_tick(self, done)
            if marker == CRON_WAIT and self.control.stopping.wait(self.tick_seconds):
                return

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
        if self._job_variables.get(names.INSTANCE_NAME):
            self.containers.own_names.add(self._job_variables[names.INSTANCE_NAME])
        self.report.secrets.update(value for name, value in self._job_variables.items()
                                   if name in hidden_variables(job) and value)
        with self.emulator.lock:
            self.emulator.instances[self.instance_id].setdefault("job_submissions", []).append({
                "transition_state": transition, "job_id": job_id, "submission_time": int(time.time() * 1000)})
        self.emulator.job_status[job_id] = "RUNNING"
        self.report.workflows.append(WorkflowRun(job.name, job_id, transition))
        self.timeline.say(f"== {job.name}: job {job_id}, transition {transition}, instance {self.instance_id}")
        return job_id

    def _launch(self, action: Workflow, *, offered_only: bool = False) -> bool:
        """Launch ``action`` on the instance as PSA would; True when it ran. An action that does not
        start from the instance's status is refused (``offered_only``: skipped, not a failure)."""
        job = action.job
        assert job is not None
        status = str(self.emulator.instance(self.instance_id).get("instance_status"))
        pair = transition_from(_states(action), status)
        if pair is None:
            reason = (f"{job.name} does not start from {status} ({names.GI_STATES}="
                      f"{job.gi.get(names.GI_STATES)}): PSA would not offer it")
            if not offered_only:
                self.report.workflows.append(WorkflowRun(job.name, "", f"{status} -> ?", False, reason))
            self.timeline.say(f"== {job.name}: " + ("not run" if offered_only else "refused") + f": {reason}")
            return False
        collected = dict(self.emulator.instance(self.instance_id).get("variables") or {})
        job_id = self._submit(action, f"{status} -> {pair[1]}", collected)
        run = self._job(action, job_id)
        iterations = 0  # an action's loop (rare) runs without waiting, bounded by --ticks as the deployment's
        while self._advance(run, pause_on_stop=False) is not None:
            iterations += 1
            if self.ticks is not None and iterations > max(self.ticks, EXTRA_TICKS_AFTER_ACTIONS):
                run.close()
                self.timeline.say(f"== {job.name}: stopped by psa run after {iterations} loop iterations (--ticks)")
                break
        return True

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
        return {
            "node_tokens": sorted(t for tokens in self.rm.node_tokens.values() for t in tokens),
            "channels": sorted(self.sync.channels),
            "credentials": sorted(self.scheduler.credentials),
            "containers": [c["name"] for c in self.containers.created()],
        }

    # --- the scheduler ------------------------------------------------------------------------
    def _job(self, workflow: Workflow, job_id: str) -> Iterator[None]:
        """The job ``job_id`` of ``workflow`` played by the scheduler, with the variables of its submission."""
        job = workflow.job
        assert job is not None
        run = self.player.job(workflow, job_id, self._scheduler_variables(job_id, job.name), self._job_variables)
        self._open_jobs.append(run)  # closed when the run ends, whatever the ending
        return run

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



def hidden_variables(job: Any) -> set:
    """The names of ``job``'s variables whose model is ``PA:HIDDEN`` (secrets: never written)."""
    return {v.name for v in job.variables if (v.model or "").strip().upper().startswith("PA:HIDDEN")}


def _announce_start(name: str, container: Any) -> None:
    container.logs.append(f"{name} started from {container.image or 'its image'} (in-memory engine)")



def run_workflow(workflow: Path, **options: Any) -> RunReport:
    """Run ``workflow`` and its actions (keyword arguments of ``Runner``); the report."""
    return Runner(workflow, **options).run()
