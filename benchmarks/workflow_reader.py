"""Reading and validating a 1 MB workflow: the reader is linear, the target well under a second.

The workflow model places every element and attribute (line, column, character offset); the
reader once decoded the whole prefix of the file at each tag, so a 0.9 MB workflow took minutes.
Here: a generated workflow of about 1 MB (tasks with non-ASCII descriptions and inline code, so
byte and character offsets differ), parsed alone and then checked by ``psa validate``'s PA1xx
rules (``schema.problems``); the best of three runs, wall clock. Needs no container engine
(``python -m benchmarks.workflow_reader`` runs it alone).
"""

from __future__ import annotations

import time
from typing import Callable, Tuple

from psa_scripts.workflow import schema
from psa_scripts.workflow.model import parse_workflow_bytes

from .common import table

TARGET_SECONDS = 1.0
TASK = ('<task name="T{0}"><description>tâche n°{0}: préparer les données</description>'
        '<variables><variable name="V{0}" value="{0}" model="PA:INTEGER"/></variables>'
        '<scriptExecutable><script><code language="cpython"><![CDATA[print("é", {0})]]></code>'
        '</script></scriptExecutable></task>\n')


def workflow_of(size: int) -> bytes:
    """A valid workflow of about ``size`` bytes."""
    head = '<?xml version="1.0" encoding="UTF-8"?>\n<job xmlns="urn:proactive:jobdescriptor:3.14" name="Big"><taskFlow>\n'
    tasks, count = [], 0
    while sum(len(t) for t in tasks) < size:
        tasks.append(TASK.format(count))
        count += 1
    return (head + "".join(tasks) + "</taskFlow></job>\n").encode("utf-8")


def _best(step: Callable[[], object]) -> Tuple[float, float]:
    """The best wall-clock and CPU seconds of three runs (on a shared machine, CPU time is the
    steadier figure: waiting for a core is not counted)."""
    walls, cpus = [], []
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        step()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def run() -> str:
    data = workflow_of(1_000_000)
    parse = _best(lambda: parse_workflow_bytes(data))
    check = _best(lambda: schema.problems(parse_workflow_bytes(data)))
    size = f"{len(data) / 1e6:.2f} MB"
    rows = [("parse (workflow model)", size, f"{parse[0]:.3f} s", f"{parse[1]:.3f} s"),
            ("parse + PA1xx rules", size, f"{check[0]:.3f} s", f"{check[1]:.3f} s")]
    verdict = "met" if check[1] < TARGET_SECONDS else "MISSED"
    return (f"== Workflow reader: a 1 MB workflow (target: parse + rules < {TARGET_SECONDS:.0f} s of CPU: {verdict})\n"
            + table(("step", "size", "wall, best of 3", "CPU, best of 3"), rows))


if __name__ == "__main__":
    print(run())
