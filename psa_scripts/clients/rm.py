"""The resource manager REST client, standing in for the ``rmapi`` binding off-node.

Scheduler and RM share sessions on the REST server, so the scheduler's session id
works here too.
"""

from __future__ import annotations

from typing import Optional

from ..errors import InputError
from . import routes
from .http import HttpSettings, RestClient


class RmClient(RestClient):
    """The RM REST API (base ``.../rest``, like the scheduler's)."""

    services = (routes.RM,)

    def __init__(self, base_url: str, session_id: Optional[str] = None,
                 settings: Optional[HttpSettings] = None, *,
                 username: Optional[str] = None, password: Optional[str] = None) -> None:
        super().__init__(base_url, session_id, settings)
        self._credentials = (username, password) if username else None

    def login(self, username: str, password: str) -> str:
        """Log in (form ``username``, ``password``); keep and return the session id."""
        self.session_id = None
        response = self.request(routes.RM_LOGIN, data={"username": username, "password": password})
        self.session_id = response.text.strip().strip('"')
        return self.session_id

    # --- the rmapi binding's methods, by their Java names -------------------------------
    def connect(self) -> None:
        """Make sure there is a session: keep the one given, else log in."""
        if self.session_id:
            return
        if self._credentials is None:
            raise InputError("RmClient has neither a session id nor a username and password")
        self.login(*self._credentials)  # type: ignore[arg-type]

    def getSession(self) -> Optional[str]:  # noqa: N802 - Java name
        return self.session_id

    def addNodeToken(self, nodeUrl: str, token: str) -> None:  # noqa: N802,N803
        """Reserve node ``nodeUrl`` for tasks carrying ``token`` (headers nodeurl, token)."""
        self.request(routes.RM_ADD_NODE_TOKEN, headers={"nodeurl": nodeUrl, "token": token})

    def removeNodeToken(self, nodeUrl: str, token: str) -> None:  # noqa: N802,N803
        self.request(routes.RM_REMOVE_NODE_TOKEN, headers={"nodeurl": nodeUrl, "token": token})
