"""In-memory doubles of what the engine binds: they speak the Java method names and record calls.

``FakeSchedulerApi``, ``FakeRmApi`` and ``FakeSynchronizationApi`` stand in for the
``schedulerapi``, ``rmapi`` and ``synchronizationapi`` bindings; ``JavaMap`` and
``JavaArray`` behave like py4j's (a missing key reads as ``None``; an array has indexing
and ``len`` and nothing else); ``FakeEngine`` is a container engine held in memory.
Every call lands in one shared ``CallLog`` so a test can assert on the order of calls.
"""

from __future__ import annotations

import contextlib
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Set, Tuple

from ..containers.outcome import ActionOutcome
from ..containers.spec import DEFAULT_STOP_TIMEOUT, check_owner
from ..containers.status import LogResponse, StatusReader
from ..engine import LogBatch
from ..errors import EngineError
from ..names import check_instance_name


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
    """A container as the in-memory engine holds it.

    ``logs`` are its lines in order; a test may append to them at any time (a line is
    stamped with the engine's clock when the engine first sees it, as if written just
    before). ``ports`` maps a container port (``"80/tcp"``) to its published host port.
    ``command`` is what it runs (``DOCKER_COMMAND``), for an engine's ``on_start`` hook.
    """

    running: bool = True
    logs: List[str] = field(default_factory=list)
    id: str = "0123456789ab"
    exit_code: int = 0
    image: str = ""
    ports: Dict[str, int] = field(default_factory=dict)
    labels: Dict[str, str] = field(default_factory=dict)
    command: Optional[Tuple[str, ...]] = None
    log_times: List[float] = field(default_factory=list)  # epoch of each line of ``logs`` seen so far

    def copy(self) -> "ContainerState":
        """An independent copy (lists and dicts too): a harness step must not change its input state."""
        return replace(self, logs=list(self.logs), ports=dict(self.ports), labels=dict(self.labels),
                       log_times=list(self.log_times))


# Docker reports 128 + the signal that ended the process: a stop whose process ignores SIGTERM
# (a shell or busybox as PID 1) ends in SIGKILL at the timeout, as a kill does.
KILLED_EXIT_CODE = 137
FIRST_PICKED_PORT = 32768  # where Docker's and Podman's ephemeral host ports start on Linux


class FakeEngine(_Recorder, StatusReader):
    """The container engine in memory, with the real engine's observable behaviour.

    The whole interface the scripts use: ``deploy`` (engine-picked or fixed host port; reuse
    a running container, start a stopped one, else create), ``stop``, ``start``, ``remove``
    (``ActionOutcome.NO_SUCH_CONTAINER`` when there is none), ``is_running``, ``inspect`` (a
    Docker-shaped document: ``Id``, ``State.Running``/``ExitCode``, ``NetworkSettings.Ports``)
    and ``read_logs`` — the very cursor code of the real engine (``StatusReader``) reading an
    in-memory log stream, so ``LOG_CURSOR`` values, bounds and notes are the real ones.
    Every name passes ``check_instance_name`` first, as on the real engine.

    ``images``: the images on the host (None: any image can be pulled). ``on_start(name,
    container)`` runs each time a container starts (a test's stand-in for its program: append
    log lines, or ``exit`` it). ``kill`` makes a container die, as ``docker kill`` would.
    ``tests/engine/test_engine_contract.py`` runs the same cases on this and on the real engine.
    """

    api = "engine"

    def __init__(
        self,
        containers: Optional[Dict[str, ContainerState]] = None,
        *,
        images: Optional[Any] = None,
        on_start: Optional[Callable[[str, ContainerState], None]] = None,
        clock: Callable[[], float] = time.time,
        calls: Optional[CallLog] = None,
    ) -> None:
        _Recorder.__init__(self, calls)
        StatusReader.__init__(self, clock=clock)
        self.containers: Dict[str, ContainerState] = dict(containers or {})
        self.images: Optional[Set[str]] = None if images is None else set(images)
        self.on_start = on_start
        self._lock = threading.RLock()

    def hold(self, containers: Mapping[str, ContainerState], *, calls: Optional[CallLog] = None,
             clock: Optional[Callable[[], float]] = None) -> "FakeEngine":
        """Hold copies of ``containers`` and nothing else, as an engine just built from them would;
        ``on_start`` and ``images`` stay. ``calls`` and ``clock``, when given, replace the engine's.
        The ``psa_harness`` fixture's harness calls it before each run: a run starts from its State."""
        with self._lock:
            self.containers = {name: container.copy() for name, container in containers.items()}
            self._last_inspect = ("", 0.0, None)
            if calls is not None:
                self.calls = calls
            if clock is not None:
                self.clock = clock
        return self

    # --- the status transport (StatusReader) ---------------------------------------------------
    def _inspect_document(self, name: str) -> Optional[Dict[str, Any]]:
        with self._lock:
            container = self.containers.get(name)
            if container is None:
                return None
            self._stamp(container)
            return {
                "Id": container.id,
                "Name": "/" + name,
                "Image": container.image,
                "State": {"Status": "running" if container.running else "exited",
                          "Running": container.running, "ExitCode": container.exit_code},
                "Config": {"Image": container.image, "Labels": dict(container.labels), "Tty": False,
                           "Cmd": list(container.command) if container.command else None},
                "NetworkSettings": {"Ports": {  # Podman keeps them while stopped, as here
                    port: [{"HostIp": "", "HostPort": str(host_port)}] for port, host_port in container.ports.items()}},
            }

    @contextlib.contextmanager
    def _log_response(self, container: str, params: Dict[str, str], timeout: float) -> Iterator[LogResponse]:
        """The ``GET /containers/{id}/logs`` body the Docker API would send: framed, stamped, filtered."""
        with self._lock:
            found = next((c for c in self.containers.values() if c.id.startswith(container)), None)
            if found is None:
                yield LogResponse(404, None, lambda seconds: b"")
                return
            self._stamp(found)
            since = float(params.get("since", "0"))
            frames = []
            for when, line in zip(found.log_times, found.logs):
                if when > since:
                    payload = f"{_rfc3339_nano(when)} {line}\n".encode("utf-8")
                    frames.append(_FRAME.pack(1, len(payload)) + payload)
        body = [b"".join(frames)]
        yield LogResponse(200, None, lambda seconds: body.pop() if body else b"")

    def _stamp(self, container: ContainerState) -> None:
        """Lines appended since the engine last looked were written by now."""
        del container.log_times[len(container.logs):]
        now = self.clock()
        container.log_times.extend(now for _ in range(len(container.logs) - len(container.log_times)))

    # --- the interface, recorded ---------------------------------------------------------------
    def is_running(self, name: str) -> bool:
        self._record("is_running", name)
        return StatusReader.is_running(self, name)

    def read_logs(self, name: str, cursor: Optional[str], *, max_lines: int, max_bytes: int) -> LogBatch:
        self._record("read_logs", name, cursor)
        return StatusReader.read_logs(self, name, cursor, max_lines=max_lines, max_bytes=max_bytes)

    def deploy(self, spec: Any) -> Any:
        """Reuse a running container named ``spec.name``, start a stopped one, else create it."""
        from ..containers.spec import Deployed

        self._record("deploy", spec.name, spec.image)
        check_instance_name(spec.name)
        with self._lock:
            container = self.containers.get(spec.name)
            if container is not None:
                check_owner(spec.name, self._inspect_document(spec.name), spec.owner)
            if container is None:
                container, action = self._create(spec), "created"
            elif container.running:
                action = "reused"
            else:
                self._start(spec.name, container)
                action = "started"
            if not container.running:
                if action == "created":  # a container this deployment made and that died at once is not kept
                    self.containers.pop(spec.name, None)
                last = "\n".join(container.logs[-10:]).strip()
                raise EngineError(
                    f"container {spec.name} stopped right after it started (exit code {container.exit_code}): "
                    + (f"its last lines: {last}" if last else "it logged nothing"))
            if not spec.container_port:
                return Deployed(container.id, None, action)
            host_port = container.ports.get(spec.container_port)
            if host_port is None:
                raise EngineError(f"container {spec.name} runs but does not publish port {spec.container_port}: "
                                  "remove it, or pick another INSTANCE_NAME")
            return Deployed(container.id, host_port, action)

    def _create(self, spec: Any) -> ContainerState:
        from ..containers.spec import PICK_FREE_PORT

        if self.images is not None and spec.image not in self.images:
            raise EngineError(
                f"image {spec.image} is not on this host and could not be pulled: the in-memory engine has "
                f"only {sorted(self.images)}; load or build it on the node, or check DOCKER_IMAGE and the registry")
        container = ContainerState(running=False, id=uuid.uuid4().hex + uuid.uuid4().hex, image=spec.image,
                                   labels=spec.labels,
                                   command=tuple(spec.command) if spec.command else None)
        if spec.container_port:
            fixed = spec.service_port != PICK_FREE_PORT
            container.ports[spec.container_port] = spec.service_port if fixed else self._free_port()
        self._start(spec.name, container)  # a container that cannot start is not kept
        self.containers[spec.name] = container
        return container

    def _free_port(self) -> int:
        taken = {port for c in self.containers.values() for port in c.ports.values()}
        return next(port for port in range(FIRST_PICKED_PORT, 65536) if port not in taken)

    def _start(self, name: str, container: ContainerState) -> None:
        for other_name, other in self.containers.items():
            clash = set(container.ports.values()) & set(other.ports.values()) if other.running else set()
            if other is not container and clash:
                raise EngineError(
                    f"could not start container {name}: cannot listen on host port {min(clash)}: "
                    f"address already in use (container {other_name} publishes it)")
        container.running, container.exit_code = True, 0
        if self.on_start is not None:
            self.on_start(name, container)

    def stop(self, name: str, timeout: int = DEFAULT_STOP_TIMEOUT, *,
             owner: Optional[Mapping[str, str]] = None) -> ActionOutcome:
        self._record("stop", name, timeout)
        return self._act(name, lambda c: self.kill(name) if c.running else None, owner)

    def start(self, name: str, *, owner: Optional[Mapping[str, str]] = None) -> ActionOutcome:
        self._record("start", name)
        return self._act(name, lambda c: None if c.running else self._start(name, c), owner)

    def remove(self, name: str, *, owner: Optional[Mapping[str, str]] = None) -> ActionOutcome:
        """Remove the container, running or not (``rm -fv``)."""
        self._record("remove", name)
        return self._act(name, lambda c: self.containers.pop(name), owner)

    def _act(self, name: str, action: Callable[[ContainerState], Any],
             owner: Optional[Mapping[str, str]] = None) -> ActionOutcome:
        """``action`` on the container; with ``owner``, only when it carries those labels."""
        check_instance_name(name)
        with self._lock:
            container = self.containers.get(name)
            if container is None:
                return ActionOutcome.NO_SUCH_CONTAINER
            if owner is not None:
                check_owner(name, self._inspect_document(name), owner)
            action(container)
        return ActionOutcome.DONE

    def labelled(self, labels: Mapping[str, str]) -> List[Dict[str, Any]]:
        """Every container that carries all of ``labels``: ``name``, ``id``, ``running`` (as ``DockerEngine``)."""
        with self._lock:
            return [{"name": name, "id": c.id, "running": c.running} for name, c in sorted(self.containers.items())
                    if all(c.labels.get(key) == value for key, value in labels.items())]

    def ping(self) -> None:
        """The in-memory engine always answers."""

    # --- what happens to containers (not calls a script makes) ---------------------------------
    def kill(self, name: str, exit_code: int = KILLED_EXIT_CODE) -> None:
        """The container's process dies (``docker kill``, an out-of-memory kill, a crash)."""
        with self._lock:
            container = self.containers[name]
            container.running, container.exit_code = False, exit_code


_FRAME = struct.Struct(">BxxxL")  # the Docker API's multiplexed log frame: stream, 3 pad bytes, length


def _rfc3339_nano(epoch: float) -> str:
    """A log stamp as Docker writes it: ``2026-11-26T21:08:03.123456789Z``."""
    second = int(epoch // 1)
    nanos = min(999_999_999, int(round((epoch - second) * 1e9)))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)) + f".{nanos:09d}Z"
