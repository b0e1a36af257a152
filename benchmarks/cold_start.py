"""Cold start: what psa-scripts adds to a fresh interpreter, as the engine starts one per script.

Fetch_Logs runs every minute in a new ``python -u <file>``: it must not pay for
``requests`` or ``docker``. Two measures: the wall time of whole fresh interpreters
(run round-robin so machine load hits all alike) and, inside each, the time from the
first import to the end of the run, which the interpreter's own start-up noise cannot
blur. The engine layer is shown apart: only the scripts that talk to the engine pay it.
"""

from __future__ import annotations

import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

from .common import table

REPEAT = 25
TARGET_MS = 5.0
FETCH_LOGS = "... + run('Fetch_Logs', plain bindings)"
BUNDLED = "bundled catalog Fetch_Logs.py (compile + run, warm cache)"

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


def _environment(cache: str) -> Dict[str, str]:
    # As on a node: an installed package has its bytecode (pip compiles it), and a bundled
    # script has its embedded modules' bytecode cache. This machine's PYTHONDONTWRITEBYTECODE
    # would make every run recompile, which no node does.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PSA_SCRIPTS_CACHE"] = cache
    return env


def _bundled_fetch_logs(directory: Path) -> str:
    """A program that compiles and runs the catalog file of Fetch_Logs as the engine would
    (bindings as module globals), timing the compile of the file too."""
    from psa_scripts.bundler import render_script
    from psa_scripts.scripts import SCRIPTS

    path = directory / "Fetch_Logs.py"
    path.write_text(render_script(SCRIPTS["Fetch_Logs"]))
    return _TIMED.format(body=(
        f"source = open({str(path)!r}).read()\n"
        "namespace = {'__name__': '__main__', 'variables': {'IS_FINISHED': 'false'}}\n"
        f"exec(compile(source, {str(path)!r}, 'exec'), namespace)\n"
        "assert namespace['loop'] == '*/1 * * * *'"))


def _once(command: List[str], env: Dict[str, str]) -> "tuple[float, float]":
    started = time.perf_counter()
    done = subprocess.run(command, check=True, timeout=60, capture_output=True, text=True, env=env)
    return (time.perf_counter() - started) * 1000, float(done.stdout.split()[-1])


def run() -> str:
    import psa_scripts

    compileall.compile_dir(str(Path(psa_scripts.__file__).parent), quiet=1)
    with tempfile.TemporaryDirectory(prefix="psa-cold-") as scratch:
        env = _environment(os.path.join(scratch, "bytecode"))
        commands = {label: [sys.executable, "-c", _TIMED.format(body=body)] for label, body in PROGRAMS.items()}
        commands[BUNDLED] = [sys.executable, "-u", "-c", _bundled_fetch_logs(Path(scratch))]
        walls: Dict[str, List[float]] = {label: [] for label in commands}
        insides: Dict[str, List[float]] = {label: [] for label in commands}
        for round_number in range(REPEAT + 1):
            for label, command in commands.items():
                wall, inside = _once(command, env)
                if round_number:  # round 0 warms the page and bytecode caches
                    walls[label].append(wall)
                    insides[label].append(inside)
    base = statistics.median(walls["python -c pass"])
    rows = []
    for label in walls:
        wall = statistics.median(walls[label])
        added = "" if label == "python -c pass" else f"{wall - base:+.1f}"
        rows.append([label, f"{wall:.1f}", added, f"{statistics.median(insides[label]):.2f}"])
    header = f"3. Cold start, medians of {REPEAT} fresh interpreters each ({sys.executable})"
    footer = []
    for label, what in ((FETCH_LOGS, "installed Fetch_Logs (import + run)"), (BUNDLED, "bundled Fetch_Logs (whole file)")):
        cost = statistics.median(insides[label])
        verdict = "met" if cost < TARGET_MS else "MISSED"
        footer.append(f"{what} costs {cost:.2f} ms inside a fresh interpreter: target < {TARGET_MS:g} ms {verdict}")
    footer = "\n".join(footer)
    return (header + "\n" + table(["program", "wall ms", "added ms", "import + run ms"], rows)
            + "\n" + footer)
