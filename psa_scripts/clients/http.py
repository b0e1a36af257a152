"""The HTTP layer every client shares: one ``requests.Session``, bounded retries, clean errors.

Policy, and why:
- Retry only what a retry can cure: connection errors, timeouts and HTTP 502/503/504
  (a proxy or a server restarting). Never 4xx (the request is wrong) nor other 5xx
  (the server failed on this request; replaying a PUT would not help).
- Bound the whole call, not each attempt: after ``deadline`` seconds the call fails,
  whatever the server does. No new attempt starts after it, each attempt's connect and
  read timeouts shrink to the time left, and since a server that trickles its answer a
  byte at a time resets the read timeout at every byte, the attempts run in a worker
  thread the caller stops waiting for at the deadline (the worker ends by itself at its
  socket's next timeout or when the server stops; a script's process exits without it).
- TLS: the settings' ``verify`` (``PSA_CA_BUNDLE``, ``PSA_TLS_VERIFY``) is passed with every
  request, so ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``, which ``requests`` merges over the
  session's own setting, apply only when ours is the default (verify with the system CAs).
- Errors name the method and URL without the query string and never carry the session
  id (it travels only in the ``sessionid`` header) nor a secret the request sent (a
  password, a credential): ``psa_scripts.redact`` removes every form of them from what
  the server answers.

``requests`` and ``tenacity`` are imported on first request, not at import time: a
catalog script that never reaches the network starts without paying for them.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, Optional, Tuple, Union
from urllib.parse import urlsplit, urlunsplit

from ..errors import InputError, RestError
from ..redact import redact
from .routes import Route

if TYPE_CHECKING:  # pragma: no cover
    import requests

RETRY_STATUSES = frozenset({502, 503, 504})
MESSAGE_LIMIT = 300

_FALSE = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True)
class HttpSettings:
    """Timeouts, TLS verification and the retry policy, as data.

    ``verify`` is True, False or the path of a CA bundle. Retries stop after
    ``attempts`` attempts or ``deadline`` seconds, whichever comes first; waits grow
    ``backoff_initial * 2**n`` up to ``backoff_max`` (defaults: 0.5 s, 1 s, 2 s).
    """

    connect_timeout: float = 3.05
    read_timeout: float = 10.0
    verify: Union[bool, str] = True
    attempts: int = 4
    deadline: float = 20.0
    backoff_initial: float = 0.5
    backoff_max: float = 4.0
    log_retries: bool = True

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None, **overrides: Any) -> "HttpSettings":
        """Settings from ``PSA_TLS_VERIFY`` (false opts out), ``PSA_CA_BUNDLE`` and
        ``PSA_HTTP_TIMEOUT`` (read timeout in seconds, or ``connect,read``)."""
        env = os.environ if environ is None else environ
        values: Dict[str, Any] = {}
        bundle = (env.get("PSA_CA_BUNDLE") or "").strip()
        if bundle:
            values["verify"] = bundle
        if (env.get("PSA_TLS_VERIFY") or "").strip().lower() in _FALSE:
            values["verify"] = False  # an explicit opt-out wins over a bundle
        timeout = (env.get("PSA_HTTP_TIMEOUT") or "").strip()
        if timeout:
            values.update(_parse_timeout(timeout))
        values.update(overrides)
        return cls(**values)

    def stop(self) -> Any:
        """tenacity stop condition: ``stop_after_attempt(n) | stop_after_delay(s)``."""
        from tenacity import stop_after_attempt, stop_after_delay

        return stop_after_attempt(self.attempts) | stop_after_delay(self.deadline)

    def wait(self) -> Any:
        """tenacity wait strategy: exponential backoff, capped."""
        from tenacity import wait_exponential

        return wait_exponential(multiplier=self.backoff_initial, max=self.backoff_max)


def _parse_timeout(text: str) -> Dict[str, float]:
    try:
        parts = [float(part) for part in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) == 1 and parts[0] > 0:
        return {"read_timeout": parts[0]}
    if len(parts) == 2 and min(parts) > 0:
        return {"connect_timeout": parts[0], "read_timeout": parts[1]}
    raise InputError(
        f"PSA_HTTP_TIMEOUT must be seconds ('10') or 'connect,read' ('3,10'), got {text!r}"
    )


def safe_url(url: str) -> str:
    """The URL without query string, fragment or user:password, fit for messages and logs; a URL
    that does not parse (a port out of range, a broken IPv6 address) is shown as written, less
    those parts, so that the error about it can be told."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        written = re.sub(r"//[^/?#@]*@", "//", url)
        return re.split(r"[?#]", written, maxsplit=1)[0]
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def trim(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """Server text on one line, cut to ``limit`` characters."""
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def server_message(response: "requests.Response", secrets: Tuple[Optional[str], ...] = ()) -> str:
    """What the server said went wrong: ProActive's ``errorMessage`` when the body is its
    JSON error, else the body text; ``secrets`` redacted, then trimmed."""
    text = response.text or ""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("errorMessage", "message", "error"):
            if isinstance(data.get(key), str) and data[key].strip():
                text = data[key]
                break
    return trim(redact(text, secrets)) or (response.reason or "no message")


def _describe(error: BaseException, secrets: Tuple[Optional[str], ...]) -> str:
    # requests puts the full URL (query included) in its messages: drop it.
    text = re.sub(r"url: \S+", "url: <hidden>", str(error))
    return trim(redact(f"{type(error).__name__}: {text}", secrets))


class TransportFault(Exception):
    """A request that got no HTTP answer, from a transport other than ``requests``.

    ``kind`` is named after the ``requests`` exception it stands for: ``ConnectTimeout`` (the
    connection never opened), ``ConnectionError`` (refused, reset, closed without an answer)
    or ``ReadTimeout``, retried as those are; ``InvalidHeader``, ``InvalidURL`` (a request that
    cannot be sent as given), never retried.
    """

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(f"{kind}: {text}")
        self.kind = kind


def _retryable(error: BaseException, route: Route) -> bool:
    """Whether a failed attempt may be replayed.

    A route that is not idempotent (launching a service) is replayed only when the
    server surely did not act: a 503 or a connection that never opened.
    """
    if isinstance(error, _RetryableStatus):
        return route.idempotent or error.response.status_code == 503
    if isinstance(error, TransportFault):
        return error.kind == "ConnectTimeout" or (route.idempotent and error.kind in ("ConnectionError", "ReadTimeout"))
    import requests

    if isinstance(error, requests.ConnectTimeout):
        return True
    if isinstance(error, (requests.ConnectionError, requests.Timeout)):
        return route.idempotent
    return False


class OutOfTime(Exception):
    """The call's deadline passed before a complete answer came."""



def _within(seconds: float, call: Any) -> Any:
    """``call()``'s result or exception, or OutOfTime once ``seconds`` have passed without one.

    The call runs in a daemon thread: a read that a trickling server keeps alive cannot
    hold the caller past the deadline.
    """
    outcome: Dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # noqa: BLE001 - handed over to the caller as is
            outcome["error"] = error

    worker = threading.Thread(target=run, name="psa-scripts-http", daemon=True)
    worker.start()
    worker.join(max(0.0, seconds))
    if worker.is_alive():
        raise OutOfTime()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


class _RetryableStatus(Exception):
    def __init__(self, response: "requests.Response") -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class RequestsTransport:
    """Sends with a ``requests.Session`` (proxies, CA bundles, redirects): how the clients
    reach a ProActive server. It cannot bound a call whose server trickles its answer, so
    the REST client runs such a call in a worker thread it stops waiting for at the deadline."""

    bounds_deadline = False

    def __init__(self, session: "requests.Session") -> None:
        self.session = session

    def send(self, method: str, url: str, *, params: Any = None, data: Any = None, json: Any = None,
             headers: Optional[Mapping[str, str]] = None, timeout: Tuple[float, float] = (3.05, 10.0),
             deadline: float = float("inf"), proxies: Any = None, verify: Any = True) -> "requests.Response":
        return self.session.request(method, url, params=params, data=data, json=json, headers=headers,
                                    timeout=timeout, proxies=proxies, verify=verify)

    def close(self) -> None:
        self.session.close()


class RestClient:
    """Base of the REST clients: builds URLs from routes, sends, retries, raises RestError.

    Subclasses set ``services`` to the route bases they may call. ``sleep`` is how the
    back-off between attempts waits (``time.sleep``; a test harness passes its clock's).
    ``session``: what to send with, shared with other clients: a ``requests.Session`` (from
    ``new_session``: its kept-alive connections serve them all) or a transport (an object with
    ``send`` and ``bounds_deadline``, e.g. ``loopback.LoopbackTransport`` in a test harness);
    None: the client makes its own ``requests.Session`` on first use.
    """

    services: Tuple[str, ...] = ()

    def __init__(self, base_url: str, session_id: Optional[str] = None,
                 settings: Optional[HttpSettings] = None, *,
                 sleep: Optional[Callable[[float], None]] = None,
                 session: Any = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.session_id = session_id
        self.settings = settings or HttpSettings()
        self.sleep = sleep or time.sleep
        self._session = session
        self._transport: Any = None
        self._environment: Optional[Tuple[Dict[str, str], Union[bool, str]]] = None

    def __repr__(self) -> str:  # never show the session id
        return f"{type(self).__name__}({safe_url(self.base_url)!r})"

    @property
    def session(self) -> "requests.Session":
        """The shared ``requests.Session`` (built on first use)."""
        if self._session is None:
            self._session = new_session()
            self._session.verify = self.settings.verify
        return self._session

    @property
    def transport(self) -> Any:
        """What requests go through: the given transport, else the session in a RequestsTransport."""
        if self._transport is None:
            session = self.session
            self._transport = session if hasattr(session, "bounds_deadline") else RequestsTransport(session)
        return self._transport

    def _proxies_and_verify(self) -> Tuple[Dict[str, str], Union[bool, str]]:
        """What ``requests`` would read from the environment for this base URL (proxies with
        ``NO_PROXY``; ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` when verifying), read once:
        ``requests`` reads it again on every request, several scans of the environment each.
        A plain ``http://`` URL verifies nothing: no bundle (``requests`` would stat it per request)."""
        if self._environment is None:
            from requests.utils import get_environ_proxies

            verify = self.settings.verify
            if verify is True and self.base_url.lower().startswith("https:"):
                verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            try:
                proxies = get_environ_proxies(self.base_url)
            except ValueError:  # a URL that does not parse: the request itself says so, as InvalidURL
                proxies = {}
            self._environment = (proxies, verify)
        return self._environment

    def url(self, route: Route, **path_params: Any) -> str:
        if self.services and route.service not in self.services:
            raise ValueError(f"{type(self).__name__} cannot call a {route.service} route")
        return self.base_url + route.expand(**path_params)

    def request(self, route: Route, *, params: Any = None, data: Any = None, json: Any = None,
                headers: Optional[Mapping[str, str]] = None, secrets: Tuple[Optional[str], ...] = (),
                **path_params: Any) -> "requests.Response":
        """Send ``route`` and return the 2xx response; raise RestError otherwise.

        ``path_params`` fill the route's placeholders. Connection errors, timeouts and
        502/503/504 are retried within the settings' bounds; the whole call, retries
        included, ends by ``settings.deadline``. ``secrets`` (a password, a credential the
        request carries) never appear in an error, whatever the server echoes.
        """
        import requests
        from tenacity import Retrying, retry_if_exception

        url = self.url(route, **path_params)
        shown = safe_url(url)
        all_headers = {"sessionid": self.session_id} if self.session_id else {}
        all_headers.update(headers or {})
        settings = self.settings
        hidden = (self.session_id, *secrets)
        deadline = time.monotonic() + settings.deadline
        transport = self.transport
        if transport.bounds_deadline:
            proxies, verify = None, settings.verify
        else:
            proxies, verify = self._proxies_and_verify()

        def attempt() -> "requests.Response":
            left = deadline - time.monotonic()
            if left <= 0:
                raise OutOfTime()
            timeout = (min(settings.connect_timeout, left), min(settings.read_timeout, left))
            try:
                response = transport.send(
                    route.method, url, params=params, data=data, json=json, headers=all_headers,
                    timeout=timeout, deadline=deadline, proxies=proxies, verify=verify,
                )
            except (requests.Timeout, TransportFault) as error:
                # A timeout cut to the time left is the call's deadline passing: say so, whichever
                # of the socket's timeout and the deadline's watch noticed it first.
                timed_out = not isinstance(error, TransportFault) or error.kind in ("ReadTimeout", "ConnectTimeout")
                if timed_out and deadline - time.monotonic() <= 0.01:
                    raise OutOfTime() from None
                raise
            if response.status_code in RETRY_STATUSES:
                raise _RetryableStatus(response)
            return response

        retrying = Retrying(
            stop=settings.stop(),
            wait=settings.wait(),
            sleep=self.sleep,
            retry=retry_if_exception(lambda error: _retryable(error, route)),
            before_sleep=self._log_retry(route.method, shown) if settings.log_retries else None,
            reraise=True,
        )

        def call() -> "requests.Response":
            try:
                return retrying(attempt)
            except _RetryableStatus as exc:
                return exc.response

        try:
            response = call() if transport.bounds_deadline else _within(settings.deadline, call)
        except OutOfTime:
            raise RestError(route.method, shown, None,
                            f"no complete answer within the call's deadline of {settings.deadline:g} s "
                            "(the server is too slow, or sends its answer a trickle at a time)") from None
        except (requests.RequestException, TransportFault) as exc:
            raise RestError(route.method, shown, None, _describe(exc, hidden)) from None
        if not 200 <= response.status_code < 300:
            message = server_message(response, hidden)
            raise RestError(route.method, shown, response.status_code, message)
        return response

    def request_json(self, route: Route, **kwargs: Any) -> Any:
        """``request`` and decode the JSON answer; a non-JSON answer (a proxy's HTML
        page, say) is a RestError, not a ValueError from deep inside a script."""
        response = self.request(route, **kwargs)
        try:
            return response.json()
        except ValueError:
            shown = safe_url(response.url or self.base_url)
            raise RestError(route.method, shown, response.status_code,
                            "expected JSON, got: " + self._scrub(response.text, 120)) from None

    def _scrub(self, text: str, limit: int = MESSAGE_LIMIT) -> str:
        """Server text fit for a message: the session id redacted, on one line, trimmed."""
        # A server may echo what it was sent; the session id must not reach a log.
        return trim(redact(text, (self.session_id,)), limit)

    def _log_retry(self, method: str, shown: str) -> Any:
        attempts = self.settings.attempts

        def log(state: Any) -> None:
            error = state.outcome.exception() if state.outcome else None
            what = str(error) if isinstance(error, _RetryableStatus) else type(error).__name__
            pause = state.next_action.sleep if state.next_action else 0.0
            print(
                f"psa-scripts: {method} {shown}: {what}; attempt {state.attempt_number + 1}/"
                f"{attempts} in {pause:.2f}s",
                file=sys.stderr, flush=True,
            )

        return log


def new_session() -> "requests.Session":
    """A ``requests.Session`` for the REST clients, to share or not.

    It does not read the environment on each request (``trust_env`` off): each client reads
    the proxies and CA bundle once for its base URL. No ``.netrc`` credentials either: the
    clients authenticate with the ``sessionid`` header only.
    """
    import requests

    session = requests.Session()
    session.trust_env = False
    return session


# What a scheduler's session id looks like (ProActive answers a bare token).
SESSION_ID = re.compile(r"^[A-Za-z0-9._~+/=-]{1,512}$")


class LoginClient(RestClient):
    """A REST client that logs in by itself when given no session (scheduler, RM).

    ``connect()`` and ``getSession()`` keep the binding's Java names, so the client can
    stand in for ``schedulerapi`` / ``rmapi`` off-node.
    """

    login_route: Route

    def __init__(self, base_url: str, session_id: Optional[str] = None,
                 settings: Optional[HttpSettings] = None, *,
                 username: Optional[str] = None, password: Optional[str] = None) -> None:
        super().__init__(base_url, session_id, settings)
        self._credentials = (username, password) if username else None

    def login(self, username: str, password: str) -> str:
        """Log in (form ``username``, ``password``); keep and return the session id.

        A 200 whose body is not a session id (a proxy's login page) is a RestError, not a
        session: nothing of the body that could hold the password is shown.
        """
        self.session_id = None
        response = self.request(self.login_route, data={"username": username, "password": password},
                                secrets=(password,))
        answer = response.text.strip().strip('"')
        if not SESSION_ID.match(answer):
            shown = trim(redact(answer, (password,)), 120)
            raise RestError(self.login_route.method, safe_url(self.url(self.login_route)), response.status_code,
                            f"answered something that is not a session id (a proxy's page?): {shown}")
        self.session_id = answer
        return self.session_id

    def connect(self) -> None:
        """Make sure there is a session: keep the one given, else log in."""
        if self.session_id:
            return
        if self._credentials is None:
            raise InputError(f"{type(self).__name__} has neither a session id nor a username and password")
        self.login(*self._credentials)  # type: ignore[arg-type]

    def getSession(self) -> Optional[str]:  # noqa: N802 - Java name
        return self.session_id
