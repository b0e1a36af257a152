"""What an action on a container or instance did, and the status file an action script leaves.

``ActionOutcome`` (done, or no such container), ``action_status`` (the ``<name>_status`` text
Post_Trigger_Action reads) and ``record_action`` (an action script's engine step). Apart from
``spec`` (the deploy variables, with ``dataclasses``, ``typing``, ``shlex`` and ``json``): the
Singularity actions run in a fresh interpreter and need only these, so they load only this.
"""

from __future__ import annotations

from .. import statusfiles
from ..errors import EngineError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up: annotations here are strings
    from typing import Any, Callable


class ActionOutcome:
    """What a stop/start/remove did: ``ActionOutcome.DONE`` or ``ActionOutcome.NO_SUCH_CONTAINER``,
    the only two instances, compared with ``is``. Engine failures raise EngineError instead.

    A plain class, not an ``enum.Enum``: ``enum`` imports ``functools`` and ``collections``, some
    4 ms at every start of an action script in a fresh interpreter. ``name`` and ``value`` read as
    an enum member's; ``ActionOutcome.named(name)`` is the member of that name (the run's engine
    gateway sends outcomes by name).
    """

    __slots__ = ("name", "value")
    DONE: "ActionOutcome"
    NO_SUCH_CONTAINER: "ActionOutcome"

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self.value = value

    def __repr__(self) -> str:
        return f"<ActionOutcome.{self.name}: {self.value!r}>"

    def __reduce__(self) -> Any:
        return (ActionOutcome.named, (self.name,))  # pickled and copied as the same member

    @classmethod
    def named(cls, name: str) -> "ActionOutcome":
        """The member called ``name`` (``"DONE"``...); a KeyError for any other name."""
        member = _MEMBERS.get(name)
        if member is None:
            raise KeyError(name)
        return member


ActionOutcome.DONE = ActionOutcome("DONE", "done")
ActionOutcome.NO_SUCH_CONTAINER = ActionOutcome("NO_SUCH_CONTAINER", "no such container")
_MEMBERS = {member.name: member for member in (ActionOutcome.DONE, ActionOutcome.NO_SUCH_CONTAINER)}


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
