"""Log lines the engine cut in pieces are delivered whole, each exactly once.

Podman stores a line in pieces wherever its read of the container's pipe ends: each piece is
an entry of its own, stamped, without a final newline until the last one. ``PiecesEngine`` is
a ``StatusReader`` whose transport serves such entries the way Podman does (whole-second
stamps, ``since`` filtered strictly, one frame per entry).
"""

import contextlib
import random
import struct
import time

import pytest

from psa_scripts.containers.logs import LogCursor, LogDelivery, log_records
from psa_scripts.containers.status import LogResponse, StatusReader

SECOND = 1_000_000_000
T0 = 1_764_191_283 * SECOND


def frame(payload, stream=1):
    return struct.pack(">BxxxL", stream, len(payload)) + payload


class PiecesEngine(StatusReader):
    def __init__(self, seed=0):
        super().__init__(log_read_seconds=30)
        self.entries = []  # (ns, stream, bytes with or without the final newline)
        self.running = True
        self.random = random.Random(seed)

    def write(self, ns, text, stream=1, pieces=1):
        """``text`` (with its newline, or not: a line not finished yet) stored as ``pieces`` entries."""
        data = text.encode()
        pieces = min(pieces, len(data))
        cuts = sorted(self.random.sample(range(1, len(data)), pieces - 1)) if pieces > 1 else []
        for start, end in zip([0] + cuts, cuts + [len(data)]):
            self.entries.append((ns, stream, data[start:end]))

    def _inspect_document(self, name):
        return {"Id": "abcdef0123456789", "Config": {"Tty": False}, "State": {"Running": self.running}}

    @contextlib.contextmanager
    def _log_response(self, container, params, timeout):
        since = float(params["since"]) * SECOND if "since" in params else None
        body = b""
        for ns, stream, data in self.entries:
            if since is not None and ns <= since:
                continue
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ns // SECOND))
            body += frame(f"{stamp} ".encode() + data, stream)
        chunks = [body[i:i + 997] for i in range(0, len(body), 997)]
        yield LogResponse(200, None, lambda seconds: chunks.pop(0) if chunks else b"")


def check(engine, cursor):
    batch = engine.read_logs("svc", cursor, max_lines=1_000_000, max_bytes=100_000_000)
    assert batch.skipped == 0
    return batch.lines, batch.cursor


def test_tens_of_thousands_of_short_lines_cut_anywhere_are_delivered_as_written():
    engine = PiecesEngine(seed=1)
    rng = random.Random(1)
    lines = [str(n) for n in range(1, 30_001)]
    delivered, cursor, now = [], None, T0
    for start in range(0, len(lines), 3000):  # ten checks, each after a burst of 3000 lines
        for line in lines[start:start + 3000]:
            now += rng.choice([1, 1000, 50_000_000])
            engine.write(now, line + "\n", pieces=rng.choice([1, 1, 1, 2, 3]))
        got, cursor = check(engine, cursor)
        delivered += got
    assert delivered == lines


def test_an_unfinished_line_is_held_until_its_rest_is_written():
    engine = PiecesEngine()
    engine.write(T0, "first\n")
    engine.write(T0 + 1, "half a li")  # the container has not written the rest yet
    lines, cursor = check(engine, None)
    assert lines == ["first"]
    assert LogCursor.decode(cursor) == LogCursor(T0 // SECOND, 1, "abcdef012345")  # before the piece
    assert check(engine, cursor) == ([], cursor)  # still unfinished: still held
    engine.write(T0 + 2, "ne, whole\n")
    engine.write(T0 + 3, "next\n")
    lines, cursor = check(engine, cursor)
    assert lines == ["half a line, whole", "next"]
    assert check(engine, cursor)[0] == []


def test_an_unfinished_line_is_delivered_once_the_container_stops():
    engine = PiecesEngine()
    engine.write(T0, "first\n")
    engine.write(T0 + 1, "last words without a newline")
    engine.running = False
    lines, cursor = check(engine, None)
    assert lines == ["first", "last words without a newline"]
    assert check(engine, cursor)[0] == []


def test_pieces_of_stdout_and_stderr_lines_are_joined_per_stream():
    engine = PiecesEngine()
    engine.write(T0, "out: begin", stream=1)
    engine.write(T0 + 1, "err: whole\n", stream=2)
    engine.write(T0 + 2, " and end\n", stream=1)
    assert check(engine, None)[0] == ["err: whole", "out: begin and end"]


def test_a_line_held_at_the_end_holds_back_the_other_streams_lines_after_it():
    """The cursor cannot point between the piece and a later entry: both are read again, once."""
    engine = PiecesEngine()
    engine.write(T0, "out: begin", stream=1)
    engine.write(T0 + 1, "err: after the piece\n", stream=2)
    lines, cursor = check(engine, None)
    assert lines == []
    engine.write(T0 + 2, " and end\n", stream=1)
    assert check(engine, cursor)[0] == ["err: after the piece", "out: begin and end"]


@pytest.mark.parametrize("payloads, records", [
    ([b"a 1\nb 2\n"], [(1, b"a 1", True), (1, b"b 2", True)]),
    ([b"a 1\nb"], [(1, b"a 1", True), (1, b"b", False)]),
    ([b"a", b" 1\n"], [(1, b"a", False), (1, b" 1", True)]),
])
def test_log_records_say_which_entries_end_a_line(payloads, records):
    body = b"".join(frame(payload) for payload in payloads)
    for cut in range(len(body)):
        assert list(log_records([body[:cut], body[cut:]], True)) == records


def test_a_tty_stream_ends_with_the_unfinished_line():
    assert list(log_records([b"x 1\r\nx 2"], False)) == [(0, b"x 1\r", True), (0, b"x 2", False)]


def test_delivery_counts_every_piece_for_the_cursor():
    delivery = LogDelivery(LogCursor(), 100, 10_000)
    for entry, complete in ((b"2025-11-26T21:08:03Z a", False), (b"2025-11-26T21:08:03Z b", True)):
        delivery.feed(entry, complete)
    batch = delivery.batch("c")
    assert batch.lines == ["ab"] and batch.cursor == "since=2025-11-26T21:08:03Z seen=2 container=c"
