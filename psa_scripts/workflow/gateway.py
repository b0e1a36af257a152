"""The script side of ``psa run``'s gateway: the Java bindings, served from the runner.

The ``cpython`` engine runs each script in a fresh interpreter whose bindings are py4j
proxies of Java objects living in the node's JVM: ``variables`` is a live map (a ``put``
sticks even if the script fails later), ``schedulerapi`` / ``rmapi`` /
``synchronizationapi`` are objects called by their Java method names. ``psa run`` plays
the JVM: it serves those objects over a Unix socket (one JSON object a line, each request
carrying the run's secret token), and the prologue of each script calls ``bindings()``
here, which answers with proxies speaking the same method names. Standard library only,
and nothing else is imported: this runs at the start of every script.

Protocol: request ``{"token", "object", "method", "args"}``; answer ``{"value": ...}`` or
``{"error": {"type": ..., "message": ...}}`` (raised here as ``JavaError``, or as
``EngineError`` for the container engine, as the real engines raise them).
"""

import json
import os
import socket

ADDRESS_ENV = "PSA_RUN_GATEWAY"
TOKEN_ENV = "PSA_RUN_TOKEN"
# The binding the runner's container engine is handed as (``psa_scripts.names.ENGINE_BINDING``;
# not imported: this module stays standard library only, and a test pins the two equal).
ENGINE_BINDING = "psa_run_engine"
# The names the engine's epilogue writes back, when the script defined them at module level.
WRITEBACK = ("result", "selected", "branch", "runs", "loop", "resultMetadata")


class JavaError(RuntimeError):
    """An exception the Java side raised (py4j's Py4JJavaError plays this part on a node)."""


class Gateway:
    """One connection to the runner, requests answered in order."""

    def __init__(self, address: str, token: str) -> None:
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket.settimeout(600)
        self._socket.connect(address)
        self._reader = self._socket.makefile("r", encoding="utf-8")
        self._token = token

    def call(self, obj: str, method: str, *args):
        request = {"token": self._token, "object": obj, "method": method, "args": list(args)}
        self._socket.sendall((json.dumps(request) + "\n").encode("utf-8"))
        line = self._reader.readline()
        if not line:
            raise JavaError(f"{obj}.{method}: the runner closed the gateway")
        answer = json.loads(line)
        error = answer.get("error")
        if error is not None:
            if error.get("type") == "EngineError":
                from psa_scripts.errors import EngineError

                raise EngineError(error.get("message", ""))
            raise JavaError(f"{error.get('type')}: {error.get('message')}")
        return answer.get("value")


_GATEWAY = []  # the process's one connection


def connect() -> Gateway:
    if not _GATEWAY:
        _GATEWAY.append(Gateway(os.environ[ADDRESS_ENV], os.environ[TOKEN_ENV]))
    return _GATEWAY[0]


class JavaObject:
    """A proxy: every method call goes to the runner's object of that name."""

    def __init__(self, gateway: Gateway, name: str) -> None:
        self._gateway = gateway
        self._name = name

    def __getattr__(self, method: str):
        if method.startswith("_"):
            raise AttributeError(method)
        return lambda *args: self._gateway.call(self._name, method, *args)

    def __repr__(self) -> str:
        return f"<JavaObject {self._name}>"


class JavaMap(JavaObject):
    """A live map (``variables``): item access and the Java methods, a missing key gives None."""

    def __getitem__(self, key):
        return self.get(key)

    def __setitem__(self, key, value) -> None:
        self.put(key, value)

    def __contains__(self, key) -> bool:
        return bool(self.containsKey(key))

    def __len__(self) -> int:
        return int(self.size())

    def __iter__(self):
        return iter(self.keySet())


def bindings() -> dict:
    """The script's bindings: plain values as they are, the Java objects as proxies."""
    gateway = connect()
    described = gateway.call("script", "bindings")
    found = dict(described["values"])
    for name in described["maps"]:
        found[name] = JavaMap(gateway, name)
    for name in described["objects"]:
        found[name] = JavaObject(gateway, name)
    if described.get("engine"):  # the runner keeps the container engine (psa run --engine memory)
        found[ENGINE_BINDING] = RemoteEngine(gateway)
    return found


def write_back(namespace: dict) -> None:
    """What the engine's epilogue copies back (only names the script defined)."""
    gateway = connect()
    for name in WRITEBACK:
        if name in namespace:
            value = namespace[name]
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                value = repr(value)
            gateway.call("script", "writeback", name, value)


class RemoteEngine:
    """The container engine interface (``psa_scripts.engine``) over the gateway: ``psa run
    --engine memory`` keeps its in-memory engine in the runner, where every script sees it."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    def _call(self, method: str, *args):
        return self._gateway.call("engine", method, *args)

    def is_running(self, name: str) -> bool:
        return bool(self._call("is_running", name))

    def read_logs(self, name: str, cursor, *, max_lines: int, max_bytes: int):
        from psa_scripts.engine import LogBatch

        batch = self._call("read_logs", name, cursor, max_lines, max_bytes)
        return LogBatch(batch["lines"], batch["cursor"], batch["skipped"])

    def inspect(self, name: str):
        return self._call("inspect", name)

    def deploy(self, spec):
        from dataclasses import asdict

        from psa_scripts.containers.spec import Deployed

        return Deployed(**self._call("deploy", asdict(spec)))

    def _action(self, method: str, *args):
        from psa_scripts.containers.outcome import ActionOutcome

        return ActionOutcome.named(self._call(method, *args))

    def stop(self, name: str, timeout: int = 10, *, owner=None):
        return self._action("stop", name, timeout, dict(owner) if owner else None)

    def start(self, name: str, *, owner=None):
        return self._action("start", name, dict(owner) if owner else None)

    def remove(self, name: str, *, owner=None):
        return self._action("remove", name, dict(owner) if owner else None)
