"""The catalog kind a package gives each of its workflow files (``Workflow/psa``, ``Workflow/standard``).

``psa validate`` judges a workflow as a PSA service only when it is one, and the kind its
package declares is the author's word for it. Two package formats say it:

- ours, ``bundles/<slug>/package.json``: ``workflowKind`` for every ``*.xml`` of the directory
  (default ``Workflow/psa``, as ``psa bundle`` writes it);
- ProActive's, ``METADATA.json`` (what the Catalog loads; ProActive's public examples are laid
  out this way): ``catalog.objects[].metadata.kind`` of the object whose ``file`` (relative to
  the METADATA.json's folder) is the workflow.

A file neither describes is *loose*: its kind is None. A package file that does not parse gives
None too (``psa bundle`` reports it; the linter does not stop on it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Optional

from .bundler import DEFAULT_WORKFLOW_KIND, METADATA_FILE, PACKAGE_FILE

SERVICE_KIND = "Workflow/psa"


def is_service_kind(kind: Optional[str]) -> bool:
    """Whether a catalog kind is the PSA workflow kind (kinds are free strings: case ignored, as
    some public packages write ``workflow/psa``)."""
    return kind is not None and kind.strip().casefold() == SERVICE_KIND.casefold()


def _read_json(path: Path) -> Optional[dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class PackageKinds:
    """Finds the kind of workflow files, reading each package file once."""

    def __init__(self) -> None:
        self._metadata: Dict[Path, Dict[Path, str]] = {}

    def kind(self, path: Path) -> Optional[str]:
        """The kind the package of ``path`` declares for it, or None for a loose file."""
        definition = path.parent / PACKAGE_FILE
        if definition.is_file():
            data = _read_json(definition) or {}
            kind = data.get("workflowKind", DEFAULT_WORKFLOW_KIND)
            return kind if isinstance(kind, str) else None
        resolved = path.resolve()
        for folder in resolved.parents:
            metadata = folder / METADATA_FILE
            if metadata.is_file():
                return self._kinds(metadata).get(resolved)
        return None

    def _kinds(self, metadata: Path) -> Dict[Path, str]:
        if metadata not in self._metadata:
            data = _read_json(metadata) or {}
            catalog = data.get("catalog")
            objects = catalog.get("objects") if isinstance(catalog, dict) else None
            kinds: Dict[Path, str] = {}
            for entry in objects if isinstance(objects, list) else ():
                if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
                    continue
                kind = (entry.get("metadata") or {}).get("kind") if isinstance(entry.get("metadata"), dict) else None
                if isinstance(kind, str):
                    kinds[(metadata.parent / entry["file"]).resolve()] = kind
            self._metadata[metadata] = kinds
        return self._metadata[metadata]
