"""The workflow model: one parser for validate, bundle, run and graph, with positions."""

from pathlib import Path

import pytest

from psa_scripts.workflow import schema
from psa_scripts.workflow.model import (
    SLOTS, WorkflowError, catalog_ref, catalog_url, parse_workflow, parse_workflow_bytes, retarget,
)

BUNDLES = Path(__file__).resolve().parent.parent / "bundles"
COCO = BUNDLES / "coco-annotator" / "COCO_Annotator.xml"
FINISH = BUNDLES / "coco-annotator" / "Finish_COCO_Annotator.xml"

EVERYTHING = """\
<?xml version="1.0" encoding="UTF-8"?>
<job xmlns="urn:proactive:jobdescriptor:3.10" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
     xsi:schemaLocation="urn:proactive:jobdescriptor:3.10 x.xsd" name="All" priority="normal">
  <variables>
    <variable name="A" value="1" model="PA:INTEGER" description="an int"/>
  </variables>
  <description>  A job with every slot.  </description>
  <genericInformation><info name="pca.states" value="(VOID,RUNNING)"/></genericInformation>
  <taskFlow>
    <task name="T1" fork="true" walltime="10:00">
      <variables><variable name="TV" value="x" inherited="false" model="PA:Boolean"/></variables>
      <genericInformation><info name="NODE_ACCESS_TOKEN" value="PSA_$A"/></genericInformation>
      <selection>
        <script type="static"><code language="cpython">selected = True</code></script>
        <script type="dynamic"><file path="sel.py" language="cpython"/></script>
      </selection>
      <pre><script><file url="${PA_CATALOG_REST_URL}/buckets/b-1/resources/Pre/raw" language="cpython"><arguments><argument value="P1"/><argument value="$A"/></arguments></file></script></pre>
      <scriptExecutable>
        <script>
          <code language="cpython">
            <![CDATA[
print("hello")
result = 1
]]>
          </code>
          <arguments><argument value="E1"/></arguments>
        </script>
      </scriptExecutable>
      <controlFlow block="start">
        <if target="T2" else="T3" continuation="T4"><script><code language="cpython">branch = "if"</code></script></if>
      </controlFlow>
      <post><script><code language="groovy">println 1</code></script></post>
      <cleaning><script><file url="http://h/catalog/buckets/b-2/resources/Clean/raw"/></script></cleaning>
    </task>
    <task name="T2"><depends><task ref="T1"/></depends>
      <nativeExecutable><staticCommand value="ls"/></nativeExecutable>
      <controlFlow><replicate><script><code language="cpython">runs = 2</code></script></replicate></controlFlow>
    </task>
    <task name="T3"><depends><task ref="T1"/><task ref="T2"/></depends>
      <scriptExecutable><script><code language="cpython">pass</code></script></scriptExecutable>
      <controlFlow><loop target="T3"><script><code language="cpython">loop = False</code></script></loop></controlFlow>
    </task>
  </taskFlow>
</job>
"""


def _at(text, line, column):
    return text.splitlines()[line - 1][column - 1:]


def test_the_coco_deployment_reads_as_the_scheduler_sees_it():
    workflow = parse_workflow(COCO)
    job = workflow.job
    assert workflow.is_job and workflow.schema_version == "3.14" and job.name == "COCO_Annotator"
    assert job.gi["pca.states"] == "(VOID,RUNNING)" and job.info("pca.service.id").value == "COCO_Annotator"
    instance_name = job.variable("INSTANCE_NAME")
    assert (instance_name.value, instance_name.model) == ("coco-annotator-$PA_JOB_ID", "PA:NOT_EMPTY_STRING")
    assert instance_name.description.startswith("Name of the service instance")
    assert job.description.startswith("Deploys COCO Annotator")
    assert [t.name for t in job.tasks] == ["Start_COCO_Annotator", "Loop_Over_Instance_Status"]
    start, loop = job.tasks
    assert start.fork == "true" and loop.depends == ("Start_COCO_Annotator",)
    assert [(s.slot, s.label) for s in start.scripts()] == [
        ("selection", "Check_Not_Used_By_Other_Service"), ("pre", "Pre_Start_Service"),
        ("executable", "Start_Docker_Service"), ("post", "Post_Start_Service"), ("cleaning", "Clean_Start_Service")]
    assert start.selection[0].script_type == "dynamic" and start.post.language == "cpython"
    assert start.post.catalog.bucket == "service-automation-python"
    assert loop.gi == {"NODE_ACCESS_TOKEN": "PSA_$INSTANCE_NAME"}
    assert loop.flow.loop.target == "Loop_Over_Instance_Status" and loop.flow.script.label == "Fetch_Logs"
    assert [(s.slot, s.label) for s in loop.scripts()] == [("executable", "Check_Instance_Status"),
                                                          ("flow", "Fetch_Logs")]
    assert [p.message for p in schema.problems(workflow) if p.code not in ("PA107", "PA112", "PA115")] == []  # a model fixture, not a valid flow


def test_script_arguments_of_an_action():
    job = parse_workflow(FINISH).job
    assert job.task("Pre_Trigger_Action").executable.arguments == ("FINISH_LAUNCHED",)
    finish = job.task("Finish_COCO_Annotator")
    assert finish.post.arguments == ("FINISHED",) and finish.post.label == "Post_Trigger_Action"
    argument = finish.post.argument_elements[0]
    assert _at(parse_workflow(FINISH).text, argument.line, argument.column).startswith('<argument value="FINISHED"')


def test_every_slot_and_control_flow():
    workflow = parse_workflow_bytes(EVERYTHING.encode(), "all.xml")
    job = workflow.job
    assert workflow.schema_version == "3.10" and job.description == "A job with every slot."
    t1, t2, t3 = job.tasks
    assert [s.slot for s in t1.scripts()] == ["selection", "selection", "pre", "executable", "post", "flow",
                                              "cleaning"]
    assert list(SLOTS) == ["selection", "pre", "executable", "post", "flow", "cleaning"]
    assert (t1.selection[0].code, t1.selection[0].script_type) == ("selected = True", "static")
    assert (t1.selection[1].path, t1.selection[1].url) == ("sel.py", None)
    assert t1.pre.arguments == ("P1", "$A") and t1.pre.catalog == catalog_ref(catalog_url("b-1", "Pre"))
    assert t1.executable.arguments == ("E1",) and t1.executable_kind == "scriptExecutable"
    assert t1.executable.code.strip().splitlines() == ['print("hello")', "result = 1"]
    code = t1.executable.code  # code_line: the line of its first character (a traceback maps back)
    assert workflow.text.splitlines()[t1.executable.code_line - 1 + code[:code.index("print")].count("\n")] \
        == 'print("hello")'
    assert t1.post.language == "groovy" and t1.cleaning.language is None
    assert t1.cleaning.catalog.bucket == "b-2" and t1.cleaning.label == "Clean"
    assert t1.flow.block == "start" and t1.flow.if_.target == "T2"
    assert (t1.flow.if_.else_, t1.flow.if_.continuation, t1.flow.script.code) == ("T3", "T4", 'branch = "if"')
    assert t1.variable("TV").inherited == "false" and t1.info("NODE_ACCESS_TOKEN").value == "PSA_$A"
    assert t2.executable is None and t2.executable_kind == "nativeExecutable"
    assert t2.flow.replicate.script.code == "runs = 2"
    assert t3.depends == ("T1", "T2") and t3.flow.loop.target == "T3"
    assert [p.message for p in schema.problems(workflow) if p.code not in ("PA107", "PA112", "PA115")] == []  # a model fixture, not a valid flow


def test_every_element_and_attribute_has_its_position():
    workflow = parse_workflow_bytes(EVERYTHING.encode(), "all.xml")
    count = 0
    for element in workflow.root.iter():
        assert _at(workflow.text, element.line, element.column).startswith("<" + element.tag)
        assert workflow.text[element.offset:].startswith("<" + element.tag)
        for attribute in element.attributes:
            prefix = "xsi:" if attribute.namespace else ""
            assert _at(workflow.text, attribute.line, attribute.column).startswith(f"{prefix}{attribute.name}=")
            assert workflow.text[attribute.value_offset:attribute.value_end] == attribute.value
            count += 1
    assert count > 40
    assert workflow.job.task("T3").flow.loop.element.attribute("target").line == 41


def test_positions_count_characters_not_bytes():
    text = '<job name="Ünïcödé" xmlns="urn:proactive:jobdescriptor:3.14"><taskFlow/>\n  <variables><variable name="é" value="ü"/></variables></job>'
    workflow = parse_workflow_bytes(text.encode("utf-8"))
    variable = workflow.job.variables[0]
    assert (variable.line, variable.column) == (2, 14)
    value = variable.element.attribute("value")
    assert value.column == 33 and workflow.text[value.value_offset:value.value_end] == "ü"


def test_declared_encoding_is_honoured():
    text = '<?xml version="1.0" encoding="ISO-8859-1"?>\n<job name="caf\xe9"><taskFlow/></job>'
    assert parse_workflow_bytes(text.encode("latin-1")).job.name == "caf\xe9"


def test_namespaces_of_every_3x_and_none():
    for namespace in ("urn:proactive:jobdescriptor:3.0", "urn:proactive:jobdescriptor:3.13", ""):
        xmlns = f' xmlns="{namespace}"' if namespace else ""
        workflow = parse_workflow_bytes(f'<job{xmlns} name="J"><taskFlow><task name="T"/></taskFlow></job>'.encode())
        assert workflow.job.tasks[0].name == "T" and workflow.namespace == namespace
    assert parse_workflow_bytes(b'<job name="J"/>').schema_version is None


def test_unknown_elements_and_attributes_are_found_where_they_stand():
    workflow = parse_workflow_bytes(b"""<job name="J" colour="red">
  <taskFlow><task name="T" fork="true" forks="2"><preScript/><scriptExecutable><script>
    <code language="cpython">pass</code></script></scriptExecutable>
    <metadata><anything>goes here</anything></metadata></task></taskFlow>
  <genericInformation><info name="a" value="b" extra="c"/></genericInformation>
</job>""")
    found = [(p.code, p.where.line, p.where.column) for p in schema.problems(workflow) if p.code in ("PA103", "PA104")]
    assert found == [("PA104", 1, 15), ("PA104", 2, 40), ("PA103", 2, 50), ("PA104", 5, 48)]


def test_malformed_xml_says_file_line_and_column(tmp_path):
    path = tmp_path / "bad.xml"
    path.write_text('<job name="J">\n  <taskFlow>\n  </job>\n')
    with pytest.raises(WorkflowError) as raised:
        parse_workflow(path)
    assert str(raised.value).startswith(f"{path}:3:5: not well-formed XML: mismatched tag")
    assert (raised.value.line, raised.value.column) == (3, 5)
    with pytest.raises(WorkflowError, match="cannot read the file"):
        parse_workflow(tmp_path / "missing.xml")


def test_a_document_that_is_not_a_job_has_no_typed_view():
    workflow = parse_workflow_bytes(b"<project><x/></project>")
    assert not workflow.is_job and workflow.job is None and workflow.root.find("x").line == 1


def test_catalog_urls():
    assert catalog_ref("${PA_CATALOG_REST_URL}/buckets/b-1/resources/Name/raw") == catalog_ref(catalog_url("b-1", "Name"))
    assert catalog_ref("https://h:8443/catalog/buckets/b/resources/N/raw/").name == "N"
    assert catalog_ref("https://h/scripts/N.py") is None and catalog_ref(None) is None


def test_retarget_moves_script_urls_and_nothing_else():
    text = EVERYTHING.replace("A job with every slot.", "See /buckets/b-1/resources/Pre/raw for the pre script.")
    moved = retarget(text, ["b-1", "b-2"], "mine")
    assert moved.count("/buckets/mine/resources/") == 2
    assert "See /buckets/b-1/resources/Pre/raw" in moved  # a description is not a script URL
    assert moved.replace("/buckets/mine/resources/Pre/", "/buckets/b-1/resources/Pre/").replace(
        "/buckets/mine/resources/Clean/", "/buckets/b-2/resources/Clean/") == text
    assert retarget(text, ["b-1"], "b-1") == text
