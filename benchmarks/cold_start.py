"""Cold start: what psa-scripts adds to a fresh interpreter, as the engine starts one per script.

Fetch_Logs runs every minute in a new ``python -u <file>``: it must not pay for
``requests`` or ``docker``. Two measures: the wall time of whole fresh interpreters
(run round-robin so machine load hits all alike) and, inside each, the time from the
first import to the end of the run, which the interpreter's own start-up noise cannot
blur. The engine layer is shown apart: only the scripts that talk to the engine pay it.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from typing import Dict, List

from .common import table

REPEAT = 25
TARGET_MS = 5.0
FETCH_LOGS = "... + run('Fetch_Logs', plain bindings)"

_TIMED = "import time\n_t = time.perf_counter()\n{body}\nprint((time.perf_counter() - _t) * 1000)\n"
PROGRAMS = {
    "python -c pass": "pass",
    "from psa_scripts.scripts import run": "from psa_scripts.scripts import run",
    FETCH_LOGS: (
        "from psa_scripts.scripts import run\n"
        "bindings = {'variables': {'IS_FINISHED': 'false'}}\n"
        "run('Fetch_Logs', bindings)\n"
        "assert bindings['loop'] == '*/1 * * * *'"),
    "import docker + DockerEngine.from_env (engine scripts only)": (
        "import os\nfrom psa_scripts.containers import DockerEngine\nDockerEngine.from_env(os.environ)"),
}


def _once(body: str) -> "tuple[float, float]":
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _TIMED.format(body=body)], check=True, timeout=60,
                          capture_output=True, text=True)
    return (time.perf_counter() - started) * 1000, float(done.stdout.split()[-1])


def run() -> str:
    walls: Dict[str, List[float]] = {label: [] for label in PROGRAMS}
    insides: Dict[str, List[float]] = {label: [] for label in PROGRAMS}
    for round_number in range(REPEAT + 1):
        for label, body in PROGRAMS.items():
            wall, inside = _once(body)
            if round_number:  # round 0 warms the page and bytecode caches
                walls[label].append(wall)
                insides[label].append(inside)
    base = statistics.median(walls["python -c pass"])
    rows = []
    for label in PROGRAMS:
        wall = statistics.median(walls[label])
        added = "" if label == "python -c pass" else f"{wall - base:+.1f}"
        rows.append([label, f"{wall:.1f}", added, f"{statistics.median(insides[label]):.2f}"])
    fetch_logs = statistics.median(insides[FETCH_LOGS])
    verdict = "met" if fetch_logs < TARGET_MS else "MISSED"
    header = f"3. Cold start, medians of {REPEAT} fresh interpreters each ({sys.executable})"
    footer = (f"Fetch_Logs (import + run) costs {fetch_logs:.2f} ms inside a fresh interpreter: "
              f"target < {TARGET_MS:g} ms {verdict}")
    return (header + "\n" + table(["program", "wall ms", "added ms", "import + run ms"], rows)
            + "\n" + footer)
