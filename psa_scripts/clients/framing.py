"""HTTP/1.1 message framing (RFC 9112), read the same way by both local ends.

The loopback transport reads the emulator's (or any loopback server's) answers; the emulator
reads the requests of tests, ``psa run``'s scripts and ``psa serve-catalog``'s clients. Both
read a header block and a body whose length the headers give, so both read them here, within
limits chosen before anything is allocated (docs/emulator.md lists them and their reasons):

- a header block holds at most ``MAX_HEADER_FIELDS`` field lines and ``MAX_HEADER_BYTES``
  bytes, its empty last line included (a status line or a chunk size line: ``LINE_LIMIT``);
  a field name is a token directly followed by a colon (RFC 9112 5.1: no whitespace before
  the colon; 5.2: no obsolete line folding); a field that appears twice is combined into one
  comma-separated value (RFC 9110 5.3);
- ``Content-Length`` is ``1*DIGIT`` (RFC 9110 8.6: ASCII digits only, no sign, no list);
- a body declared or decoded past the reader's limit is refused before it is read.

Errors are ``FramingError`` (the message's length cannot be known: the connection cannot be
reused) and its kinds, each with the status a server answers (RFC 9112 6.3).
"""

from __future__ import annotations

import re
from typing import Any, List, Mapping, Optional, Tuple

LINE_LIMIT = 65536  # bytes in a status line or a chunk size line, CRLF included
MAX_HEADER_FIELDS = 100  # as Python's http.client and http.server
MAX_HEADER_BYTES = 64 * 1024  # the whole header block (Jetty's default is 8 KiB)

_DIGITS = re.compile(r"[0-9]+")
_HEX_DIGITS = re.compile(r"[0-9A-Fa-f]+")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 5.6.2

Fields = List[Tuple[str, str]]


class FramingError(ValueError):
    """A message whose framing breaks RFC 9112: its length cannot be known (status 400)."""

    status = 400


class TooLarge(FramingError):
    """A header block or a body past the reader's limit (413; 431 for headers)."""

    status = 413

    def __init__(self, text: str, status: int = 413) -> None:
        super().__init__(text)
        self.status = status


class UnknownCoding(FramingError):
    """A transfer coding other than chunked (RFC 9112 6.1: 501 Not Implemented)."""

    status = 501


def read_fields(reader: Any) -> Fields:
    """The field lines of a header block (or a chunked body's trailer section) up to its empty
    line, as (lower-case name, value) pairs in order, within the module's limits."""
    fields: Fields = []
    total = 0
    while True:
        line = reader.readline(MAX_HEADER_BYTES - total + 1)  # never more than the block may still hold
        total += len(line)
        if total > MAX_HEADER_BYTES:
            raise TooLarge(f"a header block of more than {MAX_HEADER_BYTES} bytes", status=431)
        if line in (b"\r\n", b"\n"):
            return fields
        if not line.endswith(b"\n"):
            raise FramingError("the connection closed inside the header block")
        if len(fields) >= MAX_HEADER_FIELDS:
            raise TooLarge(f"more than {MAX_HEADER_FIELDS} header fields", status=431)
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon or not _TOKEN.fullmatch(name):  # also whitespace before the colon, line folding
            raise FramingError(f"a bad header line {line[:80]!r}")
        fields.append((name.lower(), value.strip(" \t\r\n")))


def combined(fields: Fields) -> "dict[str, str]":
    """Fields by name, a repeated field's values joined by ", " (RFC 9110 5.3): a repeated
    Content-Length thus becomes a list, which :func:`content_length` refuses."""
    headers: "dict[str, str]" = {}
    for name, value in fields:
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def content_length(value: str, limit: int) -> int:
    """A Content-Length value as a number of bytes, at most ``limit``: FramingError unless it is
    ``1*DIGIT`` (a sign, a space, a list of two values, a non-ASCII digit are all refused),
    TooLarge above ``limit`` (checked on the digits, before any conversion or allocation)."""
    if "," in value:
        raise FramingError(f"Content-Length given more than once ({value[:40]!r})")
    if not _DIGITS.fullmatch(value):
        raise FramingError(f"Content-Length {value[:40]!r} is not a number of bytes (ASCII digits only)")
    digits = value.lstrip("0") or "0"
    if len(digits) > len(str(limit)) or int(digits) > limit:
        raise TooLarge(f"a body of {value[:40]} bytes, more than the {limit} bytes allowed")
    return int(digits)


def request_body_length(headers: Mapping[str, str], limit: int) -> Optional[int]:
    """How long a request's body is (RFC 9112 6.3): its Content-Length (0 when absent), or None
    when it is chunked. Refused (the connection must close after the answer): both framing
    headers (6.1, request smuggling), chunked before another coding or twice (400), any other
    coding (501, 6.1), an invalid or repeated Content-Length (400), a length
    past ``limit`` (413)."""
    coding = headers.get("transfer-encoding")
    length = headers.get("content-length")
    if coding is not None and length is not None:
        raise FramingError("both Transfer-Encoding and Content-Length: the body's length is ambiguous")
    if coding is not None:
        codings = [part.strip().lower() for part in coding.split(",")]
        if codings == ["chunked"]:
            return None
        if "chunked" in codings[:-1]:
            raise FramingError(f"Transfer-Encoding {coding[:40]!r}: chunked must be the last coding, applied once")
        raise UnknownCoding(f"transfer coding {coding[:40]!r} is not implemented (chunked alone is)")
    return 0 if length is None else content_length(length, limit)


def read_chunked(reader: Any, limit: int) -> bytes:
    """A chunked body from ``reader`` (``readline``/``read``), at most ``limit`` bytes decoded, its
    trailer section read within the header limits and dropped. FramingError when it breaks
    the framing, TooLarge when a chunk would take it past ``limit`` (before reading that chunk)."""
    parts = []
    total = 0
    while True:
        size_line = reader.readline(LINE_LIMIT + 1)
        size_text = size_line.split(b";", 1)[0].strip(b" \t\r\n").decode("latin-1")
        if not size_line.endswith(b"\n") or not _HEX_DIGITS.fullmatch(size_text):
            raise FramingError(f"a bad chunk size line {size_line[:40]!r}")
        size = int(size_text, 16)  # a hexadecimal numeral of any length converts in linear time
        if size == 0:
            break
        total += size
        if total > limit:
            raise TooLarge(f"a chunked body of more than the {limit} bytes allowed")
        chunk = reader.read(size + 2)
        if len(chunk) != size + 2 or not chunk.endswith(b"\r\n"):
            raise FramingError("the body ended inside a chunk")
        parts.append(chunk[:size])
    read_fields(reader)
    return b"".join(parts)
