"""The resource manager REST client, standing in for the ``rmapi`` binding off-node.

Scheduler and RM share sessions on the REST server, so the scheduler's session id
works here too.
"""

from __future__ import annotations

from . import routes
from .http import LoginClient


class RmClient(LoginClient):
    """The RM REST API (base ``.../rest``, like the scheduler's)."""

    services = (routes.RM,)

    login_route = routes.RM_LOGIN

    def addNodeToken(self, nodeUrl: str, token: str) -> None:  # noqa: N802,N803
        """Reserve node ``nodeUrl`` for tasks carrying ``token`` (headers nodeurl, token)."""
        self.request(routes.RM_ADD_NODE_TOKEN, headers={"nodeurl": nodeUrl, "token": token})

    def removeNodeToken(self, nodeUrl: str, token: str) -> None:  # noqa: N802,N803
        self.request(routes.RM_REMOVE_NODE_TOKEN, headers={"nodeurl": nodeUrl, "token": token})
