"""In-memory doubles of what the engine binds: they speak the Java method names and record calls.

``FakeSchedulerApi``, ``FakeRmApi`` and ``FakeSynchronizationApi`` stand in for the
``schedulerapi``, ``rmapi`` and ``synchronizationapi`` bindings; ``JavaMap`` and
``JavaArray`` behave like py4j's (a missing key reads as ``None``; an array has indexing
and ``len`` and nothing else); ``FakeEngine`` is a container engine held in memory.
Every call lands in one shared ``CallLog`` so a test can assert on the order of calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set, Tuple

from ..engine import LogBatch


@dataclass(frozen=True)
class Call:
    api: str
    method: str
    args: Tuple[Any, ...]


class CallLog(list):
    """The calls made on the doubles, in order."""

    def of(self, api: str, method: Optional[str] = None) -> List[Call]:
        return [c for c in self if c.api == api and (method is None or c.method == method)]


class _Recorder:
    api = "?"

    def __init__(self, calls: Optional[CallLog] = None) -> None:
        self.calls = calls if calls is not None else CallLog()

    def _record(self, method: str, *args: Any) -> None:
        self.calls.append(Call(self.api, method, args))


class JavaMap(dict):
    """A dict that answers like py4j's JavaMap: a missing key gives None, not KeyError."""

    def __missing__(self, key: Any) -> None:
        return None

    def put(self, key: Any, value: Any) -> Any:
        previous = dict.get(self, key)
        self[key] = value
        return previous

    def containsKey(self, key: Any) -> bool:
        return key in self

    def keySet(self) -> Set[Any]:
        return set(self.keys())


class JavaArray:
    """Like py4j's JavaArray: ``len`` and indexing only, no list methods."""

    def __init__(self, items: Any) -> None:
        self._items = list(items)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> Any:
        return self._items[index]


class FakeSchedulerApi(_Recorder):
    """``schedulerapi``: a session after connect(), service registrations, credentials, job states."""

    api = "schedulerapi"

    def __init__(
        self,
        session_id: str = "session-0000",
        *,
        finished_jobs: Any = (),
        credentials: Optional[Dict[str, str]] = None,
        calls: Optional[CallLog] = None,
        fail: Optional[Dict[str, Exception]] = None,
    ) -> None:
        super().__init__(calls)
        self.session_id = session_id
        self.connected = False
        self.finished_jobs = set(str(j) for j in finished_jobs)
        self.credentials: Dict[str, str] = dict(credentials or {})
        self.services: Set[Tuple[str, int]] = set()
        self.fail = dict(fail or {})  # method name → exception to raise

    def _check(self, method: str) -> None:
        if method in self.fail:
            raise self.fail[method]

    def connect(self) -> None:
        self._record("connect")
        self.connected = True

    def getSession(self) -> Optional[str]:
        self._record("getSession")
        return self.session_id if self.connected else None

    def registerService(self, jobId: str, instanceId: int, enableActions: bool) -> None:
        self._record("registerService", jobId, instanceId, enableActions)
        self._check("registerService")
        self.services.add((str(jobId), int(instanceId)))

    def detachService(self, jobId: str, instanceId: int) -> bool:
        self._record("detachService", jobId, instanceId)
        self._check("detachService")
        found = (str(jobId), int(instanceId)) in self.services
        self.services.discard((str(jobId), int(instanceId)))
        return found

    def isJobFinished(self, jobId: str) -> bool:
        self._record("isJobFinished", jobId)
        self._check("isJobFinished")
        return str(jobId) in self.finished_jobs

    def putThirdPartyCredential(self, key: str, value: str) -> None:
        self._record("putThirdPartyCredential", key, "<hidden>")
        self._check("putThirdPartyCredential")
        self.credentials[key] = value

    def removeThirdPartyCredential(self, key: str) -> None:
        self._record("removeThirdPartyCredential", key)
        self._check("removeThirdPartyCredential")
        self.credentials.pop(key, None)


class FakeRmApi(_Recorder):
    """``rmapi``: node tokens per node URL."""

    api = "rmapi"

    def __init__(
        self,
        node_tokens: Optional[Dict[str, Any]] = None,
        *,
        calls: Optional[CallLog] = None,
        fail: Optional[Dict[str, Exception]] = None,
    ) -> None:
        super().__init__(calls)
        self.node_tokens: Dict[str, Set[str]] = {url: set(t) for url, t in (node_tokens or {}).items()}
        self.fail = dict(fail or {})

    def connect(self) -> None:
        self._record("connect")

    def addNodeToken(self, nodeUrl: str, token: str) -> None:
        self._record("addNodeToken", nodeUrl, token)
        if "addNodeToken" in self.fail:
            raise self.fail["addNodeToken"]
        self.node_tokens.setdefault(nodeUrl, set()).add(token)

    def removeNodeToken(self, nodeUrl: str, token: str) -> None:
        self._record("removeNodeToken", nodeUrl, token)
        if "removeNodeToken" in self.fail:
            raise self.fail["removeNodeToken"]
        tokens = self.node_tokens.get(nodeUrl, set())
        tokens.discard(token)
        if not tokens:
            self.node_tokens.pop(nodeUrl, None)


class ChannelError(RuntimeError):
    """What the synchronization API raises on a channel that does not exist."""


class FakeSynchronizationApi(_Recorder):
    """``synchronizationapi``: named channels of key/value pairs."""

    api = "synchronizationapi"

    def __init__(
        self,
        channels: Optional[Dict[str, Dict[str, Any]]] = None,
        *,
        calls: Optional[CallLog] = None,
        fail: Optional[Dict[str, Exception]] = None,
    ) -> None:
        super().__init__(calls)
        self.channels: Dict[str, Dict[str, Any]] = {n: dict(c) for n, c in (channels or {}).items()}
        self.fail = dict(fail or {})

    def _channel(self, name: str) -> Dict[str, Any]:
        if name not in self.channels:
            raise ChannelError(f"Channel {name} does not exist")
        return self.channels[name]

    def _check(self, method: str) -> None:
        if method in self.fail:
            raise self.fail[method]

    def createChannelIfAbsent(self, name: str, isPersistent: bool) -> bool:
        self._record("createChannelIfAbsent", name, isPersistent)
        self._check("createChannelIfAbsent")
        created = name not in self.channels
        self.channels.setdefault(name, {})
        return created

    def channelExists(self, name: str) -> bool:
        self._record("channelExists", name)
        return name in self.channels

    def deleteChannel(self, name: str) -> bool:
        self._record("deleteChannel", name)
        self._check("deleteChannel")
        return self.channels.pop(name, None) is not None

    def put(self, name: str, key: str, value: Any) -> Any:
        self._record("put", name, key, value)
        self._check("put")
        channel = self._channel(name)
        previous = channel.get(key)
        channel[key] = value
        return previous

    def get(self, name: str, key: str) -> Any:
        self._record("get", name, key)
        return self._channel(name).get(key)

    def containsKey(self, name: str, key: str) -> bool:
        self._record("containsKey", name, key)
        return key in self._channel(name)

    def remove(self, name: str, key: str) -> Any:
        self._record("remove", name, key)
        return self._channel(name).pop(key, None)

    def keySet(self, name: str) -> Set[str]:
        self._record("keySet", name)
        return set(self._channel(name))


@dataclass
class ContainerState:
    """A container as the engine double holds it: running or not, and its log lines."""

    running: bool = True
    logs: List[str] = field(default_factory=list)
    id: str = "0123456789ab"


class FakeEngine(_Recorder):
    """A container engine in memory; its log cursor is the number of lines already read."""

    api = "engine"

    def __init__(self, containers: Optional[Dict[str, ContainerState]] = None, *, calls: Optional[CallLog] = None) -> None:
        super().__init__(calls)
        self.containers: Dict[str, ContainerState] = dict(containers or {})

    def is_running(self, name: str) -> bool:
        self._record("is_running", name)
        container = self.containers.get(name)
        return bool(container and container.running)

    def read_logs(self, name: str, cursor: Optional[str], *, max_lines: int, max_bytes: int) -> LogBatch:
        self._record("read_logs", name, cursor)
        container = self.containers.get(name)
        if container is None:
            return LogBatch([], cursor, 0)
        start = int(cursor) if cursor and cursor.isdigit() else 0
        new = container.logs[start:]
        kept: List[str] = []
        size = 0
        for line in new[-max_lines:] if max_lines > 0 else []:
            size += len(line.encode()) + 1
            kept.append(line)
        while kept and size > max_bytes:
            size -= len(kept.pop(0).encode()) + 1
        return LogBatch(kept, str(len(container.logs)), len(new) - len(kept))
