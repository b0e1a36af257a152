"""The scheduler REST client, standing in for the ``schedulerapi`` binding off-node.

Methods a lifecycle script calls on the binding keep their Java names
(``registerService``, ``isJobFinished``...), so the same script code runs with the
binding on a node and with this client from a laptop or a test.
"""

from __future__ import annotations

from typing import Any, Optional

from ..errors import InputError
from . import routes
from .http import HttpSettings, RestClient

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


class SchedulerClient(RestClient):
    """The scheduler REST API (base ``PA_SCHEDULER_REST_URL``, ending in ``/rest``)."""

    services = (routes.SCHEDULER,)

    def __init__(self, base_url: str, session_id: Optional[str] = None,
                 settings: Optional[HttpSettings] = None, *,
                 username: Optional[str] = None, password: Optional[str] = None) -> None:
        super().__init__(base_url, session_id, settings)
        self._credentials = (username, password) if username else None

    def login(self, username: str, password: str) -> str:
        """Log in (form ``username``, ``password``); keep and return the session id."""
        self.session_id = None
        response = self.request(
            routes.SCHEDULER_LOGIN, data={"username": username, "password": password}
        )
        self.session_id = response.text.strip().strip('"')
        return self.session_id

    # --- the schedulerapi binding's methods, by their Java names ------------------------
    def connect(self) -> None:
        """Make sure there is a session: keep the one given, else log in."""
        if self.session_id:
            return
        if self._credentials is None:
            raise InputError(
                "SchedulerClient has neither a session id nor a username and password"
            )
        self.login(*self._credentials)  # type: ignore[arg-type]

    def getSession(self) -> Optional[str]:  # noqa: N802 - Java name
        return self.session_id

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
        self.request(routes.SCHEDULER_PUT_CREDENTIAL, data={"key": key, "value": value})

    def removeThirdPartyCredential(self, key: str) -> None:  # noqa: N802
        self.request(routes.SCHEDULER_REMOVE_CREDENTIAL, params={"key": key})
