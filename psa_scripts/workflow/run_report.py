"""What a ``psa run`` produces: each workflow and each script run, the instance at the end."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

from .. import names


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

    @property
    def ok(self) -> bool:
        """Every workflow ended as PSA would count a success, and the instance is not ERROR."""
        return all(w.ok for w in self.workflows) and self.instance.get("instance_status") != names.ERROR

    @property
    def status(self) -> Optional[str]:
        return self.instance.get("instance_status")

    def to_json(self) -> Dict[str, Any]:
        return {"ok": self.ok, "instance": self.instance, "status_history": self.status_history,
                "endpoint": self.endpoint, "workflows": [asdict(w) for w in self.workflows],
                "scripts": [asdict(s) for s in self.scripts], "left_behind": self.left_behind}

