"""Where the text of each script a workflow references comes from, checked before any run."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence

from .model import ScriptRef, Workflow, catalog_ref
from .run_error import RunError

PYTHON_LANGUAGES = ("cpython", "python")


class ScriptSource:
    """The text of each script a workflow references: inline, a file beside the workflow, or a
    Catalog object of the local bundles (the built-in scripts, rendered as ``psa bundle`` does)."""

    def __init__(self, scripts: Optional[Mapping[str, Any]] = None,
                 search_path: Optional[Sequence[Path]] = None) -> None:
        if scripts is None:
            from ..scripts import SCRIPTS as scripts
        self.scripts = dict(scripts)
        self.search_path = [Path.cwd()] if search_path is None else [Path(p) for p in search_path]
        self._rendered: Dict[str, str] = {}

    def author_scripts(self, workflow: Workflow) -> Dict[str, Any]:
        """The author's scripts (package.json ``"scripts": [...]``) of the packages beside the
        workflow's own, when the workflow sits in a package directory."""
        from ..bundler import PACKAGE_FILE, author_scripts

        directory = Path(workflow.source).resolve().parent
        if not (directory / PACKAGE_FILE).is_file():
            return {}
        return {script.name: script for script in author_scripts(directory.parent)}

    def text(self, ref: ScriptRef, workflow: Workflow) -> str:
        if ref.code is not None:
            return ref.code
        if ref.path:
            path = Path(workflow.source).parent / ref.path
            try:
                return path.read_text(encoding="utf-8")
            except OSError as error:
                raise RunError(f"{where(workflow, ref)}: cannot read script file {path}: "
                               f"{error.strerror or error}") from None
        found = catalog_ref(ref.url)
        if found is None:
            raise RunError(f"{where(workflow, ref)}: script URL {ref.url!r} is not a Catalog object "
                           "(.../buckets/<bucket>/resources/<name>/raw): psa run cannot fetch it")
        if found.name not in self._rendered:
            known = dict(self.author_scripts(workflow), **self.scripts)
            info = known.get(found.name)
            if info is None:
                raise RunError(f"{where(workflow, ref)}: no local bundle has script {found.name!r} "
                               f"(bucket {found.bucket}); the scripts are: {', '.join(sorted(known))}")
            from ..bundler import render_script

            self._rendered[found.name] = render_script(info, search_path=self.search_path)
        return self._rendered[found.name]

    def check(self, workflow: Workflow) -> None:
        """Every script of ``workflow`` can be run here: RunError naming the first that cannot."""
        assert workflow.job is not None
        for _, ref in workflow.job.scripts():
            language = (ref.language or "").lower()
            if language not in PYTHON_LANGUAGES:
                said = f"language {ref.language!r}" if ref.language else "no language"
                raise RunError(f"{where(workflow, ref)}: {ref.label} has {said}; psa run runs cpython "
                               'scripts only (set language="cpython")')
            self.text(ref, workflow)


def where(workflow: Workflow, ref: ScriptRef) -> str:
    return f"{workflow.source}:{ref.line}:{ref.column}: {ref.slot} script"

