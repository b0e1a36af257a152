"""The status loop's two questions (running? new logs?), written once over any Docker API transport.

``StatusReader`` holds the orchestration: the inspect reused between ``is_running`` and
``read_logs``, the cursor (``LogCursor``), the bounded delivery (``LogDelivery``), the
deadline, the notes (unreadable cursor, new container, out of time, broken stream).
A transport subclass gives only two things:

- ``_inspect_document(name)``: the container's inspect JSON, None when there is none
  (EngineError carrying the engine's message otherwise);
- ``_log_response(container, params, timeout)``: a context manager yielding a
  ``LogResponse`` (status, the engine's message when it refused, a chunk reader whose socket
  waits are bounded); a failure of the transport while opening or reading raises
  ``StreamBroken``.

``DockerEngine`` (the ``docker`` SDK) and ``lite.ApiReader`` (stdlib ``http.client``) are the
two transports. No import of ``docker`` or ``requests`` here.
"""

from __future__ import annotations

import time
TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a fresh status check skips it)
if TYPE_CHECKING:
    from typing import Any, Callable, ContextManager, Dict, Iterator, Optional, Tuple

from .logbatch import LogBatch
from ..names import check_instance_name
from .logs import LogCursor, LogDelivery, format_second, log_records

# What a user with a wheel has: any Docker Engine API, named by DOCKER_HOST (not a file of our source tree).
ENGINE_HINT = ("any Docker Engine API will do (Docker's, or Podman's: podman system service): "
               "set DOCKER_HOST to it, e.g. unix:///run/podman/podman.sock")
API_VERSION = "1.41"  # Docker 20.10+ and Podman 4 speak it; set DOCKER_API_VERSION for others
DEFAULT_TIMEOUT = 30.0  # seconds, every API call (a stop adds its own grace period)
LOG_READ_SECONDS = 10.0  # the most one status check spends reading logs
INSPECT_REUSE_SECONDS = 1.0


class LogResponse:
    """An opened ``GET /containers/{id}/logs``: its status, and its body chunk by chunk.

    ``problem``: the engine's message when it refused (status >= 400 other than 404).
    ``read(seconds)``: the next chunk of the body, b"" at its end; no socket wait may last
    longer than ``seconds`` (a timeout raises ``StreamBroken(timed_out=True)``).
    """

    __slots__ = ("status", "problem", "read")

    def __init__(self, status: int, problem: Optional[str], read: Callable[[float], bytes]) -> None:
        self.status, self.problem, self.read = status, problem, read


class StreamBroken(Exception):
    """The transport failed while opening or reading the logs (``timed_out``: a socket wait ran out)."""

    def __init__(self, message: str, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class _OutOfTime(Exception):
    """The log read reached its deadline."""


class StatusReader:
    """``is_running`` and ``read_logs`` of the ContainerEngine interface, over a transport."""

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        log_read_seconds: float = LOG_READ_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.timeout = timeout
        self.log_read_seconds = log_read_seconds
        self.clock = clock
        # is_running's answer, reused by a read_logs right after it (a status check asks both).
        self._last_inspect: Tuple[str, float, Optional[Dict[str, Any]]] = ("", 0.0, None)

    # --- the transport ----------------------------------------------------------------------
    def _inspect_document(self, name: str) -> Optional[Dict[str, Any]]:
        raise NotImplementedError

    def _log_response(self, container: str, params: Dict[str, str],
                      timeout: float) -> "ContextManager[LogResponse]":
        raise NotImplementedError

    # --- state ----------------------------------------------------------------------------
    def inspect(self, name: str) -> Optional[Dict[str, Any]]:
        """The container's inspect document, or None when there is no such container."""
        check_instance_name(name)
        return self._inspect_document(name)

    def is_running(self, name: str) -> bool:
        attrs = self.inspect(name)
        self._last_inspect = (name, self.clock(), attrs)
        return bool(attrs and attrs.get("State", {}).get("Running"))

    def _identity(self, name: str) -> Optional[Dict[str, Any]]:
        """Inspect ``name``, or reuse what is_running saw of it under a second ago (id and TTY only)."""
        last_name, when, attrs = self._last_inspect
        self._last_inspect = ("", 0.0, None)
        if last_name == name and attrs is not None and 0 <= self.clock() - when < INSPECT_REUSE_SECONDS:
            return attrs
        return self.inspect(name)

    # --- logs -------------------------------------------------------------------------------
    def read_logs(self, name: str, cursor: Optional[str], *, max_lines: int, max_bytes: int) -> LogBatch:
        """Entries since ``cursor``, each exactly once across checks; bounded in lines, bytes and time."""
        check_instance_name(name)
        attrs = self._identity(name)
        if attrs is None:
            return LogBatch([], cursor, 0)
        container = str(attrs["Id"])[:12]
        notes = []
        try:
            start = LogCursor.decode(cursor)
        except ValueError:
            notes.append(f"[log cursor {cursor!r} not understood: reading {name}'s logs from the start]")
            start = LogCursor()
        if start.container and start.container != container:
            start = LogCursor()  # a new container under the same name: its logs start over
        delivery = LogDelivery(start, max_lines, max_bytes)
        deadline = self.clock() + self.log_read_seconds
        multiplexed = not attrs.get("Config", {}).get("Tty")
        # A line cut short stays held while its container may still write the rest.
        stopped = not attrs.get("State", {}).get("Running")
        complete, problem = self._stream_logs(container, start.since, deadline, multiplexed, delivery)
        if complete:
            batch = delivery.batch(container, flush=stopped)
        elif problem is None:  # out of time: the container writes faster than a check reads
            now = self.clock()
            batch = delivery.batch(container, jump_to=now, note=(
                f"[log reading stopped after {self.log_read_seconds:g} s: {name} writes faster than "
                f"a check can read; lines written until {format_second(int(now))} that were not "
                "read are skipped]"))
        else:  # the engine refused or broke the stream: resume after the last entry read
            batch = delivery.batch(container, note=f"[could not read all the logs of {name}: {problem}]",
                                   flush=stopped)
        return LogBatch(notes + batch.lines, batch.cursor, batch.skipped)

    def _stream_logs(self, container: str, since: int, deadline: float, multiplexed: bool,
                     delivery: LogDelivery) -> Tuple[bool, Optional[str]]:
        """Feed the entries at or after ``since`` to ``delivery``: (read to the end?, what broke)."""
        params = {"stdout": "1", "stderr": "1", "timestamps": "1", "follow": "0", "tail": "all"}
        if since > 0:
            params["since"] = f"{since - 1}.999999"  # a microsecond early: the filter may be strict
        read_timeout = max(1.0, deadline - self.clock())
        try:
            with self._log_response(container, params, read_timeout) as response:
                if response.status == 404:
                    return True, None  # removed since it was inspected: nothing more to read
                if response.problem is not None:  # e.g. a log driver that cannot be read: not worth failing a check
                    return False, response.problem
                for stream, entry, complete in log_records(self._chunks(response, deadline), multiplexed):
                    delivery.feed(entry, complete, stream)
                return True, None
        except _OutOfTime:
            return False, None
        except StreamBroken as broken:
            if broken.timed_out or self.clock() >= deadline:
                return False, None  # Podman may scan a long log for minutes before the first entry
            return False, str(broken)

    def _chunks(self, response: LogResponse, deadline: float) -> Iterator[bytes]:
        """The body's chunks until the deadline; no socket read may wait past it either."""
        while True:
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise _OutOfTime()
            chunk = response.read(max(0.05, remaining))
            if not chunk:
                return
            yield chunk
