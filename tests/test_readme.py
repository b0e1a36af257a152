"""The README's examples are real code: they run as written."""

import pathlib
import re

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
pytest_plugins = ["pytester"]


def _python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_the_harness_example_passes(tmp_path):
    block = next(b for b in _python_blocks() if "def test_" in b and not b.startswith("# tests/"))
    namespace = {}
    exec(compile(block, str(README), "exec"), namespace)
    tests = [f for name, f in namespace.items() if name.startswith("test_")]
    assert tests
    for test in tests:
        test(tmp_path)


WALKTHROUGH = "## Your own service, step by step"


def _walkthrough_blocks():
    section = README.read_text().split(WALKTHROUGH, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(\w+)\n(.*?)```", section, re.S)


def test_the_walkthrough_runs_as_written(tmp_path):
    """Scaffold, a script of one's own, its tests, validate, bundle, rehearse publishing: every block of
    the walkthrough in order, the shell ones in bash from the directory the previous one left."""
    import json
    import subprocess
    import sys

    bin_dir = pathlib.Path(sys.executable).parent
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    cwd, outputs = tmp_path, []
    blocks = _walkthrough_blocks()
    assert [language for language, _ in blocks] == ["sh", "python", "json", "xml", "python", "sh"]
    for language, block in blocks:
        if language == "sh":
            where = tmp_path / "pwd"
            done = subprocess.run(["bash", "-e", "-c", f'cd "{cwd}"\n{block}\npwd > "{where}"\n'], env=env,
                                  capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, f"{block}\n{done.stdout}\n{done.stderr}"
            cwd = pathlib.Path(where.read_text().strip())
            outputs.append(done.stdout)
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


def test_the_plugin_test_file_passes_as_written(pytester):
    """The complete test file of "Test a service with the pytest plugin", run by pytest alone."""
    block = next(b for b in _python_blocks() if b.startswith("# tests/test_my_service.py"))
    pytester.makepyfile(test_my_service=block)
    result = pytester.runpytest_subprocess("-rs")  # a subprocess, as a user's run: see test_plugin.py
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == outcomes.get("errors", 0) == 0, result.stdout.str()
    # the real-engine test passes, or skips when no engine answers (outside CI)
    assert (outcomes["passed"], outcomes.get("skipped", 0)) in ((5, 0), (4, 1)), result.stdout.str()


def test_the_readmes_test_files_use_only_the_plugins_fixtures():
    files = [b for b in _python_blocks() if b.startswith("# tests/")]
    assert [f.splitlines()[0] for f in files] == ["# tests/test_check_free_disk.py", "# tests/test_my_service.py"]
    for text in files:
        assert "Harness" not in text and "FakeEngine" not in text, text.splitlines()[0]
