"""Container logs exactly once: the cursor, the framed stream, the bounded delivery.

The cursor kept in the job variable ``LOG_CURSOR`` reads
``since=<whole second, UTC> seen=<k> container=<short id>``: the engine is asked for the
entries stamped at or after that second; the first ``k`` of them were delivered by an
earlier check, the rest are new. Pure functions and classes: no engine call here, so the
unit tests drive them with any interleaving of writes and checks.
"""

from __future__ import annotations

import calendar
import struct
import time
from collections import deque
from dataclasses import dataclass
from typing import Deque, Iterable, Iterator, Optional

from ..engine import LogBatch


@dataclass(frozen=True)
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

    since: int = 0
    seen: int = 0
    container: Optional[str] = None

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


def log_entries(chunks: Iterable[bytes], multiplexed: bool) -> Iterator[bytes]:
    """The entries of a logs response body (``<stamp> <text>``), each without its newline.

    Without a TTY the body is framed (8-byte header per entry); a frame without a final
    newline is a partial entry and counts as one entry, as the engine stores it.
    """
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        if not multiplexed:
            *complete, buffer = buffer.split(b"\n")
            yield from complete
            continue
        offset, end_of_data = 0, len(buffer)
        while end_of_data - offset >= _HEADER.size:
            _, length = _HEADER.unpack_from(buffer, offset)
            end = offset + _HEADER.size + length
            if end > end_of_data:
                break
            payload = buffer[offset + _HEADER.size:end]
            offset = end
            if not payload:
                continue
            yield from payload[:-1].split(b"\n") if payload.endswith(b"\n") else payload.split(b"\n")
        buffer = buffer[offset:]
    if buffer and not multiplexed:
        yield buffer


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
        try:
            parts = time.strptime(head.decode("ascii"), "%Y-%m-%dT%H:%M:%S")
            second = calendar.timegm(parts)
            if zone in (b"Z", b"z", b""):
                return second
            sign = -1 if zone[:1] == b"-" else 1
            hours, _, minutes = zone[1:].decode("ascii").partition(":")
            return second - sign * (int(hours) * 3600 + int(minutes or 0) * 60)
        except (ValueError, UnicodeDecodeError):
            return None


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

    def feed(self, entry: bytes) -> None:
        stamp, _, text = entry.rstrip(b"\r").partition(b" ")
        second = self._stamps.second(stamp)
        if second is None:  # no readable stamp: treat it as written with the entry before
            second, text = self._latest, entry
        if second < self.cursor.since:
            return  # before the cursor: the margin asked for around ``since``
        if second > self._latest:
            self._latest, self._at_latest = second, 0
        if second == self._latest:
            self._at_latest += 1
        if self._to_pass:
            self._to_pass -= 1  # delivered by an earlier check
            return
        self._keep(text.decode("utf-8", "replace"))

    def _keep(self, line: str) -> None:
        size = len(line.encode("utf-8")) + 1
        if size > self.max_bytes > 0:
            line = line[: self.max_bytes // 4] + " [line truncated]"
            size = len(line.encode("utf-8")) + 1
        self.kept.append(line)
        self.kept_bytes += size
        while self.kept and (len(self.kept) > self.max_lines or self.kept_bytes > self.max_bytes):
            self.kept_bytes -= len(self.kept.popleft().encode("utf-8")) + 1
            self.skipped += 1

    def batch(self, container: Optional[str], *, jump_to: Optional[float] = None, note: str = "") -> LogBatch:
        """The lines and next cursor; ``jump_to`` (epoch) gives up the unread rest up to then."""
        if jump_to is not None:
            since = max(int(jump_to), self._latest + 1)
            cursor = LogCursor(since, 0, container)
        elif self._latest == self.cursor.since and self._at_latest < self.cursor.seen:
            cursor = LogCursor(self.cursor.since, self.cursor.seen, container)  # read nothing new
        else:
            cursor = LogCursor(self._latest, self._at_latest, container)
        lines = list(self.kept) + ([note] if note else [])
        return LogBatch(lines, cursor.encode(), self.skipped)
