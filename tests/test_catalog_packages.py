"""Our package zips through the local play of ProActive's package loader (install-package).

The emulator's loader does what ProActive's does (docs/catalog-packages.md): these tests show
that what `psa bundle` writes installs there, that what the loader refuses is refused here with
the loader's own error, and that `psa publish` and the loader agree on whose objects are whose.
"""

import io
import json
import re
import warnings
import zipfile
from pathlib import Path

import pytest

from psa_scripts.bundler import MAX_ENTRIES, MAX_ENTRY_BYTES, BundleError, build_all, build_package, write_zip
from psa_scripts.clients.catalog import CatalogClient
from psa_scripts.clients.http import HttpSettings
from psa_scripts.local.emulator import PackageLoadError
from psa_scripts.publish import Publisher, load_packages
from psa_scripts.scripts import SCRIPTS
from psa_scripts.testing.emulator import ProActiveEmulator

BUNDLES = Path(__file__).resolve().parents[1] / "bundles"
BUCKET = "service-automation-python"
FAST = HttpSettings(backoff_initial=0.01, backoff_max=0.05, log_retries=False)


@pytest.fixture
def emu():
    with ProActiveEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    build_all(BUNDLES, out)
    return out


def catalog_writes(emu, since=0):
    return [r for r in emu.requests[since:] if r.method != "GET" and r.path.startswith("/catalog/")]


def rezip(source, target, change):
    """``target``: the entries of zip ``source`` as ``change(list of (name, bytes))`` returns them."""
    with zipfile.ZipFile(source) as archive:
        entries = [(name, archive.read(name)) for name in archive.namelist()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names
        with zipfile.ZipFile(target, "w") as archive:
            for name, data in change(entries):
                archive.writestr(name, data)
    return target


def edit_metadata(entries, edit):
    out = []
    for name, data in entries:
        if name.endswith("METADATA.json"):
            metadata = json.loads(data)
            edit(metadata)
            data = json.dumps(metadata).encode()
        out.append((name, data))
    return out


def test_every_bundle_installs_with_the_loader(emu, dist):
    for package in load_packages(dist):
        emu.install_package(dist / f"{package.slug}.zip")
    assert emu.buckets[BUCKET]["owner"] == "GROUP:public-objects"
    scripts = build_package(BUNDLES / "service-automation-python")
    coco = build_package(BUNDLES / "coco-annotator")
    expected = {obj.name for package in load_packages(dist) if package.bucket == BUCKET for obj in package.objects}
    assert len(expected) >= 19 and set(emu.buckets[BUCKET]["objects"]) == expected
    for package in (scripts, coco):
        for obj in package.objects:
            [revision] = emu.catalog_revisions(BUCKET, obj.name)
            assert revision["content"] == obj.content
            assert (revision["kind"], revision["content_type"]) == (obj.kind, obj.content_type)
            assert revision["commit_message"] == f"Published by psa-scripts ({package.slug}) (14.1.2)"
    create = emu.requests_to("POST", rf"^/catalog/buckets/{BUCKET}/resources$")[0]
    assert create.query == {
        "name": "Pre_Start_Service", "kind": "Script/pre",
        "commitMessage": "Published by psa-scripts (service-automation-python) (14.1.2)",
        "objectContentType": "text/x-python", "projectName": "Service Automation - Python",
        "tags": "Service Automation,Python,Lifecycle"}
    assert b'filename="Pre_Start_Service.py"' in create.body


def test_the_flat_layout_fails_as_on_the_server(emu, dist, tmp_path):
    """The zips `psa bundle` wrote before: METADATA.json at the root, "file" a bare name."""
    def flatten(entries):
        entries = [(name.split("/", 1)[1], data) for name, data in entries]
        return edit_metadata(entries, lambda m: [o.update(file=o["file"].rsplit("/", 1)[1])
                                                 for o in m["catalog"]["objects"]])

    flat = rezip(dist / "coco-annotator.zip", tmp_path / "coco-annotator.zip", flatten)
    with pytest.raises(PackageLoadError) as raised:
        emu.install_package(flat)
    message = str(raised.value)
    assert message.startswith("Failed to install package into catalog./")
    assert re.search(r"/packageTempDir\w+/coco-annotator/METADATA\.json \(No such file or directory\)$", message)
    assert catalog_writes(emu) == []


def test_a_renamed_zip_fails_as_on_the_server(emu, dist, tmp_path):
    renamed = tmp_path / "coco-annotator-1.zip"
    renamed.write_bytes((dist / "coco-annotator.zip").read_bytes())
    with pytest.raises(PackageLoadError, match=r"coco-annotator-1/METADATA\.json \(No such file or directory\)$"):
        emu.install_package(renamed)


def test_a_duplicate_entry_fails_the_unpacking(emu, dist, tmp_path):
    twice = rezip(dist / "coco-annotator.zip", tmp_path / "coco-annotator.zip", lambda e: e + e[-1:])
    with pytest.raises(PackageLoadError, match=r"FileAlreadyExistsException: .*/coco-annotator/resources/catalog/"
                                               r"Finish_COCO_Annotator\.xml$"):
        emu.install_package(twice)


def test_a_space_in_the_kind_breaks_the_loaders_url(emu, dist, tmp_path):
    spaced = rezip(dist / "coco-annotator.zip", tmp_path / "coco-annotator.zip", lambda e: edit_metadata(
        e, lambda m: m["catalog"]["objects"][0]["metadata"].update(kind="Workflow psa")))
    with pytest.raises(PackageLoadError, match=r"Illegal character in query at index \d+: http://127\.0\.0\.1:\d+"
                                               r"/catalog/buckets/service-automation-python/resources\?name="
                                               r"COCO_Annotator&kind=Workflow psa&"):
        emu.install_package(spaced)
    assert emu.buckets[BUCKET]["objects"] == {}  # the bucket was created first, as on the server


@pytest.mark.parametrize("field, value, java_type", [
    ("projectName", ["P"], "java.util.ArrayList"), ("tags", ["a", "b"], "java.util.ArrayList")])
def test_project_name_and_tags_must_be_strings(emu, dist, tmp_path, field, value, java_type):
    edited = rezip(dist / "coco-annotator.zip", tmp_path / "coco-annotator.zip", lambda e: edit_metadata(
        e, lambda m: m["catalog"]["objects"][0]["metadata"].update({field: value})))
    with pytest.raises(PackageLoadError, match=re.escape(
            f"static java.net.URLEncoder.encode() is applicable for argument types: ({java_type}, java.lang.String)")):
        emu.install_package(edited)


def test_a_file_outside_the_package_folder_is_not_found(emu, dist, tmp_path):
    moved = rezip(dist / "coco-annotator.zip", tmp_path / "coco-annotator.zip", lambda e: edit_metadata(
        e, lambda m: m["catalog"]["objects"][0].update(file="COCO_Annotator.xml")))
    with pytest.raises(PackageLoadError, match=r"/coco-annotator/COCO_Annotator\.xml \(No such file or directory\)$"):
        emu.install_package(moved)


def test_an_entry_escaping_the_temporary_directory_is_refused(emu, dist, tmp_path):
    evil = rezip(dist / "coco-annotator.zip", tmp_path / "coco-annotator.zip",
                 lambda e: e + [("coco-annotator/../../escaped.txt", b"x")])
    with pytest.raises(PackageLoadError, match="would be unpacked outside"):
        emu.install_package(evil)


# --- the rules of psa publish's reader, which the local loader shares (bundler.leaves_folder,
# bundler.bounded_entries): where ProActive's loader would go on, the local one refuses --------------
@pytest.mark.parametrize("file", ["../../../../../../etc/hostname", "/etc/hostname", "resources/../../x.xml"])
def test_an_object_file_leading_outside_the_package_is_refused_before_any_upload(emu, dist, tmp_path, file):
    evil = rezip(dist / "coco-annotator.zip", tmp_path / "coco-annotator.zip", lambda e: edit_metadata(
        e, lambda m: m["catalog"]["objects"][-1].update(file=file)))
    with pytest.raises(PackageLoadError) as raised:
        emu.install_package(evil)
    assert str(raised.value).startswith("Failed to install package into catalog. object ")
    assert str(raised.value).endswith(f": its file {file} leads outside the package folder coco-annotator/ (the real "
                                      "loader uploads it; the local one refuses)")
    assert catalog_writes(emu) == []
    with pytest.raises(BundleError, match="leads outside the package folder"):  # psa publish's reader: the same rule
        load_packages(evil)


def test_a_nul_in_an_object_file_is_one_error_not_a_traceback(emu, dist, tmp_path):
    evil = rezip(dist / "coco-annotator.zip", tmp_path / "coco-annotator.zip", lambda e: edit_metadata(
        e, lambda m: m["catalog"]["objects"][-1].update(file="resources/\u0000.xml")))
    with pytest.raises(PackageLoadError) as raised:
        emu.install_package(evil)
    assert str(raised.value) == "Failed to install package into catalog.Invalid file path"
    assert catalog_writes(emu) == []


def test_a_link_out_of_a_directory_package_is_refused(emu, dist, tmp_path):
    folder = tmp_path / "coco-annotator"
    with zipfile.ZipFile(dist / "coco-annotator.zip") as archive:
        archive.extractall(tmp_path)
    linked = folder / json.loads((folder / "METADATA.json").read_text())["catalog"]["objects"][-1]["file"]
    linked.unlink()
    linked.symlink_to("/etc/hostname")
    with pytest.raises(PackageLoadError, match="leads outside the package folder coco-annotator/"):
        emu.install_package(folder)
    assert catalog_writes(emu) == []


def _deflated(path, entries):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return path


def test_a_zip_bomb_is_refused_before_anything_is_unpacked(emu, dist, tmp_path):
    with zipfile.ZipFile(dist / "coco-annotator.zip") as archive:
        entries = [(name, archive.read(name)) for name in archive.namelist()]
    bomb = _deflated(tmp_path / "coco-annotator.zip", entries + [("coco-annotator/big.bin", bytes(MAX_ENTRY_BYTES + 1))])
    assert bomb.stat().st_size < 1024 * 1024  # 16 MiB of zeros, deflated
    with pytest.raises(PackageLoadError) as raised:
        emu.install_package(bomb)
    assert str(raised.value) == (f"Failed to install package into catalog. {bomb}: entry coco-annotator/big.bin "
                                 f"declares {MAX_ENTRY_BYTES + 1} bytes, more than the {MAX_ENTRY_BYTES} bytes an "
                                 "entry may hold (the local loader refuses a zip past the limits psa publish keeps)")
    assert catalog_writes(emu) == []


def test_a_zip_of_too_many_entries_is_refused(emu, tmp_path):
    crowded = _deflated(tmp_path / "demo.zip", [(f"demo/{number}.txt", b"") for number in range(MAX_ENTRIES + 1)])
    with pytest.raises(PackageLoadError, match=rf"{MAX_ENTRIES + 1} entries, more than a package may hold"):
        emu.install_package(crowded)


@pytest.mark.parametrize("dependencies, cycle", [
    ({"coco-annotator": ["coco-annotator"]}, "coco-annotator.zip -> coco-annotator.zip"),
    ({"coco-annotator": ["service-automation-python"], "service-automation-python": ["coco-annotator"]},
     "coco-annotator.zip -> service-automation-python.zip -> coco-annotator.zip"),
], ids=["itself", "A-B-A"])
def test_a_dependency_cycle_is_reported_not_followed(emu, dist, tmp_path, dependencies, cycle):
    for package in ("coco-annotator", "service-automation-python"):
        rezip(dist / f"{package}.zip", tmp_path / f"{package}.zip", lambda e, package=package: edit_metadata(
            e, lambda m: m.update(dependencies=dependencies.get(package, []))))
    with pytest.raises(PackageLoadError) as raised:
        emu.install_package(tmp_path / "coco-annotator.zip")
    assert str(raised.value) == (f"Failed to install package into catalog. dependency cycle: {cycle} (ProActive's "
                                 "loader would load them until its stack overflows; the local one refuses)")
    assert catalog_writes(emu) == []


def test_a_package_needed_twice_without_a_cycle_is_loaded_twice_as_by_the_loader(emu, dist, tmp_path):
    """coco -> python and coco -> sibling -> python: python comes twice, which is no cycle."""
    rezip(dist / "coco-annotator.zip", tmp_path / "coco-annotator.zip", lambda e: edit_metadata(
        e, lambda m: m.update(dependencies=["service-automation-python", "sibling"])))
    (tmp_path / "service-automation-python.zip").write_bytes((dist / "service-automation-python.zip").read_bytes())
    _deflated(tmp_path / "sibling.zip",
              [("sibling/METADATA.json", json.dumps({"dependencies": ["service-automation-python"]}))])
    log = emu.install_package(tmp_path / "coco-annotator.zip")
    assert [Path(line.split()[-1]).name for line in log if line.startswith(" Loading ")] == [
        "coco-annotator.zip", "service-automation-python.zip", "sibling.zip", "service-automation-python.zip"]


def test_reinstalling_revises_our_objects_and_leaves_edited_ones(emu, dist):
    emu.install_package(dist / "coco-annotator.zip")
    emu.add_catalog_object(BUCKET, "Finish_COCO_Annotator", b"<job/>", commit_message="my fix", username="bob")
    before = len(emu.requests)
    emu.install_package(dist / "coco-annotator.zip")
    assert [(r.method, r.path) for r in catalog_writes(emu, before)] == [
        ("POST", f"/catalog/buckets/{BUCKET}/resources/COCO_Annotator/revisions")]
    assert catalog_writes(emu, before)[0].query == {
        "commitMessage": "Published by psa-scripts (coco-annotator) (14.1.2)",
        "projectName": "Service Automation - Python"}
    assert len(emu.catalog_revisions(BUCKET, "COCO_Annotator")) == 2
    assert emu.catalog_revisions(BUCKET, "Finish_COCO_Annotator")[-1]["content"] == b"<job/>"


def test_publish_and_the_loader_agree_on_whose_objects_are_whose(emu, dist):
    """Installed by the loader, then `psa publish`: ours (same bytes: unchanged). Published by
    `psa publish`, then the loader: ours (a revision)."""
    emu.install_package(dist / "coco-annotator.zip")
    client = CatalogClient(emu.catalog_url, emu.new_session(), FAST)
    summary = Publisher(client, out=io.StringIO()).publish(load_packages(dist / "coco-annotator.zip"))
    assert [o.action for o in summary.outcomes] == ["unchanged", "unchanged"]

    emu.add_catalog_object(BUCKET, "COCO_Annotator", b"<job/>", commit_message="Published by psa-scripts "
                           "(coco-annotator) (0.0.1)", username="alice")  # an older publish of ours
    summary = Publisher(client, out=io.StringIO()).publish(load_packages(dist / "coco-annotator.zip"))
    assert [o.action for o in summary.outcomes] == ["revised", "unchanged"]
    version = load_packages(dist / "coco-annotator.zip")[0].version
    assert emu.catalog_revisions(BUCKET, "COCO_Annotator")[-1]["commit_message"] == \
        f"Published by psa-scripts (coco-annotator) ({version})"
    before = len(emu.requests)
    emu.install_package(dist / "coco-annotator.zip")
    assert len(catalog_writes(emu, before)) == 2  # both objects were last committed by us: revised


def test_a_user_group_owns_the_bucket_the_loader_creates_or_finds(emu, tmp_path):
    package = build_package(BUNDLES / "coco-annotator")
    from dataclasses import replace

    write_zip(replace(package, user_group="data-team"), tmp_path / "coco-annotator.zip")
    emu.install_package(tmp_path / "coco-annotator.zip")
    assert emu.buckets[BUCKET]["owner"] == "GROUP:data-team"
    emu.buckets[BUCKET]["owner"] = "GROUP:someone-else"
    emu.install_package(tmp_path / "coco-annotator.zip")
    [update] = emu.requests_to("PUT", rf"^/catalog/buckets/{BUCKET}$")
    assert update.query == {"owner": "GROUP:data-team"} and emu.buckets[BUCKET]["owner"] == "GROUP:data-team"


def test_dependencies_are_loaded_first_from_sibling_zips(emu, dist, tmp_path):
    with_dependency = rezip(dist / "coco-annotator.zip", tmp_path / "coco-annotator.zip", lambda e: edit_metadata(
        e, lambda m: m.update(dependencies=["service-automation-python"])))
    (tmp_path / "service-automation-python.zip").write_bytes((dist / "service-automation-python.zip").read_bytes())
    log = emu.install_package(with_dependency)
    loading = [line for line in log if line.startswith(" Loading ")]
    assert [Path(line.split()[-1]).name for line in loading] == ["coco-annotator.zip", "service-automation-python.zip"]
    first_object = emu.requests_to("POST", rf"^/catalog/buckets/{BUCKET}/resources$")[0].query["name"]
    assert first_object == "Pre_Start_Service"
    assert len(emu.buckets[BUCKET]["objects"]) == len(load_packages(dist)[0].objects) + 2
