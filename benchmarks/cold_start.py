"""Cold start: what a stdlib-only catalog script costs over an empty script, bundled and installed.

Each script runs every minute in a fresh interpreter (``python -u <file>``, bindings as module
globals): psa_scripts.testing.cold_start writes the job files, the same the import-set guard
(tests/test_cold_start_imports.py) starts. Here they are timed: every job once per round,
round-robin, so machine load hits all alike; medians. A Singularity action is measured over the
empty script running the same stand-in ``singularity`` commands (its work, not its start-up).
Two measures: the wall time of the whole
interpreter minus the empty script's (what a node waits, the compile of the bundled file
included), and the CPU time the interpreter used minus the empty script's (what a node pays;
on a shared machine it swings far less with the load than the wall time: the verdict is on it).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

from psa_scripts.testing.cold_start import COMMANDS, EMPTY, FORMS, STDLIB_SCRIPTS, ColdStarts, floor_of

from .common import table

REPEAT = 21
TARGET_MS = 5.0  # over an empty script


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="psa-cold-") as scratch:
        starts = ColdStarts(Path(scratch))
        walls: Dict[str, List[float]] = {label: [] for label in starts.jobs}
        cpus: Dict[str, List[float]] = {label: [] for label in starts.jobs}
        for round_number in range(REPEAT + 1):
            for label in starts.jobs:
                start = starts.start(label)
                if round_number:  # round 0 warms the page cache and the bytecode caches
                    walls[label].append(start.wall_ms)
                    cpus[label].append(start.cpu_ms)
    floor, cpu_floor = statistics.median(walls[EMPTY]), statistics.median(cpus[EMPTY])
    rows, missed = [], []
    for script in STDLIB_SCRIPTS:
        base = floor_of(script)
        wall_base, cpu_base = statistics.median(walls[base]), statistics.median(cpus[base])
        commands = len(COMMANDS.get(script, ()))
        row: List[object] = [script, "empty" if base == EMPTY else
                             f"empty + {commands} command{'s' * (commands > 1)} ({cpu_base - cpu_floor:+.1f} CPU)"]
        for form in FORMS:
            label = f"{script} {form}"
            added = statistics.median(walls[label]) - wall_base
            cpu_added = statistics.median(cpus[label]) - cpu_base
            row += [f"{added:+.1f}", f"{cpu_added:+.1f}"]
            if cpu_added >= TARGET_MS:
                missed.append(f"{script} {form} ({cpu_added:+.1f} ms)")
        rows.append(row)
    header = (f"3. Cold start of the stdlib-only scripts, medians of {REPEAT} fresh interpreters each "
              f"({sys.executable} -I -S; empty script {floor:.1f} ms wall, {cpu_floor:.1f} ms CPU)")
    verdict = (f"target < {TARGET_MS:g} ms CPU over the empty script (for a Singularity action: the empty script "
               "running the same singularity commands): "
               + ("met by every script, bundled and installed" if not missed else "MISSED by " + ", ".join(missed)))
    return "\n".join([
        header,
        table(["script", "over", "bundled wall +ms", "CPU +ms", "installed wall +ms", "CPU +ms"], rows),
        verdict,
    ])


if __name__ == "__main__":
    print(run())
