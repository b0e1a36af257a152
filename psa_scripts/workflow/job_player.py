"""The scheduler's part of ``psa run``: a job's tasks played on one local node.

Tasks run in dependency order; each script in its slot (selection, pre, executable, post,
flow, cleaning — ProActive's order: the flow script runs even after a failure, the cleaning
script always); ``$VAR`` / ``${VAR}`` substituted in variables, generic information and
script arguments; variables written by pre / executable / post / flow scripts propagated to
later tasks (clean and selection scripts get copies); the generic information
``NODE_ACCESS_TOKEN`` honoured against the node's tokens (a task whose token no node holds
does not run, and the timeline says why).

A job is a generator driven by the runner: it yields before each script (``BEFORE_SCRIPT``)
and at each loop iteration (``LOOP_AGAIN`` when the loop script said ``True``, ``CRON_WAIT``
on a cron string). The runner decides at each of those points: go on, wait a tick, or stop
(``close()``: the job ends there, its ``finally`` records it finished).
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional

from .. import names
from ..numbers import whole_number
from . import gateway, nativeshell
from .control_flow import ControlFlow, task_order
from .gateway_server import EngineService, GatewayServer, LiveMap, Session
from .model import Job, ScriptRef, Task, Workflow
from .run_control import RunControl
from .run_report import RunReport, ScriptRun, WorkflowRun
from .script_process import ScriptExit, last_words, run_script_file, write_script
from .script_source import ScriptSource
from .substitution import read_flag, substitute
from .timeline import Timeline

NODE_URL = "pnp://127.0.0.1:64738/psa-run-node"
NODE_NAME = "psa-run-node"
NODE_HOST = "127.0.0.1"
NODE_SOURCE = "LocalNodes"
SCRIPT_TIMEOUT = 900.0  # seconds: a script that runs longer is killed and fails its task
# What a job yields to the runner that drives it: the points where the runner may stop it.
BEFORE_SCRIPT = "before a script"
LOOP_AGAIN = "a loop iteration"  # loop = True: the next iteration at once
CRON_WAIT = "a loop waiting for its cron"  # the next iteration after a tick


@dataclass
class LocalNode:
    """The one node the jobs run on: its scratch directory, its interpreter and environment, and
    the Java side its scripts see (served by ``gateway``)."""

    workdir: str
    python: str
    environ: Mapping[str, str]
    gateway: GatewayServer
    scheduler: Any
    rm: Any
    sync: Any
    engine: Any = None  # served to the scripts when the run keeps its own (in memory)


@dataclass
class _TaskOutcome:
    ran: bool
    ok: bool
    writeback: Dict[str, Any] = field(default_factory=dict)
    reason: Optional[str] = None


@dataclass
class _ScriptResult:
    ok: bool
    writeback: Dict[str, Any]
    error: Optional[str]


class JobPlayer:
    """Plays jobs on ``node``: scripts from ``source``, control flows checked beforehand
    (``flows``: by ``id`` of the workflow), each script run recorded in ``report`` and told on
    ``timeline``; ``job_status`` is PSA's view of each job; ``on_script_done`` runs after each script."""

    def __init__(self, node: LocalNode, source: ScriptSource, flows: Mapping[int, ControlFlow],
                 timeline: Timeline, report: RunReport, job_status: Dict[str, str],
                 on_script_done: Callable[[], None], control: RunControl,
                 script_timeout: float = SCRIPT_TIMEOUT) -> None:
        self.node = node
        self.source = source
        self.flows = flows
        self.timeline = timeline
        self.report = report
        self.job_status = job_status
        self.on_script_done = on_script_done
        self.control = control
        self.script_timeout = script_timeout

    def job(self, workflow: Workflow, job_id: str, context: Mapping[str, str],
            job_variables: Mapping[str, str]) -> Iterator[None]:
        """Run ``workflow``'s tasks (``context``: the scheduler's variables, ``job_variables``: the
        job's, resolved at submission); yields before each script and at each loop iteration."""
        job = workflow.job
        assert job is not None
        record = next(w for w in self.report.workflows if w.job_id == job_id)
        propagated = LiveMap(dict(context, **job_variables))
        flow = self.flows[id(workflow)]
        order = task_order(job, flow.implicit)
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
                outcome = yield from self._replicas(workflow, job_id, task, propagated, iteration,
                                                    replications.get(task.name, 1))
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
                if decision is not None and read_flag(decision) is not False:
                    target = next((i for i, t in enumerate(order) if t.name == loop.target), None)
                    if target is None:
                        self._fail(record, f"task {task.name}: loop target {loop.target!r} is not a task")
                        break
                    for looped in order[target:index + 1]:
                        iterations[looped.name] = iterations.get(looped.name, 0) + 1
                    # Every iteration is a step the runner counts against --ticks; a cron string waits a tick.
                    yield CRON_WAIT if read_flag(decision) is None else LOOP_AGAIN
                    index = target
                    continue
                index += 1
        finally:
            self.node.scheduler.finished_jobs.add(job_id)
            self.job_status[job_id] = "FINISHED" if record.ok else "FAILED"
        self.timeline.say(f"== {job.name}: job {job_id} " + ("finished" if record.ok else f"failed: {record.reason}"))

    def _replicas(self, workflow: Workflow, job_id: str, task: Task, propagated: LiveMap, iteration: int,
                  runs: int) -> Iterator[str]:
        """``task`` once, or ``runs`` times when a replicate asked for it (PA_TASK_REPLICATION 0..runs-1,
        one after the other here; the scheduler would run them side by side)."""
        outcomes = []
        for replication in range(runs):
            outcomes.append((yield from self._task(workflow, job_id, task, propagated, iteration, replication)))
        if len(outcomes) == 1:
            return outcomes[0]
        failed = next((o for o in outcomes if not o.ok), None)
        return _TaskOutcome(any(o.ran for o in outcomes), failed is None, {},
                            failed.reason if failed is not None else None)

    def _decide(self, task: Task, flow: ControlFlow, writeback: Mapping[str, Any], skipped: set,
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
            count = None if isinstance(runs, bool) or not isinstance(runs, (int, str)) else whole_number(str(runs))
            if count is None or count < 1:
                return f"task {task.name}: its replicate flow script must set runs to a whole number >= 1, got {runs!r}"
            for replicated in flow.replicated(task.name):
                replications[replicated] = count
            self.timeline.say(f"   {task.name}: replicate {count} time(s): "
                              f"{', '.join(flow.replicated(task.name)) or 'no task depends on it'}")
        return None

    def _fail(self, record: WorkflowRun, reason: str) -> None:
        if record.ok:
            record.ok, record.reason = False, reason
        self.timeline.say(f"   {reason}")

    def _task(self, workflow: Workflow, job_id: str, task: Task, propagated: LiveMap,
              iteration: int, replication: int = 0) -> Iterator[str]:
        job = workflow.job
        assert job is not None
        variables = LiveMap(propagated)
        name = task.name + (f"*{replication}" if replication else "")  # the scheduler names replicas so
        variables.update({names.PA_TASK_ID: f"{job_id}t{job.tasks.index(task)}", "PA_TASK_NAME": name,
                          "PA_TASK_ITERATION": str(iteration), "PA_TASK_REPLICATION": str(replication)})
        for variable in task.variables:
            if not (read_flag(variable.inherited) and variable.name in propagated):
                variables[variable.name] = substitute(variable.value, variables)
        generic_information = {name: substitute(value, variables)
                               for name, value in dict(job.gi, **task.gi).items()}
        where = f"{job.name}/{name}" + (f"#{iteration}" if iteration else "")
        token = generic_information.get(names.GI_NODE_ACCESS_TOKEN)
        if token and token not in self.node.rm.node_tokens.get(NODE_URL, set()):
            held = sorted(self.node.rm.node_tokens.get(NODE_URL, set()))
            reason = (f"task {task.name} did not run: it needs a node holding token {token} "
                      f"({names.GI_NODE_ACCESS_TOKEN}) and no node holds it (the node's tokens: "
                      f"{', '.join(held) or 'none'})")
            return _TaskOutcome(False, False, reason=reason)
        for ref in task.selection:
            run = yield from self._script(workflow, task, ref, LiveMap(variables), generic_information, where,
                                          iteration, selection=True)
            if not run.ok or read_flag(run.writeback.get("selected")) is not True:
                why = run.error if not run.ok else f"selected={run.writeback.get('selected')!r}"
                return _TaskOutcome(False, False, reason=f"task {task.name} did not run: its selection script "
                                    f"{ref.label} rejected the only node ({why})")
        localspace = os.path.join(self.node.workdir, f"job{job_id}", f"{task.name}-{iteration}-{replication}")
        os.makedirs(localspace, exist_ok=True)
        ok, failure, result = True, None, None
        writeback: Dict[str, Any] = {}
        for ref in (task.pre, task.executable, task.post):
            if ref is None or not ok:
                continue
            run = yield from self._script(workflow, task, ref, variables, generic_information, where, iteration,
                                          localspace=localspace, result=result if ref.slot == "post" else None)
            ok = run.ok
            failure = None if ok else f"task {task.name}: {ref.slot} script {ref.label} failed: {run.error}"
            result = run.writeback.get("result", result)
        if task.executable is None and task.executable_kind is not None:
            ok, failure = False, f"task {task.name}: psa run runs script executables only, not a {task.executable_kind}"
        if task.flow is not None and task.flow.script is not None:
            variables[names.PA_TASK_SUCCESS] = ok
            run = yield from self._script(workflow, task, task.flow.script, variables, generic_information, where,
                                          iteration, localspace=localspace, result=result)
            writeback = run.writeback
            if not run.ok:
                ok, failure = False, failure or f"task {task.name}: flow script {task.flow.script.label} failed: {run.error}"
                writeback = {}
            variables.pop(names.PA_TASK_SUCCESS, None)
        for name in list(variables):  # what pre/task/post/flow wrote goes on to later tasks
            if not name.startswith("PA_TASK_"):
                propagated[name] = variables[name]
        if task.cleaning is not None:
            yield from self._script(workflow, task, task.cleaning, LiveMap(variables), generic_information, where,
                                    iteration)
        return _TaskOutcome(True, ok, writeback, failure)

    def _script(self, workflow: Workflow, task: Task, ref: ScriptRef, variables: LiveMap,
                generic_information: Mapping[str, str], where: str, iteration: int, *,
                localspace: Optional[str] = None, result: Any = None, selection: bool = False) -> Iterator[str]:
        job = workflow.job
        assert job is not None
        yield BEFORE_SCRIPT  # the runner may stop here: a stop is honoured between any two script runs
        text = self.source.text(ref, workflow)
        values: Dict[str, Any] = {"genericInformation": dict(generic_information)}
        if ref.arguments:
            values["args"] = [substitute(a, variables) for a in ref.arguments]
        objects: Dict[str, Any] = {"synchronizationapi": self.node.sync}
        if selection:
            values.update(nodeurl=NODE_URL, nodename=NODE_NAME, nodehost=NODE_HOST,
                          nodeTokens=sorted(self.node.rm.node_tokens.get(NODE_URL, set())))
        else:
            objects.update(schedulerapi=self.node.scheduler, rmapi=self.node.rm)
            values["credentials"] = {}
        if localspace is not None:
            values.update(localspace=localspace, resultMap={}, results=[])
        if ref.slot in ("post", "flow"):
            values["result"] = result
        if self.node.engine is not None:
            objects["engine"] = EngineService(self.node.engine)
        label, started = f"[{where} {ref.slot}]", time.monotonic()
        if nativeshell.plays(ref.language, ref.slot):  # bash: as ProActive's native shell engine runs it
            shell = nativeshell.run_bash(text, dict(values, variables=dict(variables)), cwd=localspace or self.node.workdir,
                                         base_environment=self.node.environ, timeout=self.script_timeout,
                                         on_line=lambda line: self.timeline.say(f"{label} {line}"),
                                         control=self.control)
            variables[nativeshell.EXIT_VALUE] = shell.exit_code
            error = shell.error and shell.error + (f": {last_words(shell.lines)}" if last_words(shell.lines) else "")
            return self._ended(job, task, ref, label, iteration, started, shell.exit_code, shell.lines, error, {})
        session = Session(values, variables, objects)
        token = self.node.gateway.open(session)
        path = os.path.join(self.node.workdir, f"script-{secrets.token_hex(4)}.py")
        write_script(path, text)
        environ = dict(self.node.environ, **{gateway.ADDRESS_ENV: self.node.gateway.address,
                                             gateway.TOKEN_ENV: token})
        try:
            ended = run_script_file(self.node.python, path, cwd=localspace or self.node.workdir, environ=environ,
                                    on_line=lambda line: self.timeline.say(f"{label} {line}"),
                                    timeout=self.script_timeout, control=self.control)
        finally:
            self.node.gateway.close_session(token)
            os.unlink(path)
        code, lines = ended.code, ended.lines
        error = None if code == 0 and not ended.timed_out else self._why_failed(ended)
        return self._ended(job, task, ref, label, iteration, started, code, lines, error, session.writeback)

    def _ended(self, job: Job, task: Task, ref: ScriptRef, label: str, iteration: int, started: float, code: int,
               lines: List[str], error: Optional[str], writeback: Dict[str, Any]) -> "_ScriptResult":
        """Record a script run (timeline, report) and what it hands back: nothing when it failed."""
        ok = error is None
        seconds = time.monotonic() - started
        self.timeline.say(f"{label} {ref.label}: " + ("ok" if ok else f"FAILED (exit code {code}): {error}")
                          + f" ({seconds:.1f} s)")
        self.report.scripts.append(ScriptRun(job.name, task.name, ref.slot, ref.label, ok, "\n".join(lines),
                                             iteration, error, round(seconds, 3)))
        if ref.slot == "executable" and task.flow is not None and task.flow.loop is not None:
            self.report.log_lines.extend(lines)
        self.on_script_done()
        return _ScriptResult(ok, writeback if ok else {}, error)

    def _why_failed(self, ended: ScriptExit) -> str:
        """The error of a script run that failed: its timeout, a forced stop, else its last words."""
        if ended.timed_out:
            return f"killed after {self.script_timeout:g} s (the script timeout), with what it started"
        if self.control.forced.is_set():
            return "killed: psa run was forced to stop"
        return last_words(ended.lines) or f"Python process execution has failed with exit code {ended.code}"
