"""The container-engine interface the scripts use, and how the default engine is chosen.

Check_Instance_Status asks two questions of the engine: is the container running,
and what did it log since the cursor. The Docker action scripts ask more (deploy,
stop, start, remove). Scripts depend on this interface only; the real engine
(Docker Engine API: status reads on the standard library, the rest through the
``docker`` SDK) and the in-memory double of ``psa_scripts.testing`` both implement it.
"""

from __future__ import annotations

from . import names
from .containers.logbatch import LogBatch  # noqa: F401 - part of the interface, defined apart

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a fresh status check skips it)
if TYPE_CHECKING:
    from typing import Any, Dict, List, Mapping, Optional, Protocol
else:
    Protocol = object  # the interface is for type checkers; at run time a plain base

# Bounds of one status check's log read: a chatty container must not make a check
# run long or eat the node's memory. Overridable per service by variables.
DEFAULT_MAX_LINES = 10_000
DEFAULT_MAX_BYTES = 1_000_000
MAX_LINES_VARIABLE = names.LOG_MAX_LINES
MAX_BYTES_VARIABLE = names.LOG_MAX_BYTES


class ContainerEngine(Protocol):
    def is_running(self, name: str) -> bool:
        """True when a container of that name exists and runs."""

    def read_logs(
        self, name: str, cursor: Optional[str], *, max_lines: int, max_bytes: int
    ) -> LogBatch:
        """Lines written since ``cursor`` (None: from the start), each exactly once across calls."""

    # What the Docker action scripts ask besides (``DockerEngine``, ``FakeEngine``). Ownership:
    # ``DeploySpec.owner`` and the ``owner`` keyword are the labels of ``containers.spec.owner_labels``
    # (keys in ``names.CONTAINER_LABELS``). ``deploy`` creates with them and reuses or starts only a
    # container carrying them; ``stop``/``start``/``remove`` given ``owner`` act only on such a
    # container (found by name, then addressed by id). Any other container of that name raises
    # ``containers.spec.ForeignContainer`` (an EngineError naming it) and is left untouched.
    # ``owner`` is optional (None: any container of the name, as before it existed).
    def inspect(self, name: str) -> Optional[Dict[str, Any]]:
        """The container's Docker-shaped inspect document (``Id``, ``State``, ``Config.Labels``...), or None."""

    def deploy(self, spec: Any) -> Any:
        """Run ``spec`` (a ``DeploySpec``): reuse, start or create; a ``Deployed``."""

    def stop(self, name: str, timeout: int = ..., *, owner: Optional[Mapping[str, str]] = None) -> Any:
        """Stop the container (``timeout`` seconds between SIGTERM and SIGKILL); an ``ActionOutcome``."""

    def start(self, name: str, *, owner: Optional[Mapping[str, str]] = None) -> Any:
        """Start the stopped container; an ``ActionOutcome``."""

    def remove(self, name: str, *, owner: Optional[Mapping[str, str]] = None) -> Any:
        """Remove the container, running or not, with its anonymous volumes; an ``ActionOutcome``."""


def default_engine(environ: Mapping[str, str]) -> ContainerEngine:
    """The Docker Engine API named by the environment (``DOCKER_HOST``...).

    ``is_running``/``read_logs`` speak HTTP with the standard library (a status check in a
    fresh interpreter never imports ``docker`` or ``requests``); ``deploy``, ``stop``,
    ``start``, ``remove`` load the ``docker`` SDK on first use. TLS and ssh hosts use the
    SDK throughout (``psa_scripts.containers.lite``). A host that keeps its own engine (``psa run
    --engine memory``) hands it to the script as the ``names.ENGINE_BINDING`` binding instead.
    """
    from .containers.lite import status_engine

    return status_engine(environ)
