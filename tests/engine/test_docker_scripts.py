"""The Docker action scripts on a real engine, chained with the lifecycle scripts by the Harness.

PSA is the loopback emulator; the scheduler, RM and channel are the recording doubles; the
container engine is real. Each scenario is the order the workflows run the scripts in.
"""

import os

import pytest
from engine_helpers import PAGE_MARKER, TEST_IMAGE, SpyEngine, fetch_page, wait_until

from psa_scripts import names
from psa_scripts.errors import InputError, ServiceError
from psa_scripts.testing.harness import Harness, State, node_variables

pytestmark = pytest.mark.engine

INSTANCE_ID = 11
CHANNEL = f"Service_Instance_{INSTANCE_ID}"
SERVICE_COMMAND = "sh -c 'echo service says hello; exec httpd -f -p 80 -h /www'"


@pytest.fixture
def harness(engine, tmp_path):
    with Harness(engine=engine, workdir=str(tmp_path)) as running:
        yield running


def deployment_state(name):
    variables = node_variables(**{
        names.PCA_INSTANCE_ID: str(INSTANCE_ID), names.INSTANCE_NAME: name, names.SERVICE_PORT: "-1",
        names.ENDPOINT_ID: f"{name}-gui", names.HTTP_ENABLED: "True", names.PROXYFIED: "False",
        "DOCKER_IMAGE": TEST_IMAGE, "CONTAINER_PORT": "80", "DOCKER_COMMAND": SERVICE_COMMAND,
        "DOCKER_STOP_TIMEOUT": "1",
    })
    instance = {"instance_id": INSTANCE_ID, "instance_status": "VOID -> RUNNING", "variables": {},
                "deployments": [], "groups": [], "job_submissions": []}
    return State(variables=variables, instance=instance)


def deploy(harness, name):
    """Start_Docker_Service then Post_Start_Service: the deployment task with its post script."""
    started = harness.run("Start_Docker_Service", deployment_state(name)).raise_error()
    assert set(started.state.files) == {f"{name}_port", f"{name}_containerID"}
    posted = harness.run("Post_Start_Service", started.state).raise_error()
    assert posted.status_history == ["RUNNING"]
    return posted


def action(harness, state, launched, executable, target):
    """An action workflow: Pre_Trigger_Action, the Docker executable, Post_Trigger_Action."""
    pre = harness.run("Pre_Trigger_Action", state.replace(args=(launched,))).raise_error()
    done = harness.run(executable, pre.state.replace(args=())).raise_error()
    return harness.run("Post_Trigger_Action", done.state.replace(args=(target,)))


def test_deploy_publishes_a_free_port_and_post_start_reports_it(harness, engine, container_names):
    name = container_names()
    posted = deploy(harness, name)
    port = int(posted.state.files[f"{name}_port"])
    assert posted.state.variables[names.PORT] == str(port)
    assert engine.inspect(name)["Id"] == posted.state.files[f"{name}_containerID"]
    assert PAGE_MARKER in fetch_page(port)
    endpoint = posted.state.instance["deployments"][0]["endpoint"]["url"]
    assert endpoint == f"http://node-1.example:{port}"


def test_checks_print_each_log_line_once_then_a_killed_container_is_error(harness, engine, container_names):
    name = container_names()
    posted = deploy(harness, name)
    wait_until(lambda: b"hello" in engine.client.api.logs(name), what="the service's greeting")

    first = harness.run("Check_Instance_Status", posted.state).raise_error()
    second = harness.run("Check_Instance_Status", first.state).raise_error()
    assert (first.output + second.output).count("service says hello") == 1
    assert first.variables_written[names.LOG_CURSOR].startswith("since=")

    engine.client.api.kill(name)
    wait_until(lambda: not engine.is_running(name), what="the container to die")
    died = harness.run("Check_Instance_Status", second.state)
    assert isinstance(died.error, ServiceError)
    assert str(died.error) == (f"container {name} is not running and no finish or pause was launched: "
                               f"service instance {INSTANCE_ID} set to ERROR")
    assert died.status_history == ["ERROR"]
    assert died.state.variables[names.IS_FINISHED] == "true"
    assert died.state.channels[CHANNEL][names.KEY_RUNNING_STATE] == names.RUNNING_STATE_ERROR


def test_pause_resume_finish(harness, engine, container_names):
    name = container_names()
    state = deploy(harness, name).state

    paused = action(harness, state, "PAUSE_LAUNCHED", "Pause_Docker_Service", "PAUSED").raise_error()
    assert paused.status_history == ["PAUSED"] and not engine.is_running(name)
    assert paused.state.files[f"{name}_status"] == name
    quiet = harness.run("Check_Instance_Status", paused.state).raise_error()  # stopped on purpose: no ERROR
    assert quiet.status_history == []

    resumed = action(harness, quiet.state, "RESUME_LAUNCHED", "Resume_Docker_Service", "RUNNING").raise_error()
    assert resumed.status_history == ["RUNNING"] and engine.is_running(name)
    assert PAGE_MARKER in fetch_page(int(resumed.state.files[f"{name}_port"]))

    finished = action(harness, resumed.state, "FINISH_LAUNCHED", "Finish_Docker_Service", "FINISHED").raise_error()
    assert finished.status_history == ["FINISHED"] and engine.inspect(name) is None
    assert finished.state.channels[CHANNEL][names.KEY_FINISH_DONE] is True
    released = harness.run("Check_Instance_Status", finished.state).raise_error()
    assert released.state.variables[names.IS_FINISHED] == "true"
    assert CHANNEL not in released.state.channels and released.state.node_tokens == {}


def test_finish_when_already_removed_warns_and_finishes(harness, engine, container_names):
    name = container_names()
    state = deploy(harness, name).state
    engine.remove(name)
    finished = action(harness, state, "FINISH_LAUNCHED", "Finish_Docker_Service", "FINISHED").raise_error()
    assert finished.state.files[f"{name}_status"] == f"Error: No such container: {name}"
    assert f"WARNING: container {name} was already removed" in finished.output
    assert finished.status_history == ["FINISHED"]


def test_resume_of_a_removed_container_ends_in_error(harness, engine, container_names):
    name = container_names()
    state = deploy(harness, name).state
    paused = action(harness, state, "PAUSE_LAUNCHED", "Pause_Docker_Service", "PAUSED").raise_error()
    engine.remove(name)
    resumed = action(harness, paused.state, "RESUME_LAUNCHED", "Resume_Docker_Service", "RUNNING")
    # Already gone counts as success for Post_Trigger_Action (the reference rule); the status
    # loop then sees nothing runs and, no finish or pause being launched, sets ERROR.
    assert resumed.state.files[f"{name}_status"] == f"Error: No such container: {name}"
    assert resumed.status_history == ["RUNNING"]
    checked = harness.run("Check_Instance_Status", resumed.state.replace(args=()))
    assert checked.status_history == ["ERROR"]
    assert f"container {name} is not running" in str(checked.error)


@pytest.mark.parametrize("bad_name", ["svc; touch /tmp/psa-pwned", "two words", "$(touch /tmp/psa-pwned)",
                                      "`touch /tmp/psa-pwned`", "../etc/passwd", "--privileged"])
@pytest.mark.parametrize("script", ["Start_Docker_Service", "Finish_Docker_Service",
                                    "Pause_Docker_Service", "Resume_Docker_Service"])
def test_a_bad_instance_name_is_refused_and_nothing_runs(engine, tmp_path, script, bad_name):
    spy = SpyEngine(engine)
    with Harness(engine=spy, workdir=str(tmp_path)) as harness:
        outcome = harness.run(script, deployment_state("placeholder").with_variables(INSTANCE_NAME=bad_name))
    assert isinstance(outcome.error, InputError)
    assert "is not a valid container name" in str(outcome.error)
    assert spy.calls == [], "the engine was called"
    assert outcome.state.files == {}
    assert not os.path.exists("/tmp/psa-pwned")
