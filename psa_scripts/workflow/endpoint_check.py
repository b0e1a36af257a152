"""After a deployment, does anything answer at the endpoint it reported? ``psa run`` asks once.

A service whose image does not listen on ``CONTAINER_PORT``, or is not ready yet, is still reported
RUNNING by Post_Start_Service (it cannot know): the URL printed would never answer. ``psa run``
knocks once at it, for a few seconds, and warns in one line when nothing answers. An ``http``/``https``
endpoint must send something back (Docker's userland proxy accepts a connection to a published port
even when the container listens on nothing); for another protocol, an accepted connection is enough.
"""

from __future__ import annotations

import socket
import time
from typing import Callable, Optional
from urllib.parse import urlsplit

WAIT_SECONDS = 5.0  # how long the service may take to answer after its deployment
CONNECT_TIMEOUT = 1.0
POLL_SECONDS = 0.25
_PROBE = b"HEAD / HTTP/1.0\r\n\r\n"


def answers(url: str, wait: float = WAIT_SECONDS) -> bool:
    """Whether something answers at ``url``'s host and port within ``wait`` seconds."""
    parts = urlsplit(url)
    if not parts.hostname or parts.port is None:
        return True  # nothing to knock at: no opinion
    deadline = time.monotonic() + wait
    while True:
        if _knock(parts.hostname, parts.port, parts.scheme in ("http", "https")):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)


def _knock(host: str, port: int, expect_reply: bool) -> bool:
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT) as connection:
            if not expect_reply:
                return True
            connection.sendall(_PROBE)
            return bool(connection.recv(1))
    except OSError:
        return False


def warn_if_silent(url: str, say: Callable[[str], None], container_port: Optional[str] = None,
                   wait: float = WAIT_SECONDS) -> bool:
    """Say one line when nothing answers at ``url`` within ``wait`` seconds; whether it answered."""
    if answers(url, wait):
        return True
    port = f" on CONTAINER_PORT {container_port}" if container_port else ""
    say(f"psa run: warning: nothing answers at {url} after {wait:g} s: does the image listen{port}? "
        "Setting READY_LOG makes the deployment wait until the service is ready")
    return False
