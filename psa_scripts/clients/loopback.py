"""A light HTTP/1.1 transport for a server on this machine, without ``requests``.

The REST clients send through ``requests`` (proxies, CA bundles, redirects: what a node
needs to reach a real ProActive server). A test harness talking to the loopback emulator
needs none of that, and pays for it: on the project's 2-CPU machine one ``requests`` call
costs about 1.5 ms of CPU, several times the exchange itself, and bounding the call by its
deadline takes a worker thread. ``LoopbackTransport`` sends the request in one write on one
kept-alive connection per server and reads the answer's status line, headers and body
(``Content-Length``, chunked, or to the end of the connection) itself, checking the call's
deadline before every read of the socket (each read waits at most the time left): a server
that trickles its answer a byte at a time cannot hold a call past its deadline, and no thread
is needed. ``http.client`` does the same work at about twice the cost (its header parsing goes
through the ``email`` package); ``make bench`` shows the difference this makes to a harness run.

What the REST clients rely on is the same on both transports (``tests/test_transports.py``
runs the same cases on each): the request on the wire (method, path, query, headers, JSON or
form body), a 2xx/4xx/5xx answer as a response with ``status_code``, ``reason``, ``url``,
``headers``, ``content``, ``text`` and ``json()``; no answer as a ``TransportFault`` saying
what failed: ``ConnectTimeout`` (the connection never opened: safe to replay any request),
``ConnectionError`` or ``ReadTimeout`` (replayed only when the route is idempotent).
It serves ``http://`` URLs on a loopback address only, without proxies; any other URL goes
through ``requests`` as usual. Header names and values that would split the request, and
request targets with spaces or control characters, are refused before anything is sent; so is
a URL that does not parse or names no server (a port out of 1-65535, port 0, no host, a scheme
other than http/https): ``TransportFault("InvalidURL", ...)``, one line.

An answer is read within bounds (docs/emulator.md), as ``psa_scripts.clients.framing`` reads
the emulator's requests: at most 100 header fields and 64 KiB of header block, a body of at
most ``MAX_ANSWER_BYTES`` whether its length is declared (checked before anything is
allocated), chunked or runs to the end of the connection. An answer past them is a
``ConnectionError`` fault, as ``requests`` reports a server sending more than 100 headers.

Used by ``psa_scripts.testing.Harness`` (its default; ``Harness(transport="requests")`` sends
as a node does), never by a catalog script on a node.
"""

from __future__ import annotations

import io
import json as jsonlib
import re
import select
import socket
import time
from typing import Any, Dict, Mapping, Optional, Tuple
from urllib.parse import urlencode, urlsplit

from .framing import FramingError, LINE_LIMIT, combined, content_length, read_chunked, read_fields
from .http import OutOfTime, RequestsTransport, TransportFault, safe_url

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
USER_AGENT = "psa-scripts"
# The largest answer body read: the clients' largest answer is a Catalog object, at most 16 MiB
# as ``psa publish`` sends it; four times that leaves room and still bounds a broken server.
MAX_ANSWER_BYTES = 64 * 1024 * 1024


class Response:
    """An answer, with the part of ``requests.Response`` the REST clients use."""

    def __init__(self, url: str, status_code: int, reason: str, headers: Dict[str, str], content: bytes) -> None:
        self.url = url
        self.status_code = status_code
        self.reason = reason
        self.headers = headers  # names in lower case
        self.content = content

    @property
    def encoding(self) -> str:
        """The charset the answer declares; else UTF-8 (JSON's) -- ``requests``'s choice for JSON."""
        for parameter in self.headers.get("content-type", "").split(";")[1:]:
            name, _, value = parameter.strip().partition("=")
            if name.lower() == "charset" and value:
                return value.strip("'\"")
        return "utf-8"

    @property
    def text(self) -> str:
        try:
            return self.content.decode(self.encoding, errors="replace")
        except LookupError:  # a charset Python does not know
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The decoded JSON body; ValueError when it is not JSON (as ``requests``)."""
        return jsonlib.loads(self.content)

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"


class _DeadlineReader(io.RawIOBase):
    """A socket's reading side whose every read waits at most the call's time left."""

    def __init__(self, sock: socket.socket, connection: "_Connection") -> None:
        self._sock = sock
        self._connection = connection

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self._connection.deadline - time.monotonic()
        if left <= 0:
            raise OutOfTime()
        self._connection.wait_at_most(min(self._connection.read_timeout, left))
        return self._sock.recv_into(buffer)


class _Closed(Exception):
    """The server closed the connection, or broke HTTP/1.1 framing, before a whole answer."""


class _Connection:
    """One kept-alive HTTP/1.1 connection to a loopback server."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.sock: Optional[socket.socket] = None
        self.reader: Optional[io.BufferedReader] = None
        self.deadline = float("inf")
        self.read_timeout = 10.0
        self._timeout: Optional[float] = None

    def open(self, timeout: float) -> None:
        self.sock = socket.create_connection((self.host, self.port), timeout=timeout)
        self._timeout = timeout
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = io.BufferedReader(_DeadlineReader(self.sock, self))

    def wait_at_most(self, seconds: float) -> None:
        """The socket's timeout, set only when it changes (each setting is a system call)."""
        if seconds != self._timeout:
            assert self.sock is not None
            self.sock.settimeout(seconds)
            self._timeout = seconds

    def dropped(self) -> bool:
        """Whether the server closed this idle connection (or sent something unasked)."""
        readable, _, _ = select.select([self.sock], [], [], 0)
        return bool(readable)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = self.reader = None

    def exchange(self, head: bytes, body: Optional[bytes], method: str) -> Tuple[int, str, Dict[str, str], bytes]:
        """Send one request; (status, reason, headers by lower-case name, body) of its answer."""
        assert self.sock is not None and self.reader is not None
        self.wait_at_most(max(0.001, min(self.read_timeout, self.deadline - time.monotonic())))
        self.sock.sendall(head + body if body else head)
        reader = self.reader
        status_line = reader.readline(LINE_LIMIT)
        version, _, rest = status_line.decode("latin-1").partition(" ")
        code, _, reason = rest.strip().partition(" ")
        if not version.startswith("HTTP/1.") or not (code.isascii() and code.isdigit() and len(code) == 3):
            raise _Closed(f"no HTTP answer (got {status_line[:40]!r})")
        headers = combined(read_fields(reader))
        status = int(code)
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            content = b""
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            content = read_chunked(reader, MAX_ANSWER_BYTES)
        elif "content-length" in headers:
            length = content_length(headers["content-length"], MAX_ANSWER_BYTES)
            content = reader.read(length)
            if len(content) != length:
                raise _Closed(f"the body ended after {len(content)} of {length} bytes")
        else:  # the body runs to the end of the connection
            content = _read_to_the_end(reader)
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close" or version == "HTTP/1.0":
            self.close()
        return status, reason, headers, content


def _read_to_the_end(reader: Any) -> bytes:
    """What the server sends until it closes, at most MAX_ANSWER_BYTES, read a piece at a time
    (a single ``read(MAX_ANSWER_BYTES + 1)`` would reserve that much for every such answer)."""
    pieces = []
    size = 0
    while True:
        piece = reader.read1(64 * 1024)
        if not piece:
            return b"".join(pieces)
        size += len(piece)
        if size > MAX_ANSWER_BYTES:
            raise _Closed(f"an answer body of more than the {MAX_ANSWER_BYTES} bytes allowed")
        pieces.append(piece)


_UNSAFE = re.compile(r"[\x00-\x20\x7f]")  # in a request target: control characters and spaces


def is_loopback(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS
    except ValueError:
        return False


def server_address(url: str) -> Tuple[str, int]:
    """The host and port ``url`` names (80 when it names none); TransportFault ``InvalidURL``, one
    line, when it does not parse or names no server a client can reach."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as error:  # a port out of 0-65535 or not a number, a broken [IPv6] host
        raise TransportFault("InvalidURL", f"{safe_url(url)}: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise TransportFault("InvalidURL", f"{safe_url(url)}: the scheme must be http or https, not {parts.scheme!r}")
    if not host:
        raise TransportFault("InvalidURL", f"{safe_url(url)}: no host")
    if port == 0:
        raise TransportFault("InvalidURL", f"{safe_url(url)}: port 0 is no server's port (1-65535)")
    return host, 80 if port is None else port


class LoopbackTransport:
    """HTTP/1.1 on one kept-alive connection per loopback server (see the module's text).

    Not thread-safe: one transport per thread of scripts (a harness runs one script at a time).
    """

    bounds_deadline = True  # the REST client needs no worker thread to end a call at its deadline

    def __init__(self) -> None:
        self._connections: Dict[Tuple[str, int], _Connection] = {}
        self._fallback: Optional[RequestsTransport] = None

    def send(self, method: str, url: str, *, params: Any = None, data: Any = None, json: Any = None,
             headers: Optional[Mapping[str, str]] = None, timeout: Tuple[float, float] = (3.05, 10.0),
             deadline: float = float("inf"), proxies: Any = None, verify: Any = True) -> Any:
        host, port = server_address(url)
        if not is_loopback(url):
            if self._fallback is None:
                from .http import new_session

                self._fallback = RequestsTransport(new_session())
            return self._fallback.send(method, url, params=params, data=data, json=json, headers=headers,
                                       timeout=timeout, deadline=deadline, proxies=proxies, verify=verify)
        parts = urlsplit(url)
        target = parts.path or "/"
        query = "&".join(filter(None, [parts.query, _query(params)]))
        if query:
            target += "?" + query
        if _UNSAFE.search(target):
            raise TransportFault("InvalidURL", f"a request target with spaces or control characters: {target[:80]!r}")
        body, content_type = _body(data, json)
        sent = {"Host": f"{parts.netloc.rpartition('@')[2]}", "User-Agent": USER_AGENT, "Accept": "*/*",
                "Connection": "keep-alive"}
        if content_type:
            sent["Content-Type"] = content_type
        sent.update(headers or {})
        if body is not None or method in ("POST", "PUT", "PATCH"):
            sent["Content-Length"] = str(len(body or b""))
        lines = [f"{method} {target} HTTP/1.1"]
        for name, value in sent.items():
            if "\r" in f"{name}{value}" or "\n" in f"{name}{value}" or ":" in name:
                raise TransportFault("InvalidHeader", f"header {name!r}: a name or value that would split the request")
            lines.append(f"{name}: {value}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        connection = self._connection(host, port)
        connection.deadline, connection.read_timeout = deadline, timeout[1]
        opened = connection.sock is not None
        try:
            if not opened:
                connection.open(max(0.001, min(timeout[0], deadline - time.monotonic())))
                opened = True
            status, reason, answer_headers, content = connection.exchange(head, body, method)
        except OutOfTime:
            connection.close()
            raise
        except socket.timeout as error:
            connection.close()
            if time.monotonic() >= deadline:
                raise OutOfTime() from None
            raise TransportFault("ReadTimeout" if opened else "ConnectTimeout", str(error) or "timed out") from None
        except (OSError, _Closed, FramingError) as error:
            connection.close()
            raise TransportFault("ConnectionError", f"{type(error).__name__}: {error}") from None
        shown = url if not query else f"{url.split('?', 1)[0]}?{query}"
        return Response(shown, status, reason, answer_headers, content)

    def _connection(self, host: str, port: int) -> _Connection:
        connection = self._connections.get((host, port))
        if connection is None:
            connection = self._connections[(host, port)] = _Connection(host, port)
        elif connection.sock is not None and connection.dropped():
            connection.close()
        return connection

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()
        if self._fallback is not None:
            self._fallback.close()


def _query(params: Any) -> str:
    """``params`` as ``requests`` encodes them: None values left out, a list repeats its key."""
    if not params:
        return ""
    pairs = []
    for key, value in (params.items() if isinstance(params, Mapping) else params):
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if item is not None:
                pairs.append((key, item))
    return urlencode(pairs)


def _body(data: Any, json: Any) -> Tuple[Optional[bytes], Optional[str]]:
    if data is None and json is not None:
        return jsonlib.dumps(json).encode(), "application/json"
    if isinstance(data, Mapping):
        return urlencode(list(data.items())).encode(), "application/x-www-form-urlencoded"
    if isinstance(data, str):
        return data.encode(), None
    return data, None
