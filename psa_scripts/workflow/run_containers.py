"""The containers a ``psa run`` created: found by the instance's labels, removed at the ending.

Every container the Docker scripts create carries the instance's labels
(``containers.spec.owner_labels``: ``PCA_INSTANCE_ID`` and ``pca.service.id``). The run notes
those already there before it starts (not its own), lists the others at the end on the real
engine as on the in-memory one, and, as the ending's last resort, removes them. Only those
named by one of its ``INSTANCE_NAME`` values count: every run's instance is number 1, so
another run of the same service on the same engine carries the same labels, under another name.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Set

from .. import names
from ..errors import EngineError
from .run_error import RunError
from .timeline import Timeline


class RunContainers:
    """The containers of one run on ``engine`` (``DockerEngine``, ``FakeEngine``: ``labelled`` and ``remove``)."""

    def __init__(self, engine: Any, service_id: Optional[str], timeline: Timeline, instance_id: int = 1) -> None:
        self.engine = engine
        self.service_id = (service_id or "").strip() or None
        self.timeline = timeline
        self.instance_id = instance_id
        self.own_names: Set[str] = set()  # the run's INSTANCE_NAME values: the names its containers get
        self.found_before: Set[str] = {c["id"] for c in self._labelled()}

    @property
    def labels(self) -> Dict[str, str]:
        """The labels the instance's containers carry."""
        labels = {names.LABEL_INSTANCE_ID: str(self.instance_id)}
        if self.service_id:
            labels[names.LABEL_SERVICE_ID] = self.service_id
        return labels

    def created(self) -> List[Dict[str, Any]]:
        """The run's containers (``name``, ``id``, ``running``): the instance's labels, one of its names,
        not there before it started."""
        try:
            return [c for c in self._labelled() if c["id"] not in self.found_before and c["name"] in self.own_names]
        except EngineError as error:
            self.timeline.say(f"psa run: cannot list the run's containers: {error}")
            return []

    def _labelled(self) -> List[Dict[str, Any]]:
        """The engine's containers with the instance's labels; none for an engine that cannot list
        them (a test's own double): what it holds is the test's to look at."""
        labelled = getattr(self.engine, "labelled", None)
        return labelled(self.labels) if labelled is not None else []

    def remove_leftovers(self) -> None:
        """Remove the run's containers still there (the ending's last resort)."""
        for container in self.created():
            try:
                self.engine.remove(container["name"], owner=self.labels)
                self.timeline.say(f"   removed container {container['name']}, which the run created")
            except EngineError as error:
                self.timeline.say(f"   could not remove container {container['name']}: {error}")


def docker_engine(environ: Mapping[str, str]) -> Any:
    """The Docker API ``environ`` names, for the runner's own questions (which containers the run
    left): RunError in one line, before any step, when it does not answer."""
    from ..containers.docker_engine import DockerEngine

    where = environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock (DOCKER_HOST is not set)"
    try:
        engine = DockerEngine.from_env(environ, timeout=10)
        engine.ping()
    except EngineError:
        raise RunError(f"no container engine answers at DOCKER_HOST={where}: start one (tools/engine-up.sh "
                       "provisions Podman's), or run with --engine memory") from None
    return engine
