"""Pre_Start_Service, Post_Start_Service, Clean_Start_Service: every branch, bad inputs, faults."""

import time

import pytest

from psa_scripts.errors import InputError, RestError, ServiceError

from samples import INSTANCE_ID, NAME, instance_json, service_variables
from psa_scripts.testing.doubles import ContainerState
from psa_scripts.testing.harness import State

PUT_PATH = f"/cloud-automation-service/serviceInstances/{INSTANCE_ID}"


def _no_side_effects(outcome):
    assert outcome.psa_writes == []
    assert outcome.state.node_tokens == {}
    assert outcome.state.channels == {}
    assert outcome.calls_to("schedulerapi", "registerService") == []


# --- Pre_Start_Service --------------------------------------------------------------------------

def test_pre_start_sets_both_proxy_urls(harness):
    outcome = harness.run("Pre_Start_Service", State(variables=service_variables())).raise_error()
    base = harness.emulator.psa_url
    assert outcome.variables_written == {
        "PROXYFIED_URL": f"{base}/services/7/endpoints/coco-annotator-gui-42/",
        "WS_PROXYFIED_URL": f"{base.replace('http://', 'ws://')}/services/7/endpoints/coco-annotator-gui-42/",
    }
    assert outcome.psa_requests == [] and outcome.calls == []


def test_pre_start_uses_the_public_url(harness):
    state = State(variables=service_variables(PA_CLOUD_AUTOMATION_REST_PUBLIC_URL="https://pub.example/cloud-automation-service"))
    outcome = harness.run("Pre_Start_Service", state).raise_error()
    assert outcome.variables_written["WS_PROXYFIED_URL"] == "wss://pub.example/cloud-automation-service/services/7/endpoints/coco-annotator-gui-42/"


@pytest.mark.parametrize("proxyfied", ["False", "false", ""])
def test_pre_start_without_proxy_writes_nothing(harness, proxyfied):
    outcome = harness.run("Pre_Start_Service", State(variables=service_variables(PROXYFIED=proxyfied))).raise_error()
    assert outcome.variables_written == {} and outcome.output == ""


def test_pre_start_warns_about_the_misspelt_proxified(harness):
    variables = service_variables(PROXIFIED="True")
    del variables["PROXYFIED"]
    outcome = harness.run("Pre_Start_Service", State(variables=variables)).raise_error()
    assert outcome.variables_written == {}
    assert "WARNING: variable PROXIFIED is set but PROXYFIED is not" in outcome.output


@pytest.mark.parametrize("variable, value, message", [
    ("PCA_INSTANCE_ID", None, "PCA_INSTANCE_ID is not set: PSA sets it when it launches a service action"),
    ("PCA_INSTANCE_ID", "x7", "PCA_INSTANCE_ID must be a whole number, got 'x7'"),
    ("ENDPOINT_ID", None, "ENDPOINT_ID is not set"),
    ("PROXYFIED", "perhaps", "PROXYFIED must be true or false, got 'perhaps'"),
])
def test_pre_start_bad_input(harness, variable, value, message):
    variables = service_variables()
    if value is None:
        del variables[variable]
    else:
        variables[variable] = value
    outcome = harness.run("Pre_Start_Service", State(variables=variables))
    assert isinstance(outcome.error, InputError)
    assert str(outcome.error).startswith(message)
    assert outcome.variables_written == {}


# --- Post_Start_Service -----------------------------------------------------------------------------

def _proxied(state, harness):
    """What Pre_Start_Service leaves for the post script."""
    return harness.run("Pre_Start_Service", state).raise_error().state


def test_post_start_reports_the_running_service(harness, start_state):
    outcome = harness.run("Post_Start_Service", _proxied(start_state, harness)).raise_error()

    puts = [r for r in outcome.psa_writes]
    assert [(r.method, r.path) for r in puts] == [("PUT", PUT_PATH)]
    proxy_url = f"{harness.emulator.psa_url}/services/7/endpoints/coco-annotator-gui-42/"
    assert puts[0].json == {
        **instance_json(),
        "instance_status": "RUNNING",
        "groups": ["users", "scheduleradmins", "rmcoreadmins"],
        "deployments": [{
            "node": {"name": "node-1", "host": "node-1.example", "node_source_name": "Default",
                     "url": "pnp://node-1.example:64738/node-1"},
            "container": {"id": "4f1c2a9e7b3d", "name": NAME},
            "endpoint": {"id": "coco-annotator-gui-42", "url": "http://node-1.example:32768",
                         "proxyfied": True, "proxyfiedUrl": proxy_url},
        }],
    }
    assert puts[0].headers["sessionid"] == harness.session_id
    assert outcome.variables_written == {"HOSTNAME": "node-1.example", "PORT": "32768"}
    assert outcome.state.node_tokens == {"pnp://node-1.example:64738/node-1": {"PSA_coco-annotator-42"}}
    assert outcome.state.channels == {"Service_Instance_7": {"RUNNING_STATE": 1, "INSTANCE_NAME": NAME}}
    assert [c.args for c in outcome.calls_to("schedulerapi", "registerService")] == [("42", 7, True)]
    assert outcome.calls_to("synchronizationapi", "createChannelIfAbsent")[0].args == ("Service_Instance_7", True)
    assert outcome.status_history == ["RUNNING"]
    assert harness.session_id not in outcome.output


def test_post_start_without_proxy_adds_no_admin_groups(harness, start_state):
    outcome = harness.run("Post_Start_Service", start_state.with_variables(PROXYFIED="false")).raise_error()
    sent = outcome.psa_writes[0].json
    assert sent["groups"] == ["users"]
    assert sent["deployments"][0]["endpoint"]["proxyfied"] is False


def test_post_start_uses_the_address_psa_sees(harness, start_state):
    harness.emulator.public_address = "203.0.113.9"
    outcome = harness.run("Post_Start_Service", start_state).raise_error()
    assert outcome.variables_written["HOSTNAME"] == "203.0.113.9"
    assert outcome.psa_writes[0].json["deployments"][0]["endpoint"]["url"] == "http://203.0.113.9:32768"


def test_post_start_falls_back_to_the_node_host_on_loopback(harness, start_state):
    harness.emulator.public_address = "127.0.0.1"
    outcome = harness.run("Post_Start_Service", start_state).raise_error()
    assert outcome.variables_written["HOSTNAME"] == "node-1.example"


@pytest.mark.parametrize("variables, args, url", [
    ({"HTTPS_ENABLED": "true"}, (), "https://node-1.example:32768"),
    ({"HTTPS_ENABLED": "False", "HTTP_ENABLED": "False"}, (), "http://node-1.example:32768"),
    ({"HTTP_ENABLED": "false"}, ("mongodb",), "mongodb://node-1.example:32768"),
])
def test_post_start_endpoint_protocol(harness, start_state, variables, args, url):
    outcome = harness.run("Post_Start_Service", start_state.with_variables(**variables).replace(args=args)).raise_error()
    assert outcome.psa_writes[0].json["deployments"][0]["endpoint"]["url"] == url


def test_post_start_without_endpoint_only_sets_running(harness, start_state):
    state = start_state.with_variables(HTTP_ENABLED="false", PROXYFIED="false").replace(files={f"{NAME}_containerID": "c1"})
    outcome = harness.run("Post_Start_Service", state).raise_error()
    assert outcome.psa_writes[0].json["deployments"] == []
    assert outcome.status_history == ["RUNNING"]
    assert outcome.variables_written == {"HOSTNAME": "node-1.example"}
    assert outcome.state.node_tokens  # the node is still reserved


def test_post_start_docker_without_container_id_stops_before_any_update(harness, start_state):
    state = start_state.replace(files={f"{NAME}_port": "32768", f"{NAME}_containerID": ""})
    outcome = harness.run("Post_Start_Service", state)
    assert isinstance(outcome.error, ServiceError)
    assert f"the container {NAME} did not start" in str(outcome.error)
    _no_side_effects(outcome)


def test_post_start_singularity_needs_no_container_id(harness, start_state):
    state = start_state.with_variables(ENGINE="singularity").replace(
        files={f"{NAME}_port": "32768"}, containers={NAME: ContainerState()})
    outcome = harness.run("Post_Start_Service", state).raise_error()
    assert outcome.psa_writes[0].json["deployments"][0]["container"] == {"id": "", "name": NAME}
    assert [c.args for c in outcome.calls_to("engine", "is_running")] == [(NAME,)]


def test_post_start_singularity_instance_not_running_stops_before_any_update(harness, start_state):
    state = start_state.with_variables(ENGINE="Singularity").replace(files={f"{NAME}_port": "32768"})
    outcome = harness.run("Post_Start_Service", state)
    assert isinstance(outcome.error, ServiceError)
    assert f"the Singularity instance {NAME} is not running" in str(outcome.error)
    _no_side_effects(outcome)


def test_post_start_unknown_engine_is_refused(harness, start_state):
    outcome = harness.run("Post_Start_Service", start_state.with_variables(ENGINE="podman"))
    assert isinstance(outcome.error, InputError)
    assert str(outcome.error) == "ENGINE must be one of docker, singularity, got 'podman'"
    _no_side_effects(outcome)


@pytest.mark.parametrize("missing", ["PCA_INSTANCE_ID", "INSTANCE_NAME", "PA_JOB_ID", "PA_NODE_URL", "ENDPOINT_ID"])
def test_post_start_missing_variable_has_no_side_effect(harness, start_state, missing):
    variables = dict(start_state.variables)
    del variables[missing]
    outcome = harness.run("Post_Start_Service", start_state.replace(variables=variables))
    assert isinstance(outcome.error, InputError)
    assert str(outcome.error).startswith(f"{missing} is not set")
    _no_side_effects(outcome)


def test_post_start_missing_port_file_is_named(harness, start_state):
    outcome = harness.run("Post_Start_Service", start_state.replace(files={f"{NAME}_containerID": "c1"}))
    assert isinstance(outcome.error, InputError)
    assert str(outcome.error).startswith(f"file {NAME}_port is missing in ")
    _no_side_effects(outcome)


def test_post_start_survives_two_503_and_appends_one_deployment(harness, start_state):
    harness.emulator.fail("PUT", PUT_PATH, 503, times=2)
    began = time.perf_counter()
    outcome = harness.run("Post_Start_Service", start_state).raise_error()
    # The back-offs (0.5 s, then 1 s) ran on the harness's clock: no real wait.
    assert outcome.slept == [0.5, 1.0] and time.perf_counter() - began < 1.0
    assert len(harness.emulator.requests_to("PUT", PUT_PATH)) == 3
    assert len(outcome.state.instance["deployments"]) == 1
    assert outcome.state.instance["instance_status"] == "RUNNING"


def test_post_start_survives_a_dropped_connection(harness, start_state):
    harness.emulator.drop("PUT", PUT_PATH, times=1)
    outcome = harness.run("Post_Start_Service", start_state).raise_error()
    assert len(outcome.state.instance["deployments"]) == 1


def test_post_start_rerun_does_not_append_twice(harness, start_state):
    first = harness.run("Post_Start_Service", start_state).raise_error()
    again = harness.run("Post_Start_Service", start_state.replace(instance=first.state.instance)).raise_error()
    assert len(again.state.instance["deployments"]) == 1
    assert again.psa_writes == []  # nothing left to change


def test_post_start_persistent_500_fails_and_stays_finishable(harness, start_state):
    harness.emulator.fail("PUT", PUT_PATH, 500, times=None, body="database down")
    outcome = harness.run("Post_Start_Service", start_state)
    assert isinstance(outcome.error, RestError)
    assert outcome.error.status == 500
    assert f"PUT {harness.emulator.psa_url}/serviceInstances/7 failed with HTTP 500" in str(outcome.error)
    assert "database down" in str(outcome.error)
    assert len(harness.emulator.requests_to("PUT", PUT_PATH)) == 1  # a 500 is not retried
    # Kept for the finish action, which removes the container: the channel says the deployment failed.
    assert outcome.state.node_tokens == {"pnp://node-1.example:64738/node-1": {f"PSA_{NAME}"}}
    assert outcome.state.channels == {"Service_Instance_7": {"RUNNING_STATE": 2, "INSTANCE_NAME": NAME}}
    assert [c.args for c in outcome.calls_to("schedulerapi", "detachService")] == [("42", 7)]
    assert harness.session_id not in str(outcome.error) + outcome.output


def _fail_reads_after_the_put(emulator, times):
    emulator.after("PUT", PUT_PATH, lambda emu, recorded: emu.fail("GET", PUT_PATH, 500, times=times), times=1)


def test_post_start_keeps_a_deployment_stored_without_confirmation(harness, start_state):
    _fail_reads_after_the_put(harness.emulator, times=1)  # the read-back fails, the next read works
    outcome = harness.run("Post_Start_Service", start_state).raise_error()
    assert "WARNING: the instance update was stored although its confirmation failed" in outcome.output
    assert outcome.state.instance["instance_status"] == "RUNNING"
    assert outcome.state.node_tokens and outcome.state.channels
    assert outcome.calls_to("schedulerapi", "detachService") == []


def test_post_start_unconfirmed_update_is_undone_and_clean_start_marks_error(harness, start_state):
    _fail_reads_after_the_put(harness.emulator, times=None)  # PSA stores the PUT, then answers nothing
    outcome = harness.run("Post_Start_Service", start_state)
    assert isinstance(outcome.error, RestError), outcome.error
    assert str(outcome.error) == (f"GET {harness.emulator.psa_url}/serviceInstances/7 failed with HTTP 500: "
                                  "emulated failure (HTTP 500)")
    assert outcome.state.channels == {"Service_Instance_7": {"RUNNING_STATE": 2, "INSTANCE_NAME": NAME}}
    harness.emulator.clear_faults()
    cleaned = harness.run("Clean_Start_Service", outcome.state).raise_error()
    assert cleaned.status_history == ["ERROR"]


def test_post_start_token_failure_undoes_the_registration_and_marks_the_channel(harness, start_state):
    state = start_state.replace(failures={"rmapi.addNodeToken": RuntimeError("RM unreachable")})
    outcome = harness.run("Post_Start_Service", state)
    assert str(outcome.error) == "RM unreachable"
    assert outcome.psa_writes == []
    assert outcome.state.channels == {"Service_Instance_7": {"RUNNING_STATE": 2, "INSTANCE_NAME": NAME}}
    assert outcome.state.node_tokens == {}
    assert [c.args for c in outcome.calls_to("schedulerapi", "detachService")] == [("42", 7)]


def test_post_start_with_java_types(harness, start_state):
    outcome = harness.run("Post_Start_Service", start_state.replace(java_types=True, args=("http",))).raise_error()
    assert outcome.status_history == ["RUNNING"]


# --- Clean_Start_Service ----------------------------------------------------------------------------

def test_clean_start_leaves_a_running_instance_alone(harness):
    state = State(variables=service_variables(), instance=instance_json("RUNNING"),
                  channels={"Service_Instance_7": {"INSTANCE_NAME": NAME, "RUNNING_STATE": 1}})
    outcome = harness.run("Clean_Start_Service", state).raise_error()
    assert outcome.psa_writes == []


def test_clean_start_running_without_channel_is_an_unfinished_deployment(harness):
    outcome = harness.run("Clean_Start_Service", State(variables=service_variables(), instance=instance_json("RUNNING")))
    assert outcome.ok and outcome.status_history == ["ERROR"]


def test_clean_start_marks_a_failed_deployment_error(harness):
    state = State(variables=service_variables(), instance=instance_json(),
                  channels={"Service_Instance_7": {"INSTANCE_NAME": NAME}})
    outcome = harness.run("Clean_Start_Service", state).raise_error()
    assert outcome.status_history == ["ERROR"]
    assert outcome.psa_writes[0].json == {**instance_json(), "instance_status": "ERROR"}
    assert outcome.state.channels["Service_Instance_7"]["RUNNING_STATE"] == 2


def test_clean_start_has_no_localspace_and_variables_do_not_propagate(harness):
    outcome = harness.run("Clean_Start_Service", State(variables=service_variables(), instance=instance_json("RUNNING")))
    assert outcome.ok and outcome.state.variables == service_variables()


def test_clean_start_missing_instance_id(harness):
    variables = service_variables()
    del variables["PCA_INSTANCE_ID"]
    outcome = harness.run("Clean_Start_Service", State(variables=variables, instance=instance_json()))
    assert isinstance(outcome.error, InputError)
    assert outcome.psa_requests == []
