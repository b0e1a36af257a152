"""A job's control flow as ``psa run`` plays it: the task order, if and replicate."""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence

from .model import Job, Task, Workflow
from .run_error import RunError


class ControlFlow:
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


def task_order(job: Job, implicit: Optional[Mapping[str, Sequence[str]]] = None) -> List[Task]:
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
