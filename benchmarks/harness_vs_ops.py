"""A harness run against the ``ops`` library's Scenario, side by side: runs per second.

Ours: ``Harness.run`` of Fetch_Logs (no network: the loop decision) and of Post_Start_Service
(four requests to the loopback emulator -- public address, GET, PUT, the confirming GET -- over
HTTP on a kept-alive connection, through the harness's default transport, the standard library's
``http.client``: ``psa_scripts.clients.loopback``), and the same through ``requests``, as on a node
(``Harness(transport="requests")``). Theirs: ``ops.testing.Context.run`` of a trivial charm's start
event (it sets the unit's status), the closest thing ``ops`` has to one script step. ``ops``
is not a dependency of psa-scripts: the benchmark installs ``ops[testing]`` from PyPI in a
throwaway virtualenv under ``build/`` (reused by later runs) and drives it there, in a worker
process that times rounds on demand. Rounds alternate between the three, so machine load
hits all alike; the table gives medians. Target: both of ours at least 3x ops's rate.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import venv
from pathlib import Path
from typing import Callable, Dict, List, Tuple

from .common import table

ROUNDS = 7
ROUND_SECONDS = 1.0
TARGET_RATIO = 3.0
OPS_REQUIREMENT = "ops[testing]"
OPS_VENV = Path(__file__).resolve().parent.parent / "build" / "bench-ops-venv"

# The ops side: a trivial charm whose start handler sets the unit's status, timed on request.
# Reads "<seconds>" lines on stdin, answers each with the runs per second of one round.
OPS_WORKER = '''
import sys, time
import ops
from ops import testing

class Charm(ops.CharmBase):
    def __init__(self, framework):
        super().__init__(framework)
        framework.observe(self.on.start, self._on_start)

    def _on_start(self, event):
        self.unit.status = ops.ActiveStatus("ready")

context = testing.Context(Charm, meta={"name": "bench"})

def once():
    out = context.run(context.on.start(), testing.State())
    assert out.unit_status == testing.ActiveStatus("ready")

for _ in range(20):
    once()
print(ops.__version__, flush=True)
for line in sys.stdin:
    seconds, runs, began, cpu = float(line), 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - began < seconds:
        once()
        runs += 1
    print(runs / (time.perf_counter() - began), (time.process_time() - cpu) * 1000 / runs, flush=True)
'''

FETCH_LOGS = "psa-scripts Harness.run(Fetch_Logs)  [no network]"
POST_START = "psa-scripts Harness.run(Post_Start_Service)  [4 requests to the emulator]"
POST_START_REQUESTS = "psa-scripts Harness(transport='requests').run(Post_Start_Service)  [the same, via requests]"
OPS = "ops Scenario Context.run(start) of a trivial charm"


def _ops_python() -> Path:
    """The throwaway virtualenv's interpreter, with ``ops[testing]`` installed (once)."""
    python = OPS_VENV / "bin" / "python"
    probe = [str(python), "-c", "import ops.testing, scenario"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    venv.EnvBuilder(with_pip=True, clear=True).create(str(OPS_VENV))
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", OPS_REQUIREMENT], check=True, timeout=600)
    return python


def _rate(operation: Callable[[], object], seconds: float) -> Tuple[float, float]:
    """(runs per second, CPU ms per run of this process, the emulator's thread included)."""
    runs, began, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - began < seconds:
        operation()
        runs += 1
    return runs / (time.perf_counter() - began), (time.process_time() - cpu) * 1000 / runs


def run() -> str:
    from psa_scripts.testing.harness import Harness, State, node_variables

    worker = subprocess.Popen([str(_ops_python()), "-c", OPS_WORKER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert worker.stdin is not None and worker.stdout is not None
    rates: Dict[str, List[float]] = {FETCH_LOGS: [], POST_START: [], POST_START_REQUESTS: [], OPS: []}
    cpus: Dict[str, List[float]] = {FETCH_LOGS: [], POST_START: [], POST_START_REQUESTS: [], OPS: []}
    try:
        ops_version = worker.stdout.readline().strip()
        with Harness() as harness, Harness(emulator=harness.emulator, transport="requests") as via_requests:
            fetch = State(variables={"IS_FINISHED": "false"})
            post = State(
                variables=node_variables(PCA_INSTANCE_ID="7", INSTANCE_NAME="web-1", ENDPOINT_ID="web-1-gui",
                                         HTTP_ENABLED="true", PROXYFIED="false"),
                instance={"instance_id": 7, "instance_status": "VOID -> RUNNING"},
                files={"web-1_port": "8080", "web-1_containerID": "c1"})
            posted = harness.run("Post_Start_Service", post).raise_error()
            assert len(posted.psa_requests) == 4 and posted.status_history == ["RUNNING"]
            ours = {FETCH_LOGS: lambda: harness.run("Fetch_Logs", fetch).raise_error(),
                    POST_START: lambda: harness.run("Post_Start_Service", post).raise_error(),
                    POST_START_REQUESTS: lambda: via_requests.run("Post_Start_Service", post).raise_error()}
            for operation in ours.values():
                for _ in range(20):
                    operation()
            for _ in range(ROUNDS):
                worker.stdin.write(f"{ROUND_SECONDS}\n")
                worker.stdin.flush()
                rate, cpu = (float(word) for word in worker.stdout.readline().split())
                rates[OPS].append(rate)
                cpus[OPS].append(cpu)
                for label, operation in ours.items():
                    rate, cpu = _rate(operation, ROUND_SECONDS)
                    rates[label].append(rate)
                    cpus[label].append(cpu)
                harness.emulator.requests.clear()  # the record of requests is not what is measured
    finally:
        worker.stdin.close()
        worker.wait(timeout=30)
    theirs = statistics.median(rates[OPS])
    their_cpu = statistics.median(cpus[OPS])
    rows = []
    for label in (FETCH_LOGS, POST_START, POST_START_REQUESTS, OPS):
        rate, cpu = statistics.median(rates[label]), statistics.median(cpus[label])
        rows.append([label, f"{rate:.0f}", f"{1000 / rate:.2f}", f"{cpu:.2f}",
                     "1.0x" if label == OPS else f"{rate / theirs:.1f}x",
                     "1.0x" if label == OPS else f"{their_cpu / cpu:.1f}x"])
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    header = (f"4. Harness vs ops {ops_version} Scenario: medians of {ROUNDS} alternating rounds of "
              f"{ROUND_SECONDS:g} s (machine load {load:.1f} per CPU: waits between the script and the "
              "emulator's thread grow with it; CPU per run does not)")
    footer = "\n".join(
        f"{label.split('  ')[0]}: {statistics.median(rates[label]) / theirs:.1f}x ops's rate: target >= "
        f"{TARGET_RATIO:g}x {'met' if statistics.median(rates[label]) / theirs >= TARGET_RATIO else 'MISSED'}"
        for label in (FETCH_LOGS, POST_START))
    return header + "\n" + table(["run", "runs/s", "wall ms/run", "CPU ms/run", "vs ops (runs/s)",
                                   "vs ops (CPU)"], rows) + "\n" + footer


if __name__ == "__main__":
    print(run())
    sys.exit(0)
