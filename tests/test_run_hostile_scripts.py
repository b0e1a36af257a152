"""No script or input crashes psa run: bad keys, endless loops, self-referencing variables;
and the report keeps secrets (PA:HIDDEN values, credentials) out, in a file only its owner reads."""

import json
import stat
from pathlib import Path

from psa_scripts import cli
from psa_scripts.workflow.runner import Runner


def _workflow(tmp_path, tasks, variables="", name="W", states="(VOID,RUNNING)"):
    workflow = tmp_path / f"{name}.xml"
    workflow.write_text(f'<job xmlns="urn:proactive:jobdescriptor:3.14" name="{name}">'
                        f"<variables>{variables}</variables>"
                        f'<genericInformation><info name="pca.states" value="{states}"/></genericInformation>'
                        f"<taskFlow>{tasks}</taskFlow></job>")
    return workflow


def _task(name, code, depends="", flow=""):
    return (f'<task name="{name}">' + (f'<depends><task ref="{depends}"/></depends>' if depends else "")
            + f'<scriptExecutable><script><code language="cpython"><![CDATA[{code}]]></code></script>'
            + f"</scriptExecutable>{flow}</task>")


def test_a_key_that_is_not_a_string_fails_that_script_only(tmp_path):
    workflow = _workflow(tmp_path, _task("A", 'variables.put(5, "x")') + _task("B", 'print("B ran")', depends="A"))
    report = Runner(workflow).run()
    (first, second) = report.scripts
    assert not first.ok and first.error == ("psa_scripts.workflow.gateway.JavaError: ClassCastException: variables "
                                            "keys are strings: int 5 cannot be a key")
    assert second.ok and second.output == "B ran"


def test_an_endless_loop_counts_against_ticks_and_the_ending_still_runs(tmp_path):
    loop = ('<controlFlow><loop target="Spin"><script><code language="cpython"><![CDATA[loop = True]]>'
            "</code></script></loop></controlFlow>")
    workflow = _workflow(tmp_path, _task("Spin", 'print("spin")', flow=loop))
    action = _workflow(tmp_path, _task("Act", 'print("acted")'), name="Act", states="(ALL,FINISHED)")
    report = Runner(workflow, ticks=3, then=[action], tick_seconds=0).run()
    # 3 ticks, the action, then the EXTRA_TICKS_AFTER_ACTIONS (3) the status loop gets to see it, then stopped.
    assert [s.output for s in report.scripts if s.slot == "executable"] == ["spin"] * 3 + ["acted"] + ["spin"] * 3
    assert report.workflows[0].reason == "its status loop was still running after the actions"


def test_a_stop_ends_an_endless_loop_between_two_scripts(tmp_path):
    loop = ('<controlFlow><loop target="Spin"><script><code language="cpython"><![CDATA[loop = True]]>'
            "</code></script></loop></controlFlow>")
    workflow = _workflow(tmp_path, _task("Spin", 'print("spin")', flow=loop))
    runner = Runner(workflow, tick_seconds=0, on_tick=lambda run, n: n == 2 and run.stop("SIGINT"))
    report = runner.run()
    assert [s.output for s in report.scripts if s.slot == "executable"] == ["spin"] * 2
    assert report.stopped_by == "SIGINT" and not report.forced


def test_a_self_referencing_variable_is_left_unresolved(tmp_path):
    workflow = _workflow(tmp_path, _task("A", 'print(variables.get("A"), variables.get("B"))'))
    report = Runner(workflow, variables={"A": "$A$A", "B": "x$C", "C": "$B"}).run()
    assert report.scripts[0].output == "$A$A x$B"  # B -> C -> back to B: cut there


def test_the_report_masks_hidden_values_and_credentials_and_is_private(tmp_path, capsys):
    code = ('print("the password is", variables.get("DB_PASSWORD"))\n'
            'schedulerapi.connect()\nschedulerapi.putThirdPartyCredential("db", "cr3dential")\n'
            'variables.put("COPY", variables.get("DB_PASSWORD"))\n')
    workflow = _workflow(tmp_path, _task("A", code),
                         '<variable name="DB_PASSWORD" value="t0p-secret" model="PA:HIDDEN"/>')
    report_file = tmp_path / "run.json"
    assert cli.main(["run", str(workflow), "--engine", "memory", "--ticks", "0", "--report", str(report_file)]) == 0
    saved = report_file.read_text()
    assert "t0p-secret" not in saved and "cr3dential" not in saved
    assert json.loads(saved)["scripts"][0]["output"] == "the password is <hidden>"
    assert stat.S_IMODE(report_file.stat().st_mode) == 0o600


def test_a_var_no_workflow_declares_gets_a_warning(tmp_path, capsys):
    workflow = _workflow(tmp_path, _task("A", 'print("a")'), '<variable name="KNOWN" value="1"/>')
    assert cli.main(["run", str(workflow), "--engine", "memory", "--ticks", "0", "--var", "KNWON=2",
                     "--var", "KNOWN=3"]) == 0
    printed = capsys.readouterr().out
    assert ("psa run: warning: --var KNWON: no workflow of this run declares it (a script may still read it; "
            "check its spelling)") in printed
    assert "--var KNOWN:" not in printed


PROBE = '''
import urllib.error, urllib.parse, urllib.request
def status(request):
    try:
        return urllib.request.urlopen(request, timeout=10).status
    except urllib.error.HTTPError as error:
        return error.code
scheduler, psa = variables.get("PA_SCHEDULER_REST_URL"), variables.get("PA_CLOUD_AUTOMATION_REST_URL")
form = urllib.parse.urlencode({"username": "admin", "password": "admin"}).encode()
print("login", status(urllib.request.Request(scheduler + "/scheduler/login", data=form)))
print("anonymous", status(urllib.request.Request(psa + "/serviceInstances/1")))
print("guessed", status(urllib.request.Request(psa + "/serviceInstances/1", headers={"sessionid": "admin"})))
schedulerapi.connect()
own = urllib.request.Request(psa + "/serviceInstances/1", headers={"sessionid": schedulerapi.getSession()})
print("runner's session", status(own))
print(urllib.parse.urlsplit(scheduler).hostname, urllib.parse.urlsplit(psa).hostname)
'''


def test_the_runs_emulator_takes_only_the_runners_sessions_on_loopback(tmp_path):
    report = Runner(_workflow(tmp_path, _task("Probe", PROBE))).run()
    assert report.scripts[0].output.splitlines() == [
        "login 401", "anonymous 401", "guessed 401", "runner's session 200", "127.0.0.1 127.0.0.1"]


def test_no_engine_answering_is_one_line_before_any_step(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    deployment = Path(__file__).resolve().parent.parent / "bundles" / "docker-service-template" / \
        "Docker_Service_Template.xml"
    assert cli.main(["run", str(deployment), "--engine", "docker", "--ticks", "0"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"psa run: no container engine answers at DOCKER_HOST=unix://{tmp_path}/no-engine.sock: "
                            "start one (tools/engine-up.sh provisions Podman's), or run with --engine memory\n")
