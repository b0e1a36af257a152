"""Whole lifecycles as the workflows run them: deploy → post → check ×N → trigger → post trigger → clean.

A ``Scenario`` chains script runs on one ``Harness``: each step starts from the world the
previous one left (``outcome.state``), the way the deployment and action workflows of a PSA
service run our scripts::

    scenario = Scenario(harness, State(variables=..., instance=...))
    scenario.deploy("Start_Docker_Service")      # pre, the executable, post, clean
    scenario.check(times=2)                      # Check_Instance_Status + Fetch_Logs, twice
    scenario.action("finish")                    # Pre_Trigger_Action, Finish_Docker_Service,
                                                 # Post_Trigger_Action, Clean_Trigger_Action
    assert scenario.status_history == ["RUNNING", "FINISHED"]

A step that fails raises ``ScenarioError`` naming the script and its error (its outcomes are
still in ``scenario.outcomes``), unless the call says ``expect_error=True``: then the step's
``Steps`` carries the error and the scenario goes on from the state the failure left.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from .. import names
from .harness import Harness, Outcome, State


@dataclass(frozen=True)
class Action:
    """A service action workflow: what Pre_Trigger_Action announces, the status Post_Trigger_Action
    sets, and the Docker executable that does it."""

    launched: str
    target: str
    docker_executable: str


ACTIONS: Dict[str, Action] = {
    "finish": Action("FINISH_LAUNCHED", names.FINISHED, "Finish_Docker_Service"),
    "pause": Action("PAUSE_LAUNCHED", "PAUSED", "Pause_Docker_Service"),
    "resume": Action("RESUME_LAUNCHED", "RUNNING", "Resume_Docker_Service"),
}


class ScenarioError(AssertionError):
    """A step of the scenario failed when it was expected to succeed."""


class Steps(List[Outcome]):
    """The outcomes of one workflow step (a task's pre, executable, post, clean), in order."""

    @property
    def ok(self) -> bool:
        return all(outcome.ok for outcome in self)

    @property
    def error(self) -> Optional[BaseException]:
        """The first error among the step's scripts, if any."""
        return next((outcome.error for outcome in self if outcome.error is not None), None)

    @property
    def state(self) -> State:
        return self[-1].state

    @property
    def status_history(self) -> List[str]:
        return [status for outcome in self for status in outcome.status_history]

    @property
    def output(self) -> str:
        return "".join(outcome.output for outcome in self)

    def of(self, script: str) -> Outcome:
        """The (first) outcome of ``script`` in this step."""
        return next(outcome for outcome in self if outcome.script == script)

    def of_all(self, script: str) -> List[Outcome]:
        """Every outcome of ``script`` in this step (a check ×N runs it N times)."""
        return [outcome for outcome in self if outcome.script == script]


class Scenario:
    """Script runs chained on one harness: each starts from the state the previous one left."""

    def __init__(self, harness: Harness, state: State) -> None:
        self.harness = harness
        self.state = state
        self.outcomes: List[Outcome] = []

    # --- one script ------------------------------------------------------------------------------
    def run(self, script: str, *args: str, expect_error: bool = False, **changes: Any) -> Outcome:
        """Run ``script`` with ``args`` on the current state (``changes`` replace State fields first)."""
        state = self.state.replace(args=tuple(args), **changes)
        outcome = self.harness.run(script, state)
        self.outcomes.append(outcome)
        self.state = outcome.state
        if outcome.error is not None and not expect_error:
            raise ScenarioError(f"{script} failed: {type(outcome.error).__name__}: {outcome.error}\n"
                                f"its output:\n{outcome.output}") from outcome.error
        return outcome

    def _task(self, scripts: Iterable[Tuple[str, Tuple[str, ...], Dict[str, Any]]],
              clean: Optional[str], expect_error: bool) -> Steps:
        """A task: its scripts in order until one fails, then its clean script whatever happened."""
        steps = Steps()
        for script, args, changes in scripts:
            steps.append(self.run(script, *args, expect_error=True, **changes))
            if not steps[-1].ok:
                break
        if clean is not None:
            steps.append(self.run(clean, expect_error=True))
        if steps.error is not None and not expect_error:
            failed = next(outcome for outcome in steps if not outcome.ok)
            raise ScenarioError(f"{failed.script} failed: {type(failed.error).__name__}: {failed.error}\n"
                                f"the step's output:\n{steps.output}") from failed.error
        return steps

    # --- the workflows' steps ----------------------------------------------------------------------
    def deploy(self, executable: Optional[str] = None, *, files: Optional[Mapping[str, str]] = None,
               containers: Optional[Mapping[str, Any]] = None, protocol: Optional[str] = None,
               expect_error: bool = False) -> Steps:
        """The deployment task: Pre_Start_Service, the executable, Post_Start_Service, Clean_Start_Service.

        ``executable``: a script that starts the service (``"Start_Docker_Service"``, or an author's
        own); None when the service is started by something the harness does not run: then
        ``files`` (``<name>_port``, ``<name>_containerID``) and ``containers`` say what it left.
        ``protocol``: Post_Start_Service's argument (when neither HTTP_ENABLED nor HTTPS_ENABLED says).
        """
        changes: Dict[str, Any] = {}
        if files is not None:
            changes["files"] = {**self.state.files, **files}
        if containers is not None:
            changes["containers"] = {**self.state.containers, **containers}
        scripts = [("Pre_Start_Service", (), changes)]
        if executable is not None:
            scripts.append((executable, (), {}))
        scripts.append(("Post_Start_Service", (protocol,) if protocol else (), {}))
        return self._task(scripts, "Clean_Start_Service", expect_error)

    def check(self, times: int = 1, *, expect_error: bool = False) -> Steps:
        """The status loop, ``times`` iterations: Check_Instance_Status then its loop control Fetch_Logs.

        Stops early when the loop would (Fetch_Logs sets ``loop`` False) or a check fails.
        """
        steps = Steps()
        for _ in range(times):
            iteration = self._task([("Check_Instance_Status", (), {}), ("Fetch_Logs", (), {})], None, expect_error)
            steps.extend(iteration)
            if not iteration.ok or iteration[-1].writeback.get("loop") is False:
                break
        return steps

    def action(self, action: str, executable: Optional[str] = "docker", *,
               status: Optional[str] = None, expect_error: bool = False) -> Steps:
        """An action workflow: Pre_Trigger_Action, then the action task (its executable,
        Post_Trigger_Action, Clean_Trigger_Action).

        ``action``: ``finish``, ``pause`` or ``resume``. ``executable``: ``"docker"`` for our
        Docker script of that action, another script's name, or None when the harness does not
        run it: then ``status`` is the ``<INSTANCE_NAME>_status`` text it left (default: success).
        """
        try:
            chosen = ACTIONS[action]
        except KeyError:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}, got {action!r}") from None
        pre = self._task([("Pre_Trigger_Action", (chosen.launched,), {})], None, expect_error)
        if not pre.ok:
            return pre
        task: List[Tuple[str, Tuple[str, ...], Dict[str, Any]]] = []
        if executable is None:
            name = names.check_instance_name(self.state.variables.get(names.INSTANCE_NAME))
            files = {**self.state.files, f"{name}{names.STATUS_FILE_SUFFIX}": name if status is None else status}
            task.append(("Post_Trigger_Action", (chosen.target,), {"files": files}))
        else:
            task.append((chosen.docker_executable if executable == "docker" else executable, (), {}))
            task.append(("Post_Trigger_Action", (chosen.target,), {}))
        steps = Steps(pre)
        steps.extend(self._task(task, "Clean_Trigger_Action", expect_error))
        return steps

    # --- what happened -----------------------------------------------------------------------------
    @property
    def status_history(self) -> List[str]:
        """Every instance status the scripts set, in order, across the whole scenario."""
        return [status for outcome in self.outcomes for status in outcome.status_history]

    def outcomes_of(self, script: str) -> List[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.script == script]
