"""psa graph: a service's state machine from the pca.states of its workflows."""

import os
import re
import shutil
from pathlib import Path

import pytest

from psa_scripts import cli
from psa_scripts.workflow.graph import GraphError, dot, load_services, mermaid, render_svg, state_findings

BUNDLES = Path(__file__).resolve().parent.parent / "bundles"


def _service(tmp_path, **workflows):
    """Workflow files of one service: name -> (pca.states, [catalog scripts])."""
    for name, (states, scripts) in workflows.items():
        files = "".join(f'<task name="T{i}"><scriptExecutable><script><file url="${{PA_CATALOG_REST_URL}}/buckets/'
                        f'b-1/resources/{script}/raw" language="cpython"/></script></scriptExecutable></task>'
                        for i, script in enumerate(scripts))
        (tmp_path / f"{name}.xml").write_text(
            f'<job name="{name}"><genericInformation><info name="pca.service.id" value="Svc"/>'
            f'<info name="pca.states" value="{states}"/></genericInformation><taskFlow>{files}</taskFlow></job>')
    [service] = load_services([tmp_path])
    return service


def test_the_coco_picture():
    [service] = load_services([BUNDLES / "coco-annotator"])
    assert mermaid(service) == """\
stateDiagram-v2
    %% COCO_Annotator: from the pca.states of its workflows
    [*] --> VOID
    VOID --> RUNNING: COCO_Annotator
    RUNNING --> FINISHED: Finish_COCO_Annotator
    STOPPED --> FINISHED: Finish_COCO_Annotator
    PAUSED --> FINISHED: Finish_COCO_Annotator
    ERROR --> FINISHED: Finish_COCO_Annotator
    VOID --> ERROR: deployment failed
    RUNNING --> ERROR: container died, action failed
    STOPPED --> ERROR: action failed
    PAUSED --> ERROR: action failed
    FINISHED --> [*]
    classDef failure fill:#fde2e2,stroke:#c0392b
    class ERROR failure
"""
    assert state_findings(service) == []


def test_the_template_with_pause_and_resume_and_all():
    [service] = load_services([BUNDLES / "docker-service-template"])
    text = mermaid(service)
    assert "RUNNING --> PAUSED: Pause_Docker_Service_Template" in text
    assert "PAUSED --> RUNNING: Resume_Docker_Service_Template" in text
    assert state_findings(service) == []


def test_all_as_a_source_means_every_state_but_void(tmp_path):
    service = _service(tmp_path, Deploy=("(VOID,RUNNING)", []), Kill=("(ALL,FINISHED)", []))
    assert "RUNNING --> FINISHED: Kill" in mermaid(service) and "VOID --> FINISHED" not in mermaid(service)
    assert state_findings(service) == []


def test_state_checks(tmp_path):
    service = _service(tmp_path, Deploy=("(VOID,RUNNING)", ["Clean_Start_Service"]), Pause=("(RUNNING,PAUSED)", []),
                       Wake=("(SLEEPING,RUNNING)", []))
    assert sorted(f.message for f in state_findings(service)) == [
        "service Svc: action Wake starts from SLEEPING, which no workflow reaches: PSA never offers it",
        "service Svc: state ERROR (set by the lifecycle scripts on failure) is left by no action: a failed "
        "instance cannot be finished",
        "service Svc: state PAUSED (reached by Pause) is left by no action: an instance there stays there"]
    finding = next(f for f in state_findings(service) if "Wake" in f.message)
    assert (Path(finding.file).name, finding.line) == ("Wake.xml", 1) and finding.column > 1


def test_no_deployment_is_reported(tmp_path):
    service = _service(tmp_path, Finish=("(RUNNING,FINISHED)", []))
    assert any("no workflow has a transition from VOID" in f.message for f in state_findings(service))


def test_nothing_to_draw(tmp_path):
    (tmp_path / "x.xml").write_text("<project/>")
    with pytest.raises(GraphError, match="no PSA workflow"):
        load_services([tmp_path])


def test_the_dot_text_quotes_names():
    [service] = load_services([BUNDLES / "coco-annotator"])
    text = dot(service)
    assert text.startswith('digraph "COCO_Annotator" {') and '"VOID" -> "RUNNING" [label="COCO_Annotator"];' in text


HOSTILE = "Deploy&#10;click VOID href &quot;javascript:alert(1)&quot;&#10;%% x; y &lt;b&gt;"  # a job name, as XML has it


def test_mermaid_quotes_every_name_it_draws(tmp_path):
    """A job name or a service id holding a newline, a click, a comment or markup stays inside its label."""
    (tmp_path / "d.xml").write_text(
        f'<job name="{HOSTILE}"><genericInformation><info name="pca.service.id" value="S&#10;click S call x()"/>'
        '<info name="pca.states" value="(VOID,RUNNING)"/></genericInformation><taskFlow/></job>')
    [service] = load_services([tmp_path])
    text = mermaid(service)
    assert text.splitlines() == [
        "stateDiagram-v2",
        "    %% S#10;click S call x(): from the pca.states of its workflows",
        "    [*] --> VOID",
        "    VOID --> RUNNING: Deploy#10;click VOID href #34;javascript#58;alert(1)#34;#10;#37;#37; x#59; y #60;b#62;",
    ]


def test_dot_quotes_every_name_it_draws(tmp_path):
    (tmp_path / "d.xml").write_text(
        f'<job name="{HOSTILE}"><genericInformation><info name="pca.service.id" value="S&#10;}} digraph x {{"/>'
        '<info name="pca.states" value="(VOID,RUNNING)"/></genericInformation><taskFlow/></job>')
    [service] = load_services([tmp_path])
    text = dot(service)
    assert text.startswith('digraph "S } digraph x {" {\n')
    assert '"VOID" -> "RUNNING" [label="Deploy click VOID href \\"javascript:alert(1)\\" %% x; y <b>"];' in text
    assert len(text.splitlines()) == 8  # digraph, 3 settings, 2 states, 1 edge, }


@pytest.mark.skipif(shutil.which("dot") is None and os.environ.get("CI") != "true",
                    reason="Graphviz's dot is not installed: tools/graphviz-up.sh (make test runs it)")
def test_svg_is_drawn_by_graphviz(tmp_path, capsys):
    out = tmp_path / "coco.svg"
    assert cli.main(["graph", str(BUNDLES / "coco-annotator"), "--svg", str(out)]) == 0
    svg = out.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "Finish_COCO_Annotator" in svg


def test_svg_without_graphviz_is_a_clear_error(tmp_path):
    [service] = load_services([BUNDLES / "coco-annotator"])
    with pytest.raises(GraphError, match="'no-such-dot' is not installed: apt-get install graphviz"):
        render_svg(service, dot_command="no-such-dot")


def test_each_bundle_readme_shows_its_picture():
    for package in ("coco-annotator", "docker-service-template"):
        readme = (BUNDLES / package / "README.md").read_text()
        [block] = re.findall(r"```mermaid\n(.*?)```", readme, re.S)
        [service] = load_services([BUNDLES / package])
        assert block == mermaid(service), f"bundles/{package}/README.md: regenerate with psa graph bundles/{package}"


def test_psa_graph_prints_mermaid(capsys):
    assert cli.main(["graph", str(BUNDLES / "coco-annotator")]) == 0
    assert capsys.readouterr().out.startswith("stateDiagram-v2\n")
