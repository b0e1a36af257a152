"""The scheduler REST client, standing in for the ``schedulerapi`` binding off-node.

Methods a lifecycle script calls on the binding keep their Java names
(``registerService``, ``isJobFinished``...), so the same script code runs with the
binding on a node and with this client from a laptop or a test.
"""

from __future__ import annotations

from typing import Any

from . import routes
from .http import LoginClient

# JobStatus values of a job that will not run again (the others, PENDING, RUNNING,
# STALLED, PAUSED and IN_ERROR, are alive).
FINISHED_STATUSES = frozenset({"FINISHED", "CANCELED", "FAILED", "KILLED"})


def java_bool(value: Any) -> str:
    """``true``/``false`` as Java reads them, from a bool or a 'True'/'false' string."""
    if isinstance(value, str):
        return "true" if value.strip().lower() == "true" else "false"
    return "true" if value else "false"


def job_status(info: Any) -> str:
    """The JobStatus name in a job-info document ('In-Error' and 'IN_ERROR' both give IN_ERROR)."""
    status = info.get("status") if isinstance(info, dict) else None
    if status is None and isinstance(info, dict) and isinstance(info.get("jobInfo"), dict):
        status = info["jobInfo"].get("status")
    return str(status or "").strip().upper().replace("-", "_")


class SchedulerClient(LoginClient):
    """The scheduler REST API (base ``PA_SCHEDULER_REST_URL``, ending in ``/rest``)."""

    services = (routes.SCHEDULER,)

    login_route = routes.SCHEDULER_LOGIN

    def registerService(self, jobId: str, instanceId: int,  # noqa: N802,N803
                        enableActions: Any) -> None:
        """Attach service instance ``instanceId`` to job ``jobId`` (actions on the job)."""
        self.request(
            routes.SCHEDULER_REGISTER_SERVICE, job_id=jobId,
            params={"serviceInstanceid": int(instanceId), "enableActions": java_bool(enableActions)},
        )

    def detachService(self, jobId: str, instanceId: int) -> None:  # noqa: N802,N803
        self.request(
            routes.SCHEDULER_DETACH_SERVICE, job_id=jobId, params={"serviceid": int(instanceId)}
        )

    def isJobFinished(self, jobId: str) -> bool:  # noqa: N802,N803
        """True once the job's status is no longer alive (finished, canceled, failed, killed)."""
        info = self.request_json(routes.SCHEDULER_JOB_INFO, job_id=jobId)
        return job_status(info) in FINISHED_STATUSES

    def putThirdPartyCredential(self, key: str, value: str) -> None:  # noqa: N802
        self.request(routes.SCHEDULER_PUT_CREDENTIAL, data={"key": key, "value": value}, secrets=(value,))

    def removeThirdPartyCredential(self, key: str) -> None:  # noqa: N802
        self.request(routes.SCHEDULER_REMOVE_CREDENTIAL, params={"key": key})
