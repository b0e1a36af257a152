"""What an action on a container or instance did, and the status file an action script leaves.

``ActionOutcome`` (done, or no such container), ``action_status`` (the ``<name>_status`` text
Post_Trigger_Action reads) and ``record_action`` (an action script's engine step). Apart from
``spec`` (the deploy variables, with ``dataclasses``, ``typing``, ``shlex`` and ``json``): the
Singularity actions run in a fresh interpreter and need only these, so they load only this.
"""

from __future__ import annotations

import enum

from .. import statusfiles
from ..errors import EngineError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up: annotations here are strings
    from typing import Any, Callable


class ActionOutcome(enum.Enum):
    """What a stop/start/remove did. Engine failures raise EngineError instead."""

    DONE = "done"
    NO_SUCH_CONTAINER = "no such container"


def action_status(name: str, action: Callable[[], ActionOutcome]) -> str:
    """Run an action and give the ``<name>_status`` text Post_Trigger_Action reads."""
    try:
        outcome = action()
    except EngineError as error:
        return str(error) or f"the container engine failed on {name}"
    if outcome is ActionOutcome.NO_SUCH_CONTAINER:
        return statusfiles.already_removed_text(name)
    return name


def record_action(ctx: Any, verb: str, name: str, action: Callable[[], ActionOutcome]) -> str:
    """An action script's engine step: run ``action``, write ``<name>_status`` in the localspace for
    Post_Trigger_Action, print what happened (``"Finish web-1: done"``, ``"... already removed"``, or
    ``"Finish web-1 failed: <the engine's words>"``); the status. The task does not fail on an engine
    error: Post_Trigger_Action reads the outcome from the file."""
    workdir = ctx.workdir  # where the status goes, known before the engine acts
    status = action_status(name, action)
    statusfiles.write_status(workdir, name, status)
    ctx.print(action_line(verb, name, status))
    return status


def action_line(verb: str, name: str, status: str) -> str:
    """What an action did, for a person: ``<verb> <name>: done``, ``...: there is no such container
    (already removed)`` or ``<verb> <name> failed: <the engine's words>`` (``status``: the status text)."""
    if status == name:
        return f"{verb} {name}: done"
    if status == statusfiles.already_removed_text(name):
        return f"{verb} {name}: there is no such container (already removed)"
    return f"{verb} {name} failed: {status}"
