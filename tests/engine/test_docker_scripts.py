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
from psa_scripts.testing.scenarios import Scenario

pytestmark = pytest.mark.engine

INSTANCE_ID = 11
CHANNEL = f"Service_Instance_{INSTANCE_ID}"
SERVICE_COMMAND = "sh -c 'echo service says hello; exec httpd -f -p 80 -h /www'"



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
    """The deployment task (Pre_Start_Service, Start_Docker_Service, Post_Start_Service, Clean_Start_Service)."""
    scenario = Scenario(harness, deployment_state(name))
    deployed = scenario.deploy("Start_Docker_Service")
    assert {f"{name}_port", f"{name}_containerID"} <= set(deployed.state.files)
    assert deployed.status_history == ["RUNNING"]
    return scenario


def test_deploy_publishes_a_free_port_and_post_start_reports_it(harness, engine, container_names):
    name = container_names()
    state = deploy(harness, name).state
    port = int(state.files[f"{name}_port"])
    assert state.variables[names.PORT] == str(port)
    assert engine.inspect(name)["Id"] == state.files[f"{name}_containerID"]
    assert PAGE_MARKER in fetch_page(port)
    endpoint = state.instance["deployments"][0]["endpoint"]["url"]
    assert endpoint == f"http://node-1.example:{port}"


def test_checks_print_each_log_line_once_then_a_killed_container_is_error(harness, engine, container_names):
    name = container_names()
    scenario = deploy(harness, name)
    wait_until(lambda: b"hello" in engine.client.api.logs(name), what="the service's greeting")

    checks = scenario.check(times=2).of_all("Check_Instance_Status")
    assert "".join(o.output for o in checks).count("service says hello") == 1
    assert checks[0].variables_written[names.LOG_CURSOR].startswith("since=")

    engine.client.api.kill(name)
    wait_until(lambda: not engine.is_running(name), what="the container to die")
    died = scenario.check(expect_error=True)
    assert isinstance(died.error, ServiceError)
    assert str(died.error) == (f"container {name} is not running and no finish or pause was launched: "
                               f"service instance {INSTANCE_ID} set to ERROR")
    assert died.status_history == ["ERROR"]
    assert died.state.variables[names.IS_FINISHED] == "true"
    assert died.state.channels[CHANNEL][names.KEY_RUNNING_STATE] == names.RUNNING_STATE_ERROR


def test_pause_resume_finish(harness, engine, container_names):
    name = container_names()
    scenario = deploy(harness, name)

    paused = scenario.action("pause")
    assert paused.status_history == ["PAUSED"] and not engine.is_running(name)
    assert paused.state.files[f"{name}_status"] == name
    assert scenario.check().status_history == []  # stopped on purpose: no ERROR

    resumed = scenario.action("resume")
    assert resumed.status_history == ["RUNNING"] and engine.is_running(name)
    assert PAGE_MARKER in fetch_page(int(resumed.state.files[f"{name}_port"]))

    finished = scenario.action("finish")
    assert finished.status_history == ["FINISHED"] and engine.inspect(name) is None
    assert finished.of("Post_Trigger_Action").state.channels[CHANNEL][names.KEY_FINISH_DONE] is True
    released = scenario.check()
    assert released.state.variables[names.IS_FINISHED] == "true"
    assert CHANNEL not in released.state.channels and released.state.node_tokens == {}


def test_finish_when_already_removed_warns_and_finishes(harness, engine, container_names):
    name = container_names()
    scenario = deploy(harness, name)
    engine.remove(name)
    finished = scenario.action("finish")
    assert finished.state.files[f"{name}_status"] == f"Error: No such container: {name}"
    assert f"WARNING: container {name} was already removed" in finished.output
    assert finished.status_history == ["FINISHED"]


def test_resume_of_a_removed_container_ends_in_error(harness, engine, container_names):
    name = container_names()
    scenario = deploy(harness, name)
    scenario.action("pause")
    engine.remove(name)
    resumed = scenario.action("resume")
    # Already gone counts as success for Post_Trigger_Action (the reference rule); the status
    # loop then sees nothing runs and, no finish or pause being launched, sets ERROR.
    assert resumed.state.files[f"{name}_status"] == f"Error: No such container: {name}"
    assert resumed.status_history == ["RUNNING"]
    checked = scenario.check(expect_error=True)
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


# --- a container of the same name that is not ours --------------------------------------------------
def _theirs(engine, name, labels):
    """A container made by someone else under ``name`` (another PSA instance, or by hand)."""
    container = engine.client.containers.run(TEST_IMAGE, ["sh", "-c", "exec httpd -f -p 80 -h /www"], name=name,
                                             detach=True, labels=labels)
    wait_until(lambda: engine.is_running(name), what="their container to run")
    return engine.inspect(name)


@pytest.mark.parametrize("labels", [{}, {names.LABEL_INSTANCE_ID: "7"}], ids=["by-hand", "another-instance"])
def test_start_refuses_a_container_of_that_name_made_by_someone_else(harness, engine, container_names, labels):
    name = container_names()
    before = _theirs(engine, name, labels)
    failed = Scenario(harness, deployment_state(name)).deploy("Start_Docker_Service", expect_error=True)
    assert str(failed.error).startswith(
        f"container {name} (id {before['Id'][:12]}) was not created by this service instance "
        f"({names.LABEL_INSTANCE_ID}={INSTANCE_ID}; it has ")
    after = engine.inspect(name)
    assert (after["Id"], after["State"]["StartedAt"], after["Config"]["Labels"]) == (
        before["Id"], before["State"]["StartedAt"], before["Config"]["Labels"])
    assert after["State"]["Running"] and failed.status_history == ["ERROR"]


@pytest.mark.parametrize("action", ["finish", "pause", "resume"])
def test_an_action_leaves_a_container_that_took_our_name_untouched(harness, engine, container_names, action):
    name = container_names()
    scenario = deploy(harness, name)
    engine.remove(name)
    before = _theirs(engine, name, {names.LABEL_INSTANCE_ID: "7"})
    done = scenario.action(action, expect_error=True)
    executable = {"finish": "Finish_Docker_Service", "pause": "Pause_Docker_Service",
                  "resume": "Resume_Docker_Service"}[action]
    status = done.of(executable).state.files[f"{name}_status"]
    assert status.startswith(f"container {name} (id {before['Id'][:12]}) was not created by this service instance")
    after = engine.inspect(name)
    assert (after["Id"], after["State"]["Running"], after["State"]["StartedAt"]) == (
        before["Id"], True, before["State"]["StartedAt"])
    assert done.status_history == ["ERROR"]
