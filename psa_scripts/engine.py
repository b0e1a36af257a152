"""The container-engine interface the scripts use, and how the default engine is chosen.

Check_Instance_Status asks two questions of the engine: is the container running,
and what did it log since the cursor. The Docker action scripts ask more (deploy,
stop, start, remove). Scripts depend on this interface only; the real engine
(Docker Engine API through the ``docker`` SDK) and the in-memory double of
``psa_scripts.testing`` both implement it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Mapping, Optional, Protocol

# Bounds of one status check's log read: a chatty container must not make a check
# run long or eat the node's memory. Overridable per service by variables.
DEFAULT_MAX_LINES = 10_000
DEFAULT_MAX_BYTES = 1_000_000
MAX_LINES_VARIABLE = "LOG_MAX_LINES"
MAX_BYTES_VARIABLE = "LOG_MAX_BYTES"


@dataclass
class LogBatch:
    """New log lines since a cursor, the cursor to resume from, and how many lines were cut."""

    lines: List[str] = field(default_factory=list)
    cursor: Optional[str] = None
    skipped: int = 0


class ContainerEngine(Protocol):
    def is_running(self, name: str) -> bool:
        """True when a container of that name exists and runs."""

    def read_logs(
        self, name: str, cursor: Optional[str], *, max_lines: int, max_bytes: int
    ) -> LogBatch:
        """Lines written since ``cursor`` (None: from the start), each exactly once across calls."""


def default_engine(environ: Mapping[str, str]) -> ContainerEngine:
    """The Docker Engine API named by the environment (``DOCKER_HOST``...)."""
    from .containers import DockerEngine

    return DockerEngine.from_env(environ)
