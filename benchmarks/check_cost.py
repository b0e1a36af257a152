"""The engine work of one status check (running? + new logs): our layer vs the docker CLI.

Ours: ``is_running`` + ``read_logs``. The reference: spawn ``docker inspect`` and
``docker logs --since <marker>`` (argument lists, no shell). Two services: a quiet one
(the test web server, nothing new to read) and one writing ~1000 lines/s.

Two settings. *Warm*: one long-lived Docker API client, the cost inside a process that
already imported everything. *Fresh process*: what Check_Instance_Status really pays, a
new interpreter per check (``python -c``: ``default_engine(os.environ)`` + ``is_running``
+ ``read_logs`` with the previous cursor, lines printed), bytecode compiled as on a node;
next to it the same in a fresh process on the ``docker`` SDK (``DockerEngine.from_env``),
the path before the stdlib status reader, and, for scale, a bare ``python -c pass``. An
interpreter's own start-up varies from machine to machine (``.pth`` hooks in site-packages,
a build without PGO): the same check runs also under ``python -S`` and under Debian's
``/usr/bin/python3`` when there is one. All variants alternate on the same container,
so all see the same log volume. CPU includes child processes (``RUSAGE_CHILDREN``); the
engine's own CPU is counted for none.
"""

from __future__ import annotations

import compileall
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from psa_scripts.engine import DEFAULT_MAX_BYTES, DEFAULT_MAX_LINES

from .common import DOCKER_CLI, STEADY_WRITER, Cost, container, engine as make_engine, measure, table

REPEAT = 30
GAP_SECONDS = 0.2  # between checks, so that each one has new lines to fetch
TARGET_RATIO = 0.5  # ours at most half of the CLI
WEB_SERVER: Optional[Sequence[str]] = ("httpd", "-f", "-p", "80", "-h", "/www")

# One status check in a fresh interpreter: argv = name, cursor ("" = none); lines to stdout,
# the next cursor as the last line of stderr.
_FRESH = (
    "import os, sys\n"
    "{make}\n"
    "name, cursor = sys.argv[1], sys.argv[2] or None\n"
    "assert engine.is_running(name)\n"
    f"batch = engine.read_logs(name, cursor, max_lines={DEFAULT_MAX_LINES}, max_bytes={DEFAULT_MAX_BYTES})\n"
    "sys.stdout.write(''.join(line + '\\n' for line in batch.lines))\n"
    "sys.stderr.write(batch.cursor or '')\n")
FRESH_DEFAULT = _FRESH.format(make="from psa_scripts.engine import default_engine\nengine = default_engine(os.environ)")
FRESH_SDK = _FRESH.format(make="from psa_scripts.containers import DockerEngine\nengine = DockerEngine.from_env(os.environ)")

OURS_WARM = "psa-scripts, warm client"
CLI = "docker inspect + logs (2 processes)"
OURS_FRESH = "psa-scripts, fresh `python -c` (default engine)"
SDK_FRESH = "fresh `python -c` on the docker SDK (before)"
BARE = "  for scale: fresh `python -c pass`"
OURS_NO_SITE = "psa-scripts, fresh `python -S -c` (no site hooks)"
OURS_DEBIAN = "psa-scripts, fresh Debian /usr/bin/python3 -c"
DEBIAN_PYTHON = "/usr/bin/python3"


def _fresh_environment() -> Dict[str, str]:
    # As on a node: the installed package has its bytecode; this machine's
    # PYTHONDONTWRITEBYTECODE would make every run recompile, which no node does.
    import psa_scripts

    compileall.compile_dir(str(Path(psa_scripts.__file__).parent), quiet=1)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    root = str(Path(psa_scripts.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _other_debian_python() -> bool:
    """The distribution's interpreter, as a Debian node runs scripts, when it is not ours."""
    if not os.path.exists(DEBIAN_PYTHON) or os.path.realpath(DEBIAN_PYTHON) == os.path.realpath(sys.executable):
        return False
    version = subprocess.run([DEBIAN_PYTHON, "-c", "import sys; print(sys.version_info[:2] >= (3, 8))"],
                             capture_output=True, text=True, timeout=30)
    return version.stdout.strip() == "True"


def _compare(engine, command: Sequence[str], label: str, env: Dict[str, str]) -> "tuple[List[List[str]], Dict[str, float]]":
    with container(engine, command, "cost") as name:
        state: Dict[str, Optional[str]] = {"warm": None, "fresh": None, "sdk": None,
                                           "marker": str(math.floor(time.time()))}

        def ours() -> None:
            assert engine.is_running(name)
            batch = engine.read_logs(name, state["warm"], max_lines=DEFAULT_MAX_LINES, max_bytes=DEFAULT_MAX_BYTES)
            state["warm"] = batch.cursor

        def cli() -> None:
            running = subprocess.run([DOCKER_CLI, "inspect", "--format", "{{.State.Running}}", name],
                                     capture_output=True, timeout=30, check=True)
            assert running.stdout.strip() == b"true"
            subprocess.run([DOCKER_CLI, "logs", "--since", state["marker"], name],
                           capture_output=True, timeout=30, check=True)
            state["marker"] = str(math.floor(time.time()))

        def fresh(program: str, key: str, interpreter: Sequence[str] = (sys.executable,)) -> Callable[[], None]:
            def run_once() -> None:
                done = subprocess.run([*interpreter, "-c", program, name, state.get(key) or ""],
                                      capture_output=True, timeout=60, env=env)
                if done.returncode:
                    raise RuntimeError(f"the fresh status check failed: {done.stderr.decode()[-2000:]}")
                state[key] = done.stderr.decode().rsplit("\n", 1)[-1] or None
            return run_once

        def bare() -> None:
            subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=60, env=env)

        operations = {OURS_WARM: ours, CLI: cli, OURS_FRESH: fresh(FRESH_DEFAULT, "fresh"),
                      SDK_FRESH: fresh(FRESH_SDK, "sdk"), BARE: bare,
                      OURS_NO_SITE: fresh(FRESH_DEFAULT, "no site", (sys.executable, "-S"))}
        if _other_debian_python():
            state["debian"] = None
            operations[OURS_DEBIAN] = fresh(FRESH_DEFAULT, "debian", (DEBIAN_PYTHON,))
        for operation in operations.values():
            operation()  # warm every path (connection pool, binaries and bytecode in the page cache)
        costs = {what: Cost() for what in operations}
        for _ in range(REPEAT):
            for what, operation in operations.items():
                time.sleep(GAP_SECONDS)  # the loop's period, not a wait for state
                costs[what].add(measure(operation))

    def row(what: str) -> List[str]:
        return [f"{label}: {what}", f"{costs[what].wall_median:.1f}", f"{costs[what].cpu_mean:.1f}"]

    def ratio(ours_label: str, text: str) -> List[str]:
        return [f"{label}: {text}", f"{costs[ours_label].wall_median / costs[CLI].wall_median:.2f}",
                f"{costs[ours_label].cpu_mean / costs[CLI].cpu_mean:.2f}"]

    rows = [row(OURS_WARM), row(CLI), ratio(OURS_WARM, "ratio warm / CLI"),
            row(OURS_FRESH), ratio(OURS_FRESH, "RATIO fresh process / CLI"),
            row(SDK_FRESH), ratio(SDK_FRESH, "ratio fresh SDK / CLI"), row(BARE),
            row(OURS_NO_SITE), ratio(OURS_NO_SITE, "ratio fresh -S / CLI")]
    if OURS_DEBIAN in costs:
        rows += [row(OURS_DEBIAN), ratio(OURS_DEBIAN, "ratio fresh Debian python / CLI")]
    fresh_ratios = {"wall": costs[OURS_FRESH].wall_median / costs[CLI].wall_median,
                    "cpu": costs[OURS_FRESH].cpu_mean / costs[CLI].cpu_mean}
    return rows, fresh_ratios


def run() -> str:
    engine = make_engine()
    env = _fresh_environment()
    rows, verdicts = [], []
    for command, label in ((WEB_SERVER, "quiet service"), (STEADY_WRITER, "~1000 lines/s")):
        section, ratios = _compare(engine, command, label, env)
        rows += section
        met = all(value <= TARGET_RATIO for value in ratios.values())
        verdicts.append(f"{label}: one status check in a fresh process costs {ratios['wall']:.2f} (wall) and "
                        f"{ratios['cpu']:.2f} (CPU) of the CLI's: target <= {TARGET_RATIO:g} "
                        f"{'met' if met else 'MISSED'}")
    header = (f"2. One status check's engine work (running? + new logs), {REPEAT} checks each, "
              f"{GAP_SECONDS} s apart, same container for all ({sys.executable})")
    return (header + "\n" + table(["", "wall ms (median)", "CPU ms (mean, incl. children)"], rows)
            + "\n" + "\n".join(verdicts))


if __name__ == "__main__":
    print(run())
