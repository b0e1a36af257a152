"""psa run's endings on the real engine, driven as a user drives it (a subprocess, signals):
no container, process, socket or temp directory left; a forced stop names what it left."""

import json
import os
import shlex
import signal
import subprocess
from pathlib import Path

import pytest
from engine_helpers import TEST_IMAGE, containers_named
from psa_run_process import PsaRun

pytestmark = pytest.mark.engine

TEMPLATE = Path(__file__).resolve().parent.parent.parent / "bundles" / "docker-service-template"
DEPLOYMENT = TEMPLATE / "Docker_Service_Template.xml"
SERVE = json.dumps(["httpd", "-f", "-p", "80", "-h", "/www"])


def _args(name, *more):
    return [str(DEPLOYMENT), "--engine", "docker", "--tick-seconds", "0.5", "--var", f"INSTANCE_NAME={name}",
            "--var", f"DOCKER_IMAGE={TEST_IMAGE}", "--var", "CONTAINER_PORT=80", "--var", f"DOCKER_COMMAND={SERVE}",
            *more]


@pytest.mark.parametrize("signum, more", [
    (signal.SIGINT, []),  # Ctrl-C without --then: the service's own finish workflow
    (signal.SIGTERM, ["--then", str(TEMPLATE / "Finish_Docker_Service_Template.xml")]),  # the --then actions
    (None, ["--ticks", "0"]),  # no signal: the ticks spent, the finish workflow
])
def test_each_ending_leaves_nothing(engine, container_names, tmp_path, signum, more):
    name = container_names("psa-run-stop")
    run = PsaRun(_args(name, *more), tmp_path)
    if signum is not None:
        run.wait_for("status: RUNNING")
        assert containers_named(engine, name)
        run.send(signum)
    assert run.finish() == 0, run.output
    assert "== Finish_Docker_Service_Template: job 2, transition RUNNING -> FINISHED" in run.output
    assert run.lines[-1] == "psa run: instance 1 ended FINISHED; nothing left behind"
    assert containers_named(engine, name) == []
    assert run.left_in_tmp() == []


def test_a_double_signal_names_the_container_it_left_with_the_command_that_removes_it(engine, container_names,
                                                                                       tmp_path):
    name = container_names("psa-run-force")
    report = tmp_path / "run.json"
    run = PsaRun(_args(name, "--report", str(report)), tmp_path)
    run.wait_for("status: RUNNING")
    run.send(signal.SIGTERM)
    run.wait_for("psa run: SIGTERM: stopping at the next step")  # two signals at once would be one
    run.send(signal.SIGTERM)
    assert run.finish() == 1, run.output
    remove = f"docker --host {os.environ['DOCKER_HOST']} rm -f {name}" if os.environ.get("DOCKER_HOST") \
        else f"docker rm -f {name}"
    # What the forced stop left is named with its remove command, and only that (the second signal
    # comes a moment after the first: the finish has had no time to remove the container).
    named = [line for line in run.lines if line.startswith("  container ")]
    assert named == ([f"  container {name}: remove it with: {remove}"] if containers_named(engine, name) else [])
    assert named, run.output
    assert json.loads(report.read_text())["forced"]
    assert run.left_in_tmp() == []


def test_keep_leaves_the_service_and_the_printed_command_removes_it(engine, container_names, tmp_path):
    name = container_names("psa-run-keep")
    run = PsaRun(_args(name, "--ticks", "0", "--keep"), tmp_path)
    assert run.finish() == 0, run.output
    assert len(containers_named(engine, name)) == 1
    line = next(line for line in run.lines if line.startswith(f"  container {name} (kept running: --keep)"))
    command = line.split(": remove it with: ", 1)[1]
    subprocess.run(shlex.split(command), check=True, capture_output=True, timeout=60)
    assert containers_named(engine, name) == []
    assert run.left_in_tmp() == []
