"""Check_Instance_Status and Fetch_Logs: the status loop, every branch."""

import pytest

from psa_scripts.errors import InputError, ServiceError
from psa_scripts.testing.doubles import ContainerState
from psa_scripts.testing.harness import State

from samples import NAME, instance_json, service_variables

NODE = "pnp://node-1.example:64738/node-1"
CHANNEL = "Service_Instance_7"


def running_state(status="RUNNING", **changes):
    state = State(
        variables=service_variables(),
        instance=instance_json(status),
        channels={CHANNEL: {"INSTANCE_NAME": NAME, "RUNNING_STATE": 1}},
        node_tokens={NODE: frozenset({f"PSA_{NAME}"})},
        containers={NAME: ContainerState(running=True, logs=["one", "two"])},
    )
    return state.replace(**changes)


# --- Check_Instance_Status: the service runs ---------------------------------------------------

def test_check_prints_new_logs_once(harness):
    first = harness.run("Check_Instance_Status", running_state()).raise_error()
    assert first.output.splitlines() == ["one", "two"]
    # The real engine's cursor: the harness clock's second, two lines seen, the container's short id.
    assert first.variables_written == {"LOG_CURSOR": "since=2025-11-24T16:00:00Z seen=2 container=0123456789ab"}
    assert first.psa_writes == []
    first.state.containers[NAME].logs.append("three")
    second = harness.run("Check_Instance_Status", first.state).raise_error()
    assert second.output.splitlines() == ["three"]


def test_check_bounds_the_logs_of_a_chatty_container(harness):
    state = running_state(containers={NAME: ContainerState(logs=[f"line {i}" for i in range(50)])})
    outcome = harness.run("Check_Instance_Status", state.with_variables(LOG_MAX_LINES="10")).raise_error()
    lines = outcome.output.splitlines()
    assert lines[0] == "[40 log lines skipped: more than 10 lines or 1000000 bytes since the last check]"
    assert lines[1:] == [f"line {i}" for i in range(40, 50)]


@pytest.mark.parametrize("flag", ["FINISH_LAUNCHED", "PAUSE_LAUNCHED"])
def test_check_a_stopped_container_is_fine_while_the_action_job_runs(harness, flag):
    state = running_state(containers={NAME: ContainerState(running=False)},
                          channels={CHANNEL: {"INSTANCE_NAME": NAME, flag: True, "ACTION_JOB_ID": "60"}})
    outcome = harness.run("Check_Instance_Status", state).raise_error()
    assert outcome.psa_writes == []
    assert "IS_FINISHED" not in outcome.variables_written


def test_check_a_dead_container_is_an_error(harness):
    state = running_state(containers={NAME: ContainerState(running=False, logs=["panic: out of memory"])})
    outcome = harness.run("Check_Instance_Status", state)
    assert isinstance(outcome.error, ServiceError)
    assert str(outcome.error) == (f"container {NAME} is not running and no finish or pause was launched: "
                                  "service instance 7 set to ERROR")
    assert outcome.status_history == ["ERROR"]
    assert outcome.variables_written["IS_FINISHED"] == "true"
    assert outcome.state.channels[CHANNEL]["RUNNING_STATE"] == 2
    assert "panic: out of memory" in outcome.output
    assert outcome.state.node_tokens  # kept: the finish action must still reach the node


def test_check_a_missing_container_is_an_error(harness):
    outcome = harness.run("Check_Instance_Status", running_state(containers={}))
    assert isinstance(outcome.error, ServiceError)
    assert str(outcome.error) == (f"container {NAME} is not running and no finish or pause was launched: "
                                  "service instance 7 set to ERROR")
    assert outcome.status_history == ["ERROR"]


# --- Check_Instance_Status: the instance is FINISHED -----------------------------------------------

def test_check_finished_releases_everything(harness):
    state = running_state("FINISHED", credentials={"coco-creds": "secret"},
                          channels={CHANNEL: {"INSTANCE_NAME": NAME, "CREDENTIALS_KEY": "coco-creds"}},
                          generic_info={"PARENT_JOB_ID": "40"})
    outcome = harness.run("Check_Instance_Status", state).raise_error()
    assert outcome.variables_written == {"IS_FINISHED": "true"}
    assert outcome.state.credentials == {}
    assert outcome.state.channels == {}
    assert outcome.state.node_tokens == {}
    assert [c.args for c in outcome.calls_to("schedulerapi", "detachService")] == [("42", 7), ("40", 7)]
    assert outcome.psa_writes == []
    assert "secret" not in outcome.output


def test_check_finished_does_not_detach_a_finished_parent(harness):
    state = running_state("FINISHED", generic_info={"PARENT_JOB_ID": "40"}, finished_jobs=frozenset({"40"}))
    outcome = harness.run("Check_Instance_Status", state).raise_error()
    assert [c.args for c in outcome.calls_to("schedulerapi", "detachService")] == [("42", 7)]


def test_check_finished_cleanup_failures_are_warnings_and_the_token_still_goes(harness):
    state = running_state("FINISHED", generic_info={"PARENT_JOB_ID": "40"},
                          failures={"schedulerapi.detachService": RuntimeError("scheduler busy"),
                                    "synchronizationapi.deleteChannel": RuntimeError("channel locked")})
    outcome = harness.run("Check_Instance_Status", state).raise_error()
    assert outcome.state.node_tokens == {}
    assert f"WARNING: could not remove the channel {CHANNEL}: channel locked; remove it by hand" in outcome.output
    assert "WARNING: could not remove the service registration on job 42: scheduler busy" in outcome.output
    assert "WARNING: could not remove the service registration on parent job 40: scheduler busy" in outcome.output


def test_check_finished_token_failure_is_reported(harness):
    state = running_state("FINISHED", failures={"rmapi.removeNodeToken": RuntimeError("RM down")})
    outcome = harness.run("Check_Instance_Status", state).raise_error()
    assert f"WARNING: could not remove the node token PSA_{NAME} on {NODE}: RM down" in outcome.output


@pytest.mark.parametrize("missing", ["PCA_INSTANCE_ID", "INSTANCE_NAME", "PA_JOB_ID", "PA_NODE_URL"])
def test_check_missing_variable(harness, missing):
    variables = service_variables()
    del variables[missing]
    outcome = harness.run("Check_Instance_Status", running_state("FINISHED", variables=variables))
    assert isinstance(outcome.error, InputError)
    assert outcome.psa_requests == [] and outcome.state.node_tokens and outcome.state.channels


def test_check_malformed_log_bound(harness):
    outcome = harness.run("Check_Instance_Status", running_state().with_variables(LOG_MAX_LINES="lots"))
    assert str(outcome.error).startswith("LOG_MAX_LINES must be a whole number, got 'lots'")


def test_check_with_java_types(harness):
    outcome = harness.run("Check_Instance_Status", running_state(java_types=True)).raise_error()
    assert outcome.output.splitlines() == ["one", "two"]


# --- Fetch_Logs ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("is_finished, loop", [
    (None, "*/1 * * * *"), ("false", "*/1 * * * *"), ("true", False), ("TRUE", False), (True, False),
])
def test_fetch_logs_loop(harness, is_finished, loop, time_zone):
    time_zone("UTC")
    variables = {} if is_finished is None else {"IS_FINISHED": is_finished}
    outcome = harness.run("Fetch_Logs", State(variables=variables)).raise_error()
    assert outcome.writeback == {"loop": loop}
    assert outcome.variables_written == {"LAST_TIME_MARKER": "2025-11-24T16:00:00+00:00"}
    assert outcome.calls == [] and outcome.psa_requests == []


def test_fetch_logs_cron_is_configurable(harness):
    outcome = harness.run("Fetch_Logs", State(variables={"STATUS_CHECK_CRON": "*/5 * * * *"})).raise_error()
    assert outcome.writeback["loop"] == "*/5 * * * *"


def test_fetch_logs_malformed_flag(harness):
    outcome = harness.run("Fetch_Logs", State(variables={"IS_FINISHED": "nope"}))
    assert isinstance(outcome.error, InputError)
    assert str(outcome.error) == "IS_FINISHED must be true or false, got 'nope'"
    assert outcome.writeback == {}


def test_check_a_dead_container_is_error_even_when_its_logs_cannot_be_read(tmp_path):
    from psa_scripts.testing.doubles import FakeEngine
    from psa_scripts.testing.harness import Harness

    class NoLogs(FakeEngine):
        def read_logs(self, name, cursor, *, max_lines, max_bytes):
            raise RuntimeError("log driver none")

    with Harness(workdir=str(tmp_path), engine=NoLogs({NAME: ContainerState(running=False)})) as harness:
        outcome = harness.run("Check_Instance_Status", running_state())
    assert isinstance(outcome.error, ServiceError)
    assert str(outcome.error) == (f"container {NAME} is not running and no finish or pause was launched: "
                                  "service instance 7 set to ERROR")
    assert outcome.status_history == ["ERROR"]
    assert f"WARNING: could not read the last logs of {NAME}: log driver none" in outcome.output
