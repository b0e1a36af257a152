"""ProActiveEmulator: a real HTTP server that plays Service Automation, scheduler, RM and Catalog.

Tests drive the real clients (real ``requests``, real sockets) against it, so what
is checked is what would go on the wire. It keeps the server-side state a test
wants to inspect (instances, registered services, credentials, node tokens),
records every request, and injects the faults real servers produce: an error
status, a dropped connection, a slow answer, a concurrent writer.

    with ProActiveEmulator() as emu:
        emu.add_instance({"instance_id": 1, "instance_status": "VOID"})
        client = PsaClient(emu.psa_url, emu.new_session())
        emu.fail("PUT", r"/serviceInstances/1$", 503, times=2)
        ...
        assert [r.method for r in emu.requests] == [...]

Routes come from ``psa_scripts.clients.routes`` (the one table of REST routes), so
the emulator serves what the clients call. To serve another route, add a line to
``ROUTES`` (a subclass may extend it) or call ``add_route`` in a test. Stdlib only.

Its HTTP/1.1 is strict where RFC 9112 asks a server to be, with bounds chosen before anything
is allocated (docs/emulator.md gives the facts and the numbers): a request framed two ways
(Content-Length and chunked), with an invalid or repeated Content-Length, or an unknown
transfer coding is refused and its connection closed; a body past ``max_body_bytes`` is
refused (413) before it is read (64 KiB without a session: a login's form is small); a request
neither a valid session nor an open route admits is refused (401) before its body is read, and
is never recorded (``refused`` keeps the last few refusals' method, path and status); a
connection idle ``idle_timeout`` seconds is closed; at most ``max_connections`` are served at
once, the next ones get a 503.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Pattern, Set, Tuple
from urllib.parse import parse_qsl, unquote, urlsplit

from ..clients import routes
from ..clients.framing import FramingError, combined, read_chunked, read_fields, request_body_length
from ..clients.catalog import BUCKET_NAME as CATALOG_BUCKET_NAME
from .package_loader import PackageLoader, PackageLoadError  # noqa: F401 (PackageLoadError: re-exported)
from ..model import CatalogWorkflow

PREFIXES = {
    routes.PSA: "/cloud-automation-service",
    routes.SCHEDULER: "/rest",
    routes.RM: "/rest",
    routes.CATALOG: "/catalog",
}

# Requests that need no session id.
OPEN_ROUTES = (routes.SCHEDULER_LOGIN, routes.RM_LOGIN)

Reply = Tuple[int, Any]  # (status, payload): dict/list -> JSON, str -> text, bytes, None -> empty

# The HTTP layer's bounds (docs/emulator.md). A request body: the largest Catalog upload is one
# package entry (``psa publish`` reads at most 16 MiB an entry) in a multipart body, so twice that.
MAX_BODY_BYTES = 32 * 1024 * 1024
IDLE_TIMEOUT_SECONDS = 30.0  # a kept-alive connection with no request for this long is closed
MAX_CONNECTIONS = 64  # served at once (a thread each); the next ones are answered 503
# A request no session admits (a login) carries a form of a few dozen bytes: its body is bounded
# far lower, so that unauthenticated clients cannot make the emulator read and record much.
OPEN_BODY_BYTES = 64 * 1024
REFUSED_KEPT = 100  # refusals remembered (method, path, status): a bounded log, never a body
# After refusing a request whose body was not read, how long the emulator keeps reading (and
# dropping) what the client still sends, so that it reads the answer instead of a reset.
LINGER_SECONDS = 2.0


@dataclass
class Recorded:
    """One request as the server received it (headers lower-cased, query single-valued)."""

    method: str
    path: str
    query: Dict[str, str]
    headers: Dict[str, str]
    body: bytes
    json: Any = None

    @property
    def form(self) -> Dict[str, str]:
        """The body read as an urlencoded form."""
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))


@dataclass(frozen=True)
class Refused:
    """A request answered without being read in full nor recorded: framing, size or session."""

    method: str
    path: str
    status: int


@dataclass
class _Fault:
    kind: str  # fail | drop | delay | after
    method: str
    pattern: Pattern[str]
    times: Optional[int]  # None: forever
    status: int = 0
    body: str = ""
    seconds: float = 0.0
    callback: Optional[Callable[..., Any]] = None

    def matches(self, method: str, path: str) -> bool:
        return (
            (self.times is None or self.times > 0)
            and self.method in (method, "*")
            and self.pattern.search(path) is not None
        )

    def consume(self) -> None:
        if self.times is not None:
            self.times -= 1


@dataclass
class _Entry:
    method: str
    pattern: Pattern[str]
    handler: Callable[..., Reply]
    open: bool = False


class ProActiveEmulator:
    """Service Automation + scheduler + RM + Catalog REST on 127.0.0.1, on a free port, in a thread."""

    # (route, handler method name): the dispatch table. One line per served route.
    ROUTES: List[Tuple[routes.Route, str]] = [
        (routes.PSA_LIST_INSTANCES, "_list_instances"),
        (routes.PSA_LIST_ACTIVE_INSTANCES, "_list_active_instances"),
        (routes.PSA_GET_INSTANCE, "_get_instance"),
        (routes.PSA_PUT_INSTANCE, "_put_instance"),
        (routes.PSA_LAUNCH_SERVICE, "_launch_service"),
        (routes.PSA_RUN_ACTION, "_run_action"),
        (routes.PSA_PUBLIC_ADDRESS, "_public_address"),
        (routes.PSA_SERVICE_WORKFLOWS, "_service_workflows"),
        (routes.PSA_CATALOG_WORKFLOW, "_catalog_workflow"),
        (routes.PSA_EXECUTABLE_ACTIONS, "_executable_actions"),
        (routes.SCHEDULER_LOGIN, "_login"),
        (routes.SCHEDULER_JOB_INFO, "_job_info"),
        (routes.SCHEDULER_REGISTER_SERVICE, "_register_service"),
        (routes.SCHEDULER_DETACH_SERVICE, "_detach_service"),
        (routes.SCHEDULER_PUT_CREDENTIAL, "_put_credential"),
        (routes.SCHEDULER_REMOVE_CREDENTIAL, "_remove_credential"),
        (routes.RM_LOGIN, "_login"),
        (routes.RM_ADD_NODE_TOKEN, "_add_node_token"),
        (routes.RM_REMOVE_NODE_TOKEN, "_remove_node_token"),
        (routes.CATALOG_LIST_BUCKETS, "_list_buckets"),
        (routes.CATALOG_CREATE_BUCKET, "_create_bucket"),
        (routes.CATALOG_UPDATE_BUCKET, "_update_bucket"),
        (routes.CATALOG_LIST_OBJECTS, "_list_objects"),
        (routes.CATALOG_GET_OBJECT, "_get_object"),
        (routes.CATALOG_GET_RAW, "_get_raw"),
        (routes.CATALOG_CREATE_OBJECT, "_create_object"),
        (routes.CATALOG_CREATE_REVISION, "_create_revision"),
        (routes.CATALOG_LIST_REVISIONS, "_list_revisions"),
    ]

    # What the server reports as its version: ProActive's package loader appends it to commit messages.
    SERVER_VERSION = "14.1.2"

    def __init__(self, port: int = 0, users: Optional[Dict[str, str]] = None, *,
                 max_body_bytes: int = MAX_BODY_BYTES, idle_timeout: float = IDLE_TIMEOUT_SECONDS,
                 max_connections: int = MAX_CONNECTIONS) -> None:
        self.port = port  # 0: a free port
        self.max_body_bytes = max_body_bytes
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.server_version = self.SERVER_VERSION
        self.lock = threading.RLock()
        self.instances: Dict[int, Dict[str, Any]] = {}
        # login -> password. None: admin/admin (tests, psa serve-catalog); {}: no password login at
        # all, only the sessions ``new_session`` makes (psa run: the run's platform is the run's own).
        self.users: Dict[str, str] = {"admin": "admin"} if users is None else dict(users)
        self.sessions: Dict[str, str] = {}  # session id -> user
        self.services: Set[Tuple[str, int, bool]] = set()
        self.credentials: Dict[str, str] = {}
        self.node_tokens: Dict[str, Set[str]] = {}
        self.job_status: Dict[str, str] = {}
        self.public_address: Optional[str] = None
        self.launches: List[Dict[str, Any]] = []
        # The services' workflows PSA knows (add_service_workflow): bucket, name, service_id,
        # variables (defaults) and states [(FROM, TO)...] from pca.states.
        self.service_workflows: List[Dict[str, Any]] = []
        self._next_job_id = 1000
        self.actions: List[Dict[str, Any]] = []
        self.requests: List[Recorded] = []
        self.refused: Deque[Refused] = deque(maxlen=REFUSED_KEPT)
        self.connections = 0  # TCP connections accepted: clients that keep theirs alive open one
        # Catalog: bucket -> {"owner": str, "objects": {name: [revision, ...] oldest first}}.
        self.buckets: Dict[str, Dict[str, Any]] = {}
        self._faults: List[_Fault] = []
        self._table: List[_Entry] = []
        for route, handler_name in self.ROUTES:
            self._table.append(_Entry(route.method, re.compile(_route_regex(route)),
                                      getattr(self, handler_name), route in OPEN_ROUTES))
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self.url = ""

    # --- life cycle -----------------------------------------------------------------------
    def start(self) -> "ProActiveEmulator":
        server = _Server(("127.0.0.1", self.port), _make_handler(self), self.max_connections)
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(target=server.serve_forever, name="proactive-emulator",
                                        kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> "ProActiveEmulator":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def psa_url(self) -> str:
        return self.url + PREFIXES[routes.PSA]

    @property
    def scheduler_url(self) -> str:
        return self.url + PREFIXES[routes.SCHEDULER]

    @property
    def rm_url(self) -> str:
        return self.url + PREFIXES[routes.RM]

    @property
    def catalog_url(self) -> str:
        return self.url + PREFIXES[routes.CATALOG]

    # --- state ------------------------------------------------------------------------------
    def add_instance(self, instance: Any) -> int:
        """Store an instance (a JSON dict or anything with ``to_json()``); returns its id."""
        data = instance.to_json() if hasattr(instance, "to_json") else copy.deepcopy(dict(instance))
        with self.lock:
            if data.get("instance_id") is None:
                data["instance_id"] = max(self.instances, default=0) + 1
            self.instances[int(data["instance_id"])] = data
            return int(data["instance_id"])

    def instance(self, instance_id: int) -> Dict[str, Any]:
        """A copy of the stored instance JSON."""
        with self.lock:
            return copy.deepcopy(self.instances[int(instance_id)])

    def add_service_workflow(self, bucket: str, name: str, service_id: str, *,
                             variables: Optional[Dict[str, str]] = None,
                             states: str = "(VOID,RUNNING)") -> None:
        """Make a service's workflow known to PSA (as a Catalog object with GI ``pca.service.id``
        and ``pca.states``): a deployment workflow when a state pair starts from VOID, an action
        otherwise."""
        pairs = [tuple(part.strip() for part in pair.split(","))
                 for pair in re.findall(r"\(([^()]*)\)", states)]
        with self.lock:
            self.service_workflows.append({"bucket": bucket, "name": name, "service_id": service_id,
                                           "variables": dict(variables or {}), "states": pairs})

    def add_user(self, login: str, password: str) -> None:
        with self.lock:
            self.users[login] = password

    def new_session(self, user: str = "admin") -> str:
        """A valid session id for ``user`` (what login would return)."""
        session_id = secrets.token_hex(16)
        with self.lock:
            self.sessions[session_id] = user
        return session_id

    def requests_to(self, method: str, path_regex: str) -> List[Recorded]:
        """The recorded requests with this method whose path matches ``path_regex``."""
        pattern = re.compile(path_regex)
        with self.lock:
            return [r for r in self.requests if r.method == method and pattern.search(r.path)]

    # --- fault injection -------------------------------------------------------------------
    def clear_faults(self) -> None:
        """Forget every fault not yet consumed (``times=None`` ones included)."""
        with self.lock:
            self._faults.clear()

    def fail(self, method: str, path_regex: str, status: int, times: Optional[int] = 1,
             body: str = "") -> None:
        """Answer the next ``times`` matching requests with ``status`` (None: forever)."""
        self._add_fault(_Fault("fail", method, re.compile(path_regex), times, status=status,
                               body=body or f"emulated failure (HTTP {status})"))

    def drop(self, method: str, path_regex: str, times: Optional[int] = 1) -> None:
        """Close the connection without an answer: the client sees a connection error."""
        self._add_fault(_Fault("drop", method, re.compile(path_regex), times))

    def delay(self, method: str, path_regex: str, seconds: float, times: Optional[int] = 1) -> None:
        """Wait ``seconds`` before answering (to exceed a client's read timeout)."""
        self._add_fault(_Fault("delay", method, re.compile(path_regex), times, seconds=seconds))

    def after(self, method: str, path_regex: str, callback: Callable[..., Any],
              times: Optional[int] = 1) -> None:
        """Call ``callback(emulator, recorded)`` once a matching request's answer is computed,
        before the client receives it: a concurrent writer acting between GET and PUT."""
        self._add_fault(_Fault("after", method, re.compile(path_regex), times, callback=callback))

    def _add_fault(self, fault: _Fault) -> None:
        with self.lock:
            self._faults.append(fault)

    def _take_fault(self, kinds: Tuple[str, ...], method: str, path: str) -> Optional[_Fault]:
        with self.lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.matches(method, path):
                    fault.consume()
                    return fault
        return None

    # --- dispatch ----------------------------------------------------------------------------
    def add_route(self, method: str, path_regex: str, handler: Callable[..., Reply],
                  open_route: bool = False) -> None:
        """Serve ``method`` on full paths matching ``path_regex`` with
        ``handler(recorded, **named_groups) -> (status, payload)``; served before the
        built-in routes, so a test can also override one of them."""
        self._table.insert(0, _Entry(method, re.compile(path_regex), handler, open_route))

    def _handle(self, recorded: Recorded) -> Optional[Tuple[int, bytes, Optional[str]]]:
        """The answer to one request -- status, body, content type -- or None to drop the connection."""
        with self.lock:
            self.requests.append(recorded)
        fault = self._take_fault(("fail", "drop", "delay"), recorded.method, recorded.path)
        if fault is not None and fault.kind == "drop":
            return None
        if fault is not None and fault.kind == "fail":
            return _encoded(fault.status, {"httpErrorCode": fault.status, "errorMessage": fault.body})
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        answer = self._dispatch(recorded)
        hook = self._take_fault(("after",), recorded.method, recorded.path)
        if hook is not None and hook.callback is not None:
            hook.callback(self, recorded)
        return answer

    def _dispatch(self, recorded: Recorded) -> Tuple[int, bytes, Optional[str]]:
        entry, found = self._route(recorded.method, recorded.path)
        if entry is None:
            return _encoded(*_no_route(found, recorded.method, recorded.path))
        if not entry.open and not self._has_session(recorded.headers):
            return _encoded(*_NOT_CONNECTED)
        with self.lock:
            # Encoded under the lock: a later change of the state must not leak into the answer.
            return _encoded(*entry.handler(recorded, **found.groupdict()))

    def _route(self, method: str, path: str) -> Tuple[Optional[_Entry], Any]:
        """The entry serving ``method path`` and its match; else (None, 405) when a route has
        this path but another method, (None, 404) when none has it."""
        allowed = False
        for entry in self._table:
            match = entry.pattern.match(path)
            if match is None:
                continue
            if entry.method == method:
                return entry, match
            allowed = True
        return None, 405 if allowed else 404

    def _has_session(self, headers: Mapping[str, str]) -> bool:
        with self.lock:
            return headers.get("sessionid") in self.sessions

    def _admission(self, method: str, path: str,
                   headers: Mapping[str, str]) -> Tuple[Optional[Tuple[int, bytes, Optional[str]]], int]:
        """Whether a request is admitted, decided from its request line and headers alone: (None,
        the body size it may have) -- ``max_body_bytes`` with a valid session, OPEN_BODY_BYTES
        on an open route (a login) without one -- or (the refusal: 401, or 404/405 when no route
        serves it, 0). A refused request's body is never read and it is not recorded."""
        if self._has_session(headers):
            return None, self.max_body_bytes
        entry, found = self._route(method, path)
        if entry is not None and entry.open:
            return None, min(OPEN_BODY_BYTES, self.max_body_bytes)
        return _encoded(*(_NOT_CONNECTED if entry is not None else _no_route(found, method, path))), 0

    def _note_refused(self, method: str, path: str, status: int) -> None:
        with self.lock:
            self.refused.append(Refused(method, path, status))

    # --- Service Automation -------------------------------------------------------------------
    def _list_instances(self, req: Recorded) -> Reply:
        return 200, [self.instances[key] for key in sorted(self.instances)]

    def _list_active_instances(self, req: Recorded) -> Reply:
        return 200, [
            self.instances[key] for key in sorted(self.instances)
            if self.instances[key].get("instance_status") not in ("FINISHED", "KILLED")
        ]

    def _get_instance(self, req: Recorded, instance_id: str) -> Reply:
        found = self.instances.get(_int(instance_id))
        return (200, found) if found is not None else _error(404, f"no service instance {instance_id}")

    def _put_instance(self, req: Recorded, instance_id: str) -> Reply:
        key = _int(instance_id)
        if key not in self.instances:
            return _error(404, f"no service instance {instance_id}")
        if not isinstance(req.json, dict):
            return _error(400, "the body must be a ServiceInstanceData JSON object")
        if req.json.get("instance_id") not in (None, key):
            return _error(400, f"instance_id {req.json.get('instance_id')} does not match the path")
        self.instances[key] = copy.deepcopy(req.json)
        return 200, self.instances[key]

    def _launch_service(self, req: Recorded) -> Reply:
        body = req.json if isinstance(req.json, dict) else {}
        if not body.get("bucket_name") or not body.get("workflow_name"):
            return _error(400, "bucket_name and workflow_name are required")
        self.launches.append(dict(copy.deepcopy(body), parent_job_id=req.query.get(routes.PARENT_JOB_ID_PARAM)))
        workflow = self._workflow(body["bucket_name"], body["workflow_name"])
        new_id = self.add_instance({
            "service_id": workflow["service_id"] if workflow else body["workflow_name"],
            "bucket_name": body["bucket_name"],
            "instance_status": "VOID", "variables": dict(body.get("variables") or {}),
            "deployments": [], "groups": [],
            "job_submissions": [self._submission(req, "VOID -> RUNNING")],
        })
        return 200, self.instances[new_id]

    def _run_action(self, req: Recorded, instance_id: str) -> Reply:
        key = _int(instance_id)
        if key not in self.instances:
            return _error(404, f"no service instance {instance_id}")
        body = req.json if isinstance(req.json, dict) else {}
        self.actions.append(dict(copy.deepcopy(body), instance_id=key,
                                 parent_job_id=req.query.get(routes.PARENT_JOB_ID_PARAM)))
        instance = self.instances[key]
        workflow = self._workflow(body.get("bucket_name"), body.get("workflow_name"))
        target = _target(workflow, instance.get("instance_status")) if workflow else None
        if target is not None:
            instance.setdefault("job_submissions", []).append(
                self._submission(req, f"{instance.get('instance_status')} -> {target}"))
        return 200, instance

    def _submission(self, req: Recorded, transition: str) -> Dict[str, Any]:
        """A job PSA submits for an action: RUNNING in the scheduler."""
        self._next_job_id += 1
        job_id = str(self._next_job_id)
        self.job_status[job_id] = "RUNNING"
        parent = req.query.get(routes.PARENT_JOB_ID_PARAM)
        return {"transition_state": transition, "parent_job_id": _int(parent) if parent else None,
                "job_id": _int(job_id), "submission_time": 1_764_000_000_000 + self._next_job_id}

    def _workflow(self, bucket: Any, name: Any) -> Optional[Dict[str, Any]]:
        for workflow in self.service_workflows:
            if workflow["bucket"] == bucket and workflow["name"] == name:
                return workflow
        return None

    def _service_workflows(self, req: Recorded, service_id: str) -> Reply:
        service_id = unquote(service_id)
        return 200, [_workflow_json(w) for w in self.service_workflows
                     if w["service_id"] == service_id and any(start == "VOID" for start, _ in w["states"])]

    def _catalog_workflow(self, req: Recorded, bucket: str, name: str) -> Reply:
        workflow = self._workflow(unquote(bucket), unquote(name))
        if workflow is None:
            return _error(404, f"no workflow {unquote(name)} in bucket {unquote(bucket)}")
        return 200, _workflow_json(workflow)

    def _executable_actions(self, req: Recorded) -> Reply:
        answer: Dict[str, Any] = {}
        for text in (req.query.get("instanceIds") or "").split(","):
            if not text.strip():
                continue
            instance = self.instances.get(_int(text.strip()))
            if instance is None:
                return _error(404, f"no service instance {text.strip()}")
            status = instance.get("instance_status")
            answer[text.strip()] = [
                _workflow_json(w) for w in self.service_workflows
                if w["service_id"] == instance.get("service_id") and _target(w, status) is not None
            ]
        return 200, answer

    def _public_address(self, req: Recorded) -> Reply:
        if self.public_address is None:
            return _error(404, "public address unknown")
        return 200, self.public_address

    # --- scheduler ---------------------------------------------------------------------------------
    def _login(self, req: Recorded) -> Reply:
        form = req.form
        user = form.get("username", "")
        if not user or self.users.get(user) != form.get("password"):
            return _error(401, "login failed: bad username or password")
        return 200, self.new_session(user)

    def _job_info(self, req: Recorded, job_id: str) -> Reply:
        status = self.job_status.get(job_id)
        if status is None:
            return _error(404, f"job {job_id} does not exist")
        return 200, {"jobId": {"id": _int(job_id), "readableName": f"job-{job_id}"},
                     "status": status}

    def _register_service(self, req: Recorded, job_id: str) -> Reply:
        instance_id = req.query.get("serviceInstanceid")
        if instance_id is None:
            return _error(400, "query parameter serviceInstanceid is required")
        enable = req.query.get("enableActions", "false").lower() == "true"
        self.services.add((job_id, _int(instance_id), enable))
        return 204, None

    def _detach_service(self, req: Recorded, job_id: str) -> Reply:
        instance_id = req.query.get("serviceid")
        if instance_id is None:
            return _error(400, "query parameter serviceid is required")
        self.services = {s for s in self.services if s[:2] != (job_id, _int(instance_id))}
        return 204, None

    def _put_credential(self, req: Recorded) -> Reply:
        form = req.form
        if not form.get("key"):
            return _error(400, "form field key is required")
        self.credentials[form["key"]] = form.get("value", "")
        return 204, None

    def _remove_credential(self, req: Recorded) -> Reply:
        self.credentials.pop(req.query.get("key", ""), None)
        return 204, None

    # --- resource manager ----------------------------------------------------------------------------
    def _add_node_token(self, req: Recorded) -> Reply:
        node_url, token = req.headers.get("nodeurl"), req.headers.get("token")
        if not node_url or not token:
            return _error(400, "headers nodeurl and token are required")
        self.node_tokens.setdefault(node_url, set()).add(token)
        return 204, None

    def _remove_node_token(self, req: Recorded) -> Reply:
        node_url, token = req.headers.get("nodeurl"), req.headers.get("token")
        if not node_url or not token:
            return _error(400, "headers nodeurl and token are required")
        self.node_tokens.get(node_url, set()).discard(token)
        return 204, None

    # --- Catalog -------------------------------------------------------------------------------------
    def install_package(self, path: Any, *, load_dependencies: bool = True, user: str = "admin") -> List[str]:
        """Install a package zip (or directory) as ProActive's package loader does, through this
        server's Catalog routes: what ``proactive-client --install-package`` runs (the server's
        start-up loader is the same code, without dependencies). Returns the loader's log lines;
        raises ``PackageLoadError`` with the loader's message when the server would fail too."""
        loader = PackageLoader(self.catalog_url, self.new_session(user), self.server_version)
        return loader.install(Path(path), load_dependencies)

    def add_catalog_object(self, bucket: str, name: str, content: bytes, *, kind: str = "Script/task",
                           commit_message: str = "edited", content_type: str = "text/x-python",
                           username: str = "admin", project_name: str = "", tags: str = "") -> Dict[str, Any]:
        """Add a revision of ``name`` (creating bucket and object as needed): a user's edit."""
        with self.lock:
            entry = self.buckets.setdefault(bucket, {"owner": "GROUP:public-objects", "objects": {}})
            revisions = entry["objects"].setdefault(name, [])
            revision = {
                "name": name, "kind": kind, "bucket_name": bucket, "project_name": project_name,
                "tags": [tag for tag in tags.split(",") if tag],
                "content_type": content_type, "commit_message": commit_message,
                "username": username, "commit_time_raw": str(len(self.requests) + 1),
                "content": bytes(content),
            }
            revisions.append(revision)
            return _catalog_metadata(revision)

    def catalog_revisions(self, bucket: str, name: str) -> List[Dict[str, Any]]:
        """Every revision of an object, oldest first, metadata plus ``content`` (bytes)."""
        with self.lock:
            return copy.deepcopy(self.buckets[bucket]["objects"][name])

    def _catalog_objects(self, bucket: str) -> Optional[Dict[str, List[Dict[str, Any]]]]:
        entry = self.buckets.get(unquote(bucket))
        return None if entry is None else entry["objects"]

    def _list_buckets(self, req: Recorded) -> Reply:
        return 200, [{"name": name, "owner": entry["owner"], "objectCount": len(entry["objects"])}
                     for name, entry in sorted(self.buckets.items())]

    def _create_bucket(self, req: Recorded) -> Reply:
        name = req.query.get("name", "")
        if not CATALOG_BUCKET_NAME.match(name):
            return _error(400, f"bucket name {name!r} must match {CATALOG_BUCKET_NAME.pattern}")
        if name in self.buckets:
            return _error(409, f"bucket {name} already exists")
        owner = req.query.get("owner") or "GROUP:public-objects"
        self.buckets[name] = {"owner": owner, "objects": {}}
        return 201, {"name": name, "owner": owner, "objectCount": 0}

    def _update_bucket(self, req: Recorded, bucket: str) -> Reply:
        entry = self.buckets.get(unquote(bucket))
        if entry is None:
            return _error(404, f"bucket {unquote(bucket)} not found")
        if req.query.get("owner"):
            entry["owner"] = req.query["owner"]
        return 200, {"name": unquote(bucket), "owner": entry["owner"], "objectCount": len(entry["objects"])}

    def _list_objects(self, req: Recorded, bucket: str) -> Reply:
        objects = self._catalog_objects(bucket)
        if objects is None:
            return _error(404, f"bucket {unquote(bucket)} not found")
        kind = req.query.get("kind")
        latest = [revisions[-1] for _, revisions in sorted(objects.items())]
        return 200, [_catalog_metadata(r) for r in latest if not kind or r["kind"].startswith(kind)]

    def _latest(self, bucket: str, name: str) -> Any:
        objects = self._catalog_objects(bucket)
        if objects is None or unquote(name) not in objects:
            return _error(404, f"object {unquote(name)} not found in bucket {unquote(bucket)}")
        return objects[unquote(name)][-1]

    def _get_object(self, req: Recorded, bucket: str, name: str) -> Reply:
        latest = self._latest(bucket, name)
        return latest if isinstance(latest, tuple) else (200, _catalog_metadata(latest))

    def _get_raw(self, req: Recorded, bucket: str, name: str) -> Reply:
        latest = self._latest(bucket, name)
        return latest if isinstance(latest, tuple) else (200, latest["content"])

    def _list_revisions(self, req: Recorded, bucket: str, name: str) -> Reply:
        latest = self._latest(bucket, name)
        if isinstance(latest, tuple):
            return latest
        revisions = self._catalog_objects(bucket)[unquote(name)]  # type: ignore[index]
        return 200, [_catalog_metadata(r) for r in reversed(revisions)]

    def _create_object(self, req: Recorded, bucket: str) -> Reply:
        objects = self._catalog_objects(bucket)
        if objects is None:
            return _error(404, f"bucket {unquote(bucket)} not found")
        fields = _catalog_fields(req)
        missing = [k for k in ("name", "kind", "commitMessage", "objectContentType", "file") if not fields.get(k)]
        if missing:
            return _error(400, f"missing parameters: {', '.join(missing)}")
        name = fields["name"].decode()
        if name in objects:
            return _error(409, f"object {name} already exists in bucket {unquote(bucket)}")
        return 201, self._add_revision(req, unquote(bucket), name, fields, fields["kind"].decode())

    def _create_revision(self, req: Recorded, bucket: str, name: str) -> Reply:
        latest = self._latest(bucket, name)
        if isinstance(latest, tuple):
            return latest
        fields = _catalog_fields(req)
        missing = [k for k in ("commitMessage", "file") if not fields.get(k)]
        if missing:
            return _error(400, f"missing parameters: {', '.join(missing)}")
        return 201, self._add_revision(req, unquote(bucket), unquote(name), fields, latest["kind"])

    def _add_revision(self, req: Recorded, bucket: str, name: str, fields: Dict[str, bytes],
                      kind: str) -> Dict[str, Any]:
        content_type = fields.get("objectContentType", b"").decode()
        if not content_type:
            content_type = self.buckets[bucket]["objects"][name][-1]["content_type"]
        previous = self.buckets[bucket]["objects"].get(name, [{}])[-1]
        project = fields["projectName"].decode() if "projectName" in fields else previous.get("project_name", "")
        tags = fields["tags"].decode() if "tags" in fields else ",".join(previous.get("tags", []))
        return self.add_catalog_object(
            bucket, name, fields["file"], kind=kind, commit_message=fields["commitMessage"].decode(),
            content_type=content_type, username=self.sessions.get(req.headers.get("sessionid", ""), ""),
            project_name=project, tags=tags,
        )


class _Server(ThreadingHTTPServer):
    """A thread per connection, at most ``max_connections`` at once: a connection past the
    bound is answered 503 (with Retry-After) and closed without being read."""

    daemon_threads = True
    request_queue_size = 128  # a burst of parallel clients must not wait for SYN retries

    def __init__(self, address: Tuple[str, int], handler: type, max_connections: int) -> None:
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(max_connections)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            try:
                request.sendall(_BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()  # no thread started: nobody else gives the slot back
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up (their read timeout) are normal here


_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain; charset=utf-8\r\n"
         b"Content-Length: 34\r\nConnection: close\r\n\r\ntoo many connections: retry later\n")


def _workflow_json(workflow: Dict[str, Any]) -> Dict[str, Any]:
    """A service workflow as PSA's CloudAutomationWorkflow JSON (field names unverified)."""
    return CatalogWorkflow(workflow["bucket"], workflow["name"], workflow["service_id"],
                           dict(workflow["variables"])).to_json()


def _target(workflow: Dict[str, Any], status: Any) -> Optional[str]:
    """The status an action leads to from ``status`` (None: it cannot run from there)."""
    for start, end in workflow["states"]:
        if start != "VOID" and start in (status, "ALL"):
            return end
    return None


def _catalog_metadata(revision: Dict[str, Any]) -> Dict[str, Any]:
    return {key: copy.deepcopy(value) for key, value in revision.items() if key != "content"}


def _catalog_fields(req: Recorded) -> Dict[str, bytes]:
    """Query parameters and multipart/form-data parts, as bytes (parts win)."""
    fields = {key: value.encode() for key, value in req.query.items()}
    fields.update(_multipart(req.headers.get("content-type", ""), req.body))
    return fields


def _multipart(content_type: str, body: bytes) -> Dict[str, bytes]:
    """The parts of a multipart/form-data body by name, each body byte-exact."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.startswith("multipart/form-data") or match is None:
        return {}
    parts: Dict[str, bytes] = {}
    for chunk in body.split(b"--" + match.group(1).encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]*)"', head)
        if name is not None:
            parts[name.group(1).decode()] = data[:-2] if data.endswith(b"\r\n") else data
    return parts


def _route_regex(route: routes.Route) -> str:
    return "^" + re.escape(PREFIXES[route.service]) + route.pattern().pattern[1:]


def _int(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return text


def _encoded(status: int, payload: Any) -> Tuple[int, bytes, Optional[str]]:
    """A handler's reply as it goes on the wire: dict/list as JSON, str as text, bytes, None: empty."""
    if payload is None:
        return status, b"", None
    if isinstance(payload, bytes):
        return status, payload, "application/octet-stream"
    if isinstance(payload, str):
        return status, payload.encode(), "text/plain; charset=utf-8"
    return status, json.dumps(payload).encode(), "application/json"


def _error(status: int, message: str) -> Reply:
    # The shape of ProActive's REST errors.
    return status, {"httpErrorCode": status, "errorMessage": message}


# Reason phrases as RFC 9110 names them, where Python's (which vary with its version) differ.
_REASONS = {413: "Content Too Large"}
_NOT_CONNECTED = _error(401, "you are not connected: missing or invalid session id")


def _no_route(status: int, method: str, path: str) -> Reply:
    if status == 405:
        return _error(405, f"method {method} not allowed on {path}")
    return _error(404, f"no route for {path}")


class _Headers(Dict[str, str]):
    """A request's headers by lower-case name (a repeated field's values combined, RFC 9110
    5.3); ``get`` takes a name in any case."""

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(name.lower(), default)


def _make_handler(emulator: ProActiveEmulator) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # no 40 ms stalls between a client's writes
        wbufsize = -1  # buffered: the status line, headers and body leave in one send at the request's end
        timeout = emulator.idle_timeout  # every read and write: a connection idle this long is closed

        def parse_request(self) -> bool:
            """An HTTP/1.1 request's header block, read by the bounded reader the transport also
            uses (without the ``email`` package's parser: about half the server's time per
            request); any other version goes the standard way, its fields then combined alike."""
            line = self.raw_requestline.decode("latin-1").rstrip("\r\n")
            words = line.split(" ")
            if len(words) != 3 or words[2] != "HTTP/1.1":
                if not super().parse_request():
                    return False
                self.headers = _Headers(combined([(n.lower(), v) for n, v in self.headers.items()]))  # type: ignore[assignment]
                return True
            self.command, self.path, self.request_version = words
            self.requestline = line
            try:
                fields = read_fields(self.rfile)
            except FramingError as error:
                self._refuse(urlsplit(self.path).path, _encoded(*_error(error.status, str(error))))
                return False
            self.headers = _Headers(combined(fields))  # type: ignore[assignment]
            self.close_connection = self.headers.get("connection", "").lower() == "close"
            return True

        def handle_expect_100(self) -> bool:
            return True  # answered in _serve, once the request is admitted (else its final status)

        def setup(self) -> None:
            super().setup()
            with emulator.lock:
                emulator.connections += 1

        def _serve(self) -> None:
            """Framing and size, then admission (session or open route), then the body, then the
            record and the answer: a request refused on the way is neither read nor recorded."""
            parts = urlsplit(self.path)
            try:
                length = request_body_length(self.headers, emulator.max_body_bytes)
            except FramingError as error:  # RFC 9112 6.3: answer, then close
                self._refuse(parts.path, _encoded(*_error(error.status, str(error))))
                return
            refusal, limit = emulator._admission(self.command, parts.path, self.headers)
            if refusal is not None:
                self._refuse(parts.path, refusal, keep_alive=length == 0)
                return
            if length is not None and length > limit:  # an open route's lower bound
                self._refuse(parts.path, _encoded(*_error(413, f"a body of {length} bytes, more than the {limit} "
                                                               "bytes allowed without a session")))
                return
            if (self.headers.get("expect") or "").lower() == "100-continue":
                self.send_response_only(100)
                self.end_headers()
                self.wfile.flush()
            try:
                body = read_chunked(self.rfile, limit) if length is None else self.rfile.read(length)
            except FramingError as error:
                self._refuse(parts.path, _encoded(*_error(error.status, f"bad chunked body: {error}")))
                return
            if length is not None and len(body) != length:
                self.close_connection = True  # the client hung up inside its body
                return
            parsed = None
            if body and "json" in (self.headers.get("Content-Type") or ""):
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = None
            recorded = Recorded(
                method=self.command,
                path=parts.path,
                query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                headers=dict(self.headers),
                body=body,
                json=parsed,
            )
            answer = emulator._handle(recorded)
            if answer is None:
                self.close_connection = True
                return
            self._answer(*answer)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def _answer(self, status: int, data: bytes, content_type: Optional[str], close: bool = False) -> None:
            try:
                self.send_response(status, _REASONS.get(status))
                if content_type:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                if close:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                self.close_connection = True  # the client gave up (its read timeout)

        def _refuse(self, path: str, answer: Tuple[int, bytes, Optional[str]], keep_alive: bool = False) -> None:
            """Answer a request that is not read further, noting it in ``refused``; unless nothing
            of it is left to read, close the connection (RFC 9112 6.3) after lingering."""
            emulator._note_refused(self.command, path, answer[0])
            self._answer(*answer, close=not keep_alive)
            if not keep_alive:
                self._linger()

        def _linger(self) -> None:
            """Close our side, then read and drop what the client still sends (a body we refused),
            at most LINGER_SECONDS and ``max_body_bytes``: a client still writing its body then
            reads our answer rather than a connection reset. Nothing is kept."""
            self.close_connection = True
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_WR)
                deadline = time.monotonic() + LINGER_SECONDS
                scrap = bytearray(64 * 1024)
                dropped = 0
                while dropped <= emulator.max_body_bytes:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self.connection.settimeout(left)
                    received = self.connection.recv_into(scrap)
                    if not received:
                        break
                    dropped += received
            except OSError:
                pass

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler
