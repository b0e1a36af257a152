"""The bundler: module closure, the generated file's shape and hygiene, reproducible packages."""

import ast
import json
import re
import struct
import sys
import warnings
import zipfile
from pathlib import Path

import pytest

import psa_scripts
from psa_scripts import bundler
from psa_scripts.bundler import (
    BundleError,
    build_all,
    build_package,
    module_closure,
    read_zip,
    render_script,
    source_literal,
    with_bucket,
    write_zip,
)
from psa_scripts.scripts import SCRIPTS, ScriptInfo

BUNDLES = Path(__file__).resolve().parents[1] / "bundles"
WRITEBACK = {"result", "selected", "branch", "runs", "loop", "resultMetadata"}


# --- the closure ------------------------------------------------------------------------------------

def test_closure_of_a_script_follows_lazy_imports_and_skips_testing():
    closure = module_closure([SCRIPTS["Check_Instance_Status"].module])
    names = set(closure.modules)
    assert {"psa_scripts", "psa_scripts.scripts", "psa_scripts.scripts.check_instance_status",
            "psa_scripts.context", "psa_scripts.names", "psa_scripts.errors"} <= names
    # context imports these inside functions (its psa and engine properties); instances lazily
    assert {"psa_scripts.clients.http", "psa_scripts.clients.psa", "psa_scripts.engine",
            "psa_scripts.instances", "psa_scripts.containers.lite"} <= names
    assert not any(name.startswith("psa_scripts.testing") for name in names)
    assert {"requests", "tenacity"} <= set(closure.third_party)
    assert closure.missing == []


@pytest.mark.parametrize("script, psa, engine", [
    ("Fetch_Logs", False, False), ("Pre_Start_Service", False, False), ("Pre_Trigger_Action", False, False),
    ("Check_Not_Used_By_Other_Service", False, False), ("Post_Start_Service", True, False),
    ("Clean_Trigger_Action", True, False), ("Start_Docker_Service", False, True),
    ("Check_Instance_Status", True, True),
])
def test_a_script_carries_only_the_clients_it_asks_the_context_for(script, psa, engine):
    names = set(module_closure([SCRIPTS[script].module]).modules)
    assert ("psa_scripts.clients.psa" in names) is psa
    assert ("psa_scripts.engine" in names) is engine


def _tree(root, files):
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "psa_scripts"


def test_closure_rules_on_a_small_tree(tmp_path):
    source_root = _tree(tmp_path, {
        "psa_scripts/__init__.py": "",
        "psa_scripts/sub/__init__.py": "",
        "psa_scripts/sub/a.py": (
            "from typing import TYPE_CHECKING\n"
            "from .. import b, CONSTANT\n"
            "from ..c import thing\n"
            "if TYPE_CHECKING:\n    from ..typed_only import T\n"
            "def later():\n    from ..d import y\n    from ..gone import z\n    import requests\n"
            "from ..testing import helper\n"),
        "psa_scripts/b.py": "import psa_scripts.e\n",
        "psa_scripts/c.py": "", "psa_scripts/d.py": "", "psa_scripts/e.py": "",
        "psa_scripts/typed_only.py": "", "psa_scripts/testing/__init__.py": "",
    })
    closure = module_closure(["psa_scripts.sub.a"], source_root)
    assert list(closure.modules) == ["psa_scripts", "psa_scripts.b", "psa_scripts.c", "psa_scripts.d",
                                     "psa_scripts.e", "psa_scripts.sub", "psa_scripts.sub.a"]
    assert closure.modules["psa_scripts.sub"][0] is True and closure.modules["psa_scripts.c"][0] is False
    assert closure.third_party == ["requests"]
    assert closure.missing == ["psa_scripts.gone"]
    assert "gone" in closure.warnings("A")[0]


def test_closure_refuses_a_missing_module_imported_at_top_level(tmp_path):
    source_root = _tree(tmp_path, {"psa_scripts/__init__.py": "", "psa_scripts/a.py": "from .nowhere import x\n"})
    with pytest.raises(BundleError, match="psa_scripts.nowhere is imported but has no source file"):
        module_closure(["psa_scripts.a"], source_root)


# --- the generated file -------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "plain\n", "", "ends with a quote'", "'''triple''' and \"\"\"double\"\"\"", "back\\slash\\n and \\",
    "tab\tcr\r\nnul\x00 form\x0c", "caf\u00e9 \u2014 \u2192 \U0001f600", "\\'''\\", "line\\\nnext",
])
def test_source_literal_round_trips_in_ascii(text):
    literal = source_literal(text)
    assert literal.isascii()
    assert ast.literal_eval(literal) == text


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_generated_file_header_and_hygiene(name):
    info = SCRIPTS[name]
    text = render_script(info, version="9.8.7")
    assert text.isascii()
    header = text.split("\n\n\ndef _psa_install", 1)[0]
    assert header.startswith(f"# {name} -- ")
    assert f"kind {info.kind}, language cpython" in header and "psa-scripts 9.8.7" in header
    assert "reads" in header.lower() and "writes" in header.lower()
    assert all(line.startswith("#") or not line for line in header.splitlines())

    tree = ast.parse(text)
    future = [n for n in tree.body if isinstance(n, ast.ImportFrom) and n.module == "__future__"]
    assert future == []
    bound = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.Assign):
            bound |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {a.asname or a.name for a in node.names}
    assert bound and all(b.startswith("_psa_") for b in bound)
    deleted = {t.id for n in tree.body if isinstance(n, ast.Delete) for t in n.targets}
    assert deleted == bound
    assert text.rstrip().endswith("del _psa_install, _psa_uninstall, _psa_run")
    assert f"_psa_run({name!r}, globals())" in text


def test_embedded_modules_compile_alone_with_their_future_imports():
    closure = module_closure([SCRIPTS["Post_Start_Service"].module])
    with_future = [n for n, (_, src) in closure.modules.items() if "from __future__ import annotations" in src]
    assert with_future
    for name in with_future:
        compile(closure.modules[name][1], f"<embedded>/{name}.py", "exec", dont_inherit=True)


def test_in_process_run_uses_the_embedded_copy_and_puts_everything_back():
    import psa_scripts.context as real_context

    text = render_script(SCRIPTS["Fetch_Logs"])
    before_modules = {n: m for n, m in sys.modules.items() if n.startswith("psa_scripts")}
    before_path, before_hook = list(sys.meta_path), sys.excepthook
    namespace = {"variables": {"IS_FINISHED": "true"}, "__name__": "__main__"}
    exec(compile(text, "bundled_Fetch_Logs.py", "exec"), namespace)

    assert namespace["loop"] is False and "LAST_TIME_MARKER" in namespace["variables"]
    assert set(namespace) - {"__builtins__"} == {"variables", "__name__", "loop"}
    assert {n: m for n, m in sys.modules.items() if n.startswith("psa_scripts")} == before_modules
    assert sys.modules["psa_scripts.context"] is real_context
    assert sys.meta_path == before_path and sys.excepthook is before_hook


def test_in_process_failure_points_at_the_embedded_files():
    text = render_script(SCRIPTS["Pre_Trigger_Action"])
    saved = {n: m for n, m in sys.modules.items() if n.startswith("psa_scripts")}
    saved_path = list(sys.meta_path)
    try:
        with pytest.raises(Exception) as raised:
            exec(compile(text, "bundled.py", "exec"), {"variables": {}, "__name__": "__main__"})
        files = []
        tb = raised.value.__traceback__
        while tb is not None:
            files.append(tb.tb_frame.f_code.co_filename)
            tb = tb.tb_next
        assert "<embedded>/psa_scripts/scripts/pre_trigger_action.py" in files
        assert files[-1] == "<embedded>/psa_scripts/context.py"
        assert type(raised.value).__name__ == "InputError"
    finally:  # a failed run leaves its modules installed (the engine's process ends there)
        sys.meta_path[:] = saved_path
        for name in [n for n in sys.modules if n.startswith("psa_scripts")]:
            del sys.modules[name]
        sys.modules.update(saved)
        sys.excepthook = sys.__excepthook__ if sys.excepthook.__name__ == "excepthook" else sys.excepthook


# --- packages -------------------------------------------------------------------------------------------

def test_build_all_makes_one_zip_per_package(tmp_path):
    built = build_all(BUNDLES, tmp_path)
    assert sorted(p.name for p, _ in built) == [
        "coco-annotator.zip", "docker-service-template.zip", "service-automation-python.zip"]
    with zipfile.ZipFile(tmp_path / "service-automation-python.zip") as archive:
        metadata = json.loads(archive.read("service-automation-python/METADATA.json"))
        assert set(metadata) == {"metadata", "catalog"}
        assert metadata["metadata"]["version"] == psa_scripts.__version__
        assert set(metadata["metadata"]) == {"slug", "name", "short_description", "author", "version"}
        catalog = metadata["catalog"]
        assert catalog["bucket"] == "service-automation-python" and catalog["userGroup"] == "public-objects"
        objects = {o["name"]: o for o in catalog["objects"]}
        assert set(objects) == set(SCRIPTS)  # whatever SCRIPTS lists when the bundle is built
        for name, info in SCRIPTS.items():
            assert objects[name]["file"] == f"resources/catalog/{name}.py"
            assert objects[name]["metadata"]["kind"] == info.kind
            assert objects[name]["metadata"]["contentType"] == "text/x-python"
            assert objects[name]["metadata"]["commitMessage"] == "Published by psa-scripts (service-automation-python)"
            assert objects[name]["metadata"]["projectName"] == "Service Automation - Python"
            assert objects[name]["metadata"]["tags"] == "Service Automation,Python,Lifecycle"
            content = archive.read(f"service-automation-python/resources/catalog/{name}.py")
            assert content.startswith(f"# {name} -- ".encode())


def test_the_zip_is_laid_out_as_proactives_loader_reads_it(tmp_path):
    """coco-annotator.zip holds coco-annotator/METADATA.json, the objects under
    coco-annotator/resources/catalog/, and each "file" relative to coco-annotator/."""
    build_all(BUNDLES, tmp_path)
    with zipfile.ZipFile(tmp_path / "coco-annotator.zip") as archive:
        assert archive.namelist() == ["coco-annotator/METADATA.json",
                                      "coco-annotator/resources/catalog/COCO_Annotator.xml",
                                      "coco-annotator/resources/catalog/Finish_COCO_Annotator.xml"]
        objects = json.loads(archive.read("coco-annotator/METADATA.json"))["catalog"]["objects"]
        assert [(o["name"], o["file"]) for o in objects] == [
            ("COCO_Annotator", "resources/catalog/COCO_Annotator.xml"),
            ("Finish_COCO_Annotator", "resources/catalog/Finish_COCO_Annotator.xml")]
        assert {o["metadata"]["kind"] for o in objects} == {"Workflow/psa"}
        for o in objects:
            assert all(isinstance(o["metadata"][key], str) for key in ("projectName", "tags", "kind", "contentType"))


def test_the_top_folder_follows_the_zip_name(tmp_path):
    package = build_package(BUNDLES / "coco-annotator")
    with zipfile.ZipFile(write_zip(package, tmp_path / "renamed.v2.zip")) as archive:
        assert {name.split("/")[0] for name in archive.namelist()} == {"renamed.v2"}
    with pytest.raises(BundleError, match=r"must be named <name>\.zip"):
        write_zip(package, tmp_path / "coco.tar")


def test_builds_are_byte_identical(tmp_path):
    first = dict((p.name, p.read_bytes()) for p, _ in build_all(BUNDLES, tmp_path / "one"))
    second = dict((p.name, p.read_bytes()) for p, _ in build_all(BUNDLES, tmp_path / "two"))
    assert first == second
    with zipfile.ZipFile(tmp_path / "one" / "service-automation-python.zip") as archive:
        entries = archive.infolist()
        assert [e.filename for e in entries] == sorted(e.filename for e in entries)
        assert {e.date_time for e in entries} == {(1980, 1, 1, 0, 0, 0)}
        assert {e.external_attr >> 16 for e in entries} == {0o100644}
        assert {e.create_system for e in entries} == {3}


def test_zip_reads_back_as_the_same_package(tmp_path):
    package = build_package(BUNDLES / "coco-annotator")
    assert read_zip(write_zip(package, tmp_path / "p.zip")) == package


def test_bucket_option_moves_packages_and_workflow_urls(tmp_path):
    built = dict((p.name, pkg) for p, pkg in build_all(BUNDLES, tmp_path, bucket="my-scripts"))
    coco = built["coco-annotator.zip"]
    assert coco.bucket == "my-scripts"
    text = coco.objects[0].content.decode()
    assert "/buckets/my-scripts/resources/Post_Start_Service/raw" in text
    assert "/buckets/service-automation-python/" not in text
    scripts = built["service-automation-python.zip"]
    default = build_package(BUNDLES / "service-automation-python")
    assert [o.content for o in scripts.objects] == [o.content for o in default.objects]


def test_with_bucket_retargets_only_workflows():
    package = build_package(BUNDLES / "coco-annotator")
    moved = with_bucket(package, "elsewhere")
    assert moved.bucket == "elsewhere"
    assert all(b"/buckets/elsewhere/resources/" in o.content for o in moved.objects)


def test_a_new_script_joins_the_bundle(tmp_path):
    scripts = dict(SCRIPTS, Extra_Script=ScriptInfo("Extra_Script", "Script/task", SCRIPTS["Fetch_Logs"].module))
    package = build_package(BUNDLES / "service-automation-python", scripts=scripts)
    assert package.objects[-1].name == "Extra_Script"
    assert package.objects[-1].file == "resources/catalog/Extra_Script.py"
    assert package.objects[-1].filename == "Extra_Script.py"


@pytest.mark.parametrize("definition, message", [
    (None, "package.json is missing"),
    ("{not json", "is not valid JSON"),
    ('{"name": "x", "bucket": "b-1"}', "'slug' is required"),
    ('{"slug": "x", "name": "x", "bucket": "b-1"}', "defines no object"),
])
def test_bad_package_definitions(tmp_path, definition, message):
    if definition is not None:
        (tmp_path / "package.json").write_text(definition)
    with pytest.raises(BundleError, match=message):
        build_package(tmp_path)


def test_no_package_at_all(tmp_path):
    with pytest.raises(BundleError, match="holds no package"):
        build_all(tmp_path, tmp_path / "dist")
    with pytest.raises(BundleError, match="is not a directory"):
        build_all(tmp_path / "nope", tmp_path / "dist")


def test_a_corrupt_zip_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.zip"
    path.write_bytes(b"not a zip")
    with pytest.raises(BundleError, match="is not a catalog package"):
        read_zip(path)


# --- what read_zip refuses: zips ProActive's loader cannot install, and oversized ones ------------------

def make_zip(path, entries):
    """A zip holding ``entries`` (name, bytes) as given: duplicates and odd names included."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries:
                archive.writestr(name, data)
    return path


def coco_entries(tmp_path):
    """The entries of a good coco-annotator.zip, by name."""
    built = write_zip(build_package(BUNDLES / "coco-annotator"), tmp_path / "good" / "coco-annotator.zip")
    with zipfile.ZipFile(built) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_zip_with_metadata_at_the_root_is_refused_as_the_loader_would(tmp_path):
    """The layout every `psa bundle` zip had: ProActive's loader fails on it."""
    entries = coco_entries(tmp_path)
    flat = [(name.split("/", 1)[1], data) for name, data in entries.items()]
    metadata = json.loads(entries["coco-annotator/METADATA.json"])
    for o in metadata["catalog"]["objects"]:
        o["file"] = o["file"].rsplit("/", 1)[1]
    flat[0] = ("METADATA.json", json.dumps(metadata).encode())
    with pytest.raises(BundleError) as raised:
        read_zip(make_zip(tmp_path / "coco-annotator.zip", flat))
    assert "METADATA.json is at the top of the zip" in str(raised.value)
    assert 'it reads coco-annotator/METADATA.json and fails with "METADATA.json (No such file or directory)"' \
        in str(raised.value)


def test_a_renamed_zip_says_which_name_the_loader_needs(tmp_path):
    entries = coco_entries(tmp_path)
    renamed = make_zip(tmp_path / "coco-annotator (1).zip", entries.items())
    with pytest.raises(BundleError, match=r"entry 'coco-annotator/METADATA.json' is outside coco-annotator \(1\)/.*"
                                          r"rename the file to coco-annotator\.zip"):
        read_zip(renamed)


@pytest.mark.parametrize("change, message", [
    (lambda e: list(e.items()) + [("coco-annotator/resources/catalog/COCO_Annotator.xml", b"x")],
     "duplicate entries coco-annotator/resources/catalog/COCO_Annotator.xml"),
    (lambda e: list(e.items()) + [("coco-annotator/../evil.py", b"x")], "entry 'coco-annotator/../evil.py' is outside"),
    (lambda e: [(n, d) for n, d in e.items() if not n.endswith("/Finish_COCO_Annotator.xml")],
     "object 'Finish_COCO_Annotator': its file coco-annotator/resources/catalog/Finish_COCO_Annotator.xml is not in"),
])
def test_zips_the_loader_cannot_unpack_or_read_are_refused(tmp_path, change, message):
    with pytest.raises(BundleError, match=re.escape(message)):
        read_zip(make_zip(tmp_path / "coco-annotator.zip", change(coco_entries(tmp_path))))


@pytest.mark.parametrize("edit, message", [
    (lambda m: m["catalog"]["objects"][0]["metadata"].update(kind="Workflow psa"),
     "kind 'Workflow psa' must match"),
    (lambda m: m["catalog"]["objects"][0]["metadata"].update(contentType="application/xml; charset=utf-8"),
     "contentType 'application/xml; charset=utf-8' must match"),
    (lambda m: m["catalog"]["objects"][0]["metadata"].update(projectName=["a"]), "projectName must be a string"),
    (lambda m: m["catalog"]["objects"][0]["metadata"].update(tags=["a", "b"]), "tags must be a string"),
    (lambda m: m["catalog"]["objects"][1].update(name="COCO_Annotator"), "2 objects are named 'COCO_Annotator'"),
    (lambda m: m["catalog"]["objects"][0].update(name="COCO Annotator"), "the name must match"),
    (lambda m: m["catalog"].update(bucket=["a-bucket", "b-bucket"]), "'bucket' must be one bucket name"),
])
def test_metadata_the_loader_mishandles_is_refused(tmp_path, edit, message):
    entries = coco_entries(tmp_path)
    metadata = json.loads(entries["coco-annotator/METADATA.json"])
    edit(metadata)
    entries["coco-annotator/METADATA.json"] = json.dumps(metadata).encode()
    with pytest.raises(BundleError, match=re.escape(message)):
        read_zip(make_zip(tmp_path / "coco-annotator.zip", entries.items()))


@pytest.mark.parametrize("definition, message", [
    ({"tags": ["Docker", "Python"]}, None),
    ({"tags": "Docker,Python"}, "'tags' must be a list"),
    ({"tags": [1, 2]}, "'tags' must be a list of strings (non-empty, without ','"),
    ({"tags": ["a,b"]}, "'tags' must be a list of strings"),
    ({"projectName": ["P"]}, "'projectName' must be a string"),
    ({"workflowKind": "Workflow psa"}, "kind 'Workflow psa' must match"),
])
def test_package_definitions_the_loader_cannot_take_are_refused_at_build(tmp_path, definition, message):
    base = {"slug": "s", "name": "S", "bucket": "s-bucket"}
    (tmp_path / "package.json").write_text(json.dumps(dict(base, **definition)))
    (tmp_path / "Flow.xml").write_text("<job/>")
    if message is None:
        assert build_package(tmp_path).objects[0].tags == "Docker,Python"
        return
    with pytest.raises(BundleError, match=re.escape(message)):
        build_package(tmp_path)


# ProActive's package loader puts kind and contentType into a URL unencoded: a space breaks it, '+'
# reads back as a space, '&' starts another parameter, '%' starts an escape.
UNSAFE = ["+", "&", "%", " "]


@pytest.mark.parametrize("character", UNSAFE)
def test_a_workflow_kind_with_a_character_a_url_changes_is_refused_at_build(tmp_path, character):
    kind = f"Workflow/psa{character}v2"
    (tmp_path / "package.json").write_text(json.dumps({"slug": "s", "name": "S", "bucket": "s-bucket",
                                                       "workflowKind": kind}))
    (tmp_path / "Flow.xml").write_text("<job/>")
    with pytest.raises(BundleError, match=re.escape(f"kind {kind!r} must match")):
        build_package(tmp_path)


def test_a_url_safe_workflow_kind_is_kept(tmp_path):
    (tmp_path / "package.json").write_text(json.dumps({"slug": "s", "name": "S", "bucket": "s-bucket",
                                                       "workflowKind": "Workflow/psa-v2.1_x"}))
    (tmp_path / "Flow.xml").write_text("<job/>")
    assert build_package(tmp_path).objects[0].kind == "Workflow/psa-v2.1_x"


@pytest.mark.parametrize("character", UNSAFE)
@pytest.mark.parametrize("field", ["kind", "contentType"])
def test_metadata_kinds_and_content_types_with_a_character_a_url_changes_are_refused(tmp_path, field, character):
    entries = coco_entries(tmp_path)
    metadata = json.loads(entries["coco-annotator/METADATA.json"])
    value = metadata["catalog"]["objects"][0]["metadata"][field] + character + "x"
    metadata["catalog"]["objects"][0]["metadata"][field] = value
    entries["coco-annotator/METADATA.json"] = json.dumps(metadata).encode()
    with pytest.raises(BundleError, match=re.escape(f"{field} {value!r} must match")):
        read_zip(make_zip(tmp_path / "coco-annotator.zip", entries.items()))


def test_bundle_checks_every_package_before_writing_any(tmp_path):
    bundles = tmp_path / "bundles"
    for slug, kind in (("a-first", "Workflow/psa"), ("b-second", "Workflow psa")):
        (bundles / slug).mkdir(parents=True)
        (bundles / slug / "package.json").write_text(json.dumps(
            {"slug": slug, "name": slug, "bucket": "a-bucket", "workflowKind": kind}))
        (bundles / slug / "Flow.xml").write_text("<job/>")
    with pytest.raises(BundleError, match="b-second"):
        build_all(bundles, tmp_path / "dist")
    assert not (tmp_path / "dist").exists()


def test_an_entry_declaring_more_than_the_limit_is_refused_before_reading(tmp_path):
    entries = coco_entries(tmp_path)
    entries["coco-annotator/resources/catalog/COCO_Annotator.xml"] += b" " * 5000
    path = make_zip(tmp_path / "coco-annotator.zip", entries.items())
    with pytest.raises(BundleError) as raised:
        read_zip(path, max_entry_bytes=4096)
    size = len(entries["coco-annotator/resources/catalog/COCO_Annotator.xml"])
    assert str(raised.value) == (f"{path}: entry coco-annotator/resources/catalog/COCO_Annotator.xml declares {size} "
                                 "bytes, more than the 4096 bytes an entry may hold")
    with pytest.raises(BundleError, match=r"its entries declare \d+ bytes in all, more than the 8000 bytes"):
        read_zip(path, max_total_bytes=8000)


def test_a_zip_bomb_is_refused_with_the_default_limits(tmp_path):
    entries = coco_entries(tmp_path)
    entries["coco-annotator/resources/catalog/Bomb.xml"] = bytes(bundler.MAX_ENTRY_BYTES + 1)
    path = make_zip(tmp_path / "coco-annotator.zip", entries.items())
    assert path.stat().st_size < 100_000
    with pytest.raises(BundleError, match=f"entry coco-annotator/resources/catalog/Bomb.xml declares "
                                          f"{bundler.MAX_ENTRY_BYTES + 1} bytes, more than the "
                                          f"{bundler.MAX_ENTRY_BYTES} bytes an entry may hold"):
        read_zip(path)


def test_an_entry_that_lies_about_its_size_is_refused(tmp_path):
    """A declared size under the limit and more data behind it: never read past the declaration."""
    name = "coco-annotator/resources/catalog/COCO_Annotator.xml"
    entries = coco_entries(tmp_path)
    entries[name] = b"<job/>" + bytes(200_000)
    path = make_zip(tmp_path / "coco-annotator.zip", entries.items())
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info, central = archive.getinfo(name), archive.start_dir
    struct.pack_into("<I", data, info.header_offset + 22, 100)  # the local header's size
    while data[central + 46:central + 46 + len(name)] != name.encode():
        central = data.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, central + 24, 100)  # the central directory's size
    path.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=f"entry {re.escape(name)} (is corrupt|holds)"):
        read_zip(path)


def test_ascii_text_spells_out_what_it_cannot_keep():
    assert bundler.ascii_text("a \u2014 b \u2192 c, caf\u00e9") == "a -- b -> c, cafe"


def test_modules_only_some_paths_import_travel_packed():
    """A bundled file carries as text only what its script always loads."""
    import base64
    import re
    import zlib

    closure = module_closure([SCRIPTS["Post_Trigger_Action"].module])
    assert "psa_scripts.clients.http" not in closure.eager  # imported when ctx.psa is first used
    assert "psa_scripts.clients.http" in closure.modules
    text = render_script(SCRIPTS["Post_Trigger_Action"], closure=closure)
    packed = re.search(r"'psa_scripts\.clients\.http': \(False, '[0-9a-f]+', None, \(\n((?:        '[^']*'\n?)+)\)", text)
    assert packed, "clients.http is not packed"
    blob = "".join(re.findall(r"'([^']*)'", packed.group(1)))
    assert zlib.decompress(base64.b64decode(blob)).decode() == closure.modules["psa_scripts.clients.http"][1]
    assert "psa_scripts.context" in closure.eager
