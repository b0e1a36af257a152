"""Action scripts on a real engine: the stop timeout, ports across Pause/Resume, a failed deployment finished."""

import time

import pytest
from engine_helpers import PAGE_MARKER, TEST_IMAGE, fetch_page

from psa_scripts import names
from psa_scripts.testing.harness import State, node_variables

pytestmark = pytest.mark.engine

INSTANCE_ID = 12
CHANNEL = f"Service_Instance_{INSTANCE_ID}"
SERVICE_COMMAND = "sh -c 'echo service says hello; exec httpd -f -p 80 -h /www'"



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


def deploy(harness, name):
    started = harness.run("Start_Docker_Service", deployment_state(name)).raise_error()
    return harness.run("Post_Start_Service", started.state)


def test_resume_reads_the_port_back_and_moves_a_stale_endpoint(harness, engine, container_names):
    name = container_names()
    posted = deploy(harness, name).raise_error()
    port = int(posted.state.files[f"{name}_port"])
    # As if the engine had published the container on another port before: the endpoint PSA shows is stale.
    instance = posted.state.instance
    endpoint = instance["deployments"][0]["endpoint"]
    stale = {**instance, "deployments": [{**instance["deployments"][0], "endpoint": {**endpoint, "url": "http://node-1.example:1"}}]}
    paused, _ = run_action(harness, posted.state.replace(instance=stale), "PAUSE_LAUNCHED", "Pause_Docker_Service", "PAUSED")
    assert paused.raise_error().status_history == ["PAUSED"] and not engine.is_running(name)

    resumed, _ = run_action(harness, paused.state, "RESUME_LAUNCHED", "Resume_Docker_Service", "RUNNING", job_id="61")
    resumed.raise_error()
    now_published = int(engine.inspect(name)["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"])
    assert resumed.state.files[f"{name}_port"] == str(now_published)
    moved = resumed.state.instance["deployments"][0]["endpoint"]
    assert moved["url"] == f"http://node-1.example:{now_published}"
    assert moved["proxyfiedUrl"] == endpoint["proxyfiedUrl"]
    assert resumed.state.variables[names.PORT] == str(now_published)
    assert PAGE_MARKER in fetch_page(now_published)
    assert now_published == port  # Podman keeps the port; Docker may pick another: the endpoint follows either way


def test_a_failed_deployment_is_finished_and_its_container_removed(harness, engine, container_names):
    name = container_names()
    harness.emulator.fail("PUT", "/serviceInstances/12$", 500, times=1, body="database down")
    posted = deploy(harness, name)
    assert posted.error is not None and engine.is_running(name)
    cleaned = harness.run("Clean_Start_Service", posted.state).raise_error()
    assert cleaned.status_history == ["ERROR"]
    finished, released = run_action(harness, cleaned.state, "FINISH_LAUNCHED", "Finish_Docker_Service", "FINISHED")
    assert finished.raise_error().status_history == ["FINISHED"]
    assert engine.inspect(name) is None  # no orphaned container
    released = harness.run("Clean_Trigger_Action", released.state.with_variables(PA_JOB_ID="60").replace(
        finished_jobs=frozenset({"42"})))
    released.raise_error()
    assert released.state.channels == {} and released.state.node_tokens == {}


@pytest.mark.parametrize("transport", ["sdk", "stdlib"])
def test_lines_the_engine_cuts_are_delivered_whole_and_a_partial_line_once_stopped(engine, container_names, transport):
    """busybox seq writes in blocks: Podman cuts lines where its pipe reads end."""
    import os

    from psa_scripts.containers import DeploySpec, DockerEngine
    from psa_scripts.containers.lite import ApiReader

    name = container_names()
    engine.deploy(DeploySpec(name=name, image=TEST_IMAGE, command=(
        "sh", "-c", "seq 1 40000; printf 'no newline'; sleep 300")))
    if transport == "sdk":
        patient = DockerEngine(engine.client, log_read_seconds=60)
    else:
        patient = ApiReader.from_env(os.environ, log_read_seconds=60)
        if patient is None:
            pytest.skip("DOCKER_HOST is one only the SDK speaks (TLS, ssh)")
    delivered, cursor = [], None
    deadline = time.monotonic() + 60
    while len(delivered) < 40000 and time.monotonic() < deadline:
        batch = patient.read_logs(name, cursor, max_lines=1_000_000, max_bytes=100_000_000)
        assert batch.skipped == 0
        delivered += batch.lines
        cursor = batch.cursor
    assert delivered == [str(n) for n in range(1, 40001)]  # the partial line is held while it runs
    assert patient.read_logs(name, cursor, max_lines=10, max_bytes=10_000).lines == []
    engine.stop(name, 1)
    last = patient.read_logs(name, cursor, max_lines=10, max_bytes=10_000)
    assert last.lines == ["no newline"]
    assert patient.read_logs(name, last.cursor, max_lines=10, max_bytes=10_000).lines == []
