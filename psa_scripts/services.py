"""Driving PSA services from a workflow task: workflow references, instances by name, waits.

What Service_Start, Service_Action and Find_and_set_Instance_Id share: reading a
``<bucket>/<name>`` workflow reference, passing a task's variables on to a service,
finding an instance from its service and ``INSTANCE_NAME``, and waiting, with a deadline
on the context's clock, until an instance reaches a status.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up: annotations here are strings
    from typing import Any, Dict, List, Optional, Sequence, Tuple

    from .context import ScriptContext, Values
    from .model import ServiceInstance

from . import names
from .channel import ServiceChannel
from .errors import InputError, ServiceError, StatusTimeout

POLL_SECONDS = 5.0  # between two reads of an instance's status


def workflow_reference(values: "Values", name: str) -> "Optional[Tuple[str, str]]":
    """Variable ``name`` read as ``<bucket>/<workflow name>``; None when not set."""
    text = values.text(name)
    if text is None:
        return None
    bucket, _, workflow = text.partition("/")
    if not bucket.strip() or not workflow.strip() or "/" in workflow:
        raise InputError(f"{name} must be <bucket>/<workflow name>, e.g. service-automation/MongoDB, got {text!r}")
    return bucket.strip(), workflow.strip()


def positive_seconds(values: "Values", name: str, default: int) -> int:
    """Variable ``name`` as a number of seconds greater than 0, ``default`` when not set."""
    seconds = values.integer(name, default)
    if seconds is None or seconds <= 0:
        raise InputError(f"{name} must be a number of seconds greater than 0, got {values.get(name)!r}")
    return seconds


def passed_variables(ctx: "ScriptContext", first: int, what: str) -> "Dict[str, str]":
    """The task's variables named by the arguments from ``first`` on, with their values.

    A name that is not set is an error: a misspelt name would otherwise pass nothing.
    """
    passed: "Dict[str, str]" = {}
    for position in range(first, len(ctx.args)):
        name = ctx.args[position].strip()
        if not name:
            continue
        value = ctx.variables.get(name)
        if value is None:
            raise InputError(
                f"argument {position + 1} names variable {name!r}, which is not set in this task ({what})"
            )
        passed[name] = str(value)
    return passed


def named_instances(instances: "Sequence[ServiceInstance]", instance_name: str,
                    service_id: "Optional[str]" = None) -> "List[ServiceInstance]":
    """The instances whose variable INSTANCE_NAME is ``instance_name`` (of ``service_id`` if given)."""
    return [
        instance for instance in instances
        if (instance.variables or {}).get(names.INSTANCE_NAME) == instance_name
        and (service_id is None or instance.service_id == service_id)
    ]


def one_instance(found: "List[ServiceInstance]", what: str) -> "ServiceInstance":
    """The only instance of ``found``; a ServiceError saying which when there are none or several."""
    if not found:
        raise ServiceError(f"no active service instance {what}")
    if len(found) > 1:
        ids = ", ".join(str(instance.instance_id) for instance in found)
        raise ServiceError(f"several active service instances {what} (ids {ids}): set INSTANCE_ID to choose one")
    return found[0]


def wait_for_status(ctx: "ScriptContext", instance_id: int, wanted: str, timeout: float,
                    timeout_variable: str) -> "ServiceInstance":
    """Read the instance every POLL_SECONDS until its status is ``wanted``; StatusTimeout after
    ``timeout`` seconds of the context's clock, ServiceError as soon as it ends in another status."""
    deadline = ctx.now() + timeout
    while True:
        instance = ctx.psa.get_instance(instance_id)
        status = instance.instance_status
        if status == wanted:
            return instance
        if status in names.END_STATUSES:
            raise ServiceError(
                f"service instance {instance_id} ended in {status} instead of {wanted}"
                + _deploy_error(ctx, instance_id)
            )
        left = deadline - ctx.now()
        if left <= 0:
            raise StatusTimeout(
                f"service instance {instance_id} is still {status} after {timeout:g} s, not {wanted} "
                f"(set {timeout_variable} to wait longer); it was left as it is", status)
        ctx.sleep(min(POLL_SECONDS, left))


def _deploy_error(ctx: "ScriptContext", instance_id: int) -> str:
    """The deployment's own error message, when it left one in the service's channel."""
    try:
        message = ServiceChannel(ctx.sync, instance_id).text(names.KEY_DEPLOY_ERROR_MESSAGE)
    except Exception:  # noqa: BLE001 - a hint only: the status already says what failed
        return ""
    return f": {message}" if message else ""
