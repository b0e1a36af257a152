"""The README and docs/ say what is true: their links lead somewhere, their commands exist with the
options they show, and their examples run as written (the quick start, the walkthrough, the test
files)."""

import json
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

from psa_scripts.cli import build_parser

REPO = pathlib.Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = REPO / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md")), REPO / "bundles" / "README.md", REPO / "tools" / "README.md",
         *sorted((REPO / "bundles").glob("*/README.md"))]
pytest_plugins = ["pytester"]


def _blocks(page, language):
    return re.findall(rf"```{language}\n(.*?)```", page.read_text(encoding="utf-8"), re.S)


def _section(page, heading):
    return page.read_text(encoding="utf-8").split(heading + "\n", 1)[1].split("\n## ", 1)[0]


# --- links --------------------------------------------------------------------------------------------

def _anchor(heading):
    """The anchor a Markdown renderer (GitHub's rule) gives a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page):
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {_anchor(h) for h in re.findall(r"^#+ (.*)$", text, re.M)}


def _links(page):
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return re.findall(r"\]\(([^)\s]+)\)", text)


def test_the_pages_are_found():
    names = {p.relative_to(REPO).as_posix() for p in PAGES}
    assert {"README.md", "docs/scripts.md", "docs/authoring.md", "docs/testing.md", "docs/run.md", "docs/validate.md",
            "docs/publishing.md", "docs/decisions.md", "docs/benchmarks.md", "docs/glossary.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_and_anchor_resolves(page):
    broken = []
    for link in _links(page):
        if re.match(r"^[a-z]+:", link):
            continue  # an absolute URL: tests/test_cli.py keeps the project's files free of outside documents
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists():
            broken.append(f"{link}: no such file")
        elif anchor and target.suffix == ".md" and anchor not in _anchors(target):
            broken.append(f"{link}: no heading #{anchor} in {target.relative_to(REPO)}")
    assert broken == []


def test_the_anchor_rule_is_githubs():
    assert _anchor("The service's state picture: `psa graph`") == "the-services-state-picture-psa-graph"
    assert _anchor("Your own service, step by step") == "your-own-service-step-by-step"


def test_the_readme_is_a_front_door_with_the_quick_start_in_its_first_screen():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 300
    assert "## Quick start" in lines[:40]
    quick_start = _section(README, "## Quick start")
    assert [c for c in ("psa new", "pytest", "psa run", "psa validate", "psa bundle", "publish")
            if c not in quick_start] == []
    assert "pip install psa-scripts" not in README.read_text(encoding="utf-8")  # it is on no index


# --- the commands the pages show ------------------------------------------------------------------------

def _psa_command_lines(page):
    for block in _blocks(page, "sh"):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            while words and re.match(r"^[A-Z_]+=", words[0]):
                words = words[1:]  # an environment assignment in front: PSA_PASSWORD=... psa publish
            if words and words[0] == "psa":
                yield line.strip(), words[1:]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_psa_command_shown_exists_with_its_options(page, capsys):
    """Each `psa ...` line of a shell block parses as the CLI reads it: no renamed option or
    command left in the docs."""
    refused = []
    for line, argv in _psa_command_lines(page):
        try:
            build_parser().parse_args(argv)
        except SystemExit as exit:
            if exit.code:
                refused.append(f"{line}: {capsys.readouterr().err.strip()}")
    assert refused == []


def test_the_commands_are_checked_on_the_pages_that_show_them():
    shown = {p.relative_to(REPO).as_posix(): len(list(_psa_command_lines(p))) for p in PAGES}
    assert shown["README.md"] >= 5 and shown["docs/publishing.md"] >= 3 and shown["docs/validate.md"] >= 4


# --- the examples run as written --------------------------------------------------------------------------

def _run_shell(block, cwd, tmp_path):
    """A shell block in bash, from ``cwd``, as a user with this venv's commands on PATH:
    its output, and the directory it ended in."""
    bin_dir = pathlib.Path(sys.executable).parent
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    where = tmp_path / "pwd"
    done = subprocess.run(["bash", "-e", "-c", f'cd "{cwd}"\n{block}\npwd > "{where}"\n'], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{block}\n{done.stdout}\n{done.stderr}"
    return done.stdout, pathlib.Path(where.read_text().strip())


def test_the_quick_start_runs_as_written(tmp_path):
    """new -> pytest -> run (in-memory engine) -> validate -> bundle (the service and the standard
    bucket) -> publish rehearsal, in a fresh directory."""
    (block,) = re.findall(r"```sh\n(.*?)```", _section(README, "## Quick start"), re.S)
    output, cwd = _run_shell(block, tmp_path, tmp_path)
    assert cwd == tmp_path / "tiny-httpd"
    assert "3 passed" in output
    assert "psa run: instance 1 ended FINISHED; nothing left behind" in output
    assert "4 workflow file(s) checked: no problem found" in output
    assert "dist/tiny-httpd.zip: tiny-httpd 0.1.0, bucket tiny-httpd, 5 objects" in output
    assert "dist/service-automation-python.zip: service-automation-python" in output
    assert sorted(p.name for p in (cwd / "dist").iterdir()) == ["service-automation-python.zip", "tiny-httpd.zip"]


AUTHORING = DOCS / "authoring.md"
WALKTHROUGH = "## Your own service, step by step"


def test_the_walkthrough_runs_as_written(tmp_path):
    """Scaffold, a script of one's own, its tests, validate, bundle, rehearse publishing: every block of
    the walkthrough in order, the shell ones in bash from the directory the previous one left."""
    cwd, outputs = tmp_path, []
    blocks = re.findall(r"```(\w+)\n(.*?)```", _section(AUTHORING, WALKTHROUGH), re.S)
    assert [language for language, _ in blocks] == ["sh", "python", "json", "xml", "python", "sh"]
    for language, block in blocks:
        if language == "sh":
            output, cwd = _run_shell(block, cwd, tmp_path)
            outputs.append(output)
        elif language == "python":
            path = cwd / block.splitlines()[0].removeprefix("# ")
            path.write_text(block)
        elif language == "json":
            definition_path = cwd / "bundles" / "tiny-httpd" / "package.json"
            definition = json.loads(definition_path.read_text())
            definition.update(json.loads("{" + block + "}"))
            definition_path.write_text(json.dumps(definition, indent=2))
        elif language == "xml":
            workflow = cwd / "bundles" / "tiny-httpd" / "Tiny_Httpd.xml"
            text = workflow.read_text()
            assert text.count("</selection>") == 1
            workflow.write_text(text.replace("      </selection>", block + "      </selection>"))
    scaffolded, checked = outputs
    assert "3 passed" in scaffolded
    assert "6 passed" in checked and "4 workflow file(s) checked: no problem found" in checked
    assert "dist/tiny-httpd.zip: tiny-httpd 0.1.0, bucket tiny-httpd, 6 objects" in checked
    assert "Check_Free_Disk" in checked.split("== psa publish --dry-run", 1)[1]
    assert (cwd / "dist" / "tiny-httpd.zip").is_file()


TESTING = DOCS / "testing.md"


def test_the_harness_example_passes(tmp_path):
    block = next(b for b in _blocks(TESTING, "python") if "def test_" in b and not b.startswith("# tests/"))
    namespace = {}
    exec(compile(block, str(TESTING), "exec"), namespace)
    tests = [f for name, f in namespace.items() if name.startswith("test_")]
    assert tests
    for test in tests:
        test(tmp_path)


def test_the_plugin_test_file_passes_as_written(pytester):
    """The complete test file of "The pytest plugin", run by pytest alone."""
    block = next(b for b in _blocks(TESTING, "python") if b.startswith("# tests/test_my_service.py"))
    pytester.makepyfile(test_my_service=block)
    result = pytester.runpytest_subprocess("-rs")  # a subprocess, as a user's run: see test_plugin.py
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == outcomes.get("errors", 0) == 0, result.stdout.str()
    # the real-engine test passes, or skips when no engine answers (outside CI)
    assert (outcomes["passed"], outcomes.get("skipped", 0)) in ((5, 0), (4, 1)), result.stdout.str()


def test_the_docs_test_files_use_only_the_plugins_fixtures():
    files = [b for page in (AUTHORING, TESTING) for b in _blocks(page, "python") if b.startswith("# tests/")]
    assert [f.splitlines()[0] for f in files] == ["# tests/test_check_free_disk.py", "# tests/test_my_service.py"]
    for text in files:
        assert "Harness" not in text and "FakeEngine" not in text, text.splitlines()[0]
