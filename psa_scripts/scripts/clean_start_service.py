"""Clean_Start_Service — clean script of the deployment task: a failed deployment shows ERROR.

Reads: PCA_INSTANCE_ID; the instance's status.
Writes: when the status is not RUNNING, or is RUNNING but the service's channel is missing
(Post_Start_Service undid a deployment whose update PSA stored without confirming), status
ERROR, and RUNNING_STATE=2 in the channel if it exists.
Clean scripts have no localspace and their variables do not propagate.
"""

from .. import names
from ..channel import ServiceChannel
from ..context import ScriptContext
from ..contract import Contract, Var


CONTRACT = Contract(reads=(Var(names.PCA_INSTANCE_ID),))


def main(ctx: ScriptContext) -> None:
    instance_id = ctx.variables.require_int(names.PCA_INSTANCE_ID)
    from ..instances import update_instance

    # Post_Start_Service creates the channel before its commit and deletes it when it undoes
    # a failed deployment: RUNNING without the channel is a deployment that did not complete.
    channel = ServiceChannel(ctx.sync, instance_id)
    channel_exists = channel.exists()

    def mark_error(instance) -> None:
        if instance.instance_status != names.RUNNING or not channel_exists:
            instance.instance_status = names.ERROR

    instance = update_instance(ctx.psa, instance_id, mark_error)
    if instance.instance_status != names.ERROR:
        return
    ctx.print(f"Service instance {instance_id} did not complete its deployment: status set to ERROR")
    if channel_exists:
        channel.put(names.KEY_RUNNING_STATE, names.RUNNING_STATE_ERROR)
