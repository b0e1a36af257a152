"""Container logs exactly once: the cursor, the framed stream, the bounded delivery.

The cursor kept in the job variable ``LOG_CURSOR`` reads
``since=<whole second, UTC> seen=<k> container=<short id>``: the engine is asked for the
entries stamped at or after that second; the first ``k`` of them were delivered by an
earlier check, the rest are new. Pure functions and classes: no engine call here, so the
unit tests drive them with any interleaving of writes and checks.
"""

from __future__ import annotations

import struct
import time
from collections import deque
TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a fresh status check skips it)
if TYPE_CHECKING:
    from typing import Deque, Dict, Iterable, Iterator, List, Optional, Tuple

from .logbatch import LogBatch


class LogCursor:
    """Where the next status check resumes reading a container's logs.

    ``since``: a whole second (epoch, UTC); 0 means the container's first entry.
    ``seen``: how many of the entries stamped at or after ``since`` were already delivered.
    ``container``: the container's short id; another container of the same name starts over.

    Why it is exact: the engine filters ``since`` on its own full-precision stamps, and
    prints stamps truncated to the second (Podman) or in full (Docker); truncated to the
    second both say which entries the filter keeps, so "entries at or after ``since``" is
    the same list on both sides, and that list only grows at its end (the log is appended
    to in order). The next cursor is the latest second read and the number of entries read
    at that second. No ``until`` is needed: a second still being written is simply re-read.
    """

    __slots__ = ("since", "seen", "container")

    # A frozen value; a plain class rather than a dataclass, which a status check in a fresh
    # interpreter would pay for (``dataclasses`` imports ``inspect``, ``re``...).
    def __init__(self, since: int = 0, seen: int = 0, container: Optional[str] = None) -> None:
        object.__setattr__(self, "since", since)
        object.__setattr__(self, "seen", seen)
        object.__setattr__(self, "container", container)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"LogCursor is immutable: cannot set {name}")

    def _key(self) -> tuple:
        return (self.since, self.seen, self.container)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LogCursor):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"LogCursor(since={self.since!r}, seen={self.seen!r}, container={self.container!r})"

    def encode(self) -> str:
        since = format_second(self.since) if self.since > 0 else "start"
        container = f" container={self.container}" if self.container else ""
        return f"since={since} seen={self.seen}{container}"

    @classmethod
    def decode(cls, text: Optional[str]) -> "LogCursor":
        """Our own cursor, or a LAST_TIME_MARKER (ISO-8601) as a start; ValueError if neither."""
        text = (text or "").strip()
        if not text:
            return cls()
        if not text.startswith("since="):
            return cls(since=_parse_marker(text))  # the reference Fetch_Logs' marker
        fields = dict(part.partition("=")[::2] for part in text.split())
        since = fields.get("since", "start")
        return cls(
            since=0 if since == "start" else _parse_marker(since),
            seen=max(0, int(fields.get("seen", "0"))),
            container=fields.get("container") or None,
        )


def format_second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))


def _parse_marker(text: str) -> int:
    """Epoch second of an ISO-8601 time (offset, ``Z`` or local) or of an epoch number."""
    from datetime import datetime

    try:
        return max(0, int(float(text)))
    except (ValueError, OverflowError):
        pass
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return int(moment.timestamp() // 1)


_HEADER = struct.Struct(">BxxxL")  # multiplexed stream frame: stream type, 3 pad bytes, length


def log_records(chunks: Iterable[bytes], multiplexed: bool) -> Iterator[Tuple[int, bytes, bool]]:
    """The entries of a logs response body as ``(stream, entry, complete)``.

    ``entry`` is ``<stamp> <text>`` without its newline; ``stream`` 1 is stdout, 2 stderr (0
    for a TTY's single stream); ``complete`` is false for an entry the engine stored without a
    final newline: a piece of a line. Podman cuts a line wherever its read of the container's
    pipe ends, each piece stamped as an entry of its own; the next entries of the same stream
    complete it. Without a TTY the body is framed (8-byte header per entry).
    """
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        if not multiplexed:
            *complete, buffer = buffer.split(b"\n")
            for entry in complete:
                yield 0, entry, True
            continue
        offset, end_of_data = 0, len(buffer)
        while end_of_data - offset >= _HEADER.size:
            stream, length = _HEADER.unpack_from(buffer, offset)
            end = offset + _HEADER.size + length
            if end > end_of_data:
                break
            payload = buffer[offset + _HEADER.size:end]
            offset = end
            if not payload:
                continue
            *lines, rest = payload.split(b"\n")
            for line in lines:
                yield stream, line, True
            if rest:
                yield stream, rest, False
        buffer = buffer[offset:]
    if buffer and not multiplexed:
        yield 0, buffer, False


def log_entries(chunks: Iterable[bytes], multiplexed: bool) -> Iterator[bytes]:
    """The entries of a logs response body (``<stamp> <text>``), each without its newline."""
    for _, entry, _ in log_records(chunks, multiplexed):
        yield entry


class _StampReader:
    """Whole seconds of log stamps (``2026-11-26T21:08:03Z``, ``...03.123456789Z``, ``...+01:00``)."""

    def __init__(self) -> None:
        self._key = b""
        self._second: Optional[int] = None

    def second(self, stamp: bytes) -> Optional[int]:
        fraction_end = 19
        while fraction_end < len(stamp) and stamp[fraction_end] in b".0123456789":
            fraction_end += 1
        key = stamp[:19] + stamp[fraction_end:]
        if key != self._key:  # consecutive entries mostly share a second: parse once
            self._key, self._second = key, self._parse(stamp[:19], stamp[fraction_end:])
        return self._second

    @staticmethod
    def _parse(head: bytes, zone: bytes) -> Optional[int]:
        """``YYYY-MM-DDTHH:MM:SS`` + zone, by hand: ``time.strptime`` imports ``_strptime``,
        ``calendar``, ``datetime``, ``locale`` and ``re``, more than a status check's engine work."""
        try:
            if len(head) != 19 or head[4:5] != b"-" or head[7:8] != b"-" or head[10:11] not in b"Tt " \
                    or head[13:14] != b":" or head[16:17] != b":":
                return None
            fields = (head[0:4], head[5:7], head[8:10], head[11:13], head[14:16], head[17:19])
            if not all(field.isdigit() for field in fields):
                return None
            year, month, day, hour, minute, second = (int(field) for field in fields)
            if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 61):
                return None
            epoch = (_days_from_civil(year, month, day) * 24 + hour) * 3600 + minute * 60 + second
            if zone in (b"Z", b"z", b""):
                return epoch
            sign = -1 if zone[:1] == b"-" else 1
            hours, _, minutes = zone[1:].decode("ascii").partition(":")
            return epoch - sign * (int(hours) * 3600 + int(minutes or 0) * 60)
        except (ValueError, UnicodeDecodeError):
            return None


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


class LogDelivery:
    """Applies a cursor to entries read in order; keeps the newest within the caps.

    Feed every entry the engine returned for ``since``; ``batch`` then gives the new lines
    (at most ``max_lines`` lines and ``max_bytes`` bytes: the newest; older ones are counted
    as skipped) and the cursor for the next check. Memory stays within the caps.
    """

    def __init__(self, cursor: LogCursor, max_lines: int, max_bytes: int) -> None:
        self.cursor = cursor
        self.max_lines = max(0, max_lines)
        self.max_bytes = max(0, max_bytes)
        self.kept: Deque[str] = deque()
        self.kept_bytes = 0
        self.skipped = 0
        self._to_pass = cursor.seen
        self._latest = cursor.since  # latest second read ...
        self._at_latest = 0  # ... and how many entries were read at it
        self._stamps = _StampReader()
        self._pending: Dict[int, List[Tuple[bytes, bool]]] = {}  # per stream: pieces of an unfinished line
        self._before_pending = (self._latest, self._at_latest, 0)
        self._appended = 0  # lines kept so far, including those the caps dropped later

    def feed(self, entry: bytes, complete: bool = True, stream: int = 1) -> None:
        """One entry as the engine stored it; pieces of a line (``complete`` false) wait for the rest."""
        stamp, _, text = entry.rstrip(b"\r").partition(b" ") if complete else entry.partition(b" ")
        second = self._stamps.second(stamp)
        if second is None:  # no readable stamp: treat it as written with the entry before
            second, text = self._latest, entry
        if second < self.cursor.since:
            return  # before the cursor: the margin asked for around ``since``
        if not any(self._pending.values()):  # where to resume if the line stays unfinished
            self._before_pending = (self._latest, self._at_latest, self._appended)
        if second > self._latest:
            self._latest, self._at_latest = second, 0
        if second == self._latest:
            self._at_latest += 1
        delivered_before = self._to_pass > 0
        if delivered_before:
            self._to_pass -= 1  # delivered by an earlier check
        pieces = self._pending.setdefault(stream, [])
        pieces.append((text, delivered_before))
        if not complete:
            return
        self._pending[stream] = []
        new = [piece for piece, delivered in pieces if not delivered]
        if new:
            self._keep(b"".join(new).rstrip(b"\r").decode("utf-8", "replace"))

    def _keep(self, line: str) -> None:
        size = len(line.encode("utf-8")) + 1
        if size > self.max_bytes > 0:
            line = line[: self.max_bytes // 4] + " [line truncated]"
            size = len(line.encode("utf-8")) + 1
        self.kept.append(line)
        self._appended += 1
        self.kept_bytes += size
        while self.kept and (len(self.kept) > self.max_lines or self.kept_bytes > self.max_bytes):
            self.kept_bytes -= len(self.kept.popleft().encode("utf-8")) + 1
            self.skipped += 1

    def batch(self, container: Optional[str], *, jump_to: Optional[float] = None, note: str = "",
              flush: bool = True) -> LogBatch:
        """The lines and next cursor; ``jump_to`` (epoch) gives up the unread rest up to then.

        A line still unfinished at the end of the read (its container may write the rest) is
        delivered when ``flush`` (the container has stopped, or the read gave up), else held:
        the cursor stays before its first piece and the next check reads it again, whole.
        """
        if any(self._pending.values()):
            if flush or jump_to is not None:
                for stream in sorted(self._pending):
                    new = [piece for piece, delivered in self._pending[stream] if not delivered]
                    if new:
                        self._keep(b"".join(new).decode("utf-8", "replace"))
            else:
                self._latest, self._at_latest, appended = self._before_pending
                for _ in range(min(self._appended - appended, len(self.kept))):  # read again next time
                    self.kept_bytes -= len(self.kept.pop().encode("utf-8")) + 1
            self._pending = {}
        if jump_to is not None:
            since = max(int(jump_to), self._latest + 1)
            cursor = LogCursor(since, 0, container)
        elif self._latest == self.cursor.since and self._at_latest < self.cursor.seen:
            cursor = LogCursor(self.cursor.since, self.cursor.seen, container)  # read nothing new
        else:
            cursor = LogCursor(self._latest, self._at_latest, container)
        lines = list(self.kept) + ([note] if note else [])
        return LogBatch(lines, cursor.encode(), self.skipped)
