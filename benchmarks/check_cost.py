"""The engine work of one status check (running? + new logs): our layer vs the docker CLI.

Ours: ``is_running`` + ``read_logs`` through one Docker API client. The reference: spawn
``docker inspect`` and ``docker logs --since <marker>`` (argument lists, no shell). Two
services: a quiet one (the test web server, nothing new to read) and one writing ~1000
lines/s. Ours and the CLI alternate on the same container, so both see the same log
volume. CPU includes child processes (``RUSAGE_CHILDREN``); the engine's own CPU is
counted for neither.
"""

from __future__ import annotations

import math
import subprocess
import time
from typing import List, Optional, Sequence

from psa_scripts.engine import DEFAULT_MAX_BYTES, DEFAULT_MAX_LINES

from .common import DOCKER_CLI, STEADY_WRITER, Cost, container, engine as make_engine, measure, table

REPEAT = 30
GAP_SECONDS = 0.2  # between checks, so that each one has new lines to fetch
WEB_SERVER: Optional[Sequence[str]] = ("httpd", "-f", "-p", "80", "-h", "/www")


def _compare(engine, command: Sequence[str], label: str) -> List[List[str]]:
    with container(engine, command, "cost") as name:
        state = {"cursor": None, "marker": str(math.floor(time.time()))}

        def ours() -> None:
            assert engine.is_running(name)
            batch = engine.read_logs(name, state["cursor"], max_lines=DEFAULT_MAX_LINES, max_bytes=DEFAULT_MAX_BYTES)
            state["cursor"] = batch.cursor

        def cli() -> None:
            running = subprocess.run([DOCKER_CLI, "inspect", "--format", "{{.State.Running}}", name],
                                     capture_output=True, timeout=30, check=True)
            assert running.stdout.strip() == b"true"
            subprocess.run([DOCKER_CLI, "logs", "--since", state["marker"], name],
                           capture_output=True, timeout=30, check=True)
            state["marker"] = str(math.floor(time.time()))

        ours(), cli()  # warm both paths (connection pool, CLI binary in the page cache)
        ours_cost, cli_cost = Cost(), Cost()
        for _ in range(REPEAT):
            for cost, operation in ((ours_cost, ours), (cli_cost, cli)):
                time.sleep(GAP_SECONDS)  # the loop's period, not a wait for state
                cost.add(measure(operation))
    return [
        [f"{label}: psa-scripts", f"{ours_cost.wall_median:.1f}", f"{ours_cost.cpu_mean:.1f}"],
        [f"{label}: docker inspect + logs", f"{cli_cost.wall_median:.1f}", f"{cli_cost.cpu_mean:.1f}"],
        [f"{label}: ratio ours / CLI", f"{ours_cost.wall_median / cli_cost.wall_median:.2f}",
         f"{ours_cost.cpu_mean / cli_cost.cpu_mean:.2f}"],
    ]


def run() -> str:
    engine = make_engine()
    rows = _compare(engine, WEB_SERVER, "quiet service") + _compare(engine, STEADY_WRITER, "~1000 lines/s")
    header = (f"2. One status check's engine work (running? + new logs), {REPEAT} checks each, "
              f"{GAP_SECONDS} s apart, same container for both")
    return header + "\n" + table(["", "wall ms (median)", "CPU ms (mean, incl. children)"], rows)
