"""The REST clients behave the same on both transports: ``requests`` (on a node) and the loopback
``http.client`` one (the harness's). Every case runs on each, through the real emulator or a real
socket server: the request on the wire, retries, what is replayed, errors, the call's deadline."""

import socket
import threading
import time

import pytest

from psa_scripts.clients.http import HttpSettings, new_session
from psa_scripts.clients.loopback import LoopbackTransport, Response, is_loopback
from psa_scripts.clients.psa import PsaClient
from psa_scripts.clients.scheduler import SchedulerClient
from psa_scripts.errors import RestError
from psa_scripts.testing.emulator import ProActiveEmulator

from test_http_clients import _Trickler

FAST = HttpSettings(connect_timeout=1.0, read_timeout=1.0, deadline=5.0, backoff_initial=0.01,
                    backoff_max=0.05, log_retries=False)
INSTANCE = {"instance_id": 1, "instance_status": "RUNNING", "variables": {"INSTANCE_NAME": "web-1"}}


@pytest.fixture(params=["requests", "loopback"])
def transport(request):
    sent_with = new_session() if request.param == "requests" else LoopbackTransport()
    yield sent_with
    sent_with.close()


@pytest.fixture
def emu():
    with ProActiveEmulator() as emulator:
        emulator.add_instance(dict(INSTANCE))
        yield emulator


@pytest.fixture
def psa(emu, transport):
    return PsaClient(emu.psa_url, emu.new_session(), FAST, session=transport)


def test_the_same_requests_go_on_the_wire(emu, psa):
    instance = psa.get_instance(1)
    instance.label = "web"
    psa.put_instance(instance)
    psa.launch_service("bucket-a", "Web", {"PROXYFIED": True}, parent_job_id=42)
    get, put, post = emu.requests
    assert (get.method, get.path, get.query, get.body) == ("GET", "/cloud-automation-service/serviceInstances/1", {}, b"")
    assert put.headers["content-type"] == "application/json" and put.json == dict(INSTANCE, label="web")
    assert post.query == {"parentJobId": "42"}
    assert post.json == {"bucket_name": "bucket-a", "workflow_name": "Web", "variables": {"PROXYFIED": "True"}}
    assert {r.headers["sessionid"] for r in emu.requests} == {psa.session_id}


def test_a_form_login_and_a_list_query(emu, transport):
    emu.add_user("alice", "s3cret &=")
    client = SchedulerClient(emu.scheduler_url, settings=FAST)
    client._session = transport
    assert client.login("alice", "s3cret &=") in emu.sessions
    login = emu.requests[-1]
    assert login.headers["content-type"] == "application/x-www-form-urlencoded"
    assert login.form == {"username": "alice", "password": "s3cret &="}


def test_two_503_then_the_answer(emu, psa):
    emu.fail("PUT", r"/serviceInstances/1$", 503, times=2)
    psa.put_instance(psa.get_instance(1))
    assert len(emu.requests_to("PUT", r"/serviceInstances/1$")) == 3


def test_a_dropped_connection_is_replayed_for_a_get_only(emu, psa):
    emu.drop("GET", r"/serviceInstances/1$")
    assert psa.get_instance(1).instance_id == 1
    assert len(emu.requests_to("GET", r"/serviceInstances/1$")) == 2
    emu.drop("POST", r"/serviceInstances$")
    with pytest.raises(RestError) as caught:
        psa.launch_service("bucket-a", "Web", {})
    assert caught.value.status is None and "ConnectionError" in caught.value.message
    assert len(emu.requests_to("POST", r"/serviceInstances$")) == 1  # launching twice would start two services


def test_a_404_carries_proactives_message(emu, psa):
    with pytest.raises(RestError) as caught:
        psa.get_instance(99)
    assert caught.value.status == 404 and caught.value.message == "no service instance 99"


def test_an_answer_that_is_not_json(emu, psa):
    emu.add_route("GET", r".*/serviceInstances/1$", lambda req: (200, "<html>login</html>"))
    with pytest.raises(RestError) as caught:
        psa.get_instance(1)
    assert caught.value.message == "expected JSON, got: <html>login</html>"


def test_a_refused_connection(transport):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))  # bound, not listening: refuses
    try:
        url = f"http://127.0.0.1:{holder.getsockname()[1]}/cloud-automation-service"
        with pytest.raises(RestError) as caught:
            PsaClient(url, "sid", FAST, session=transport).get_instance(1)
    finally:
        holder.close()
    assert caught.value.status is None and "ConnectionError" in caught.value.message
    assert "sid" not in str(caught.value)


def test_a_slow_answer_ends_at_the_calls_deadline(emu, transport):
    emu.delay("GET", r"/serviceInstances/1$", 5.0, times=None)
    settings = HttpSettings(read_timeout=30.0, deadline=1.0, attempts=3, log_retries=False)
    started = time.monotonic()
    with pytest.raises(RestError) as caught:
        PsaClient(emu.psa_url, emu.new_session(), settings, session=transport).get_instance(1)
    assert 0.9 <= time.monotonic() - started < 1.8
    assert "no complete answer within the call's deadline of 1 s" in caught.value.message
    assert len(emu.requests_to("GET", r"/serviceInstances/1$")) == 1


@pytest.mark.parametrize("head", [False, True], ids=["body", "headers"])
def test_a_trickling_server_cannot_hold_a_call_past_its_deadline(transport, head):
    server = _Trickler(head=head)
    settings = HttpSettings(read_timeout=1.0, deadline=1.5, attempts=3, log_retries=False)
    try:
        started = time.monotonic()
        with pytest.raises(RestError) as caught:
            PsaClient(server.url, "sid", settings, session=transport).get_instance(1)
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert 1.4 <= elapsed < 2.3, elapsed
    assert "deadline of 1.5 s" in caught.value.message and server.requests == 1


def test_clients_sharing_a_transport_share_one_connection(emu, transport):
    session = emu.new_session()
    for _ in range(3):
        PsaClient(emu.psa_url, session, FAST, session=transport).get_instance(1)
    assert emu.connections == 1 and len(emu.requests) == 3


class _OneAnswerPerConnection:
    """A server that answers each connection's first request (kept alive, it says) then closes it
    while the client idles: the next call must open a new connection, not fail."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/cloud-automation-service"
        self.connections = 0
        self.closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        body = b'{"instance_id": 1}'
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with connection:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                                   b"Connection: keep-alive\r\n\r\n%s" % (len(body), body))
            self.closed.set()


def test_a_kept_alive_connection_the_server_closed_is_reopened(transport):
    server = _OneAnswerPerConnection()
    client = PsaClient(server.url, "sid", HttpSettings(attempts=1, log_retries=False), session=transport)
    try:
        assert client.get_instance(1).instance_id == 1
        assert server.closed.wait(5)
        assert client.get_instance(1).instance_id == 1
    finally:
        server.listener.close()
    assert server.connections == 2


# --- the loopback transport's own rules ---------------------------------------------------------------
@pytest.mark.parametrize("url, loopback", [
    ("http://127.0.0.1:8080/rest", True), ("http://localhost/rest", True), ("http://[::1]:80/x", True),
    ("https://127.0.0.1:8443/rest", False), ("http://try.activeeon.com/rest", False),
])
def test_only_plain_http_on_this_machine_is_loopback(url, loopback):
    assert is_loopback(url) is loopback


def test_other_urls_go_through_requests(emu, monkeypatch):
    transport = LoopbackTransport()
    sent = []
    monkeypatch.setattr("psa_scripts.clients.http.RequestsTransport.send",
                        lambda self, method, url, **kwargs: sent.append((method, url)) or Response(url, 200, "OK", {}, b"{}"))
    answer = transport.send("GET", "https://psa.example:8443/cloud-automation-service/serviceInstances/1")
    assert sent == [("GET", "https://psa.example:8443/cloud-automation-service/serviceInstances/1")]
    assert answer.json() == {}


@pytest.mark.parametrize("content_type, body, text", [
    ("application/json", "é".encode(), "é"),
    ("text/plain; charset=latin-1", "é".encode("latin-1"), "é"),
    ("", b"\xff", "\ufffd"),
])
def test_a_loopback_answer_decodes_as_requests_would(content_type, body, text):
    assert Response("http://127.0.0.1/x", 200, "OK", {"content-type": content_type}, body).text == text


def test_a_header_that_would_split_the_request_is_refused_before_sending(emu, transport):
    client = PsaClient(emu.psa_url, "sid\r\nX-Injected: 1", FAST, session=transport)
    with pytest.raises(RestError) as caught:
        client.get_instance(1)
    assert caught.value.status is None and "InvalidHeader" in caught.value.message
    assert emu.requests == []


@pytest.mark.parametrize("kind", ["ReadTimeout", "ConnectTimeout"])
def test_a_socket_timeout_cut_to_the_time_left_is_the_deadline(kind):
    """The socket's timeout and the call's deadline end together: the error says deadline either way."""
    from psa_scripts.clients.http import TransportFault

    class AtTheDeadline:
        bounds_deadline = True
        calls = 0

        def send(self, method, url, *, deadline, **kwargs):
            AtTheDeadline.calls += 1
            while time.monotonic() < deadline - 0.005:  # the timeout fires a hair before the watch
                time.sleep(0.01)
            raise TransportFault(kind, "timed out")

    settings = HttpSettings(read_timeout=30.0, deadline=0.3, attempts=3, log_retries=False)
    with pytest.raises(RestError) as caught:
        # A launch is never replayed after a timeout: the first attempt's error is the call's.
        PsaClient("http://127.0.0.1:9/cloud-automation-service", "sid", settings,
                  session=AtTheDeadline()).launch_service("b", "W", {})
    assert "no complete answer within the call's deadline of 0.3 s" in caught.value.message
    assert AtTheDeadline.calls == 1


# --- URLs that name no server, and answers past the transport's bounds (docs/emulator.md) -------------
@pytest.mark.parametrize("netloc", ["127.0.0.1:99999", "127.0.0.1:abc", "127.0.0.1:-1", "[::1", ""])
def test_a_url_that_names_no_server_is_one_invalid_url_line(transport, netloc):
    with pytest.raises(RestError) as caught:
        PsaClient(f"http://{netloc}/cloud-automation-service", "sid", FAST, session=transport).get_instance(1)
    assert caught.value.status is None and "InvalidURL" in caught.value.message
    assert "\n" not in str(caught.value) and "sid" not in str(caught.value)


@pytest.mark.parametrize("url, problem", [
    ("http://127.0.0.1:0/x", "http://127.0.0.1:0/x: port 0 is no server's port (1-65535)"),
    ("http://127.0.0.1:99999/x?token=1", "http://127.0.0.1:99999/x: Port out of range 0-65535"),
    ("http://user:pw@[::1/x", "http://[::1/x: Invalid IPv6 URL"),
    ("ftp://127.0.0.1/x", "ftp://127.0.0.1/x: the scheme must be http or https, not 'ftp'"),
    ("http:///x", "http:///x: no host"),
])
def test_the_loopback_transport_tells_a_url_problem_as_its_own_fault(url, problem):
    """Port 0 is refused, not sent to port 80 (``requests`` connects to 80: not comparable)."""
    from psa_scripts.clients.http import TransportFault

    with pytest.raises(TransportFault) as caught:
        LoopbackTransport().send("GET", url)
    assert caught.value.kind == "InvalidURL" and str(caught.value) == f"InvalidURL: {problem}"


class _Misbehaving:
    """A server that answers each request with ``answer()``'s chunks, sent until they run out
    (each generator is bounded) or the client hangs up, then closes the connection."""

    def __init__(self, answer) -> None:
        self.answer = answer
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/cloud-automation-service"
        self.sent = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                try:
                    for chunk in self.answer():
                        connection.sendall(chunk)
                        self.sent += len(chunk)
                except OSError:
                    pass  # the client hung up: what a bounded client does

    def close(self) -> None:
        self.listener.close()


def _endless_headers():
    yield b"HTTP/1.1 200 OK\r\n"
    for number in range(200_000):  # about 5 MB: far more than any bound, yet it ends
        yield b"X-Header-%d: %d\r\n" % (number, number)


def _one_huge_header():
    yield b"HTTP/1.1 200 OK\r\nX-Huge: "
    for _ in range(100):
        yield b"a" * 65536


def _absurd_length():
    yield b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000000000\r\n\r\n{}"


def _absurd_chunk():
    yield b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFF\r\n{}"


@pytest.mark.parametrize("answer, loopback_says, requests_says", [
    (_endless_headers, "ConnectionError: TooLarge: more than 100 header fields", "got more than 100 headers"),
    (_one_huge_header, "ConnectionError: TooLarge: a header block of more than 65536 bytes", "got more than 65536 bytes"),
    (_absurd_length, "ConnectionError: TooLarge: a body of 100000000000 bytes, more than the 67108864 bytes allowed",
     "IncompleteRead"),
    (_absurd_chunk, "ConnectionError: TooLarge: a chunked body of more than the 67108864 bytes allowed",
     "IncompleteRead"),
], ids=["endless-headers", "huge-header", "absurd-content-length", "absurd-chunk"])
def test_an_answer_past_the_bounds_is_a_fault_not_a_memory_error(transport, answer, loopback_says, requests_says):
    server = _Misbehaving(answer)
    settings = HttpSettings(connect_timeout=1.0, read_timeout=2.0, deadline=10.0, attempts=1, log_retries=False)
    try:
        with pytest.raises(RestError) as caught:
            PsaClient(server.url, "sid", settings, session=transport).get_instance(1)
    finally:
        server.close()
    assert caught.value.status is None and "\n" not in str(caught.value)
    expected = loopback_says if isinstance(transport, LoopbackTransport) else requests_says
    assert expected in caught.value.message


def _to_the_end(size):
    def answer():
        yield b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"instance_id\": 1" + b" " * 10
        for _ in range(size // (1024 * 1024)):
            yield b" " * (1024 * 1024)
        yield b"}"
    return answer


def test_an_answer_that_runs_to_the_end_of_the_connection(transport):
    server = _Misbehaving(_to_the_end(2 * 1024 * 1024))
    try:
        assert PsaClient(server.url, "sid", FAST, session=transport).get_instance(1).instance_id == 1
    finally:
        server.close()


def test_an_answer_running_to_the_end_past_the_bound_is_a_fault():
    """``requests`` reads such an answer whole: the bound is the loopback transport's alone."""
    from psa_scripts.clients.loopback import MAX_ANSWER_BYTES

    server = _Misbehaving(_to_the_end(MAX_ANSWER_BYTES + 1024 * 1024))
    settings = HttpSettings(connect_timeout=1.0, read_timeout=5.0, deadline=30.0, attempts=1, log_retries=False)
    try:
        with pytest.raises(RestError) as caught:
            PsaClient(server.url, "sid", settings, session=LoopbackTransport()).get_instance(1)
    finally:
        server.close()
    assert caught.value.status is None and caught.value.message.endswith(
        f"ConnectionError: _Closed: an answer body of more than the {MAX_ANSWER_BYTES} bytes allowed")
