"""The emulator itself, driven with plain ``requests``: state, auth, recording, faults."""

import threading
import time

import pytest
import requests

from psa_scripts.clients import routes
from psa_scripts.model import ServiceInstance
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
