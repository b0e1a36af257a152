"""Every REST route psa-scripts calls, in one table.

A route is a method, a path template relative to one service's base URL and the
name of that base. A route nobody could check against the server's sources is
marked ``verified=False`` with the reason next to it: when a server disagrees,
correct it here and every client (and the test emulator) follows.

Bases:
  ``psa``       PA_CLOUD_AUTOMATION_REST_URL  (.../cloud-automation-service)
  ``scheduler`` PA_SCHEDULER_REST_URL         (.../rest)
  ``rm``        the same ``/rest`` base as the scheduler (sessions are shared)
  ``catalog``   PA_CATALOG_REST_URL           (.../catalog)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

PSA = "psa"
SCHEDULER = "scheduler"
RM = "rm"
CATALOG = "catalog"

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    """One REST operation: ``method`` on ``path`` (``{name}`` placeholders) under ``service``."""

    method: str
    path: str
    service: str
    verified: bool = True
    # Safe to send twice? Decides whether a request whose answer was lost is retried.
    idempotent: bool = True

    def expand(self, **params: object) -> str:
        """The path with each placeholder replaced by its URL-quoted value."""
        def value(match: "re.Match[str]") -> str:
            name = match.group(1)
            if name not in params:
                raise KeyError(f"route {self.method} {self.path} needs path parameter {name!r}")
            return quote(str(params[name]), safe="")

        return _PLACEHOLDER.sub(value, self.path)

    def pattern(self) -> "re.Pattern[str]":
        """A regex matching this route's paths, one named group per placeholder."""
        parts = _PLACEHOLDER.split(self.path)
        regex = "".join(
            f"(?P<{part}>[^/]+)" if index % 2 else re.escape(part)
            for index, part in enumerate(parts)
        )
        return re.compile(f"^{regex}$")


# --- Service Automation (header sessionid) ---------------------------------------------------
PSA_LIST_INSTANCES = Route("GET", "/serviceInstances", PSA)
PSA_LIST_ACTIVE_INSTANCES = Route("GET", "/serviceInstances/active", PSA)
PSA_GET_INSTANCE = Route("GET", "/serviceInstances/{instance_id}", PSA)
# Unverified: the generated Java client calls it updateServiceInstance; the path is inferred.
PSA_PUT_INSTANCE = Route("PUT", "/serviceInstances/{instance_id}", PSA, verified=False)
# Body {"bucket_name", "workflow_name", "variables"} for both; both answer the instance (200).
# Verified: ow2-proactive/proactive-python-client (ProactiveGateway.startService / finishService).
PSA_LAUNCH_SERVICE = Route("POST", "/serviceInstances", PSA, idempotent=False)
# A PUT, but not idempotent: it submits the action's workflow (a replay would run it twice).
PSA_RUN_ACTION = Route("PUT", "/serviceInstances/{instance_id}/action", PSA, idempotent=False)
# Unverified: the query parameter naming the job that launches a service or an action (the
# generated Java client's createRunningServiceInstance / launchServiceInstanceAction take a
# parent job id; its name on the wire is not in any public source). A server that does not
# know it ignores it.
PARENT_JOB_ID_PARAM = "parentJobId"

# --- Service Automation's view of the Catalog: the workflows of each service -----------------
# Answers CloudAutomationWorkflow JSON: {"name", "bucket", "variables": [{"name", "value"}...],
# "generic_information": {"pca.service.id"...}}. The operations are those the Groovy bucket calls
# on the generated Java client's CatalogRestApi (ow2-proactive/proactive-examples, PcaScripts:
# getWorkflowsByServiceId, getWorkflowByCatalogObject, listExecutableActionsByInstanceId); their
# paths and the JSON field names are not public: all three are unverified.
PSA_SERVICE_WORKFLOWS = Route("GET", "/catalog/services/{service_id}/workflows", PSA, verified=False)
PSA_CATALOG_WORKFLOW = Route("GET", "/catalog/buckets/{bucket}/workflows/{name}", PSA, verified=False)
# Query instanceIds (comma-separated); answers {"<instance id>": [CloudAutomationWorkflow...]}: the
# actions whose pca.states start from the instance's current status.
PSA_EXECUTABLE_ACTIONS = Route("GET", "/catalog/executable_actions", PSA, verified=False)
# Unverified: IpUtilsRestApi.getMyRemotePublicAddr of the generated Java client; its path is
# not in any public source we found (the server is closed). A wrong path answers 404, which
# PsaClient.public_address treats as "PSA cannot tell" (the caller then uses PA_NODE_HOST).
PSA_PUBLIC_ADDRESS = Route("GET", "/ipUtils/myRemotePublicAddr", PSA, verified=False)

# --- Scheduler (base .../rest, header sessionid) ---------------------------------------------
# Form fields username, password; answers the session id as text.
SCHEDULER_LOGIN = Route("POST", "/scheduler/login", SCHEDULER)
# Job info JSON: {"jobId": {...}, "status": "RUNNING", ...}
SCHEDULER_JOB_INFO = Route("GET", "/scheduler/jobs/{job_id}/info", SCHEDULER)
# Query serviceInstanceid, enableActions. Older releases took ?serviceid= only.
SCHEDULER_REGISTER_SERVICE = Route("POST", "/scheduler/jobs/{job_id}/services", SCHEDULER)
# Query serviceid.
SCHEDULER_DETACH_SERVICE = Route("DELETE", "/scheduler/jobs/{job_id}/services", SCHEDULER)
# Form key, value / query key. Older releases used /scheduler/credentials/{key}.
SCHEDULER_PUT_CREDENTIAL = Route("POST", "/scheduler/credentials/", SCHEDULER)
SCHEDULER_REMOVE_CREDENTIAL = Route("DELETE", "/scheduler/credentials/", SCHEDULER)

# --- Resource manager (base .../rest, headers sessionid, nodeurl, token) ----------------------
RM_LOGIN = Route("POST", "/rm/login", RM)
RM_ADD_NODE_TOKEN = Route("POST", "/rm/node/token", RM)
RM_REMOVE_NODE_TOKEN = Route("DELETE", "/rm/node/token", RM)

# --- Catalog (base PA_CATALOG_REST_URL, .../catalog; header sessionid for writes) -----------
# Bucket list: [{"name", "owner", "objectCount"}]. Create: query name, owner (GROUP:<group>).
CATALOG_LIST_BUCKETS = Route("GET", "/buckets", CATALOG)
CATALOG_CREATE_BUCKET = Route("POST", "/buckets", CATALOG, idempotent=False)
# Query owner (GROUP:<group>): what ProActive's package loader sends for a package whose
# userGroup is not public-objects when the bucket exists (docs/catalog-packages.md).
CATALOG_UPDATE_BUCKET = Route("PUT", "/buckets/{bucket}", CATALOG)
# Object metadata: name, kind, bucket_name, content_type, commit_message, username, commit_time...
CATALOG_LIST_OBJECTS = Route("GET", "/buckets/{bucket}/resources", CATALOG)
CATALOG_GET_OBJECT = Route("GET", "/buckets/{bucket}/resources/{name}", CATALOG)
CATALOG_GET_RAW = Route("GET", "/buckets/{bucket}/resources/{name}/raw", CATALOG)
# Multipart part "file"; query name, kind, commitMessage, objectContentType, projectName, tags.
CATALOG_CREATE_OBJECT = Route("POST", "/buckets/{bucket}/resources", CATALOG, idempotent=False)
# Multipart part "file"; query commitMessage, projectName, tags.
CATALOG_CREATE_REVISION = Route("POST", "/buckets/{bucket}/resources/{name}/revisions", CATALOG,
                                idempotent=False)
CATALOG_LIST_REVISIONS = Route("GET", "/buckets/{bucket}/resources/{name}/revisions", CATALOG)

ALL_ROUTES: "tuple[Route, ...]" = tuple(
    value for value in list(globals().values()) if isinstance(value, Route)
)
