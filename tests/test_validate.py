"""psa validate: each mistake users make, in a small workflow, found at its line with a fix."""

from pathlib import Path

import pytest

from psa_scripts.validate import Known, default_known, parse_states, validate_file, validate_paths

BUNDLES = Path(__file__).resolve().parents[1] / "bundles"
URL = "${PA_CATALOG_REST_URL}/buckets/service-automation-python/resources/%s/raw"


def ref(name, language='language="cpython"', args=()):
    arguments = "".join(f'<argument value="{a}"/>' for a in args)
    inner = f"<arguments>{arguments}</arguments>" if args else ""
    return f'<script><file url="{URL % name}" {language}>{inner}</file></script>'


def deployment(gis='<info name="pca.service.id" value="Svc"/>\n    <info name="pca.states" value="(VOID,RUNNING)"/>',
               variables='<variable name="PROXYFIED" value="True"/>', token='PSA_$INSTANCE_NAME', post="Post_Start_Service",
               language='language="cpython"'):
    token_gi = f'<genericInformation><info name="NODE_ACCESS_TOKEN" value="{token}"/></genericInformation>' if token else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<job xmlns="urn:proactive:jobdescriptor:3.14" name="Svc">
  <variables>
    {variables}
  </variables>
  <genericInformation>
    {gis}
  </genericInformation>
  <taskFlow>
    <task name="Start">
      <selection>{ref("Check_Not_Used_By_Other_Service")}</selection>
      <pre>{ref("Pre_Start_Service")}</pre>
      <scriptExecutable>{ref("Start_Docker_Service")}</scriptExecutable>
      <post>
        {ref(post, language)}
      </post>
      <cleaning>{ref("Clean_Start_Service")}</cleaning>
    </task>
    <task name="Loop">
      {token_gi}
      <depends><task ref="Start"/></depends>
      <scriptExecutable>{ref("Check_Instance_Status")}</scriptExecutable>
      <controlFlow><loop target="Loop">{ref("Fetch_Logs")}</loop></controlFlow>
    </task>
  </taskFlow>
</job>
"""


def action(pre_args=("FINISH_LAUNCHED",), post_args=("FINISHED",), token=True):
    token_gi = ('<genericInformation><info name="NODE_ACCESS_TOKEN" value="PSA_${INSTANCE_NAME}"/></genericInformation>'
                if token else "")
    return f"""<job name="Finish_Svc">
  <genericInformation>
    <info name="pca.service.id" value="Svc"/>
    <info name="pca.states" value="(RUNNING,FINISHED)(ERROR,FINISHED)"/>
  </genericInformation>
  <taskFlow>
    <task name="Trigger">
      <scriptExecutable>{ref("Pre_Trigger_Action", args=pre_args)}</scriptExecutable>
    </task>
    <task name="Finish">
      {token_gi}
      <depends><task ref="Trigger"/></depends>
      <scriptExecutable>{ref("Finish_Docker_Service")}</scriptExecutable>
      <post>{ref("Post_Trigger_Action", args=post_args)}</post>
      <cleaning>{ref("Clean_Trigger_Action")}</cleaning>
    </task>
  </taskFlow>
</job>
"""


@pytest.fixture(scope="module")
def known():
    return default_known(BUNDLES)


def check(tmp_path, known, text, name="workflow.xml"):
    path = tmp_path / name
    path.write_text(text)
    return validate_file(path, known)


def line_of(text, needle):
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


def test_our_bundled_workflows_pass(known):
    findings, count = validate_paths([BUNDLES], known)
    assert count == 6 and findings == []


def test_good_fixtures_pass(tmp_path, known):
    assert check(tmp_path, known, deployment()) == []
    assert check(tmp_path, known, action()) == []


@pytest.mark.parametrize("gis, message, needle", [
    ('<info name="pca.states" value="(VOID,RUNNING)"/>', "generic information pca.service.id is missing", "<genericInformation>"),
    ('<info name="pca.service.id" value="Svc"/>', "generic information pca.states is missing", "<genericInformation>"),
    ('<info name="pca.service.id" value="Svc"/><info name="pca.states" value="(VOID,RUNNING"/>',
     "pca.states value '(VOID,RUNNING' does not parse", "pca.states"),
    ('<info name="pca.service.id" value="Svc"/><info name="pca.states" value="(RUNNING,FINISHED)"/>',
     "this workflow deploys the service but pca.states='(RUNNING,FINISHED)' has no transition from VOID", "pca.states"),
])
def test_generic_information_mistakes(tmp_path, known, gis, message, needle):
    text = deployment(gis=gis)
    [finding] = check(tmp_path, known, text)
    assert finding.severity == "error" and finding.message.startswith(message)
    assert finding.line == line_of(text, needle)
    assert finding.fix


def test_proxified_is_found_where_it_is(tmp_path, known):
    text = deployment(variables='<variable name="PROXIFIED" value="True"/>')
    [finding] = check(tmp_path, known, text)
    assert finding.message.startswith("variable PROXIFIED is ignored")
    assert finding.fix == "rename it to PROXYFIED (with a Y)"
    assert finding.line == line_of(text, "PROXIFIED")


@pytest.mark.parametrize("token, message", [
    (None, "task Loop runs after Start but has no NODE_ACCESS_TOKEN"),
    ("PSA_other", "task Loop: NODE_ACCESS_TOKEN='PSA_other' is not the service's token"),
])
def test_a_task_after_deployment_needs_the_node_token(tmp_path, known, token, message):
    text = deployment(token=token)
    [finding] = check(tmp_path, known, text)
    assert finding.message.startswith(message)
    assert finding.line == line_of(text, '<task name="Loop">' if token is None else "NODE_ACCESS_TOKEN")


def test_an_action_task_needs_the_node_token(tmp_path, known):
    text = action(token=False)
    [finding] = check(tmp_path, known, text)
    assert finding.message.startswith("task Finish runs after Trigger but has no NODE_ACCESS_TOKEN")


def test_a_script_not_in_the_bundle(tmp_path, known):
    text = deployment(post="Post_Start_Servce")
    [finding] = check(tmp_path, known, text)
    assert finding.message == ("post script of task Start: Post_Start_Servce is not an object of the bundle "
                               "(bucket service-automation-python)")
    assert "Post_Start_Service" in finding.fix
    assert finding.line == line_of(text, "Post_Start_Servce")


@pytest.mark.parametrize("language, said", [("", "has no language"), ('language="python"', "has language='python'")])
def test_a_script_with_a_missing_or_wrong_language(tmp_path, known, language, said):
    [finding] = check(tmp_path, known, deployment(language=language))
    assert finding.message == f"post script of task Start: Post_Start_Service {said}; our scripts run on the cpython engine"
    assert finding.fix == 'set language="cpython" on the <file> element'


def test_a_groovy_script_run_as_cpython(tmp_path, known):
    text = deployment().replace("service-automation-python/resources/Clean_Start_Service",
                                "service-automation/resources/Clean_Start_Service")
    [finding] = check(tmp_path, known, text)
    assert "Clean_Start_Service of bucket service-automation is a Groovy script, run here as cpython" in finding.message


@pytest.mark.parametrize("pre_args, post_args, message, fix", [
    ((), ("FINISHED",), "scriptExecutable script of task Trigger: Pre_Trigger_Action needs an argument",
     "<argument value="),
    (("FINISH_LAUNCHED",), (), "post script of task Finish: Post_Trigger_Action needs an argument (one of FINISHED, PAUSED, RUNNING)",
     "<argument value="),
    (("finish",), ("FINISHED",), "scriptExecutable script of task Trigger: Pre_Trigger_Action argument 'finish' is not one of",
     "capitals"),
])
def test_trigger_scripts_need_their_argument(tmp_path, known, pre_args, post_args, message, fix):
    [finding] = check(tmp_path, known, action(pre_args=pre_args, post_args=post_args))
    assert finding.message.startswith(message)
    assert fix in finding.fix


def test_a_script_in_the_wrong_slot_is_a_warning(tmp_path, known):
    text = deployment().replace(f'<cleaning>{ref("Clean_Start_Service")}</cleaning>',
                                f'<cleaning>{ref("Post_Start_Service")}</cleaning>')
    findings = check(tmp_path, known, text)
    assert [(f.severity, f.message) for f in findings] == [
        ("warning", "cleaning script of task Start: Post_Start_Service is a Script/post but runs as a Script/clean")]


def test_malformed_xml_and_other_files(tmp_path, known):
    [finding] = check(tmp_path, known, "<job>\n  <taskFlow>\n</job>\n")
    assert finding.line == 3 and finding.message.startswith("not well-formed XML: mismatched tag")
    [finding] = check(tmp_path, known, "<project/>", name="pom.xml")
    assert finding.severity == "warning" and "not a ProActive workflow" in finding.message
    findings, count = validate_paths([tmp_path], known)  # in a directory, foreign XML is skipped
    assert count == 2 and [f.message.split(":")[0] for f in findings] == ["not well-formed XML"]


def test_other_buckets_are_not_ours_to_judge(tmp_path):
    known = Known(buckets={"mine"}, objects={"A"}, kinds={"A": "Script/post"})
    assert check(tmp_path, known, deployment(gis='<info name="pca.service.id" value="S"/>'
                                                  '<info name="pca.states" value="(VOID,RUNNING)"/>')) == []


def test_finding_format():
    from psa_scripts.validate import Finding

    text = Finding("w.xml", 12, "error", "what is wrong", "how to fix").format()
    assert text == "w.xml:12: error: what is wrong\n    fix: how to fix"


@pytest.mark.parametrize("value, pairs", [
    ("(VOID,RUNNING)", [("VOID", "RUNNING")]),
    (" (RUNNING, FINISHED)(ERROR,FINISHED) ", [("RUNNING", "FINISHED"), ("ERROR", "FINISHED")]),
    ("(ALL,FINISHED)", [("ALL", "FINISHED")]),
    ("(RUNNING,ALL)", None), ("VOID->RUNNING", None), ("(VOID,RUNNING),(RUNNING,PAUSED)", None), ("", None),
])
def test_parse_states(value, pairs):
    assert parse_states(value) == pairs
