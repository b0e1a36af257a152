"""Port propagation: from the deployment task's files to the endpoint PSA shows users."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up: annotations here are strings
    from typing import Optional, Sequence

from . import names
from .numbers import whole_number


def endpoint_protocol(variables, args: Sequence[str]) -> Optional[str]:
    """The endpoint's protocol, by the reference precedence.

    ``HTTPS_ENABLED`` set → https when true, else http; otherwise ``HTTP_ENABLED`` true → http;
    otherwise the script's first argument; otherwise no endpoint at all.
    """
    if variables.text(names.HTTPS_ENABLED) is not None:
        return "https" if variables.flag(names.HTTPS_ENABLED) else "http"
    if variables.flag(names.HTTP_ENABLED):
        return "http"
    if args and args[0].strip():
        return args[0].strip()
    return None


def endpoint_url(protocol: str, host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # IPv6 literal
    return f"{protocol}://{host}:{port}"


def propagate(variables, host: str, port: Optional[int]) -> None:
    """Publish where the service listens to the tasks that follow (``HOSTNAME``, ``PORT``)."""
    variables.set(names.HOSTNAME, host)
    if port is not None:
        variables.set(names.PORT, str(port))


def with_port(url: str, port: int) -> str:
    """``url`` pointing at ``port``: scheme, host and path kept."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    return urlunsplit((parts.scheme, f"{host}:{port}", parts.path, parts.query, parts.fragment))


def move_endpoint(instance, container_name: str, port: int) -> "list[tuple[str, str]]":
    """Point the endpoint of ``container_name``'s deployment at host port ``port``.

    The proxied URL goes through PSA's endpoint proxy, which follows the endpoint URL: it stays.
    Returns the (old, new) URLs changed; empty when the endpoint already points there.
    """
    moved = []
    for deployment in instance.deployments or []:
        container, endpoint = deployment.container, deployment.endpoint
        if container is None or container.name != container_name or endpoint is None or not endpoint.url:
            continue
        url = with_port(endpoint.url, port)
        if url != endpoint.url:
            moved.append((endpoint.url, url))
            endpoint.url = url
    return moved


def published_port(engine, name: str, container_port: str, wait_seconds: float = 10.0) -> Optional[int]:
    """The host port the engine publishes ``container_port`` (``80/tcp``) of container ``name`` on.

    A container started again may show its ports a moment after the start: polled until
    ``wait_seconds``. None when it publishes none.
    """
    import time

    deadline = time.monotonic() + wait_seconds
    while True:
        attrs = engine.inspect(name) or {}
        bindings = ((attrs.get("NetworkSettings") or {}).get("Ports") or {}).get(container_port) or []
        for binding in bindings:
            host_port = whole_number(str(binding.get("HostPort") or ""))
            if host_port is not None and 0 < host_port < 65536:
                return host_port
        if time.monotonic() >= deadline or not (attrs.get("State") or {}).get("Running"):
            return None
        time.sleep(0.05)
