"""Pre_Trigger_Action, Post_Trigger_Action, Clean_Trigger_Action: every branch and bad inputs."""

import pytest

from psa_scripts.errors import InputError, PsaScriptError, ServiceError
from psa_scripts.testing.harness import State

from samples import NAME, instance_json

NODE = "pnp://node-1.example:64738/node-1"
DEPLOYED_NODE = "pnp://deploy-node:64738/node-9"
CHANNEL = "Service_Instance_7"


def action_variables(**overrides):
    return {"PCA_INSTANCE_ID": "7", "PA_JOB_ID": "50", "PA_NODE_URL": NODE, **overrides}


def channel(**keys):
    return {CHANNEL: {"INSTANCE_NAME": NAME, "RUNNING_STATE": 1, **keys}}


# --- Pre_Trigger_Action ------------------------------------------------------------------------------

@pytest.mark.parametrize("action", ["FINISH_LAUNCHED", "PAUSE_LAUNCHED"])
def test_pre_trigger_announces_the_action(harness, action):
    state = State(variables=action_variables(), args=(action,), channels=channel(CREDENTIALS_KEY="coco-creds"))
    outcome = harness.run("Pre_Trigger_Action", state).raise_error()
    assert outcome.variables_written == {"INSTANCE_NAME": NAME, "CREDENTIALS_KEY": "coco-creds"}
    assert outcome.state.channels[CHANNEL] == {"INSTANCE_NAME": NAME, "RUNNING_STATE": 1,
                                               "CREDENTIALS_KEY": "coco-creds", action: True, "ACTION_JOB_ID": "50"}
    assert outcome.psa_requests == []


def test_pre_trigger_resume(harness):
    state = State(variables=action_variables(), args=("RESUME_LAUNCHED",), channels=channel(PAUSE_LAUNCHED=True, RUNNING_STATE=2))
    outcome = harness.run("Pre_Trigger_Action", state).raise_error()
    assert outcome.state.channels[CHANNEL] == {"INSTANCE_NAME": NAME, "RUNNING_STATE": 1,
                                               "RESUMED": True, "PAUSE_LAUNCHED": False, "ACTION_JOB_ID": "50"}
    assert outcome.variables_written == {"INSTANCE_NAME": NAME}


def test_pre_trigger_instance_name_falls_back_to_the_variable(harness):
    state = State(variables=action_variables(INSTANCE_NAME="legacy"), args=("FINISH_LAUNCHED",),
                  channels={CHANNEL: {"RUNNING": True}})
    outcome = harness.run("Pre_Trigger_Action", state).raise_error()
    assert outcome.variables_written == {"INSTANCE_NAME": "legacy"}


def test_pre_trigger_without_a_channel(harness):
    outcome = harness.run("Pre_Trigger_Action", State(variables=action_variables(), args=("FINISH_LAUNCHED",)))
    assert isinstance(outcome.error, InputError)
    assert str(outcome.error).startswith(f"channel {CHANNEL} does not exist: the service was never started")
    assert outcome.variables_written == {}


@pytest.mark.parametrize("args, message", [
    ((), "argument 1 (the action launched) is missing (one of FINISH_LAUNCHED, PAUSE_LAUNCHED, RESUME_LAUNCHED)"),
    (("STOP",), "argument 1 (the action launched) must be one of FINISH_LAUNCHED, PAUSE_LAUNCHED, RESUME_LAUNCHED, got 'STOP'"),
])
def test_pre_trigger_bad_argument_changes_nothing(harness, args, message):
    outcome = harness.run("Pre_Trigger_Action", State(variables=action_variables(), args=args, channels=channel()))
    assert str(outcome.error).startswith(message)
    assert outcome.state.channels == channel() and outcome.variables_written == {}


def test_pre_trigger_with_java_types(harness):
    state = State(variables=action_variables(), args=("FINISH_LAUNCHED",), channels=channel(), java_types=True)
    assert harness.run("Pre_Trigger_Action", state).raise_error().state.channels[CHANNEL]["FINISH_LAUNCHED"] is True


# --- Post_Trigger_Action ----------------------------------------------------------------------------------

def post_trigger_state(target, status_text, **changes):
    state = State(variables=action_variables(INSTANCE_NAME=NAME), args=(target,), instance=instance_json("RUNNING"),
                  files={f"{NAME}_status": status_text}, channels=channel())
    return state.replace(**changes)


@pytest.mark.parametrize("target", ["FINISHED", "PAUSED", "RUNNING"])
def test_post_trigger_success_sets_the_target(harness, target):
    before = "PAUSED" if target == "RUNNING" else "RUNNING"
    state = post_trigger_state(target, NAME + "\n", instance=instance_json(before))
    outcome = harness.run("Post_Trigger_Action", state).raise_error()
    assert outcome.status_history == [target]
    assert outcome.psa_writes[0].json == {**instance_json(), "instance_status": target}
    assert ("FINISH_DONE" in outcome.state.channels[CHANNEL]) is (target == "FINISHED")


def test_post_trigger_already_removed_is_a_warning(harness):
    outcome = harness.run("Post_Trigger_Action", post_trigger_state("FINISHED", f"Error: No such container: {NAME}")).raise_error()
    assert outcome.status_history == ["FINISHED"]
    assert f"WARNING: container {NAME} was already removed" in outcome.output


def test_post_trigger_engine_error_sets_error_and_fails(harness):
    outcome = harness.run("Post_Trigger_Action", post_trigger_state("PAUSED", "Error response from daemon: cannot stop"))
    assert isinstance(outcome.error, ServiceError)
    assert str(outcome.error) == f"action on {NAME} failed: Error response from daemon: cannot stop; instance 7 set to ERROR"
    assert outcome.status_history == ["ERROR"]


def test_post_trigger_missing_status_file_sets_error(harness):
    outcome = harness.run("Post_Trigger_Action", post_trigger_state("FINISHED", "", files={}))
    assert isinstance(outcome.error, ServiceError)
    assert f"file {NAME}_status is missing" in str(outcome.error)
    assert outcome.status_history == ["ERROR"]


@pytest.mark.parametrize("change, message", [
    ({"args": ()}, "argument 1 (the status on success) is missing"),
    ({"args": ("STOPPED",)}, "argument 1 (the status on success) must be one of FINISHED, PAUSED, RUNNING, got 'STOPPED'"),
    ({"variables": {"PCA_INSTANCE_ID": "7"}}, "INSTANCE_NAME is not set"),
    ({"variables": {"INSTANCE_NAME": NAME}}, "PCA_INSTANCE_ID is not set"),
])
def test_post_trigger_bad_input_writes_nothing(harness, change, message):
    outcome = harness.run("Post_Trigger_Action", post_trigger_state("FINISHED", NAME, **change))
    assert isinstance(outcome.error, InputError)
    assert str(outcome.error).startswith(message)
    assert outcome.psa_requests == [] and "FINISH_DONE" not in outcome.state.channels[CHANNEL]


# --- Clean_Trigger_Action -------------------------------------------------------------------------------

def clean_state(**changes):
    instance = instance_json("FINISHED", deployments=[{
        "node": {"url": DEPLOYED_NODE, "name": "node-9"}, "container": {"id": "c1", "name": NAME},
        "endpoint": {"id": "gui", "url": "http://h:1"}}])
    state = State(variables=action_variables(INSTANCE_NAME=NAME, CREDENTIALS_KEY="coco-creds"), instance=instance,
                  credentials={"coco-creds": "pw"}, node_tokens={DEPLOYED_NODE: frozenset({f"PSA_{NAME}"})})
    return state.replace(**changes)


def test_clean_trigger_removes_the_token_when_the_deployment_job_finished(harness):
    outcome = harness.run("Clean_Trigger_Action", clean_state(finished_jobs=frozenset({"42"}))).raise_error()
    assert outcome.state.node_tokens == {}
    assert outcome.state.credentials == {}
    assert [c.args for c in outcome.calls_to("rmapi", "removeNodeToken")] == [(DEPLOYED_NODE, f"PSA_{NAME}")]
    assert outcome.psa_writes == []


def test_clean_trigger_keeps_the_token_while_the_deployment_job_runs(harness):
    outcome = harness.run("Clean_Trigger_Action", clean_state()).raise_error()
    assert outcome.state.node_tokens == {DEPLOYED_NODE: {f"PSA_{NAME}"}}
    assert outcome.state.credentials == {}


def test_clean_trigger_without_deployment_submission(harness):
    state = clean_state(finished_jobs=frozenset({"42"}))
    state = state.replace(instance={**state.instance, "job_submissions": []})
    outcome = harness.run("Clean_Trigger_Action", state).raise_error()
    assert outcome.calls_to("rmapi", "removeNodeToken") == []


def test_clean_trigger_falls_back_to_this_node(harness):
    state = clean_state(finished_jobs=frozenset({"42"}), node_tokens={NODE: frozenset({f"PSA_{NAME}"})})
    state = state.replace(instance={**state.instance, "deployments": []})
    outcome = harness.run("Clean_Trigger_Action", state).raise_error()
    assert outcome.state.node_tokens == {}


def test_clean_trigger_credential_failure_does_not_keep_the_token(harness):
    state = clean_state(finished_jobs=frozenset({"42"}),
                        failures={"schedulerapi.removeThirdPartyCredential": RuntimeError("store offline")})
    outcome = harness.run("Clean_Trigger_Action", state)
    assert isinstance(outcome.error, PsaScriptError)
    assert str(outcome.error) == "could not release: third-party credential coco-creds: store offline"
    assert outcome.state.node_tokens == {}
    assert "pw" not in outcome.output


def test_clean_trigger_missing_instance_name(harness):
    variables = action_variables()
    outcome = harness.run("Clean_Trigger_Action", clean_state(variables=variables))
    assert str(outcome.error).startswith("INSTANCE_NAME is not set")
    assert outcome.calls == [] and outcome.psa_requests == []


def test_clean_trigger_deletes_the_channel_the_ended_status_loop_left(harness):
    """The container died (ERROR, the status loop ended), then the user finished the service."""
    state = clean_state(finished_jobs=frozenset({"42"}), channels=channel(FINISH_DONE=True, RUNNING_STATE=2))
    outcome = harness.run("Clean_Trigger_Action", state).raise_error()
    assert outcome.state.channels == {} and outcome.state.node_tokens == {}


def test_clean_trigger_keeps_the_channel_of_a_paused_service(harness):
    state = clean_state(finished_jobs=frozenset({"42"}), channels=channel(PAUSE_LAUNCHED=True))
    state = state.replace(instance={**state.instance, "instance_status": "PAUSED"})
    outcome = harness.run("Clean_Trigger_Action", state).raise_error()
    assert outcome.state.channels == channel(PAUSE_LAUNCHED=True)
