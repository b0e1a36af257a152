"""Node tokens: ``PSA_<INSTANCE_NAME>`` reserves the deployment node for the service's tasks."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up: annotations here are strings
    from typing import Any, Iterable

from . import names


def node_token(instance_name: str) -> str:
    return names.TOKEN_PREFIX + instance_name


def add_node_token(rmapi: Any, node_url: str, instance_name: str) -> str:
    token = node_token(instance_name)
    rmapi.addNodeToken(node_url, token)
    return token


def remove_node_token(rmapi: Any, node_url: str, instance_name: str) -> str:
    token = node_token(instance_name)
    rmapi.removeNodeToken(node_url, token)
    return token


def holds_service_token(tokens: Iterable[Any]) -> bool:
    """True when any token belongs to a PSA service (starts with ``PSA_``)."""
    if tokens is None:
        return False
    if not isinstance(tokens, (list, tuple, set, frozenset)):
        try:
            tokens = [tokens[i] for i in range(len(tokens))]  # JavaArray
        except TypeError:
            tokens = list(tokens)
    return any(str(token).startswith(names.TOKEN_PREFIX) for token in tokens)
