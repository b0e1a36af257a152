"""``LogBatch``: what a container engine answers when asked for new log lines.

Apart from ``psa_scripts.engine`` (which re-exports it) so that an engine module can build one
without importing the default-engine chooser, and with it the Docker layer.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, Optional


class LogBatch:
    """New log lines since a cursor, the cursor to resume from, and how many lines were cut.

    A plain class, not a dataclass: importing ``dataclasses`` (``inspect``, ``re``...) would
    cost a status check in a fresh interpreter more than its engine calls.
    """

    __slots__ = ("lines", "cursor", "skipped")

    def __init__(self, lines: Optional[List[str]] = None, cursor: Optional[str] = None, skipped: int = 0) -> None:
        self.lines = [] if lines is None else lines
        self.cursor = cursor
        self.skipped = skipped

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LogBatch):
            return NotImplemented
        return (self.lines, self.cursor, self.skipped) == (other.lines, other.cursor, other.skipped)

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass was

    def __repr__(self) -> str:
        return f"LogBatch(lines={self.lines!r}, cursor={self.cursor!r}, skipped={self.skipped!r})"
