"""A service author's own script runs like a catalog script: by dotted module path or module object,
through ``run`` and through the harness."""

import importlib.util
import sys

import pytest

from psa_scripts import names
from psa_scripts.errors import InputError
from psa_scripts.scripts import SCRIPTS, ScriptInfo, run, script_info
from psa_scripts.testing.harness import State, node_variables

NAME = "tiny-1"


def _bindings(workdir, **variables):
    return {"variables": {names.INSTANCE_NAME: NAME, **variables}, "localspace": str(workdir)}


def test_run_takes_a_dotted_module_path(author_repo, tmp_path):
    (tmp_path / f"{NAME}_port").write_text("8080\n")
    bindings = _bindings(tmp_path)
    run("tiny_httpd.wait_ready", bindings)
    assert bindings["variables"]["READY_MESSAGE"] == "tiny-1 ready on port 8080 (caf\u00e9)"


def test_run_takes_a_module_object_even_one_not_importable_by_name(tmp_path):
    source = tmp_path / "loose_script.py"
    source.write_text("def main(ctx):\n    ctx.variables.set('SEEN', ctx.kind + ' ' + ctx.workdir)\n")
    spec = importlib.util.spec_from_file_location("loose_script", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert "loose_script" not in sys.modules
    bindings = _bindings(tmp_path)
    run(module, bindings, kind="Script/post")
    assert bindings["variables"]["SEEN"] == f"Script/post {tmp_path}"


def test_a_catalog_name_still_wins_and_keeps_its_kind():
    assert script_info("Fetch_Logs") is SCRIPTS["Fetch_Logs"]
    assert repr(script_info("tiny_httpd.wait_ready")) == repr(
        ScriptInfo("tiny_httpd.wait_ready", "Script/task", "tiny_httpd.wait_ready"))
    assert script_info("tiny_httpd.wait_ready", "Script/flow").kind == "Script/flow"


@pytest.mark.parametrize("target, kind, message", [
    ("Wait_Ready", None, "no catalog script named 'Wait_Ready'; known: Pre_Start_Service.*dotted path"),
    ("tiny httpd.wait", None, "no catalog script named 'tiny httpd.wait'"),
    ("tiny_httpd.", None, "no catalog script named 'tiny_httpd.'"),
    (42, None, "no catalog script named 42"),
    ("tiny_httpd.wait_ready", "Script/post-run", "kind 'Script/post-run' is not one of Script/pre, Script/post"),
    ("Fetch_Logs", "Script/task", "script Fetch_Logs is a Script/flow: kind='Script/task' does not apply"),
])
def test_targets_that_name_no_script(target, kind, message):
    with pytest.raises(InputError, match=message):
        script_info(target, kind)


def test_a_module_that_does_not_import_is_named_with_the_reason(tmp_path):
    with pytest.raises(InputError, match=r"script nowhere_pkg.script: cannot import module 'nowhere_pkg.script' "
                                         r"\(No module named 'nowhere_pkg'\); its package must be on sys.path"):
        run("nowhere_pkg.script", _bindings(tmp_path))


def test_a_module_whose_own_import_fails_says_so(author_repo, tmp_path):
    (author_repo / "tiny_httpd" / "needs_more.py").write_text("import not_installed_anywhere\ndef main(ctx): pass\n")
    with pytest.raises(InputError, match=r"cannot import module 'tiny_httpd.needs_more' \(No module named "
                                         r"'not_installed_anywhere'\); it imports a module that is not installed here"):
        run("tiny_httpd.needs_more", _bindings(tmp_path))


def test_a_module_without_main_is_refused_before_anything_runs(author_repo, tmp_path):
    bindings = _bindings(tmp_path)
    with pytest.raises(InputError, match=r"module 'tiny_httpd.readiness' has no main\(ctx\) function"):
        run("tiny_httpd.readiness", bindings)
    assert bindings == _bindings(tmp_path)


def test_the_harness_runs_an_author_script_by_path(author_repo, harness):
    state = State(variables=node_variables(INSTANCE_NAME=NAME), files={f"{NAME}_port": "32768"})
    outcome = harness.run("tiny_httpd.wait_ready", state).raise_error()
    assert outcome.script == "tiny_httpd.wait_ready"
    assert outcome.variables_written == {"READY_MESSAGE": "tiny-1 ready on port 32768 (caf\u00e9)"}
    assert outcome.output == "tiny-1 ready on port 32768 (caf\u00e9)\n"
    assert outcome.state.variables["READY_MESSAGE"].startswith("tiny-1 ready")


def test_the_harness_runs_an_author_script_as_a_module_with_its_kind(author_repo, harness):
    import tiny_httpd.wait_ready

    state = State(variables=node_variables(INSTANCE_NAME=NAME), files={f"{NAME}_port": "32768"})
    outcome = harness.run(tiny_httpd.wait_ready, state, kind="Script/clean")
    # a clean script has no localspace, and what it writes does not propagate
    assert "clean scripts have no localspace" in str(outcome.error)
    assert "READY_MESSAGE" not in outcome.state.variables


def test_the_harness_raises_when_the_module_cannot_be_imported(harness):
    with pytest.raises(InputError, match="cannot import module 'nowhere_pkg.script'"):
        harness.run("nowhere_pkg.script", State())


def test_a_scenario_runs_an_author_script_of_another_kind_given_as_script_info(author_repo, harness):
    from psa_scripts.testing.scenarios import Scenario

    (author_repo / "tiny_httpd" / "pick.py").write_text("def main(ctx):\n    ctx.writeback['selected'] = ctx.kind\n")
    info = ScriptInfo("Pick_Node", "Script/selection", "tiny_httpd.pick")
    outcome = Scenario(harness, State()).run(info)
    assert (outcome.script, outcome.writeback) == ("Pick_Node", {"selected": "Script/selection"})
