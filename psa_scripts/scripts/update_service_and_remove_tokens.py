"""Update_service_and_remove_tokens — set the instance's status, release the nodes of an ended deployment.

Argument 1: the status to set (RUNNING, FINISHED, ERROR...), or ``null`` to keep it.
Argument 2: the node token to remove (``PSA_<INSTANCE_NAME>``).
Reads: PCA_INSTANCE_ID; the instance's deployments and job submissions.
Writes: the status (when one is given; nothing else of the instance changes). When the
deployment job (the submission of transition ``VOID -> RUNNING``) has finished, its status
loop can no longer release the nodes, so this removes the token from every deployment's node,
each tried whatever the others do; failures are reported together and fail the task.
While that job runs, the tokens are its to remove.
"""

from .. import names
from ..context import ScriptContext
from ..contract import Arg, Contract, Var
from ..errors import InputError, PsaScriptError


CONTRACT = Contract(
    reads=(Var(names.PCA_INSTANCE_ID),),
    args=(
        Arg("the status to set, or null to keep it"),
        Arg("the node token to remove from the deployments' nodes, e.g. PSA_$INSTANCE_NAME"),
    ),
)


def main(ctx: ScriptContext) -> None:
    ctx.exact_args(2, "the status to set or null, the node token to remove")
    status = ctx.arg(0, "the status to set, or null")
    if status.lower() == names.NO_STATUS:
        status = None
    else:
        status = names.check_status_name(status, "argument 1 (the status to set, or null)")
    token = ctx.arg(1, "the node token to remove")
    if any(character.isspace() for character in token):
        raise InputError(f"argument 2 (the node token to remove) must be one word, got {token!r}")
    instance_id = ctx.variables.require_int(names.PCA_INSTANCE_ID)

    if status is None:
        instance = ctx.psa.get_instance(instance_id)
    else:
        from ..instances import set_status

        instance = set_status(ctx.psa, instance_id, status)
        ctx.print(f"Service instance {instance_id} is {instance.instance_status}")

    deployment_job = instance.deployment_job_id()
    if deployment_job is None:
        ctx.warn(f"service instance {instance_id} records no deployment job ({names.DEPLOYMENT_TRANSITION}): "
                 f"node token {token} left on its nodes")
        return
    if not ctx.scheduler.isJobFinished(deployment_job):
        ctx.print(f"Deployment job {deployment_job} still runs: it releases the nodes itself")
        return

    failures = []
    for node_url in instance.node_urls():
        try:
            ctx.rm.removeNodeToken(node_url, token)
            ctx.print(f"Node token {token} removed from {node_url}")
        except Exception as error:
            failures.append(f"{node_url}: {error}")
    if failures:
        raise PsaScriptError(f"could not remove node token {token} from: " + "; ".join(failures))
