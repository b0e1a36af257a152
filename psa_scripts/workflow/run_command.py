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

from .run_report import RunReport, write_report
from .runner import Runner

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


def summary_lines(report: RunReport, engine: str, docker_host: Optional[str], keep: bool) -> List[str]:
    """The closing lines: how the instance ended, then one line for each thing left, with how it goes."""
    left = report.left_behind
    failures = [w.reason or f"{w.workflow} failed" for w in report.workflows if not w.ok]
    if report.status == "ERROR":
        failures.append("the instance is in ERROR")
    if report.forced:
        failures.append(f"forced to stop ({report.stopped_by}, twice): its ending did not run")
    things = _left_lines(left, engine, docker_host, keep)
    head = (f"psa run: instance {report.instance.get('instance_id')} ended {report.status}; "
            + ("left behind:" if things else "nothing left behind")
            + ("" if report.ok else "; FAILED: " + "; ".join(failures)))
    return [head] + things


def _left_lines(left: Dict[str, Any], engine: str, docker_host: Optional[str], keep: bool) -> List[str]:
    lines = []
    for name in left.get("containers") or ():
        if engine == "memory":
            lines.append(f"  container {name}: in the in-memory engine, gone with this run")
        else:
            host = ["--host", docker_host] if docker_host else []
            command = " ".join(["docker", *host, "rm", "-f", name])
            lines.append(f"  container {name}" + (" (kept running: --keep)" if keep else "")
                         + f": remove it with: {command}")
    for kind, label in (("node_tokens", "node token"), ("channels", "synchronization channel"),
                        ("credentials", "third-party credential")):
        for item in left.get(kind) or ():
            lines.append(f"  {label} {item}: in the run's own PSA, gone with this run (the service did not "
                         "release it)")
    return lines
