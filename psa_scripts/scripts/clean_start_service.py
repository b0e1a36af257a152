"""Clean_Start_Service — clean script of the deployment task: a failed deployment shows ERROR
and stays finishable.

Reads: PCA_INSTANCE_ID, INSTANCE_NAME, PA_NODE_URL, CREDENTIALS_KEY; the instance's status;
the channel's RUNNING_STATE.
Writes: when the status is not RUNNING, or the channel does not say RUNNING_STATE=1 (a
deployment Post_Start_Service did not complete, or undid after PSA stored its update without
confirming): status ERROR; then what the finish action needs to reach the node and remove
whatever container the deployment left, whichever step failed: the channel
Service_Instance_<id> (INSTANCE_NAME, CREDENTIALS_KEY, RUNNING_STATE=2) and the node token
PSA_<INSTANCE_NAME> on this node. Finishing the instance releases both (Clean_Trigger_Action).
Clean scripts have no localspace and their variables do not propagate.
"""

from .. import names
from ..channel import ServiceChannel
from ..context import ScriptContext
from ..contract import Contract, Var
from ..tokens import add_node_token, node_token


CONTRACT = Contract(reads=(
    Var(names.PCA_INSTANCE_ID),
    Var(names.INSTANCE_NAME, required=False, doc="to keep a failed deployment finishable"),
    Var(names.PA_NODE_URL, required=False, doc="to keep a failed deployment finishable"),
    Var(names.CREDENTIALS_KEY, required=False),
))


def main(ctx: ScriptContext) -> None:
    instance_id = ctx.variables.require_int(names.PCA_INSTANCE_ID)
    from ..instances import update_instance

    # Post_Start_Service puts RUNNING_STATE=1 before its commit and 2 when it fails: RUNNING
    # without RUNNING_STATE=1 is a deployment that did not complete.
    channel = ServiceChannel(ctx.sync, instance_id)
    completed = str(channel.get(names.KEY_RUNNING_STATE)).strip() == str(names.RUNNING_STATE_RUNNING)

    def mark_error(instance) -> None:
        if instance.instance_status != names.RUNNING or not completed:
            instance.instance_status = names.ERROR

    instance = update_instance(ctx.psa, instance_id, mark_error)
    if instance.instance_status != names.ERROR:
        return
    ctx.print(f"Service instance {instance_id} did not complete its deployment: status set to ERROR")
    _keep_finishable(ctx, channel)


def _keep_finishable(ctx: ScriptContext, channel: ServiceChannel) -> None:
    """The channel and node token the finish action needs: it removes any container left behind."""
    variables = ctx.variables
    try:
        instance_name = ctx.instance_name()
    except Exception as error:  # no container can bear an invalid name: the engine scripts refuse it first
        ctx.warn(f"the failed deployment cannot be finished by the finish action ({error}); no container "
                 "was created under that name, so there is nothing to remove: the instance stays in ERROR")
        return
    # The deployment may have failed before its container existed, or removed it (a readiness wait does):
    # this script cannot see the node's engine, so it says "if one is left".
    finish_needs = f"the finish action needs it to remove container {instance_name} if one is left"
    try:
        channel.create()
        channel.put(names.KEY_INSTANCE_NAME, instance_name)
        channel.put(names.KEY_RUNNING_STATE, names.RUNNING_STATE_ERROR)
        credentials_key = variables.text(names.CREDENTIALS_KEY)
        if credentials_key:
            channel.put(names.KEY_CREDENTIALS_KEY, credentials_key)
    except Exception as error:
        ctx.warn(f"could not keep channel {channel.name} ({error}); {finish_needs}")
    node_url = variables.text(names.PA_NODE_URL)
    try:
        if not node_url:
            raise ValueError(f"{names.PA_NODE_URL} is not set")
        add_node_token(ctx.rm, node_url, instance_name)
    except Exception as error:
        ctx.warn(f"could not keep node token {node_token(instance_name)} ({error}); {finish_needs} "
                 "(or remove it by hand)")
        return
    ctx.print(f"Finish the instance to release node token {node_token(instance_name)} on {node_url} "
              f"and remove container {instance_name} if one is left")
