"""psa publish through the loopback Catalog: create, revise only what changed, respect user edits."""

import io
import zipfile
from pathlib import Path

import pytest

from psa_scripts.bundler import MAX_ENTRY_BYTES, BundleError, CatalogObject, Package, build_all
from psa_scripts.clients.catalog import CatalogClient, multipart
from psa_scripts.clients.http import HttpSettings
from psa_scripts.errors import RestError
from psa_scripts.publish import Publisher, load_packages
from psa_scripts.testing.emulator import ProActiveEmulator

BUNDLES = Path(__file__).resolve().parents[1] / "bundles"
BUCKET = "psa-test-bucket"
PREFIX = "Published by psa-scripts (demo)"
FAST = HttpSettings(backoff_initial=0.01, backoff_max=0.05, log_retries=False)


def package(**contents):
    objects = tuple(
        CatalogObject(name, "Script/task", "text/x-python", f"resources/catalog/{name}.py", content.encode(), "Project",
                      "a,b", PREFIX)
        for name, content in (contents or {"Alpha": "print('a')\n", "Beta": "print('b')\n"}).items())
    return Package(slug="demo", name="Demo", version="1.2.3", bucket=BUCKET, objects=objects)


@pytest.fixture
def emu():
    with ProActiveEmulator() as emulator:
        yield emulator


@pytest.fixture
def client(emu):
    return CatalogClient(emu.catalog_url, emu.new_session(), FAST)


def publish(client, packages, **options):
    out = io.StringIO()
    summary = Publisher(client, out=out, **options).publish(packages)
    return summary, out.getvalue()


def writes(emu, since=0):
    return [(r.method, r.path) for r in emu.requests[since:] if r.method != "GET"]


def test_first_publish_creates_the_bucket_and_every_object(emu, client):
    summary, output = publish(client, [package()])
    assert summary.ok and summary.count("created") == 2
    assert writes(emu) == [("POST", "/catalog/buckets"), ("POST", f"/catalog/buckets/{BUCKET}/resources"),
                           ("POST", f"/catalog/buckets/{BUCKET}/resources")]
    assert emu.requests_to("POST", "/catalog/buckets$")[0].query == {"name": BUCKET, "owner": "GROUP:public-objects"}
    revision = emu.catalog_revisions(BUCKET, "Alpha")[-1]
    assert revision["content"] == b"print('a')\n"
    assert revision["kind"] == "Script/task" and revision["content_type"] == "text/x-python"
    assert revision["commit_message"] == f"{PREFIX} (1.2.3)"  # shaped like the package loader's
    [create, _] = emu.requests_to("POST", f"/catalog/buckets/{BUCKET}/resources$")
    assert create.query == {"name": "Alpha", "kind": "Script/task", "commitMessage": f"{PREFIX} (1.2.3)",
                            "objectContentType": "text/x-python", "projectName": "Project", "tags": "a,b"}
    assert b'filename="Alpha.py"' in create.body  # the file's own name, not its path in the zip
    assert "[1/2] created      Alpha" in output and output.rstrip().endswith(
        "Summary: created 2, revised 0, unchanged 0, skipped 0, failed 0")


def test_unchanged_republish_writes_nothing(emu, client):
    publish(client, [package()])
    before = len(emu.requests)
    summary, output = publish(client, [package()])
    assert summary.count("unchanged") == 2 and writes(emu, before) == []


def test_one_changed_object_gets_one_revision(emu, client):
    publish(client, [package()])
    before = len(emu.requests)
    summary, _ = publish(client, [package(Alpha="print('a')\n", Beta="print('b2')\n")])
    assert [(o.name, o.action) for o in summary.outcomes] == [("Alpha", "unchanged"), ("Beta", "revised")]
    assert writes(emu, before) == [("POST", f"/catalog/buckets/{BUCKET}/resources/Beta/revisions")]
    assert [r["content"] for r in emu.catalog_revisions(BUCKET, "Beta")] == [b"print('b')\n", b"print('b2')\n"]


def test_a_user_edited_object_is_left_alone_unless_forced(emu, client):
    publish(client, [package()])
    emu.add_catalog_object(BUCKET, "Beta", b"print('my fix')\n", kind="Script/task", commit_message="my fix",
                           username="bob")
    before = len(emu.requests)
    summary, output = publish(client, [package(Alpha="print('a2')\n", Beta="print('b2')\n")])
    assert [(o.name, o.action) for o in summary.outcomes] == [("Alpha", "revised"), ("Beta", "skipped")]
    assert summary.ok
    assert "Beta: edited by bob (last commit: 'my fix'); left alone, --force replaces it" in output
    assert writes(emu, before) == [("POST", f"/catalog/buckets/{BUCKET}/resources/Alpha/revisions")]

    summary, output = publish(client, [package(Alpha="print('a2')\n", Beta="print('b2')\n")], force=True)
    assert [(o.name, o.action) for o in summary.outcomes] == [("Alpha", "unchanged"), ("Beta", "revised")]
    assert "replacing the edit of bob (--force)" in output
    assert emu.catalog_revisions(BUCKET, "Beta")[-1]["content"] == b"print('b2')\n"


def test_a_user_edit_equal_to_ours_is_unchanged(emu, client):
    emu.add_catalog_object(BUCKET, "Alpha", b"print('a')\n", commit_message="copied by hand", username="bob")
    summary, _ = publish(client, [package()])
    assert [(o.name, o.action) for o in summary.outcomes] == [("Alpha", "unchanged"), ("Beta", "created")]


def test_dry_run_reads_and_plans_but_writes_nothing(emu, client):
    summary, output = publish(client, [package()], dry_run=True)
    assert writes(emu) == [] and summary.count("created") == 2
    assert f"would create bucket {BUCKET} (owner GROUP:public-objects): POST /buckets" in output
    assert f"would create Alpha: Script/task, 11 bytes: POST /buckets/{BUCKET}/resources" in output
    assert output.rstrip().endswith("Dry run, nothing written: would create 2, would revise 0, unchanged 0, "
                                    "skipped 0, failed 0")
    publish(client, [package()])
    emu.add_catalog_object(BUCKET, "Beta", b"x", commit_message="mine", username="bob")
    before = len(emu.requests)
    summary, output = publish(client, [package(Alpha="new\n", Beta="new\n")], dry_run=True)
    assert writes(emu, before) == []
    assert [(o.name, o.action) for o in summary.outcomes] == [("Alpha", "revised"), ("Beta", "skipped")]
    assert f"would revise Alpha: 4 bytes: POST /buckets/{BUCKET}/resources/Alpha/revisions" in output


def test_an_invalid_session_fails_every_object_with_one_clear_error(emu):
    client = CatalogClient(emu.catalog_url, "expired-session", FAST)
    summary, output = publish(client, [package()])
    assert not summary.ok and summary.count("failed") == 2
    assert "FAILED    every object of demo: GET" in output
    assert "HTTP 401: you are not connected" in output
    assert "expired-session" not in output
    assert writes(emu) == []


def test_a_503_burst_is_retried(emu, client):
    emu.fail("POST", r"/resources$", 503, times=2)
    emu.fail("GET", r"/buckets$", 503, times=1)
    summary, _ = publish(client, [package()])
    assert summary.ok and summary.count("created") == 2
    assert len(emu.requests_to("POST", r"/resources$")) == 4  # 2 refused, then Alpha and Beta
    assert [r["name"] for r in (emu.catalog_revisions(BUCKET, n)[0] for n in ("Alpha", "Beta"))] == ["Alpha", "Beta"]


def test_one_failing_object_does_not_stop_the_others(emu, client):
    emu.fail("POST", r"/resources$", 500, times=1)
    summary, output = publish(client, [package()])
    assert [(o.name, o.action) for o in summary.outcomes] == [("Alpha", "failed"), ("Beta", "created")]
    assert "FAILED       Alpha: POST" in output and "HTTP 500" in output
    assert not summary.ok


def test_the_whole_bundle_publishes_then_republishes_with_no_write(emu, client, tmp_path):
    build_all(BUNDLES, tmp_path)
    packages = load_packages(tmp_path)
    assert packages[0].slug == "service-automation-python"  # the scripts before the workflows using them
    summary, _ = publish(client, packages)
    assert summary.ok and summary.count("created") == sum(len(p.objects) for p in packages)
    before = len(emu.requests)
    summary, _ = publish(client, packages)
    assert writes(emu, before) == [] and summary.count("unchanged") == sum(len(p.objects) for p in packages)
    assert emu.catalog_revisions("service-automation-python", "COCO_Annotator")[0]["kind"] == "Workflow/psa"


def test_publish_refuses_a_zip_the_loader_could_not_install(tmp_path):
    """The flat zips `psa bundle` used to write: METADATA.json at the root."""
    flat = tmp_path / "coco-annotator.zip"
    with zipfile.ZipFile(flat, "w") as archive:
        archive.writestr("METADATA.json", "{}")
    with pytest.raises(BundleError, match=r"METADATA.json is at the top of the zip.*rebuild the package with `psa bundle`"):
        load_packages(tmp_path)


def test_publish_refuses_a_zip_bomb_naming_the_entry_and_the_limit(tmp_path):
    bomb = tmp_path / "demo.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("demo/METADATA.json", "{}")
        archive.writestr("demo/resources/catalog/Big.py", bytes(MAX_ENTRY_BYTES + 1))
    with pytest.raises(BundleError) as raised:
        load_packages(bomb)
    assert str(raised.value) == (f"{bomb}: entry demo/resources/catalog/Big.py declares {MAX_ENTRY_BYTES + 1} bytes, "
                                 f"more than the {MAX_ENTRY_BYTES} bytes an entry may hold")


def test_load_packages_errors(tmp_path):
    with pytest.raises(BundleError, match="holds no package zip: run `psa bundle` first"):
        load_packages(tmp_path)
    with pytest.raises(BundleError, match="does not exist"):
        load_packages(tmp_path / "nope")


def test_multipart_body_carries_the_bytes_exactly():
    content = b"a\r\nb\n--not-a-boundary\r\n"
    body, header = multipart('we"ird.py', content, "text/x-python")
    boundary = header.split("boundary=")[1]
    assert body.startswith(f"--{boundary}\r\n".encode()) and body.endswith(f"\r\n--{boundary}--\r\n".encode())
    assert b'filename="we_ird.py"' in body and b"\r\n\r\n" + content + b"\r\n--" in body


LOGIN_PAGE = "<!DOCTYPE html><html><body><form action='/login'>Sign in</form></body></html>"


def test_an_html_answer_to_the_bucket_listing_fails_every_object_clearly(emu, client):
    emu.add_route("GET", r"^/catalog/buckets$", lambda req: (200, LOGIN_PAGE))
    summary, output = publish(client, [package()])
    assert not summary.ok and summary.count("failed") == 2
    assert f"FAILED    every object of demo: GET {emu.catalog_url}/buckets failed with HTTP 200: " \
           "expected JSON, got: <!DOCTYPE html>" in output
    assert writes(emu) == []


def test_an_html_answer_for_one_bucket_does_not_stop_the_other_packages(emu, client):
    other = Package(slug="other", name="Other", version="1", bucket="other-bucket", objects=package().objects)
    emu.add_catalog_object(BUCKET, "Gamma", b"x")  # the bucket exists: its objects are listed
    emu.add_route("GET", rf"^/catalog/buckets/{BUCKET}/resources$", lambda req: (200, LOGIN_PAGE))
    summary, output = publish(client, [package(), other])
    assert [(o.package, o.action) for o in summary.outcomes] == [
        ("demo", "failed"), ("demo", "failed"), ("other", "created"), ("other", "created")]
    assert "expected JSON, got: <!DOCTYPE html>" in output


@pytest.mark.parametrize("payload", [{"name": "not a list"}, ["just-a-name"], [{"name": 3}, 7]])
def test_json_of_the_wrong_shape_is_a_clear_error(emu, client, payload):
    emu.add_route("GET", rf"^/catalog/buckets/{BUCKET}/resources$", lambda req: (200, payload))
    emu.add_catalog_object(BUCKET, "Gamma", b"x")
    summary, output = publish(client, [package()])
    assert summary.count("failed") == 2
    assert "FAILED    every object of demo: GET" in output and "expected a list of objects" in output


def test_catalog_client_reads_parse_json_or_raise_rest_error(emu, client):
    emu.add_catalog_object(BUCKET, "Alpha", b"print('a')\n", commit_message="c", username="bob")
    assert client.get_object(BUCKET, "Alpha").username == "bob"
    assert [e.name for e in client.list_revisions(BUCKET, "Alpha")] == ["Alpha"]
    objects = f"^/catalog/buckets/{BUCKET}/resources"
    for path in (objects + "/Alpha$", objects + "/Alpha/revisions$", objects + "$", r"^/catalog/buckets$"):
        emu.add_route("GET", path, lambda req, **_: (200, LOGIN_PAGE))
    for call in (lambda: client.get_object(BUCKET, "Alpha"), lambda: client.list_revisions(BUCKET, "Alpha"),
                 lambda: client.list_objects(BUCKET), client.bucket_names):
        with pytest.raises(RestError, match="HTTP 200: expected JSON, got: <!DOCTYPE html>"):
            call()
