"""The psa command: arguments, exit codes, one-line errors, secrets never printed."""

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from psa_scripts import __version__
from psa_scripts.cli import main, scheduler_url_for
from psa_scripts.scripts import SCRIPTS
from psa_scripts.testing.emulator import ProActiveEmulator

REPO = Path(__file__).resolve().parents[1]
BUNDLES = REPO / "bundles"
PASSWORD = "s3cret-pa55"
# What `psa publish` sends from bundles/: every catalog script, and every workflow.
OBJECTS = len(SCRIPTS) + len(list(BUNDLES.rglob("*.xml")))


@pytest.fixture
def emu():
    with ProActiveEmulator() as emulator:
        emulator.add_user("alice", PASSWORD)
        yield emulator


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    assert main(["bundle", "--bundles", str(BUNDLES), "--out", str(out)]) == 0
    return out


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def usage_error(capsys, *argv):
    with pytest.raises(SystemExit) as raised:
        main([str(a) for a in argv])
    assert raised.value.code == 2
    return capsys.readouterr().err


# --- bundle ------------------------------------------------------------------------------------------

def test_bundle_builds_every_package(capsys, tmp_path):
    code, out, err = run(capsys, "bundle", "--bundles", BUNDLES, "--out", tmp_path)
    assert code == 0 and err == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "coco-annotator.zip", "docker-service-template.zip", "service-automation-python.zip"]
    assert f"{tmp_path}/coco-annotator.zip: coco-annotator" in out and "bucket service-automation-python" in out


def test_bundle_without_a_bundles_directory_is_one_clear_line(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "bundle")
    assert code == 2 and out == ""  # a missing path is a usage error
    assert err == "psa bundle: bundles is not a directory: pass the directory of your packages (--bundles DIR), or --standard for the standard bucket\n"


def test_bundle_standard_builds_the_standard_bucket_anywhere(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no bundles/ here: the package definition comes with psa-scripts
    code, out, err = run(capsys, "bundle", "--standard", "--out", "dist")
    assert (code, err) == (0, "")
    assert out.startswith(f"dist/service-automation-python.zip: service-automation-python {__version__}, "
                          f"bucket service-automation-python, {len(SCRIPTS)} objects (Script/clean, ")
    assert sorted(p.name for p in (tmp_path / "dist").iterdir()) == ["service-automation-python.zip"]


def test_bundle_refuses_a_bad_bucket_name(capsys):
    assert "is not a bucket name" in usage_error(capsys, "bundle", "--bucket", "Bad_Bucket")


@pytest.mark.parametrize("ticks", ["\u00b2", "\u0663"])  # '²' passed isdigit() then broke int(); int() read '٣' as 3
def test_run_ticks_in_other_than_ascii_digits_is_a_usage_error(capsys, ticks):
    assert f"{ticks!r} is not a whole number of ticks (0 or more)" in usage_error(capsys, "run", "flow.xml", "--ticks", ticks)


def test_the_console_script_runs_from_a_shell(tmp_path):
    process = subprocess.run([sys.executable, "-m", "psa_scripts.cli", "bundle", "--out", str(tmp_path)],
                             cwd=REPO, capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stderr
    assert (tmp_path / "service-automation-python.zip").exists()


# --- validate -----------------------------------------------------------------------------------------

def test_validate_our_bundles(capsys):
    code, out, _ = run(capsys, "validate", BUNDLES, "--bundles", BUNDLES)
    assert code == 0 and out == "6 workflow file(s) checked: no problem found\n"


def test_validate_reports_and_fails_on_errors(capsys, tmp_path):
    bad = tmp_path / "Bad.xml"
    bad.write_text('<job xmlns="urn:proactive:jobdescriptor:3.14" name="Bad">\n  <variables>\n'
                   '    <variable name="PROXIFIED" value="true"/>\n  </variables>\n</job>\n')
    code, out, _ = run(capsys, "validate", bad, "--bundles", BUNDLES)
    assert code == 1
    assert f"{bad}:3:5: PSA204 error: variable PROXIFIED is ignored" in out
    assert "    fix: rename it to PROXYFIED (with a Y)" in out
    assert out.endswith("1 workflow file(s) checked: 2 error(s), 0 warning(s)\n")  # not a service: no PSA201/202


# Exit codes 0/1/2, --format json, --select/--ignore and --explain: tests/test_validate.py.


# --- publish -------------------------------------------------------------------------------------------

def test_publish_with_a_session_id(capsys, emu, dist):
    session = emu.new_session()
    code, out, err = run(capsys, "publish", dist, "--url", emu.catalog_url, "--session-id", session)
    assert code == 0, err
    assert f"Summary: created {OBJECTS}, revised 0, unchanged 0, skipped 0, failed 0" in out
    assert session not in out + err


def test_publish_with_session_id_in_argv_warns_without_echoing_it(capsys, emu, dist):
    session = emu.new_session()
    code, out, err = run(capsys, "publish", dist / "coco-annotator.zip", "--url", emu.catalog_url,
                         "--session-id", session)
    assert code == 0 and "created 2" in out
    assert err == ("psa publish: warning: --session-id shows the session id to every user of this machine (ps) "
                   "and keeps it in the shell history; export PSA_SESSION_ID instead\n")
    assert session not in out + err


def test_publish_help_points_to_the_environment_for_the_session_id(capsys):
    with pytest.raises(SystemExit):
        main(["publish", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "PSA_SESSION_ID" in text and "visible in ps and the shell history" in text


def test_bundles_readme_recommends_the_environment_for_the_session_id():
    text = " ".join((BUNDLES / "README.md").read_text().split())
    assert "--session-id \"$SESSION\"" not in text
    assert "`--session-id` still works but shows the session id in `ps` and the shell history" in text


def test_publish_with_a_session_id_from_the_environment(capsys, emu, dist, monkeypatch):
    monkeypatch.setenv("PSA_SESSION_ID", emu.new_session())
    code, out, err = run(capsys, "publish", dist / "coco-annotator.zip", "--url", emu.catalog_url)
    assert code == 0 and "created 2" in out and err == ""


def test_publish_with_a_login_and_the_password_from_the_environment(capsys, emu, dist, monkeypatch):
    monkeypatch.setenv("PSA_PASSWORD", PASSWORD)
    code, out, err = run(capsys, "publish", dist, "--url", emu.catalog_url + "/", "--login", "alice")
    assert code == 0, err
    [login] = emu.requests_to("POST", r"^/rest/scheduler/login$")
    assert login.form == {"username": "alice", "password": PASSWORD}
    assert {r["username"] for r in emu.catalog_revisions("service-automation-python", "Fetch_Logs")} == {"alice"}
    assert PASSWORD not in out + err


def test_publish_prompts_for_the_password(capsys, emu, dist, monkeypatch):
    monkeypatch.delenv("PSA_PASSWORD", raising=False)
    prompts = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or PASSWORD)
    monkeypatch.setattr("sys.stdin", type("Terminal", (), {"isatty": lambda self: True})())
    code, out, err = run(capsys, "publish", dist, "--url", emu.catalog_url, "--login", "alice", "--dry-run")
    assert code == 0 and prompts == ["Password of alice: "]
    assert out.startswith(f"Dry run against {emu.catalog_url}: reads the Catalog, writes nothing")
    assert [r for r in emu.requests if r.method != "GET" and "/catalog/" in r.path] == []
    assert PASSWORD not in out + err


def test_publish_with_a_wrong_password_is_one_line_without_the_password(capsys, emu, dist, monkeypatch):
    monkeypatch.setenv("PSA_PASSWORD", "wrong-" + PASSWORD)
    code, out, err = run(capsys, "publish", dist, "--url", emu.catalog_url, "--login", "alice")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("psa publish: login as alice failed: POST ")
    assert "HTTP 401" in err and PASSWORD not in err


def test_publish_with_an_expired_session_fails_every_object(capsys, emu, dist):
    code, out, err = run(capsys, "publish", dist, "--url", emu.catalog_url, "--session-id", "expired-0000")
    assert code == 1
    assert f"failed {OBJECTS}" in out and "HTTP 401" in out and "expired-0000" not in out + err


def test_publish_through_a_proxy_login_page_is_a_clear_failure_not_a_traceback(capsys, emu, dist):
    page = "<html><head><title>Sign in</title></head><body>proxy login</body></html>"
    emu.add_route("GET", r"^/catalog/buckets$", lambda req: (200, page))
    code, out, err = run(capsys, "publish", dist, "--url", emu.catalog_url, "--session-id", emu.new_session())
    assert code == 1
    assert "Traceback" not in out + err and "JSONDecodeError" not in out + err
    assert f"failed {OBJECTS}" in out
    assert out.count("expected JSON, got: <html><head><title>Sign in") == 3  # one line per package
    assert [r for r in emu.requests if r.method != "GET"] == []


def test_publish_when_the_login_answers_a_page_is_one_clear_line(capsys, emu, dist, monkeypatch):
    monkeypatch.setenv("PSA_PASSWORD", PASSWORD)
    emu.add_route("POST", r"^/rest/scheduler/login$", lambda req: (200, "<html><body>Sign in</body></html>"),
                  open_route=True)
    code, out, err = run(capsys, "publish", dist, "--url", emu.catalog_url, "--login", "alice")
    assert code == 1 and out == ""
    assert err == (f"psa publish: login as alice failed: POST {emu.scheduler_url}/scheduler/login failed with "
                   "HTTP 200: answered something that is not a session id (a proxy's page?): <html><body>Sign in</body></html>\n")
    assert [r for r in emu.requests if "/catalog/" in r.path] == []


def test_publish_through_a_subprocess_prints_no_traceback(emu, dist):
    page = "<html><body>proxy login</body></html>"
    emu.add_route("GET", r"^/catalog/buckets$", lambda req: (200, page))
    env = {**os.environ, "PSA_SESSION_ID": emu.new_session(), "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    process = subprocess.run([sys.executable, "-m", "psa_scripts.cli", "publish", str(dist / "coco-annotator.zip"),
                              "--url", emu.catalog_url], cwd=REPO, env=env, capture_output=True, text=True,
                             timeout=120)
    assert process.returncode == 1, process.stderr
    assert "Traceback" not in process.stdout + process.stderr
    assert "FAILED    every object of coco-annotator: GET " in process.stdout


def test_publish_needs_credentials(capsys, emu, dist, monkeypatch):
    monkeypatch.delenv("PSA_SESSION_ID", raising=False)
    code, _, err = run(capsys, "publish", dist, "--url", emu.catalog_url)
    assert code == 1 and err.startswith("psa publish: not authenticated: give --login USER")


def test_publish_to_another_bucket_moves_the_workflow_urls(capsys, emu, dist):
    code, _, _ = run(capsys, "publish", dist, "--url", emu.catalog_url, "--session-id", emu.new_session(),
                     "--bucket", "team-scripts")
    assert code == 0
    content = emu.catalog_revisions("team-scripts", "COCO_Annotator")[-1]["content"].decode()
    assert "/buckets/team-scripts/resources/Post_Start_Service/raw" in content
    assert "service-automation-python" not in emu.buckets


def test_publish_of_nothing(capsys, emu, tmp_path):
    code, _, err = run(capsys, "publish", tmp_path, "--url", emu.catalog_url, "--session-id", "x")
    assert code == 1 and err == f"psa publish: {tmp_path} holds no package zip: run `psa bundle` first\n"


@pytest.mark.parametrize("argv, message", [
    (["--url", "ftp://host/catalog", "--session-id", "x"], "is not an http(s) URL"),
    (["--session-id", "x"], "the following arguments are required: --url"),
    (["--url", "http://h/catalog", "--session-id", "x", "--login", "bob"], "not allowed with argument"),
])
def test_publish_usage_errors(capsys, dist, argv, message):
    assert message in usage_error(capsys, "publish", dist, *argv)


def test_scheduler_url_next_to_the_catalog():
    assert scheduler_url_for("https://h:8443/catalog") == "https://h:8443/rest"
    assert scheduler_url_for("https://h:8443/catalog/") == "https://h:8443/rest"
    assert scheduler_url_for("https://h:8443") == "https://h:8443/rest"


def test_one_bucket_name_rule_for_the_cli_and_the_emulator():
    from psa_scripts import cli
    from psa_scripts.clients import catalog
    from psa_scripts.local import emulator

    assert cli.BUCKET_NAME is catalog.BUCKET_NAME and emulator.CATALOG_BUCKET_NAME is catalog.BUCKET_NAME


def test_version(capsys):
    with pytest.raises(SystemExit) as raised:
        main(["--version"])
    assert raised.value.code == 0 and capsys.readouterr().out.startswith("psa-scripts ")


# --- exit codes, a password with no terminal, the rehearsal Catalog ---------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["validate", "nope.xml"], "psa validate: no such file or directory: nope.xml"),
    (["publish", "nope", "--url", "http://127.0.0.1:9/catalog", "--session-id", "x"],
     "psa publish: no such file or directory: nope (give a dist directory or a package zip)"),
    (["bundle", "--bundles", "nope"], "psa bundle: nope is not a directory: pass the directory of your packages (--bundles DIR), or --standard for the standard bucket"),
])
def test_a_missing_path_is_a_usage_error_exit_2(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert (code, out, err) == (2, "", message + "\n")


COCO = BUNDLES / "coco-annotator"
USAGE_ERRORS = {  # every command, with a missing path and with a bad argument: exit 2, one line, no traceback
    "graph, a missing path": (["graph", "MISSING"], "psa graph: no such file or directory: MISSING"),
    "graph, --svg into a missing directory": (["graph", str(COCO), "--svg", "/missing/dir/x.svg"],
                                              "psa graph: --svg /missing/dir/x.svg: no directory /missing/dir"),
    "run, a missing workflow": (["run", "MISSING.xml"], "psa run: no such file or directory: MISSING.xml"),
    "run, a missing action": (["run", str(COCO / "COCO_Annotator.xml"), "--then", "nope.xml"],
                              "psa run: no such file or directory: nope.xml"),
    "run, a bad tick count": (["run", "x.xml", "--ticks", "-1"],
                              "psa run: argument --ticks: '-1' is not a whole number of ticks (0 or more) "
                              "(see psa run --help)"),
    "run, --report into a missing directory": (["run", str(COCO / "COCO_Annotator.xml"), "--report", "/missing/r.json"],
                                               "psa run: --report /missing/r.json: no directory /missing"),
    "validate, a missing path": (["validate", "MISSING"], "psa validate: no such file or directory: MISSING"),
    "validate, an unknown rule": (["validate", "--explain", "XX999"], "psa validate: no rule 'XX999'; rules: "),
    "bundle, a missing path": (["bundle", "MISSING"], "psa: unrecognized arguments: MISSING (see psa --help)"),
    "bundle, a bad bucket": (["bundle", "--bucket", "Bad_Bucket"], "psa bundle: argument --bucket: "),
    "publish, a missing path": (["publish", "MISSING", "--url", "http://127.0.0.1:9/catalog", "--login", "a"],
                                "psa publish: no such file or directory: MISSING"),
    "publish, a bad URL": (["publish", "dist", "--url", "ftp://x"], "psa publish: argument --url: 'ftp://x' is not"),
    "new, a bad name": (["new", "service", "bad name", "--image", "x", "--port", "80"],
                        "psa new: service name 'bad name': use letters and digits"),
    "new, a bad port": (["new", "service", "ok-name", "--image", "x", "--port", "99999"],
                        "psa new service: argument --port: '99999' is not a port number (1-65535) "
                        "(see psa new service --help)"),
    "new, a missing template": (["new", "service", "ok-name", "--image", "x", "--port", "80", "--template", "MISSING"],
                                "psa new: the Docker service template is not at MISSING"),
    "serve-catalog, a bad port": (["serve-catalog", "--port", "99999"],
                                  "psa serve-catalog: argument --port: '99999' is not a port number (1-65535)"),
    "migrate, a missing path": (["migrate", "MISSING", "--out", "out"], "psa migrate: no such file or directory: MISSING"),
    "migrate, no output chosen": (["migrate", str(COCO)],
                                  "psa migrate: one of the arguments --out --in-place --diff is required "
                                  "(see psa migrate --help)"),
    "no command": ([], "psa: the following arguments are required: COMMAND (see psa --help)"),
    "an unknown command": (["nosuch"], "psa: argument COMMAND: invalid choice: 'nosuch'"),
}


@pytest.mark.parametrize("argv, message", USAGE_ERRORS.values(), ids=USAGE_ERRORS.keys())
def test_a_usage_error_is_exit_2_and_one_line(tmp_path, argv, message):
    """The installed command, as a user runs it (a fresh process, no terminal): exit 2, one line
    on stderr beginning with the message, nothing on stdout, nothing written."""
    done = subprocess.run([sys.executable, "-m", "psa_scripts.cli", *argv], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1, done.stderr
    assert list(tmp_path.iterdir()) == []


BAD_INPUTS = {  # a file or directory that exists but is not what the command needs: exit 1, one line
    "run, not XML": (["run", "bad.xml"], "psa run: bad.xml:1:1: not well-formed XML"),
    "run, an action given first": (["run", str(COCO / "Finish_COCO_Annotator.xml")], "psa run: "),
    "graph, not XML": (["graph", "bad.xml"], "psa graph: bad.xml:1:1: not well-formed XML"),
    "bundle, a broken package.json": (["bundle", "--bundles", "packages"], "psa bundle: packages/p/package.json is not "
                                                                          "valid JSON"),
    "bundle, --out through a file": (["bundle", "--standard", "--out", "bad.xml/dist"],
                                     "psa bundle: Not a directory: bad.xml/dist"),
    "publish, not a zip": (["publish", "bad.xml", "--url", "http://127.0.0.1:9/catalog", "--login", "a"],
                           "psa publish: bad.xml: a package file must be named <name>.zip"),
    "validate, not XML": (["validate", "bad.xml"], "bad.xml:1:1: PA100 error: not well-formed XML"),
}


@pytest.mark.parametrize("argv, message", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_a_bad_input_file_is_exit_1_and_no_traceback(tmp_path, argv, message):
    (tmp_path / "bad.xml").write_text("not xml")
    (tmp_path / "packages" / "p").mkdir(parents=True)
    (tmp_path / "packages" / "p" / "package.json").write_text('{"slug": 3')
    done = subprocess.run([sys.executable, "-m", "psa_scripts.cli", *argv], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    output = done.stdout + done.stderr
    assert done.returncode == 1 and message in output and "Traceback" not in output, output

def test_version_short_option(capsys):
    with pytest.raises(SystemExit) as raised:
        main(["-V"])
    assert (raised.value.code, capsys.readouterr().out) == (0, f"psa-scripts {__version__}\n")


def test_the_top_level_help_names_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for command in ("(new)", "(run)", "(graph)", "(validate)", "(bundle)", "(publish", "serve-catalog"):
        assert command in text


def test_an_unwritable_svg_is_one_line_exit_1(capsys, tmp_path, monkeypatch):
    from psa_scripts.workflow import graph

    monkeypatch.setattr(graph, "render_svg", lambda service: b"<svg/>")  # no Graphviz needed to reach the write
    (tmp_path / "x.svg").mkdir()  # a directory where the file should go
    code, out, err = run(capsys, "graph", str(COCO), "--svg", str(tmp_path / "x.svg"))
    assert (code, out) == (1, "") and err.startswith(f"psa graph: cannot write {tmp_path}/x.svg: ")
    assert err.count("\n") == 1

def test_the_documented_exit_codes_match():
    from psa_scripts import cli

    doc = " ".join(cli.__doc__.split())
    assert "Exit codes: 0 done (validate: no error found), 1 something failed or was found" in doc
    assert "2 a usage error (bad arguments, a file or directory that does not exist)" in doc


def test_no_terminal_to_ask_for_the_password_is_one_line_naming_psa_password(emu, dist):
    env = {k: v for k, v in os.environ.items() if k != "PSA_PASSWORD"}
    env.update(NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    process = subprocess.run([sys.executable, "-m", "psa_scripts.cli", "publish", str(dist), "--url", emu.catalog_url,
                              "--login", "alice"], cwd=REPO, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                             text=True, timeout=120)
    assert (process.returncode, process.stdout) == (1, "")
    assert process.stderr == ("psa publish: no password for alice: PSA_PASSWORD is not set and there is no terminal "
                              "to ask for it\n")
    assert emu.requests == []


def _first_line(process, deadline_seconds=60.0):
    """The first line the process prints, within a deadline (no sleep: wait on the pipe)."""
    import selectors
    import time

    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if selector.select(timeout=deadline - time.monotonic()):
            return process.stdout.readline()
    raise AssertionError("psa serve-catalog printed nothing in time")


def test_serve_catalog_lets_the_real_cli_rehearse_a_publish(dist, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PSA_PASSWORD"}
    env.update(NO_PROXY="127.0.0.1", no_proxy="127.0.0.1", PYTHONUNBUFFERED="1")
    server = subprocess.Popen([sys.executable, "-m", "psa_scripts.cli", "serve-catalog"], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = _first_line(server)
        banner = [server.stdout.readline(), server.stdout.readline()]  # written at once with the first
        assert banner[0] == "User admin, password admin (fixed: loopback only). Nothing is kept when it stops; " \
                            "Ctrl-C stops it.\n"
        url = re.fullmatch(r"Loopback Catalog on (http://127\.0\.0\.1:\d+/catalog) \(scheduler login: "
                           r"http://127\.0\.0\.1:\d+/rest\)\n", first).group(1)
        assert banner[1] == f"Try: PSA_PASSWORD=admin psa publish dist --url {url} --login admin --dry-run\n"
        shutil.copytree(dist, tmp_path / "dist")  # the Try line, pasted as it is in a shell with no terminal
        tried = subprocess.run(["bash", "-c", banner[1].removeprefix("Try: ")], cwd=tmp_path, stdin=subprocess.DEVNULL,
                               env=dict(env, PATH=f"{Path(sys.executable).parent}:/usr/bin:/bin"),
                               capture_output=True, text=True, timeout=180)
        assert tried.returncode == 0 and f"would create {OBJECTS}," in tried.stdout, tried.stdout + tried.stderr

        def publish(password, *extra):
            return subprocess.run([sys.executable, "-m", "psa_scripts.cli", "publish", str(dist), "--url", url,
                                   "--login", "admin", *extra], cwd=REPO, env=dict(env, PSA_PASSWORD=password),
                                  capture_output=True, text=True, timeout=180)

        wrong = publish("not-the-password")
        assert wrong.returncode == 1 and "login as admin failed" in wrong.stderr
        first_run = publish("admin")
        assert first_run.returncode == 0, first_run.stderr
        assert f"Summary: created {OBJECTS}, revised 0, unchanged 0, skipped 0, failed 0" in first_run.stdout
        again = publish("admin")
        assert f"Summary: created 0, revised 0, unchanged {OBJECTS}, skipped 0, failed 0" in again.stdout
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=60)
    assert server.returncode == 0 and err == ""
    assert out.endswith(f"Stopped: 1 bucket(s), {OBJECTS} object(s) dropped.\n")


# --- the project's metadata and files ---------------------------------------------------------------------

def test_package_metadata_has_an_spdx_license_classifiers_urls_py_typed_and_the_template():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    metadata = project["project"]
    assert metadata["license"] == "Apache-2.0"  # an SPDX string: no setuptools deprecation noise
    assert "Typing :: Typed" in metadata["classifiers"] and metadata["urls"]
    assert project["tool"]["setuptools"]["package-data"]["psa_scripts"] == [
        "py.typed", "templates/docker-service-template/*", "templates/service-automation-python/*"]  # psa new's template: see tests/test_installed_wheel.py
    assert (REPO / "psa_scripts" / "py.typed").is_file()


def test_the_projects_files_name_no_machine_path_and_no_outside_document():
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    offenders = []
    for name in tracked:
        path = REPO / name
        if path.suffix not in (".md", ".py", ".sh", ".toml", ".json", ".xml", ".cfg", ".txt") and path.name != "Makefile":
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        offenders += [f"{name}: {word}" for word in ("/work/", "/home/", "DOMAIN.md", "ENGINE.md", "STYLE.md")
                      if word in text and name != "tests/test_cli.py"]
    assert offenders == []
