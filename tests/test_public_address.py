"""The node's public address as PSA tells it: only a host name or an IP address is taken."""

import pytest

from psa_scripts.clients.http import HttpSettings
from psa_scripts.clients.psa import PsaClient, is_host_address
from psa_scripts.testing.emulator import ProActiveEmulator

FAST = HttpSettings(connect_timeout=1.0, read_timeout=1.0, deadline=3.0, backoff_initial=0.01, backoff_max=0.05)
LOGIN_PAGE = "<!DOCTYPE html><html><body><form>password: <input name=password></form></body></html>"


@pytest.fixture
def emu():
    with ProActiveEmulator() as emulator:
        yield emulator


@pytest.mark.parametrize("text", ["203.0.113.7", "2001:db8::1", "node-1", "node-1.example.org", "node-1.example.org.",
                                  "xn--bcher-kva.example", "a" * 63 + ".example"])
def test_host_names_and_addresses_are_accepted(text):
    assert is_host_address(text)


@pytest.mark.parametrize("text", [LOGIN_PAGE, '{"address": "203.0.113.7"}', "203.0.113.7:8080", "two words",
                                  "-node", "node-", "a" * 64 + ".example", "node_1.example", "1.2.3", "300.1.1.1",
                                  "http://203.0.113.7", "a..b", "", "é.example"])
def test_anything_else_is_refused(text):
    assert not is_host_address(text)


@pytest.mark.parametrize("answer", [LOGIN_PAGE, '{"ip": "203.0.113.7"}', "Not Found", "203.0.113.7:8443"])
def test_an_answer_that_is_not_an_address_falls_back_with_a_note(emu, capsys, answer):
    emu.public_address = answer
    assert PsaClient(emu.psa_url, emu.new_session(), FAST).public_address() is None
    err = capsys.readouterr().err
    assert f"PSA's answer for this node's public address ({len(answer)} characters) is not a host name or an IP " \
           "address; the node's own host name is used" in err
    assert "password" not in err and "<html" not in err


def test_post_start_uses_pa_node_host_when_psa_answers_a_page(harness, start_state):
    harness.emulator.public_address = LOGIN_PAGE
    outcome = harness.run("Post_Start_Service", start_state).raise_error()
    assert outcome.variables_written["HOSTNAME"] == "node-1.example"
    assert outcome.psa_writes[0].json["deployments"][0]["endpoint"]["url"] == "http://node-1.example:32768"
    assert "is not a host name or an IP address; the node's own host name is used" in outcome.output


def test_no_public_address_is_a_note_saying_what_is_used_instead(emu, capsys):
    """PSA answering 404 is the usual case (no address configured): a note, not a failure's words."""
    emu.public_address = None  # the route answers 404
    assert PsaClient(emu.psa_url, emu.new_session(), FAST).public_address() is None
    assert capsys.readouterr().err == ("psa-scripts: note: PSA has no public address for this node (HTTP 404); the "
                                       "endpoint uses the node's own host name (PA_NODE_HOST)\n")


def test_a_failure_to_ask_is_a_note_naming_it(emu, capsys):
    emu.public_address = "203.0.113.7"
    emu.fail("GET", r"/ipUtils/", 400)
    assert PsaClient(emu.psa_url, emu.new_session(), FAST).public_address() is None
    err = capsys.readouterr().err
    assert err.startswith("psa-scripts: note: could not ask PSA for this node's public address (GET http://127.0.0.1:")
    assert "failed with HTTP 400" in err and err.count("\n") == 1
    assert err.endswith("); the endpoint uses the node's own host name (PA_NODE_HOST)\n")
