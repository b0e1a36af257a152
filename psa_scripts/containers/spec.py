"""What the Docker scripts ask of the engine: a checked container name, a deploy spec, outcomes.

**Deploy variables** (read by ``DeploySpec.from_variables``): ``INSTANCE_NAME``,
``DOCKER_IMAGE``, ``CONTAINER_PORT`` (``80``, ``80/tcp``, ``53/udp``; unset: no port),
``SERVICE_PORT`` (``-1``/unset: the engine picks a free host port), ``DOCKER_ENV`` (JSON
object, or one ``NAME=value`` per line), ``DOCKER_VOLUMES`` (JSON list, or one
``source:/target[:ro]`` per line), ``DOCKER_COMMAND`` (JSON list, or words split like a
POSIX shell would, without running one), ``DOCKER_OPTIONS`` (JSON object of extra
``containers.create`` arguments, limited to ``ALLOWED_OPTIONS``).
Nothing here talks to the engine: a bad variable is refused before any call.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .. import names
from ..names import check_instance_name
from ..numbers import whole_number
from ..errors import EngineError, InputError

DOCKER_IMAGE = names.DOCKER_IMAGE
CONTAINER_PORT = names.CONTAINER_PORT
DOCKER_ENV = names.DOCKER_ENV
DOCKER_VOLUMES = names.DOCKER_VOLUMES
DOCKER_COMMAND = names.DOCKER_COMMAND
DOCKER_OPTIONS = names.DOCKER_OPTIONS
DOCKER_STOP_TIMEOUT = names.DOCKER_STOP_TIMEOUT
DEFAULT_STOP_TIMEOUT = 10  # seconds the process gets between SIGTERM and SIGKILL
PICK_FREE_PORT = -1

# Extra create() arguments a workflow may set. Privilege-raising ones (privileged, cap_add,
# security_opt, pid/ipc modes...) are left out on purpose: they must be a deliberate change here.
ALLOWED_OPTIONS = frozenset({
    "user", "working_dir", "entrypoint", "hostname", "labels", "mem_limit", "memswap_limit",
    "shm_size", "nano_cpus", "cpu_shares", "cpuset_cpus", "network", "extra_hosts", "dns",
    "restart_policy", "init", "read_only", "tmpfs", "stop_signal", "devices", "device_requests",
})


# --- Outcomes -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Deployed:
    """A deployed container: where its port is published and how it came to run."""

    container_id: str
    host_port: Optional[int]
    action: str  # "reused" (was running), "started" (existed, stopped), "created"


# --- What to deploy, from the workflow's variables ----------------------------------------------
@dataclass(frozen=True)
class DeploySpec:
    """One container to deploy. ``service_port`` -1 lets the engine pick a free host port."""

    name: str
    image: str
    container_port: Optional[str] = None  # "80/tcp"
    service_port: int = PICK_FREE_PORT
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)  # values may be secrets
    volumes: Tuple[str, ...] = ()
    command: Optional[Tuple[str, ...]] = None
    options: Mapping[str, Any] = field(default_factory=dict)
    owner: Mapping[str, str] = field(default_factory=dict)  # owner_labels(): set on create, required to reuse

    def __post_init__(self) -> None:
        check_instance_name(self.name)
        user_labels = self.options.get("labels") or {}
        taken = sorted(set(user_labels) & set(names.CONTAINER_LABELS))
        if taken:
            raise InputError(f"{DOCKER_OPTIONS}: the labels {', '.join(taken)} are set by psa-scripts "
                             "(they say which service instance owns the container): remove them")
        if self.container_port is not None:  # "80" and "80/tcp" alike, as the engine keys ports
            object.__setattr__(self, "container_port", container_port_key(str(self.container_port)))
        _service_port(self.service_port)

    @property
    def labels(self) -> Dict[str, str]:
        """The labels the container is created with: DOCKER_OPTIONS' ``labels``, then the owner's."""
        user_labels = self.options.get("labels") or {}
        labels = {str(key): "" for key in user_labels} if isinstance(user_labels, list) else dict(user_labels)
        labels.update(self.owner)
        return labels

    @classmethod
    def from_variables(cls, variables: Any, owner: Optional[Mapping[str, str]] = None) -> "DeploySpec":
        """Read and check every deploy variable (see the module docstring); InputError names the bad one.

        ``owner``: the labels of the service instance deploying (``owner_labels``)."""
        name = check_instance_name(variables.require(names.INSTANCE_NAME))
        port = variables.text(CONTAINER_PORT)
        return cls(
            name=name,
            image=variables.require(DOCKER_IMAGE),
            container_port=port,
            service_port=variables.integer(names.SERVICE_PORT, PICK_FREE_PORT),
            environment=_environment(variables.text(DOCKER_ENV)),
            volumes=_volumes(variables.text(DOCKER_VOLUMES)),
            command=_command(variables.text(DOCKER_COMMAND)),
            options=_options(variables.text(DOCKER_OPTIONS)),
            owner=dict(owner or {}),
        )


def container_port_key(port: str) -> str:
    """``80``, ``80/tcp``, ``53/udp`` as the engine keys ports (``80/tcp``); InputError otherwise."""
    text, _, protocol = port.strip().partition("/")
    number = whole_number(text) if text == text.strip() else None
    protocol = protocol or "tcp"
    if number is None or not 0 < number < 65536 or protocol not in ("tcp", "udp", "sctp"):
        raise InputError(f"{CONTAINER_PORT} must be a port like 80, 80/tcp or 53/udp, got {port!r}")
    return f"{number}/{protocol}"


def _service_port(port: int) -> int:
    if port != PICK_FREE_PORT and not 0 < port < 65536:
        raise InputError(f"{names.SERVICE_PORT} must be -1 (pick a free port) or 1-65535, got {port}")
    return port


def _json(text: str, variable: str, kind: type) -> Any:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise InputError(f"{variable} is not valid JSON: {error}") from None
    if not isinstance(value, kind):
        raise InputError(f"{variable} must be a JSON {kind.__name__}, got {type(value).__name__}")
    return value


def _lines(text: str) -> List[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _environment(text: Optional[str]) -> Dict[str, str]:
    """DOCKER_ENV as a dict. Its values are often secrets: no error shows a value, nor a
    line that may hold one; errors name the entry or line number only."""
    if not text:
        return {}
    if text.startswith("{"):
        pairs = [(f"entry {number}", key, value)
                 for number, (key, value) in enumerate(_json(text, DOCKER_ENV, dict).items(), 1)]
    else:
        pairs = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            key, equals, value = line.strip().partition("=")
            if not equals:
                raise InputError(f"{DOCKER_ENV} line {number}: expected NAME=value (the line is not shown: "
                                 "it may hold a secret)")
            pairs.append((f"line {number}", key, value))
    environment: Dict[str, str] = {}
    for where, key, value in pairs:
        name = str(key).strip()
        if not _valid_env_name(name):
            raise InputError(f"{DOCKER_ENV} {where}: invalid variable name (it must be non-empty, without "
                             "'=', spaces or control characters; not shown: it may hold a secret)")
        environment[name] = "" if value is None else str(value)
    return environment


def _valid_env_name(name: str) -> bool:
    """What an engine can pass as a variable name: ``NAME=value`` must split back to NAME."""
    return bool(name) and "=" not in name and all(char.isprintable() and not char.isspace() for char in name)


def _volumes(text: Optional[str]) -> Tuple[str, ...]:
    if not text:
        return ()
    entries = _json(text, DOCKER_VOLUMES, list) if text.startswith("[") else _lines(text)
    for entry in entries:
        if not isinstance(entry, str) or entry.count(":") not in (1, 2):
            raise InputError(f"{DOCKER_VOLUMES}: expected source:/target[:ro|rw], got {entry!r}")
    return tuple(entries)


def _command(text: Optional[str]) -> Optional[Tuple[str, ...]]:
    if not text:
        return None
    if text.startswith("["):
        words = _json(text, DOCKER_COMMAND, list)
    else:
        try:
            words = shlex.split(text)  # tokenising only: nothing is ever run by a shell
        except ValueError as error:
            raise InputError(f"{DOCKER_COMMAND}: {error}") from None
    return tuple(str(word) for word in words) or None


def _options(text: Optional[str]) -> Dict[str, Any]:
    if not text:
        return {}
    options = _json(text, DOCKER_OPTIONS, dict)
    refused = sorted(set(options) - ALLOWED_OPTIONS)
    if refused:
        raise InputError(
            f"{DOCKER_OPTIONS}: {', '.join(refused)} not allowed; allowed: {', '.join(sorted(ALLOWED_OPTIONS))}"
        )
    return options


# --- Whose container: the labels Start_Docker_Service sets ------------------------------------
class ForeignContainer(EngineError):
    """A container of the instance's name exists but this service instance did not create it."""


def owner_labels(variables: Any, generic_info: Any = None) -> Dict[str, str]:
    """The labels that mark a container as this service instance's (``names.CONTAINER_LABELS``).

    ``PCA_INSTANCE_ID`` is required: without it no container can be told apart from another's.
    The service id (generic information ``pca.service.id``) is added when the workflow has it.
    """
    instance_id = str(variables.require(names.PCA_INSTANCE_ID)).strip()
    labels = {names.LABEL_INSTANCE_ID: instance_id}
    service_id = generic_info.text(names.GI_SERVICE_ID) if generic_info is not None else None
    if service_id and service_id.strip():
        labels[names.LABEL_SERVICE_ID] = service_id.strip()
    return labels


def check_owner(name: str, attrs: Mapping[str, Any], owner: Mapping[str, str]) -> None:
    """ForeignContainer unless the inspected container ``attrs`` carries every label of ``owner``."""
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    if all(labels.get(key) == value for key, value in owner.items()):
        return
    theirs = ", ".join(f"{key}={labels[key]}" for key in names.CONTAINER_LABELS if labels.get(key))
    ours = ", ".join(f"{key}={value}" for key, value in owner.items())
    raise ForeignContainer(
        f"container {name} (id {str(attrs.get('Id', ''))[:12]}) was not created by this service instance "
        f"({ours}; it has {theirs or 'none of these labels'}): it is left untouched. Remove it or "
        f"pick another {names.INSTANCE_NAME}")
