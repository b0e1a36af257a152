"""psa validate: each rule on a small broken workflow of its own, found at its line, with its code,
its exact message and a fix; working workflows give no finding."""

import json
from pathlib import Path

import pytest

from psa_scripts.cli import main
from psa_scripts.validate import RULES, Finding, Known, default_known, explain, parse_states, validate_file, validate_paths

BUNDLES = Path(__file__).resolve().parents[1] / "bundles"
URL = "${PA_CATALOG_REST_URL}/buckets/service-automation-python/resources/%s/raw"
GROOVY = "${PA_CATALOG_REST_URL}/buckets/service-automation/resources/%s/raw"
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<job xmlns="urn:proactive:jobdescriptor:3.14" name="%s">'
VARIABLES = """<variable name="INSTANCE_NAME" value="svc-$PA_JOB_ID"/>
    <variable name="DOCKER_IMAGE" value="nginx:stable"/>
    <variable name="ENDPOINT_ID" value="svc-gui-$PA_JOB_ID"/>
    <variable name="HTTP_ENABLED" value="True" model="PA:Boolean"/>
    <variable name="PROXYFIED" value="True" model="PA:Boolean"/>"""
GIS = '<info name="pca.service.id" value="Svc"/>\n    <info name="pca.states" value="(VOID,RUNNING)"/>'


def ref(name, language='language="cpython"', args=(), url=URL):
    arguments = "".join(f'<argument value="{a}"/>' for a in args)
    inner = f"<arguments>{arguments}</arguments>" if args else ""
    return f'<script><file url="{url % name}" {language}>{inner}</file></script>'


def deployment(gis=GIS, variables=VARIABLES, token="PSA_$INSTANCE_NAME", post="Post_Start_Service",
               language='language="cpython"', pre="Pre_Start_Service", clean="Clean_Start_Service",
               loop_target="Loop", flow="Fetch_Logs"):
    token_gi = f'<genericInformation><info name="NODE_ACCESS_TOKEN" value="{token}"/></genericInformation>' if token else ""
    return f"""{HEAD % "Svc"}
  <variables>
    {variables}
  </variables>
  <genericInformation>
    {gis}
  </genericInformation>
  <taskFlow>
    <task name="Start">
      <selection>{ref("Check_Not_Used_By_Other_Service")}</selection>
      {f"<pre>{ref(pre)}</pre>" if pre else ""}
      <scriptExecutable>{ref("Start_Docker_Service")}</scriptExecutable>
      <post>
        {ref(post, language)}
      </post>
      {f"<cleaning>{ref(clean)}</cleaning>" if clean else ""}
    </task>
    <task name="Loop">
      {token_gi}
      <depends><task ref="Start"/></depends>
      <scriptExecutable>{ref("Check_Instance_Status")}</scriptExecutable>
      <controlFlow><loop target="{loop_target}">{ref(flow)}</loop></controlFlow>
    </task>
  </taskFlow>
</job>
"""


def action(pre_args=("FINISH_LAUNCHED",), post_args=("FINISHED",), token=True, states="(RUNNING,FINISHED)(ERROR,FINISHED)",
           service="Svc", clean=True):
    token_gi = ('<genericInformation><info name="NODE_ACCESS_TOKEN" value="PSA_${INSTANCE_NAME}"/></genericInformation>'
                if token else "")
    return f"""{HEAD % "Finish_Svc"}
  <genericInformation>
    <info name="pca.service.id" value="{service}"/>
    <info name="pca.states" value="{states}"/>
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
      {f'<cleaning>{ref("Clean_Trigger_Action")}</cleaning>' if clean else ""}
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


def only(findings):
    assert len(findings) == 1, [f.format() for f in findings]
    return findings[0]


def line_of(text, needle):
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


# --- what passes -------------------------------------------------------------------------------------
def test_our_bundled_workflows_pass(known):
    findings, count = validate_paths([BUNDLES], known)
    assert count == len(list(BUNDLES.rglob("*.xml"))) and findings == []


def test_good_fixtures_pass(tmp_path, known):
    assert check(tmp_path, known, deployment()) == []
    assert check(tmp_path, known, action()) == []


# --- what the scheduler refuses ------------------------------------------------------------------------
@pytest.mark.parametrize("change, code, message", [
    (lambda t: t.replace("jobdescriptor:3.14", "jobdescriptor:4.0"), "PA101",
     "unknown namespace 'urn:proactive:jobdescriptor:4.0': the scheduler reads urn:proactive:jobdescriptor:3.0 to 3.14"),
    (lambda t: t.replace('<task name="Loop">', '<task name="Loop" fork="maybe">'), "PA109",
     "<task> attribute fork='maybe' is not true or false"),
    (lambda t: t.replace('name="Svc">', 'name="Svc" onTaskError="explode">'), "PA109",
     "<job> attribute onTaskError='explode' is not an error policy"),
    (lambda t: t.replace('name="Svc">', 'name="Svc" priority="urgent">'), "PA109",
     "<job> attribute priority='urgent' is not a priority"),
    (lambda t: t.replace('<task name="Loop">', '<task name="Loop" colour="red">'), "PA104",
     "unknown attribute 'colour' on <task>"),
    (lambda t: t.replace("<depends>", "<dependencies/><depends>"), "PA103",
     "unknown element <dependencies> here: the schema does not allow it"),
    (lambda t: t.replace('name="Loop"', 'name="Start"').replace('target="Loop"', 'target="Start"'), "PA106",
     "task name 'Start' is used twice (first at line 15)"),
    (lambda t: t.replace('<task ref="Start"/>', '<task ref="Strat"/>'), "PA107",
     "task Loop depends on 'Strat', which is no task of this workflow"),
    (lambda t: t.replace('target="Loop"', 'target="Lop"'), "PA107",
     "<loop> target of task Loop names 'Lop', which is no task of this workflow"),
    (lambda t: t.replace('<task name="Start">', '<task name="Start"><depends><task ref="Loop"/></depends>'), "PA108",
     "dependency cycle: Start -> Loop -> Start"),
    (lambda t: t.replace('name="Loop"', 'name="1Loop"').replace('ref="Start"', 'ref="Start"'), "PA105",
     "task name '1Loop' is invalid"),
    (lambda t: t.replace('variable name="DOCKER_IMAGE"', 'variable name="DOCKER IMAGE"'), "PA105",
     "variable name 'DOCKER IMAGE' is invalid"),
    (lambda t: t.replace('name="Svc">', 'name="S">'), "PA105", "job name 'S' is too short (at least 2 characters)"),
    (lambda t: t.replace('value="nginx:stable"/>', 'value="nginx:stable" model="PA:INTEGR"/>'), "PA111",
     "variable DOCKER_IMAGE: unrecognized type in model 'PA:INTEGR'"),
    (lambda t: t.replace('value="nginx:stable"/>', 'value="10" model="PA:INTEGER[10,"/>'), "PA111",
     "variable DOCKER_IMAGE: model 'PA:INTEGER[10,': a INTEGER range is written [min] or [min,max]"),
    (lambda t: t.replace('value="nginx:stable"/>', 'value="nginx" model="PA:INTEGER"/>'), "PA112",
     "variable DOCKER_IMAGE: the scheduler refuses its value: 'nginx' is not a whole number (model PA:INTEGER)"),
    (lambda t: t.replace('value="True" model="PA:Boolean"/>\n    <variable name="PROXYFIED"',
                         'value="yes" model="PA:Boolean"/>\n    <variable name="PROXYFIED"'), "PA112",
     "variable HTTP_ENABLED: the scheduler refuses its value: 'yes' is not true or false (model PA:Boolean)"),
    (lambda t: t.replace('value="nginx:stable"/>', 'value="c" model="PA:LIST(a,b)"/>'), "PA112",
     "variable DOCKER_IMAGE: the scheduler refuses its value: 'c' is not one of a, b (model PA:LIST(a,b))"),
    (lambda t: t.replace('value="nginx:stable"/>', 'value="nginx" model="PA:REGEXP([a-z]+:[a-z]+)"/>'), "PA112",
     "variable DOCKER_IMAGE: the scheduler refuses its value: 'nginx' does not match [a-z]+:[a-z]+"),
    (lambda t: t.replace(URL % "Fetch_Logs", "buckets/service-automation-python/resources/Fetch_Logs/raw"), "PA110",
     "script URL 'buckets/service-automation-python/resources/Fetch_Logs/raw' is not absolute once "
     "${PA_CATALOG_REST_URL} is substituted"),
    (lambda t: t.replace(f'<file url="{URL % "Fetch_Logs"}" language="cpython">',
                         '<file language="cpython">'), "PA110", "a script <file> has neither url nor path"),
    (lambda t: t.replace("</taskFlow>\n</job>", "</taskFlow>\n  <taskFlow/>\n</job>"), "PA102",
     "<taskFlow> appears twice in <job>"),
    (lambda t: t.replace(f'<cleaning>{ref("Clean_Start_Service")}</cleaning>', "")
              .replace("<post>\n", f'<cleaning>{ref("Clean_Start_Service")}</cleaning><post>\n'), "PA102",
     "<post> is out of the schema's order in <task>: it must come before <cleaning>"),
])
def test_what_the_scheduler_refuses(tmp_path, known, change, code, message):
    findings = [f for f in check(tmp_path, known, change(deployment())) if f.code == code]
    finding = only(findings)
    assert finding.severity == "error"
    assert finding.message.startswith(message), finding.message
    assert finding.fix


def test_not_well_formed_and_other_files(tmp_path, known):
    finding = only(check(tmp_path, known, "<job>\n  <taskFlow>\n</job>\n"))
    assert (finding.code, finding.line) == ("PA100", 3)
    assert finding.message.startswith("not well-formed XML: mismatched tag")
    finding = only(check(tmp_path, known, "<project/>", name="pom.xml"))
    assert finding.severity == "warning" and "not a ProActive workflow" in finding.message
    findings, count = validate_paths([tmp_path], known)  # in a directory, foreign XML is skipped
    assert count == 2 and [f.code for f in findings] == ["PA100"]


# --- what breaks a PSA service -------------------------------------------------------------------------
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
    finding = only(check(tmp_path, known, text))
    assert finding.severity == "error" and finding.message.startswith(message)
    assert finding.line == line_of(text, needle)
    assert finding.code in ("PSA201", "PSA202", "PSA203")


def test_proxified_is_found_where_it_is(tmp_path, known):
    text = deployment(variables=VARIABLES + '\n    <variable name="PROXIFIED" value="True"/>')
    finding = only(check(tmp_path, known, text))
    assert finding.code == "PSA204" and finding.message.startswith("variable PROXIFIED is ignored")
    assert finding.fix == "rename it to PROXYFIED (with a Y)"
    assert finding.line == line_of(text, "PROXIFIED")


@pytest.mark.parametrize("kwargs, message", [
    ({"post": "Clean_Trigger_Action"}, "task Start deploys the service but no task has Post_Start_Service as its post script"),
    ({"clean": None}, "deployment task Start has no Clean_Start_Service cleaning script"),
    ({"pre": None}, "PROXYFIED is true but no task runs Pre_Start_Service: the proxy URL is never made"),
])
def test_a_deployment_without_its_lifecycle_scripts(tmp_path, known, kwargs, message):
    findings = [f for f in check(tmp_path, known, deployment(**kwargs)) if f.code == "PSA210"]
    finding = only(findings)
    assert finding.severity == "error" and finding.message.startswith(message)


def test_a_groovy_deployment_missing_a_script_is_only_warned(tmp_path, known):
    text = deployment(clean=None).replace(URL % "Post_Start_Service", GROOVY % "Post_Start_Service") \
        .replace(URL % "Pre_Start_Service", GROOVY % "Pre_Start_Service") \
        .replace(URL % "Start_Docker_Service", GROOVY % "Finish_Action").replace(
            f'<file url="{GROOVY % "Post_Start_Service"}" language="cpython">',
            f'<file url="{GROOVY % "Post_Start_Service"}" language="groovy">').replace(
            f'<file url="{GROOVY % "Pre_Start_Service"}" language="cpython">',
            f'<file url="{GROOVY % "Pre_Start_Service"}" language="groovy">').replace(
            f'<file url="{GROOVY % "Finish_Action"}" language="cpython">', f'<file url="{GROOVY % "Finish_Action"}" language="bash">')
    findings = check(tmp_path, known, text)
    assert [(f.code, f.severity) for f in findings] == [("PSA210", "warning")]


@pytest.mark.parametrize("old, new, name, message", [
    (f'<post>\n        {ref("Post_Start_Service")}', f'<post>\n        {ref("Clean_Start_Service")}', "Clean_Start_Service",
     "post script of task Start: Clean_Start_Service runs as a post script but is a cleaning script"),
    (f'<pre>{ref("Pre_Start_Service")}</pre>', f'<pre>{ref("Post_Start_Service")}</pre>', "Post_Start_Service",
     "pre script of task Start: Post_Start_Service runs as a pre script but is a post script"),
])
def test_a_script_in_the_wrong_slot_is_an_error(tmp_path, known, old, new, name, message):
    text = deployment().replace(old, new)
    findings = [f for f in check(tmp_path, known, text) if f.code == "PSA211"]
    finding = only(findings)
    assert finding.severity == "error" and finding.message.startswith(message)
    assert finding.line == line_of(text, f"resources/{name}/")


@pytest.mark.parametrize("kwargs, message", [
    ({"flow": "Check_Not_Used_By_Other_Service"},
     "task Loop runs Check_Instance_Status but its loop control script is not Fetch_Logs"),
    ({"loop_target": "Start"}, "the status loop of task Loop targets the deployment task Start"),
])
def test_a_broken_status_loop(tmp_path, known, kwargs, message):
    findings = [f for f in check(tmp_path, known, deployment(**kwargs)) if f.code == "PSA212"]
    assert only(findings).message.startswith(message)


def test_a_status_loop_that_does_not_loop(tmp_path, known):
    text = deployment().replace(f'<controlFlow><loop target="Loop">{ref("Fetch_Logs")}</loop></controlFlow>', "")
    finding = only(check(tmp_path, known, text))
    assert finding.code == "PSA212"
    assert finding.message == "task Loop runs Check_Instance_Status but does not loop: the status is checked once and never again"


@pytest.mark.parametrize("removed, message", [
    ('<variable name="DOCKER_IMAGE" value="nginx:stable"/>',
     "Start_Docker_Service in task Start requires variable DOCKER_IMAGE, which this workflow never sets"),
    ('<variable name="INSTANCE_NAME" value="svc-$PA_JOB_ID"/>',
     "Start_Docker_Service in task Start requires variable INSTANCE_NAME, which this workflow never sets"),
    ('<variable name="ENDPOINT_ID" value="svc-gui-$PA_JOB_ID"/>',
     "Pre_Start_Service in task Start requires variable ENDPOINT_ID, which this workflow never sets"),
])
def test_a_required_variable_nobody_sets(tmp_path, known, removed, message):
    findings = [f for f in check(tmp_path, known, deployment(variables=VARIABLES.replace(removed, ""))) if f.code == "PSA213"]
    assert findings and findings[0].message == message


def test_endpoint_id_is_not_required_without_an_endpoint_nor_proxy(tmp_path, known):
    variables = (VARIABLES.replace('<variable name="ENDPOINT_ID" value="svc-gui-$PA_JOB_ID"/>', "")
                 .replace('name="HTTP_ENABLED" value="True"', 'name="HTTP_ENABLED" value="False"')
                 .replace('name="PROXYFIED" value="True"', 'name="PROXYFIED" value="False"'))
    assert check(tmp_path, known, deployment(variables=variables, pre=None)) == []


def test_a_default_instance_name_that_breaks_the_name_rule(tmp_path, known):
    text = deployment(variables=VARIABLES.replace('value="svc-$PA_JOB_ID"', 'value="my svc;$PA_JOB_ID"'))
    finding = only(check(tmp_path, known, text))
    assert finding.code == "PSA214"
    assert finding.message.startswith("default INSTANCE_NAME 'my svc;$PA_JOB_ID' breaks the name rule")


def test_an_action_missing_its_clean_script(tmp_path, known):
    finding = only(check(tmp_path, known, action(clean=False)))
    assert (finding.code, finding.message) == ("PSA220", "this action workflow runs no Clean_Trigger_Action")


@pytest.mark.parametrize("kwargs, message", [
    ({"post_args": ("PAUSED",)}, "Post_Trigger_Action argument 'PAUSED' leads to PAUSED, but pca.states says this "
     "action ends in FINISHED"),
    ({"pre_args": ("PAUSE_LAUNCHED",)}, "Pre_Trigger_Action argument 'PAUSE_LAUNCHED' leads to PAUSED, but pca.states "
     "says this action ends in FINISHED"),
])
def test_trigger_arguments_that_contradict_the_action(tmp_path, known, kwargs, message):
    findings = [f for f in check(tmp_path, known, action(**kwargs)) if f.code == "PSA221"]
    assert [f.message for f in findings][:1] == [message]


def test_an_action_of_another_service(tmp_path, known):
    (tmp_path / "Svc.xml").write_text(deployment())
    (tmp_path / "Finish_Svc.xml").write_text(action(service="Other"))
    findings, _ = validate_paths([tmp_path], known)
    finding = only(findings)
    assert (finding.code, finding.file) == ("PSA222", str(tmp_path / "Finish_Svc.xml"))
    assert finding.message == "pca.service.id='Other' differs from the deployment workflow's 'Svc' in the same directory"


@pytest.mark.parametrize("token, message, needle", [
    (None, "task Loop acts on the service's node but has no NODE_ACCESS_TOKEN", '<task name="Loop">'),
])
def test_a_task_after_deployment_needs_the_node_token(tmp_path, known, token, message, needle):
    text = deployment(token=token)
    finding = only(check(tmp_path, known, text))
    assert finding.code == "PSA224" and finding.message.startswith(message)
    assert finding.line == line_of(text, needle)


@pytest.mark.parametrize("token, why", [
    ("PSA_other", "it is not the token the lifecycle scripts add"),
    ("PSA_$INSTANCE_NAM", "$INSTANCE_NAM is not a variable of this workflow (did you mean INSTANCE_NAME?)"),
    ("$INSTANCE_NAME", "it is not the token the lifecycle scripts add"),
    ("PSA-${INSTANCE_NAME}", "it is not the token the lifecycle scripts add"),
    ("$MY_TOKEN", "$MY_TOKEN is not a variable of this workflow"),
])
def test_a_node_token_of_another_value(tmp_path, known, token, why):
    text = deployment(token=token)
    finding = only(check(tmp_path, known, text))
    assert (finding.code, finding.line) == ("PSA225", line_of(text, "NODE_ACCESS_TOKEN"))
    assert finding.message == (f"task Loop: NODE_ACCESS_TOKEN={token!r}: {why} (Post_Start_Service adds "
                               "PSA_<INSTANCE_NAME>): the task waits for a node nobody holds")
    assert finding.fix == 'set value="PSA_$INSTANCE_NAME"'


@pytest.mark.parametrize("token", ["PSA_$INSTANCE_NAME", "PSA_${INSTANCE_NAME}", "${INSTANCE_NAME_TOKEN}"])
def test_the_service_token_or_another_variable_of_the_workflow_passes(tmp_path, known, token):
    variables = VARIABLES + '\n    <variable name="INSTANCE_NAME_TOKEN" value="PSA_$INSTANCE_NAME"/>'
    assert check(tmp_path, known, deployment(token=token, variables=variables)) == []


def test_an_action_task_needs_the_node_token(tmp_path, known):
    finding = only(check(tmp_path, known, action(token=False)))
    assert finding.message.startswith("task Finish acts on the service's node but has no NODE_ACCESS_TOKEN")


def test_the_deployment_task_itself_needs_no_token(tmp_path, known):
    # Start runs Start_Docker_Service and Post_Start_Service (both act on the node) after another task that
    # placed itself with Check_Not_Used_By_Other_Service; Start is an anchor: it places the service, then adds
    # the token, so it cannot carry one.
    text = deployment().replace('<task name="Start">', f'''<task name="Reserve">
      <selection>{ref("Check_Not_Used_By_Other_Service")}</selection>
      <scriptExecutable><script><code language="bash">echo reserved</code></script></scriptExecutable>
    </task>
    <task name="Start">
      <depends><task ref="Reserve"/></depends>''')
    assert check(tmp_path, known, text) == []


def test_the_token_rule_ignores_tasks_that_do_not_touch_the_node(tmp_path, known):
    # An if-branch test that only prints, and a task that removes tokens through the RM (patterns of
    # ProActive's own Finish workflows): neither acts on the service's node.
    text = action().replace('<task name="Finish">', '''<task name="Condition">
      <depends><task ref="Trigger"/></depends>
      <scriptExecutable><script><code language="groovy">if (variables.get("ENGINE") == "docker") { branch = "if" } else { branch = "else" }</code></script></scriptExecutable>
    </task>
    <task name="Remove_Tokens">
      <depends><task ref="Trigger"/></depends>
      <scriptExecutable>''' + ref("Update_service_and_remove_tokens", 'language="groovy"', url=GROOVY) + '''</scriptExecutable>
    </task>
    <task name="Finish">''')
    assert check(tmp_path, known, text) == []


def test_an_inline_docker_command_on_the_instance_needs_the_token(tmp_path, known):
    text = action().replace('<task name="Finish">', '''<task name="Remove_Container">
      <depends><task ref="Trigger"/></depends>
      <scriptExecutable><script><code language="bash">docker rm -f "$variables_INSTANCE_NAME"</code></script></scriptExecutable>
    </task>
    <task name="Finish">''')
    finding = only(check(tmp_path, known, text))
    assert finding.message.startswith("task Remove_Container acts on the service's node but has no NODE_ACCESS_TOKEN")


def test_a_token_on_the_job_covers_every_task(tmp_path, known):
    text = action(token=False).replace('<info name="pca.service.id"',
                                       '<info name="NODE_ACCESS_TOKEN" value="PSA_$INSTANCE_NAME"/>\n    <info name="pca.service.id"')
    assert check(tmp_path, known, text) == []


def test_a_script_not_in_the_bundle(tmp_path, known):
    text = deployment(post="Post_Start_Servce")
    finding = only([f for f in check(tmp_path, known, text) if f.code == "PSA230"])
    assert finding.message == ("post script of task Start: Post_Start_Servce is not an object of the bundle "
                               "(bucket service-automation-python) (did you mean Post_Start_Service?)")
    assert "Post_Start_Service" in finding.fix
    assert finding.line == line_of(text, "Post_Start_Servce")


def test_a_name_the_groovy_bucket_does_not_hold(tmp_path, known):
    text = deployment().replace(URL % "Fetch_Logs", GROOVY % "Fetch_Log")
    finding = only([f for f in check(tmp_path, known, text) if f.code == "PSA230"])
    assert finding.message == ("flow script of task Loop: Fetch_Log is not an object of the Groovy bucket "
                               "service-automation (did you mean Fetch_Logs?)")


def test_a_misspelt_bucket_holding_the_script(tmp_path, known):
    text = deployment().replace(URL % "Fetch_Logs", URL.replace("python", "pyhton") % "Fetch_Logs")
    finding = only(check(tmp_path, known, text))
    assert (finding.code, finding.line) == ("PSA230", line_of(text, "pyhton"))
    assert finding.message == ("flow script of task Loop: bucket service-automation-pyhton is not one of ours (did you "
                               "mean service-automation-python?): Fetch_Logs is fetched from a bucket that does not "
                               "hold it")
    assert finding.fix == "write /buckets/service-automation-python/resources/Fetch_Logs/raw"


def test_another_bucket_is_not_judged_even_when_its_name_is_close(tmp_path, known):
    text = deployment().replace(URL % "Fetch_Logs", URL.replace("python", "pyhton") % "My_Own_Loop")
    assert [f.code for f in check(tmp_path, known, text)] == ["PSA212"]


@pytest.mark.parametrize("language, said", [("", "has no language"), ('language="python"', "has language='python'")])
def test_a_script_with_a_missing_or_wrong_language(tmp_path, known, language, said):
    finding = only(check(tmp_path, known, deployment(language=language)))
    assert finding.code == "PSA231"
    assert finding.message == (f"post script of task Start: Post_Start_Service {said}; Post_Start_Service is one of "
                               "our Python scripts: they run on the cpython engine")
    assert finding.fix == 'set language="cpython" on the <file> element'


def test_a_groovy_script_run_as_cpython(tmp_path, known):
    text = deployment().replace("service-automation-python/resources/Clean_Start_Service",
                                "service-automation/resources/Clean_Start_Service")
    finding = only(check(tmp_path, known, text))
    assert finding.code == "PSA231"
    assert "Clean_Start_Service of bucket service-automation is a Groovy script, run here as cpython" in finding.message


@pytest.mark.parametrize("pre_args, post_args, message, fix", [
    ((), ("FINISHED",), "executable script of task Trigger: Pre_Trigger_Action needs an argument", "<argument value="),
    (("FINISH_LAUNCHED",), (), "post script of task Finish: Post_Trigger_Action needs an argument (one of FINISHED, "
     "PAUSED, RUNNING)", "<argument value="),
    (("finish",), ("FINISHED",), "executable script of task Trigger: Pre_Trigger_Action argument 'finish' is not one of",
     "capitals"),
])
def test_trigger_scripts_need_their_argument(tmp_path, known, pre_args, post_args, message, fix):
    finding = only(check(tmp_path, known, action(pre_args=pre_args, post_args=post_args)))
    assert finding.code == "PSA232" and finding.message.startswith(message)
    assert fix in finding.fix


def test_other_buckets_are_not_ours_to_judge(tmp_path):
    known = Known(buckets={"mine"}, objects={"A"}, kinds={"A": "Script/post"})
    assert check(tmp_path, known, deployment()) == []


# --- silencing, selecting, formats ------------------------------------------------------------------------
def test_a_comment_silences_one_rule_in_its_task(tmp_path, known):
    text = deployment(token=None).replace('<task name="Loop">', '<task name="Loop">\n      <!-- psa: ignore[PSA224] -->')
    assert check(tmp_path, known, text) == []
    text = deployment(token=None).replace('<task name="Loop">', '<task name="Loop">\n      <!-- psa: ignore[PSA213] -->')
    assert [f.code for f in check(tmp_path, known, text)] == ["PSA224"]


def test_generic_information_silences_one_rule_in_its_task(tmp_path, known):
    text = deployment(token=None).replace(
        '<task name="Loop">', '<task name="Loop">\n      <genericInformation><info name="psa.validate.ignore" value="PSA224"/></genericInformation>')
    assert check(tmp_path, known, text) == []


def test_finding_format():
    text = Finding("w.xml", 12, "error", "what is wrong", "how to fix", "PSA224", 5).format()
    assert text == "w.xml:12:5: PSA224 error: what is wrong\n    fix: how to fix"


def test_every_rule_has_an_explanation():
    assert all(title and len(text) > 40 for title, text in RULES.values())
    assert explain("psa224").startswith("PSA224: task on the service's node without its token\n\n")


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_json_select_ignore_and_exit_codes(capsys, tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text(deployment(token=None, variables=VARIABLES + '\n    <variable name="PROXIFIED" value="x"/>'))
    code, out, _ = run(capsys, "validate", bad, "--format", "json", "--bundles", BUNDLES)
    report = json.loads(out)
    assert code == 1 and report["checked"] == 1
    assert [f["code"] for f in report["findings"]] == ["PSA204", "PSA224"]
    assert report["findings"][1]["line"] == line_of(bad.read_text(), '<task name="Loop">')
    assert report["findings"][1]["column"] == 5
    code, out, _ = run(capsys, "validate", bad, "--select", "PSA224", "--bundles", BUNDLES)
    assert code == 1 and out.count(" PSA224 error: ") == 1 and "PSA204" not in out
    code, out, _ = run(capsys, "validate", bad, "--ignore", "PSA2", "--bundles", BUNDLES)
    assert code == 0 and out == "1 workflow file(s) checked: no problem found\n"


def test_cli_usage_errors_exit_2(capsys, tmp_path):
    code, _, err = run(capsys, "validate", tmp_path / "nope.xml")
    assert code == 2 and err == f"psa validate: no such file or directory: {tmp_path / 'nope.xml'}\n"
    code, _, err = run(capsys, "validate", "--bundles", tmp_path / "none")
    assert code == 2 and err.startswith(f"psa validate: no {tmp_path / 'none'} directory here: give FILE_OR_DIR...")
    code, _, err = run(capsys, "validate", tmp_path, "--select", "XYZ")
    assert code == 2 and err.startswith("psa validate: no rule matches XYZ")
    code, _, err = run(capsys, "validate", "--explain", "PSA999")
    assert code == 2 and err.startswith("psa validate: no rule 'PSA999'")
    code, out, _ = run(capsys, "validate", "--explain", "PA108")
    assert code == 0 and out.startswith("PA108: dependency cycle\n")


@pytest.mark.parametrize("value, pairs", [
    ("(VOID,RUNNING)", [("VOID", "RUNNING")]),
    (" (RUNNING, FINISHED)(ERROR,FINISHED) ", [("RUNNING", "FINISHED"), ("ERROR", "FINISHED")]),
    ("(ALL,FINISHED)", [("ALL", "FINISHED")]),
    ("(RUNNING,ALL)", None), ("VOID->RUNNING", None), ("(VOID,RUNNING),(RUNNING,PAUSED)", None), ("", None),
])
def test_parse_states(value, pairs):
    assert parse_states(value) == pairs


def test_the_service_state_machine_across_its_workflows(tmp_path, known):
    (tmp_path / "Svc.xml").write_text(deployment())
    (tmp_path / "Pause_Svc.xml").write_text(action(states="(RUNNING,PAUSED)", pre_args=("PAUSE_LAUNCHED",),
                                                   post_args=("PAUSED",)))
    findings, _ = validate_paths([tmp_path], known)
    assert {(f.code, f.severity) for f in findings} == {("PSA240", "warning")}
    messages = sorted(f.message for f in findings)
    assert messages == [
        "service Svc: state ERROR (set by the lifecycle scripts on failure) is left by no action: a failed "
        "instance cannot be finished",
        "service Svc: state PAUSED (reached by Finish_Svc) is left by no action: an instance there stays there",
    ]


def test_one_workflow_alone_is_not_judged_as_a_whole_service(tmp_path, known):
    assert check(tmp_path, known, action(states="(RUNNING,PAUSED)", pre_args=("PAUSE_LAUNCHED",),
                                         post_args=("PAUSED",))) == []


def test_a_general_script_may_stand_in_a_pre_task_or_post_slot(tmp_path, known):
    retrieve = ref("Retrieve_variables_from_service_instance_id", 'language="groovy"', ("a", "b"), url=GROOVY)
    finish = f'<scriptExecutable>{ref("Finish_Docker_Service")}</scriptExecutable>'
    text = action().replace(finish, f"<pre>{retrieve}</pre>{finish}")
    assert check(tmp_path, known, text) == []


def test_the_multi_deployment_status_loop_may_loop_on_fetch_logs(tmp_path, known):
    text = deployment().replace(f'<scriptExecutable>{ref("Check_Instance_Status")}</scriptExecutable>',
                                f'<scriptExecutable>{ref("Loop_over_service_instance_status", args=("true", "true", "PSA_x", "c"))}</scriptExecutable>')
    assert [f for f in check(tmp_path, known, text) if f.code == "PSA212"] == []


# --- service rules judge services only (issue 18) --------------------------------------------------
STANDARD = f"""{HEAD % "Standard_Job"}
  <genericInformation><info name="workflow.icon" value="x.png"/></genericInformation>
  <taskFlow>
    <task name="Work"><scriptExecutable><script><code language="bash">echo hi</code></script></scriptExecutable></task>
  </taskFlow>
</job>
"""
# Made from ProActive's public examples (ow2-proactive/proactive-examples, ELK/resources/catalog/
# Apache_Logs_Analysis.xml): a standard workflow that runs a command in a service's container.
STANDARD_ON_A_SERVICE = STANDARD.replace(
    '<code language="bash">echo hi</code>',
    '<code language="bash">docker exec "$variables_INSTANCE_NAME" ls</code>')


def metadata_package(tmp_path, kind, text, name="Standard_Job"):
    """A package laid out as ProActive's public examples are: METADATA.json, resources/catalog/<name>.xml."""
    (tmp_path / "resources" / "catalog").mkdir(parents=True)
    (tmp_path / "METADATA.json").write_text(json.dumps({"metadata": {"slug": "x"}, "catalog": {
        "bucket": "x", "objects": [{"name": name, "metadata": {"kind": kind}, "file": f"resources/catalog/{name}.xml"}]}}))
    path = tmp_path / "resources" / "catalog" / f"{name}.xml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("kind, codes", [("Workflow/standard", []), ("workflow/standard", []),
                                         ("Workflow/psa", ["PSA201", "PSA202"]), ("workflow/psa", ["PSA201", "PSA202"])])
def test_service_rules_apply_to_what_the_package_declares_a_service(tmp_path, known, kind, codes):
    path = metadata_package(tmp_path, kind, STANDARD)
    assert [f.code for f in validate_file(path, known)] == codes


def test_a_standard_workflow_with_pca_information_is_a_service(tmp_path, known):
    text = STANDARD.replace('<info name="workflow.icon" value="x.png"/>', '<info name="pca.service.id" value="S"/>')
    path = metadata_package(tmp_path, "Workflow/standard", text)
    assert [f.code for f in validate_file(path, known)] == ["PSA202"]


def test_our_package_json_declares_the_kind_of_its_workflows(tmp_path, known):
    (tmp_path / "package.json").write_text(json.dumps({"slug": "x", "name": "x", "bucket": "x",
                                                       "workflowKind": "Workflow/standard"}))
    assert check(tmp_path, known, STANDARD) == []
    (tmp_path / "package.json").write_text(json.dumps({"slug": "x", "name": "x", "bucket": "x"}))  # default psa
    assert [f.code for f in check(tmp_path, known, STANDARD)] == ["PSA201", "PSA202"]


def test_a_loose_file_is_a_service_when_it_runs_lifecycle_scripts(tmp_path, known):
    assert check(tmp_path, known, STANDARD) == []
    lifecycle = deployment(gis='<info name="workflow.icon" value="x.png"/>')
    assert [f.code for f in check(tmp_path, known, lifecycle)] == ["PSA201", "PSA202"]


def test_the_node_token_rule_still_judges_a_standard_workflow(tmp_path, known):
    path = metadata_package(tmp_path, "Workflow/standard", STANDARD_ON_A_SERVICE)
    finding = only(validate_file(path, known))
    assert finding.code == "PSA224" and finding.message.startswith("task Work acts on the service's node")


# --- the realistic mistakes' rules, alone --------------------------------------------------------------
@pytest.mark.parametrize("states, state, meant", [("(RUNING,FINISHED)", "RUNING", "RUNNING"),
                                                  ("(RUNNING,FINISHED)(Error,FINISHED)", "Error", "ERROR"),
                                                  ("(ALL,FINSHED)", "FINSHED", "FINISHED")])
def test_a_misspelt_state(tmp_path, known, states, state, meant):
    finding = only(check(tmp_path, known, action(states=states)))
    assert (finding.code, finding.line) == ("PSA205", line_of(action(states=states), "pca.states"))
    assert f"unknown state {state!r} (did you mean {meant}?)" in finding.message
    assert finding.fix == f"write {states.replace(state, meant)!r}"


@pytest.mark.parametrize("states", ["(STOPPED,FINISHED)", "(PARAVIEW_DEPLOYED,FINISHED)", "(RUNNING,FINISHED)(ALL,ERROR)"])
def test_states_of_the_service_own_are_not_judged(tmp_path, known, states):
    assert check(tmp_path, known, action(states=states)) == []


def test_a_url_variable_nothing_defines(tmp_path, known):
    text = deployment().replace("${PA_CATALOG_REST_URL}/buckets/service-automation-python/resources/Fetch_Logs/raw",
                                "${PA_CATALOG_REST_URL}/buckets/service-automation-python/resources/Fetch_Logs/raw"
                                "?revision=${REVISION}")
    text = text.replace("<variables>", '<variables>\n    <variable name="REVISIONS" value="1"/>')
    finding = only(check(tmp_path, known, text))
    assert (finding.code, finding.line) == ("PSA233", line_of(text, "${REVISION}"))
    assert finding.message == ("flow script of task Loop: its URL uses ${REVISION}, which is not a variable of this "
                               "workflow nor one ProActive defines (did you mean REVISIONS?)")
    defined = text.replace('name="REVISIONS"', 'name="REVISION"')
    assert check(tmp_path, known, defined) == []


def test_a_url_starting_with_an_undefined_variable_is_the_schemas_pa110_alone(tmp_path, known):
    text = deployment().replace("${PA_CATALOG_REST_URL}/buckets/service-automation-python/resources/Fetch_Logs",
                                "${PA_CATALOG_REST_ULR}/buckets/service-automation-python/resources/Fetch_Logs")
    finding = only(check(tmp_path, known, text))
    assert (finding.code, finding.line) == ("PA110", line_of(text, "${PA_CATALOG_REST_ULR}"))
    assert finding.message.endswith("the job factory finds no protocol and refuses the job (did you mean "
                                    "PA_CATALOG_REST_URL?)")


def test_an_action_from_void_is_reported_once(tmp_path, known):
    text = action(states="(VOID,FINISHED)")
    finding = only(check(tmp_path, known, text))
    assert (finding.code, finding.line) == ("PSA223", line_of(text, "pca.states"))


def test_rules_are_listed_in_code_order(capsys):
    assert list(RULES) == sorted(RULES)
    code, out, _ = run(capsys, "validate", "--explain")
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == list(RULES)
    assert out.splitlines()[0] == "PA100  XML not well formed"


def test_validate_without_a_path_checks_bundles(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "validate")
    assert (code, out) == (2, "") and err == ("psa validate: no bundles directory here: give FILE_OR_DIR... (or run it "
                                              "where your bundles/ directory is)\n")
    (tmp_path / "bundles").mkdir()
    (tmp_path / "bundles" / "w.xml").write_text(deployment().replace("Fetch_Logs", "Fetch_Log"))
    code, out, _ = run(capsys, "validate")
    assert code == 1 and out.startswith("bundles/w.xml:") and " PSA230 " in out
