"""What a ``psa run`` produces: each workflow and each script run, the instance at the end."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Set

from .. import names
from ..redact import redact


@dataclass
class ScriptRun:
    workflow: str
    task: str
    slot: str
    script: str
    ok: bool
    output: str
    iteration: int = 0
    error: Optional[str] = None
    seconds: float = 0.0


@dataclass
class WorkflowRun:
    workflow: str
    job_id: str
    transition: str
    ok: bool = True
    reason: Optional[str] = None


@dataclass
class RunReport:
    """What ``psa run --report`` writes: the instance as PSA holds it at the end, the status
    history, each workflow and each script run, the endpoint."""

    instance: Dict[str, Any] = field(default_factory=dict)
    status_history: List[str] = field(default_factory=list)
    workflows: List[WorkflowRun] = field(default_factory=list)
    scripts: List[ScriptRun] = field(default_factory=list)
    endpoint: Optional[str] = None
    log_lines: List[str] = field(default_factory=list)
    left_behind: Dict[str, Any] = field(default_factory=dict)
    stopped_by: Optional[str] = None  # the first stop request (a signal's name), if any
    forced: bool = False  # a second stop request ended the run without its ending
    # Values never written: PA:HIDDEN variables, credentials, the session (masked by ``to_json``).
    secrets: Set[str] = field(default_factory=set, repr=False)

    @property
    def ok(self) -> bool:
        """Every workflow ended as PSA would count a success, and the instance is not ERROR."""
        return (not self.forced and all(w.ok for w in self.workflows)
                and self.instance.get("instance_status") != names.ERROR)

    @property
    def status(self) -> Optional[str]:
        return self.instance.get("instance_status")

    def to_json(self) -> Dict[str, Any]:
        """The report as JSON data, every secret value masked wherever it appears."""
        return _masked(self._data(), sorted(self.secrets))

    def _data(self) -> Dict[str, Any]:
        return {"ok": self.ok, "instance": self.instance, "status_history": self.status_history,
                "endpoint": self.endpoint, "workflows": [asdict(w) for w in self.workflows],
                "scripts": [asdict(s) for s in self.scripts], "left_behind": self.left_behind,
                "stopped_by": self.stopped_by, "forced": self.forced}


def _masked(value: Any, secrets: List[str]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {key: _masked(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item, secrets) for item in value]
    return value


def write_report(path: Path, report: RunReport) -> None:
    """``report`` as JSON in ``path``, readable by its owner only (0600, even when it existed)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(report.to_json(), indent=2) + "\n")
