"""The status loop's engine reads on the standard library: no ``docker``, no ``requests``.

Check_Instance_Status runs every minute in a fresh interpreter; importing the ``docker``
SDK (``requests``, ``urllib3``...) would cost it more than the whole engine work. Its two
read-only calls, ``GET /containers/{name}/json`` and ``GET /containers/{id}/logs``, go
here through a minimal HTTP/1.1 client on ``socket`` (``http.client`` would import
``email`` and ``ssl``: tens of ms in a fresh interpreter) on the unix socket (``DOCKER_HOST=unix://...``, default
``/var/run/docker.sock``) or plain ``tcp://host:port``; the orchestration (cursor, bounds,
notes) is ``StatusReader``'s, shared with ``DockerEngine``.

``status_engine(environ)`` is what ``psa_scripts.engine.default_engine`` gives: status
calls here, ``deploy``/``stop``/``start``/``remove`` on a ``DockerEngine`` made on first
use. Hosts this reader does not speak (TLS: ``DOCKER_TLS_VERIFY``/``DOCKER_CERT_PATH``,
``https://``, ``ssh://``, ``npipe://``) get the ``DockerEngine`` for everything.
"""

from __future__ import annotations

import contextlib
import json
import socket

from ..errors import EngineError
from ..numbers import whole_number
from .status import (API_VERSION, DEFAULT_TIMEOUT, ENGINE_HINT, LOG_READ_SECONDS, LogResponse, StatusReader,
                     StreamBroken)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a fresh status check skips it)
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Tuple

DEFAULT_SOCKET = "/var/run/docker.sock"
DEFAULT_TCP_PORT = 2375
_CHUNK = 65536
_UNANSWERED = f"the container engine did not answer (is DOCKER_HOST right? {ENGINE_HINT})"


class _BadResponse(OSError):
    """The engine's answer is not the HTTP/1.1 this reader understands."""


class _Response:
    """An HTTP/1.1 response read from a socket: status, headers, and the body in pieces.

    The body is framed by ``Transfer-Encoding: chunked`` (the logs stream), by
    ``Content-Length`` (inspect, errors), or by the end of the connection. ``read1`` makes
    at most one socket read, so the socket's timeout bounds every wait.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.fp = sock.makefile("rb")
        parts = self._line().decode("latin-1").split(None, 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise _BadResponse(f"not an HTTP response: {' '.join(parts)[:80]!r}")
        self.status, self.reason = int(parts[1]), (parts[2].strip() if len(parts) > 2 else "")
        self.headers: Dict[str, str] = {}
        while True:
            line = self._line()
            if line in (b"\r\n", b"\n"):
                break
            key, _, value = line.decode("latin-1").partition(":")
            self.headers[key.strip().lower()] = value.strip()
        self._chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        length = self.headers.get("content-length", "")
        self._left: Optional[int] = int(length) if length.isdigit() and not self._chunked else None
        self._in_chunk = 0  # bytes left in the current chunk
        self._done = self._left == 0

    def _line(self) -> bytes:
        line = self.fp.readline(65537)
        if not line:
            raise _BadResponse("the engine closed the connection before its answer ended")
        if len(line) > 65536:
            raise _BadResponse("an HTTP header line longer than 64 KiB")
        return line

    def read1(self, size: int = _CHUNK) -> bytes:
        """The next piece of the body (at most ``size`` bytes), b"" at its end."""
        if self._done:
            return b""
        if self._chunked:
            if not self._in_chunk:
                text = self._line().split(b";", 1)[0].strip()
                try:
                    self._in_chunk = int(text, 16)
                except ValueError:
                    raise _BadResponse(f"a bad chunk size {text[:20]!r}") from None
                if not self._in_chunk:
                    while self._line() not in (b"\r\n", b"\n"):  # trailers
                        pass
                    self._done = True
                    return b""
            data = self.fp.read1(min(size, self._in_chunk))
            if not data:
                raise _BadResponse("the engine closed the connection in the middle of a chunk")
            self._in_chunk -= len(data)
            if not self._in_chunk:
                self._line()  # the CRLF after the chunk
            return data
        if self._left is not None:
            data = self.fp.read1(min(size, self._left))
            if not data:
                raise _BadResponse("the engine closed the connection before the body ended")
            self._left -= len(data)
            self._done = not self._left
            return data
        data = self.fp.read1(size)  # delimited by the end of the connection
        self._done = not data
        return data

    def read(self, limit: int = 1 << 20) -> bytes:
        """The rest of the body, up to ``limit`` bytes."""
        pieces, size = [], 0
        while size < limit:
            piece = self.read1(min(_CHUNK, limit - size))
            if not piece:
                break
            pieces.append(piece)
            size += len(piece)
        return b"".join(pieces)

    def close(self) -> None:
        self.fp.close()
        self.sock.close()


def endpoint(environ: Mapping[str, str]) -> Optional[Tuple[str, str, int]]:
    """``("unix", path, 0)`` or ``("tcp", host, port)`` for the stdlib reader; None: the SDK's case."""
    tls_verify = environ.get("DOCKER_TLS_VERIFY")
    if (tls_verify is not None and tls_verify != "") or environ.get("DOCKER_CERT_PATH"):
        return None  # TLS: as the SDK reads these variables
    host = (environ.get("DOCKER_HOST") or "").strip()
    if not host:
        return ("unix", DEFAULT_SOCKET, 0)
    scheme, separator, rest = host.partition("://")
    if not separator:
        return None
    scheme = scheme.lower()
    if scheme == "unix":
        return ("unix", rest or DEFAULT_SOCKET, 0)
    if scheme in ("tcp", "http"):
        rest = rest.rstrip("/")
        if "/" in rest or "@" in rest or "?" in rest:
            return None  # a base path or credentials: leave it to the SDK
        if rest.startswith("["):  # [::1]:2375
            address, _, port = rest[1:].partition("]")
            port = port.lstrip(":")
        else:
            address, _, port = rest.rpartition(":") if ":" in rest else (rest, "", "")
        number = whole_number(port) if port else DEFAULT_TCP_PORT
        if number is None:
            return None
        return ("tcp", address or "127.0.0.1", number)
    return None  # https, ssh, npipe, fd...


_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def _quote(text: str) -> str:
    """Percent-encoding of a path segment or query value (``urllib.parse`` costs ms to import)."""
    return "".join(chr(b) if b in _SAFE else f"%{b:02X}" for b in text.encode("utf-8"))


def _query(params: Dict[str, str]) -> str:
    return "&".join(f"{_quote(key)}={_quote(str(value))}" for key, value in params.items())


def _api_prefix(environ: Mapping[str, str]) -> str:
    """``/v1.41``, or ``DOCKER_API_VERSION``'s; ``auto``: the engine's own (unversioned paths)."""
    version = (environ.get("DOCKER_API_VERSION") or API_VERSION).strip()
    if version.lower() == "auto":
        return ""
    return "/v" + version.lstrip("vV")


def _message(body: bytes, status: int, reason: str) -> str:
    """The engine's message: the JSON ``message`` field, else the body, else the HTTP status."""
    text = body.decode("utf-8", "replace").strip()
    with contextlib.suppress(ValueError):
        document = json.loads(text)
        if isinstance(document, dict) and document.get("message"):
            return str(document["message"])
    return text or f"HTTP {status} {reason}".strip()


class ApiReader(StatusReader):
    """``is_running``, ``inspect`` and ``read_logs`` over a unix or plain TCP socket: the stdlib transport."""

    def __init__(
        self,
        kind: str,
        address: str,
        port: int = 0,
        *,
        api_prefix: str = "/v" + API_VERSION,
        timeout: float = DEFAULT_TIMEOUT,
        log_read_seconds: float = LOG_READ_SECONDS,
        clock: Optional[Callable[[], float]] = None,
    ) -> None:
        options: Dict[str, Any] = {"timeout": timeout, "log_read_seconds": log_read_seconds}
        if clock is not None:
            options["clock"] = clock
        super().__init__(**options)
        if kind not in ("unix", "tcp"):
            raise ValueError(f"kind must be unix or tcp, got {kind!r}")
        self.kind, self.address, self.port, self.api_prefix = kind, address, port, api_prefix

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **options: Any) -> Optional["ApiReader"]:
        """The reader for ``DOCKER_HOST``; None when only the SDK can speak to it (TLS, ssh...)."""
        where = endpoint(environ)
        if where is None:
            return None
        return cls(*where, api_prefix=_api_prefix(environ), **options)

    def __repr__(self) -> str:
        where = f"unix://{self.address}" if self.kind == "unix" else f"tcp://{self.address}:{self.port}"
        return f"ApiReader({where}, {self.api_prefix or 'unversioned'})"

    # --- HTTP ---------------------------------------------------------------------------------
    def _get(self, path: str, params: Optional[Dict[str, str]], timeout: float) -> _Response:
        """Send ``GET`` and read the status line and headers; OSError on any failure.

        A few lines of HTTP/1.1 on ``socket`` rather than ``http.client``: that one imports
        ``email`` and ``ssl``, which alone cost more than half of the CLI's whole check.
        """
        url = self.api_prefix + path + ("?" + _query(params) if params else "")
        if self.kind == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            host = "localhost"
        else:
            sock = None
            host = f"[{self.address}]:{self.port}" if ":" in self.address else f"{self.address}:{self.port}"
        try:
            if sock is None:
                sock = socket.create_connection((self.address, self.port), timeout=timeout)
            else:
                sock.settimeout(timeout)
                sock.connect(self.address)
            sock.sendall((f"GET {url} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: psa-scripts\r\n"
                          "Accept: application/json\r\nConnection: close\r\n\r\n").encode("ascii"))
            return _Response(sock)
        except BaseException:
            if sock is not None:
                sock.close()
            raise

    # --- the status transport (StatusReader) ---------------------------------------------------
    def _inspect_document(self, name: str) -> Optional[Dict[str, Any]]:
        what = f"could not inspect container {name}"
        try:
            response = self._get(f"/containers/{_quote(name)}/json", None, self.timeout)
            try:
                body = response.read(64 << 20)
            finally:
                response.close()
        except OSError as error:
            raise EngineError(f"{what}: {_UNANSWERED}: {error or type(error).__name__}") from None
        if response.status == 404:
            return None
        if response.status >= 400:
            raise EngineError(f"{what}: {_message(body, response.status, response.reason)}")
        try:
            document = json.loads(body)
        except ValueError as error:
            raise EngineError(f"{what}: the engine's answer is not JSON ({error})") from None
        if not isinstance(document, dict) or "Id" not in document:
            raise EngineError(f"{what}: the engine's answer is not an inspect document")
        return document

    @contextlib.contextmanager
    def _log_response(self, container: str, params: Dict[str, str], timeout: float) -> Iterator[LogResponse]:
        response = None
        try:
            response = self._get(f"/containers/{_quote(container)}/logs", params, timeout)
            problem = None
            if response.status >= 400 and response.status != 404:
                problem = "could not read them: " + _message(response.read(_CHUNK), response.status, response.reason)

            def read(seconds: float) -> bytes:
                response.sock.settimeout(seconds)
                return response.read1(_CHUNK)

            yield LogResponse(response.status, problem, read)
        except (socket.timeout, TimeoutError) as error:
            raise StreamBroken(str(error) or "timed out", timed_out=True) from None
        except _BadResponse as error:  # e.g. the engine closed the stream half-way
            raise StreamBroken(str(error)) from None
        except OSError as error:
            raise StreamBroken(f"{_UNANSWERED}: {error or type(error).__name__}") from None
        finally:
            if response is not None:
                response.close()


class StatusFirstEngine:
    """The default engine: status calls on the stdlib ``reader``, the rest on ``DockerEngine``.

    The ``DockerEngine`` (and so the ``docker`` SDK import) is made on the first call of
    ``deploy``, ``stop``, ``start``, ``remove`` or any other attribute it alone has.
    """

    def __init__(self, reader: ApiReader, sdk_engine: Callable[[], Any]) -> None:
        self.reader = reader
        self._make_sdk_engine = sdk_engine
        self._sdk: Any = None

    @property
    def sdk(self) -> Any:
        if self._sdk is None:
            self._sdk = self._make_sdk_engine()
        return self._sdk

    # --- status: stdlib ---
    def is_running(self, name: str) -> bool:
        return self.reader.is_running(name)

    def read_logs(self, name: str, cursor: Optional[str], *, max_lines: int, max_bytes: int):
        return self.reader.read_logs(name, cursor, max_lines=max_lines, max_bytes=max_bytes)

    def inspect(self, name: str) -> Optional[Dict[str, Any]]:
        return self.reader.inspect(name)

    # --- actions: the SDK, loaded on first use ---
    def deploy(self, spec: Any) -> Any:
        return self.sdk.deploy(spec)

    # ``owner`` is passed on only when given: an engine written before it existed still serves.
    def stop(self, name: str, timeout: Optional[int] = None, *, owner: Optional[Mapping[str, str]] = None) -> Any:
        args = (name,) if timeout is None else (name, timeout)
        return self.sdk.stop(*args, **_owned(owner))

    def start(self, name: str, *, owner: Optional[Mapping[str, str]] = None) -> Any:
        return self.sdk.start(name, **_owned(owner))

    def remove(self, name: str, *, owner: Optional[Mapping[str, str]] = None) -> Any:
        return self.sdk.remove(name, **_owned(owner))

    def __getattr__(self, attribute: str) -> Any:  # client, deploy helpers...: the SDK engine's
        if attribute.startswith("__") or attribute in ("reader", "_make_sdk_engine", "_sdk"):
            raise AttributeError(attribute)
        return getattr(self.sdk, attribute)


def _owned(owner: Optional[Mapping[str, str]]) -> Dict[str, Any]:
    return {} if owner is None else {"owner": owner}


def status_engine(environ: Mapping[str, str], *, timeout: float = DEFAULT_TIMEOUT, **options: Any) -> Any:
    """Status calls on the stdlib when ``DOCKER_HOST`` allows it, else a ``DockerEngine`` throughout."""
    environ = dict(environ)

    def sdk_engine() -> Any:
        from .docker_engine import DockerEngine

        return DockerEngine.from_env(environ, timeout=timeout, **options)

    status_options = {k: v for k, v in options.items() if k in ("log_read_seconds", "clock")}
    reader = ApiReader.from_env(environ, timeout=timeout, **status_options)
    if reader is None:
        return sdk_engine()
    return StatusFirstEngine(reader, sdk_engine)
