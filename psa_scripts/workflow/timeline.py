"""The readable account of a ``psa run``: a line an event, on the terminal as it happens."""

from __future__ import annotations

from typing import Optional, TextIO


class Timeline:
    """The readable account of a run, a line an event, each script's output prefixed with
    where it comes from (``[workflow/task#iteration slot]``)."""

    def __init__(self, out: Optional[TextIO]) -> None:
        self.out = out

    def say(self, text: str) -> None:
        if self.out is not None:
            print(text, file=self.out, flush=True)

