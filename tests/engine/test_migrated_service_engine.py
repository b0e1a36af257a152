"""A public Groovy-bucket service, migrated, run by psa run on the real engine from start to finish.

OpenRefine (tests/fixtures/public_psa/OpenRefine: ow2-proactive/proactive-examples,
OpenRefine/resources/catalog) deploys with its own bash `docker run`, which psa run plays as
ProActive's native shell engine does; everything else runs on the Python scripts psa migrate
put in. The test plays the user: it applies the fix migrate reports (the instance's labels on
`docker run`), and stands in for what this machine lacks: the test image for the service's own
(no registry answers here) and, for Podman, a name filter without Docker's leading '/'.
"""

import io
import re
from pathlib import Path

import pytest
from engine_helpers import PAGE_MARKER, TEST_IMAGE, containers_named, fetch_page
from test_run_workflow_engine import NOTHING_LEFT

from psa_scripts.cli import main
from psa_scripts.workflow.runner import Runner

pytestmark = pytest.mark.engine

PUBLIC = Path(__file__).resolve().parents[1] / "fixtures" / "public_psa" / "OpenRefine"


def _migrate_and_fix(tmp_path, capsys):
    out = tmp_path / "migrated"
    assert main(["migrate", str(PUBLIC), "--out", str(out)]) == 1
    fix = re.search(r"fix: add (--label .*) to its docker run", capsys.readouterr().out).group(1)
    deployment = out / "OpenRefine.xml"
    text = deployment.read_text(encoding="utf-8")
    text = text.replace("docker run -d --name", f"docker run -d {fix} --name", 1)  # the user follows the fix
    text = (text.replace("DOCKER_IMAGE=activeeon/openrefine", f"DOCKER_IMAGE={TEST_IMAGE}", 1)
            .replace("PORT=3333", "PORT=80", 1)
            .replace('name=^/$INSTANCE_NAME$', 'name=^/?$INSTANCE_NAME$', 1))  # Podman names have no '/'
    deployment.write_text(text, encoding="utf-8")
    assert main(["migrate", str(out), "--diff"]) == 0  # nothing left, nothing to change
    assert main(["validate", str(out)]) == 0
    capsys.readouterr()
    return deployment, out / "Finish_OpenRefine.xml"


def test_migrated_openrefine_deploys_with_its_bash_serves_and_finishes(engine, container_names, tmp_path, capsys):
    deployment, finish = _migrate_and_fix(tmp_path, capsys)
    name = container_names("psa-mig")
    pages = []

    def tick(runner, n):
        port = int(runner.report.endpoint.rsplit(":", 1)[1])
        pages.append(fetch_page(port))

    timeline = io.StringIO()
    report = Runner(deployment, engine="docker", ticks=2, tick_seconds=1.0, then=[finish], out=timeline,
                    on_tick=tick, variables={"INSTANCE_NAME": name}).run()
    said = timeline.getvalue()
    assert report.ok, said
    assert report.status_history == ["VOID -> RUNNING", "RUNNING", "FINISHED"]
    assert pages and all(PAGE_MARKER in page for page in pages)
    bash = [run for run in report.scripts if run.task == "Start_OpenRefine" and run.slot == "executable"]
    assert len(bash) == 1 and bash[0].ok and f"Running {name} container" in bash[0].output
    finished = [run for run in report.scripts if run.script == "Finish_Docker_Service"]
    assert len(finished) == 1 and finished[0].ok
    assert containers_named(engine, name) == []
    assert report.left_behind == NOTHING_LEFT


def test_without_the_labels_the_finish_leaves_the_container_and_says_why(engine, container_names, tmp_path, capsys):
    deployment, finish = _migrate_and_fix(tmp_path, capsys)
    text = deployment.read_text(encoding="utf-8")
    deployment.write_text(re.sub(r"docker run -d --label \S+ --label \S+ ", "docker run -d ", text), encoding="utf-8")
    name = container_names("psa-mig")
    report = Runner(deployment, engine="docker", ticks=1, tick_seconds=0.5, then=[finish], out=io.StringIO(),
                    variables={"INSTANCE_NAME": name}).run()
    assert not report.ok and report.status_history[-1] == "ERROR"
    finished = [run for run in report.scripts if run.script == "Finish_Docker_Service"]
    assert f"container {name}" in finished[0].output and "was not created by this service instance" in finished[0].output
    assert len(containers_named(engine, name)) == 1  # left untouched; container_names removes it
