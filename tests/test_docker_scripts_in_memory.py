"""The Docker action scripts on the in-memory engine, chained by ``Scenario`` as the workflows run them.

The same scenarios run on the real engine in tests/engine/test_docker_scripts.py; the engine
contract (tests/engine/test_engine_contract.py) says why the two agree.
"""

import pytest

from psa_scripts import names
from psa_scripts.errors import InputError
from psa_scripts.testing import FakeEngine
from psa_scripts.testing.harness import Harness, State, node_variables
from psa_scripts.testing.scenarios import Scenario

NAME = "web-1"
CHANNEL = "Service_Instance_11"


def deployment_state(name=NAME, **variables):
    return State(
        variables=node_variables(**{
            names.PCA_INSTANCE_ID: "11", names.INSTANCE_NAME: name, names.SERVICE_PORT: "-1",
            names.ENDPOINT_ID: f"{name}-gui", names.HTTP_ENABLED: "True", names.PROXYFIED: "False",
            "DOCKER_IMAGE": "nginx:1.27", "CONTAINER_PORT": "80", **variables}),
        instance={"instance_id": 11, "instance_status": "VOID -> RUNNING", "variables": {},
                  "deployments": [], "groups": [], "job_submissions": []})


def test_deploy_check_pause_resume_finish(harness):
    scenario = Scenario(harness, deployment_state())
    deployed = scenario.deploy("Start_Docker_Service")
    port = deployed.state.files[f"{NAME}_port"]
    assert port == "32768" and deployed.state.variables[names.PORT] == port
    assert deployed.state.instance["deployments"][0]["endpoint"]["url"] == f"http://node-1.example:{port}"
    assert deployed.state.files[f"{NAME}_containerID"] == deployed.state.containers[NAME].id

    scenario.state.containers[NAME].logs.extend(["listening on :80", "GET /"])
    checks = scenario.check(times=2)
    assert [o.output for o in checks.of_all("Check_Instance_Status")] == ["listening on :80\nGET /\n", ""]

    assert scenario.action("pause").status_history == ["PAUSED"]
    assert not scenario.state.containers[NAME].running
    assert scenario.check().status_history == []  # stopped on purpose: no ERROR
    assert scenario.action("resume").status_history == ["RUNNING"]
    assert scenario.state.containers[NAME].running
    finished = scenario.action("finish")
    assert finished.of("Finish_Docker_Service").state.files[f"{NAME}_status"] == NAME
    assert NAME not in scenario.state.containers
    assert scenario.check().state.variables[names.IS_FINISHED] == "true"
    assert scenario.status_history == ["RUNNING", "PAUSED", "RUNNING", "FINISHED"]
    assert CHANNEL not in scenario.state.channels and scenario.state.node_tokens == {}


def test_a_second_deployment_reuses_the_running_container(harness):
    scenario = Scenario(harness, deployment_state())
    first = scenario.run("Start_Docker_Service")
    again = scenario.run("Start_Docker_Service")
    assert "Container web-1 created from nginx:1.27" in first.output
    assert "Container web-1 reused from nginx:1.27" in again.output
    assert again.state.files == first.state.files


def test_a_fixed_service_port_is_published(harness):
    deployed = Scenario(harness, deployment_state(SERVICE_PORT="8080")).run("Start_Docker_Service")
    assert deployed.state.files[f"{NAME}_port"] == "8080"


def test_a_killed_container_makes_the_check_set_error(tmp_path):
    engine = FakeEngine()
    with Harness(workdir=str(tmp_path), engine=engine, clock=lambda: 1_764_000_000.0) as harness:
        scenario = Scenario(harness, deployment_state())
        scenario.deploy("Start_Docker_Service")
        engine.kill(NAME)
        died = scenario.check(expect_error=True)
    assert died.status_history == ["ERROR"]
    assert f"container {NAME} is not running" in str(died.error)
    assert engine.inspect(NAME)["State"]["ExitCode"] == 137


def test_finish_when_already_removed_warns_and_finishes(harness):
    scenario = Scenario(harness, deployment_state())
    scenario.deploy("Start_Docker_Service")
    scenario.state = scenario.state.replace(containers={})  # removed behind the service's back
    finished = scenario.action("finish")
    assert finished.state.files[f"{NAME}_status"] == f"Error: No such container: {NAME}"
    assert f"WARNING: container {NAME} was already removed" in finished.output
    assert finished.status_history == ["FINISHED"]


def test_a_missing_image_fails_the_deployment_and_clean_marks_error(tmp_path):
    with Harness(workdir=str(tmp_path), engine=FakeEngine(images=["busybox:1"])) as harness:
        failed = Scenario(harness, deployment_state()).deploy("Start_Docker_Service", expect_error=True)
    assert "image nginx:1.27 is not on this host and could not be pulled" in str(failed.error)
    assert [o.script for o in failed] == ["Pre_Start_Service", "Start_Docker_Service", "Clean_Start_Service"]
    assert failed.status_history == ["ERROR"]


@pytest.mark.parametrize("script", ["Start_Docker_Service", "Finish_Docker_Service",
                                    "Pause_Docker_Service", "Resume_Docker_Service"])
def test_a_bad_instance_name_is_refused_before_any_engine_call(harness, script):
    outcome = harness.run(script, deployment_state("svc; touch /tmp/psa-pwned"))
    assert isinstance(outcome.error, InputError)
    assert outcome.calls_to("engine") == [] and outcome.state.files == {}
