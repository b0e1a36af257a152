"""The real container engine and what the Docker scripts need from it.

- ``spec``: ``DeploySpec`` (the name checked by ``names.check_instance_name`` first)
  read from the workflow's variables, the outcomes (``Deployed``, ``ActionOutcome``).
- ``logs``: the exactly-once log cursor and the bounded delivery of new lines.
- ``docker_engine``: ``DockerEngine`` on the Docker Engine API (``docker`` SDK, imported lazily).
"""

from .docker_engine import DockerEngine
from .logs import LogCursor, LogDelivery
from .spec import (
    ActionOutcome,
    Deployed,
    DeploySpec,
    action_status,
    check_instance_name,
)

__all__ = [
    "ActionOutcome", "Deployed", "DeploySpec", "DockerEngine", "LogCursor", "LogDelivery",
    "action_status", "check_instance_name",
]
