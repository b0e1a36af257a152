"""Service_Action — task script: run an action (finish, pause...) on a service instance.

Reads: the instance: INSTANCE_ID, else INSTANCE_ID_<INSTANCE_NAME> (what Service_Start wrote),
else the only active instance whose INSTANCE_NAME is that name; the action: ACTION (its workflow
name) or SERVICE_ACTION_WORKFLOW (``<bucket>/<name>``), one of them; PA_JOB_ID;
SERVICE_ACTION_TIMEOUT (seconds a finish is awaited, default 180); args: names of this task's
variables passed on to the action.
Decides: the action must be one PSA can run on the instance in its current status; its
variables are the action workflow's defaults overridden by the variables passed. An action
whose name contains "finish" is awaited until the instance is FINISHED (a timeout is a
warning; an ERROR fails the task).
Writes: launches the action with this job as its parent; no variable.
"""

from .. import names
from ..context import ScriptContext
from ..contract import Arg, Contract, Var
from ..errors import InputError, ServiceError, StatusTimeout
from ..services import (named_instances, one_instance, passed_variables, positive_seconds, wait_for_status,
                        workflow_reference)

DEFAULT_TIMEOUT = 180


def _needs_name(values, args) -> bool:
    return not values.get(names.INSTANCE_ID)


CONTRACT = Contract(
    reads=(
        Var(names.INSTANCE_ID, required=False),
        Var(names.INSTANCE_NAME, required_if=_needs_name, when="unless INSTANCE_ID is set"),
        Var(names.INSTANCE_ID_PREFIX + "<INSTANCE_NAME>", required=False),
        Var(names.ACTION, required_if=lambda values, args: not values.get(names.SERVICE_ACTION_WORKFLOW),
            when="unless SERVICE_ACTION_WORKFLOW is set"),
        Var(names.SERVICE_ACTION_WORKFLOW, required=False),
        Var(names.PA_JOB_ID),
        Var(names.SERVICE_ACTION_TIMEOUT, required=False),
    ),
    args=(Arg("names of this task's variables passed on to the action (any number)", required=False),),
)


def main(ctx: ScriptContext) -> None:
    variables = ctx.variables
    instance_id = variables.integer(names.INSTANCE_ID)
    instance_name = variables.text(names.INSTANCE_NAME)
    if instance_name is not None:
        instance_name = ctx.instance_name()
        if instance_id is None:
            instance_id = variables.integer(names.INSTANCE_ID_PREFIX + instance_name)
    if instance_id is None and instance_name is None:
        raise InputError(f"set {names.INSTANCE_ID} or {names.INSTANCE_NAME} to say which service instance: neither is set")
    action = variables.text(names.ACTION)
    action_ref = workflow_reference(variables, names.SERVICE_ACTION_WORKFLOW)
    if (action is None) == (action_ref is None):
        raise InputError(
            f"set exactly one of {names.ACTION} (the action's workflow name) and "
            f"{names.SERVICE_ACTION_WORKFLOW} (<bucket>/<name>): " + ("both are set" if action else "neither is set")
        )
    passed = passed_variables(ctx, 0, "the arguments name variables passed on to the action")
    job_id = variables.require(names.PA_JOB_ID)
    timeout = positive_seconds(variables, names.SERVICE_ACTION_TIMEOUT, DEFAULT_TIMEOUT)

    if instance_id is None:
        found = named_instances(ctx.psa.list_instances(active_only=True), instance_name)
        instance_id = int(one_instance(found, f"named {instance_name}").instance_id)
    actions = ctx.psa.executable_actions(instance_id)
    wanted = action if action is not None else "/".join(action_ref)
    chosen = [a for a in actions if (a.name == action if action is not None else (a.bucket, a.name) == action_ref)]
    if not chosen:
        possible = ", ".join(a.reference for a in actions) or "none"
        raise ServiceError(
            f"action {wanted} cannot run on service instance {instance_id} in its current status; "
            f"the actions it accepts now: {possible}"
        )
    workflow = chosen[0]
    ctx.psa.run_action(instance_id, workflow.bucket, workflow.name, {**workflow.variables, **passed},
                       parent_job_id=job_id)
    ctx.print(f"Action {workflow.reference} launched on service instance {instance_id}")

    if "finish" in workflow.name.lower():
        try:
            wait_for_status(ctx, instance_id, names.FINISHED, timeout, names.SERVICE_ACTION_TIMEOUT)
        except StatusTimeout as late:
            ctx.warn(f"{late}; the finish goes on without this task waiting for it")
            return
        ctx.print(f"Service instance {instance_id} is FINISHED")
