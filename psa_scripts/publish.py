"""``psa publish``: send built packages to a Catalog, writing only what must change.

For each package: create its bucket when missing; then for each object
- absent → create it;
- same bytes as ours → leave it (an unchanged republish writes nothing);
- different, and its last commit message starts with the package's commit message
  (we wrote it: the rule of ProActive's own package loader, docs/catalog-packages.md)
  → add a revision;
- different, and someone else committed last (a user's edit) → skip it, unless ``force``.
One object failing is reported and the others go on; ``dry_run`` reads the Catalog and
prints the plan without writing.

``python -m psa_scripts.publish DIST`` rehearses a publish against a loopback emulator
(what ``make demo`` shows): a dry run on an empty Catalog, the publish, a republish.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, TextIO, Tuple

from .bundler import BundleError, CatalogObject, Package, default_commit_message, read_zip
from .clients import routes
from .clients.catalog import CatalogClient, CatalogEntry
from .errors import PsaScriptError

ACTIONS = ("created", "revised", "unchanged", "skipped", "failed")
_PLANNED = {"created": "would create", "revised": "would revise"}


@dataclass
class Outcome:
    """What happened to one object (or, with a dry run, what would)."""

    package: str
    bucket: str
    name: str
    action: str  # one of ACTIONS
    detail: str = ""


@dataclass
class Summary:
    outcomes: List[Outcome] = field(default_factory=list)
    dry_run: bool = False

    def count(self, action: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.action == action)

    @property
    def ok(self) -> bool:
        return self.count("failed") == 0

    def line(self) -> str:
        counts = ", ".join(f"{_PLANNED.get(a, a) if self.dry_run else a} {self.count(a)}" for a in ACTIONS)
        return ("Dry run, nothing written: " if self.dry_run else "Summary: ") + counts


def load_packages(path: Path) -> List[Package]:
    """The packages of a ``dist`` directory (every ``*.zip``, those with scripts first: the
    workflows use them) or of one zip."""
    if path.is_dir():
        zips = sorted(path.glob("*.zip"))
        if not zips:
            raise BundleError(f"{path} holds no package zip: run `psa bundle` first")
        packages = [read_zip(z) for z in zips]
        return sorted(packages, key=lambda p: not any(o.kind.startswith("Script/") for o in p.objects))
    if path.is_file():
        return [read_zip(path)]
    raise BundleError(f"{path} does not exist: give a dist directory or a package zip")


def _commit_prefix(package: Package, obj: CatalogObject) -> str:
    return obj.commit_message or default_commit_message(package.slug)


class Publisher:
    """Publishes packages through one CatalogClient, printing progress to ``out``."""

    def __init__(self, client: CatalogClient, *, force: bool = False, dry_run: bool = False,
                 out: Optional[TextIO] = None) -> None:
        self.client = client
        self.force = force
        self.dry_run = dry_run
        self.out = out or sys.stdout
        self._buckets: Optional[set] = None
        self._planned: set = set()  # buckets a dry run would create

    def _say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def publish(self, packages: Sequence[Package]) -> Summary:
        summary = Summary(dry_run=self.dry_run)
        for package in packages:
            summary.outcomes += self._publish_package(package)
        self._say(summary.line())
        return summary

    def _publish_package(self, package: Package) -> List[Outcome]:
        total = len(package.objects)
        self._say(f"{package.slug} {package.version} -> bucket {package.bucket} ({total} objects)")
        try:
            existing = self._existing_objects(package)
        except PsaScriptError as error:
            self._say(f"  FAILED    every object of {package.slug}: {error}")
            return [Outcome(package.slug, package.bucket, o.name, "failed", str(error)) for o in package.objects]
        outcomes = []
        for number, obj in enumerate(package.objects, 1):
            try:
                action, detail = self._publish_object(package, obj, existing.get(obj.name))
            except PsaScriptError as error:
                action, detail = "failed", str(error)
            outcomes.append(Outcome(package.slug, package.bucket, obj.name, action, detail))
            label = "FAILED" if action == "failed" else (_PLANNED.get(action, action) if self.dry_run else action)
            self._say(f"  [{number:>{len(str(total))}}/{total}] {label:<12} {obj.name}" + (f": {detail}" if detail else ""))
        return outcomes

    def _existing_objects(self, package: Package) -> Dict[str, CatalogEntry]:
        if self._buckets is None:
            self._buckets = set(self.client.bucket_names())
        if package.bucket in self._planned:
            return {}
        if package.bucket in self._buckets:
            return {entry.name: entry for entry in self.client.list_objects(package.bucket)}
        owner = f"GROUP:{package.user_group}"
        if self.dry_run:
            path = routes.CATALOG_CREATE_BUCKET.expand()
            self._say(f"  would create bucket {package.bucket} (owner {owner}): POST {path}")
            self._planned.add(package.bucket)
            return {}
        else:
            self.client.create_bucket(package.bucket, package.user_group)
            self._say(f"  created bucket {package.bucket} (owner {owner})")
        self._buckets.add(package.bucket)
        return {}

    def _publish_object(self, package: Package, obj: CatalogObject,
                        entry: Optional[CatalogEntry]) -> Tuple[str, str]:
        prefix = _commit_prefix(package, obj)
        # Shaped like the loader's "<message> (<server version>)", with the package's version.
        message = f"{prefix} ({package.version})" if package.version else prefix
        if entry is None:
            if self.dry_run:
                path = routes.CATALOG_CREATE_OBJECT.expand(bucket=package.bucket)
                return "created", f"{obj.kind}, {len(obj.content)} bytes: POST {path}"
            self.client.create_object(
                package.bucket, obj.name, kind=obj.kind, content=obj.content, content_type=obj.content_type,
                commit_message=message, filename=obj.filename, project_name=obj.project_name, tags=obj.tags)
            return "created", obj.kind
        if self.client.get_raw(package.bucket, obj.name) == obj.content:
            return "unchanged", ""
        ours = entry.commit_message.startswith(prefix)
        if not ours and not self.force:
            who = entry.username or "someone else"
            return "skipped", (f"edited by {who} (last commit: {entry.commit_message!r}); "
                               "left alone, --force replaces it")
        detail = "" if ours else f"replacing the edit of {entry.username or 'someone else'} (--force)"
        if self.dry_run:
            path = routes.CATALOG_CREATE_REVISION.expand(bucket=package.bucket, name=obj.name)
            return "revised", f"{len(obj.content)} bytes: POST {path}" + (f"; {detail}" if detail else "")
        self.client.create_revision(
            package.bucket, obj.name, content=obj.content, content_type=obj.content_type, commit_message=message,
            filename=obj.filename, project_name=obj.project_name, tags=obj.tags)
        return "revised", detail


def rehearse(dist: Path, out: Optional[TextIO] = None) -> int:
    """A dry run, a publish and a republish of ``dist`` on a loopback emulator."""
    from .clients.http import HttpSettings
    from .local.emulator import ProActiveEmulator

    out = out or sys.stdout
    packages = load_packages(dist)
    with ProActiveEmulator() as emulator:
        client = CatalogClient(emulator.catalog_url, emulator.new_session(), HttpSettings())
        steps = (("psa publish --dry-run (empty Catalog)", True), ("psa publish", False),
                 ("psa publish again (nothing changed)", False))
        for title, dry_run in steps:
            print(f"\n== {title} -> {emulator.catalog_url}", file=out)
            before = len(emulator.requests)
            summary = Publisher(client, dry_run=dry_run, out=out).publish(packages)
            writes = [r for r in emulator.requests[before:] if r.method != "GET"]
            print(f"   ({len(writes)} write requests)", file=out)
            if not summary.ok:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(rehearse(Path(sys.argv[1] if len(sys.argv) > 1 else "dist")))
