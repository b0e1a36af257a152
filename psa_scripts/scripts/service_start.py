"""Service_Start — task script: start a PSA service from a workflow and wait until it runs.

Reads: INSTANCE_NAME (the instance to start or reuse); SERVICE_ACTIVATION_WORKFLOW
(``<bucket>/<name>`` of the service's deployment workflow, recommended) or SERVICE_ID (the
service's pca.service.id; with both, the workflow must belong to that service); PA_JOB_ID;
SERVICE_START_TIMEOUT (seconds to wait for RUNNING, default 600); args[0] publish the service
on this job (true/false, default false), args[1] with its actions enabled (default true),
args[2:] names of this task's variables passed on to the service.
Decides: the RUNNING instance of that service (its pca.service.id) with that INSTANCE_NAME is
reused (an instance of another service with the same name never is); two or more of them are
an ambiguity, refused before anything is launched or written (as Service_Action and
Find_and_set_Instance_Id refuse it); with none, the service is launched with the deployment workflow's default variables, overridden by the variables
passed and INSTANCE_NAME, and this job as its parent; then its status is read every few
seconds until RUNNING (an end status, or the timeout, fails the task).
Writes: variables INSTANCE_ID_<INSTANCE_NAME> (as soon as the instance exists, so a later task
can finish it even if the wait fails), ENDPOINT_<INSTANCE_NAME> (its first endpoint's URL,
when it has one), SERVICE_JOB_ID (the deployment job); ``result`` = the endpoint; registers
the service on this job when published.
"""

from .. import names
from ..context import ScriptContext
from ..contract import Arg, Contract, Var
from ..errors import InputError, ServiceError, StatusTimeout
from ..services import (named_instances, passed_variables, positive_seconds, wait_for_status,
                        workflow_reference)

DEFAULT_TIMEOUT = 600

CONTRACT = Contract(
    reads=(
        Var(names.INSTANCE_NAME),
        Var(names.SERVICE_ACTIVATION_WORKFLOW, required_if=lambda values, args: not values.get(names.SERVICE_ID),
            when="unless SERVICE_ID is set"),
        Var(names.SERVICE_ID, required=False),
        Var(names.PA_JOB_ID),
        Var(names.SERVICE_START_TIMEOUT, required=False),
    ),
    writes=(names.INSTANCE_ID_PREFIX + "<INSTANCE_NAME>", names.ENDPOINT_PREFIX + "<INSTANCE_NAME>",
            names.SERVICE_JOB_ID),
    args=(
        Arg("publish the service on this job", ("true", "false"), required=False),
        Arg("enable the service's actions when published (default true)", ("true", "false"), required=False),
        Arg("from 3 on: names of this task's variables passed on to the service", required=False),
    ),
)


def main(ctx: ScriptContext) -> None:
    variables = ctx.variables
    instance_name = ctx.instance_name()
    workflow_ref = workflow_reference(variables, names.SERVICE_ACTIVATION_WORKFLOW)
    service_id = variables.text(names.SERVICE_ID)
    if workflow_ref is None and service_id is None:
        raise InputError(
            f"set {names.SERVICE_ACTIVATION_WORKFLOW} (<bucket>/<name> of the service's deployment "
            f"workflow, recommended) or {names.SERVICE_ID}: neither is set"
        )
    publish = ctx.flag_arg(0, "publish the service on this job", default=False)
    enable_actions = ctx.flag_arg(1, "enable the service's actions", default=True)
    passed = passed_variables(ctx, 2, "the arguments from 3 on name variables passed on to the service")
    job_id = variables.require(names.PA_JOB_ID)
    timeout = positive_seconds(variables, names.SERVICE_START_TIMEOUT, DEFAULT_TIMEOUT)

    workflow = _deployment_workflow(ctx, service_id, workflow_ref)
    running = [i for i in ctx.psa.list_instances(active_only=True) if i.instance_status == names.RUNNING]
    reused = named_instances(running, instance_name, workflow.service_id)
    if len(reused) > 1:
        ids = ", ".join(str(instance.instance_id) for instance in reused)
        raise ServiceError(
            f"several RUNNING service instances of {workflow.service_id} named {instance_name} (ids {ids}): "
            "Service_Start cannot tell which to reuse; finish the ones not wanted, or set another INSTANCE_NAME"
        )
    if reused:
        instance = reused[0]
        ctx.print(f"Service instance {instance.instance_id} ({instance_name}) of {workflow.service_id} "
                  "is already RUNNING: reused")
    else:
        launched = ctx.psa.launch_service(
            workflow.bucket, workflow.name,
            {**workflow.variables, **passed, names.INSTANCE_NAME: instance_name}, parent_job_id=job_id)
        if launched is None or launched.instance_id is None:
            raise ServiceError(f"PSA launched {workflow.reference} but did not answer the new instance's id")
        variables.set(names.INSTANCE_ID_PREFIX + instance_name, str(launched.instance_id))
        ctx.print(f"Service instance {launched.instance_id} ({instance_name}) launched from "
                  f"{workflow.reference}; waiting up to {timeout} s for RUNNING")
        try:
            instance = wait_for_status(ctx, launched.instance_id, names.RUNNING, timeout,
                                       names.SERVICE_START_TIMEOUT)
        except StatusTimeout as late:
            raise StatusTimeout(f"{late}: finish it with Service_Action (INSTANCE_ID_{instance_name} is set) "
                                "or from the Service Automation portal if it is not wanted", late.status) from None

    if publish:
        ctx.scheduler.registerService(job_id, int(instance.instance_id), enable_actions)
    endpoint = instance.endpoint_url()
    variables.set(names.INSTANCE_ID_PREFIX + instance_name, str(instance.instance_id))
    service_job = instance.deployment_job_id()
    if service_job:
        variables.set(names.SERVICE_JOB_ID, service_job)
    if endpoint:
        variables.set(names.ENDPOINT_PREFIX + instance_name, endpoint)
    ctx.writeback["result"] = endpoint
    ctx.print(f"Service instance {instance.instance_id} ({instance_name}) is RUNNING"
              f"{f' at {endpoint}' if endpoint else ' (no endpoint)'}")


def _deployment_workflow(ctx: ScriptContext, service_id, workflow_ref):
    """The deployment workflow to launch, with the service it belongs to and its variables."""
    if service_id is None:
        workflow = ctx.psa.catalog_workflow(*workflow_ref)
        if not workflow.service_id:
            raise InputError(
                f"{names.SERVICE_ACTIVATION_WORKFLOW} {workflow.reference} is not a PSA service's workflow: "
                f"it has no generic information {names.GI_SERVICE_ID}"
            )
        return workflow
    workflows = ctx.psa.service_workflows(service_id)
    if not workflows:
        raise InputError(f"{names.SERVICE_ID} {service_id!r}: PSA knows no deployment workflow of that service")
    known = ", ".join(w.reference for w in workflows)
    if workflow_ref is not None:
        for workflow in workflows:
            if (workflow.bucket, workflow.name) == workflow_ref:
                return _of_service(workflow, service_id)
        raise InputError(
            f"{names.SERVICE_ACTIVATION_WORKFLOW} {'/'.join(workflow_ref)} is not a deployment workflow of "
            f"{names.SERVICE_ID} {service_id!r}; its deployment workflows: {known}"
        )
    if len(workflows) > 1:
        raise InputError(
            f"{names.SERVICE_ID} {service_id!r} has several deployment workflows ({known}): "
            f"set {names.SERVICE_ACTIVATION_WORKFLOW} to choose one"
        )
    return _of_service(workflows[0], service_id)


def _of_service(workflow, service_id: str):
    from dataclasses import replace

    return workflow if workflow.service_id else replace(workflow, service_id=service_id)
