"""The Service Automation instance as data: dataclasses that round-trip PSA's JSON.

PSA updates an instance by a PUT of the whole document, so whatever this library
does not model must survive a read-modify-write: every class keeps the fields it
does not know in ``extra`` and writes them back. A known field that was absent
from the JSON read stays absent on output unless it was given a value, so
``X.from_json(d).to_json() == d`` for any document ``d``.

Field names follow the JSON (snake_case), except ``proxyfied_url`` which PSA
spells ``proxyfiedUrl``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional, Type, TypeVar

from . import names

T = TypeVar("T", bound="_JsonObject")

_BOOKKEEPING = ("extra", "_present")


def _known(*, key: Optional[str] = None, nested: Any = None, many: bool = False,
           default_factory: Any = None) -> Any:
    """A modelled JSON field: ``key`` when the JSON name differs, ``nested`` dataclass type."""
    metadata = {"key": key, "nested": nested, "many": many}
    if default_factory is not None:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=None, metadata=metadata)


def _extra() -> Any:
    return field(default_factory=dict)


def _present_keys() -> Any:
    # The known JSON keys the input held: those are written back even when empty or null.
    return field(default=frozenset(), repr=False, compare=False)


def _is_unset(value: Any) -> bool:
    return value is None or (isinstance(value, (list, dict)) and not value)


class _JsonObject:
    """from_json/to_json shared by the model dataclasses (driven by field metadata)."""

    extra: Dict[str, Any]
    _present: frozenset

    @classmethod
    def _plan(cls) -> "dict[str, tuple[str, Any, bool]]":
        """JSON key -> (attribute, nested model class or None, a list of them), once per class."""
        plan = cls.__dict__.get("_plan_cache")
        if plan is None:  # the fields of a dataclass do not change
            plan = {(f.metadata.get("key") or f.name): (f.name, f.metadata.get("nested"), bool(f.metadata.get("many")))
                    for f in fields(cls)  # type: ignore[arg-type]
                    if f.name not in _BOOKKEEPING}
            setattr(cls, "_plan_cache", plan)
        return plan

    @classmethod
    def from_json(cls: Type[T], data: Dict[str, Any]) -> T:
        """Build from a JSON object; unknown keys go to ``extra`` (deep-copied)."""
        plan = cls._plan()
        values: Dict[str, Any] = {}
        extra: Dict[str, Any] = {}
        for key, value in data.items():
            spec = plan.get(key)
            if spec is None:
                extra[key] = _copied(value)
            else:
                name, nested, many = spec
                values[name] = _copied(value) if nested is None else _decode(nested, many, value)
        obj = cls(**values, extra=extra)  # type: ignore[call-arg]
        obj._present = frozenset(key for key in data if key in plan)
        return obj

    def to_json(self) -> Dict[str, Any]:
        """The JSON object: known fields that are set or were read, plus ``extra``."""
        out: Dict[str, Any] = {}
        present = self._present
        for key, (name, _, _) in self._plan().items():
            value = getattr(self, name)
            if key in present or not _is_unset(value):
                out[key] = _encode(value)
        for key, value in self.extra.items():
            out.setdefault(key, _copied(value))
        return out

    def copy(self: T) -> T:
        """A deep, independent copy (what was read stays distinguishable from what was set)."""
        return copy.deepcopy(self)

    def __deepcopy__(self: T, memo: Dict[int, Any]) -> T:
        # copy.deepcopy's generic path (__reduce_ex__) costs 5x this; the result is the same:
        # the same class, every attribute deep-copied (scalars and the frozenset are immutable).
        clone = object.__new__(type(self))
        for name, value in self.__dict__.items():
            clone.__dict__[name] = value if isinstance(value, _IMMUTABLE) else copy.deepcopy(value, memo)
        return clone


_SCALARS = (str, int, float, bool, type(None))
_IMMUTABLE = _SCALARS + (frozenset,)


def _copied(value: Any) -> Any:
    """A deep copy of a JSON value (scalars are immutable: themselves)."""
    return value if isinstance(value, _SCALARS) else copy.deepcopy(value)


def _decode(nested: Any, many: bool, value: Any) -> Any:
    """A field's JSON value as its ``nested`` model (a list of them when ``many``)."""
    if many and isinstance(value, list):
        return [nested.from_json(item) if isinstance(item, dict) else item for item in value]
    if isinstance(value, dict):
        return nested.from_json(value)
    return _copied(value)


def _encode(value: Any) -> Any:
    if isinstance(value, _JsonObject):
        return value.to_json()
    if isinstance(value, list):
        return [_encode(item) for item in value]
    return _copied(value)


@dataclass
class Container(_JsonObject):
    """The container a deployment runs: engine id and name."""

    id: Optional[str] = _known()
    name: Optional[str] = _known()
    extra: Dict[str, Any] = _extra()
    _present: frozenset = _present_keys()


@dataclass
class Node(_JsonObject):
    """The ProActive node a deployment runs on (from the PA_NODE_* variables)."""

    id: Optional[str] = _known()
    name: Optional[str] = _known()
    node_source_name: Optional[str] = _known()
    host: Optional[str] = _known()
    url: Optional[str] = _known()
    extra: Dict[str, Any] = _extra()
    _present: frozenset = _present_keys()


@dataclass
class Endpoint(_JsonObject):
    """Where users reach the service; ``proxyfied_url`` is JSON ``proxyfiedUrl``."""

    id: Optional[str] = _known()
    url: Optional[str] = _known()
    proxyfied: Optional[bool] = _known()
    proxyfied_url: Optional[str] = _known(key="proxyfiedUrl")
    extra: Dict[str, Any] = _extra()
    _present: frozenset = _present_keys()


@dataclass
class Deployment(_JsonObject):
    """One running piece of a service: node, container and endpoint."""

    id: Optional[Any] = _known()
    node: Optional[Node] = _known(nested=Node)
    container: Optional[Container] = _known(nested=Container)
    endpoint: Optional[Endpoint] = _known(nested=Endpoint)
    extra: Dict[str, Any] = _extra()
    _present: frozenset = _present_keys()

    def keys(self) -> "set[str]":
        """The ids that identify this deployment: its endpoint id and container id."""
        found = set()
        if self.endpoint is not None and self.endpoint.id:
            found.add(str(self.endpoint.id))
        if self.container is not None and self.container.id:
            found.add(str(self.container.id))
        return found


@dataclass
class JobSubmission(_JsonObject):
    """A job PSA submitted for the instance, and the transition it performs."""

    transition_state: Optional[str] = _known()
    parent_job_id: Optional[Any] = _known()
    job_id: Optional[Any] = _known()
    submission_time: Optional[int] = _known()
    extra: Dict[str, Any] = _extra()
    _present: frozenset = _present_keys()


def _transition_key(text: str) -> str:
    # "VOID -> RUNNING", "VOID->RUNNING" and "void  ->  running" name the same transition.
    return re.sub(r"\s+", "", text).upper()


@dataclass
class ServiceInstance(_JsonObject):
    """PSA's ServiceInstanceData."""

    instance_id: Optional[int] = _known()
    service_id: Optional[str] = _known()
    bucket_name: Optional[str] = _known()
    user_name: Optional[str] = _known()
    label: Optional[str] = _known()
    instance_status: Optional[str] = _known()
    creation_time: Optional[int] = _known()
    finish_time: Optional[int] = _known()
    service_icon: Optional[str] = _known()
    variables: Dict[str, str] = _known(default_factory=dict)
    deployments: List[Deployment] = _known(nested=Deployment, many=True, default_factory=list)
    groups: List[str] = _known(default_factory=list)
    job_submissions: List[JobSubmission] = _known(
        nested=JobSubmission, many=True, default_factory=list
    )
    extra: Dict[str, Any] = _extra()
    _present: frozenset = _present_keys()

    def has_deployment(self, key: str) -> bool:
        """True when a deployment already has this endpoint id or container id."""
        return any(
            isinstance(d, Deployment) and str(key) in d.keys() for d in self.deployments or []
        )

    def add_deployment(self, deployment: Deployment) -> bool:
        """Append ``deployment`` unless one with the same endpoint or container id exists.

        Idempotent, so it is safe inside a change that may be applied twice. Returns
        whether it appended.
        """
        if any(self.has_deployment(key) for key in deployment.keys()):
            return False
        if self.deployments is None:
            self.deployments = []
        self.deployments.append(deployment)
        return True

    def add_groups(self, *groups: str) -> None:
        """Add each group not already there, keeping the existing order."""
        if self.groups is None:
            self.groups = []
        for group in groups:
            if group not in self.groups:
                self.groups.append(group)

    def node_urls(self) -> List[str]:
        """The URL of each deployment's node, once each, in deployment order."""
        urls: List[str] = []
        for deployment in self.deployments or []:
            node = deployment.node if isinstance(deployment, Deployment) else None
            if node is not None and node.url and node.url not in urls:
                urls.append(node.url)
        return urls

    def deployment_job_id(self) -> Optional[str]:
        """The job id of the deployment (``VOID -> RUNNING``) submission, or None."""
        wanted = _transition_key(names.DEPLOYMENT_TRANSITION)
        for submission in self.job_submissions or []:
            if not isinstance(submission, JobSubmission) or not submission.transition_state:
                continue
            if _transition_key(submission.transition_state) == wanted and submission.job_id is not None:
                return str(submission.job_id)
        return None

    def endpoint_url(self) -> Optional[str]:
        """The URL of the first deployment's endpoint, or None when the service has none."""
        for deployment in self.deployments or []:
            if isinstance(deployment, Deployment) and deployment.endpoint and deployment.endpoint.url:
                return deployment.endpoint.url
        return None


@dataclass(frozen=True)
class CatalogWorkflow:
    """A service's workflow as PSA describes it (its CloudAutomationWorkflow): where it is in the
    Catalog, the service it belongs to and its variables with their default values.

    PSA's field names for it are unverified (see ``clients/routes.py``): the reader accepts
    ``bucket`` or ``bucket_name``, variables as a list of ``{name, value}`` or as an object, and
    the service id as ``pca.service.id`` or ``service_id`` in ``generic_information``.
    """

    bucket: str
    name: str
    service_id: Optional[str] = None
    variables: Dict[str, str] = field(default_factory=dict)

    @property
    def reference(self) -> str:
        """``<bucket>/<name>``, as SERVICE_ACTIVATION_WORKFLOW and SERVICE_ACTION_WORKFLOW write it."""
        return f"{self.bucket}/{self.name}"

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "CatalogWorkflow":
        raw_variables = data.get("variables") or []
        if isinstance(raw_variables, dict):
            variables = {str(k): "" if v is None else str(v) for k, v in raw_variables.items()}
        else:
            variables = {
                str(item["name"]): "" if item.get("value") is None else str(item["value"])
                for item in raw_variables if isinstance(item, dict) and item.get("name")
            }
        info = data.get("generic_information") or data.get("genericInformation") or {}
        service_id = None
        if isinstance(info, dict):
            service_id = info.get(names.GI_SERVICE_ID) or info.get("service_id") or info.get("serviceId")
        return cls(
            bucket=str(data.get("bucket") or data.get("bucket_name") or ""),
            name=str(data.get("name") or ""),
            service_id=str(service_id) if service_id else None,
            variables=variables,
        )

    def to_json(self) -> Dict[str, Any]:
        """The JSON this library expects from PSA (what the emulator serves)."""
        return {
            "name": self.name,
            "bucket": self.bucket,
            "variables": [{"name": key, "value": value} for key, value in self.variables.items()],
            "generic_information": {names.GI_SERVICE_ID: self.service_id} if self.service_id else {},
        }
