"""A light HTTP transport for a server on this machine: the standard library's ``http.client``.

The REST clients send through ``requests`` (proxies, CA bundles, redirects: what a node
needs to reach a real ProActive server). A test harness talking to the loopback emulator
needs none of that, and pays for it: on a small machine one ``requests`` call costs about
1.5 ms of CPU, four times what the exchange itself costs, and the call's deadline needs a
worker thread. ``LoopbackTransport`` does the same exchange with ``http.client`` on one
kept-alive connection per server, and bounds the whole call by checking its deadline
before every read of the socket (each read waits at most the time left), so a server that
trickles its answer a byte at a time cannot hold a call past its deadline, without a thread.

What the REST clients rely on is the same on both transports (``tests/test_transports.py``
runs the same cases on each): the request on the wire (method, path, query, headers, JSON or
form body), a 2xx/4xx/5xx answer as a response with ``status_code``, ``reason``, ``url``,
``headers``, ``content``, ``text`` and ``json()``; no answer as a ``TransportFault`` saying
what failed: ``ConnectTimeout`` (the connection never opened: safe to replay any request),
``ConnectionError`` or ``ReadTimeout`` (replayed only when the route is idempotent). It serves ``http://`` URLs on a loopback address only,
without proxies; any other URL goes through ``requests`` as usual.

Used by ``psa_scripts.testing.Harness`` (its default), never by a catalog script on a node.
"""

from __future__ import annotations

import http.client
import io
import json as jsonlib
import select
import socket
import time
from typing import Any, Dict, Mapping, Optional, Tuple
from urllib.parse import urlencode, urlsplit

from .http import OutOfTime, RequestsTransport, TransportFault

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
USER_AGENT = "psa-scripts"


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
        self._sock.settimeout(min(self._connection.read_timeout, left))
        return self._sock.recv_into(buffer)


class _DeadlineSocket:
    """The connection's socket; what ``http.client`` reads from it goes through a _DeadlineReader."""

    def __init__(self, sock: socket.socket, connection: "_Connection") -> None:
        self._sock = sock
        self._connection = connection

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._connection))

    def __getattr__(self, name: str) -> Any:  # sendall, close, fileno, setsockopt...
        return getattr(self._sock, name)


class _Connection(http.client.HTTPConnection):
    deadline = float("inf")
    read_timeout = 10.0

    def connect(self) -> None:
        super().connect()
        self.sock = _DeadlineSocket(self.sock, self)  # type: ignore[assignment]

    def dropped(self) -> bool:
        """Whether the server closed this idle connection (or sent something unasked)."""
        if self.sock is None:
            return False
        readable, _, _ = select.select([self.sock], [], [], 0)
        return bool(readable)


def is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS


class LoopbackTransport:
    """``http.client`` on one kept-alive connection per loopback server (see the module's text).

    Not thread-safe: one transport per thread of scripts (a harness runs one script at a time).
    """

    bounds_deadline = True  # the REST client needs no worker thread to end a call at its deadline

    def __init__(self) -> None:
        self._connections: Dict[Tuple[str, int], _Connection] = {}
        self._fallback: Optional[RequestsTransport] = None

    def send(self, method: str, url: str, *, params: Any = None, data: Any = None, json: Any = None,
             headers: Optional[Mapping[str, str]] = None, timeout: Tuple[float, float] = (3.05, 10.0),
             deadline: float = float("inf"), proxies: Any = None, verify: Any = True) -> Any:
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
        body, content_type = _body(data, json)
        sent = {"User-Agent": USER_AGENT, "Accept": "*/*", "Connection": "keep-alive"}
        if content_type:
            sent["Content-Type"] = content_type
        sent.update(headers or {})
        connection = self._connection(parts.hostname or "127.0.0.1", parts.port or 80)
        connection.deadline = deadline
        connection.read_timeout = timeout[1]
        opened = connection.sock is not None
        try:
            if not opened:
                connection.timeout = max(0.001, min(timeout[0], deadline - time.monotonic()))
                connection.connect()
                opened = True
            connection.request(method, target, body=body, headers=sent)
            answer = connection.getresponse()
            content = answer.read()
        except OutOfTime:
            connection.close()
            raise
        except socket.timeout as error:
            connection.close()
            if time.monotonic() >= deadline:
                raise OutOfTime() from None
            kind = "ReadTimeout" if opened else "ConnectTimeout"
            raise TransportFault(kind, f"{type(error).__name__}: {error}") from None
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            raise TransportFault("ConnectionError", f"{type(error).__name__}: {error}") from None
        if answer.will_close:
            connection.close()
        return Response(url if not query else f"{url.split('?', 1)[0]}?{query}", answer.status, answer.reason,
                        {name.lower(): value for name, value in answer.getheaders()}, content)

    def _connection(self, host: str, port: int) -> _Connection:
        connection = self._connections.get((host, port))
        if connection is None:
            connection = self._connections[(host, port)] = _Connection(host, port)
        elif connection.dropped():
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
