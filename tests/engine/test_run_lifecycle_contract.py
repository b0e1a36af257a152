"""One lifecycle, two engines: ``psa run`` starts, pauses, resumes (the host port read back),
finishes, then redeploys the service on the same fixed host port; the in-memory engine (served
to the scripts over the runner's gateway) and the real one give the same outcomes."""

import json
import socket
from pathlib import Path

import pytest
from engine_helpers import TEST_IMAGE, containers_named

from psa_scripts.testing import FakeEngine
from psa_scripts.workflow.runner import Runner

TEMPLATE = Path(__file__).resolve().parent.parent.parent / "bundles" / "docker-service-template"
ACTIONS = [TEMPLATE / f"{verb}_Docker_Service_Template.xml" for verb in ("Pause", "Resume", "Finish")]
SERVE = json.dumps(["httpd", "-f", "-p", "80", "-h", "/www"])


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(params=["in-memory", pytest.param("real", marks=pytest.mark.engine)])
def lifecycle(request):
    """(engine argument of the Runner, a fresh container name, what still runs under that name)."""
    if request.param == "in-memory":
        engine = FakeEngine(images={TEST_IMAGE})
        return engine, "psa-run-life", lambda name: [name] if name in engine.containers else []
    real = request.getfixturevalue("engine")
    name = request.getfixturevalue("container_names")("psa-run-life")
    return "docker", name, lambda found: containers_named(real, found)


def test_start_pause_resume_finish_and_a_redeploy_on_a_fixed_host_port(lifecycle):
    engine, name, still_there = lifecycle
    port = _free_port()
    variables = {"INSTANCE_NAME": name, "SERVICE_PORT": str(port), "DOCKER_IMAGE": TEST_IMAGE,
                 "CONTAINER_PORT": "80", "DOCKER_COMMAND": SERVE, "DOCKER_STOP_TIMEOUT": "1"}
    first = Runner(TEMPLATE / "Docker_Service_Template.xml", engine=engine, ticks=1, tick_seconds=0.2,
                   then=ACTIONS, variables=variables).run()
    assert first.ok, [(s.script, s.error) for s in first.scripts if not s.ok]
    assert first.status_history == ["VOID -> RUNNING", "RUNNING", "PAUSED", "RUNNING", "FINISHED"]
    assert first.endpoint == f"http://127.0.0.1:{port}"
    resumed = next(s.output for s in first.scripts if s.script == "Resume_Docker_Service")
    assert f"{name} publishes port 80/tcp on host port {port}" in resumed
    assert still_there(name) == []
    again = Runner(TEMPLATE / "Docker_Service_Template.xml", engine=engine, ticks=1, tick_seconds=0.2,
                   then=ACTIONS[-1:], variables=variables).run()
    assert again.ok and again.status_history == ["VOID -> RUNNING", "RUNNING", "FINISHED"]
    assert again.endpoint == f"http://127.0.0.1:{port}"
    assert still_there(name) == []
