"""Cold start: what importing psa-scripts adds to a fresh interpreter, as the engine starts one per script.

Fetch_Logs runs every minute in a new ``python -u <file>``; it must not pay for
``requests`` or ``docker``. The engine layer's import is shown apart: only the scripts
that talk to the engine pay it.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from typing import List

from .common import table

REPEAT = 20
TARGET_MS = 5.0

PROGRAMS = {
    "python -c pass": "pass",
    "from psa_scripts.scripts import run": "from psa_scripts.scripts import run",
    "... + run('Fetch_Logs', plain bindings)": (
        "from psa_scripts.scripts import run\n"
        "bindings = {'variables': {'IS_FINISHED': 'false'}}\n"
        "run('Fetch_Logs', bindings)\n"
        "assert bindings['loop'] == '*/1 * * * *'"),
    "import docker + DockerEngine.from_env (engine scripts only)": (
        "import os\nfrom psa_scripts.containers import DockerEngine\nDockerEngine.from_env(os.environ)"),
}


def _median_ms(program: str) -> float:
    samples: List[float] = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", program], check=True, timeout=60, capture_output=True)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def run() -> str:
    for program in PROGRAMS.values():  # warm the page cache and the bytecode caches
        subprocess.run([sys.executable, "-c", program], check=True, timeout=60, capture_output=True)
    times = {label: _median_ms(program) for label, program in PROGRAMS.items()}
    base = times["python -c pass"]
    rows = [[label, f"{ms:.1f}", "" if ms is base else f"+{ms - base:.1f}"] for label, ms in times.items()]
    fetch_logs = times["... + run('Fetch_Logs', plain bindings)"] - base
    verdict = "met" if fetch_logs < TARGET_MS else "MISSED"
    header = f"3. Cold start, median of {REPEAT} fresh interpreters ({sys.executable})"
    footer = f"Fetch_Logs adds {fetch_logs:.1f} ms to a bare interpreter: target < {TARGET_MS:g} ms {verdict}"
    return header + "\n" + table(["program", "ms", "added ms"], rows) + "\n" + footer
