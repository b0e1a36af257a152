"""The Docker action scripts on the in-memory engine, chained by ``Scenario`` as the workflows run them.

The same scenarios run on the real engine in tests/engine/test_docker_scripts.py; the engine
contract (tests/engine/test_engine_contract.py) says why the two agree.
"""

import pytest

from psa_scripts import names
from psa_scripts.containers import DeploySpec, ForeignContainer
from psa_scripts.errors import InputError
from psa_scripts.local.apis import ContainerState
from psa_scripts.testing import FakeEngine
from psa_scripts.testing.harness import Harness, State, node_variables
from psa_scripts.testing.scenarios import ACTIONS, Scenario

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
    assert finished.of("Finish_Docker_Service").output == f"Finish {NAME}: done\n"  # not "Finish web-1: web-1"
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
    assert finished.of("Finish_Docker_Service").output == f"Finish {NAME}: there is no such container (already removed)\n"
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


@pytest.mark.parametrize("port", ["8\u00b2", "\u0663", "8 0", "1_000", "+80"])  # '8²', an Arabic-Indic three
@pytest.mark.parametrize("script", ["Start_Docker_Service", "Resume_Docker_Service"])
def test_a_container_port_in_other_than_ascii_digits_is_refused_before_any_engine_call(harness, script, port):
    """``'8²'.isdigit()`` is true and int() then raised a raw ValueError; int('\u0663') read 3."""
    outcome = harness.run(script, deployment_state(CONTAINER_PORT=port))
    assert isinstance(outcome.error, InputError)
    assert str(outcome.error) == f"CONTAINER_PORT must be a port like 80, 80/tcp or 53/udp, got {port!r}"
    assert outcome.calls_to("engine") == [] and outcome.state.files == {}


# --- a container of the same name that another service instance made ----------------------------
OURS = {names.LABEL_INSTANCE_ID: "11"}


def test_what_start_creates_carries_the_instance_and_service_labels(harness):
    state = deployment_state().replace(generic_info={names.GI_SERVICE_ID: "COCO_Annotator"})
    deployed = harness.run("Start_Docker_Service", state).raise_error()
    assert deployed.state.containers[NAME].labels == {names.LABEL_INSTANCE_ID: "11",
                                                       names.LABEL_SERVICE_ID: "COCO_Annotator"}


@pytest.mark.parametrize("labels", [{}, {names.LABEL_INSTANCE_ID: "7"},
                                    {names.LABEL_INSTANCE_ID: "11", names.LABEL_SERVICE_ID: "Other"}],
                         ids=["unlabelled", "another-instance", "another-service"])
def test_start_refuses_a_container_of_that_name_it_does_not_own(harness, labels):
    theirs = ContainerState(running=True, id="f0e1d2c3b4a5" * 5, image="their/app", labels=dict(labels))
    state = deployment_state().replace(containers={NAME: theirs},
                                       generic_info={names.GI_SERVICE_ID: "COCO_Annotator"})
    failed = Scenario(harness, state).deploy("Start_Docker_Service", expect_error=True)
    assert isinstance(failed.error, ForeignContainer)
    assert str(failed.error).startswith(f"container {NAME} (id f0e1d2c3b4a5) was not created by this service "
                                        "instance (io.ow2.proactive.psa.instance-id=11, ")
    assert "it is left untouched" in str(failed.error)
    assert failed.state.containers[NAME] == theirs  # not started, stopped, relabelled nor removed
    assert f"{NAME}_containerID" not in failed.state.files and failed.status_history == ["ERROR"]


@pytest.mark.parametrize("action", ["finish", "pause", "resume"])
@pytest.mark.parametrize("running", [True, False], ids=["running", "stopped"])
def test_an_action_refuses_a_container_it_does_not_own_and_leaves_it(harness, action, running):
    scenario = Scenario(harness, deployment_state())
    scenario.deploy("Start_Docker_Service")
    theirs = ContainerState(running=running, id="abcdef012345" * 5, labels={names.LABEL_INSTANCE_ID: "7"})
    scenario.state = scenario.state.replace(containers={NAME: theirs})  # ours went, theirs took the name
    done = scenario.action(action, expect_error=True)
    status = done.of(ACTIONS[action].docker_executable).state.files[f"{NAME}_status"]
    assert status.startswith(f"container {NAME} (id abcdef012345) was not created by this service instance "
                             "(io.ow2.proactive.psa.instance-id=11; it has io.ow2.proactive.psa.instance-id=7)")
    assert scenario.state.containers[NAME] == theirs
    assert done.status_history == ["ERROR"] and status in str(done.error)
    assert done.of(ACTIONS[action].docker_executable).output.startswith(
        f"{action.capitalize()} {NAME} failed: container {NAME} (id abcdef012345) was not created")


def test_an_action_on_our_own_container_still_acts(harness):
    scenario = Scenario(harness, deployment_state())
    scenario.deploy("Start_Docker_Service")
    assert scenario.state.containers[NAME].labels == OURS
    assert scenario.action("pause").status_history == ["PAUSED"]
    assert not scenario.state.containers[NAME].running


@pytest.mark.parametrize("script", ["Start_Docker_Service", "Finish_Docker_Service",
                                    "Pause_Docker_Service", "Resume_Docker_Service"])
def test_without_pca_instance_id_no_container_is_touched(harness, script):
    state = deployment_state()
    state = state.replace(variables={k: v for k, v in state.variables.items() if k != names.PCA_INSTANCE_ID})
    outcome = harness.run(script, state)
    assert isinstance(outcome.error, InputError) and names.PCA_INSTANCE_ID in str(outcome.error)
    assert outcome.calls_to("engine") == [] and outcome.state.files == {}


def test_docker_options_cannot_set_the_owner_labels():
    with pytest.raises(InputError, match="DOCKER_OPTIONS: the labels io.ow2.proactive.psa.instance-id are set by"):
        DeploySpec(name=NAME, image="img", options={"labels": {names.LABEL_INSTANCE_ID: "11"}})
    spec = DeploySpec(name=NAME, image="img", options={"labels": {"team": "vision"}}, owner=OURS)
    assert spec.labels == {"team": "vision", **OURS}
