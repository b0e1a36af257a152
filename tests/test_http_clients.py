"""The REST clients against the real emulator: what goes on the wire, retries, errors."""

import json
import socket
import ssl
import subprocess
import sys
import threading
import time
from urllib.parse import quote, quote_plus, unquote_plus

import pytest

from psa_scripts import names
from psa_scripts.clients import routes
from psa_scripts.clients.http import HttpSettings, RestClient, safe_url
from psa_scripts.clients.psa import PsaClient
from psa_scripts.clients.rm import RmClient
from psa_scripts.clients.scheduler import SchedulerClient
from psa_scripts.errors import InputError, PsaScriptError, RestError
from psa_scripts.instances import set_status, update_instance
from psa_scripts.model import Container, Deployment, Endpoint, ServiceInstance
from psa_scripts.redact import redact, secret_forms
from psa_scripts.testing.emulator import ProActiveEmulator

# Tiny waits: the bounds below are limits, not timing benchmarks.
FAST = HttpSettings(connect_timeout=1.0, read_timeout=1.0, deadline=5.0,
                    backoff_initial=0.01, backoff_max=0.05)
INSTANCE_PATH = r"/serviceInstances/1$"

STORED = {
    "instance_id": 1,
    "service_id": "COCO_Annotator",
    "instance_status": "VOID",
    "variables": {"INSTANCE_NAME": "coco-1"},
    "deployments": [],
    "groups": [],
    "job_submissions": [{"transition_state": "VOID -> RUNNING", "job_id": 12}],
    "psa_only_field": {"kept": True},
}


@pytest.fixture
def emu():
    with ProActiveEmulator() as emulator:
        emulator.add_instance(dict(STORED))
        yield emulator


@pytest.fixture
def session(emu):
    return emu.new_session()


@pytest.fixture
def psa(emu, session):
    return PsaClient(emu.psa_url, session, FAST)


@pytest.fixture
def closed_url():
    """A URL whose port refuses connections: bound but not listening, so no one else's
    server (tests run concurrently on this machine) can take it meanwhile."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    yield f"http://127.0.0.1:{holder.getsockname()[1]}/cloud-automation-service"
    holder.close()


def _count(emu, method, path=INSTANCE_PATH):
    return len(emu.requests_to(method, path))


def _assert_no_secret(emu, session, error=None):
    for recorded in emu.requests:
        assert session not in recorded.path and session not in str(recorded.query)
    if error is not None:
        assert session not in str(error) and session not in error.url


# --- PSA: exact requests --------------------------------------------------------------------
def test_get_then_put_sends_the_whole_document_with_unknown_fields(emu, psa, session):
    instance = psa.get_instance(1)
    instance.instance_status = names.RUNNING
    instance.add_deployment(Deployment(
        container=Container(id="c1", name="coco-1"),
        endpoint=Endpoint(id="gui-1", url="http://h:5000", proxyfied=True, proxyfied_url="https://p/"),
    ))
    returned = psa.put_instance(instance)

    put = emu.requests_to("PUT", INSTANCE_PATH)[-1]
    assert put.headers["sessionid"] == session
    assert put.headers["content-type"] == "application/json"
    expected = dict(STORED, instance_status="RUNNING", deployments=[{
        "container": {"id": "c1", "name": "coco-1"},
        "endpoint": {"id": "gui-1", "url": "http://h:5000", "proxyfied": True,
                     "proxyfiedUrl": "https://p/"},
    }])
    assert put.json == expected
    assert emu.instance(1) == expected
    assert returned.to_json() == expected


def test_list_instances_and_active_ones(emu, psa):
    emu.add_instance({"instance_id": 2, "instance_status": "FINISHED"})
    assert [i.instance_id for i in psa.list_instances()] == [1, 2]
    assert [i.instance_id for i in psa.list_instances(active_only=True)] == [1]


def test_launch_service_and_run_action_bodies(emu, psa):
    launched = psa.launch_service("service-automation", "COCO_Annotator", {"PROXYFIED": True})
    assert emu.requests[-1].json == {"bucket_name": "service-automation",
                                     "workflow_name": "COCO_Annotator",
                                     "variables": {"PROXYFIED": "True"}}
    assert launched.instance_id == 2 and emu.instance(2)["instance_status"] == "VOID"
    psa.run_action(1, "service-automation", "Finish_COCO_Annotator", {"A": "1"})
    action = emu.requests_to("PUT", r"/serviceInstances/1/action$")[0]
    assert action.json == {"bucket_name": "service-automation",
                           "workflow_name": "Finish_COCO_Annotator", "variables": {"A": "1"}}


# --- retries ------------------------------------------------------------------------------------
def test_two_503_then_success_retries_the_put(emu, psa, session, capsys):
    emu.fail("PUT", INSTANCE_PATH, 503, times=2)
    instance = psa.get_instance(1)
    instance.label = "retried"
    psa.put_instance(instance)
    assert _count(emu, "PUT") == 3
    assert emu.instance(1)["label"] == "retried"
    log = capsys.readouterr().err
    assert log.count("HTTP 503") == 2 and session not in log
    assert all(len(line) < 200 for line in log.splitlines())


def test_one_dropped_connection_then_success(emu, psa):
    emu.drop("GET", INSTANCE_PATH)
    assert psa.get_instance(1).instance_id == 1
    assert _count(emu, "GET") == 2


def test_persistent_503_raises_within_the_bound(emu, psa, session):
    emu.fail("PUT", INSTANCE_PATH, 503, times=None, body="maintenance in progress")
    started = time.monotonic()
    with pytest.raises(RestError) as caught:
        psa.put_instance(ServiceInstance.from_json(STORED))
    assert time.monotonic() - started < 3.0
    assert _count(emu, "PUT") == FAST.attempts
    error = caught.value
    assert (error.method, error.status, error.message) == ("PUT", 503, "maintenance in progress")
    assert error.url == emu.psa_url + "/serviceInstances/1"
    _assert_no_secret(emu, session, error)


def test_deadline_bounds_the_retries_before_the_attempts_do(emu, session):
    settings = HttpSettings(attempts=1000, deadline=0.5, backoff_initial=0.05, backoff_max=0.05,
                            log_retries=False)
    emu.fail("GET", INSTANCE_PATH, 503, times=None)
    started = time.monotonic()
    with pytest.raises(RestError):
        PsaClient(emu.psa_url, session, settings).get_instance(1)
    assert time.monotonic() - started < 2.0
    assert 2 <= _count(emu, "GET") < 50


def test_persistent_500_fails_after_exactly_one_request(emu, psa):
    emu.fail("PUT", INSTANCE_PATH, 500, times=None)
    with pytest.raises(RestError) as caught:
        psa.put_instance(ServiceInstance.from_json(STORED))
    assert caught.value.status == 500
    assert _count(emu, "PUT") == 1


@pytest.mark.parametrize("status", [400, 404, 409])
def test_4xx_is_not_retried(emu, psa, status):
    emu.fail("GET", INSTANCE_PATH, status, times=None)
    with pytest.raises(RestError) as caught:
        psa.get_instance(1)
    assert caught.value.status == status
    assert _count(emu, "GET") == 1


def test_unknown_instance_is_a_404_not_retried(emu, psa):
    with pytest.raises(RestError) as caught:
        psa.get_instance(99)
    assert caught.value.status == 404 and "no service instance 99" in caught.value.message
    assert len(emu.requests) == 1


def test_bad_session_is_a_401_not_retried_and_never_echoed(emu):
    secret = "not-a-valid-session-0123456789"
    with pytest.raises(RestError) as caught:
        PsaClient(emu.psa_url, secret, FAST).get_instance(1)
    assert caught.value.status == 401
    assert emu.requests == [] and [r.status for r in emu.refused] == [401]  # refused once, never recorded
    _assert_no_secret(emu, secret, caught.value)


def test_read_timeout_is_retried_then_reported(emu, session):
    settings = HttpSettings(connect_timeout=1.0, read_timeout=0.2, attempts=2,
                            backoff_initial=0.01, backoff_max=0.01)
    emu.delay("GET", INSTANCE_PATH, 10.0, times=None)  # unbounded, two attempts would take 20 s
    started = time.monotonic()
    with pytest.raises(RestError) as caught:
        PsaClient(emu.psa_url, session, settings).get_instance(1)
    assert time.monotonic() - started < 5.0
    assert caught.value.status is None and "Timeout" in caught.value.message
    assert _count(emu, "GET") == 2
    _assert_no_secret(emu, session, caught.value)


def test_one_slow_answer_then_success(emu, session):
    settings = HttpSettings(read_timeout=0.5, backoff_initial=0.01, backoff_max=0.01)
    emu.delay("GET", INSTANCE_PATH, 1.5)
    assert PsaClient(emu.psa_url, session, settings).get_instance(1).instance_id == 1
    assert _count(emu, "GET") == 2


def test_unreachable_server_is_a_rest_error_without_status(session, closed_url):
    with pytest.raises(RestError) as caught:
        PsaClient(closed_url, session, FAST).get_instance(1)
    assert caught.value.status is None and "ConnectionError" in caught.value.message
    assert session not in str(caught.value)


def test_launching_is_not_replayed_after_a_lost_answer(emu, psa):
    emu.drop("POST", r"/serviceInstances$")
    with pytest.raises(RestError):
        psa.launch_service("b", "w", {})
    assert len(emu.launches) == 0 and _count(emu, "POST", r"/serviceInstances$") == 1
    emu.fail("POST", r"/serviceInstances$", 503)
    assert psa.launch_service("b", "w", {}) is not None
    assert len(emu.launches) == 1


def test_an_action_is_not_replayed_after_a_lost_answer(emu, psa):
    emu.add_instance({"instance_id": 1, "instance_status": "RUNNING"})
    emu.drop("PUT", r"/serviceInstances/1/action$")
    with pytest.raises(RestError):
        psa.run_action(1, "b", "Finish_X", {})
    assert _count(emu, "PUT", r"/serviceInstances/1/action$") == 1


def test_error_url_has_no_query_string(emu, session):
    emu.fail("POST", r"/services$", 500)
    with pytest.raises(RestError) as caught:
        SchedulerClient(emu.scheduler_url, session, FAST).registerService("12", 1, True)
    assert "?" not in caught.value.url and "serviceInstanceid" not in str(caught.value)


def test_safe_url_drops_query_and_credentials():
    assert safe_url("https://u:p@host:8443/rest/x?key=secret#f") == "https://host:8443/rest/x"


def test_server_message_is_trimmed(emu, psa):
    emu.fail("GET", INSTANCE_PATH, 400, body="x" * 5000)
    with pytest.raises(RestError) as caught:
        psa.get_instance(1)
    assert len(caught.value.message) <= 300


def test_server_echoing_the_session_id_is_scrubbed(emu, psa, session):
    emu.fail("GET", INSTANCE_PATH, 403, body=f"session {session} may not read this")
    with pytest.raises(RestError) as caught:
        psa.get_instance(1)
    assert caught.value.message == "session <hidden> may not read this"


def test_an_answer_that_is_not_json_is_a_rest_error(emu, psa):
    route = routes.Route("GET", "/html", routes.PSA)
    emu.add_route("GET", "^/cloud-automation-service/html$", lambda recorded: (200, "<html>login"))
    with pytest.raises(RestError, match="expected JSON, got: <html>login"):
        psa.request_json(route)


def test_an_instance_that_is_not_an_object_is_a_rest_error(emu, psa):
    emu.instances[1] = ["not", "an", "object"]
    with pytest.raises(RestError, match="expected a JSON object"):
        psa.get_instance(1)


def test_put_without_instance_id_is_refused_before_sending(emu, psa):
    with pytest.raises(InputError):
        psa.put_instance(ServiceInstance(label="x"))
    assert emu.requests == []


def test_client_refuses_routes_of_another_service(emu, session):
    with pytest.raises(ValueError):
        PsaClient(emu.psa_url, session, FAST).request(routes.RM_ADD_NODE_TOKEN)


# --- public address ------------------------------------------------------------------------------
@pytest.mark.parametrize("answer, expected", [
    (None, None),  # the route answers 404
    ("127.0.0.1", None),
    ("::1", None),
    ("", None),
    ("203.0.113.7", "203.0.113.7"),
    ('"203.0.113.7"\n', "203.0.113.7"),
    ("node-1.example.org", "node-1.example.org"),
])
def test_public_address(emu, psa, answer, expected):
    emu.public_address = answer
    assert psa.public_address() == expected


def test_public_address_is_none_on_any_error(emu, psa, session, closed_url):
    emu.public_address = "203.0.113.7"
    emu.fail("GET", r"/ipUtils/", 500)
    assert psa.public_address() is None
    assert PsaClient(emu.psa_url, "bad-session", FAST).public_address() is None
    assert PsaClient(closed_url, session, FAST).public_address() is None


# --- update_instance -------------------------------------------------------------------------------
def _add_gui(instance):
    instance.instance_status = names.RUNNING
    instance.add_deployment(Deployment(endpoint=Endpoint(id="gui-1", url="http://h:1")))


def _stale_writer(field, value):
    """A writer that read the instance before our PUT and writes its copy after it."""
    stale = dict(STORED)

    def write(emulator, recorded):
        emulator.instances[1] = dict(stale, **{field: value})

    return write


def test_update_instance_reapplies_a_change_a_concurrent_writer_overwrote(emu, psa, capsys):
    emu.after("PUT", INSTANCE_PATH, _stale_writer("label", "set by the other writer"))
    result = update_instance(psa, 1, _add_gui)
    stored = emu.instance(1)
    assert stored["label"] == "set by the other writer"
    assert stored["instance_status"] == "RUNNING"
    assert [d["endpoint"]["id"] for d in stored["deployments"]] == ["gui-1"]
    assert stored["psa_only_field"] == {"kept": True}
    assert result.to_json() == stored
    assert _count(emu, "PUT") == 2
    assert "concurrent" in capsys.readouterr().err


def test_update_instance_skips_the_put_when_the_change_is_there(emu, psa):
    update_instance(psa, 1, _add_gui)
    update_instance(psa, 1, _add_gui)
    assert _count(emu, "PUT") == 1
    assert len(emu.instance(1)["deployments"]) == 1


def test_update_instance_gives_up_after_three_rounds(emu, psa):
    emu.after("PUT", INSTANCE_PATH, _stale_writer("label", "x"), times=None)
    with pytest.raises(PsaScriptError, match="3 times"):
        update_instance(psa, 1, _add_gui)
    assert _count(emu, "PUT") == 3


def test_set_status_undoes_a_stale_overwrite(emu, psa):
    emu.after("PUT", INSTANCE_PATH, _stale_writer("label", "other"))
    assert set_status(psa, 1, names.RUNNING).instance_status == "RUNNING"
    assert emu.instance(1)["label"] == "other"
    assert _count(emu, "PUT") == 2


def test_set_status_lets_a_newer_status_win(emu, psa):
    emu.after("PUT", INSTANCE_PATH, _stale_writer("instance_status", "FINISHED"))
    assert set_status(psa, 1, names.RUNNING).instance_status == "FINISHED"
    assert _count(emu, "PUT") == 1


# --- scheduler -----------------------------------------------------------------------------------------
def test_login_posts_the_form_without_a_session(emu):
    emu.add_user("alice", "s3cret")
    client = SchedulerClient(emu.scheduler_url, settings=FAST)
    session_id = client.login("alice", "s3cret")
    login = emu.requests[-1]
    assert (login.method, login.path) == ("POST", "/rest/scheduler/login")
    assert login.form == {"username": "alice", "password": "s3cret"}
    assert "sessionid" not in login.headers
    assert emu.sessions[session_id] == "alice" and client.getSession() == session_id


def test_bad_login_is_a_401_without_the_password(emu):
    with pytest.raises(RestError) as caught:
        SchedulerClient(emu.scheduler_url, settings=FAST).login("admin", "wrong-password-42")
    assert caught.value.status == 401 and "wrong-password-42" not in str(caught.value)


def test_connect_logs_in_once_with_credentials(emu):
    client = SchedulerClient(emu.scheduler_url, settings=FAST, username="admin", password="admin")
    assert client.getSession() is None
    client.connect()
    client.connect()
    assert client.getSession() in emu.sessions
    assert len(emu.requests) == 1
    with pytest.raises(InputError):
        SchedulerClient(emu.scheduler_url, settings=FAST).connect()


@pytest.mark.parametrize("enable, sent", [(True, "true"), (False, "false"), ("True", "true"),
                                          ("false", "false")])
def test_register_service(emu, session, enable, sent):
    SchedulerClient(emu.scheduler_url, session, FAST).registerService("12", 1, enable)
    request = emu.requests[-1]
    assert (request.method, request.path) == ("POST", "/rest/scheduler/jobs/12/services")
    assert request.query == {"serviceInstanceid": "1", "enableActions": sent}
    assert request.headers["sessionid"] == session
    assert emu.services == {("12", 1, sent == "true")}


def test_detach_service(emu, session):
    client = SchedulerClient(emu.scheduler_url, session, FAST)
    client.registerService("12", 1, True)
    client.detachService("12", 1)
    request = emu.requests[-1]
    assert (request.method, request.path, request.query) == (
        "DELETE", "/rest/scheduler/jobs/12/services", {"serviceid": "1"})
    assert emu.services == set()


@pytest.mark.parametrize("status, finished", [
    ("FINISHED", True), ("CANCELED", True), ("FAILED", True), ("KILLED", True),
    ("PENDING", False), ("RUNNING", False), ("STALLED", False), ("PAUSED", False),
    ("IN_ERROR", False), ("Finished", True), ("In-Error", False),
])
def test_is_job_finished(emu, session, status, finished):
    emu.job_status["12"] = status
    assert SchedulerClient(emu.scheduler_url, session, FAST).isJobFinished("12") is finished
    request = emu.requests[-1]
    assert (request.method, request.path) == ("GET", "/rest/scheduler/jobs/12/info")


def test_is_job_finished_on_unknown_job_raises(emu, session):
    with pytest.raises(RestError) as caught:
        SchedulerClient(emu.scheduler_url, session, FAST).isJobFinished("404")
    assert caught.value.status == 404


def test_third_party_credentials(emu, session):
    client = SchedulerClient(emu.scheduler_url, session, FAST)
    client.putThirdPartyCredential("coco-1", "p@ss word")
    put = emu.requests[-1]
    assert (put.method, put.path, put.form) == (
        "POST", "/rest/scheduler/credentials/", {"key": "coco-1", "value": "p@ss word"})
    assert emu.credentials == {"coco-1": "p@ss word"}
    client.removeThirdPartyCredential("coco-1")
    remove = emu.requests[-1]
    assert (remove.method, remove.path, remove.query) == (
        "DELETE", "/rest/scheduler/credentials/", {"key": "coco-1"})
    assert emu.credentials == {}


# --- resource manager ---------------------------------------------------------------------------------
def test_node_tokens(emu, session):
    client = RmClient(emu.rm_url, session, FAST)
    client.connect()
    node = "pnp://worker-1:64738/local-LocalNodes-0"
    client.addNodeToken(node, "PSA_coco-1")
    add = emu.requests[-1]
    assert (add.method, add.path) == ("POST", "/rest/rm/node/token")
    assert (add.headers["sessionid"], add.headers["nodeurl"], add.headers["token"]) == (
        session, node, "PSA_coco-1")
    assert emu.node_tokens == {node: {"PSA_coco-1"}}
    client.removeNodeToken(node, "PSA_coco-1")
    assert (emu.requests[-1].method, emu.requests[-1].path) == ("DELETE", "/rest/rm/node/token")
    assert emu.node_tokens == {node: set()}


def test_rm_login(emu):
    client = RmClient(emu.rm_url, settings=FAST, username="admin", password="admin")
    client.connect()
    assert emu.requests[-1].path == "/rest/rm/login" and client.getSession() in emu.sessions


# --- settings ---------------------------------------------------------------------------------------------
def test_settings_defaults_bound_the_whole_call():
    settings = HttpSettings()
    assert settings.attempts == 4 and settings.verify is True
    waits = sum(min(settings.backoff_initial * 2 ** n, settings.backoff_max) for n in range(3))
    assert waits + settings.deadline <= 25 and settings.deadline <= 20


@pytest.mark.parametrize("env, expected", [
    ({}, {"verify": True}),
    ({"PSA_TLS_VERIFY": "false"}, {"verify": False}),
    ({"PSA_TLS_VERIFY": "True"}, {"verify": True}),
    ({"PSA_CA_BUNDLE": "/etc/ca.pem"}, {"verify": "/etc/ca.pem"}),
    ({"PSA_CA_BUNDLE": "/etc/ca.pem", "PSA_TLS_VERIFY": "0"}, {"verify": False}),
    ({"PSA_HTTP_TIMEOUT": "7"}, {"read_timeout": 7.0}),
    ({"PSA_HTTP_TIMEOUT": "2,9.5"}, {"connect_timeout": 2.0, "read_timeout": 9.5}),
])
def test_settings_from_env(env, expected):
    settings = HttpSettings.from_env(env)
    for key, value in expected.items():
        assert getattr(settings, key) == value


@pytest.mark.parametrize("bad", ["soon", "0", "1,2,3", "-4"])
def test_settings_from_env_rejects_bad_timeouts(bad):
    with pytest.raises(InputError, match="PSA_HTTP_TIMEOUT"):
        HttpSettings.from_env({"PSA_HTTP_TIMEOUT": bad})


def test_session_uses_the_verify_setting():
    client = RestClient("https://psa.example:8443/x", "sid", HttpSettings(verify="/etc/ca.pem"))
    assert client.session.verify == "/etc/ca.pem"
    assert "sid" not in repr(client)


def test_importing_the_clients_does_not_import_requests_or_tenacity():
    code = (
        "import sys, psa_scripts.clients.psa, psa_scripts.clients.scheduler, "
        "psa_scripts.clients.rm, psa_scripts.instances, psa_scripts.model;"
        "bad = [m for m in ('requests', 'tenacity', 'urllib3') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_login_page_is_not_a_session(emu):
    from psa_scripts.clients.scheduler import SchedulerClient

    emu.add_route("POST", r"^/rest/scheduler/login$", lambda req: (200, "<html>Sign in, hunter2</html>"), open_route=True)
    client = SchedulerClient(emu.scheduler_url, settings=FAST)
    with pytest.raises(RestError) as caught:
        client.login("alice", "hunter2")
    assert "not a session id" in str(caught.value) and "hunter2" not in str(caught.value)
    assert client.getSession() is None


# --- every gateway status, exact counts -------------------------------------------------------------
@pytest.mark.parametrize("status", [502, 503, 504])
def test_each_gateway_status_is_retried_then_succeeds(emu, psa, status):
    emu.fail("GET", INSTANCE_PATH, status, times=2)
    assert psa.get_instance(1).instance_id == 1
    assert _count(emu, "GET") == 3


@pytest.mark.parametrize("status", [502, 503, 504])
def test_each_gateway_status_is_retried_up_to_the_attempts(emu, psa, status):
    emu.fail("GET", INSTANCE_PATH, status, times=None)
    with pytest.raises(RestError) as caught:
        psa.get_instance(1)
    assert caught.value.status == status
    assert _count(emu, "GET") == FAST.attempts == 4


# A launch or an action run by a retry after the server acted would start a second service or run
# the action twice. 503 says the server did not take the request; 502/504 come from a proxy that
# may have passed it on, and PSA may have acted.
NOT_IDEMPOTENT = {
    "launch": ("POST", r"/serviceInstances$", lambda psa: psa.launch_service("service-automation", "MongoDB", {})),
    "action": ("PUT", r"/serviceInstances/1/action$",
               lambda psa: psa.run_action(1, "service-automation", "Finish_MongoDB", {})),
}


@pytest.mark.parametrize("status", [502, 504])
@pytest.mark.parametrize("call", sorted(NOT_IDEMPOTENT))
def test_a_launch_or_an_action_is_not_replayed_after_a_proxy_error(emu, psa, call, status):
    method, path, act = NOT_IDEMPOTENT[call]
    emu.fail(method, path, status, times=1)  # then the server would answer: a replay would succeed
    with pytest.raises(RestError) as caught:
        act(psa)
    assert caught.value.status == status
    assert _count(emu, method, path) == 1 and emu.launches == []


@pytest.mark.parametrize("call", sorted(NOT_IDEMPOTENT))
def test_a_launch_or_an_action_is_replayed_after_a_503(emu, psa, call):
    method, path, act = NOT_IDEMPOTENT[call]
    emu.fail(method, path, 503, times=2)
    act(psa)
    assert _count(emu, method, path) == 3


# --- one call, one deadline -------------------------------------------------------------------------
def test_a_read_timeout_longer_than_the_deadline_ends_at_the_deadline(emu, session):
    settings = HttpSettings(read_timeout=30.0, deadline=1.0, attempts=3, log_retries=False)
    emu.delay("GET", INSTANCE_PATH, 6.0, times=None)  # slower than the deadline and than the read timeout
    started = time.monotonic()
    with pytest.raises(RestError) as caught:
        PsaClient(emu.psa_url, session, settings).get_instance(1)
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 1.8, elapsed
    assert caught.value.status is None and caught.value.url == emu.psa_url + "/serviceInstances/1"
    assert _count(emu, "GET") == 1


class _Trickler:
    """A server that answers every request a byte at a time, each byte well within any read
    timeout: ``head`` trickles the status line and headers too, else only the body."""

    def __init__(self, head: bool, pause: float = 0.1, size: int = 200) -> None:
        self.head, self.pause, self.size = head, pause, size
        self.requests = 0
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/cloud-automation-service"
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.requests += 1
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        body = b"{" + b" " * self.size + b"}"
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
        with connection:
            connection.recv(65536)
            try:
                if not self.head:
                    connection.sendall(head)
                for byte in (head + body if self.head else body):
                    if self.stopped.is_set():
                        return
                    connection.sendall(bytes([byte]))
                    time.sleep(self.pause)
            except OSError:
                return

    def close(self) -> None:
        self.stopped.set()
        self.listener.close()


@pytest.mark.parametrize("head", [False, True], ids=["body", "headers"])
def test_a_trickling_server_cannot_keep_a_call_past_its_deadline(head):
    server = _Trickler(head=head)
    settings = HttpSettings(read_timeout=1.0, deadline=1.5, attempts=3, log_retries=False)
    try:
        started = time.monotonic()
        with pytest.raises(RestError) as caught:
            PsaClient(server.url, "sid", settings).get_instance(1)
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert 1.4 <= elapsed < 2.3, elapsed  # unbounded, the answer would take 20 s
    assert "deadline of 1.5 s" in caught.value.message and caught.value.status is None
    assert server.requests == 1


# --- TLS: our settings win over requests' environment variables ---------------------------------
@pytest.fixture
def tls_emu(emu, tmp_path):
    """The emulator behind TLS, with a self-signed certificate for 127.0.0.1 (``tls_emu.cert``)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    emu._server.socket = context.wrap_socket(emu._server.socket, server_side=True)
    emu.cert = str(cert)
    return emu


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_psa_ca_bundle_wins_over_the_requests_environment(tls_emu, session, monkeypatch, tmp_path, variable):
    other = tmp_path / "other-ca.pem"
    other.write_text("not a certificate\n")
    monkeypatch.setenv(variable, str(other))
    url = tls_emu.psa_url.replace("http://", "https://")
    settings = HttpSettings.from_env({"PSA_CA_BUNDLE": tls_emu.cert}, log_retries=False)
    assert PsaClient(url, session, settings).get_instance(1).instance_id == 1
    # The environment's bundle would have failed: without ours, it is the one used.
    with pytest.raises(RestError):
        PsaClient(url, session, HttpSettings(attempts=1, log_retries=False)).get_instance(1)


def test_psa_tls_verify_false_wins_over_the_requests_environment(tls_emu, session, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", tls_emu.cert + ".absent")
    url = tls_emu.psa_url.replace("http://", "https://")
    settings = HttpSettings.from_env({"PSA_TLS_VERIFY": "false"}, log_retries=False)
    assert PsaClient(url, session, settings).get_instance(1).instance_id == 1


# --- secrets a server echoes ----------------------------------------------------------------------------
PASSWORD = "p@ss w/rd&=\"ü+%"


def _echo(status):
    """A handler that answers ``status`` echoing the request body every way a server might."""
    def handler(req):
        raw = req.body.decode("utf-8", "replace")
        form = req.form
        return status, {"errorMessage": f"bad request {raw} / {form} / {json.dumps(form)} / {unquote_plus(raw)}"}
    return handler


@pytest.mark.parametrize("status", [401, 500, 200])
def test_a_login_echoing_the_body_never_shows_the_password(emu, status, capsys):
    emu.add_route("POST", r"^/rest/scheduler/login$", _echo(status), open_route=True)
    with pytest.raises(RestError) as caught:
        SchedulerClient(emu.scheduler_url, settings=FAST).login("alice", PASSWORD)
    text = str(caught.value) + capsys.readouterr().err
    assert "bad request" in text and "<hidden>" in text
    for form in secret_forms(PASSWORD) + [quote_plus(PASSWORD), "ss w/rd"]:
        assert form not in text, form


def test_a_credential_echoed_by_the_server_is_hidden(emu, session):
    emu.add_route("POST", r"^/rest/scheduler/credentials/?$", _echo(500))
    client = SchedulerClient(emu.scheduler_url, session, FAST)
    with pytest.raises(RestError) as caught:
        client.putThirdPartyCredential("DB_PASSWORD", PASSWORD)
    assert "DB_PASSWORD" in str(caught.value)
    for form in secret_forms(PASSWORD):
        assert form not in str(caught.value), form


@pytest.mark.parametrize("secret", [PASSWORD, "plain", "日本語"])
def test_redact_hides_every_form(secret):
    text = " | ".join([secret, quote_plus(secret), quote(secret, safe=""), json.dumps(secret),
                       json.dumps(secret, ensure_ascii=False), quote_plus(secret).lower()])
    assert set(redact(text, [secret, None, ""]).split(" | ")) <= {"<hidden>", '"<hidden>"'}


# --- the environment, read once per client; one connection shared by the clients --------------

def test_proxies_from_the_environment_are_still_honoured(emu, session, closed_url, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", closed_url)  # a proxy that refuses: the request must try it
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(RestError, match="ProxyError|ConnectionError"):
        PsaClient(emu.psa_url, session, FAST).get_instance(1)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # bypassed: straight to the emulator
    assert PsaClient(emu.psa_url, session, FAST).get_instance(1).instance_id == 1


def test_the_ca_bundle_of_the_environment_applies_to_https_only(monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/psa-test-ca.pem")
    assert RestClient("https://psa.example:8443/x", "sid")._proxies_and_verify()[1] == "/etc/psa-test-ca.pem"
    assert RestClient("https://psa.example:8443/x", "sid", HttpSettings(verify=False))._proxies_and_verify()[1] is False
    assert RestClient("http://127.0.0.1:8080/x", "sid")._proxies_and_verify()[1] is True


def test_clients_given_one_session_share_one_kept_alive_connection(emu, session):
    from psa_scripts.clients.http import new_session

    shared = new_session()
    for _ in range(3):  # as three scripts would, each with its own client
        PsaClient(emu.psa_url, session, FAST, session=shared).get_instance(1)
    assert emu.connections == 1 and len(emu.requests) == 3
