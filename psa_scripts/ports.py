"""Port propagation: from the deployment task's files to the endpoint PSA shows users."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up: annotations here are strings
    from typing import Optional, Sequence

from . import names


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
