"""The service's own finish workflow: how ``psa run`` ends a service it was not told how to end.

PSA ends a service instance with the action its catalog offers from RUNNING to FINISHED: a
workflow of the same service (generic information ``pca.service.id``) whose ``pca.states``
holds ``(RUNNING,FINISHED)`` (or ``(ALL,FINISHED)``). A package keeps its workflows side by side, so ``psa run``
looks for that sibling in the deployment's directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from .. import names
from .model import Workflow, parse_workflow
from .states import ANY_STATE, parse_states


def finish_sibling(deployment: Workflow) -> Optional[Workflow]:
    """The workflow beside ``deployment`` of the same ``pca.service.id`` that moves RUNNING to
    FINISHED (the first by file name), or None (no service id, or no such workflow)."""
    job = deployment.job
    service_id = job.gi.get(names.GI_SERVICE_ID) if job is not None else None
    if not service_id:
        return None
    here = Path(deployment.source).resolve()
    for path in sorted(here.parent.glob("*.xml")):
        if path.resolve() == here:
            continue
        try:
            sibling = parse_workflow(path)
        except Exception:  # not a workflow, or one that does not parse: not the finish
            continue
        if sibling.job is None or sibling.job.gi.get(names.GI_SERVICE_ID) != service_id:
            continue
        info = sibling.job.info(names.GI_STATES)
        pairs = parse_states(info.value) if info is not None else None
        if any(target == names.FINISHED and source in (names.RUNNING, ANY_STATE) for source, target in pairs or ()):
            return sibling
    return None
