"""The closing lines of ``psa run``: how the instance ended, what is left behind, and what to do.

Written for a person: the first line says how the instance ended and why the run failed. Then
one line for each thing left, in words, with the exact command that removes it when it outlives
the run (a container on the real engine); what lives in the run's own PSA (a node token, a
channel, a credential) is named as such: it ends with the run.
"""

from __future__ import annotations

import shlex
from typing import Any, Dict, List, Optional

from .run_report import RunReport

# The report's kinds of leftovers that live in the run's own PSA (RunReport.left_behind keys).
_PSA_KINDS = (("node_tokens", "node token"), ("channels", "synchronization channel"),
              ("credentials", "third-party credential"))


def summary_lines(report: RunReport, engine: str, docker_host: Optional[str], keep: bool) -> List[str]:
    """The closing lines: how the instance ended, then one line for each thing left, with how it goes."""
    failures = [w.reason or f"{w.workflow} failed" for w in report.workflows if not w.ok]
    if report.status == "ERROR":
        failures.append("the instance is in ERROR")
    if report.forced:
        failures.append(f"forced to stop ({report.stopped_by}, twice): its ending did not run")
    things = _left_lines(report.left_behind, engine, docker_host, keep)
    head = f"psa run: instance {report.instance.get('instance_id')} ended {report.status}"
    if not report.ok:
        head += "; FAILED: " + "; ".join(failures)
    head += "; left behind:" if things else "; nothing left behind"
    return [head] + things


def _left_lines(left: Dict[str, Any], engine: str, docker_host: Optional[str], keep: bool) -> List[str]:
    lines = []
    for name in left.get("containers") or ():
        if engine == "memory":
            lines.append(f"  container {name}: in the in-memory engine, gone with this run")
        else:
            host = ["--host", docker_host] if docker_host else []
            command = shlex.join(["docker", *host, "rm", "-f", name])
            lines.append(f"  container {name}" + (" (kept running: --keep)" if keep else "")
                         + f": remove it with: {command}")
    for kind, label in _PSA_KINDS:
        for item in left.get(kind) or ():
            lines.append(f"  {label} {item}: in the run's own PSA, gone with this run (the service did not "
                         "release it)")
    return lines
