"""The runner's side of ``psa run``'s gateway: the local node's Java objects, served to the scripts.

A node's ``cpython`` engine hands each script py4j proxies of objects living in the JVM;
``psa run`` plays the JVM here. The server listens on a Unix socket in the run's private
directory (mode 0600), one JSON object a line (the protocol is in ``gateway``, the script's
side), and answers only a request carrying the token of a script run still going on: a
script reaches its own variables and nothing else. Only the Java methods listed in
``_ALLOWED`` are called.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socketserver
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional

from ..local.apis import JavaMap
from .run_error import RunError

SOCKET_NAME = "gateway.sock"
MAX_SOCKET_PATH = 107  # bytes of an AF_UNIX path on Linux (sun_path is 108, with its NUL)
SHORT_TEMP = "/tmp"  # where the socket goes when TMPDIR makes its path too long

_ALLOWED = {
    "variables": {"get", "put", "containsKey", "keySet", "size", "remove", "isEmpty", "putAll"},
    "schedulerapi": {"connect", "getSession", "registerService", "detachService", "isJobFinished",
                     "putThirdPartyCredential", "removeThirdPartyCredential", "disconnect", "isConnected"},
    "rmapi": {"connect", "addNodeToken", "removeNodeToken", "disconnect"},
    "synchronizationapi": {"createChannelIfAbsent", "channelExists", "deleteChannel", "put", "get",
                           "containsKey", "remove", "keySet"},
    "engine": {"is_running", "read_logs", "inspect", "deploy", "stop", "start", "remove"},
    "script": {"bindings", "writeback"},
}


class ClassCastException(TypeError):
    """What the JVM raises when a script puts a key that is not a String into ``variables``."""


class LiveMap(JavaMap):
    """``variables`` as the JVM holds it: the Java methods over a dict (a missing key gives None).
    Keys are strings (a ``Map<String, Serializable>``): another key is refused to the script that
    gives it, never stored where the scheduler's code would trip on it."""

    def put(self, key: Any, value: Any) -> Any:
        _check_key(key)
        return JavaMap.put(self, key, value)

    def __setitem__(self, key: Any, value: Any) -> None:
        _check_key(key)
        dict.__setitem__(self, key, value)

    def size(self) -> int:
        return len(self)

    def remove(self, key: str) -> Any:
        return self.pop(key, None)

    def isEmpty(self) -> bool:
        return not self

    def putAll(self, values: Mapping[str, Any]) -> None:
        for key in values:
            _check_key(key)
        self.update(values)


def _check_key(key: Any) -> None:
    if not isinstance(key, str):
        raise ClassCastException(f"variables keys are strings: {type(key).__name__} {key!r} cannot be a key")


class EngineService:
    """The container engine's interface in JSON terms (spec and outcomes as plain data)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def is_running(self, name: str) -> bool:
        return self.engine.is_running(name)

    def read_logs(self, name: str, cursor: Optional[str], max_lines: int, max_bytes: int) -> Dict[str, Any]:
        batch = self.engine.read_logs(name, cursor, max_lines=max_lines, max_bytes=max_bytes)
        return {"lines": list(batch.lines), "cursor": batch.cursor, "skipped": batch.skipped}

    def inspect(self, name: str) -> Optional[Dict[str, Any]]:
        return self.engine.inspect(name)

    def deploy(self, spec: Dict[str, Any]) -> Dict[str, Any]:
        from ..containers.spec import DeploySpec

        spec = dict(spec, volumes=tuple(spec.get("volumes") or ()),
                    command=tuple(spec["command"]) if spec.get("command") else None)
        return asdict(self.engine.deploy(DeploySpec(**spec)))

    # ``owner``: the labels of the service instance that may act on the container (None: any).
    def stop(self, name: str, timeout: int = 10, owner: Optional[Dict[str, str]] = None) -> str:
        return self.engine.stop(name, timeout, owner=owner).name

    def start(self, name: str, owner: Optional[Dict[str, str]] = None) -> str:
        return self.engine.start(name, owner=owner).name

    def remove(self, name: str, owner: Optional[Dict[str, str]] = None) -> str:
        return self.engine.remove(name, owner=owner).name


@dataclass
class Session:
    """One script run as the gateway sees it: its bindings and what it writes back."""

    values: Dict[str, Any]
    variables: LiveMap
    objects: Dict[str, Any]
    writeback: Dict[str, Any] = field(default_factory=dict)

    def bindings(self) -> Dict[str, Any]:
        return {"values": self.values, "maps": ["variables"],
                "objects": [name for name in self.objects if name != "engine"],
                "engine": "engine" in self.objects}


class GatewayServer:
    """Serves the Java side to the scripts: a Unix socket in a private directory, one token a
    script run (a script can reach only its own variables)."""

    def __init__(self, directory: str, on_note: Callable[[str], None] = lambda text: None) -> None:
        self.own_directory: Optional[str] = None  # a shorter private directory, when ``directory`` is too long
        self.address = os.path.join(directory, SOCKET_NAME)
        if len(os.fsencode(self.address)) > MAX_SOCKET_PATH:
            self.own_directory = _short_directory(self.address)
            self.address = os.path.join(self.own_directory, SOCKET_NAME)
        self.on_note = on_note
        self.sessions: Dict[str, Session] = {}
        self.lock = threading.Lock()
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                try:
                    for line in self.rfile:
                        answer = server.answer(line)
                        self.wfile.write((json.dumps(answer, default=_jsonable) + "\n").encode("utf-8"))
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):  # the script ended mid-request (killed...)
                    server.on_note("psa run: note: a script hung up on the gateway before its answer")

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self.server = Server(self.address, Handler)
        os.chmod(self.address, 0o600)
        self.thread = threading.Thread(target=self.server.serve_forever, name="psa-run-gateway", daemon=True)
        self.thread.start()

    def open(self, session: Session) -> str:
        token = secrets.token_hex(16)
        with self.lock:
            self.sessions[token] = session
        return token

    def close_session(self, token: str) -> None:
        with self.lock:
            self.sessions.pop(token, None)

    def answer(self, line: bytes) -> Dict[str, Any]:
        try:
            request = json.loads(line)
            with self.lock:
                session = self.sessions.get(str(request.get("token")))
            if session is None:
                return _error("SecurityException", "unknown or expired gateway token")
            name, method, args = request["object"], request["method"], request.get("args") or []
            if method not in _ALLOWED.get(name, ()):
                return _error("NoSuchMethodException", f"{name}.{method}")
            if name == "script":
                if method == "bindings":
                    return {"value": session.bindings()}
                session.writeback[str(args[0])] = args[1]
                return {"value": None}
            target = session.variables if name == "variables" else session.objects.get(name)
            if target is None:
                return _error("NullPointerException", f"binding {name} is not available to this script")
            return {"value": getattr(target, method)(*args)}
        except Exception as error:  # the Java side raises: the script sees it, the runner goes on
            from ..errors import EngineError

            # The engine's refusals (ForeignContainer...) reach the script as the EngineError a real
            # engine raises on a node; the gateway client re-raises only that type as itself.
            return _error("EngineError" if isinstance(error, EngineError) else type(error).__name__, str(error))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.own_directory is not None:
            shutil.rmtree(self.own_directory, ignore_errors=True)


def _short_directory(wanted: str) -> str:
    """A private directory under /tmp for the socket ``wanted`` could not be (AF_UNIX paths are short)."""
    try:
        directory = tempfile.mkdtemp(prefix="psa-run-", dir=SHORT_TEMP)
    except OSError as error:
        directory = None
        why = error.strerror or str(error)
    if directory is not None and len(os.fsencode(os.path.join(directory, SOCKET_NAME))) <= MAX_SOCKET_PATH:
        return directory
    if directory is not None:
        os.rmdir(directory)
        why = "still too long"
    raise RunError(f"the gateway socket {wanted} is longer than a Unix socket path may be ({MAX_SOCKET_PATH} bytes) "
                   f"and {SHORT_TEMP} cannot hold it ({why}): set TMPDIR to a shorter directory")


def _error(kind: str, message: str) -> Dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


def _jsonable(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)

