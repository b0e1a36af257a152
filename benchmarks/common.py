"""What the benchmarks share: the engine, throw-away containers, timing, table printing."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import statistics
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable, Iterator, List, Sequence, Tuple

from psa_scripts.containers import DeploySpec, DockerEngine

TEST_IMAGE = "psa-test/busybox-httpd:latest"
DOCKER_CLI = shutil.which("docker") or "/usr/local/bin/docker"

# ~1000 numbered lines a second: bursts of 20 lines then 20 ms (one usleep per line would
# cost a fork each in busybox sh and cap the rate well below that). Ends by itself.
STEADY_WRITER = ("timeout", "600", "sh", "-c", "i=0; while true; do j=0; while [ $j -lt 20 ]; do i=$((i+1)); "
                 "j=$((j+1)); echo $i; done; usleep 20000; done")


def engine() -> DockerEngine:
    return DockerEngine.from_env(os.environ)


@contextlib.contextmanager
def container(engine: DockerEngine, command: Sequence[str], prefix: str) -> Iterator[str]:
    """A running container with a unique name, removed afterwards."""
    name = f"psa-bench-{prefix}-{uuid.uuid4().hex[:8]}"
    engine.deploy(DeploySpec(name=name, image=TEST_IMAGE, command=tuple(command)))
    try:
        yield name
    finally:
        engine.remove(name)


@dataclass
class Cost:
    """Wall and CPU time (own + children) of a repeated operation, in milliseconds."""

    wall: List[float] = field(default_factory=list)
    cpu: List[float] = field(default_factory=list)

    def add(self, sample: Tuple[float, float]) -> None:
        self.wall.append(sample[0])
        self.cpu.append(sample[1])

    @property
    def wall_median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_mean(self) -> float:
        return statistics.fmean(self.cpu)


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(operation: Callable[[], object]) -> Tuple[float, float]:
    """(wall ms, CPU ms of this process and its children) of one call."""
    cpu_before, wall_before = _cpu_seconds(), time.perf_counter()
    operation()
    return (time.perf_counter() - wall_before) * 1000, (_cpu_seconds() - cpu_before) * 1000


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
