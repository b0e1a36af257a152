"""psa validate on a freshly scaffolded service (``psa new service``): the mistakes a service author
really makes, each applied to the untouched scaffold, give exit 1 naming the file, the line and
the rule; the untouched scaffold passes."""

import re

import pytest

from psa_scripts.cli import main
from psa_scripts.scaffold import create_service

PACKAGE = "bundles/tiny-httpd"
DEPLOYMENT = f"{PACKAGE}/Tiny_Httpd.xml"
FINISH = f"{PACKAGE}/Finish_Tiny_Httpd.xml"
START_SCRIPT = "tiny_httpd/start.py"


@pytest.fixture
def service(tmp_path, monkeypatch):
    """A new service's directory, as `psa new service tiny-httpd` writes it, as the working directory."""
    directory = tmp_path / "tiny-httpd"
    create_service("tiny-httpd", "nginx:stable", 80, directory)
    monkeypatch.chdir(directory)
    return directory


def edit(service, relative, old, new, count=1):
    path = service / relative
    text = path.read_text()
    assert text.count(old) >= count, f"the scaffold changed: {relative} has no {old!r}"
    path.write_text(text.replace(old, new, count))
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if new in line)


def validate(capsys, *args):
    code = main(["validate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_untouched_scaffold_passes(service, capsys):
    assert validate(capsys) == (0, "4 workflow file(s) checked: no problem found\n", "")


@pytest.mark.parametrize("relative, old, new, code, message", [
    (DEPLOYMENT, "${PA_CATALOG_REST_URL}", "${PA_CATALOG_REST_ULR}", "PA110",
     "script URL '${PA_CATALOG_REST_ULR}/buckets/service-automation-python/resources/Check_Not_Used_By_Other_Service/"
     "raw' starts with ${PA_CATALOG_REST_ULR}, which neither the workflow nor the server defines: the job factory finds "
     "no protocol and refuses the job (did you mean PA_CATALOG_REST_URL?)"),
    (FINISH, '"(RUNNING,FINISHED)', '"(RUNING,FINISHED)', "PSA205",
     "pca.states='(RUNING,FINISHED)(PAUSED,FINISHED)(ERROR,FINISHED)': unknown state 'RUNING' (did you mean "
     "RUNNING?); an instance never is in it, so PSA never offers this action from it or never shows the instance "
     "reach it"),
    (FINISH, 'value="PSA_$INSTANCE_NAME"', 'value="PSA_$INSTANCE_NAM"', "PSA225",
     "task Finish_Tiny_Httpd: NODE_ACCESS_TOKEN='PSA_$INSTANCE_NAM': $INSTANCE_NAM is not a variable of this "
     "workflow (did you mean INSTANCE_NAME?) (Post_Start_Service adds PSA_<INSTANCE_NAME>): the task waits for a "
     "node nobody holds"),
    (FINISH, '"(RUNNING,FINISHED)', '"(VOID,FINISHED)', "PSA223",
     "this action runs Pre_Trigger_Action but pca.states='(VOID,FINISHED)(PAUSED,FINISHED)(ERROR,FINISHED)' starts "
     "from VOID: PSA offers a VOID "
     "transition only to create an instance, so this action can never act on one"),
])
def test_a_realistic_mistake_is_an_error_naming_its_file(service, capsys, relative, old, new, code, message):
    line = edit(service, relative, old, new)
    status, out, err = validate(capsys, "bundles")
    assert status == 1 and err == ""
    findings = [found for found in out.splitlines() if re.match(r"\S+:\d+:\d+: ", found)]
    assert len(findings) == 1, out
    assert findings[0].startswith(f"{relative}:{line}:") and f": {code} error: {message}" in findings[0]


def test_the_image_deleted_while_the_author_script_calls_start_docker_service(service, capsys):
    # The scaffold's start.py runs Start_Docker_Service, which requires DOCKER_IMAGE.
    assert "start_docker_service.main(ctx)" in (service / START_SCRIPT).read_text()
    text = (service / DEPLOYMENT).read_text()
    (service / DEPLOYMENT).write_text(re.sub(r'\n\s*<variable name="DOCKER_IMAGE"[^\n]*', "", text))
    status, out, _ = validate(capsys, "bundles")
    line = next(n for n, text in enumerate((service / DEPLOYMENT).read_text().splitlines(), 1)
                if "Start_Tiny_Httpd/raw" in text)
    assert status == 1
    # Through the call, or through the script's CONTRACT when it declares Start_Docker_Service's reads as its own.
    assert re.search(re.escape(f"{DEPLOYMENT}:{line}:") + r"\d+: PSA215 error: your script Start_Tiny_Httpd in task "
                     r"Start_Tiny_Httpd requires variable DOCKER_IMAGE \(through (Start_Docker_Service, which it calls"
                     r"|its CONTRACT)\), which this workflow never sets", out), out


def test_a_variable_the_author_script_declares_in_its_contract(service, capsys):
    # An author's script may declare a CONTRACT as ours do; a required variable of it is checked.
    # (Appended: the last CONTRACT of the module is the one it declares, as when Python runs it.)
    with (service / START_SCRIPT).open("a") as source:
        source.write('from psa_scripts import names\nfrom psa_scripts.contract import Contract, Var\n'
                     'CONTRACT = Contract(reads=(Var(READY_LOG, required=False), Var("GREETING"), '
                     'Var(names.DOCKER_IMAGE)))\n')
    status, out, _ = validate(capsys, "bundles")
    assert status == 1
    assert ("PSA215 error: your script Start_Tiny_Httpd in task Start_Tiny_Httpd requires variable GREETING "
            "(through its CONTRACT), which this workflow never sets") in out
    assert out.count(" PSA215 ") == 1  # DOCKER_IMAGE is set; READY_LOG is optional


def test_the_language_message_speaks_of_the_author_script_as_theirs(service, capsys):
    edit(service, DEPLOYMENT, 'resources/Start_Tiny_Httpd/raw" language="cpython"', 'resources/Start_Tiny_Httpd/raw"')
    status, out, _ = validate(capsys)
    assert status == 1 and ("PSA231 error: executable script of task Start_Tiny_Httpd: Start_Tiny_Httpd has no "
                            "language; your script Start_Tiny_Httpd is Python: it runs on the cpython engine") in out


def test_a_workflow_that_does_not_parse_gives_its_pa100_and_nothing_else(service, capsys):
    # Unread, the deployment would leave its service with no (VOID,...) transition: no PSA240 for that.
    line = edit(service, DEPLOYMENT, "</taskFlow>", "</taskflow>")
    status, out, _ = validate(capsys)
    findings = [found for found in out.splitlines() if re.match(r"\S+:\d+:\d+: ", found)]
    assert status == 1 and len(findings) == 1 and findings[0].startswith(f"{DEPLOYMENT}:{line}:5: PA100 error: ")


def test_a_contract_built_on_a_library_script_contract(service, capsys):
    # As the scaffold may declare it: Start_Docker_Service's reads, plus the script's own.
    with (service / START_SCRIPT).open("a") as source:
        source.write('from psa_scripts.contract import Contract, Var\n'
                     'CONTRACT = Contract(reads=start_docker_service.CONTRACT.reads + (Var("GREETING"),),\n'
                     '                    files_written=start_docker_service.CONTRACT.files_written)\n')
    status, out, _ = validate(capsys)
    assert status == 1 and out.count(" PSA215 ") == 1 and ("requires variable GREETING (through its CONTRACT)") in out
    text = (service / DEPLOYMENT).read_text()
    (service / DEPLOYMENT).write_text(re.sub(r'\n\s*<variable name="DOCKER_IMAGE"[^\n]*', "", text))
    status, out, _ = validate(capsys)
    assert "requires variable DOCKER_IMAGE (through its CONTRACT)" in out


def test_an_author_module_that_is_missing_does_not_stop_the_linter(service, capsys):
    (service / START_SCRIPT).unlink()  # psa bundle reports it (the module is not found); validate goes on
    assert validate(capsys) == (0, "4 workflow file(s) checked: no problem found\n", "")
