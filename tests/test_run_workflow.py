"""psa run on the in-memory engine: the bundled services end to end, as a server would run them."""

import io
import json
from pathlib import Path

import pytest

from psa_scripts import cli
from psa_scripts.testing import FakeEngine
from psa_scripts.testing.harness import Harness
from psa_scripts.workflow.runner import RunError, Runner, substitute

BUNDLES = Path(__file__).resolve().parent.parent / "bundles"
PAIRS = {
    "coco-annotator": ("COCO_Annotator.xml", "Finish_COCO_Annotator.xml", "coco-annotator-1"),
    "docker-service-template": ("Docker_Service_Template.xml", "Finish_Docker_Service_Template.xml",
                                "docker-service-1"),
}


def _quit_at_once(name, container):
    container.logs.append("fatal: no configuration")
    container.running, container.exit_code = False, 1


@pytest.mark.parametrize("package", sorted(PAIRS))
def test_a_service_runs_ticks_and_finishes_leaving_nothing(package, tmp_path):
    deployment, finish, name = PAIRS[package]
    engine = FakeEngine(on_start=lambda n, c: c.logs.append("listening"))
    out = io.StringIO()

    def tick(runner, n):
        engine.containers[name].logs.append(f"request {n}")

    with Harness(workdir=str(tmp_path)) as harness:
        report = harness.run_workflow(BUNDLES / package / deployment, then=[BUNDLES / package / finish],
                                      ticks=3, engine=engine, on_tick=tick, out=out)
    assert report.ok, out.getvalue()
    assert report.status_history == ["VOID -> RUNNING", "RUNNING", "FINISHED"]
    assert report.endpoint == "http://127.0.0.1:32768"
    assert report.instance["deployments"][0]["endpoint"]["url"] == report.endpoint
    assert [(w.workflow, w.transition, w.ok) for w in report.workflows] == [
        (deployment[:-4], "VOID -> RUNNING", True), (finish[:-4], "RUNNING -> FINISHED", True)]
    # each log line once, in its tick; the last check (after Finish) releases the node
    assert [line for line in report.log_lines if not line.startswith("Service instance")] == [
        "listening", "request 1", "request 2"]
    assert report.log_lines[-1] == f"Service instance 1 ({name}) is FINISHED: resources released"
    assert report.left_behind == {"node_tokens": [], "channels": [], "credentials": [], "containers": []}
    assert engine.containers == {}
    runs = [(s.task, s.slot, s.script, s.iteration) for s in report.scripts]
    start_task = runs[0][0]
    assert runs[:5] == [(start_task, "selection", "Check_Not_Used_By_Other_Service", 0),
                        (start_task, "pre", "Pre_Start_Service", 0), (start_task, "executable", "Start_Docker_Service", 0),
                        (start_task, "post", "Post_Start_Service", 0), (start_task, "cleaning", "Clean_Start_Service", 0)]
    assert [r for r in runs if r[1] == "flow"] == [("Loop_Over_Instance_Status", "flow", "Fetch_Logs", i)
                                                  for i in range(4)]
    assert [r[2] for r in runs[11:]] == ["Pre_Trigger_Action", "Finish_Docker_Service", "Post_Trigger_Action",
                                         "Clean_Trigger_Action", "Check_Instance_Status", "Fetch_Logs"]
    timeline = out.getvalue()
    assert f"[{deployment[:-4]}/Loop_Over_Instance_Status#1 executable] request 1\n" in timeline
    assert "   status: RUNNING\n   endpoint: http://127.0.0.1:32768" in timeline


def test_a_deployment_whose_container_quits_ends_in_error_and_leaves_nothing(tmp_path):
    deployment, finish, name = PAIRS["docker-service-template"]
    engine = FakeEngine(on_start=_quit_at_once)
    out = io.StringIO()
    report = Runner(BUNDLES / "docker-service-template" / deployment, engine=engine, ticks=2, tick_seconds=0,
                    then=[BUNDLES / "docker-service-template" / finish], out=out).run()
    # The deployment failed (ERROR) but stays finishable: Clean_Start_Service left the channel and the
    # node token, so the Finish action runs, finds the container already removed, and ends FINISHED.
    assert not report.ok and report.status == "FINISHED"
    assert report.status_history == ["VOID -> RUNNING", "ERROR", "FINISHED"]
    failed = [(s.script, s.error) for s in report.scripts if not s.ok]
    assert failed == [("Start_Docker_Service", f"psa_scripts.errors.EngineError: container {name} stopped right "
                       "after it started (exit code 1): its last lines: fatal: no configuration")]
    deploy_run, finish_run = report.workflows
    assert not deploy_run.ok and "Start_Docker_Service failed" in deploy_run.reason
    assert finish_run.ok
    assert f"WARNING: container {name} was already removed" in out.getvalue()
    assert report.left_behind == {"node_tokens": [], "channels": [], "credentials": [], "containers": []}
    assert "job cancelled (onTaskError=cancelJob)" in out.getvalue()


def test_an_action_from_a_state_it_does_not_start_from_is_refused(tmp_path):
    package = BUNDLES / "docker-service-template"
    report = Runner(package / "Docker_Service_Template.xml", ticks=1, tick_seconds=0,
                    then=[package / "Resume_Docker_Service_Template.xml"]).run()
    refused = report.workflows[-1]
    assert not refused.ok and refused.reason.startswith(
        "Resume_Docker_Service_Template does not start from RUNNING (pca.states=(PAUSED,RUNNING)")
    assert not report.ok


def test_variables_propagate_substitute_and_write_back(tmp_path):
    workflow = tmp_path / "wf.xml"
    workflow.write_text("""<job xmlns="urn:proactive:jobdescriptor:3.14" name="Vars" onTaskError="cancelJob">
  <variables><variable name="GREETING" value="hello-$PA_JOB_ID"/></variables>
  <genericInformation><info name="pca.states" value="(VOID,RUNNING)"/></genericInformation>
  <taskFlow>
    <task name="A"><scriptExecutable><script><code language="cpython"><![CDATA[
print("A sees", variables.get("GREETING"), args[0])
variables.put("FROM_A", "a")
variables["COUNT"] = 0
result = 41
]]></code><arguments><argument value="${GREETING}!"/></arguments></script></scriptExecutable>
      <post><script><code language="cpython">print("post sees result", result)</code></script></post>
      <cleaning><script><code language="cpython">variables.put("FROM_CLEAN", "x")
print("clean has localspace:", "localspace" in globals())</code></script></cleaning>
    </task>
    <task name="B"><depends><task ref="A"/></depends>
      <scriptExecutable><script><code language="cpython"><![CDATA[
variables.put("COUNT", int(variables.get("COUNT")) + 1)
print("B", variables.get("FROM_A"), variables.get("FROM_CLEAN"), variables.get("COUNT"), variables.get("PA_TASK_ITERATION"))
]]></code></script></scriptExecutable>
      <controlFlow><loop target="B"><script><code language="cpython">loop = variables.get("COUNT") &lt; 3</code></script></loop></controlFlow>
    </task>
  </taskFlow>
</job>""")
    out = io.StringIO()
    report = Runner(workflow, out=out, variables={"EXTRA": "1"}).run()
    outputs = [(s.task, s.slot, s.output) for s in report.scripts]
    assert outputs[:3] == [("A", "executable", "A sees hello-1 hello-1!"), ("A", "post", "post sees result 41"),
                           ("A", "cleaning", "clean has localspace: False")]
    assert [o[2] for o in outputs if o[:2] == ("B", "executable")] == ["B a None 1 0", "B a None 2 1", "B a None 3 2"]
    assert report.workflows[0].ok


def test_a_failing_script_fails_its_task_and_keeps_live_variable_writes(tmp_path):
    workflow = tmp_path / "wf.xml"
    workflow.write_text("""<job name="F" onTaskError="continueJobExecution">
  <genericInformation><info name="pca.states" value="(VOID,RUNNING)"/></genericInformation>
  <taskFlow>
    <task name="A">
      <scriptExecutable><script><code language="cpython">variables.put("KEPT", "yes")
result = "lost"
raise SystemExit("the task broke: fix X")</code></script></scriptExecutable>
      <post><script><code language="cpython">print("never")</code></script></post>
      <controlFlow><loop target="A"><script><code language="cpython">print("flow sees", variables.get("PA_TASK_SUCCESS"), variables.get("KEPT"))</code></script></loop></controlFlow>
    </task>
  </taskFlow>
</job>""")
    report = Runner(workflow).run()
    assert [(s.slot, s.ok, s.error or s.output) for s in report.scripts] == [
        ("executable", False, "the task broke: fix X"), ("flow", True, "flow sees False yes")]
    assert not report.ok and report.workflows[0].reason == "task A: executable script inline cpython failed: the task broke: fix X"


def test_what_cannot_run_locally_is_refused_before_any_effect(tmp_path):
    groovy = tmp_path / "g.xml"
    groovy.write_text("""<job name="G"><genericInformation><info name="pca.states" value="(VOID,RUNNING)"/></genericInformation>
<taskFlow><task name="T"><scriptExecutable><script><code language="groovy">println 1</code></script></scriptExecutable></task></taskFlow></job>""")
    with pytest.raises(RunError, match=r"g.xml:2:\d+: executable script of task T: inline groovy has language "
                                       "'groovy'; psa run plays cpython and bash scripts"):
        Runner(groovy)
    unknown = tmp_path / "u.xml"
    unknown.write_text(groovy.read_text().replace('<code language="groovy">println 1</code>',
        '<file url="${PA_CATALOG_REST_URL}/buckets/service-automation-python/resources/Post_Start_Servce/raw" language="cpython"/>'))
    with pytest.raises(RunError, match="no local bundle has script 'Post_Start_Servce'"):
        Runner(unknown)
    action = BUNDLES / "coco-annotator" / "Finish_COCO_Annotator.xml"
    with pytest.raises(RunError, match="has no transition from VOID"):
        Runner(action)


def test_substitute():
    assert substitute("a-$X-${Y}-$Z", {"X": 1, "Y": "y"}) == "a-1-y-$Z"


def test_psa_run_command_exit_code_and_report(tmp_path, capsys):
    package = BUNDLES / "docker-service-template"
    report_file = tmp_path / "run.json"
    code = cli.main(["run", str(package / "Docker_Service_Template.xml"), "--engine", "memory", "--ticks", "1",
                     "--tick-seconds", "0", "--then", str(package / "Finish_Docker_Service_Template.xml"),
                     "--var", "INSTANCE_NAME=web-1", "--report", str(report_file)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert printed.endswith("psa run: instance 1 ended FINISHED; nothing left behind\n")
    saved = json.loads(report_file.read_text())
    assert saved["ok"] and saved["instance"]["instance_status"] == "FINISHED"
    assert saved["instance"]["variables"]["INSTANCE_NAME"] == "web-1"
    assert saved["status_history"] == ["VOID -> RUNNING", "RUNNING", "FINISHED"]
    assert {s["script"] for s in saved["scripts"]} >= {"Start_Docker_Service", "Finish_Docker_Service"}
    with pytest.raises(SystemExit) as usage:
        cli.main(["run", str(package / "Docker_Service_Template.xml"), "--var", "1oops=x"])
    assert usage.value.code == 2 and "'1oops=x' is not NAME=VALUE or NAME" in capsys.readouterr().err


def test_var_with_a_name_alone_takes_the_value_from_the_environment(monkeypatch, capsys):
    """A secret passed as ``--var NAME`` stays out of ``ps``, as ``docker run -e NAME`` does."""
    monkeypatch.setenv("DB_PASSWORD", "s3cret value")
    assert cli._assignment("DB_PASSWORD") == ("DB_PASSWORD", "s3cret value")
    monkeypatch.delenv("DB_PASSWORD")
    with pytest.raises(SystemExit) as usage:
        cli.main(["run", str(BUNDLES / "docker-service-template" / "Docker_Service_Template.xml"),
                  "--var", "DB_PASSWORD"])
    assert usage.value.code == 2
    assert "DB_PASSWORD is not set in the environment" in capsys.readouterr().err


def test_an_authors_own_script_resolves_from_package_json(tmp_path):
    package = tmp_path / "bundles" / "my-service"
    package.mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({
        "slug": "my-service", "name": "Mine", "bucket": "my-bucket",
        "scripts": [{"name": "Say_Hello", "module": "my_service.hello", "kind": "Script/task"}]}))
    module = tmp_path / "src" / "my_service"
    module.mkdir(parents=True)
    (module / "__init__.py").write_text("")
    (module / "hello.py").write_text('"""Says hello."""\n\n\ndef main(ctx):\n'
                                     '    ctx.print("hello from " + ctx.variables.require("WHO"))\n')
    (package / "Hello.xml").write_text("""<job name="Hello"><variables><variable name="WHO" value="job $PA_JOB_ID"/></variables>
<genericInformation><info name="pca.states" value="(VOID,RUNNING)"/></genericInformation>
<taskFlow><task name="T"><scriptExecutable><script>
<file url="${PA_CATALOG_REST_URL}/buckets/my-bucket/resources/Say_Hello/raw" language="cpython"/>
</script></scriptExecutable></task></taskFlow></job>""")
    report = Runner(package / "Hello.xml", search_path=[tmp_path / "src"]).run()
    assert [(s.script, s.ok, s.output) for s in report.scripts] == [("Say_Hello", True, "hello from job 1")]
    with pytest.raises(RunError, match="no local bundle has script 'Say_Hello'"):
        Runner(_moved(package / "Hello.xml", tmp_path))


def _moved(workflow, tmp_path):
    """The same workflow outside any package: the author's scripts are not known there."""
    alone = tmp_path / "alone.xml"
    alone.write_text(workflow.read_text())
    return alone


def test_a_container_of_that_name_made_by_another_is_refused_as_on_a_node(tmp_path):
    """The in-memory engine's refusal crosses the gateway as the EngineError a node's engine raises,
    and the other container is left as it was."""
    from psa_scripts.testing import ContainerState

    deployment, _, name = PAIRS["docker-service-template"]
    theirs = ContainerState(running=True, id="f0e1d2c3b4a5" * 5, image="their/app")
    engine = FakeEngine({name: theirs})
    report = Runner(BUNDLES / "docker-service-template" / deployment, engine=engine, ticks=1, tick_seconds=0,
                    out=io.StringIO()).run()
    failed = [(s.script, s.error) for s in report.scripts if not s.ok]
    # The service's own finish (the run's ending) is refused the same way: their container is not the run's.
    assert [script for script, _ in failed] == ["Start_Docker_Service", "Post_Trigger_Action"]
    assert "was not created by this service instance" in failed[1][1]
    assert [w.workflow for w in report.workflows] == ["Docker_Service_Template", "Finish_Docker_Service_Template"]
    assert failed[0][1].startswith(f"psa_scripts.errors.EngineError: container {name} (id f0e1d2c3b4a5) was not "
                                   "created by this service instance")
    assert engine.containers[name].running and engine.containers[name].image == "their/app"


# --- if and replicate, as the scheduler plays them --------------------------------------------------
def _task(name, code, depends=(), flow=""):
    refs = "".join(f'<task ref="{d}"/>' for d in depends)
    return (f'<task name="{name}">' + (f"<depends>{refs}</depends>" if refs else "")
            + f'<scriptExecutable><script><code language="cpython"><![CDATA[{code}]]></code></script>'
            + f"</scriptExecutable>{flow}</task>")


def _job(tmp_path, *tasks):
    workflow = tmp_path / "flow.xml"
    workflow.write_text('<job xmlns="urn:proactive:jobdescriptor:3.14" name="Flow" onTaskError="continueJobExecution">'
                        '<genericInformation><info name="pca.states" value="(VOID,RUNNING)"/></genericInformation>'
                        "<taskFlow>" + "".join(tasks) + "</taskFlow></job>")
    return workflow


def _if_job(tmp_path, decision):
    # As in the PSA workflows (Visdom...): the branch tasks come first and do not depend on the if task.
    return _job(
        tmp_path,
        _task("Start_S", 'print("S")'),
        _task("Watch_S", 'print("watch S")', depends=["Start_S"]),
        _task("Start_D", 'print("D")'),
        _task("Watch_D", 'print("watch D")', depends=["Start_D"]),
        _task("Condition", 'print("deciding")', flow='<controlFlow><if target="Start_S" else="Start_D" '
              'continuation="Report"><script><code language="cpython"><![CDATA[' + decision
              + "]]></code></script></if></controlFlow>"),
        _task("Report", 'print("after", variables.get("PA_TASK_NAME"))'),
    )


@pytest.mark.parametrize("decision, taken", [
    ('branch = "if"', ["S", "watch S"]),
    ('branch = "else" if variables.get("ENGINE") == "docker" else "if"', ["D", "watch D"]),
])
def test_an_if_runs_the_branch_its_flow_script_takes_then_the_continuation(tmp_path, decision, taken):
    out = io.StringIO()
    report = Runner(_if_job(tmp_path, decision), variables={"ENGINE": "docker"}, out=out).run()
    ran = [s.output for s in report.scripts if s.slot == "executable"]
    assert ran == ["deciding"] + taken + ["after Report"]
    assert report.workflows[0].ok
    skipped = {"S": ("Start_D", "Watch_D"), "D": ("Start_S", "Watch_S")}[taken[0]]
    for name in skipped:
        assert f"Flow/{name}: skipped (a branch its if did not take)" in out.getvalue()


def test_an_if_whose_flow_script_decides_nothing_fails_and_runs_no_branch(tmp_path):
    report = Runner(_if_job(tmp_path, 'print("undecided")')).run()
    assert [s.output for s in report.scripts if s.slot == "executable"] == ["deciding"]
    assert report.workflows[0].reason == "task Condition: its if flow script must set branch to 'if' or 'else', got None"


def test_an_if_naming_no_task_is_refused_before_any_effect(tmp_path):
    workflow = _if_job(tmp_path, 'branch = "if"')
    workflow.write_text(workflow.read_text().replace('else="Start_D"', 'else="Start_X"'))
    with pytest.raises(RunError, match="task Condition: its if else 'Start_X' is not a task of the workflow"):
        Runner(workflow)


def test_a_replicate_runs_the_task_after_it_runs_times_then_the_merge(tmp_path):
    workflow = _job(
        tmp_path,
        _task("Split", 'print("split")', flow='<controlFlow><replicate><script><code language="cpython">'
              '<![CDATA[runs = variables.get("WORKERS")]]></code></script></replicate></controlFlow>'),
        _task("Worker", 'print("worker", variables.get("PA_TASK_REPLICATION"), variables.get("PA_TASK_NAME"))',
              depends=["Split"]),
        _task("Merge", 'print("merge")', depends=["Worker"]),
    )
    report = Runner(workflow, variables={"WORKERS": "3"}).run()
    assert [s.output for s in report.scripts if s.slot == "executable"] == [
        "split", "worker 0 Worker", "worker 1 Worker*1", "worker 2 Worker*2", "merge"]
    assert report.workflows[0].ok


@pytest.mark.parametrize("runs", ["0", "two", "²"])  # "²" is a digit to str.isdigit, not to int()
def test_a_replicate_that_asks_no_whole_number_of_runs_fails(tmp_path, runs):
    workflow = _job(
        tmp_path,
        _task("Split", 'print("split")', flow='<controlFlow><replicate><script><code language="cpython">'
              f'<![CDATA[runs = "{runs}"]]></code></script></replicate></controlFlow>'),
        _task("Worker", 'print("worker")', depends=["Split"]),
    )
    report = Runner(workflow).run()
    assert report.workflows[0].reason == (f"task Split: its replicate flow script must set runs to a whole number "
                                          f">= 1, got '{runs}'")
    assert [s.output for s in report.scripts if s.slot == "executable"] == ["split"]


def test_an_all_finished_action_ends_the_service_through_the_memory_engines_gateway(tmp_path):
    """An action whose pca.states is (ALL,FINISHED) is offered from any status, and its Docker
    script reaches the in-memory engine over the runner's gateway."""
    deployment, finish, name = PAIRS["docker-service-template"]
    text = (BUNDLES / "docker-service-template" / finish).read_text()
    states = '"(RUNNING,FINISHED)(PAUSED,FINISHED)(ERROR,FINISHED)"'
    assert states in text
    from_all = tmp_path / "Finish_From_All.xml"
    from_all.write_text(text.replace(states, '"(ALL,FINISHED)"'))
    engine = FakeEngine()
    report = Runner(BUNDLES / "docker-service-template" / deployment, engine=engine, ticks=1, tick_seconds=0,
                    then=[from_all], out=io.StringIO()).run()
    assert report.ok and report.status_history == ["VOID -> RUNNING", "RUNNING", "FINISHED"]
    assert report.workflows[1].transition == "RUNNING -> FINISHED"
    assert engine.containers == {} and name not in report.left_behind["containers"]
