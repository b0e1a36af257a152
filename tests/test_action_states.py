"""The service's states across actions: every failing step still ends in a true state.

The status loop (Check_Instance_Status) must never read an action in progress as a crash, and
must end at its first check after an action, whichever step of it failed. A failed deployment
stays finishable, so no container is ever left behind.
"""

import pytest

from psa_scripts.containers import ActionOutcome
from psa_scripts.errors import RestError, ServiceError
from psa_scripts.testing import ContainerState, FakeEngine
from psa_scripts.testing.harness import Harness, State

from samples import INSTANCE_ID, NAME, instance_json, service_variables

NODE = "pnp://node-1.example:64738/node-1"
CHANNEL = f"Service_Instance_{INSTANCE_ID}"
PUT_PATH = f"/cloud-automation-service/serviceInstances/{INSTANCE_ID}"
DEPLOYMENT_JOB = "42"  # the deployment job, whose loop task runs Check_Instance_Status
ACTION_JOB = "60"
TOKENS = {NODE: frozenset({f"PSA_{NAME}"})}
PROXY_URL = "https://psa.example/cloud-automation-service/services/7/endpoints/gui/"


def running_service(status="RUNNING", running=True, **channel_keys):
    """A deployed service: its channel, its node token, its container."""
    deployment = {"node": {"url": NODE}, "container": {"id": "c1", "name": NAME},
                  "endpoint": {"id": "gui", "url": "http://node-1.example:32768", "proxyfied": True,
                               "proxyfiedUrl": PROXY_URL}}
    return State(
        variables=service_variables(),
        instance=instance_json(status, deployments=[deployment]),
        channels={CHANNEL: {"INSTANCE_NAME": NAME, "RUNNING_STATE": 1, **channel_keys}},
        node_tokens=TOKENS,
        containers={NAME: ContainerState(running=running, logs=["ready"])},
    )


def in_action_job(state, args=(), job=ACTION_JOB):
    return state.with_variables(PA_JOB_ID=job).replace(args=args)


def in_loop_job(state):
    return state.with_variables(PA_JOB_ID=DEPLOYMENT_JOB).replace(args=())


def announce(harness, state, action):
    return harness.run("Pre_Trigger_Action", in_action_job(state, (action,))).raise_error().state


def report(harness, state, target, outcome_text):
    """The action's executable left ``outcome_text``; Post_Trigger_Action reports it."""
    return harness.run("Post_Trigger_Action", in_action_job(state, (target,)).replace(
        files={f"{NAME}_status": outcome_text}))


def check(harness, state):
    return harness.run("Check_Instance_Status", in_loop_job(state))


def assert_loop_ended(checked, status):
    assert checked.state.variables["IS_FINISHED"] == "true"
    assert checked.state.instance["instance_status"] == status


def assert_loop_goes_on(checked):
    checked.raise_error()
    assert "IS_FINISHED" not in checked.variables_written
    assert checked.psa_writes == []


# --- Finish ------------------------------------------------------------------------------------------

def test_a_finish_whose_status_update_fails_is_finished_by_the_next_check(harness):
    state = announce(harness, running_service(), "FINISH_LAUNCHED")
    state = state.replace(containers={})  # Finish_Docker_Service removed the container
    harness.emulator.fail("PUT", PUT_PATH, 500, times=None, body="database down")
    reported = report(harness, state, "FINISHED", NAME)
    assert isinstance(reported.error, RestError) and reported.error.status == 500
    assert reported.state.channels[CHANNEL]["FINISH_DONE"] is True
    assert "ACTION_JOB_ID" not in reported.state.channels[CHANNEL]
    harness.emulator.clear_faults()

    checked = check(harness, reported.state).raise_error()
    assert checked.status_history == ["FINISHED"]
    assert_loop_ended(checked, "FINISHED")
    assert checked.state.channels == {} and checked.state.node_tokens == {}
    assert (f"WARNING: container {NAME} was removed by the finish action but service instance 7 is RUNNING: "
            "setting it FINISHED") in checked.output


def test_a_finish_whose_engine_step_failed_ends_the_loop_in_error(harness):
    state = announce(harness, running_service(), "FINISH_LAUNCHED")
    reported = report(harness, state.replace(containers={NAME: ContainerState(running=False)}), "FINISHED",
                      "Error response from daemon: device busy")
    assert isinstance(reported.error, ServiceError) and reported.status_history == ["ERROR"]
    checked = check(harness, reported.state)
    assert isinstance(checked.error, ServiceError)
    assert str(checked.error) == (f"container {NAME} is not running and the finish action ended without "
                                  "removing it: service instance 7 set to ERROR")
    assert_loop_ended(checked, "ERROR")
    assert checked.state.channels[CHANNEL]["RUNNING_STATE"] == 2  # kept: the user can finish it again
    assert checked.state.node_tokens == TOKENS


def test_a_finish_job_that_died_before_its_post_script_ends_the_loop_in_error(harness):
    state = announce(harness, running_service(), "FINISH_LAUNCHED").replace(containers={})
    assert_loop_goes_on(check(harness, state))  # the action job still runs: its doing
    ended = check(harness, state.replace(finished_jobs=frozenset({ACTION_JOB})))
    assert isinstance(ended.error, ServiceError)
    assert_loop_ended(ended, "ERROR")


# --- Pause / Resume ------------------------------------------------------------------------------------

def test_a_check_during_a_resume_does_not_read_the_stopped_container_as_a_crash(harness):
    paused = running_service("PAUSED", running=False, PAUSE_LAUNCHED=True)
    state = announce(harness, paused, "RESUME_LAUNCHED")
    assert state.channels[CHANNEL]["PAUSE_LAUNCHED"] is False
    assert_loop_goes_on(check(harness, state))  # the container is not started yet


def test_pre_trigger_announces_its_job_before_it_changes_any_flag(harness):
    paused = running_service("PAUSED", running=False, PAUSE_LAUNCHED=True)
    outcome = harness.run("Pre_Trigger_Action", in_action_job(paused, ("RESUME_LAUNCHED",))).raise_error()
    keys = [call.args[1] for call in outcome.calls_to("synchronizationapi", "put")]
    assert keys == ["ACTION_JOB_ID", "RUNNING_STATE", "RESUMED", "PAUSE_LAUNCHED"]
    assert outcome.state.channels[CHANNEL]["ACTION_JOB_ID"] == ACTION_JOB


def test_a_completed_pause_keeps_the_loop_quiet_and_a_completed_resume_prints_logs(harness):
    state = announce(harness, running_service(), "PAUSE_LAUNCHED").replace(
        containers={NAME: ContainerState(running=False, logs=["ready"])})
    paused = report(harness, state, "PAUSED", NAME).raise_error()
    assert "ACTION_JOB_ID" not in paused.state.channels[CHANNEL]
    quiet = check(harness, paused.state)
    assert_loop_goes_on(quiet)
    state = announce(harness, quiet.state, "RESUME_LAUNCHED").replace(
        containers={NAME: ContainerState(running=True, logs=["ready", "back"])})
    resumed = report(harness, state, "RUNNING", NAME).raise_error()
    assert resumed.status_history == ["RUNNING"]
    logs = check(harness, resumed.state)
    assert_loop_goes_on(logs)
    assert logs.output.splitlines()[-1] == "back"


def test_a_pause_whose_status_update_failed_ends_the_loop_in_error(harness):
    state = announce(harness, running_service(), "PAUSE_LAUNCHED").replace(
        containers={NAME: ContainerState(running=False)})
    harness.emulator.fail("PUT", PUT_PATH, 500, times=1)
    assert isinstance(report(harness, state, "PAUSED", NAME).error, RestError)
    checked = check(harness, state.replace(channels={CHANNEL: {"INSTANCE_NAME": NAME, "PAUSE_LAUNCHED": True}}))
    assert str(checked.error) == (f"container {NAME} is not running and the pause action ended without completing "
                                  "(instance status RUNNING): service instance 7 set to ERROR")
    assert_loop_ended(checked, "ERROR")


def test_an_action_job_the_scheduler_cannot_tell_about_counts_as_running(harness):
    state = announce(harness, running_service(), "PAUSE_LAUNCHED").replace(
        containers={NAME: ContainerState(running=False)},
        failures={"schedulerapi.isJobFinished": RuntimeError("scheduler restarting")})
    checked = check(harness, state)
    assert_loop_goes_on(checked)
    assert (f"WARNING: could not tell whether action job {ACTION_JOB} has ended (scheduler restarting); "
            "taking it as running") in checked.output


def test_clean_trigger_ends_its_own_action_only(harness):
    state = running_service(ACTION_JOB_ID=ACTION_JOB)
    mine = harness.run("Clean_Trigger_Action", in_action_job(state)).raise_error()
    assert "ACTION_JOB_ID" not in mine.state.channels[CHANNEL]
    later = harness.run("Clean_Trigger_Action", in_action_job(state, job="59")).raise_error()
    assert later.state.channels[CHANNEL]["ACTION_JOB_ID"] == ACTION_JOB


def test_post_trigger_ends_the_action_even_when_it_fails(harness):
    state = running_service(ACTION_JOB_ID=ACTION_JOB)
    failed = harness.run("Post_Trigger_Action", in_action_job(state, ("PAUSED",)))  # no status file
    assert isinstance(failed.error, ServiceError) and failed.status_history == ["ERROR"]
    assert "ACTION_JOB_ID" not in failed.state.channels[CHANNEL]


# --- Ports across Pause/Resume ------------------------------------------------------------------------

class RestartingEngine(FakeEngine):
    """A stopped container that comes back on another host port, as Docker does with engine-picked ports."""

    def __init__(self, port, running=False):
        super().__init__({NAME: ContainerState(running=running)})
        self.port = port

    def start(self, name, owner=None):
        self._record("start", name)
        self.containers[name].running = True
        return ActionOutcome.DONE

    def inspect(self, name):
        self._record("inspect", name)
        ports = {"80/tcp": [{"HostIp": "", "HostPort": str(self.port)}]}
        return {"Id": "c1", "State": {"Running": self.containers[name].running}, "NetworkSettings": {"Ports": ports}}


def resume(tmp_path, port, **variables):
    engine = RestartingEngine(port)
    with Harness(workdir=str(tmp_path), engine=engine) as harness:
        paused = running_service("PAUSED", running=False, PAUSE_LAUNCHED=True).with_variables(
            CONTAINER_PORT="80", **variables)
        state = announce(harness, paused, "RESUME_LAUNCHED")
        started = harness.run("Resume_Docker_Service", in_action_job(state)).raise_error()
        reported = harness.run("Post_Trigger_Action", in_action_job(started.state, ("RUNNING",))).raise_error()
    return started, reported


def test_resume_moves_the_endpoint_to_the_new_host_port(tmp_path):
    started, reported = resume(tmp_path, 40001)
    assert started.state.files == {f"{NAME}_port": "40001", f"{NAME}_status": NAME}
    [put] = reported.psa_writes
    endpoint = put.json["deployments"][0]["endpoint"]
    assert endpoint == {"id": "gui", "url": "http://node-1.example:40001", "proxyfied": True,
                        "proxyfiedUrl": PROXY_URL}
    assert put.json["instance_status"] == "RUNNING"
    assert reported.variables_written == {"PORT": "40001"}
    assert ("Endpoint of coco-annotator-42 moved to the new host port 40001: http://node-1.example:32768 -> "
            "http://node-1.example:40001") in reported.output


def test_resume_on_the_same_port_changes_only_the_status(tmp_path):
    _, reported = resume(tmp_path, 32768)
    [put] = reported.psa_writes
    assert put.json == {**reported.state.instance, "instance_status": "RUNNING"}
    assert put.json["deployments"][0]["endpoint"]["url"] == "http://node-1.example:32768"


def test_resume_without_container_port_writes_no_port_file(tmp_path):
    engine = RestartingEngine(40001)
    with Harness(workdir=str(tmp_path), engine=engine) as harness:
        started = harness.run("Resume_Docker_Service", running_service().with_variables(CONTAINER_PORT="")).raise_error()
    assert started.state.files == {f"{NAME}_status": NAME}
    assert [call.method for call in engine.calls] == ["start"]


def test_resume_with_a_bad_container_port_is_refused_before_the_engine(tmp_path):
    engine = RestartingEngine(40001)
    with Harness(workdir=str(tmp_path), engine=engine) as harness:
        started = harness.run("Resume_Docker_Service", running_service().with_variables(CONTAINER_PORT="eighty"))
    assert str(started.error) == "CONTAINER_PORT must be a port like 80, 80/tcp or 53/udp, got 'eighty'"
    assert engine.calls == [] and started.state.files == {}


# --- A failed deployment stays finishable --------------------------------------------------------------

def test_a_deployment_whose_update_fails_can_still_be_finished(harness, start_state):
    harness.emulator.fail("PUT", PUT_PATH, 500, times=1, body="database down")
    posted = harness.run("Post_Start_Service", start_state)
    assert isinstance(posted.error, RestError)
    assert posted.state.channels == {CHANNEL: {"RUNNING_STATE": 2, "INSTANCE_NAME": NAME}}
    assert posted.state.node_tokens == TOKENS  # the finish action must reach the node
    assert [c.args for c in posted.calls_to("schedulerapi", "detachService")] == [(DEPLOYMENT_JOB, 7)]

    cleaned = harness.run("Clean_Start_Service", posted.state).raise_error()
    assert cleaned.status_history == ["ERROR"]
    state = announce(harness, cleaned.state, "FINISH_LAUNCHED")  # no "channel does not exist"
    finished = report(harness, state, "FINISHED", NAME).raise_error()
    assert finished.status_history == ["FINISHED"]
    released = harness.run("Clean_Trigger_Action", in_action_job(finished.state).replace(
        finished_jobs=frozenset({DEPLOYMENT_JOB}))).raise_error()
    assert released.state.channels == {} and released.state.node_tokens == {}


def test_a_deployment_whose_task_failed_is_made_finishable_by_the_clean_script(harness):
    state = State(variables=service_variables(CREDENTIALS_KEY="coco-creds"), instance=instance_json())
    cleaned = harness.run("Clean_Start_Service", state).raise_error()
    assert cleaned.status_history == ["ERROR"]
    assert cleaned.state.channels == {CHANNEL: {"INSTANCE_NAME": NAME, "RUNNING_STATE": 2,
                                                "CREDENTIALS_KEY": "coco-creds"}}
    assert cleaned.state.node_tokens == TOKENS
    assert (f"Finish the instance to release node token PSA_{NAME} on {NODE} and remove container {NAME} "
            "if one is left") in cleaned.output  # it may never have been created, or a readiness wait removed it


def test_a_failed_deployment_that_cannot_be_kept_finishable_says_what_to_remove(harness):
    state = State(variables=service_variables(), instance=instance_json(),
                  failures={"rmapi.addNodeToken": RuntimeError("RM down")})
    cleaned = harness.run("Clean_Start_Service", state).raise_error()
    assert cleaned.status_history == ["ERROR"]
    assert (f"WARNING: could not keep node token PSA_{NAME} (RM down); the finish action needs it to remove "
            f"container {NAME} if one is left (or remove it by hand)") in cleaned.output


def test_a_failed_deployment_with_an_invalid_name_says_no_container_was_created(harness):
    state = State(variables=service_variables(INSTANCE_NAME="bad name"), instance=instance_json())
    cleaned = harness.run("Clean_Start_Service", state).raise_error()
    assert cleaned.status_history == ["ERROR"]
    assert "no container was created under that name, so there is nothing to remove: the instance stays in ERROR" \
        in cleaned.output
    assert "by hand" not in cleaned.output
