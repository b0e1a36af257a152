"""Log delivery over loop ticks: our exactly-once cursor next to the reference algorithm.

One container writes numbered lines (~1000/s). Every tick, on that same container:
- ours: ``DockerEngine.read_logs`` with the cursor from the previous tick;
- the reference: ``logs --since <marker>``, the marker being the whole second taken
  *after* the fetch (Fetch_Logs sets LAST_TIME_MARKER once Check_Instance_Status is done),
  once right after the fetch (its best case) and once 0.25 s later (the separate script
  running after the task, still optimistic: a real script start takes longer).
Ticks are short (the real loop waits a minute) so that 50 of them take seconds; the
whole-second effects are the same. After the last tick the container is stopped and every
reader gets one last tick, so "lost" means never delivered, not "not yet".
"""

from __future__ import annotations

import math
import time
from collections import Counter
from typing import Dict, List, Optional

from psa_scripts.engine import DEFAULT_MAX_BYTES, DEFAULT_MAX_LINES

from .common import STEADY_WRITER, container, engine as make_engine, table

TICKS = 50
TICK_SECONDS = 0.3
LATE_MARKER_SECONDS = 0.25


class ReferenceReader:
    """``docker logs --since $LAST_TIME_MARKER``; the marker is set after the fetch."""

    def __init__(self, api, name: str, marker_delay: float) -> None:
        self.api, self.name, self.marker_delay = api, name, marker_delay
        self.marker: Optional[int] = None
        self.lines: List[int] = []

    def tick(self) -> None:
        options = {"since": self.marker} if self.marker else {}
        output = self.api.logs(self.name, **options)
        self.marker = math.floor(time.time() + self.marker_delay)
        self.lines += [int(line) for line in output.split()]


class CursorReader:
    def __init__(self, engine, name: str) -> None:
        self.engine, self.name = engine, name
        self.cursor: Optional[str] = None
        self.lines: List[int] = []

    def tick(self) -> None:
        batch = self.engine.read_logs(self.name, self.cursor, max_lines=DEFAULT_MAX_LINES, max_bytes=DEFAULT_MAX_BYTES)
        self.cursor = batch.cursor
        self.lines += [int(line) for line in batch.lines if line.isdigit()]


def score(lines: List[int], written: int) -> Dict[str, int]:
    counts = Counter(lines)
    return {
        "delivered": len(lines),
        "lost": sum(1 for n in range(1, written + 1) if n not in counts),
        "duplicated": sum(c - 1 for c in counts.values() if c > 1),
    }


def run() -> str:
    engine = make_engine()
    with container(engine, STEADY_WRITER, "logs") as name:
        readers = {
            "psa-scripts cursor": CursorReader(engine, name),
            "reference, marker right after fetch": ReferenceReader(engine.client.api, name, 0.0),
            f"reference, marker {LATE_MARKER_SECONDS} s after fetch": ReferenceReader(engine.client.api, name, LATE_MARKER_SECONDS),
        }
        started = time.monotonic()
        for tick in range(TICKS):
            for reader in readers.values():
                reader.tick()
            next_tick = started + (tick + 1) * TICK_SECONDS
            time.sleep(max(0.0, next_tick - time.monotonic()))  # the loop's period, not a wait for state
        engine.client.api.kill(name)
        elapsed = time.monotonic() - started
        for reader in readers.values():
            reader.tick()
        written = len(engine.client.api.logs(name).split())
    rows = []
    for label, reader in readers.items():
        result = score(reader.lines, written)
        rows.append([label, result["delivered"], result["lost"], result["duplicated"]])
    header = (f"1. Log delivery: {TICKS} ticks of {TICK_SECONDS} s (the real loop ticks every minute), "
              f"one container writing {written / elapsed:.0f} lines/s, {written} lines in all")
    return header + "\n" + table(["reader", "delivered", "lost", "duplicated"], rows)
