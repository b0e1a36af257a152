"""The Service Automation REST client (``PA_CLOUD_AUTOMATION_REST_URL``).

Reads and writes whole ServiceInstance documents; for a safe read-modify-write under
concurrent writers use ``psa_scripts.instances.update_instance``.
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import sys
from typing import Any, Dict, List, Mapping, Optional

from ..errors import InputError, RestError
from ..model import CatalogWorkflow, ServiceInstance
from . import routes
from .http import HttpSettings, RestClient, safe_url, trim

__all__ = ["PsaClient", "HttpSettings"]


class PsaClient(RestClient):
    """Service Automation, authenticated by the scheduler session id (header ``sessionid``)."""

    services = (routes.PSA,)

    def __init__(self, base_url: str, session_id: str,
                 settings: Optional[HttpSettings] = None, **options: Any) -> None:
        super().__init__(base_url, session_id, settings, **options)

    def get_instance(self, instance_id: int) -> ServiceInstance:
        """The instance as PSA stores it now."""
        route = routes.PSA_GET_INSTANCE
        url = self.url(route, instance_id=instance_id)
        data = self.request_json(route, instance_id=instance_id)
        return ServiceInstance.from_json(_expect(dict, data, route, url))

    def put_instance(self, instance: ServiceInstance, *, retry: bool = True) -> ServiceInstance:
        """Replace the stored instance by ``instance`` (whole document, unknown fields kept).

        Returns what PSA answered, or ``instance`` itself when the answer has no body.
        ``retry=False``: one attempt only, for a caller that re-reads before trying again
        (``psa_scripts.instances.update_instance``).
        """
        if instance.instance_id is None:
            raise InputError("cannot PUT a service instance without instance_id")
        client = self if retry else self._single_attempt()
        response = client.request(
            routes.PSA_PUT_INSTANCE, json=instance.to_json(), instance_id=instance.instance_id
        )
        return _instance_or(response, instance)

    def _single_attempt(self) -> "PsaClient":
        """This client (same session, same connection pool) making one attempt per call."""
        once = copy.copy(self)
        once._session = self.session
        once.settings = dataclasses.replace(self.settings, attempts=1)
        return once

    def list_instances(self, active_only: bool = False) -> List[ServiceInstance]:
        """Every instance the session may see (only the active ones with ``active_only``)."""
        route = routes.PSA_LIST_ACTIVE_INSTANCES if active_only else routes.PSA_LIST_INSTANCES
        url = self.url(route)
        data = _expect(list, self.request_json(route), route, url)
        return [ServiceInstance.from_json(_expect(dict, item, route, url)) for item in data]

    def public_address(self) -> Optional[str]:
        """This host's address as PSA sees it, or None when PSA cannot tell.

        None on any failure (the route is unverified, see routes.py), on an empty answer,
        on a loopback address and on anything that is not a host name or an IP address (a
        proxy's HTML login page, a JSON object): the caller then falls back to
        ``PA_NODE_HOST``. Never raises: a missing address must not fail a deployment.
        """
        try:
            response = self.request(routes.PSA_PUBLIC_ADDRESS)
            address = response.text.strip().strip('"').strip()
        except Exception as error:  # noqa: BLE001 - by contract, any failure means "unknown"
            if getattr(error, "status", None) == 404:  # PSA knows none: the usual case, not a fault
                print("psa-scripts: note: PSA has no public address for this node (HTTP 404); the endpoint "
                      "uses the node's own host name (PA_NODE_HOST)", file=sys.stderr, flush=True)
            else:
                print(f"psa-scripts: note: could not ask PSA for this node's public address ({error}); the "
                      "endpoint uses the node's own host name (PA_NODE_HOST)", file=sys.stderr, flush=True)
            return None
        if not address or _is_loopback(address):
            return None
        if not is_host_address(address):
            # Not echoed: a page served in place of the address is no business of the log.
            print(f"psa-scripts: PSA's answer for this node's public address ({len(address)} "
                  "characters) is not a host name or an IP address; the node's own host name "
                  "is used", file=sys.stderr, flush=True)
            return None
        return address

    def launch_service(self, bucket: str, workflow: str, variables: Mapping[str, Any],
                       parent_job_id: Optional[str] = None) -> Optional[ServiceInstance]:
        """Start a service from its deployment workflow; the new instance when PSA returns it.

        ``parent_job_id``: the job launching it (PSA records it with the submission).
        """
        response = self.request(routes.PSA_LAUNCH_SERVICE, json=_action_body(bucket, workflow, variables),
                                params=_parent(parent_job_id))
        return _instance_or(response, None)

    def run_action(self, instance_id: int, bucket: str, workflow: str,
                   variables: Mapping[str, Any], parent_job_id: Optional[str] = None) -> Optional[ServiceInstance]:
        """Run an action workflow (finish, pause...) on an instance."""
        response = self.request(
            routes.PSA_RUN_ACTION, json=_action_body(bucket, workflow, variables),
            params=_parent(parent_job_id), instance_id=instance_id,
        )
        return _instance_or(response, None)

    def service_workflows(self, service_id: str) -> List[CatalogWorkflow]:
        """The deployment workflows of service ``service_id`` (its ``pca.service.id``)."""
        route = routes.PSA_SERVICE_WORKFLOWS
        url = self.url(route, service_id=service_id)
        data = _expect(list, self.request_json(route, service_id=service_id), route, url)
        return [_workflow(item, route, url) for item in data]

    def catalog_workflow(self, bucket: str, name: str) -> CatalogWorkflow:
        """The workflow ``name`` of Catalog bucket ``bucket``, as PSA describes it."""
        route = routes.PSA_CATALOG_WORKFLOW
        url = self.url(route, bucket=bucket, name=name)
        return _workflow(self.request_json(route, bucket=bucket, name=name), route, url)

    def executable_actions(self, instance_id: int) -> List[CatalogWorkflow]:
        """The actions that can run on the instance in its current status."""
        route = routes.PSA_EXECUTABLE_ACTIONS
        url = self.url(route)
        data = _expect(dict, self.request_json(route, params={"instanceIds": str(instance_id)}), route, url)
        actions = data.get(str(instance_id)) or []
        return [_workflow(item, route, url) for item in _expect(list, actions, route, url)]


def _parent(parent_job_id: Optional[str]) -> Optional[Dict[str, str]]:
    return {routes.PARENT_JOB_ID_PARAM: str(parent_job_id)} if parent_job_id else None


def _workflow(item: Any, route: routes.Route, url: str) -> CatalogWorkflow:
    workflow = CatalogWorkflow.from_json(_expect(dict, item, route, url))
    if not workflow.name or not workflow.bucket:
        raise RestError(route.method, safe_url(url), 200, f"a workflow without name or bucket: {trim(repr(item), 120)}")
    return workflow


def _expect(kind: type, data: Any, route: routes.Route, url: str) -> Any:
    """``data`` when it is a JSON ``kind`` (object or list), else a RestError saying so."""
    if not isinstance(data, kind):
        what = "a JSON object" if kind is dict else "a JSON list"
        raise RestError(route.method, safe_url(url), 200, f"expected {what}, got {type(data).__name__}")
    return data


def _action_body(bucket: str, workflow: str, variables: Mapping[str, Any]) -> Dict[str, Any]:
    return {
        "bucket_name": bucket,
        "workflow_name": workflow,
        "variables": {str(key): str(value) for key, value in dict(variables).items()},
    }


def _instance_or(response: Any, fallback: Any) -> Any:
    if not response.content:
        return fallback
    try:
        data = response.json()
    except ValueError:
        return fallback
    return ServiceInstance.from_json(data) if isinstance(data, dict) else fallback


_HOST_LABEL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


def is_host_address(text: str) -> bool:
    """Whether ``text`` is an IPv4/IPv6 address or a DNS host name (RFC 1123 labels)."""
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        pass
    name = text[:-1] if text.endswith(".") else text
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    return all(
        0 < len(label) <= 63 and _HOST_LABEL.issuperset(label)
        and not label.startswith("-") and not label.endswith("-")
        for label in labels
    ) and not labels[-1].isdigit()  # 1.2.3 or 300.1.1.1: a malformed address, not a name


def _is_loopback(address: str) -> bool:
    if address.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
