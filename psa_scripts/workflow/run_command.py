"""``psa run`` on the command line: signals, the closing summary, the report file, exit status.

SIGINT, SIGTERM and SIGHUP end a run the same way (``Runner.stop``): the first lets the run
end in order (the ``--then`` actions, else the service's finish workflow, else the removal
of the containers it created; ``--keep``: none of that), the second forces it (the scripts'
process groups killed). Whatever the ending, the report is written (mode 0600, secrets
masked) and the last lines name anything still there, with the command that removes it.
Exit status: 0 when every workflow succeeded and the instance is not in ERROR, else 1.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from .run_report import write_report
from .runner import Runner
from .summary import summary_lines

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def run_command(workflow: Path, *, variables: Dict[str, str], engine: str, ticks: Optional[int],
                then: Sequence[Path], tick_seconds: float, report_path: Optional[Path],
                search_path: Optional[Sequence[Path]], keep: bool) -> int:
    """One ``psa run`` (the CLI's arguments); its exit status."""
    runner = Runner(workflow, variables=variables, engine=engine, ticks=ticks, then=then, out=sys.stdout,
                    tick_seconds=tick_seconds, search_path=search_path, keep=keep)
    for name in undeclared_variables(runner, variables):
        print(f"psa run: warning: --var {name}: no workflow of this run declares it (a script may still "
              "read it; check its spelling)", flush=True)

    def on_signal(signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if runner.stop(name):
            _say_now(f"psa run: {name} again: forcing the stop (the scripts are killed)")
        else:
            _say_now(f"psa run: {name}: stopping at the next step")

    previous = {signum: signal.signal(signum, on_signal) for signum in STOP_SIGNALS}
    try:
        report = runner.run()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if report_path is not None:
            write_report(report_path, runner.report)
    for line in summary_lines(report, engine, os.environ.get("DOCKER_HOST"), keep):
        print(line, flush=True)
    return 0 if report.ok else 1


def _say_now(line: str) -> None:
    """A line from a signal handler: straight to the file descriptor, since the handler may run
    while the main thread is inside a write to ``sys.stdout`` (a reentrant write raises)."""
    try:
        os.write(sys.stdout.fileno(), (line + "\n").encode("utf-8"))
    except (OSError, ValueError, AttributeError):  # no real stdout (captured): the summary says it
        pass


def undeclared_variables(runner: Runner, variables: Dict[str, str]) -> List[str]:
    """The ``--var`` names that no workflow of the run declares."""
    declared = {variable.name for workflow in runner.workflows() for variable in workflow.job.variables}
    return sorted(name for name in variables if name not in declared)
