"""The PSA endpoint proxy: the URLs through which users reach a proxied service."""

from __future__ import annotations

from . import names


def proxy_urls(public_rest_url: str, instance_id: int, endpoint_id: str) -> "tuple[str, str]":
    """The HTTP and WebSocket proxy URLs of an endpoint, both with a trailing slash.

    ``{PA_CLOUD_AUTOMATION_REST_PUBLIC_URL}/services/{instance}/endpoints/{endpoint}/``;
    the WebSocket form swaps the scheme (http→ws, https→wss).
    """
    http_url = f"{public_rest_url.rstrip('/')}/services/{instance_id}/endpoints/{endpoint_id}/"
    if http_url.startswith("https://"):
        ws_url = "wss://" + http_url[len("https://"):]
    elif http_url.startswith("http://"):
        ws_url = "ws://" + http_url[len("http://"):]
    else:
        ws_url = http_url
    return http_url, ws_url


def misspelling_warning(variables) -> "str | None":
    """A warning when PROXIFIED is set but PROXYFIED is not: the proxy would be silently off."""
    if variables.text(names.PROXYFIED) is None and variables.text(names.PROXYFIED_MISSPELT) is not None:
        return (
            f"variable {names.PROXYFIED_MISSPELT} is set but {names.PROXYFIED} is not: "
            f"the proxy is only enabled by {names.PROXYFIED} (this spelling)"
        )
    return None
