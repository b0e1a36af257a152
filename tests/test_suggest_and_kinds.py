"""The two small helpers of psa validate's precision: "did you mean" (psa_scripts.suggest) and the
kind a package gives a workflow file (psa_scripts.package_kinds)."""

import json

import pytest

from psa_scripts.package_kinds import PackageKinds, is_service_kind
from psa_scripts.suggest import closest, did_you_mean


@pytest.mark.parametrize("name, candidates, found", [
    ("RUNING", ["VOID", "RUNNING"], "RUNNING"),
    ("Running", ["RUNNING"], "RUNNING"),  # case ignored
    ("RUNNING", ["RUNNING"], None),  # the name itself: nothing to suggest
    ("STOPPED", ["STARTED"], None),  # too far: no wrong suggestion
    ("PA_CATALOG_REST_ULR", ["PA_JOB_ID", "PA_CATALOG_REST_URL", "PA_SCHEDULER_REST_URL"], "PA_CATALOG_REST_URL"),
    ("x", [], None),
])
def test_closest(name, candidates, found):
    assert closest(name, candidates) == found


def test_did_you_mean_is_appended_to_a_message_or_empty():
    assert did_you_mean("Fetch_Log", ["Fetch_Logs"]) == " (did you mean Fetch_Logs?)"
    assert did_you_mean("Something_Else", ["Fetch_Logs"]) == ""


@pytest.mark.parametrize("kind, service", [("Workflow/psa", True), ("workflow/PSA ", True),
                                           ("Workflow/standard", False), (None, False), ("", False)])
def test_is_service_kind(kind, service):
    assert is_service_kind(kind) is service


def test_the_kind_from_metadata_json_above_the_file(tmp_path):
    (tmp_path / "resources" / "catalog").mkdir(parents=True)
    (tmp_path / "METADATA.json").write_text(json.dumps({"catalog": {"objects": [
        {"name": "A", "metadata": {"kind": "Workflow/psa"}, "file": "resources/catalog/A.xml"},
        {"name": "B", "metadata": {"kind": "Workflow/standard"}, "file": "resources/catalog/B.xml"},
        {"name": "C", "metadata": "not an object", "file": "resources/catalog/C.xml"}]}}))
    kinds = PackageKinds()
    catalog = tmp_path / "resources" / "catalog"
    assert [kinds.kind(catalog / f"{name}.xml") for name in "ABCD"] == ["Workflow/psa", "Workflow/standard", None, None]


def test_the_kind_from_our_package_json(tmp_path):
    kinds = PackageKinds()
    (tmp_path / "package.json").write_text(json.dumps({"slug": "s", "workflowKind": "Workflow/standard"}))
    assert kinds.kind(tmp_path / "W.xml") == "Workflow/standard"
    (tmp_path / "package.json").write_text(json.dumps({"slug": "s"}))
    assert kinds.kind(tmp_path / "W.xml") == "Workflow/psa"  # what psa bundle writes by default


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"catalog": {"objects": "none"}}'])
def test_a_package_file_that_does_not_parse_gives_no_kind(tmp_path, text):
    (tmp_path / "METADATA.json").write_text(text)
    assert PackageKinds().kind(tmp_path / "W.xml") is None
