"""``psa migrate`` over files and directories: what to read, where to write, what to say.

Every workflow is migrated (``rules.migrate_workflow``) before anything is written. A file that
cannot be migrated gets the one-line finding ``psa validate`` gives it (PA100...), the others
their report, and nothing is written (a diff is still shown). Otherwise, by mode:

- ``out``: every workflow file is written under the directory (a file given by name as
  ``DIR/<name>``, a directory's workflows at their path below it), migrated or not;
- ``in_place``: changed files are replaced (a temporary file renamed over the original);
- ``diff``: a unified diff of every changed file on standard output (the report goes to
  standard error), nothing written — exactly what ``out`` would write.

The exit status: 0 every file migrated cleanly, 1 something is left for the user (or a file could
not be read), 2 a usage error (a missing path, two inputs written to one output).
"""

from __future__ import annotations

import difflib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, List, Optional, Sequence, Tuple

from ..errors import InputError, PsaScriptError
from ..workflow.model import Workflow, WorkflowError, parse_workflow
from .rules import DEFAULT_BUCKET, Migration, Siblings, migrate_workflow


class MigrateUsageError(PsaScriptError):
    """The paths or the output asked for cannot be: exit status 2."""


@dataclass(frozen=True)
class _Input:
    path: Path
    relative: Path  # where it goes below --out
    explicit: bool  # named on the command line (a directory's non-workflow XML is skipped)


def _inputs(paths: Sequence[Path]) -> List[_Input]:
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise MigrateUsageError(f"no such file or directory: {', '.join(missing)}")
    found: List[_Input] = []
    for path in paths:
        if path.is_dir():
            found += [_Input(child, child.relative_to(path), False) for child in sorted(path.rglob("*.xml"))]
        else:
            found.append(_Input(path, Path(path.name), True))
    return found


def _read(item: _Input) -> Tuple[Optional[Workflow], str]:
    """The workflow, or the finding ``psa validate`` gives a file that is none (PA100, PA101);
    (None, "") for a non-workflow XML found in a directory, skipped quietly as validate does."""
    from ..validate import Known, validate_file

    try:
        workflow: Optional[Workflow] = parse_workflow(item.path)
    except WorkflowError:
        workflow = None
    if workflow is not None and workflow.is_job:
        return workflow, ""
    if workflow is not None and not item.explicit:
        return None, ""
    findings = [f for f in validate_file(item.path, Known()) if f.code in ("PA100", "PA101")]
    return None, "\n".join(f.format() for f in findings)


@dataclass
class _Outcome:
    item: _Input
    migration: Optional[Migration] = None
    problem: str = ""  # the one-line finding of a file that could not be migrated


def _migrate(items: Sequence[_Input], bucket: str) -> List[_Outcome]:
    read = [(item, *_read(item)) for item in items]
    siblings = Siblings()
    for _, workflow, _ in read:
        if workflow is not None:
            siblings.add(workflow)
    outcomes = []
    for item, workflow, problem in read:
        if workflow is None:
            if problem:
                outcomes.append(_Outcome(item, problem=problem))
            continue
        try:
            outcomes.append(_Outcome(item, migrate_workflow(item.path.read_bytes(), str(item.path), bucket, siblings)))
        except (InputError, OSError) as error:
            outcomes.append(_Outcome(item, problem=f"{item.path}: {error}"))
    return outcomes


def _report(outcome: _Outcome) -> List[str]:
    if outcome.migration is None:
        return [outcome.problem]
    migration = outcome.migration
    shown = migration.source
    said = f"{len(migration.changes)} change(s)" if migration.changed else "nothing to change"
    lines = [f"{shown}: {said}" + (f", {len(migration.left)} left for you" if migration.left else "")]
    lines += [f"  {shown}:{note.line}:{note.column}: changed: {note.message}" for note in migration.changes]
    for note in migration.left:
        lines += [f"  {shown}:{note.line}:{note.column}: left: {note.message}", f"      fix: {note.fix}"]
    return lines


def unified_diff(before: bytes, after: bytes, name: str) -> str:
    """A unified diff ``patch -p1`` applies (``a/name``, ``b/name``; a last line without a line
    end is marked as diff marks it)."""
    old = before.decode("utf-8", "replace").splitlines(keepends=True)
    new = after.decode("utf-8", "replace").splitlines(keepends=True)
    out = []
    for line in difflib.unified_diff(old, new, f"a/{name}", f"b/{name}"):
        out.append(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _write(path: Path, data: bytes) -> None:
    """``data`` into ``path`` through a temporary file renamed over it (never half a file);
    PsaScriptError naming the file when the system refuses."""
    try:
        _replace(path, data)
    except OSError as error:
        raise PsaScriptError(f"cannot write {path}: {error.strerror or error}") from None


def _replace(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _targets(outcomes: Sequence[_Outcome], out: Path) -> List[Tuple[Path, bytes]]:
    targets: List[Tuple[Path, bytes]] = []
    seen = {}
    for outcome in outcomes:
        if outcome.migration is None:
            continue
        target = out / outcome.item.relative
        if target in seen:
            raise MigrateUsageError(f"{seen[target]} and {outcome.item.path} would both be written to {target}")
        if target.resolve() == outcome.item.path.resolve():
            raise MigrateUsageError(f"--out would overwrite {outcome.item.path} itself: use --in-place for that")
        seen[target] = outcome.item.path
        targets.append((target, outcome.migration.migrated))
    return targets


def migrate_paths(paths: Sequence[Path], *, bucket: Optional[str] = None, out: Optional[Path] = None,
                  in_place: bool = False, diff: bool = False, stdout: IO[str], stderr: IO[str]) -> int:
    """Migrate the workflows at ``paths`` in one of the three modes; the report on ``stdout``
    (``stderr`` with ``diff``). The exit status (0, 1; MigrateUsageError for 2)."""
    if [out is not None, in_place, diff].count(True) != 1:
        raise MigrateUsageError("say what to do with the result: --out DIR, --in-place or --diff")
    if out is not None and out.exists() and not out.is_dir():
        raise MigrateUsageError(f"--out {out} is a file: give a directory (created if missing)")
    outcomes = _migrate(_inputs(paths), bucket or DEFAULT_BUCKET)
    report = stderr if diff else stdout
    targets = _targets(outcomes, out) if out is not None else []
    for outcome in outcomes:
        print("\n".join(_report(outcome)), file=report)
    failed = sum(1 for o in outcomes if o.migration is None)
    if failed and not diff:
        print(f"nothing written: {failed} file(s) could not be migrated (see above); fix them, or leave them out",
              file=report)
    elif diff:
        for outcome in outcomes:
            if outcome.migration is not None and outcome.migration.changed:
                stdout.write(unified_diff(outcome.migration.original, outcome.migration.migrated,
                                          outcome.item.path.as_posix().lstrip("/")))
    elif in_place:
        for outcome in outcomes:
            if outcome.migration is not None and outcome.migration.changed:
                _write(outcome.item.path, outcome.migration.migrated)
    else:
        for target, data in targets:
            _write(target, data)
    migrated = [o.migration for o in outcomes if o.migration is not None]
    left = sum(1 for m in migrated if m.left)
    print(f"{len(outcomes)} workflow file(s): {sum(1 for m in migrated if m.changed)} migrated, "
          f"{sum(1 for m in migrated if not m.changed)} unchanged, {left} with something left for you"
          + (f", {failed} not migrated (see above)" if failed else ""), file=report)
    return 1 if left or failed else 0
