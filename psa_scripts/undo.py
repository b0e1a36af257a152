"""Undo: the steps a script already took, taken back when a later one fails."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up: annotations here are strings
    from typing import Any, Callable, Sequence


def undo_steps(ctx: Any, steps: "Sequence[Callable[[], Any]]") -> None:
    """Take back ``steps``, last first; a failing one is a warning and does not stop the others
    (the error that made us undo is what the user must read)."""
    for step in reversed(steps):
        try:
            step()
        except Exception as error:
            ctx.warn(f"could not undo a step of the deployment: {error}")
