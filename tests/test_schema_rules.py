"""PA1xx: the jobdescriptor content model (order, cardinality, attributes, value types, text) and
what the job factory judges beyond it, each rule on a one-change mutant of a valid job.

The mutants are the kinds ProActive's job factory (scheduler-api 13.0.3, schema validation on)
was seen to reject while ``psa validate`` said nothing (tools/factory_diff.py finds them)."""

import pytest

from psa_scripts.workflow import schema
from psa_scripts.workflow.jobdescriptor import DEFINITIONS
from psa_scripts.workflow.model import parse_workflow_bytes
from psa_scripts.validate import RULES

URL = "${PA_CATALOG_REST_URL}/buckets/b/resources/%s/raw"
JOB = f"""<?xml version="1.0" encoding="UTF-8"?>
<job xmlns="urn:proactive:jobdescriptor:3.14" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
     xsi:schemaLocation="urn:proactive:jobdescriptor:3.14 schedulerjob.xsd" name="Every_Part" tags="a, b"
     priority="normal" onTaskError="continueJobExecution" maxNumberOfExecution="2">
  <variables>
    <variable name="PORT" value="8080" model="PA:INTEGER" advanced="false" hidden="false"/>
  </variables>
  <description><![CDATA[ A job with most of the schema ]]></description>
  <genericInformation>
    <info name="pca.service.id" value="Svc"/>
  </genericInformation>
  <taskFlow>
    <task name="Start" fork="true" walltime="10:00">
      <description>first</description>
      <variables>
        <variable name="PORT" value="" inherited="true" model="PA:INTEGER"/>
      </variables>
      <inputFiles><files includes="in/*.txt" accessMode="transferFromUserSpace"/></inputFiles>
      <selection><script type="static"><file url="{URL % "Select"}" language="cpython"/></script></selection>
      <forkEnvironment workingDir="/tmp"><SystemEnvironment><variable name="A" value="1"/></SystemEnvironment>
        <jvmArgs><jvmArg value="-Xmx1g"/></jvmArgs></forkEnvironment>
      <pre><script><code language="cpython">print("pre")</code><arguments><argument value="x"/></arguments></script></pre>
      <scriptExecutable><script><file url="{URL % "Start"}" language="cpython"><arguments><argument value="a"/>
        </arguments></file></script></scriptExecutable>
      <post><script><file url="{URL % "Post"}" language="cpython"/></script></post>
      <cleaning><script><file url="{URL % "Clean"}" language="cpython"/></script></cleaning>
      <outputFiles><files includes="out/*" accessMode="transferToUserSpace"/></outputFiles>
      <metadata><positionTop>10</positionTop></metadata>
    </task>
    <task name="Loop">
      <depends><task ref="Start"/></depends>
      <parallel numberOfNodes="2"><topology><singleHost/></topology></parallel>
      <nativeExecutable><staticCommand value="echo"><arguments><argument value="hi"/></arguments></staticCommand>
      </nativeExecutable>
      <controlFlow block="none"><loop target="Loop"><script><code language="cpython">loop = False</code></script>
      </loop></controlFlow>
    </task>
  </taskFlow>
  <metadata>
    <visualization><![CDATA[ <html></html> ]]></visualization>
  </metadata>
</job>
"""


def problems(text):
    return [(p.code, p.message) for p in schema.problems(parse_workflow_bytes(text.encode("utf-8")))]


def test_the_base_job_is_valid():
    assert problems(JOB) == []


def mutate(old, new, count=1):
    assert JOB.count(old) >= count, old
    return JOB.replace(old, new, count)


@pytest.mark.parametrize("mutant, expected", [
    # cardinality (jobdescriptor: pre/post/scriptExecutable { simpleScript }, fileScript, fileScriptArguments)
    (mutate("<post><script>", "<post><script><code language=\"cpython\">x</code></script><script>"),
     ("PA102", "<script> appears twice in <post>: the schema allows <script> once there")),
    (mutate('<file url="${PA_CATALOG_REST_URL}/buckets/b/resources/Clean/raw" language="cpython"/>',
            '<file url="a://x"/><file url="a://y"/>'),
     ("PA102", "<file> appears twice in <script>: the schema allows one of <code|file> once there")),
    (mutate("</arguments></script></pre>", "</arguments><arguments><argument value=\"y\"/></arguments></script></pre>"),
     ("PA102", "<arguments> appears twice in <script>")),
    (mutate("<topology><singleHost/>", "<topology><singleHost/><arbitrary/>"),
     ("PA102", "<arbitrary> appears twice in <topology>: the schema allows one of <arbitrary|")),
    (mutate("</nativeExecutable>", '</nativeExecutable><selection><script><code language="x">1</code></script>'
            "</selection>"),
     ("PA102", "<selection> is out of the schema's order in <task>: it must come before "
               "<nativeExecutable|javaExecutable|scriptExecutable>")),
    # arguments stand beside <code> only; with a <file> they go inside it (codeScript / fileScript)
    (mutate('<post><script><file url="${PA_CATALOG_REST_URL}/buckets/b/resources/Post/raw" language="cpython"/>',
            '<post><script><file url="a://p"/><arguments><argument value="1"/></arguments>'),
     ("PA102", "<arguments> is not allowed here in <script>: the schema allows it only right after <code>")),
    # required children (genericInformation { info+ }, scriptExecutable { simpleScript }, task { executable })
    (mutate('<genericInformation>\n    <info name="pca.service.id" value="Svc"/>\n  </genericInformation>',
            "<genericInformation/>"),
     ("PA113", "<genericInformation> has no <info>: the schema requires at least one")),
    (mutate('<scriptExecutable><script><file url="${PA_CATALOG_REST_URL}/buckets/b/resources/Start/raw" '
            'language="cpython"><arguments><argument value="a"/>\n        </arguments></file></script></scriptExecutable>',
            "<scriptExecutable/>"),
     ("PA113", "<scriptExecutable> has no <script>: the schema requires one")),
    (mutate('<nativeExecutable><staticCommand value="echo"><arguments><argument value="hi"/></arguments></staticCommand>\n'
            '      </nativeExecutable>', ""),
     ("PA113", "task Loop has no <nativeExecutable|javaExecutable|scriptExecutable>")),
    # required attributes (fileScriptArgument, infiles_, thresholdProximity...)
    (mutate('<argument value="hi"/>', "<argument/>"), ("PA113", "<argument> has no value attribute")),
    (mutate('<files includes="in/*.txt" accessMode', "<files accessMode"), ("PA113", "<files> has no includes attribute")),
    (mutate(' accessMode="transferToUserSpace"', ""), ("PA113", "<files> has no accessMode attribute")),
    (mutate('<variable name="A" value="1"/>', '<variable name="A"/>'), ("PA113", "<variable> has no value attribute")),
    (mutate('<loop target="Loop">', "<loop>"), ("PA113", "<loop> has no target attribute")),
    (mutate('<task ref="Start"/>', "<task/>"), ("PA113", "<task> has no ref attribute")),
    (mutate('name="Every_Part" ', ""), ("PA113", "<job> has no name attribute")),
    # unknown attributes (metadata entries hold text only; each element's attributes are closed)
    (mutate("<visualization>", '<visualization version="2">'),
     ("PA104", "unknown attribute 'version' on <visualization>")),
    (mutate("<metadata>\n", '<metadata kind="x">\n'), ("PA104", "unknown attribute 'kind' on <metadata>")),
    (mutate('<task name="Loop">', '<task name="Loop" forks="true">'),
     ("PA104", "unknown attribute 'forks' on <task> (did you mean 'fork'?)")),
    (mutate(' xsi:schemaLocation="urn', ' xsi:noNamespaceSchemaLocation="x" xsi:schemaLocation="urn'),
     ("PA104", "unknown attribute 'noNamespaceSchemaLocation' on <job>")),
    # value types (language minLength 1, booleans, access modes, enumerations)
    (mutate('<code language="cpython">print', '<code language="">print'),
     ("PA109", "<code> attribute language='' is not a non-empty string")),
    (mutate('advanced="false"', 'advanced="no"'), ("PA109", "<variable> attribute advanced='no' is not true or false")),
    (mutate('accessMode="transferFromUserSpace"', 'accessMode="transferToUserSpace"'),
     ("PA109", "<files> attribute accessMode='transferToUserSpace' is not an input access mode")),
    (mutate('block="none"', 'block="${B}"'), ("PA109", "<controlFlow> attribute block='${B}' is not start, end or none")),
    (mutate('numberOfNodes="2"', 'numberOfNodes="0"'), ("PA109", "<parallel> attribute numberOfNodes='0' is not a whole")),
    (mutate('<info name="pca.service.id"', '<info name="pca service"'), ("PA105", "generic information name 'pca service'")),
    # both url and path: the schema takes one (fileScript: path | url)
    (mutate('<file url="${PA_CATALOG_REST_URL}/buckets/b/resources/Post/raw"',
            '<file path="p.py" url="${PA_CATALOG_REST_URL}/buckets/b/resources/Post/raw"'),
     ("PA110", "a script <file> has both url and path: the schema takes exactly one")),
    # text where the schema allows none
    (mutate("<taskFlow>\n", "<taskFlow>\n stray words\n"), ("PA114", "text 'stray words' inside <taskFlow>")),
    (mutate("<pre><script>", "<pre>print('x')<script>"), ("PA114", "text \"print('x')\" inside <pre>")),
    (mutate("<positionTop>10</positionTop>", "<positionTop><b>10</b></positionTop>"),
     ("PA103", "unknown element <b> here: the schema allows no element inside <positionTop>")),
    # unknown elements, with a suggestion
    (mutate("<cleaning>", "<cleanup/><cleaning>"),
     ("PA103", "unknown element <cleanup> here: the schema does not allow it in <task> (did you mean <cleaning>?)")),
])
def test_each_content_rule(mutant, expected):
    found = problems(mutant)
    assert len(found) == 1, found
    assert found[0][0] == expected[0] and found[0][1].startswith(expected[1]), found


def test_an_empty_variables_list_and_a_misplaced_element():
    found = problems(mutate('<variables>\n    <variable name="PORT" value="8080" model="PA:INTEGER" '
                            'advanced="false" hidden="false"/>\n  </variables>', "<variables/>"))
    assert found == [("PA113", "<variables> has no <variable>: the schema requires at least one"),
                     ("PA112", "variable PORT: the scheduler refuses its value: '' is not a whole number "
                               "(model PA:INTEGER)")]  # no job variable left to inherit from
    found = problems(mutate("<metadata>\n    <visualization>", "<metadata>\n <visualization/><visualization>"))
    assert found == []  # metadata holds any entries, as many as wanted


def test_values_in_variable_form_and_xsd_white_space():
    assert problems(mutate('fork="true"', 'fork="${FORK}"')) == []
    assert problems(mutate('fork="true"', 'fork=" true "')) == []  # xsd:boolean collapses white space
    assert problems(mutate('fork="true"', 'fork="${FORK} "'))[0][0] == "PA109"  # a reference is the whole value


def test_an_inherited_task_variable_is_judged_by_the_jobs_value():
    assert problems(JOB) == []  # PORT="" inherits the job's 8080
    bad_job_value = mutate('value="8080"', 'value="eighty"')
    assert problems(bad_job_value) == [
        ("PA112", "variable PORT: the scheduler refuses its value: 'eighty' is not a whole number (model PA:INTEGER)"),
        ("PA112", "variable PORT: the scheduler refuses the job's value it inherits: 'eighty' is not a whole number "
                  "(model PA:INTEGER)")]
    not_inherited = mutate('inherited="true"', 'inherited="false"')
    assert problems(not_inherited) == [
        ("PA112", "variable PORT: the scheduler refuses its value: '' is not a whole number (model PA:INTEGER)")]
    # Java's Boolean.valueOf reads "1" as false: the task keeps its own (empty) value
    assert [code for code, _ in problems(mutate('inherited="true"', 'inherited="1"'))] == ["PA112"]
    no_job_variable = mutate('<variable name="PORT" value="8080"', '<variable name="HOST" value="8080"')
    assert [code for code, _ in problems(no_job_variable)] == ["PA112"]


def test_every_definition_cites_a_schema_pattern_and_every_code_is_documented():
    assert all(definition.cites for definition in DEFINITIONS.values())
    for definition in DEFINITIONS.values():
        for slot in definition.content:
            assert all(target in DEFINITIONS for _, target in slot.choices)
    assert {"PA102", "PA103", "PA104", "PA109", "PA110", "PA113", "PA114"} <= set(RULES)


def test_the_walk_is_linear():
    tasks = "".join(f'<task name="T{n}"><scriptExecutable><script><code language="cpython">pass</code></script>'
                    f"</scriptExecutable></task>" for n in range(3000))
    text = f'<job xmlns="urn:proactive:jobdescriptor:3.14" name="Big"><taskFlow>{tasks}</taskFlow></job>'
    assert problems(text) == []


# --- control flow (PA115: what the scheduler's flow check refuses at submission) ------------------------
def flow_job(tasks):
    body = "".join(tasks)
    return f'<job xmlns="urn:proactive:jobdescriptor:3.14" name="Flow"><taskFlow>{body}</taskFlow></job>'


def task(name, depends=(), flow="", block=None):
    refs = "".join(f'<task ref="{d}"/>' for d in depends)
    block_attribute = f' block="{block}"' if block else ""
    control = f"<controlFlow{block_attribute}>{flow}</controlFlow>" if flow or block else ""
    return (f'<task name="{name}">' + (f"<depends>{refs}</depends>" if refs else "")
            + '<scriptExecutable><script><code language="cpython">pass</code></script></scriptExecutable>'
            + control + "</task>")


SCRIPT = '<script><code language="cpython">x = 1</code></script>'


@pytest.mark.parametrize("tasks, message", [
    ([task("A"), task("B", ["A"], f'<loop target="B">{SCRIPT}</loop>')], None),  # B loops on itself: fine
    ([task("A"), task("B", ["A", "A"], f'<loop target="B">{SCRIPT}</loop>')],  # a dependency written twice
     "task 'B', the target of the <loop> of task B, has 2 dependencies"),
    ([task("A"), task("C"), task("B", ["A", "C"], f'<loop target="B">{SCRIPT}</loop>')],
     "task 'B', the target of the <loop> of task B, has 2 dependencies"),
    ([task("A"), task("B", ["A"], f'<loop target="A">{SCRIPT}</loop>')], "the <loop> of task B does not close a task block"),
    ([task("A", block="start"), task("B", ["A"], f'<loop target="A">{SCRIPT}</loop>', block="end")], None),
    ([task("A", flow=f'<if target="B" else="B">{SCRIPT}</if>'), task("B")],
     "<if> of task A: target and else are the same task 'B'"),
    ([task("A", flow=f'<if target="B" else="C">{SCRIPT}</if>'), task("B"), task("C", ["A"])],
     "the else of task A's <if>, task 'C', has dependencies"),
    ([task("A", flow=f'<if target="B" else="C">{SCRIPT}</if>'), task("B"), task("C"),
      task("D", flow=f'<if target="B" else="E">{SCRIPT}</if>'), task("E")],
     "task 'B' is the target of two <if> actions (tasks A and D)"),
    ([task("A", flow=f"<replicate>{SCRIPT}</replicate>"), task("B", ["A"])],
     "task 'B', replicated by task A, has no task depending on it"),
    ([task("A", flow=f"<replicate>{SCRIPT}</replicate>"), task("B", ["A"]), task("C", ["B"])], None),
    ([task("A", flow=f"<replicate>{SCRIPT}</replicate>"), task("Z"), task("B", ["A", "Z"]), task("C", ["B"])],
     "task 'B', replicated by task A, depends on other tasks too"),
    ([task("S", block="start"), task("A", ["S"], flow=f"<replicate>{SCRIPT}</replicate>"),
      task("B", ["A"], block="end"), task("C", ["B"])],
     "task 'B', replicated by task A, ends a task block"),
    ([task("A", block="start"), task("B", ["A"])],
     '1 task block start(s) and 0 end(s): each block="start" pairs with one block="end"'),
])
def test_control_flow_the_scheduler_refuses(tasks, message):
    found = [m for code, m in problems(flow_job(tasks)) if code == "PA115"]
    if message is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].startswith(message), found


def test_a_spel_model_calling_a_method_on_a_variable_the_workflow_lacks():
    model = "PA:SPEL(variables['ENGINE'].toLowerCase() == 'docker' ? showVar('PORT') : hideVar('PORT'))"
    handler = f'<variable name="HANDLER" value="" model="{model}"/>'
    with_engine = mutate('<variables>\n    <variable name="PORT"', f'<variables>\n    {handler}\n'
                         '    <variable name="ENGINE" value="docker"/>\n    <variable name="PORT"')
    assert problems(with_engine) == []
    without = mutate('<variables>\n    <variable name="PORT"', f'<variables>\n    {handler}\n    <variable name="PORT"')
    assert problems(without) == [("PA112", "variable HANDLER: the scheduler refuses its model: the expression needs "
                                           "the variable ENGINE, which the workflow does not define")]
    null_safe = without.replace("variables['ENGINE'].toLowerCase()", "variables['ENGINE']?.toLowerCase()")
    assert problems(null_safe) == []
    hidden = with_engine.replace("showVar('PORT') : hideVar('PORT')", "showVar('GONE') : hideVar('GONE')")
    assert [m for _, m in problems(hidden)] == [
        "variable HANDLER: the scheduler refuses its model: the expression needs the variable GONE, which the "
        "workflow does not define"]


@pytest.mark.parametrize("model, value, reason", [
    ("PA:URL", "0", "'0' is not a URL: it names no protocol"),
    ("PA:URL", "s3://bucket/key", "'s3://bucket/key' is not a URL: Java knows no protocol 's3'"),
    ("PA:URL", "https://example.org/x", None),
    ("PA:URL?", "", None),
    ("PA:JSON", "12:99", "'12:99' is not JSON"),
    ("PA:JSON", "{a: 1}", "'{a: 1}' is not JSON"),
    ("PA:JSON", '{"a": [1, 2]}', None),
    ("PA:JSON", "1 2", None),  # ProActive reads tokens: values one after another pass
    ("PA:JSON", "", None),
])
def test_url_and_json_values_as_proactive_reads_them(model, value, reason):
    quoted = value.replace('"', "&quot;")
    variable = f'<variable name="V" value="{quoted}" model="{model}"/>'
    found = problems(mutate('<variables>\n    <variable name="PORT"', f'<variables>\n    {variable}\n'
                            '    <variable name="PORT"'))
    if reason is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0][1].startswith(f"variable V: the scheduler refuses its value: {reason}")


def test_a_script_url_starting_with_a_variable_nobody_defines():
    url = "${PA_CATALOG_REST_URL}/buckets/b/resources/Post/raw"
    assert problems(mutate(url, "${SCRIPTS}/Post.py")) == [
        ("PA110", "script URL '${SCRIPTS}/Post.py' starts with ${SCRIPTS}, which neither the workflow nor the server "
                  "defines: the job factory finds no protocol and refuses the job")]
    defined = mutate(url, "${SCRIPTS}/Post.py").replace('<variable name="PORT"', '<variable name="SCRIPTS" '
                                                          'value="https://example.org/s"/><variable name="PORT"')
    assert problems(defined) == []
    assert problems(mutate(url, "${PA_SCHEDULER_REST_URL}/x.py")) == []
    assert problems(mutate(url, "https://example.org/${UNKNOWN}/x.py")) == []  # the protocol is there



@pytest.mark.parametrize("old, new, flagged", [
    ('accessMode="transferFromUserSpace"', 'accessMode="${MODE}"', True),
    ('maxNumberOfExecution="2"', 'maxNumberOfExecution="${TRIES}"', True),
    ('numberOfNodes="2"', 'numberOfNodes="${NODES}"', True),
    ('maxNumberOfExecution="2"', 'maxNumberOfExecution="${PORT}"', False),  # defined: substituted first
    ('fork="true"', 'fork="${UNDEFINED}"', False),  # read with Boolean.parseBoolean: false, no error
    ('priority="normal"', 'priority="${UNDEFINED}"', False),  # an unknown priority falls back to a default
])
def test_an_undefined_reference_where_the_factory_parses_the_value(old, new, flagged):
    found = problems(mutate(old, new))
    assert [code for code, _ in found] == (["PA109"] if flagged else [])
    if flagged:
        assert "names a variable the workflow does not define" in found[0][1]


def test_a_variable_whose_value_names_no_variable_is_judged_as_written():
    assert problems(mutate('value="8080"', 'value="${NOBODY}"')) == [
        ("PA112", "variable PORT: the scheduler refuses its value: '${NOBODY}' is not a whole number "
                  "(model PA:INTEGER)"),
        ("PA112", "variable PORT: the scheduler refuses the job's value it inherits: '${NOBODY}' is not a whole "
                  "number (model PA:INTEGER)")]
    assert problems(mutate('value="8080"', 'value="${PA_JOB_ID}"')) == []  # the scheduler's own: not judged
    defined = mutate('value="8080"', 'value="${OTHER}"').replace(
        '<variable name="PORT"', '<variable name="OTHER" value="1"/><variable name="PORT"', 1)
    assert problems(defined) == []


@pytest.mark.parametrize("value, flagged", [("12:99", True), ("${A}:x", True), ("C:/java", False),
                                            ("/usr/lib/jvm", False), ("${JAVA_HOME}", False), ("a/b:c", False)])
def test_uri_attributes_need_a_scheme_before_a_colon(value, flagged):
    found = problems(mutate('<forkEnvironment workingDir="/tmp">', f'<forkEnvironment workingDir="/tmp" javaHome="{value}">'))
    assert [code for code, _ in found] == (["PA109"] if flagged else [])
