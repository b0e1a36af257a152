"""The emulator itself, driven with plain ``requests``: state, auth, recording, faults."""

import threading
import time

import pytest
import requests

from psa_scripts.clients import routes
from psa_scripts.model import ServiceInstance
from psa_scripts.local.emulator import Refused
from psa_scripts.testing.emulator import ProActiveEmulator

TIMEOUT = 5


@pytest.fixture
def emu():
    with ProActiveEmulator() as emulator:
        emulator.add_instance({"instance_id": 1, "instance_status": "RUNNING"})
        yield emulator


@pytest.fixture
def auth(emu):
    return {"sessionid": emu.new_session()}


def get(url, headers=None, **kwargs):
    return requests.get(url, headers=headers, timeout=TIMEOUT, **kwargs)


def test_urls_and_free_port():
    with ProActiveEmulator() as emu:
        assert emu.url.startswith("http://127.0.0.1:") and not emu.url.endswith(":0")
        assert emu.psa_url == emu.url + "/cloud-automation-service"
        assert emu.scheduler_url == emu.url + "/rest"
        assert emu.catalog_url == emu.url + "/catalog"
        assert emu.running
    assert not emu.running
    emu.stop()  # stopping twice is harmless


def test_start_and_stop_without_context_manager():
    emu = ProActiveEmulator().start()
    try:
        assert get(emu.psa_url + "/serviceInstances").status_code == 401
    finally:
        emu.stop()


def test_every_route_but_login_needs_a_valid_session(emu):
    for headers in (None, {"sessionid": "forged"}):
        answer = get(emu.psa_url + "/serviceInstances/1", headers)
        assert answer.status_code == 401
        assert "session" in answer.json()["errorMessage"]
    login = requests.post(emu.scheduler_url + "/scheduler/login",
                          data={"username": "admin", "password": "admin"}, timeout=TIMEOUT)
    assert login.status_code == 200 and login.text in emu.sessions
    assert get(emu.psa_url + "/serviceInstances/1", {"sessionid": login.text}).status_code == 200


def test_bad_login(emu):
    answer = requests.post(emu.scheduler_url + "/scheduler/login",
                           data={"username": "admin", "password": "nope"}, timeout=TIMEOUT)
    assert answer.status_code == 401


def test_requests_are_recorded(emu, auth):
    requests.put(emu.psa_url + "/serviceInstances/1?x=1&y=", json={"instance_id": 1, "k": "v"},
                 headers=dict(auth, Extra="yes"), timeout=TIMEOUT)
    recorded = emu.requests[-1]
    assert recorded.method == "PUT"
    assert recorded.path == "/cloud-automation-service/serviceInstances/1"
    assert recorded.query == {"x": "1", "y": ""}
    assert recorded.headers["sessionid"] == auth["sessionid"] and recorded.headers["extra"] == "yes"
    assert recorded.json == {"instance_id": 1, "k": "v"}
    assert recorded.body == b'{"instance_id": 1, "k": "v"}'
    assert emu.instance(1) == {"instance_id": 1, "k": "v"}


def test_instances_state(emu, auth):
    new_id = emu.add_instance(ServiceInstance(label="from the model"))
    assert new_id == 2
    copy = emu.instance(2)
    copy["label"] = "changed"
    assert emu.instance(2) == {"instance_id": 2, "label": "from the model"}
    listed = get(emu.psa_url + "/serviceInstances", auth).json()
    assert [item["instance_id"] for item in listed] == [1, 2]


def test_put_rejects_a_document_for_another_instance(emu, auth):
    answer = requests.put(emu.psa_url + "/serviceInstances/1", json={"instance_id": 2},
                          headers=auth, timeout=TIMEOUT)
    assert answer.status_code == 400
    assert emu.instance(1)["instance_status"] == "RUNNING"


def test_unknown_route_and_wrong_method(emu, auth):
    assert get(emu.psa_url + "/nothing/here", auth).status_code == 404
    answer = requests.delete(emu.psa_url + "/serviceInstances/1", headers=auth, timeout=TIMEOUT)
    assert answer.status_code == 405


def test_public_address_route(emu, auth):
    url = emu.psa_url + routes.PSA_PUBLIC_ADDRESS.path
    assert get(url, auth).status_code == 404
    emu.public_address = "198.51.100.4"
    assert get(url, auth).text == "198.51.100.4"


def test_faults_are_consumed_in_order(emu, auth):
    emu.fail("GET", r"/serviceInstances/1$", 500)
    emu.fail("GET", r"/serviceInstances/1$", 503, body="busy")
    statuses = [get(emu.psa_url + "/serviceInstances/1", auth) for _ in range(3)]
    assert [a.status_code for a in statuses] == [500, 503, 200]
    assert statuses[1].json()["errorMessage"] == "busy"


def test_fault_forever_and_only_on_matching_method(emu, auth):
    emu.fail("GET", r"/serviceInstances/1$", 502, times=None)
    assert all(get(emu.psa_url + "/serviceInstances/1", auth).status_code == 502 for _ in range(3))
    answer = requests.put(emu.psa_url + "/serviceInstances/1", json={"instance_id": 1},
                          headers=auth, timeout=TIMEOUT)
    assert answer.status_code == 200


def test_drop_closes_the_connection_without_an_answer(emu, auth):
    emu.drop("GET", r"/serviceInstances/1$")
    with pytest.raises(requests.ConnectionError):
        get(emu.psa_url + "/serviceInstances/1", auth)
    assert get(emu.psa_url + "/serviceInstances/1", auth).status_code == 200
    assert len(emu.requests) == 2


def test_delay(emu, auth):
    emu.delay("GET", r"/serviceInstances/1$", 0.3)
    started = time.monotonic()
    assert get(emu.psa_url + "/serviceInstances/1", auth).status_code == 200
    assert time.monotonic() - started >= 0.3
    emu.delay("GET", r"/serviceInstances/1$", 1.0)
    with pytest.raises(requests.Timeout):
        requests.get(emu.psa_url + "/serviceInstances/1", headers=auth, timeout=0.2)


def test_after_runs_between_the_answer_and_the_next_request(emu, auth):
    seen = []

    def concurrent_writer(emulator, recorded):
        seen.append(recorded.method)
        emulator.instances[1]["label"] = "written by someone else"

    emu.after("GET", r"/serviceInstances/1$", concurrent_writer)
    first = get(emu.psa_url + "/serviceInstances/1", auth).json()
    second = get(emu.psa_url + "/serviceInstances/1", auth).json()
    assert "label" not in first
    assert second["label"] == "written by someone else"
    assert seen == ["GET"]


def test_scheduler_and_rm_state(emu, auth):
    base = emu.scheduler_url
    requests.post(base + "/scheduler/jobs/7/services",
                  params={"serviceInstanceid": 1, "enableActions": "true"}, headers=auth,
                  timeout=TIMEOUT)
    assert emu.services == {("7", 1, True)}
    requests.post(base + "/scheduler/credentials/", data={"key": "k", "value": "v"}, headers=auth,
                  timeout=TIMEOUT)
    assert emu.credentials == {"k": "v"}
    requests.post(base + "/rm/node/token", headers=dict(auth, nodeurl="pnp://n", token="PSA_x"),
                  timeout=TIMEOUT)
    assert emu.node_tokens == {"pnp://n": {"PSA_x"}}
    missing = requests.post(base + "/rm/node/token", headers=auth, timeout=TIMEOUT)
    assert missing.status_code == 400
    emu.job_status["7"] = "RUNNING"
    assert get(base + "/scheduler/jobs/7/info", auth).json()["status"] == "RUNNING"


def test_add_route_serves_a_new_route(emu, auth):
    def list_buckets(recorded):
        return 200, [{"name": "service-automation"}]

    emu.add_route("GET", "^/catalog/buckets$", list_buckets)
    assert get(emu.catalog_url + "/buckets", auth).json() == [{"name": "service-automation"}]
    assert get(emu.catalog_url + "/buckets").status_code == 401


def test_concurrent_requests_are_all_served_and_recorded(emu, auth):
    answers = []

    def worker():
        answers.append(get(emu.psa_url + "/serviceInstances/1", auth).status_code)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * 20
    assert len(emu.requests) == 20


# --- the wire: HTTP/1.1 headers read without the email parser; anything else the standard way ----------
def _exchange(emu, request: bytes) -> bytes:
    """Send raw bytes, return everything the emulator answers until it closes the connection."""
    import socket
    from urllib.parse import urlsplit

    with socket.create_connection(("127.0.0.1", urlsplit(emu.url).port), timeout=TIMEOUT) as connection:
        connection.sendall(request)
        answer = b""
        while True:
            data = connection.recv(65536)
            if not data:
                return answer
            answer += data


def _request(emu, sid, version="HTTP/1.1", extra=b""):
    return (b"GET /cloud-automation-service/serviceInstances/1 " + version.encode() + b"\r\nHost: x\r\n"
            b"SessionID: " + sid.encode() + b"\r\nConnection: close\r\n" + extra + b"\r\n")


def test_header_names_are_case_insensitive_and_recorded_in_lower_case(emu, auth):
    answer = _exchange(emu, _request(emu, auth["sessionid"]))
    assert answer.startswith(b"HTTP/1.1 200 ") and b'"instance_id": 1' in answer
    assert emu.requests[-1].headers["sessionid"] == auth["sessionid"]


def test_an_http_1_0_request_is_served_the_standard_way(emu, auth):
    answer = _exchange(emu, _request(emu, auth["sessionid"], "HTTP/1.0"))
    assert answer.startswith(b"HTTP/1.1 200 ") and b'"instance_id": 1' in answer


@pytest.mark.parametrize("extra, status", [
    (b"".join(b"X-%d: 1\r\n" % n for n in range(100)), b"431"),  # 101 fields with Host and the others
    (b"X-Big: " + b"a" * 65536 + b"\r\n", b"431"),
    (b"Transfer-Encoding: gzip\r\n", b"501"),
    (b" folded: line\r\n", b"400"),
    (b"no colon here\r\n", b"400"),
])
def test_what_the_emulator_does_not_read_is_refused_with_a_status(emu, auth, extra, status):
    answer = _exchange(emu, _request(emu, auth["sessionid"], extra=extra))
    assert answer.startswith(b"HTTP/1.1 " + status + b" ")
    assert emu.requests == []


def test_expect_100_continue_is_honoured(emu, auth):
    body = b'{"instance_id": 1, "instance_status": "PAUSED"}'
    request = (b"PUT /cloud-automation-service/serviceInstances/1 HTTP/1.1\r\nHost: x\r\nsessionid: "
               + auth["sessionid"].encode() + b"\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
               b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    answer = _exchange(emu, request)
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 ")
    assert emu.instance(1)["instance_status"] == "PAUSED"


def test_a_chunked_request_body_is_read_as_jetty_reads_it(emu, auth):
    """ProActive's REST APIs run in Jetty, which accepts chunked request bodies: so does the emulator."""
    body = b'{"instance_id": 1, "instance_status": "FINISHED"}'
    chunks = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (10, body[:10], len(body) - 10, body[10:])
    request = (b"PUT /cloud-automation-service/serviceInstances/1 HTTP/1.1\r\nHost: x\r\nsessionid: "
               + auth["sessionid"].encode() + b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
               b"Connection: close\r\n\r\n" + chunks)
    assert _exchange(emu, request).startswith(b"HTTP/1.1 200 ")
    assert emu.requests[-1].body == body and emu.instance(1)["instance_status"] == "FINISHED"


# --- RFC 9112's framing rules and the emulator's bounds (docs/emulator.md) -------------------------
def _write(sid, head, body=b"", method=b"PUT", path=b"/cloud-automation-service/serviceInstances/1"):
    return (method + b" " + path + b" HTTP/1.1\r\nHost: x\r\nsessionid: " + sid.encode()
            + b"\r\nContent-Type: application/json\r\n" + head + b"\r\n" + body)


def test_a_request_framed_two_ways_is_refused_and_the_request_smuggled_behind_it_is_not_served(emu, auth):
    """RFC 9112 6.1: Content-Length with chunked may be request smuggling: 400, then close."""
    smuggled = _write(auth["sessionid"], b"Content-Length: 0\r\n", method=b"DELETE")
    as_chunked = b"0\r\n\r\n"  # chunked, the body ends here and the DELETE would be the next request
    request = _write(auth["sessionid"], b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n"
                     % (len(as_chunked) + len(smuggled)), as_chunked + smuggled)
    answer = _exchange(emu, request)  # returns once the emulator closed the connection
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n") and answer.count(b"HTTP/1.1 ") == 1
    assert b"Connection: close\r\n" in answer and b"both Transfer-Encoding and Content-Length" in answer
    assert emu.requests == [] and list(emu.refused) == [
        Refused("PUT", "/cloud-automation-service/serviceInstances/1", 400)]


@pytest.mark.parametrize("lengths", [
    [b"-1"], [b"+5"], [b"0x5"], [b"5 5"], [b"1_0"], [b""], [b"5, 5"], [b"5", b"5"], [b"5", b"6"],
    ["\u00b2".encode("latin-1")],  # a superscript two: a digit to str.isdigit, not to RFC 9110
    ["\u0665".encode()],  # an Arabic-Indic five, which int() would read as 5
], ids=repr)
def test_an_invalid_or_repeated_content_length_is_a_400_and_the_connection_closes(emu, auth, lengths):
    head = b"".join(b"Content-Length: " + length + b"\r\n" for length in lengths)
    answer = _exchange(emu, _write(auth["sessionid"], head, b"hello"))
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n") and b"Connection: close\r\n" in answer
    assert emu.requests == [] and emu.instance(1)["instance_status"] == "RUNNING"


@pytest.mark.parametrize("coding, status", [
    (b"gzip", b"501 Not Implemented"), (b"gzip, chunked", b"501 Not Implemented"),
    (b"chunked, gzip", b"400 Bad Request"), (b"chunked, chunked", b"400 Bad Request"),
])
def test_transfer_codings_but_chunked_alone_are_refused(emu, auth, coding, status):
    answer = _exchange(emu, _write(auth["sessionid"], b"Transfer-Encoding: " + coding + b"\r\n", b"0\r\n\r\n"))
    assert answer.startswith(b"HTTP/1.1 " + status + b"\r\n") and emu.requests == []


def _answer_without_sending_the_body(emu, request):
    """Send a request's head only and read the whole answer: it comes only if the emulator
    answered without waiting for the body (else the read times out)."""
    return _exchange(emu, request)


def test_a_body_past_the_limit_is_a_413_answered_before_the_body_is_read(emu, auth):
    declared = emu.max_body_bytes + 1
    answer = _answer_without_sending_the_body(emu, _write(auth["sessionid"], b"Content-Length: %d\r\n" % declared))
    assert answer.startswith(b"HTTP/1.1 413 Content Too Large\r\n") and b"Connection: close\r\n" in answer
    assert b"a body of %d bytes, more than the %d bytes allowed" % (declared, emu.max_body_bytes) in answer
    assert emu.requests == [] and [r.status for r in emu.refused] == [413]


def test_a_chunked_body_past_the_limit_is_a_413_before_the_chunk_is_read():
    with ProActiveEmulator(max_body_bytes=1000) as emu:
        sid = emu.new_session()
        first = b"%x\r\n%s\r\n" % (600, b"x" * 600)
        answer = _exchange(emu, _write(sid, b"Transfer-Encoding: chunked\r\n", first + b"%x\r\n" % 600))
        assert answer.startswith(b"HTTP/1.1 413 Content Too Large\r\n") and emu.requests == []


def test_a_request_without_a_session_is_refused_before_its_body_is_read_and_not_recorded(emu):
    answer = _answer_without_sending_the_body(emu, _write("forged", b"Content-Length: 1000000\r\n", b"{"))
    assert answer.startswith(b"HTTP/1.1 401 Unauthorized\r\n") and b"Connection: close\r\n" in answer
    assert emu.requests == [] and list(emu.refused) == [
        Refused("PUT", "/cloud-automation-service/serviceInstances/1", 401)]


@pytest.mark.parametrize("framing", [b"Content-Length: %d\r\n" % (64 * 1024 + 1), b"Transfer-Encoding: chunked\r\n"])
def test_a_login_body_is_bounded_far_lower_than_a_sessions(emu, framing):
    """A login needs no session: its form is bounded to 64 KiB, so an unauthenticated client cannot
    make the emulator read (nor record) the 32 MiB a session's upload may carry."""
    body = b"" if framing.startswith(b"Content-Length") else b"%x\r\n" % (64 * 1024 + 1)
    request = (b"POST /rest/scheduler/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
               b"\r\n" + framing + b"\r\n" + body)
    answer = _answer_without_sending_the_body(emu, request)
    assert answer.startswith(b"HTTP/1.1 413 Content Too Large\r\n") and b"Connection: close\r\n" in answer
    assert emu.requests == [] and list(emu.refused) == [Refused("POST", "/rest/scheduler/login", 413)]


def test_unauthenticated_bodies_leave_the_emulators_memory_flat(emu):
    """Six clients send a whole 4 MB body without a session: each reads its 401, and nothing of the
    bodies is kept (the emulator drops what it reads after refusing)."""
    import socket
    import tracemalloc
    from urllib.parse import urlsplit

    size = 4 * 1024 * 1024
    request = _write("forged", b"Content-Length: %d\r\n" % size, b"x" * size)  # before the count starts
    answers = []

    def post():
        with socket.create_connection(("127.0.0.1", urlsplit(emu.url).port), timeout=TIMEOUT) as connection:
            connection.sendall(request)
            answers.append(connection.recv(65536))

    tracemalloc.start()
    try:
        threads = [threading.Thread(target=post) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [answer[:25] for answer in answers] == [b"HTTP/1.1 401 Unauthorized"] * 6
    assert emu.requests == [] and [r.status for r in emu.refused] == [401] * 6
    assert peak < size, f"{peak} bytes allocated while refusing six bodies of {size}"


def test_an_idle_connection_is_closed():
    import socket
    from urllib.parse import urlsplit

    with ProActiveEmulator(idle_timeout=0.2) as emu:
        with socket.create_connection(("127.0.0.1", urlsplit(emu.url).port), timeout=TIMEOUT) as connection:
            assert connection.recv(1024) == b""  # closed by the emulator, well before the read timeout


def test_connections_past_the_bound_are_answered_503_until_one_ends():
    import socket
    from urllib.parse import urlsplit

    with ProActiveEmulator(max_connections=2) as emu:
        emu.add_instance({"instance_id": 1, "instance_status": "RUNNING"})
        address = ("127.0.0.1", urlsplit(emu.url).port)
        holders = [socket.create_connection(address, timeout=TIMEOUT) for _ in range(2)]
        with socket.create_connection(address, timeout=TIMEOUT) as third:
            answer = b""
            while chunk := third.recv(1024):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n")
        holders.pop().close()
        deadline = time.monotonic() + TIMEOUT
        while True:  # the slot is free once the holder's thread has seen the close
            answer = _exchange(emu, _request(emu, emu.new_session()))
            if not answer.startswith(b"HTTP/1.1 503 ") or time.monotonic() > deadline:
                break
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
        holders.pop().close()
