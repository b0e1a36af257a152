"""HTTP/1.1 framing as both local ends read it (psa_scripts/clients/framing.py): the limits at
their exact boundaries, and what RFC 9112 / RFC 9110 allow and refuse (docs/emulator.md). The
emulator's and the transport's own tests drive the same code over real sockets."""

import io

import pytest

from psa_scripts.clients.framing import (
    LINE_LIMIT, MAX_HEADER_BYTES, MAX_HEADER_FIELDS, FramingError, TooLarge, UnknownCoding, combined, content_length,
    read_chunked, read_fields, request_body_length,
)


def _reader(data: bytes):
    return io.BufferedReader(io.BytesIO(data))


def test_fields_are_read_in_order_by_lower_case_name_up_to_the_empty_line():
    reader = _reader(b"Host: 127.0.0.1:8080\r\nSessionID:  abc \t\r\nX-Empty:\r\nX-Ff: \x0cv\x0c\r\n\r\nnext")
    assert read_fields(reader) == [("host", "127.0.0.1:8080"), ("sessionid", "abc"), ("x-empty", ""),
                                   ("x-ff", "\x0cv\x0c")]  # only spaces and tabs are trimmed (RFC 9110 5.5)
    assert reader.read() == b"next"


def test_a_bare_line_feed_ends_lines_too():
    reader = _reader(b"Host: x\nAccept: */*\n\nnext")
    assert read_fields(reader) == [("host", "x"), ("accept", "*/*")] and reader.read() == b"next"


def test_a_repeated_field_is_one_comma_separated_value():
    assert combined([("a", "1"), ("b", "x"), ("a", "2")]) == {"a": "1, 2", "b": "x"}


@pytest.mark.parametrize("line", [b"no colon\r\n", b"Name : value\r\n", b" folded: line\r\n", b": no name\r\n",
                                  b"na\xe9me: value\r\n"])
def test_a_bad_field_line_is_a_framing_error(line):
    with pytest.raises(FramingError) as raised:
        read_fields(_reader(line + b"\r\n"))
    assert raised.value.status == 400 and str(raised.value).startswith("a bad header line")


def test_the_end_of_the_stream_inside_the_header_block_is_a_framing_error():
    with pytest.raises(FramingError) as raised:
        read_fields(_reader(b"Host: x\r\n"))
    assert str(raised.value) == "the connection closed inside the header block"


@pytest.mark.parametrize("first", [b"", b"Host: x\r\n"])
def test_an_endless_header_line_is_not_read_past_the_blocks_bound(first):
    reader = _reader(first + b"X: " + b"a" * (4 * MAX_HEADER_BYTES))
    with pytest.raises(TooLarge):
        read_fields(reader)
    assert reader.tell() == MAX_HEADER_BYTES + 1  # one byte past the bound, not the rest


def test_exactly_the_field_count_limit_is_read_one_more_is_431():
    block = b"".join(b"F%d: v\r\n" % n for n in range(MAX_HEADER_FIELDS))
    assert len(read_fields(_reader(block + b"\r\n"))) == MAX_HEADER_FIELDS
    with pytest.raises(TooLarge) as raised:
        read_fields(_reader(block + b"G: v\r\n\r\n"))
    assert raised.value.status == 431 and str(raised.value) == f"more than {MAX_HEADER_FIELDS} header fields"


def test_the_header_block_is_bounded_in_bytes_its_empty_line_included():
    line = b"X: " + b"a" * (MAX_HEADER_BYTES - 7) + b"\r\n"  # with the empty line: the limit exactly
    assert read_fields(_reader(line + b"\r\n")) == [("x", "a" * (MAX_HEADER_BYTES - 7))]
    for block in (b"X: " + b"a" * (MAX_HEADER_BYTES - 6) + b"\r\n\r\n", b"X: " + b"a" * (10 * MAX_HEADER_BYTES)):
        with pytest.raises(TooLarge) as raised:
            read_fields(_reader(block))
        assert raised.value.status == 431 and str(raised.value) == f"a header block of more than {MAX_HEADER_BYTES} bytes"


@pytest.mark.parametrize("value, length", [("0", 0), ("12", 12), ("000012", 12), ("100", 100)])
def test_a_content_length_is_ascii_digits_up_to_the_limit(value, length):
    assert content_length(value, 100) == length


@pytest.mark.parametrize("value", ["101", "1" + "0" * 5000, "0" * 50 + "101"])
def test_a_content_length_past_the_limit_is_413_before_any_conversion(value):
    with pytest.raises(TooLarge) as raised:
        content_length(value, 100)
    assert raised.value.status == 413 and str(raised.value).endswith("more than the 100 bytes allowed")


@pytest.mark.parametrize("value", ["", "-1", "+1", " 1", "1 ", "0x1", "1_0", "1.0", "\u00b2", "\u0665"])
def test_anything_else_is_not_a_content_length(value):
    with pytest.raises(FramingError) as raised:
        content_length(value, 100)
    assert raised.value.status == 400 and not isinstance(raised.value, TooLarge)
    assert str(raised.value) == f"Content-Length {value!r} is not a number of bytes (ASCII digits only)"


@pytest.mark.parametrize("value", ["1, 1", "1,2"])
def test_a_repeated_content_length_is_refused_even_with_equal_values(value):
    with pytest.raises(FramingError) as raised:
        content_length(value, 100)
    assert str(raised.value) == f"Content-Length given more than once ({value!r})"


@pytest.mark.parametrize("headers, length", [
    ({}, 0), ({"content-length": "5"}, 5), ({"transfer-encoding": "chunked"}, None),
    ({"transfer-encoding": " Chunked "}, None),
])
def test_a_requests_body_length(headers, length):
    assert request_body_length(headers, 100) == length


@pytest.mark.parametrize("headers, kind, status, message", [
    ({"transfer-encoding": "chunked", "content-length": "5"}, FramingError, 400,
     "both Transfer-Encoding and Content-Length: the body's length is ambiguous"),
    ({"transfer-encoding": "chunked, gzip"}, FramingError, 400,
     "Transfer-Encoding 'chunked, gzip': chunked must be the last coding, applied once"),
    ({"transfer-encoding": "gzip, chunked, br"}, FramingError, 400,
     "Transfer-Encoding 'gzip, chunked, br': chunked must be the last coding, applied once"),
    ({"transfer-encoding": "chunked, chunked"}, FramingError, 400,
     "Transfer-Encoding 'chunked, chunked': chunked must be the last coding, applied once"),
    ({"transfer-encoding": "gzip"}, UnknownCoding, 501, "transfer coding 'gzip' is not implemented (chunked alone is)"),
    ({"transfer-encoding": "gzip, chunked"}, UnknownCoding, 501,
     "transfer coding 'gzip, chunked' is not implemented (chunked alone is)"),
    ({"content-length": "101"}, TooLarge, 413, "a body of 101 bytes, more than the 100 bytes allowed"),
])
def test_a_request_framed_otherwise_is_refused_with_its_status(headers, kind, status, message):
    with pytest.raises(kind) as raised:
        request_body_length(headers, 100)
    assert raised.value.status == status and str(raised.value) == message


def test_a_chunked_body_with_extensions_and_trailers():
    body = b"5;name=value;other\r\nhello\r\n000001\r\n!\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer: t\r\n\r\nnext"
    reader = _reader(body)
    assert read_chunked(reader, 22) == b"hello!0123456789abcdef" and reader.read() == b"next"


def test_a_chunk_size_line_is_read_up_to_its_bound():
    extension = b";" + b"e" * (LINE_LIMIT - 4)
    assert read_chunked(_reader(b"1" + extension + b"\r\n!\r\n0\r\n\r\n"), 10) == b"!"  # a line of LINE_LIMIT
    reader = _reader(b"1" + extension * 4)
    with pytest.raises(FramingError) as raised:
        read_chunked(reader, 10)
    assert reader.tell() == LINE_LIMIT + 1 and str(raised.value).startswith("a bad chunk size line b'1;eee")


@pytest.mark.parametrize("body, error", [
    (b"5\r\nhello\r\n2\r\n!!\r\n0\r\n\r\n", "a chunked body of more than the 6 bytes allowed"),
    (b"FFFFFFFFFFFFFFFFFFFFFFFF\r\n", "a chunked body of more than the 6 bytes allowed"),  # no huge integer
])
def test_a_chunked_body_past_the_limit_is_refused_before_the_chunk_is_read(body, error):
    with pytest.raises(TooLarge, match=error):
        read_chunked(_reader(body), 6)


@pytest.mark.parametrize("body, message", [
    (b"x\r\n", "a bad chunk size line b'x\\r\\n'"), (b"-5\r\n", "a bad chunk size line b'-5\\r\\n'"),
    (b"0x5\r\nhello\r\n0\r\n\r\n", "a bad chunk size line b'0x5\\r\\n'"),
    (b"5\r\nhel", "the body ended inside a chunk"), (b"5\r\nhelloXX0\r\n\r\n", "the body ended inside a chunk"),
    (b"5\r\nhello\r\n", "a bad chunk size line b''"),
])
def test_a_broken_chunked_body_is_a_framing_error(body, message):
    with pytest.raises(FramingError) as raised:
        read_chunked(_reader(body), 100)
    assert str(raised.value) == message
