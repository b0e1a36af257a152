"""psa migrate: each conversion rule on a small workflow; bytes kept; the modes and exit codes."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from psa_scripts.cli import main
from psa_scripts.errors import InputError
from psa_scripts.migration.counterparts import COUNTERPARTS, groovy_flag
from psa_scripts.migration.rules import Siblings, migrate_workflow
from psa_scripts.workflow.model import parse_workflow_bytes

GROOVY = "${PA_CATALOG_REST_URL}/buckets/service-automation/resources/"
PYTHON = "${PA_CATALOG_REST_URL}/buckets/service-automation-python/resources/"


def ref(name, language="groovy", args=(), base=GROOVY):
    said = f' language="{language}"' if language else ""
    if not args:
        return f'<file url="{base}{name}/raw"{said}/>'
    inner = "".join(f'<argument value="{a}"/>' for a in args)
    return f'<file url="{base}{name}/raw"{said}><arguments>{inner}</arguments></file>'


def slot(tag, body):
    return f"      <{tag}>\n        <script>\n          {body}\n        </script>\n      </{tag}>\n"


def task(name, *parts, depends=(), metadata=True, gi=""):
    deps = gi + ("      <depends>\n" + "".join(f'        <task ref="{d}"/>\n' for d in depends) + "      </depends>\n"
            if depends else "")
    meta = "      <metadata>\n        <positionTop>1</positionTop>\n      </metadata>\n" if metadata else ""
    return f'    <task name="{name}" fork="true">\n{deps}{"".join(parts)}{meta}    </task>\n'


def job(*tasks, states="(VOID,RUNNING)", variables=""):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<job xmlns="urn:proactive:jobdescriptor:3.14" name="Svc">\n'
            + (f"  <variables>\n{variables}  </variables>\n" if variables else "") +
            "  <genericInformation>\n"
            '    <info name="pca.service.id" value="Svc"/>\n'
            f'    <info name="pca.states" value="{states}"/>\n'
            "  </genericInformation>\n"
            f"  <taskFlow>\n{''.join(tasks)}  </taskFlow>\n</job>\n")


def bash(code="echo hi"):
    return f'<code language="bash"><![CDATA[\n{code}\n]]></code>'


def migrate(text, bucket="service-automation-python"):
    return migrate_workflow(text.encode("utf-8"), "w.xml", bucket)


def migrated_text(text, **kwargs):
    return migrate(text, **kwargs).migrated.decode("utf-8")


def scripts(text):
    """(task, slot, bucket/name, language, arguments) of every catalog script of a workflow."""
    workflow = parse_workflow_bytes(text.encode("utf-8"))
    return [(t.name, s.slot, f"{s.catalog.bucket}/{s.catalog.name}", s.language, s.arguments)
            for t, s in workflow.job.scripts() if s.catalog]


DEPLOYMENT = job(
    task("Start", slot("selection", ref("Check_Not_Used_By_Other_Service")),
         slot("pre", ref("Pre_Start_Service")), slot("scriptExecutable", bash("./start-the-service.sh")),
         slot("post", ref("Post_Start_Service")), slot("cleaning", ref("Clean_Start_Service"))),
    task("Loop", slot("scriptExecutable", ref("Check_Instance_Status")),
         '      <controlFlow>\n        <loop target="Loop">\n          <script>\n            '
         + ref("Fetch_Logs") + "\n          </script>\n        </loop>\n      </controlFlow>\n", depends=["Start"]),
    variables='    <variable name="PROXYFIED" value="True"/>\n')


def finish(*tasks):
    return job(*tasks, states="(RUNNING,FINISHED)(ERROR,FINISHED)")


# --- references ---------------------------------------------------------------------------------------
def test_every_reference_names_its_counterpart_in_cpython_and_nothing_else_moves():
    result = migrate(DEPLOYMENT)
    text = result.migrated.decode()
    assert scripts(text) == [
        ("Start", "selection", "service-automation-python/Check_Not_Used_By_Other_Service", "cpython", ()),
        ("Start", "pre", "service-automation-python/Pre_Start_Service", "cpython", ()),
        ("Start", "post", "service-automation-python/Post_Start_Service", "cpython", ()),
        ("Start", "cleaning", "service-automation-python/Clean_Start_Service", "cpython", ()),
        ("Loop", "executable", "service-automation-python/Check_Instance_Status", "cpython", ()),
        ("Loop", "flow", "service-automation-python/Fetch_Logs", "cpython", ()),
    ]
    # Only the URLs and languages changed: undo those two and the original comes back.
    undone = text.replace("service-automation-python/", "service-automation/").replace('"cpython"', '"groovy"')
    assert undone == DEPLOYMENT
    assert result.left == [] and len(result.changes) == 6
    assert result.changes[1].message == ("task Start, pre script: service-automation/Pre_Start_Service (groovy) -> "
                                         "service-automation-python/Pre_Start_Service (cpython)")
    assert (result.changes[1].line, result.changes[1].column) == (19, 11)


def test_the_bash_docker_and_singularity_actions_become_our_python_scripts():
    for groovy, ours in (("Finish_Action", "Finish_Docker_Service"), ("Pause_Action_Singularity",
                                                                      "Pause_Singularity_Service")):
        text = migrated_text(finish(task("Act", slot("pre", ref("Pre_Trigger_Action", args=["FINISH_LAUNCHED"])),
                                         slot("scriptExecutable", ref(groovy, "bash")),
                                         slot("post", ref("Post_Trigger_Action", args=["FINISHED"])),
                                         slot("cleaning", ref("Clean_Trigger_Action")))))
        assert ("Act", "executable", f"service-automation-python/{ours}", "cpython", ()) in scripts(text)


def test_a_missing_language_is_added_after_the_url_with_its_quote():
    text = job(task("T", slot("scriptExecutable", bash()),
                    slot("post", f"<file url='{GROOVY}Post_Start_Service/raw'/>"), slot("cleaning", ref("Clean_Start_Service"))))
    assert f"<file url='{PYTHON}Post_Start_Service/raw' language='cpython'/>" in migrated_text(text)


def test_bucket_option_names_the_target_bucket():
    text = migrated_text(DEPLOYMENT, bucket="my-python")
    assert "/buckets/my-python/resources/Fetch_Logs/raw" in text and "service-automation" not in text


def test_arguments_are_carried_over_as_they_are():
    text = finish(task("Act", slot("pre", ref("Pre_Trigger_Action", args=["FINISH_LAUNCHED"])),
                       slot("scriptExecutable", bash()),
                       slot("post", ref("Post_Trigger_Action", args=["FINISHED"])),
                       slot("cleaning", ref("Clean_Trigger_Action"))))
    assert migrated_text(text).count('<argument value="FINISH') == 2


@pytest.mark.parametrize("given, expected", [
    ("true", "true"), ("TRUE", "TRUE"), ("false", "false"), ("no", "no"), ("0", "0"),
    ("yes", "false"), ("1", "false"), ("on", "false"),  # Groovy's parseBoolean: only "true" is true
    (" true", "false"), ("", "false"), ("maybe", "false"),
])
def test_groovy_flags_keep_their_meaning(given, expected):
    assert groovy_flag(given) == expected


def test_flag_arguments_are_converted_and_a_variable_is_left_for_the_user():
    text = job(task("Start", slot("scriptExecutable", ref("Service_Start", args=["yes", "$ENABLE", "VAR"]))),
               states="(RUNNING,RUNNING)")
    result = migrate(text)
    assert ("Start", "executable", "service-automation-python/Service_Start", "cpython",
            ("false", "$ENABLE", "VAR")) in scripts(result.migrated.decode())
    assert "argument 1: 'yes' -> 'false' (Groovy read it as false)" in result.changes[-1].message
    assert [n.message.split(":")[1].strip() for n in result.left] == ["Service_Start argument 2 ('$ENABLE') is a variable"]
    assert result.left[0].fix == "make sure the variable holds true or false"


def test_a_name_the_groovy_bucket_does_not_hold_is_left_for_the_user():
    text = job(task("T", slot("scriptExecutable", ref("Start_Everything"))), states="(RUNNING,RUNNING)")
    result = migrate(text)
    assert not result.changed
    assert result.left[0].message == ("task T, executable script: Start_Everything is not an object of the Groovy "
                                      "bucket service-automation, so it has no counterpart")


def test_the_25_groovy_objects_have_counterparts_in_the_package():
    from psa_scripts.scripts import SCRIPTS
    from psa_scripts.validate import GROOVY_OBJECTS

    assert set(COUNTERPARTS) == set(GROOVY_OBJECTS) and len(COUNTERPARTS) == 25
    assert set(COUNTERPARTS.values()) <= set(SCRIPTS)
    doc = (Path(__file__).resolve().parents[1] / "docs" / "groovy-bucket.md").read_text()
    rows = dict(re.findall(r"^\| \d+ \| (\w+) \([^)]*\) \| (\w+) \|", doc, re.M))
    assert rows == COUNTERPARTS


# --- what the Python scripts require ---------------------------------------------------------------------
def test_a_deployment_gets_clean_start_service_before_the_metadata_indented_like_its_siblings():
    text = job(task("Start", slot("scriptExecutable", bash()), slot("post", ref("Post_Start_Service"))))
    out = migrated_text(text)
    assert ("      </post>\n      <cleaning>\n        <script>\n          <file url=\"" + PYTHON
            + 'Clean_Start_Service/raw" language="cpython"/>\n        </script>\n      </cleaning>\n      <metadata>') in out
    assert "Start: Clean_Start_Service added as its cleaning script" in migrate(text).changes[-1].message


def test_a_task_without_metadata_gets_the_script_before_its_end_tag():
    text = job(task("Start", slot("scriptExecutable", bash()), slot("post", ref("Post_Start_Service")), metadata=False))
    out = migrated_text(text)
    assert out.endswith('Clean_Start_Service/raw" language="cpython"/>\n        </script>\n      </cleaning>\n'
                        "    </task>\n  </taskFlow>\n</job>\n")
    assert ("Start", "cleaning", "service-automation-python/Clean_Start_Service", "cpython", ()) in scripts(out)


def test_a_proxied_deployment_gets_pre_start_service_in_the_pre_slot():
    text = job(task("Start", slot("scriptExecutable", bash()), slot("post", ref("Post_Start_Service")),
                    slot("cleaning", ref("Clean_Start_Service"))),
               variables='    <variable name="PROXYFIED" value="true"/>\n')
    assert ("Start", "pre", "service-automation-python/Pre_Start_Service", "cpython", ()) in scripts(migrated_text(text))


def test_a_pre_script_of_its_own_that_makes_the_proxy_url_is_enough():
    own = slot("pre", '<code language="groovy"><![CDATA[variables.put("PROXYFIED_URL", url)]]></code>')
    text = job(task("Start", own, slot("scriptExecutable", bash()), slot("post", ref("Post_Start_Service")),
                    slot("cleaning", ref("Clean_Start_Service"))),
               variables='    <variable name="PROXYFIED" value="true"/>\n')
    result = migrate(text)
    assert result.left == [] and len(result.changes) == 2


def test_a_taken_slot_is_left_for_the_user_with_what_to_do():
    own = slot("cleaning", bash("rm -rf data"))
    result = migrate(job(task("Start", slot("scriptExecutable", bash()), slot("post", ref("Post_Start_Service")), own)))
    assert [n.message for n in result.left] == [
        "task Start needs Clean_Start_Service as its cleaning script (a failed deployment must show ERROR), but the "
        "slot holds inline bash"]
    assert result.left[0].fix.startswith("call Clean_Start_Service from your own cleaning script")


def test_an_action_gets_clean_trigger_action_in_the_task_of_post_trigger_action():
    text = finish(task("Act", slot("pre", ref("Pre_Trigger_Action", args=["FINISH_LAUNCHED"])),
                       slot("scriptExecutable", ref("Finish_Action", "bash")),
                       slot("post", ref("Post_Trigger_Action", args=["FINISHED"]))))
    assert ("Act", "cleaning", "service-automation-python/Clean_Trigger_Action", "cpython", ()) in scripts(migrated_text(text))


def test_an_action_without_post_trigger_action_gets_it_with_the_status_its_trigger_says():
    text = job(task("Act", slot("pre", ref("Pre_Trigger_Action", args=["PAUSE_LAUNCHED"])),
                    slot("scriptExecutable", ref("Pause_Action", "bash"))), states="(RUNNING,PAUSED)")
    out = migrated_text(text)
    found = scripts(out)
    assert ("Act", "post", "service-automation-python/Post_Trigger_Action", "cpython", ("PAUSED",)) in found
    assert ("      </scriptExecutable>\n      <post>\n        <script>\n"
            f'          <file url="{PYTHON}Post_Trigger_Action/raw" language="cpython">\n'
            '            <arguments>\n              <argument value="PAUSED"/>\n            </arguments>\n'
            "          </file>\n        </script>\n      </post>\n      <cleaning>\n") in out
    assert ("Act", "cleaning", "service-automation-python/Clean_Trigger_Action", "cpython", ()) in found


def test_an_action_without_pre_trigger_action_gets_it_in_the_first_task_or_in_a_task_of_its_own():
    act = [slot("scriptExecutable", ref("Finish_Action", "bash")),
           slot("post", ref("Post_Trigger_Action", args=["FINISHED"])), slot("cleaning", ref("Clean_Trigger_Action"))]
    free = scripts(migrated_text(finish(task("Act", *act))))
    assert ("Act", "pre", "service-automation-python/Pre_Trigger_Action", "cpython", ("FINISH_LAUNCHED",)) in free
    taken = migrated_text(finish(task("Act", slot("pre", bash()), *act)))
    assert ('  <taskFlow>\n    <task name="Pre_Trigger_Action" fork="true">\n      <scriptExecutable>\n'
            f'        <script>\n          <file url="{PYTHON}Pre_Trigger_Action/raw" language="cpython">\n'
            '            <arguments>\n              <argument value="FINISH_LAUNCHED"/>\n            </arguments>\n'
            "          </file>\n        </script>\n      </scriptExecutable>\n    </task>\n"
            '    <task name="Act" fork="true">\n      <depends>\n        <task ref="Pre_Trigger_Action"/>\n'
            "      </depends>\n      <pre>\n") in taken
    workflow = parse_workflow_bytes(taken.encode())
    assert [t.name for t in workflow.job.tasks] == ["Pre_Trigger_Action", "Act"]
    assert workflow.job.task("Act").depends == ("Pre_Trigger_Action",)
    assert ("Pre_Trigger_Action", "executable", "service-automation-python/Pre_Trigger_Action", "cpython",
            ("FINISH_LAUNCHED",)) in scripts(taken)


def test_the_branches_of_an_if_each_get_clean_trigger_action_but_two_tasks_in_a_row_are_left():
    def act(name, **kw):
        return task(name, slot("pre", ref("Pre_Trigger_Action", args=["PAUSE_LAUNCHED"])), slot("scriptExecutable", bash()),
                    slot("post", ref("Post_Trigger_Action", args=["PAUSED"])), **kw)
    branch = task("If", slot("scriptExecutable", bash()),
                  '      <controlFlow>\n        <if target="A" else="B">\n          <script>'
                  + bash("branch") + "</script>\n        </if>\n      </controlFlow>\n")
    found = scripts(migrated_text(job(branch, act("A"), act("B"), states="(RUNNING,PAUSED)")))
    assert [t for t, s, n, *_ in found if n.endswith("Clean_Trigger_Action")] == ["A", "B"]
    in_a_row = migrate(job(act("A"), act("B", depends=["A"]), states="(RUNNING,PAUSED)"))
    assert in_a_row.left[0].message == ("this action runs no Clean_Trigger_Action, and 2 tasks run Post_Trigger_Action "
                                        "one after the other")


def test_a_status_loop_that_cannot_work_is_left_for_the_user():
    loop = ('      <controlFlow>\n        <loop target="Loop">\n          <script>'
            + ref("Fetch_Logs") + "</script>\n        </loop>\n      </controlFlow>\n")
    result = migrate(job(task("Start", slot("scriptExecutable", bash()), slot("post", ref("Post_Start_Service")),
                              slot("cleaning", ref("Clean_Start_Service"))),
                         task("Loop", slot("scriptExecutable", bash("echo alive")), loop, depends=["Start"])))
    assert [n.message.split(":")[0] for n in result.left] == [
        "task Loop loops on Fetch_Logs but its executable is not Check_Instance_Status (the Python Fetch_Logs ends the "
        "loop on the IS_FINISHED it sets)"]
    ends = migrate(job(task("Loop", slot("scriptExecutable", '<code language="groovy">variables.put("IS_FINISHED", true)'
                                                               "</code>"), loop), states="(RUNNING,RUNNING)"))
    assert ends.left == []


def test_a_container_started_by_the_services_own_script_must_carry_the_instance_labels():
    def deployment(command):
        return job(task("Start", slot("scriptExecutable", bash(command)), slot("post", ref("Post_Start_Service")),
                        slot("cleaning", ref("Clean_Start_Service"))))
    result = migrate(deployment("docker run -d --name $variables_INSTANCE_NAME nginx"))
    assert [n.message.split(":")[0] for n in result.left] == [
        "task Start, executable script starts its container without the instance's labels"]
    assert result.left[0].fix == ('add --label io.ow2.proactive.psa.instance-id="$variables_PCA_INSTANCE_ID" '
                                  "--label io.ow2.proactive.psa.service-id=Svc to its docker run")
    labelled = deployment('docker run -d --label io.ow2.proactive.psa.instance-id="$variables_PCA_INSTANCE_ID" nginx')
    assert migrate(labelled).left == []


def test_the_labels_are_not_asked_for_when_the_services_actions_seen_do_not_use_the_docker_scripts():
    unlabelled = job(task("Start", slot("scriptExecutable", bash("docker run -d --name $variables_INSTANCE_NAME x")),
                          slot("post", ref("Post_Start_Service")), slot("cleaning", ref("Clean_Start_Service"))))
    own_finish = finish(task("Act", slot("pre", ref("Pre_Trigger_Action", args=["FINISH_LAUNCHED"])),
                             slot("scriptExecutable", bash("docker rm -f $variables_INSTANCE_NAME")),
                             slot("post", ref("Post_Trigger_Action", args=["FINISHED"])),
                             slot("cleaning", ref("Clean_Trigger_Action"))))
    docker_finish = own_finish.replace(bash("docker rm -f $variables_INSTANCE_NAME"), ref("Finish_Action", "bash"))

    def left(*actions):
        siblings = Siblings()
        for action in actions:
            siblings.add(parse_workflow_bytes(action.encode()))
        return len(migrate_workflow(unlabelled.encode(), "w.xml", siblings=siblings).left)

    assert (left(), left(own_finish), left(own_finish, docker_finish)) == (1, 0, 1)


# --- bytes, encodings, idempotence ---------------------------------------------------------------------
def test_comments_cdata_crlf_and_a_namespace_prefix_are_kept_and_insertions_follow_them():
    text = ('<?xml version="1.0"?>\r\n<pa:job xmlns:pa="urn:proactive:jobdescriptor:3.14" name="Svc">\r\n'
            '  <pa:genericInformation><pa:info name="pca.states" value="(VOID,RUNNING)"/></pa:genericInformation>\r\n'
            "  <pa:taskFlow>\r\n    <!-- keep me -->\r\n    <pa:task name=\"Start\">\r\n"
            '      <pa:scriptExecutable><pa:script><pa:code language="bash"><![CDATA[ echo "<&>" ]]></pa:code>'
            "</pa:script></pa:scriptExecutable>\r\n"
            "      <pa:post>\r\n        <pa:script>\r\n          "
            f'<pa:file url="{GROOVY}Post_Start_Service/raw" language="groovy"/>\r\n'
            "        </pa:script>\r\n      </pa:post>\r\n    </pa:task>\r\n  </pa:taskFlow>\r\n</pa:job>\r\n")
    out = migrated_text(text)
    assert out.startswith(text[:text.index("<pa:post>")])
    assert ("      </pa:post>\r\n      <pa:cleaning>\r\n        <pa:script>\r\n          <pa:file url=\"" + PYTHON
            + 'Clean_Start_Service/raw" language="cpython"/>\r\n        </pa:script>\r\n      </pa:cleaning>\r\n'
            "    </pa:task>") in out


def test_a_latin_1_file_stays_latin_1_byte_for_byte():
    text = DEPLOYMENT.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').replace("start-the-service", "caf\u00e9-run")
    data = text.encode("latin-1")
    out = migrate_workflow(data, "w.xml").migrated
    assert "caf\u00e9-run".encode("latin-1") in out
    assert out.decode("latin-1").replace("service-automation-python/", "service-automation/") \
        .replace('"cpython"', '"groovy"') == text


def test_a_byte_order_mark_is_kept():
    data = b"\xef\xbb\xbf" + DEPLOYMENT.encode("utf-8")
    out = migrate_workflow(data, "w.xml").migrated
    assert out == b"\xef\xbb\xbf" + migrated_text(DEPLOYMENT).encode("utf-8")


def test_a_file_that_would_not_come_back_byte_for_byte_is_refused():
    # Declared utf-8-sig without the mark: it reads, but written back it would gain a mark.
    data = DEPLOYMENT.replace('encoding="UTF-8"', 'encoding="utf-8-sig"').encode("utf-8")
    with pytest.raises(InputError, match=r"^w.xml: cannot rewrite it byte for byte in its encoding \(utf-8-sig\): "
                                         "save it as UTF-8 and migrate again$"):
        migrate_workflow(data, "w.xml")


def test_migrating_twice_changes_nothing_the_second_time():
    first = migrate(finish(task("Act", slot("pre", bash()), slot("scriptExecutable", ref("Finish_Action", "bash")))))
    second = migrate_workflow(first.migrated, "w.xml")
    assert first.changed and not second.changed and second.changes == []
    assert second.migrated == first.migrated


# --- the command ------------------------------------------------------------------------------------------
def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_out_writes_every_workflow_and_reports_each_change(tmp_path, capsys):
    source = tmp_path / "svc"
    source.mkdir()
    (source / "Svc.xml").write_text(DEPLOYMENT)
    (source / "Plain.xml").write_text(job(task("T", slot("scriptExecutable", bash())), states="(RUNNING,RUNNING)"))
    (source / "notes.xml").write_text("<notes/>")
    code, out, _ = run(capsys, "migrate", source, "--out", tmp_path / "out")
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["Plain.xml", "Svc.xml"]
    assert (tmp_path / "out" / "Plain.xml").read_bytes() == (source / "Plain.xml").read_bytes()
    assert f"{source / 'Svc.xml'}: 6 change(s)" in out
    assert out.splitlines()[-1] == "2 workflow file(s): 1 migrated, 1 unchanged, 0 with something left for you"


def test_diff_is_exactly_what_out_writes(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("svc").mkdir()
    Path("svc/Svc.xml").write_text(DEPLOYMENT)
    Path("svc/Finish.xml").write_text(finish(task("Act", slot("pre", bash()),
                                                   slot("scriptExecutable", ref("Finish_Action", "bash")))))
    code, patch, report = run(capsys, "migrate", "svc", "--diff")
    assert code == 0 and "2 migrated" in report
    assert Path("svc/Svc.xml").read_text() == DEPLOYMENT  # nothing written
    assert run(capsys, "migrate", "svc", "--out", "out")[0] == 0
    shutil.copytree("svc", "patched/svc")
    subprocess.run(["patch", "-p1", "-s"], input=patch, text=True, cwd="patched", check=True)
    for name in ("Svc.xml", "Finish.xml"):
        assert Path("patched/svc", name).read_bytes() == Path("out", name).read_bytes()


def test_in_place_rewrites_only_what_changes_and_a_second_run_finds_nothing(tmp_path, capsys):
    path = tmp_path / "Svc.xml"
    path.write_text(DEPLOYMENT)
    assert run(capsys, "migrate", path, "--in-place")[0] == 0
    once = path.read_bytes()
    code, out, _ = run(capsys, "migrate", path, "--in-place")
    assert code == 0 and path.read_bytes() == once
    assert f"{path}: nothing to change" in out


def test_something_left_for_the_user_exits_1_with_the_reason_and_the_fix(tmp_path, capsys):
    path = tmp_path / "W.xml"
    path.write_text(job(task("T", slot("scriptExecutable", ref("Start_Everything"))), states="(RUNNING,RUNNING)"))
    code, out, _ = run(capsys, "migrate", path, "--out", tmp_path / "out")
    assert code == 1
    assert f"  {path}:11:11: left: task T, executable script: Start_Everything is not an object" in out
    assert "      fix: check the name; point it at a script of service-automation-python" in out


def test_bad_input_gets_the_finding_psa_validate_gives_and_nothing_is_written(tmp_path, capsys):
    good, bad = tmp_path / "Good.xml", tmp_path / "Bad.xml"
    good.write_text(DEPLOYMENT)
    bad.write_text("<job>\n  <taskFlow>\n</job>\n")
    code, out, _ = run(capsys, "migrate", good, bad, "--in-place")
    assert code == 1
    assert f"{bad}:3:3: PA100 error: not well-formed XML: mismatched tag" in out
    validate_code, validate_out, _ = run(capsys, "validate", bad)
    assert validate_out.splitlines()[0] in out.splitlines()  # the very line psa validate prints
    assert "1 not migrated" in out and "nothing written: 1 file(s) could not be migrated" in out
    assert good.read_text() == DEPLOYMENT  # nothing written while an input is bad


@pytest.mark.parametrize("argv, said", [
    (["migrate", "missing.xml", "--diff"], "psa migrate: no such file or directory: missing.xml"),
])
def test_usage_errors_exit_2(capsys, tmp_path, monkeypatch, argv, said):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *argv)
    assert code == 2 and err.strip() == said


def test_a_mode_is_required_and_only_one(capsys, tmp_path):
    (tmp_path / "W.xml").write_text(DEPLOYMENT)
    for argv in (["migrate", tmp_path / "W.xml"], ["migrate", tmp_path / "W.xml", "--diff", "--in-place"]):
        with pytest.raises(SystemExit) as stopped:
            main([str(a) for a in argv])
        assert stopped.value.code == 2


def test_an_out_that_is_a_file_is_a_usage_error_and_an_unwritable_one_a_one_line_error(tmp_path, capsys):
    (tmp_path / "W.xml").write_text(DEPLOYMENT)
    (tmp_path / "taken").write_text("")
    code, _, err = run(capsys, "migrate", tmp_path / "W.xml", "--out", tmp_path / "taken")
    assert code == 2 and err.strip() == f"psa migrate: --out {tmp_path / 'taken'} is a file: give a directory (created if missing)"
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "W.xml").mkdir()  # a directory where the file should go: the system refuses
    code, _, err = run(capsys, "migrate", tmp_path / "W.xml", "--out", tmp_path / "locked")
    assert code == 1 and err.startswith(f"psa migrate: cannot write {tmp_path / 'locked' / 'W.xml'}: ")
    assert [p.name for p in (tmp_path / "locked").iterdir()] == ["W.xml"]  # no temporary file left


def test_out_refuses_two_inputs_on_one_output_before_writing(tmp_path, capsys):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "W.xml").write_text(DEPLOYMENT)
    code, _, err = run(capsys, "migrate", tmp_path / "a" / "W.xml", tmp_path / "b" / "W.xml", "--out", tmp_path / "out")
    assert code == 2 and "would both be written to" in err
    assert not (tmp_path / "out").exists()
