"""psa bundle and psa publish validate first: a package whose workflows have errors is refused
(exit 1, the findings and one line saying nothing was written or sent), as ``cargo publish`` refuses
a crate that does not build; ``--no-validate`` skips the check."""

import shutil
from pathlib import Path

import pytest

from psa_scripts.cli import main
from psa_scripts.testing.emulator import ProActiveEmulator

BUNDLES = Path(__file__).resolve().parents[1] / "bundles"
WORKFLOW = "coco-annotator/COCO_Annotator.xml"


@pytest.fixture
def bundles(tmp_path):
    """A copy of the coco-annotator package, to break."""
    copy = tmp_path / "bundles"
    shutil.copytree(BUNDLES / "coco-annotator", copy / "coco-annotator")
    return copy


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def break_xml(bundles):
    path = bundles / WORKFLOW
    path.write_text(path.read_text().replace("</taskFlow>", "</taskflow>", 1))
    return path


def test_bundle_refuses_a_workflow_that_is_not_well_formed_and_writes_no_zip(capsys, bundles, tmp_path):
    path = break_xml(bundles)
    out_dir = tmp_path / "dist"
    code, out, err = run(capsys, "bundle", "--bundles", bundles, "--out", out_dir)
    assert (code, out) == (1, "")
    first, fix, last = err.splitlines()
    assert first.startswith(f"{path}:") and ": PA100 error: not well-formed XML" in first
    assert last == ("psa bundle: 1 error(s) found by psa validate: nothing written (fix them, or give "
                    "--no-validate to bundle anyway)")
    assert not out_dir.exists()


def test_bundle_refuses_a_service_error_too(capsys, bundles, tmp_path):
    path = bundles / WORKFLOW
    path.write_text(path.read_text().replace('value="(VOID,RUNNING)"', 'value="(VOID,RUNING)"'))
    code, _, err = run(capsys, "bundle", "--bundles", bundles, "--out", tmp_path / "dist")
    assert code == 1 and " PSA205 error: " in err and not (tmp_path / "dist").exists()


def test_no_validate_bundles_anyway(capsys, bundles, tmp_path):
    break_xml(bundles)
    code, out, _ = run(capsys, "bundle", "--bundles", bundles, "--out", tmp_path / "dist", "--no-validate")
    assert code == 0 and (tmp_path / "dist" / "coco-annotator.zip").is_file()


def test_publish_refuses_a_package_with_errors_and_sends_nothing(capsys, bundles, tmp_path):
    break_xml(bundles)
    assert run(capsys, "bundle", "--bundles", bundles, "--out", tmp_path / "dist", "--no-validate")[0] == 0
    with ProActiveEmulator() as emulator:
        session = emulator.new_session()
        code, out, err = run(capsys, "publish", tmp_path / "dist", "--url", emulator.catalog_url, "--session-id",
                             session)
        assert (code, out) == (1, "")
        findings = [line for line in err.splitlines() if " PA100 error: " in line]
        assert len(findings) == 1 and findings[0].startswith(
            "coco-annotator.zip!coco-annotator/resources/catalog/COCO_Annotator.xml:")
        assert err.endswith("psa publish: 1 error(s) found by psa validate: nothing sent (fix them, or give "
                            "--no-validate to publish anyway)\n")
        assert [r for r in emulator.requests if "/catalog/" in r.path] == []
        code, out, _ = run(capsys, "publish", tmp_path / "dist", "--url", emulator.catalog_url, "--session-id",
                           session, "--no-validate")
        assert code == 0 and "created 2" in out
