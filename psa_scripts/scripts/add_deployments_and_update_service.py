"""Add_deployments_and_update_service — a multi-deployment service is up (or failed): tell PSA.

Argument 1: the base name of the deployment variables; argument 2: N, how many there are.
Reads: the variables <base>0 .. <base>N-1, one deployment each as JSON (an endpoint with its
id required; node, container, proxyfied_url optional: see psa_scripts/deployments.py), all
checked before any change; PCA_INSTANCE_ID, INSTANCE_NAME, PA_JOB_ID, CREDENTIALS_KEY,
DEPLOY_ERROR_MESSAGE.
Decides and writes:
- N > 0 → the service registered on the job; the channel (RUNNING_STATE=1, INSTANCE_NAME,
  CREDENTIALS_KEY); then, last (the commit point), the instance: status RUNNING, each
  deployment appended once, the admin groups when one is proxied. A failing step undoes the
  ones before it (the task's Clean_Start_Service then marks the instance ERROR).
- N = 0 → the service did not deploy: status ERROR, the service registered with its actions
  disabled, the channel (RUNNING_STATE=2, DEPLOY_ERROR_MESSAGE, INSTANCE_NAME).
The deployment tasks add their own node tokens.
"""

from .. import names
from ..channel import ServiceChannel
from ..context import ScriptContext
from ..contract import Arg, Contract, Var
from ..deployments import read_deployments
from ..errors import InputError
from ..numbers import whole_number
from ..undo import undo_steps


CONTRACT = Contract(
    reads=(
        Var(names.PCA_INSTANCE_ID),
        Var(names.INSTANCE_NAME),
        Var(names.PA_JOB_ID),
        Var(names.CREDENTIALS_KEY, required=False),
        Var(names.DEPLOY_ERROR_MESSAGE, required=False, doc="why there is no deployment, when N is 0"),
    ),
    args=(
        Arg("the base name of the deployment variables: <base>0 .. <base>N-1 each hold one deployment as JSON"),
        Arg("N, the number of deployments (0: the service failed to deploy)"),
    ),
)

USAGE = "the base name of the deployment variables, the number of deployments"


def main(ctx: ScriptContext) -> None:
    ctx.exact_args(2, USAGE)
    base = ctx.arg(0, "the base name of the deployment variables")
    count = _count(ctx.arg(1, "the number of deployments"))
    variables = ctx.variables
    instance_id = variables.require_int(names.PCA_INSTANCE_ID)
    instance_name = ctx.instance_name()
    job_id = variables.require(names.PA_JOB_ID)
    deployments = read_deployments(variables, base, count)
    channel = ServiceChannel(ctx.sync, instance_id)
    from ..instances import set_status, update_instance

    if not deployments:
        message = variables.text(names.DEPLOY_ERROR_MESSAGE)
        set_status(ctx.psa, instance_id, names.ERROR)
        ctx.scheduler.registerService(job_id, instance_id, False)
        channel.create()
        channel.put(names.KEY_RUNNING_STATE, names.RUNNING_STATE_ERROR)
        if message:
            channel.put(names.KEY_DEPLOY_ERROR_MESSAGE, message)
        channel.put(names.KEY_INSTANCE_NAME, instance_name)
        ctx.print(f"ERROR: service instance {instance_id} ({instance_name}) has no deployment: status ERROR"
                  f"{f': {message}' if message else ''}")
        return

    def record_deployments(instance) -> None:
        instance.instance_status = names.RUNNING
        for deployment in deployments:
            instance.add_deployment(deployment.copy())
        if any(d.endpoint.proxyfied for d in deployments):
            instance.add_groups(*names.PROXY_GROUPS)

    undo = []
    try:
        ctx.scheduler.registerService(job_id, instance_id, True)
        undo.append(lambda: ctx.scheduler.detachService(job_id, instance_id))
        undo.append(channel.delete)
        channel.announce_running(instance_name, variables.text(names.CREDENTIALS_KEY))
        update_instance(ctx.psa, instance_id, record_deployments)
    except Exception:
        undo_steps(ctx, undo)
        raise
    ctx.print(f"Service instance {instance_id} ({instance_name}) is RUNNING with {len(deployments)} deployments: "
              + ", ".join(str(d.endpoint.url or d.endpoint.id) for d in deployments))


def _count(text: str) -> int:
    count = whole_number(text)
    if count is None:
        raise InputError(f"argument 2 (the number of deployments) must be a whole number >= 0, got {text!r}")
    return count
