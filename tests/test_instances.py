"""update_instance: only the fields a change owns are compared, the rest is PSA's, a failed PUT re-reads."""

import copy

import pytest

from psa_scripts import names
from psa_scripts.clients.http import HttpSettings
from psa_scripts.clients.psa import PsaClient
from psa_scripts.errors import RestError
from psa_scripts.instances import needs_change, owned_fields, set_status, update_instance
from psa_scripts.model import Deployment, Endpoint
from psa_scripts.testing.emulator import ProActiveEmulator

FAST = HttpSettings(connect_timeout=1.0, read_timeout=1.0, deadline=5.0, backoff_initial=0.01, backoff_max=0.05)
PATH = r"/serviceInstances/1$"
STORED = {"instance_id": 1, "instance_status": "VOID", "variables": {}, "deployments": [], "groups": ["users"],
          "job_submissions": [{"transition_state": "VOID -> RUNNING", "job_id": 12}]}
ACTION = {"transition_state": "RUNNING -> FINISHED", "job_id": 13}


@pytest.fixture
def emu():
    with ProActiveEmulator() as emulator:
        emulator.add_instance(copy.deepcopy(STORED))
        yield emulator


@pytest.fixture
def psa(emu):
    return PsaClient(emu.psa_url, emu.new_session(), FAST)


def deploy(instance):
    instance.instance_status = names.RUNNING
    instance.add_deployment(Deployment(endpoint=Endpoint(id="gui-1", url="http://h:1")))
    instance.add_groups(*names.PROXY_GROUPS)


def puts(emu):
    return emu.requests_to("PUT", PATH)


def test_a_change_owns_the_fields_it_alters(psa):
    assert owned_fields(deploy, psa.get_instance(1)) == {"instance_status", "deployments", "groups"}
    assert not needs_change(deploy, psa.get_instance(1), frozenset({"instance_status", "deployments", "groups"}))


def test_a_field_psa_does_not_store_does_not_fail_the_update(emu, psa, capsys):
    def store_without_groups(recorded, instance_id):
        emu.instances[1] = {key: value for key, value in recorded.json.items() if key != "groups"}
        return 200, emu.instances[1]

    emu.instances[1] = {key: value for key, value in STORED.items() if key != "groups"}
    emu.add_route("PUT", r"/cloud-automation-service/serviceInstances/(?P<instance_id>\d+)$", store_without_groups)
    result = update_instance(psa, 1, deploy)
    assert result.instance_status == "RUNNING" and [d.endpoint.id for d in result.deployments] == ["gui-1"]
    assert len(puts(emu)) == 1
    assert ("psa-scripts: PSA does not store field(s) groups of service instance 1: they are left out of the check"
            in capsys.readouterr().err)


def test_a_field_psa_adds_while_a_put_fails_is_kept(emu, psa):
    """PSA records an action's job between our read and our PUT, which fails on the way: the next PUT keeps it."""
    def psa_records_an_action(emulator, recorded):
        emulator.instances[1]["job_submissions"].append(ACTION)

    emu.after("GET", PATH, psa_records_an_action, times=1)
    emu.fail("PUT", PATH, 503, times=1)
    update_instance(psa, 1, deploy)
    stored = emu.instance(1)
    assert stored["job_submissions"] == STORED["job_submissions"] + [ACTION]
    assert stored["instance_status"] == "RUNNING"
    assert [r.json["job_submissions"][-1] for r in puts(emu)] == [STORED["job_submissions"][0], ACTION]


@pytest.mark.parametrize("status", [502, 503, 504])
def test_each_transient_put_failure_is_retried_on_a_fresh_read(emu, psa, status):
    emu.fail("PUT", PATH, status, times=2)
    assert set_status(psa, 1, names.RUNNING).instance_status == "RUNNING"
    assert len(puts(emu)) == 3
    assert len(emu.requests_to("GET", PATH)) == 4  # a read before each PUT, and the read-back


def test_a_put_failing_every_time_gives_up_after_four_attempts(emu, psa):
    emu.fail("PUT", PATH, 503, times=None)
    with pytest.raises(RestError) as failed:
        set_status(psa, 1, names.RUNNING)
    assert failed.value.status == 503 and len(puts(emu)) == 4


def test_a_put_refused_is_not_retried(emu, psa):
    emu.fail("PUT", PATH, 500, times=None)
    with pytest.raises(RestError):
        set_status(psa, 1, names.RUNNING)
    assert len(puts(emu)) == 1


def test_each_failed_put_waits_longer_then_reads_again(emu, capsys):
    """The waits between PUT attempts double from backoff_initial up to backoff_max, on the client's sleep,
    and each is announced with the attempt to come."""
    slept = []
    settings = HttpSettings(connect_timeout=1.0, read_timeout=1.0, deadline=5.0, backoff_initial=0.25,
                            backoff_max=0.75, log_retries=False)
    client = PsaClient(emu.psa_url, emu.new_session(), settings, sleep=slept.append)
    emu.fail("PUT", PATH, 503, times=3)
    assert set_status(client, 1, names.RUNNING).instance_status == "RUNNING"
    assert slept == [0.25, 0.5, 0.75]
    said = [line for line in capsys.readouterr().err.splitlines() if "reading the instance again" in line]
    assert [line.rsplit(" in ", 1)[1] for line in said] == ["0.25s (2/4)", "0.50s (3/4)", "0.75s (4/4)"]
    assert all(line.startswith("psa-scripts: PUT ") and "HTTP 503" in line for line in said)
    assert len(puts(emu)) == 4
