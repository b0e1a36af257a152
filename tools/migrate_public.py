"""Measure ``psa migrate`` on the public PSA workflows of ow2-proactive/proactive-examples.

    python tools/migrate_public.py PROACTIVE_EXAMPLES_GIT_DIR [--keep DIR]

Reads every workflow its packages declare ``Workflow/psa`` (METADATA.json) straight from the git
directory (``git show``; no work tree needed), migrates each in memory, validates the migrated set
with ``psa validate`` (every workflow of a package directory together, as a user would) and prints:
the Groovy-bucket references before and after, the files changed, the changes, the findings of
``psa validate`` by severity, and every workflow left for the user with the reason. ``--keep DIR``
writes the migrated files there. Exit status 0 when no Groovy reference is left and validate finds
no error.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from psa_scripts.migration.counterparts import GROOVY_BUCKET
from psa_scripts.migration.rules import Siblings, migrate_workflow
from psa_scripts.validate import default_known, validate_paths
from psa_scripts.workflow.model import parse_workflow_bytes

REPOSITORY = Path(__file__).resolve().parents[1]


def _git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True, timeout=120).stdout


def public_workflows(repo: Path):
    """(path in the repository, bytes) of every Workflow/psa file its packages declare."""
    names = _git(repo, "ls-tree", "-r", "--name-only", "HEAD").decode().split("\n")
    for metadata in sorted(n for n in names if n.count("/") == 1 and n.endswith("/METADATA.json")):
        package = json.loads(_git(repo, "show", f"HEAD:{metadata}"))
        for entry in (package.get("catalog") or {}).get("objects", []):
            if entry["metadata"]["kind"] == "Workflow/psa":
                path = f"{metadata.split('/')[0]}/{entry['file']}"
                yield path, _git(repo, "show", f"HEAD:{path}")


def groovy_references(data: bytes) -> int:
    job = parse_workflow_bytes(data).job
    return sum(1 for _, s in job.scripts() if s.catalog is not None and s.catalog.bucket == GROOVY_BUCKET)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path, help="a git directory of ow2-proactive/proactive-examples")
    parser.add_argument("--keep", type=Path, help="write the migrated workflows under this directory")
    args = parser.parse_args()
    before = after = changed = changes = 0
    left: Counter = Counter()
    with tempfile.TemporaryDirectory() as scratch:
        out = args.keep or Path(scratch)
        workflows = list(public_workflows(args.repo))
        siblings = Siblings()  # all together, as `psa migrate` given the whole export
        for path, data in workflows:
            siblings.add(parse_workflow_bytes(data, path))
        for path, data in workflows:
            migration = migrate_workflow(data, path, siblings=siblings)
            before += groovy_references(data)
            after += groovy_references(migration.migrated)
            changed += migration.changed
            changes += len(migration.changes)
            for note in migration.left:
                left[(path, note.message)] += 1
            (out / path).parent.mkdir(parents=True, exist_ok=True)
            (out / path).write_bytes(migration.migrated)
        findings, count = validate_paths([out], default_known(REPOSITORY / "bundles"))
    severities = Counter(f.severity for f in findings)
    print(f"{count} public PSA workflows: Groovy-bucket references {before} -> {after}; {changed} files changed, "
          f"{changes} changes; psa validate: {severities['error']} error(s), {severities['warning']} warning(s)")
    for finding in findings:
        if finding.severity == "error":
            print(finding.format())
    files = sorted({path for path, _ in left})
    print(f"{len(files)} workflow(s) left for the user:")
    for (path, message), times in sorted(left.items()):
        print(f"  {path}: {message}" + (f" (x{times})" if times > 1 else ""))
    return 0 if after == 0 and not severities["error"] else 1


if __name__ == "__main__":
    sys.exit(main())
