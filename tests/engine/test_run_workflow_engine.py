"""psa run on the real engine: the bundled services deploy the test image, serve HTTP, log,
finish, and leave nothing behind (no container, token, channel or credential)."""

import io
import json
import re
from pathlib import Path

import pytest
from engine_helpers import PAGE_MARKER, TEST_IMAGE, containers_named, fetch_page

from psa_scripts.workflow.runner import Runner

pytestmark = pytest.mark.engine

BUNDLES = Path(__file__).resolve().parent.parent.parent / "bundles"
PAIRS = {
    "coco-annotator": ("COCO_Annotator.xml", "Finish_COCO_Annotator.xml"),
    "docker-service-template": ("Docker_Service_Template.xml", "Finish_Docker_Service_Template.xml"),
}
# Serves the test page and writes a numbered line every half second, until removed.
SERVE_AND_LOG = json.dumps(["sh", "-c", "httpd -p 80 -h /www; i=0; while true; do i=$((i+1)); "
                                        "echo line $i; sleep 0.5; done"])
NOTHING_LEFT = {"node_tokens": [], "channels": [], "credentials": [], "containers": []}


@pytest.mark.parametrize("package", sorted(PAIRS))
def test_a_service_serves_logs_each_tick_and_finishes_leaving_nothing(package, engine, container_names):
    deployment, finish = PAIRS[package]
    name = container_names("psa-run")
    pages = []

    def tick(runner, n):  # the service is RUNNING between ticks: its endpoint answers
        port = int(runner.report.endpoint.rsplit(":", 1)[1])
        pages.append(fetch_page(port))

    out = io.StringIO()
    report = Runner(BUNDLES / package / deployment, engine="docker", ticks=3, tick_seconds=1.0,
                    then=[BUNDLES / package / finish], out=out, on_tick=tick,
                    variables={"INSTANCE_NAME": name, "DOCKER_IMAGE": TEST_IMAGE, "CONTAINER_PORT": "80",
                               "DOCKER_COMMAND": SERVE_AND_LOG}).run()
    timeline = out.getvalue()
    assert report.ok, timeline
    assert report.status_history == ["VOID -> RUNNING", "RUNNING", "FINISHED"]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", report.endpoint)
    assert len(pages) == 2 and all(PAGE_MARKER in page for page in pages)
    # every log line printed once, new ones at each tick
    logged = [line for line in report.log_lines if line.startswith("line ")]
    assert logged == [f"line {n}" for n in range(1, len(logged) + 1)]
    per_tick = [[line for line in run.output.splitlines() if line.startswith("line ")]
                for run in report.scripts if run.script == "Check_Instance_Status"]
    assert sum(1 for lines in per_tick[1:3] if lines) == 2, per_tick
    assert containers_named(engine, name) == []
    assert {k: v for k, v in report.left_behind.items()} == NOTHING_LEFT
    assert f"is FINISHED: resources released" in timeline
    assert "nothing answers" not in timeline  # the endpoint answered: no warning


def test_an_endpoint_nothing_listens_on_gets_one_warning_line(engine, container_names):
    """The image serves port 80; the workflow says 81: RUNNING, but psa run says the URL never answers."""
    deployment, finish = PAIRS["docker-service-template"]
    name = container_names("psa-run")
    out = io.StringIO()
    report = Runner(BUNDLES / "docker-service-template" / deployment, engine="docker", ticks=1, tick_seconds=0.5,
                    then=[BUNDLES / "docker-service-template" / finish], out=out,
                    variables={"INSTANCE_NAME": name, "DOCKER_IMAGE": TEST_IMAGE, "CONTAINER_PORT": "81"}).run()
    warnings = [line for line in out.getvalue().splitlines() if "nothing answers" in line]
    assert warnings == [f"psa run: warning: nothing answers at {report.endpoint} after 5 s: does the image listen on "
                        "CONTAINER_PORT 81? Setting READY_LOG makes the deployment wait until the service is ready"]
    assert report.ok and containers_named(engine, name) == []


def test_a_container_that_cannot_start_ends_in_error_and_leaves_nothing(engine, container_names):
    deployment, finish = PAIRS["docker-service-template"]
    name = container_names("psa-run")
    out = io.StringIO()
    report = Runner(BUNDLES / "docker-service-template" / deployment, engine="docker", ticks=2, tick_seconds=0.5,
                    then=[BUNDLES / "docker-service-template" / finish], out=out,
                    variables={"INSTANCE_NAME": name, "DOCKER_IMAGE": TEST_IMAGE, "CONTAINER_PORT": "80",
                               "DOCKER_COMMAND": '["/no/such/program"]'}).run()
    # ERROR, then finishable: the Finish action runs (the container is already gone) and ends FINISHED.
    assert not report.ok and report.status_history == ["VOID -> RUNNING", "ERROR", "FINISHED"], out.getvalue()
    failed = [s for s in report.scripts if not s.ok]
    assert [s.script for s in failed] == ["Start_Docker_Service"]
    assert f"could not start container {name}" in failed[0].error
    assert containers_named(engine, name) == []
    assert report.left_behind == NOTHING_LEFT
