"""Clean_Trigger_Action — clean script of an action task: release what nobody else will.

Reads: PCA_INSTANCE_ID, INSTANCE_NAME, CREDENTIALS_KEY, PA_NODE_URL, PA_JOB_ID; the instance's
job submissions and deployments.
Writes: removes the channel's ACTION_JOB_ID when it is still this job's (the action failed
before its post script could); removes the third-party credential CREDENTIALS_KEY if set; when the deployment job
(the submission of transition ``VOID -> RUNNING``) has finished, its status loop can no longer
release the node, so this removes the node token PSA_<INSTANCE_NAME> on the deployment's node,
and, once the instance is FINISHED, deletes the channel Service_Instance_<id> too.
Each step is tried whatever the other does; failures are reported together at the end.
"""

from .. import names
from ..channel import ServiceChannel
from ..context import ScriptContext
from ..errors import PsaScriptError
from ..tokens import node_token, remove_node_token
from ..contract import Contract, Var


CONTRACT = Contract(
    reads=(
        Var(names.PCA_INSTANCE_ID),
        Var(names.INSTANCE_NAME),
        Var(names.PA_NODE_URL),
        Var(names.CREDENTIALS_KEY, required=False),
        Var(names.PA_JOB_ID, required=False),
    ),
)


def main(ctx: ScriptContext) -> None:
    variables = ctx.variables
    instance_id = variables.require_int(names.PCA_INSTANCE_ID)
    instance_name = ctx.instance_name()
    credentials_key = variables.text(names.CREDENTIALS_KEY)
    failures = []

    job_id = variables.text(names.PA_JOB_ID)
    if job_id:
        channel = ServiceChannel(ctx.sync, instance_id)
        try:
            if channel.end_action(job_id):
                ctx.print(f"Action job {job_id} ended before its post script: {names.KEY_ACTION_JOB_ID} removed")
        except Exception as error:
            failures.append(f"{names.KEY_ACTION_JOB_ID} of channel {channel.name}: {error}")

    if credentials_key:
        try:
            ctx.scheduler.removeThirdPartyCredential(credentials_key)
        except Exception as error:
            failures.append(f"third-party credential {credentials_key}: {error}")

    try:
        instance = ctx.psa.get_instance(instance_id)
        deployment_job = instance.deployment_job_id()
        orphaned = bool(deployment_job) and ctx.scheduler.isJobFinished(deployment_job)
    except Exception as error:
        failures.append(f"node token {node_token(instance_name)}: {error}")
        orphaned = False

    if orphaned:
        try:
            node_url = _node_url_of(instance, instance_name) or variables.require(names.PA_NODE_URL)
            remove_node_token(ctx.rm, node_url, instance_name)
            ctx.print(f"Deployment job {deployment_job} has finished: node token {node_token(instance_name)} removed from {node_url}")
        except Exception as error:
            failures.append(f"node token {node_token(instance_name)}: {error}")
        if instance.instance_status == names.FINISHED:
            # The status loop that would delete the channel has ended (the service failed earlier).
            channel = ServiceChannel(ctx.sync, instance_id)
            try:
                if channel.exists():
                    channel.delete()
                    ctx.print(f"Channel {channel.name} deleted")
            except Exception as error:
                failures.append(f"channel {channel.name}: {error}")

    if failures:
        raise PsaScriptError("could not release: " + "; ".join(failures))


def _node_url_of(instance, container_name: str) -> "str | None":
    """The node of the deployment running ``container_name``, as PSA recorded it."""
    for deployment in instance.deployments or []:
        if deployment.container and deployment.container.name == container_name and deployment.node:
            return deployment.node.url
    return None
