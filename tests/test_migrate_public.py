"""psa migrate end to end on public PSA workflows (tests/fixtures/public_psa: copies of
ow2-proactive/proactive-examples files, listed with their paths in that folder's README.md):
no Groovy-bucket reference left, psa validate finds no error, a second run changes nothing."""

import shutil
from pathlib import Path

from psa_scripts.cli import main
from psa_scripts.workflow.model import parse_workflow

PUBLIC = Path(__file__).resolve().parent / "fixtures" / "public_psa"
BUNDLES = Path(__file__).resolve().parents[1] / "bundles"


def scripts(path):
    return [(t.name, s.slot, s.catalog.name, s.language, s.arguments)
            for t, s in parse_workflow(path).job.scripts() if s.catalog]


def test_the_public_workflows_migrate_cleanly_and_validate(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["migrate", str(PUBLIC), "--out", str(out)]) == 1
    report = capsys.readouterr().out
    assert report.splitlines()[-1] == "6 workflow file(s): 6 migrated, 0 unchanged, 1 with something left for you"
    # The one thing left: OpenRefine's own bash starts its container without the instance's labels, and
    # its Finish runs Finish_Action (now Finish_Docker_Service). COCO Annotator's finishes its own way.
    left = [line for line in report.splitlines() if ": left: " in line]
    assert len(left) == 1 and "OpenRefine.xml:" in left[0] and "task Start_OpenRefine, executable script " \
        "starts its container without the instance's labels" in left[0]
    assert '      fix: add --label io.ow2.proactive.psa.instance-id="$variables_PCA_INSTANCE_ID" --label ' \
        "io.ow2.proactive.psa.service-id=OpenRefine to its docker run" in report
    for path in out.rglob("*.xml"):
        assert "/buckets/service-automation/" not in path.read_text(), path
    assert main(["validate", str(out), "--bundles", str(BUNDLES)]) == 0
    assert "6 workflow file(s) checked: no problem found" in capsys.readouterr().out
    # Again: nothing to change.
    again = tmp_path / "again"
    assert main(["migrate", str(out), "--out", str(again)]) == 1  # the same thing left, nothing changed
    for path in out.rglob("*.xml"):
        assert (again / path.relative_to(out)).read_bytes() == path.read_bytes()


def test_what_each_public_workflow_becomes(tmp_path, capsys):
    out = tmp_path / "out"
    main(["migrate", str(PUBLIC), "--out", str(out)])
    capsys.readouterr()
    coco = scripts(out / "COCOAnnotator" / "COCO_Annotator.xml")
    assert [(task, slot, name) for task, slot, name, language, _ in coco if language == "cpython"] == [
        ("Start_COCO_Annotator", "selection", "Check_Not_Used_By_Other_Service"),
        ("Start_COCO_Annotator", "pre", "Pre_Start_Service"),
        ("Start_COCO_Annotator", "post", "Post_Start_Service"),
        ("Start_COCO_Annotator", "cleaning", "Clean_Start_Service"),
        ("Loop_Over_Instance_Status", "executable", "Check_Instance_Status"),
        ("Loop_Over_Instance_Status", "flow", "Fetch_Logs"),
    ]
    assert ("Finish_MLOps_Dashboard_D", "executable", "Finish_Docker_Service", "cpython", ()) in \
        scripts(out / "MLOpsDashboard" / "Finish_MLOps_Dashboard.xml")
    cleans = [task for task, slot, name, *_ in scripts(out / "JupyterLab" / "Pause_JupyterLab.xml")
              if name == "Clean_Trigger_Action"]
    assert cleans == ["Pause_JupyterLab_D", "Pause_JupyterLab_S"]  # the two branches of the if
    refine = scripts(out / "OpenRefine" / "OpenRefine.xml")
    assert ("Start_OpenRefine", "cleaning", "Clean_Start_Service", "cpython", ()) in refine  # added: it had none
    mlops = parse_workflow(out / "MLOpsDashboard" / "Finish_MLOps_Dashboard.xml").job
    assert [t.name for t in mlops.tasks] == ["Pre_Trigger_Action", "Finish_MLOps_Dashboard_D"]
    assert mlops.task("Finish_MLOps_Dashboard_D").depends == ("Pre_Trigger_Action",)


def test_the_service_s_own_tasks_are_kept_byte_for_byte(tmp_path, capsys):
    source = tmp_path / "src"
    shutil.copytree(PUBLIC, source)
    assert main(["migrate", str(source), "--in-place"]) == 1
    capsys.readouterr()
    before = (PUBLIC / "COCOAnnotator" / "COCO_Annotator.xml").read_text()
    after = (source / "COCOAnnotator" / "COCO_Annotator.xml").read_text()
    # The bash deployment (between its CDATA markers) and every line without a Groovy reference.
    start = before.index("<![CDATA[", before.index('name="Start_COCO_Annotator"'))
    start = before.index("<![CDATA[", before.index("<scriptExecutable>", start))
    end = before.index("]]>", start)
    assert before[start:end] in after
    kept = [line for line in before.splitlines() if "/buckets/service-automation/" not in line]
    assert [line for line in after.splitlines() if "/buckets/service-automation-python/" not in line] == kept
