"""``DockerEngine``: the Docker Engine API (Docker, or Podman's compat API) via the ``docker`` SDK.

It implements the ``ContainerEngine`` interface Check_Instance_Status uses (``is_running``,
``read_logs``) and what the Docker action scripts need (``deploy``, ``stop``, ``start``,
``remove``). No shell, ever: every call is an HTTP request with a timeout, and every
container name passes ``check_instance_name`` first. ``docker`` and ``requests`` are
imported inside the methods: a script that never touches the engine must start fast.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

from ..errors import EngineError
from ..numbers import whole_number
from ..redact import redact
from .outcome import ActionOutcome
from .spec import DEFAULT_STOP_TIMEOUT, PICK_FREE_PORT, Deployed, DeploySpec, check_instance_name, check_owner
from .status import (API_VERSION, DEFAULT_TIMEOUT, ENGINE_HINT, LOG_READ_SECONDS, LogResponse, StatusReader,
                     StreamBroken)

# API_VERSION, the one pin of the API version, lives in .status: lite uses it too.
PORT_WAIT_SECONDS = 10.0  # how long a fresh container may take to show its published port
PULL_SECONDS = 900.0  # the most a deployment waits for an image pull
_POLL_SECONDS = 0.05
_PORT_RACE_ATTEMPTS = 3
_DEPLOY_ATTEMPTS = 5
_CHUNK = 65536


class DockerEngine(StatusReader):
    """The Docker Engine API (Docker or Podman) behind the ContainerEngine interface.

    ``client`` is a ``docker.DockerClient`` (or a double with the same surface); build one
    from the environment with ``from_env``. ``is_running`` and ``read_logs`` come from
    ``StatusReader``; this class gives them their SDK transport.
    """

    def __init__(
        self,
        client: Any,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        log_read_seconds: float = LOG_READ_SECONDS,
        port_wait_seconds: float = PORT_WAIT_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(timeout=timeout, log_read_seconds=log_read_seconds, clock=clock)
        self.client = client
        self.port_wait_seconds = port_wait_seconds

    @classmethod
    def from_env(cls, environ: Mapping[str, str], *, timeout: float = DEFAULT_TIMEOUT, **options: Any) -> "DockerEngine":
        """The engine ``DOCKER_HOST`` (``DOCKER_TLS_VERIFY``, ``DOCKER_CERT_PATH``) names, else the local socket.

        The API version is ``DOCKER_API_VERSION`` or ``API_VERSION``, not negotiated: asking
        costs a request per script run, half a second on Podman. ``auto`` negotiates.
        """
        import docker

        where = environ.get("DOCKER_HOST") or "the default socket /var/run/docker.sock"
        version = environ.get("DOCKER_API_VERSION") or API_VERSION
        try:
            client = docker.from_env(version=version, timeout=timeout, environment=dict(environ))
        except docker.errors.DockerException as error:
            raise EngineError(
                f"no container engine answers at {where}: {error}; {ENGINE_HINT}"
            ) from None
        return cls(client, timeout=timeout, **options)

    # --- the status transport (StatusReader) ---------------------------------------------------
    def _inspect_document(self, name: str) -> Optional[Dict[str, Any]]:
        with _engine_errors(f"inspect container {name}"):
            try:
                return self.client.api.inspect_container(name)
            except _not_found():
                return None

    @contextlib.contextmanager
    def _log_response(self, container: str, params: Dict[str, str], timeout: float) -> Iterator[LogResponse]:
        import requests

        api = self.client.api
        response = None
        try:
            # The SDK's streaming helpers switch the socket timeout off; this request keeps it.
            response = api._get(api._url("/containers/{0}/logs", container), params=params,
                                stream=True, timeout=timeout)
            problem = None
            if response.status_code != 404:
                try:
                    with _engine_errors("read them"):
                        api._raise_for_status(response)
                except EngineError as error:
                    problem = str(error)
            chunks = response.iter_content(chunk_size=_CHUNK)

            def read(seconds: float) -> bytes:
                _limit_socket_wait(response, seconds)
                return next(chunks, b"")

            yield LogResponse(response.status_code, problem, read)
        except requests.exceptions.RequestException as error:
            timed_out = isinstance(error, requests.exceptions.Timeout) or "timed out" in str(error).lower()
            raise StreamBroken(str(error), timed_out) from None
        finally:
            if response is not None:
                response.close()

    # --- deploy -------------------------------------------------------------------------------
    def deploy(self, spec: DeploySpec) -> Deployed:
        """Reuse a running container named ``spec.name``, start a stopped one, else create it.

        Only a container carrying ``spec.owner``'s labels is reused or started; another of that
        name raises ForeignContainer and is left untouched. A created one gets ``spec.labels``.

        Another deployment of the same name may be creating, starting or (after a failed
        start) removing that container meanwhile: such a clash is retried, briefly.
        """
        check_instance_name(spec.name)
        for attempt in range(1, _DEPLOY_ATTEMPTS + 1):
            try:
                return self._deploy_once(spec)
            except _Contended as contended:
                if attempt == _DEPLOY_ATTEMPTS:
                    raise EngineError(
                        f"could not deploy {spec.name}: another deployment of that name keeps "
                        f"getting in the way ({contended})") from None
                time.sleep(_POLL_SECONDS * attempt)
        raise AssertionError("unreachable")

    def _deploy_once(self, spec: DeploySpec) -> Deployed:
        attrs = self.inspect(spec.name)
        if attrs is not None:
            check_owner(spec.name, attrs, spec.owner)
        if attrs is None:
            container_id, action = self._create(spec), "created"
        elif attrs.get("State", {}).get("Running"):
            container_id, action = attrs["Id"], "reused"
        else:
            container_id, action = attrs["Id"], "started"
            with _contention_as_retry(spec):
                with _engine_errors(f"start container {spec.name}"):
                    self.client.api.start(container_id)
        with _contention_as_retry(spec):
            try:
                port = self._published_port(spec, container_id, wait=action != "reused")
            except EngineError:
                if action == "created":  # a container this deployment made and that died at once is not kept
                    with contextlib.suppress(Exception):
                        self.client.api.remove_container(container_id, v=True, force=True)
                raise
        return Deployed(container_id, port, action)

    def _create(self, spec: DeploySpec) -> str:
        """Create and start the container; a container that cannot start is removed again."""
        self._ensure_image(spec.image)
        options = _create_options(spec)
        import docker

        secrets = tuple(spec.environment.values())  # an engine may quote a value it refused
        for attempt in range(1, _PORT_RACE_ATTEMPTS + 1):
            with _engine_errors(f"create container {spec.name} from {spec.image}", secrets):
                try:
                    container = self.client.containers.create(
                        spec.image, list(spec.command) if spec.command else None, name=spec.name, **options)
                except docker.errors.APIError as error:
                    if error.status_code == 409 or "is already in use" in str(error.explanation):  # Podman: 500
                        raise _Contended("the name was taken meanwhile") from None
                    raise
            try:
                with _engine_errors(f"start container {spec.name}", secrets):
                    container.start()
                return str(container.id)
            except EngineError as error:
                with contextlib.suppress(Exception):
                    container.remove(force=True, v=True)
                # Podman picks the free port at create time and binds it at start: a concurrent
                # deployment may take it in between. Docker binds at start: no such race.
                engine_picked = spec.service_port == PICK_FREE_PORT
                if not (engine_picked and "address already in use" in str(error) and attempt < _PORT_RACE_ATTEMPTS):
                    raise
        raise AssertionError("unreachable")

    def _ensure_image(self, image: str) -> None:
        """Pull ``image`` only when it is not there locally; a clear error when it cannot be had."""
        import docker
        from docker.utils import parse_repository_tag

        with _engine_errors(f"look up image {image}"):
            try:
                self.client.images.get(image)
                return
            except docker.errors.ImageNotFound:
                pass
        repository, tag = parse_repository_tag(image)
        try:
            self._pull(repository, tag or "latest")
            with _engine_errors(f"look up image {image}"):
                self.client.images.get(image)
        except (EngineError, docker.errors.DockerException) as error:
            raise EngineError(
                f"image {image} is not on this host and could not be pulled: {error}; "
                "load or build it on the node, or check DOCKER_IMAGE and the registry"
            ) from None

    def _pull(self, repository: str, tag: str) -> None:
        """``POST /images/create`` with a deadline (the SDK's pull has no timeout at all)."""
        from docker import auth

        api = self.client.api
        headers = {}
        registry, _ = auth.resolve_repository_name(repository)
        credentials = auth.get_config_header(api, registry)
        if credentials:
            headers["X-Registry-Auth"] = credentials
        deadline = self.clock() + PULL_SECONDS
        with _engine_errors(f"pull {repository}:{tag}"):
            response = api._post(api._url("/images/create"), params={"fromImage": repository, "tag": tag},
                                 headers=headers, stream=True, timeout=self.timeout)
            try:
                api._raise_for_status(response)
                for line in response.iter_lines():  # progress messages; an error can come with HTTP 200
                    with contextlib.suppress(ValueError):
                        message = json.loads(line)
                        if isinstance(message, dict) and message.get("error"):
                            raise EngineError(str(message["error"]))
                    if self.clock() > deadline:
                        raise EngineError(f"the pull took more than {PULL_SECONDS:g} s")
            finally:
                response.close()

    def _published_port(self, spec: DeploySpec, container_id: str, *, wait: bool) -> Optional[int]:
        """The host port published for ``spec.container_port`` (it may appear late); the container must run."""
        deadline = self.clock() + (self.port_wait_seconds if wait else 0.0)
        while True:
            with _engine_errors(f"inspect container {spec.name}"):
                attrs = self.client.api.inspect_container(container_id)
            state = attrs.get("State", {})
            if not state.get("Running"):
                raise EngineError(
                    f"container {spec.name} stopped right after it started (exit code "
                    f"{state.get('ExitCode')}): {self._last_words(container_id)}")
            if not spec.container_port:
                return None
            bindings = (attrs.get("NetworkSettings", {}).get("Ports") or {}).get(spec.container_port) or []
            for binding in bindings:
                host_port = whole_number(str(binding.get("HostPort") or ""))
                if host_port is not None and 0 < host_port < 65536:
                    return host_port
            if self.clock() > deadline:
                raise EngineError(
                    f"container {spec.name} runs but does not publish port {spec.container_port}: "
                    "remove it, or pick another INSTANCE_NAME")
            time.sleep(_POLL_SECONDS)

    def _last_words(self, container_id: str) -> str:
        with contextlib.suppress(Exception):
            tail = self.client.api.logs(container_id, tail=10).decode("utf-8", "replace").strip()
            return f"its last lines: {tail}" if tail else "it logged nothing"
        return "its logs could not be read"

    # --- actions ------------------------------------------------------------------------------
    # ``owner`` (the labels of owner_labels): act only on a container carrying them, found by name
    # and then addressed by its id, so that a container swapped in meanwhile is not touched either;
    # another container of that name raises ForeignContainer. None: any container of that name.
    def stop(self, name: str, timeout: int = DEFAULT_STOP_TIMEOUT, *,
             owner: Optional[Mapping[str, str]] = None) -> ActionOutcome:
        return self._act(name, "stop", lambda target: self.client.api.stop(target, timeout=timeout), owner)

    def start(self, name: str, *, owner: Optional[Mapping[str, str]] = None) -> ActionOutcome:
        return self._act(name, "start", lambda target: self.client.api.start(target), owner)

    def remove(self, name: str, *, owner: Optional[Mapping[str, str]] = None) -> ActionOutcome:
        """Remove the container, running or not, with its anonymous volumes (``rm -fv``)."""
        return self._act(name, "remove", lambda target: self.client.api.remove_container(target, v=True, force=True),
                         owner)

    def labelled(self, labels: Mapping[str, str]) -> List[Dict[str, Any]]:
        """Every container, running or not, that carries all of ``labels``: ``name``, ``id``, ``running``."""
        wanted = [f"{key}={value}" for key, value in labels.items()]
        with _engine_errors("list containers by label"):
            found = self.client.api.containers(all=True, filters={"label": wanted})
        return sorted(({"name": str((c.get("Names") or ["?"])[0]).lstrip("/"), "id": str(c.get("Id", "")),
                        "running": str(c.get("State", "")).lower() == "running"} for c in found),
                      key=lambda container: container["name"])

    def ping(self) -> None:
        """Nothing when the engine answers; EngineError saying it does not."""
        with _engine_errors("reach the container engine"):
            self.client.api.ping()

    def _act(self, name: str, verb: str, call: Callable[[str], Any],
             owner: Optional[Mapping[str, str]]) -> ActionOutcome:
        check_instance_name(name)
        target = name
        if owner is not None:
            attrs = self.inspect(name)
            if attrs is None:
                return ActionOutcome.NO_SUCH_CONTAINER
            check_owner(name, attrs, owner)
            target = str(attrs["Id"])
        with _engine_errors(f"{verb} container {name}"):
            try:
                call(target)
            except _not_found():
                return ActionOutcome.NO_SUCH_CONTAINER
        return ActionOutcome.DONE


class _Contended(Exception):
    """Another deployment of the same name got in the way: look again and retry."""


@contextlib.contextmanager
def _contention_as_retry(spec: DeploySpec) -> Iterator[None]:
    """The container vanished, or its engine-picked port was taken: the other deployment's doing."""
    try:
        yield
    except EngineError as error:
        text = str(error).lower()
        vanished = "no such container" in text or "no container with name or id" in text
        port_race = spec.service_port == PICK_FREE_PORT and "address already in use" in text
        if vanished or port_race:
            raise _Contended(str(error)) from None
        raise


def _create_options(spec: DeploySpec) -> Dict[str, Any]:
    """The ``containers.create`` keyword arguments for ``spec`` (besides image, command, name)."""
    options = dict(spec.options)
    options["labels"] = spec.labels
    if "device_requests" in options:
        from docker.types import DeviceRequest

        options["device_requests"] = [DeviceRequest(**request) for request in options["device_requests"]]
    if spec.volumes:
        options["volumes"] = list(spec.volumes)
    if spec.environment:
        options["environment"] = dict(spec.environment)
    if spec.container_port:
        host_port = None if spec.service_port == PICK_FREE_PORT else spec.service_port
        options["ports"] = {spec.container_port: host_port}  # None: the engine picks the port
    return options


def _limit_socket_wait(response: Any, seconds: float) -> None:
    """Make the response's next socket read give up after ``seconds`` (unix and TCP sockets)."""
    with contextlib.suppress(Exception):  # another transport (ssh, npipe): the request timeout holds
        raw = response.raw._fp.fp.raw
        getattr(raw, "_sock", raw).settimeout(max(0.05, seconds))


def _not_found() -> type:
    import docker

    return docker.errors.NotFound


@contextlib.contextmanager
def _engine_errors(what: str, secrets: Tuple[str, ...] = ()) -> Iterator[None]:
    """Engine and connection failures as EngineError carrying the engine's own message
    (``secrets``, values the request carried, redacted from it)."""
    import docker
    import requests

    try:
        yield
    except docker.errors.APIError as error:
        raise EngineError(redact(f"could not {what}: {error.explanation or error}", secrets)) from None
    except (requests.exceptions.RequestException, docker.errors.DockerException) as error:
        raise EngineError(redact(
            f"could not {what}: the container engine did not answer (is DOCKER_HOST right? {ENGINE_HINT}): "
            f"{error}", secrets)) from None
