"""The XML reader under workflows no public one looks like: large, hostile, deep, not UTF-8.

One reader serves validate, graph, run, bundle and publish: a file it refuses is one PA100 line
(``file:line:col``), never a traceback; a file it accepts is read in its declared encoding by
every command. Timing lives in ``make bench``; here linearity is checked structurally (each byte
is decoded once to place the elements)."""

import shutil
from pathlib import Path

import pytest

from psa_scripts import cli
from psa_scripts.bundler import read_zip
from psa_scripts.testing.emulator import ProActiveEmulator
from psa_scripts.workflow import model
from psa_scripts.workflow.model import MAX_DEPTH, WorkflowError, parse_workflow, parse_workflow_bytes, retarget

BUNDLES = Path(__file__).resolve().parent.parent / "bundles"
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<job xmlns="urn:proactive:jobdescriptor:3.14" name="Big">'


def _tasks(count: int) -> str:
    task = ('<task name="T{0}"><description>tâche n°{0}</description><scriptExecutable><script>'
            '<code language="cpython">print("é")</code></script></scriptExecutable></task>\n')
    return HEAD + "<taskFlow>" + "".join(task.format(n) for n in range(count)) + "</taskFlow></job>"


def test_each_byte_is_decoded_once_to_place_the_elements(monkeypatch):
    builders = []
    original = model._Builder.__init__

    def recording(self, text):
        original(self, text)
        builders.append(self)

    monkeypatch.setattr(model._Builder, "__init__", recording)
    for count in (10, 1000):
        data = _tasks(count).encode("utf-8")
        workflow = parse_workflow_bytes(data)
        assert len(workflow.job.tasks) == count
        # the quadratic reader decoded the whole prefix at each tag: about count² bytes
        assert builders[-1].position.decoded_bytes <= len(data)
    last = workflow.job.tasks[-1]
    assert workflow.text[last.element.offset:].startswith('<task name="T999">')
    assert (last.line, last.column) == (1001, 1)


def test_positions_stay_right_after_non_ascii_text_on_the_same_line():
    workflow = parse_workflow_bytes(('<job name="ééé"><taskFlow><task name="ü"/></taskFlow></job>').encode())
    task = workflow.root.find("taskFlow/task")
    assert (task.line, task.column, task.offset) == (1, 27, 26)
    assert workflow.text[task.attribute("name").value_offset] == "ü"


@pytest.mark.parametrize("document, where, reason", [
    ('<?xml version="1.0"?>\n<!DOCTYPE job [<!ENTITY t "<task name=\'Hidden\'/>">]>\n'
     '<job name="J"><taskFlow>&t;</taskFlow></job>', (2, 1), "a DOCTYPE declaration"),
    ('<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><job name="&lol2;"/>',
     (1, 1), "a DOCTYPE declaration"),
    ('<!DOCTYPE job SYSTEM "file:///etc/passwd"><job name="J"/>', (1, 1), "a DOCTYPE declaration"),
])
def test_a_doctype_is_refused_and_no_entity_is_expanded(document, where, reason):
    with pytest.raises(WorkflowError) as raised:
        parse_workflow_bytes(document.encode(), "wf.xml")
    assert (raised.value.line, raised.value.column) == where
    assert str(raised.value).startswith(f"wf.xml:{where[0]}:{where[1]}: refused: {reason}")


def test_nesting_deeper_than_the_bound_is_refused_in_one_line():
    deep = "<job>" + "<metadata>" * 1200 + "</metadata>" * 1200 + "</job>"
    with pytest.raises(WorkflowError) as raised:
        parse_workflow_bytes(deep.encode(), "deep.xml")
    assert str(raised.value) == (f"deep.xml:1:{5 + 10 * (MAX_DEPTH - 1) + 1}: refused: elements nested more than "
                                 f"{MAX_DEPTH} deep (at <metadata>)")
    shallow = "<job>" + "<metadata>" * (MAX_DEPTH - 1) + "</metadata>" * (MAX_DEPTH - 1) + "</job>"
    assert parse_workflow_bytes(shallow.encode()).root.tag == "job"


def test_validate_gives_one_pa100_for_a_doctype(tmp_path, capsys):
    path = tmp_path / "Entity.xml"
    path.write_text('<!DOCTYPE job [<!ENTITY x "y">]>\n<job xmlns="urn:proactive:jobdescriptor:3.14" name="&x;">'
                    '<taskFlow/></job>')
    assert cli.main(["validate", str(path)]) == 1
    captured = capsys.readouterr()
    assert [line for line in captured.out.splitlines() if "PA1" in line] == [
        f"{path}:1:1: PA100 error: refused: a DOCTYPE declaration: ProActive workflows have none "
        "(entities it could declare are not expanded)"]
    assert "Traceback" not in captured.err


def test_retarget_of_bytes_keeps_the_declared_encoding():
    text = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n<job name="Café"><taskFlow><task name="T">'
            '<scriptExecutable><script><file url="${PA_CATALOG_REST_URL}/buckets/old/resources/S/raw"/>'
            '</script></scriptExecutable></task></taskFlow></job>')
    moved = retarget(text.encode("latin-1"), ["old"], "new")
    assert moved == text.replace("/buckets/old/", "/buckets/new/").encode("latin-1")
    assert retarget(b"\xef\xbb\xbf" + text.encode("latin-1").replace(b"ISO-8859-1", b"UTF-8")
                    .replace("é".encode("latin-1"), "é".encode()), ["old"], "new").startswith(b"\xef\xbb\xbf<?xml")


# --- every command reads a workflow in its declared encoding ------------------------------------------
@pytest.fixture(scope="module")
def latin1_bundles(tmp_path_factory):
    """A copy of the bundled packages whose workflows are written in ISO-8859-1, with a 'é' each."""
    root = tmp_path_factory.mktemp("latin1") / "bundles"
    shutil.copytree(BUNDLES, root)
    for path in root.glob("*/*.xml"):
        text = path.read_text(encoding="utf-8")
        assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
        text = text.replace('encoding="UTF-8"?>', 'encoding="ISO-8859-1"?>\n<!-- Café crème -->', 1)
        path.write_bytes(text.encode("latin-1"))
    return root


def test_validate_reads_a_latin1_workflow(latin1_bundles, capsys):
    assert cli.main(["validate", str(latin1_bundles)]) == 0, capsys.readouterr().out


def test_bundle_and_publish_with_a_bucket_keep_a_latin1_workflow(latin1_bundles, tmp_path, capsys):
    out = tmp_path / "dist"
    assert cli.main(["bundle", "--bundles", str(latin1_bundles), "--out", str(out), "--bucket", "team-a"]) == 0
    [coco] = [o for o in read_zip(out / "coco-annotator.zip").objects if o.name == "COCO_Annotator"]
    assert "Café crème".encode("latin-1") in coco.content and b"/buckets/team-a/resources/" in coco.content
    with ProActiveEmulator() as emulator:
        code = cli.main(["publish", str(out), "--url", emulator.catalog_url, "--session-id", emulator.new_session(),
                         "--bucket", "team-b"])
        assert code == 0, capsys.readouterr()
        content = emulator.catalog_revisions("team-b", "COCO_Annotator")[-1]["content"]
    assert content.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>')
    assert "Café crème".encode("latin-1") in content and b"/buckets/team-b/resources/Post_Start_Service/raw" in content


def test_graph_reads_a_latin1_workflow(latin1_bundles, capsys):
    assert cli.main(["graph", str(latin1_bundles / "coco-annotator")]) == 0
    assert "VOID" in capsys.readouterr().out


def test_run_reads_a_latin1_workflow(latin1_bundles, capsys):
    package = latin1_bundles / "docker-service-template"
    code = cli.main(["run", str(package / "Docker_Service_Template.xml"), "--engine", "memory", "--ticks", "1",
                     "--tick-seconds", "0", "--then", str(package / "Finish_Docker_Service_Template.xml"),
                     "--var", "INSTANCE_NAME=web-1"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert printed.endswith("psa run: instance 1 ended FINISHED; nothing left behind\n")
    assert parse_workflow(package / "Docker_Service_Template.xml").text.count("Café crème") == 1


@pytest.mark.parametrize("bom, codec", [(b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"),
                                        (b"\xfe\xff", "utf-16-be")])
def test_a_byte_order_mark_names_the_encoding_and_is_written_back_as_it_was(bom, codec):
    from psa_scripts.workflow.model import decode_document

    data = bom + '<?xml version="1.0"?><job name="é"/>'.encode(codec)
    decoded = decode_document(data, "w.xml")
    assert (decoded.text, decoded.encoding, decoded.bom) == ('<?xml version="1.0"?><job name="é"/>', codec, bom)
    assert decoded.encode(decoded.text) == data


def test_a_file_without_a_mark_or_a_declaration_is_utf_8():
    from psa_scripts.workflow.model import Decoded, decode_document

    assert decode_document('<job name="é"/>'.encode(), "w.xml") == Decoded('<job name="é"/>', "utf-8", b"")


@pytest.mark.parametrize("data, said", [
    (b'<?xml version="1.0" encoding="no-such"?><job/>',
     "cannot decode the file as no-such: unknown encoding: no-such"),
    (b'<?xml version="1.0" encoding="UTF-8"?><job name="caf\xe9"/>',
     "cannot decode the file as UTF-8: 'utf-8' codec can't decode byte 0xe9 in position 52: invalid continuation byte"),
])
def test_a_file_that_cannot_be_decoded_as_it_says_is_one_error_at_its_start(data, said):
    from psa_scripts.workflow.model import decode_document

    with pytest.raises(WorkflowError) as raised:
        decode_document(data, "w.xml")
    assert (str(raised.value), raised.value.line, raised.value.column) == (f"w.xml:1:1: {said}", 1, 1)
