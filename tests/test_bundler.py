"""The bundler: module closure, the generated file's shape and hygiene, reproducible packages."""

import ast
import json
import sys
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
        metadata = json.loads(archive.read("METADATA.json"))
        assert set(metadata) == {"metadata", "catalog"}
        assert metadata["metadata"]["version"] == psa_scripts.__version__
        assert set(metadata["metadata"]) == {"slug", "name", "short_description", "author", "version"}
        catalog = metadata["catalog"]
        assert catalog["bucket"] == "service-automation-python" and catalog["userGroup"] == "public-objects"
        objects = {o["name"]: o for o in catalog["objects"]}
        assert set(objects) == set(SCRIPTS)  # whatever SCRIPTS lists when the bundle is built
        for name, info in SCRIPTS.items():
            assert objects[name]["metadata"]["kind"] == info.kind
            assert objects[name]["metadata"]["contentType"] == "text/x-python"
            assert objects[name]["metadata"]["commitMessage"] == "Published by psa-scripts (service-automation-python)"
            assert archive.read(f"resources/catalog/{name}.py").startswith(f"# {name} -- ".encode())
    with zipfile.ZipFile(tmp_path / "coco-annotator.zip") as archive:
        assert archive.namelist() == ["METADATA.json", "resources/catalog/COCO_Annotator.xml",
                                      "resources/catalog/Finish_COCO_Annotator.xml"]
        kinds = {o["metadata"]["kind"] for o in json.loads(archive.read("METADATA.json"))["catalog"]["objects"]}
        assert kinds == {"Workflow/psa"}


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
    assert package.objects[-1].name == "Extra_Script" and package.objects[-1].file == "Extra_Script.py"


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
