"""psa new service: a package generated from the Docker template passes psa validate, pytest and psa bundle
as it is, in a fresh process from its own directory, the way a user runs them."""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from psa_scripts.cli import main
from psa_scripts.errors import InputError
from psa_scripts.scaffold import TEMPLATE_DIR, ServiceNames, create_service

PYTEST = Path(sys.executable).parent / "pytest"
FILES = ["README.md", "bundles/tiny-httpd/Finish_Tiny_Httpd.xml", "bundles/tiny-httpd/Pause_Tiny_Httpd.xml",
         "bundles/tiny-httpd/Resume_Tiny_Httpd.xml", "bundles/tiny-httpd/Tiny_Httpd.xml",
         "bundles/tiny-httpd/package.json", "pytest.ini", "tests/test_tiny_httpd.py", "tiny_httpd/__init__.py",
         "tiny_httpd/start.py"]


def shell(*argv, cwd):
    """A command as a user types it in the service's directory (no PYTHONPATH, no test session)."""
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    directory = tmp_path_factory.mktemp("author") / "tiny-httpd"
    create_service("tiny-httpd", "nginx:stable", 80, directory)
    return directory


def test_psa_new_service_says_what_it_wrote(capsys, tmp_path):
    assert main(["new", "service", "tiny-httpd", "--image", "nginx:stable", "--port", "80",
                 "--dir", str(tmp_path / "svc")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [f"{tmp_path}/svc: service tiny-httpd from the Docker service template, 10 files:",
                                *(f"  {name}" for name in FILES),
                                "then: set READY_LOG in bundles/tiny-httpd/Tiny_Httpd.xml to a line nginx:stable logs "
                                "once ready (empty: no wait, RUNNING as soon as the container starts)",
                                f"next: cd {tmp_path}/svc && pytest && psa validate bundles && psa bundle"]
    assert sorted(str(p.relative_to(tmp_path / "svc")) for p in (tmp_path / "svc").rglob("*") if p.is_file()) == FILES


def test_the_generated_package_validates_as_generated(service):
    done = shell(Path(sys.executable).parent / "psa", "validate", "bundles", cwd=service)
    assert (done.returncode, done.stdout, done.stderr) == (0, "4 workflow file(s) checked: no problem found\n", "")


def test_the_generated_tests_pass_as_generated(service):
    done = shell(PYTEST, "-q", "-p", "no:cacheprovider", cwd=service)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


def test_the_generated_tests_use_only_the_plugins_fixtures(service):
    text = (service / "tests" / "test_tiny_httpd.py").read_text()
    assert "from psa_scripts.testing import Scenario, State, node_variables\n" in text
    assert "Harness" not in text and "FakeEngine" not in text
    assert text.count("(psa_harness, in_memory_engine):") == 3


def test_the_generated_tests_catch_a_script_that_does_not_wait(service, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(service, broken)
    start = broken / "tiny_httpd" / "start.py"
    start.write_text(start.read_text().replace("        wait_until_ready(ctx, ctx.instance_name(), ready_log, timeout)",
                                               "        pass"))
    done = shell(PYTEST, "-q", "-p", "no:cacheprovider", cwd=broken)
    assert done.returncode == 1 and "2 failed, 1 passed" in done.stdout, done.stdout


def test_the_generated_script_waits_on_the_contexts_clock_and_declares_its_contract(service, monkeypatch):
    """A ten-minute readiness wait is ten minutes of the harness's clock (the generated test asserts
    it); the script never reads the time module, and its CONTRACT is Start_Docker_Service's plus the wait's."""
    text = (service / "tiny_httpd" / "start.py").read_text()
    assert "import time" not in text and not re.search(r"\btime\.[a-z]", text)
    assert "deadline = ctx.now() + timeout" in text and "ctx.sleep(" in text
    monkeypatch.syspath_prepend(str(service))
    from tiny_httpd import start
    from psa_scripts.scripts import start_docker_service

    assert [v.name for v in start.CONTRACT.reads] == [v.name for v in start_docker_service.CONTRACT.reads] + [
        "READY_LOG", "READY_TIMEOUT"]
    assert not any(v.required for v in start.CONTRACT.reads[-2:]) and start.CONTRACT.on_node
    assert 'round(sum(outcome.slept)) == 600' in (service / "tests" / "test_tiny_httpd.py").read_text()


def test_the_generated_workflow_says_what_happens_without_ready_log(service):
    text = (service / "bundles" / "tiny-httpd" / "Tiny_Httpd.xml").read_text()
    assert ('<variable name="READY_LOG" value="" description="Set it: a text the service logs once it is ready '
            "(e.g. a line of the image&apos;s start-up log); the deployment waits for it, at most READY_TIMEOUT "
            'seconds. Empty: no wait, the service is RUNNING as soon as its container starts, ready or not"') in text


def test_the_generated_package_bundles_its_script_self_contained(service, tmp_path):
    done = shell(Path(sys.executable).parent / "psa", "bundle", "--out", tmp_path, cwd=service)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{tmp_path}/tiny-httpd.zip: tiny-httpd 0.1.0, bucket tiny-httpd, 5 objects " \
                          "(Script/task, Workflow/psa)\n"
    with zipfile.ZipFile(tmp_path / "tiny-httpd.zip") as archive:
        names = archive.namelist()
        script = next(n for n in names if n.endswith("Start_Tiny_Httpd.py"))
        text = archive.read(script).decode("ascii")
    assert "'tiny_httpd.start': (False, " in text and "'psa_scripts.scripts.start_docker_service': (False, " in text
    assert "_psa_run('tiny_httpd.start', globals(), kind='Script/task')" in text


def test_the_workflows_are_the_templates_renamed(service):
    package = service / "bundles" / "tiny-httpd"
    texts = {p.name: p.read_text() for p in package.glob("*.xml")}
    for name, text in texts.items():
        assert "Docker_Service_Template" not in text and "docker-service" not in text, name
        assert '<info name="pca.service.id" value="Tiny_Httpd"/>' in text
    deployment = texts["Tiny_Httpd.xml"]
    assert '<job\n' in deployment and 'name="Tiny_Httpd"' in deployment
    for line in ('<variable name="DOCKER_IMAGE" value="nginx:stable"', '<variable name="CONTAINER_PORT" value="80"',
                 '<variable name="INSTANCE_NAME" value="tiny-httpd-$PA_JOB_ID"',
                 '<variable name="ENDPOINT_ID" value="tiny-httpd-gui-$PA_JOB_ID"',
                 '<variable name="READY_LOG" value=""', '<variable name="READY_TIMEOUT" value="60"',
                 '/buckets/tiny-httpd/resources/Start_Tiny_Httpd/raw" language="cpython"',
                 '/buckets/service-automation-python/resources/Post_Start_Service/raw'):
        assert line in deployment, line
    assert "Start_Docker_Service/raw" not in deployment
    assert deployment.count("Tiny_Httpd: the image nginx:stable as a PSA service") == 1
    definition = json.loads((package / "package.json").read_text())
    assert definition["scripts"] == [{"name": "Start_Tiny_Httpd", "module": "tiny_httpd.start", "kind": "Script/task"}]
    assert (definition["slug"], definition["bucket"], definition["version"]) == ("tiny-httpd", "tiny-httpd", "0.1.0")


@pytest.mark.parametrize("name, names", [
    ("tiny-httpd", ("tiny-httpd", "tiny_httpd", "Tiny_Httpd")),
    ("myApp_2", ("myapp-2", "myapp_2", "MyApp_2")),
    ("COCO-annotator", ("coco-annotator", "coco_annotator", "COCO_Annotator")),
])
def test_names_of_a_service(name, names):
    derived = ServiceNames.from_name(name)
    assert (derived.slug, derived.package, derived.service) == names


@pytest.mark.parametrize("name, message", [
    ("tiny httpd", "use letters and digits, words joined by '-' or '_'"),
    ("2fast", "starting with a letter"),
    ("tiny--httpd", "use letters and digits"),
    ("ab", "its slug 'ab' names the catalog bucket, so it needs 3 to 63 characters"),
    ("json", "the Python package 'json' would shadow a module of that name"),
    ("psa_scripts", "would shadow"),
])
def test_names_refused(name, message):
    with pytest.raises(InputError, match=message):
        ServiceNames.from_name(name)


@pytest.mark.parametrize("argv, message", [
    (["--image", "nginx stable", "--port", "80"], "--image 'nginx stable' is not an image reference"),
    (["--image", 'x"/><job', "--port", "80"], "is not an image reference"),
    (["--image", "nginx", "--port", "0"], "argument --port: '0' is not a port number (1-65535)"),
    (["--image", "nginx", "--port", "70000"], "argument --port: '70000' is not a port number (1-65535)"),
    (["--image", "nginx", "--port", "http"], "argument --port: 'http' is not a port number (1-65535)"),
])
def test_bad_options_are_one_line_exit_2_and_write_nothing(capsys, tmp_path, argv, message):
    """A usage error: exit 2, one line on stderr, nothing written."""
    try:
        code = main(["new", "service", "tiny-httpd", *argv, "--dir", str(tmp_path / "svc")])
    except SystemExit as exit:  # argparse refused it
        code = exit.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []


def test_an_existing_directory_is_left_alone(capsys, tmp_path):
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "mine.txt").write_text("keep")
    assert main(["new", "service", "tiny-httpd", "--image", "nginx", "--port", "80", "--dir", str(tmp_path / "svc")]) == 2
    assert capsys.readouterr().err == (f"psa new: {tmp_path}/svc already exists and is not an empty directory: "
                                       "give another --dir\n")
    assert [p.name for p in (tmp_path / "svc").iterdir()] == ["mine.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["svc"]


def test_a_dir_linking_to_an_empty_directory_is_written_through_the_link(capsys, tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert main(["new", "service", "tiny-httpd", "--image", "nginx", "--port", "80", "--dir", str(tmp_path / "link")]) == 0
    assert capsys.readouterr().out.startswith(f"{tmp_path}/real: service tiny-httpd")
    assert (tmp_path / "link").is_symlink() and (tmp_path / "link" / "tiny_httpd" / "start.py").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]  # no staging directory left


@pytest.mark.parametrize("pointing_at, why", [
    ("nowhere", "which is not a directory"),
    ("a-file", "which is not a directory"),
    ("loop", "leads nowhere (a loop)"),
])
def test_a_dir_linking_to_no_directory_is_refused_in_one_line(capsys, tmp_path, pointing_at, why):
    (tmp_path / "a-file").write_text("mine")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / pointing_at)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["new", "service", "tiny-httpd", "--image", "nginx", "--port", "80", "--dir", str(link)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"psa new: {link} is a symbolic link") and why in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before and (tmp_path / "a-file").read_text() == "mine"


@pytest.mark.parametrize("umask, directory_mode, file_mode", [(0o022, 0o755, 0o644), (0o027, 0o750, 0o640)])
def test_the_service_directory_honours_the_umask_as_mkdir_does(tmp_path, umask, directory_mode, file_mode):
    previous = os.umask(umask)
    try:
        target, _ = create_service("tiny-httpd", "nginx", 80, tmp_path / "svc")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(target.stat().st_mode) == directory_mode
    assert stat.S_IMODE((target / "tiny_httpd").stat().st_mode) == directory_mode
    assert stat.S_IMODE((target / "tiny_httpd" / "start.py").stat().st_mode) == file_mode


def test_the_installed_template_is_the_one_in_bundles():
    """Package data for the wheel, one copy in the tree: a link to what psa bundle and psa validate read."""
    assert TEMPLATE_DIR.is_symlink()
    assert TEMPLATE_DIR.resolve() == Path(__file__).resolve().parent.parent / "bundles" / "docker-service-template"


def test_a_template_that_drifted_is_an_error_not_a_half_renamed_package(tmp_path):
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE_DIR, template)
    deployment = template / "Docker_Service_Template.xml"
    deployment.write_text(deployment.read_text().replace("Start_Docker_Service/raw", "Start_Container/raw"))
    with pytest.raises(InputError, match=r"the template changed: .*Docker_Service_Template.xml no longer holds "
                                         r"'/buckets/service-automation-python/resources/Start_Docker_Service/raw'"):
        create_service("tiny-httpd", "nginx", 80, tmp_path / "svc", template)
    assert not (tmp_path / "svc").exists()
    with pytest.raises(InputError, match="the Docker service template is not at"):
        create_service("tiny-httpd", "nginx", 80, tmp_path / "svc", tmp_path / "nowhere")
