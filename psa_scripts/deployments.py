"""Deployments given as JSON variables: how a service of several containers reports them.

Each deployment task of such a service (a Spark master and its workers...) puts one JSON
object in the variable ``<base><i>``, ``i`` from 0::

    {"endpoint": {"id": "spark-42-0", "url": "http://host:8080", "proxyfied_url": "https://..."},
     "node": {"name": ..., "host": ..., "node_source_name": ..., "url": ...},
     "container": {"id": ..., "name": ...}}

``endpoint`` with its ``id`` is required (PSA shows a deployment by its endpoint); ``url``,
``proxyfied_url`` (the endpoint is then proxied), ``node`` and ``container`` are optional.
Add_deployments_and_update_service reads ``<base>0`` .. ``<base>N-1``.
"""

from __future__ import annotations

import json
from typing import Any, List

from .errors import InputError
from .model import Deployment

_TEXT_FIELDS = {"endpoint": ("id", "url", "proxyfied_url"), "node": ("id", "name", "host", "node_source_name", "url"),
                "container": ("id", "name")}


def read_deployments(variables: Any, base: str, count: int) -> List[Deployment]:
    """The deployments of variables ``<base>0`` .. ``<base><count-1>``; InputError naming the
    first variable that is missing or malformed, before anything is changed."""
    return [_deployment(variables, f"{base}{index}") for index in range(count)]


def _deployment(variables: Any, name: str) -> Deployment:
    text = variables.text(name)
    if text is None:
        raise InputError(f"variable {name} is not set: the task of that deployment must put its JSON there")
    try:
        data = json.loads(text)
    except ValueError as error:
        raise InputError(f"variable {name} is not valid JSON ({error}): {text[:120]!r}") from None
    if not isinstance(data, dict):
        raise InputError(f"variable {name} must hold a JSON object, got {type(data).__name__}")
    endpoint = data.get("endpoint")
    if not isinstance(endpoint, dict) or not str(endpoint.get("id") or "").strip():
        raise InputError(f'variable {name} has no endpoint id: every deployment needs {{"endpoint": {{"id": ...}}}}')
    for part, fields in _TEXT_FIELDS.items():
        value = data.get(part)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise InputError(f"variable {name}: {part} must be a JSON object, got {type(value).__name__}")
        for field_name in fields:
            if value.get(field_name) is not None and not isinstance(value[field_name], (str, int)):
                raise InputError(f"variable {name}: {part}.{field_name} must be a string, got {value[field_name]!r}")
    proxied_url = endpoint.get("proxyfied_url")
    parts = {part: data[part] for part in ("node", "container") if data.get(part) is not None}
    return Deployment.from_json({
        **parts,
        "endpoint": {
            "id": str(endpoint["id"]).strip(),
            "url": endpoint.get("url"),
            "proxyfied": bool(proxied_url),
            "proxyfiedUrl": proxied_url or None,
        },
    })
