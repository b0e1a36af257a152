"""psa run's endings on the in-memory engine: each stop signal, a forced stop, --keep, script
timeouts and a background child, with nothing left behind (process, socket, temp directory)."""

import io
import json
import signal
import stat
from pathlib import Path

import pytest
from psa_run_process import PsaRun, gone

from psa_scripts.testing import FakeEngine
from psa_scripts.workflow.summary import summary_lines
from psa_scripts.workflow.runner import Runner

BUNDLES = Path(__file__).resolve().parent.parent / "bundles"
TEMPLATE = BUNDLES / "docker-service-template"
DEPLOYMENT = TEMPLATE / "Docker_Service_Template.xml"
FINISH = TEMPLATE / "Finish_Docker_Service_Template.xml"


@pytest.mark.parametrize("signum, then", [
    (signal.SIGINT, [str(FINISH)]),  # the --then actions
    (signal.SIGTERM, []),  # the service's own finish workflow, found beside the deployment
    (signal.SIGHUP, []),
])
def test_each_stop_signal_ends_the_run_in_order_and_leaves_nothing(tmp_path, signum, then):
    report = tmp_path / "run.json"
    run = PsaRun([str(DEPLOYMENT), "--engine", "memory", "--tick-seconds", "0.2", "--report", str(report),
                  *[arg for path in then for arg in ("--then", path)]], tmp_path)
    run.wait_for("status: RUNNING")
    run.send(signum)
    assert run.finish() == 0, run.output
    name = signal.Signals(signum).name
    assert f"psa run: {name}: stopping at the next step" in run.output
    assert "== Finish_Docker_Service_Template: job 2, transition RUNNING -> FINISHED" in run.output
    assert run.lines[-1] == "psa run: instance 1 ended FINISHED; nothing left behind"
    assert run.left_in_tmp() == []
    saved = json.loads(report.read_text())
    assert saved["stopped_by"] == name and not saved["forced"]
    assert stat.S_IMODE(report.stat().st_mode) == 0o600


def _sleeper(tmp_path, script):
    """A one-task service whose task runs ``script`` (it reads PID_FILE)."""
    workflow = tmp_path / "sleeper.xml"
    workflow.write_text(
        '<job xmlns="urn:proactive:jobdescriptor:3.14" name="Sleeper">'
        f'<variables><variable name="PID_FILE" value="{tmp_path / "pids"}"/></variables>'
        '<genericInformation><info name="pca.states" value="(VOID,RUNNING)"/></genericInformation>'
        '<taskFlow><task name="Sleep"><scriptExecutable><script><code language="cpython"><![CDATA['
        + script + "]]></code></script></scriptExecutable></task>"
        '<task name="After"><depends><task ref="Sleep"/></depends><scriptExecutable><script>'
        '<code language="cpython"><![CDATA[print("after")]]></code></script></scriptExecutable></task>'
        "</taskFlow></job>")
    return workflow


SPAWN_AND_SLEEP = """
import os, subprocess, time
child = subprocess.Popen(["sleep", "600"])
open(variables.get("PID_FILE"), "w").write(f"{os.getpid()} {child.pid}")
print("ready", flush=True)
time.sleep(600)
"""


def _pids(tmp_path):
    return [int(pid) for pid in (tmp_path / "pids").read_text().split()]


def test_a_second_signal_forces_kills_every_script_and_still_writes_the_report(tmp_path):
    report = tmp_path / "run.json"
    run = PsaRun([str(_sleeper(tmp_path, SPAWN_AND_SLEEP)), "--engine", "memory", "--report", str(report)], tmp_path)
    run.wait_for("ready")
    run.send(signal.SIGINT)
    run.wait_for("psa run: SIGINT: stopping at the next step")
    run.send(signal.SIGTERM)
    assert run.finish(60) == 1, run.output
    assert "psa run: SIGTERM again: forcing the stop (the scripts are killed)" in run.output
    assert "FAILED: " in run.lines[-1] and "forced to stop (SIGINT, twice)" in run.lines[-1]
    assert gone(_pids(tmp_path))
    assert run.left_in_tmp() == []
    saved = json.loads(report.read_text())
    assert saved["forced"] and stat.S_IMODE(report.stat().st_mode) == 0o600


def test_a_background_child_holding_the_output_does_not_hold_the_run(tmp_path):
    script = ('import os, subprocess\nchild = subprocess.Popen(["sleep", "600"])\n'
              'open(variables.get("PID_FILE"), "w").write(f"{os.getpid()} {child.pid}")\nprint("spawned")\n')
    run = PsaRun([str(_sleeper(tmp_path, script)), "--engine", "memory", "--ticks", "0"], tmp_path)
    assert run.finish(60) == 0, run.output
    assert "[Sleeper/After executable] after" in run.output
    assert gone(_pids(tmp_path))
    assert run.left_in_tmp() == []


def test_a_script_past_its_timeout_is_killed_with_what_it_started(tmp_path):
    out = io.StringIO()
    report = Runner(_sleeper(tmp_path, SPAWN_AND_SLEEP), script_timeout=1, out=out).run()
    failed = [(s.script, s.error) for s in report.scripts if not s.ok]
    assert failed == [("inline cpython", "killed after 1 s (the script timeout), with what it started")]
    assert gone(_pids(tmp_path))


def test_without_a_finish_workflow_the_containers_the_run_created_are_removed(tmp_path):
    alone = tmp_path / "Docker_Service_Template.xml"  # no sibling: no finish workflow
    alone.write_text(DEPLOYMENT.read_text())
    engine = FakeEngine()
    out = io.StringIO()
    report = Runner(alone, engine=engine, ticks=0, out=out).run()
    assert "   removed container docker-service-1, which the run created" in out.getvalue()
    assert engine.containers == {} and report.left_behind["containers"] == []


def test_keep_leaves_the_service_running_and_says_how_to_remove_it(tmp_path):
    engine = FakeEngine()
    report = Runner(DEPLOYMENT, engine=engine, ticks=0, keep=True, out=io.StringIO()).run()
    assert engine.containers["docker-service-1"].running
    assert report.status == "RUNNING" and report.left_behind["containers"] == ["docker-service-1"]
    lines = summary_lines(report, "docker", "unix:///run/engine.sock", keep=True)
    assert lines[0] == "psa run: instance 1 ended RUNNING; left behind:"
    assert lines[1] == ("  container docker-service-1 (kept running: --keep): remove it with: "
                        "docker --host unix:///run/engine.sock rm -f docker-service-1")
    assert "  node token PSA_docker-service-1: in the run's own PSA, gone with this run" in lines[2]


class _InterfaceOnly:
    """A test's own engine double: the script-facing interface, no way to list by label."""

    def __init__(self, engine):
        self._engine = engine

    def __getattr__(self, name):
        if name not in ("is_running", "read_logs", "inspect", "deploy", "stop", "start", "remove"):
            raise AttributeError(name)
        return getattr(self._engine, name)


def test_an_engine_double_that_cannot_list_by_label_still_runs(tmp_path):
    inner = FakeEngine()
    report = Runner(DEPLOYMENT, engine=_InterfaceOnly(inner), ticks=0, out=io.StringIO()).run()
    assert report.ok and report.status == "FINISHED"  # the finish workflow took the container away
    assert inner.containers == {} and report.left_behind["containers"] == []


def test_another_runs_container_with_the_same_labels_is_neither_listed_nor_removed(tmp_path):
    """Every run's instance is number 1: another run of the same service on the same engine makes
    containers with the same labels, under its own INSTANCE_NAME. This run leaves them alone."""
    from psa_scripts import names
    from psa_scripts.testing import ContainerState

    alone = tmp_path / "Docker_Service_Template.xml"  # no finish workflow: the ending removes by label
    alone.write_text(DEPLOYMENT.read_text())
    engine = FakeEngine()
    labels = {names.LABEL_INSTANCE_ID: "1", names.LABEL_SERVICE_ID: "Docker_Service_Template"}

    def another_run_deploys(runner, n):
        engine.containers["their-service-1"] = ContainerState(running=True, id="ab" * 32, labels=dict(labels))

    report = Runner(alone, engine=engine, ticks=2, tick_seconds=0, on_tick=another_run_deploys,
                    out=io.StringIO()).run()
    assert sorted(engine.containers) == ["their-service-1"]
    assert report.left_behind["containers"] == []


def test_a_run_that_cannot_go_on_still_removes_the_containers_it_created(tmp_path):
    from psa_scripts.workflow.runner import RunError

    alone = tmp_path / "Docker_Service_Template.xml"
    alone.write_text(DEPLOYMENT.read_text())
    script = tmp_path / "act.py"
    script.write_text('print("acting")\n')
    action = tmp_path / "Act.xml"
    action.write_text('<job xmlns="urn:proactive:jobdescriptor:3.14" name="Act"><genericInformation>'
                      '<info name="pca.states" value="(RUNNING,RUNNING)"/></genericInformation><taskFlow>'
                      '<task name="A"><scriptExecutable><script><file path="act.py" language="cpython"/>'
                      "</script></scriptExecutable></task></taskFlow></job>")
    engine = FakeEngine()
    runner = Runner(alone, engine=engine, ticks=2, tick_seconds=0, then=[action], out=io.StringIO(),
                    on_tick=lambda run, n: script.unlink())  # gone once checked: the action cannot run
    with pytest.raises(RunError, match="cannot read script file"):
        runner.run()
    assert engine.containers == {}
