"""Action scripts on a real engine: the stop timeout, ports across Pause/Resume, a failed deployment finished."""

import time

import pytest
from engine_helpers import PAGE_MARKER, TEST_IMAGE, fetch_page

from psa_scripts import names
from psa_scripts.testing.harness import Harness, State, node_variables

pytestmark = pytest.mark.engine

INSTANCE_ID = 12
CHANNEL = f"Service_Instance_{INSTANCE_ID}"
SERVICE_COMMAND = "sh -c 'echo service says hello; exec httpd -f -p 80 -h /www'"


@pytest.fixture
def harness(engine, tmp_path):
    with Harness(engine=engine, workdir=str(tmp_path)) as running:
        yield running


def deployment_state(name, **variables):
    return State(variables=node_variables(**{
        names.PCA_INSTANCE_ID: str(INSTANCE_ID), names.INSTANCE_NAME: name, names.SERVICE_PORT: "-1",
        names.ENDPOINT_ID: f"{name}-gui", names.HTTP_ENABLED: "True", names.PROXYFIED: "True",
        "DOCKER_IMAGE": TEST_IMAGE, "CONTAINER_PORT": "80", "DOCKER_COMMAND": SERVICE_COMMAND,
        "DOCKER_STOP_TIMEOUT": "1", **variables,
    }), instance={"instance_id": INSTANCE_ID, "instance_status": "VOID -> RUNNING", "variables": {},
                  "deployments": [], "groups": [], "job_submissions": [
                      {"transition_state": "VOID -> RUNNING", "job_id": "42"}]})


def run_action(harness, state, launched, executable, target, job_id="60"):
    """An action workflow: Pre_Trigger_Action, the Docker executable, Post_Trigger_Action, then its clean script."""
    state = state.with_variables(PA_JOB_ID=job_id)
    pre = harness.run("Pre_Trigger_Action", state.replace(args=(launched,))).raise_error()
    done = harness.run(executable, pre.state.replace(args=())).raise_error()
    post = harness.run("Post_Trigger_Action", done.state.replace(args=(target,)))
    clean = harness.run("Clean_Trigger_Action", post.state.replace(args=()))
    return post, clean


def test_pause_stops_within_docker_stop_timeout(harness, engine, container_names):
    """``sleep`` as PID 1 ignores SIGTERM: the stop lasts the whole timeout, 1 s here, not the default 10 s."""
    name = container_names()
    state = deployment_state(name, DOCKER_COMMAND="sleep 300", CONTAINER_PORT="")
    harness.run("Start_Docker_Service", state).raise_error()
    assert engine.is_running(name)
    started = time.monotonic()
    paused = harness.run("Pause_Docker_Service", state).raise_error()
    elapsed = time.monotonic() - started
    assert paused.state.files[f"{name}_status"] == name and not engine.is_running(name)
    assert elapsed < 6, f"the stop took {elapsed:.1f} s: DOCKER_STOP_TIMEOUT=1 was not passed on"
