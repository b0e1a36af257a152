"""The last line of ``psa run``: how the instance ended, what is left behind, and what to do about it.

Written for a person: what is left is named in words (``node token PSA_web-1, channel
Service_Instance_1``), not as a Python dict; an instance still in a transition (``VOID -> RUNNING``)
after its deployment failed gets the reason (no lifecycle script ran to set the status) and the way
out; an instance in ERROR with something left gets the action that releases it.
"""

from __future__ import annotations

from typing import Any, List, Mapping

# The report's kinds of leftovers (RunReport.left_behind keys), as a person names one of them.
_KINDS = {"node_tokens": "node token", "channels": "channel", "credentials": "credential", "containers": "container"}


def left_behind(found: Mapping[str, Any]) -> str:
    """``node token PSA_web-1, channel Service_Instance_1``; empty when nothing is left."""
    return ", ".join(f"{_KINDS.get(kind, kind)} {item}" for kind, items in found.items() for item in items or ())


def summary(report: Any) -> str:
    """The run's last line, from a ``RunReport``."""
    left = left_behind(report.left_behind)
    failures: List[str] = [w.reason or f"{w.workflow} failed" for w in report.workflows if not w.ok]
    status = report.status
    hints: List[str] = []
    if status is not None and "->" in str(status) and failures:
        hints.append("the deployment failed before a lifecycle script could set the status (Clean_Start_Service, "
                     "the cleaning script of the deployment task, sets ERROR): PSA would show this transition "
                     "for ever; see the first failed task above")
    if status == "ERROR":
        failures.append("the instance is in ERROR")
        if left:
            hints.append("its finish action releases what is left: give it with --then <its Finish workflow>")
    line = f"psa run: instance {report.instance.get('instance_id')} ended {status}; "
    line += f"left behind: {left}" if left else "nothing left behind"
    if not report.ok:
        line += "; FAILED: " + "; ".join(failures)
    if hints:
        line += " (" + "; ".join(hints) + ")"
    return line
