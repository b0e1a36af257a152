"""Clean_Start_Service — clean script of the deployment task: a failed deployment shows ERROR.

Reads: PCA_INSTANCE_ID; the instance's status.
Writes: when the status is not RUNNING (the deployment did not reach Post_Start_Service's
commit), status ERROR and RUNNING_STATE=2 in the channel if it exists.
Clean scripts have no localspace and their variables do not propagate.
"""

from .. import names
from ..channel import ServiceChannel
from ..context import ScriptContext


def main(ctx: ScriptContext) -> None:
    instance_id = ctx.variables.require_int(names.PCA_INSTANCE_ID)
    from ..instances import update_instance

    def mark_error(instance) -> None:
        if instance.instance_status != names.RUNNING:
            instance.instance_status = names.ERROR

    instance = update_instance(ctx.psa, instance_id, mark_error)
    if instance.instance_status != names.ERROR:
        return
    ctx.print(f"Service instance {instance_id} did not reach RUNNING: status set to ERROR")
    channel = ServiceChannel(ctx.sync, instance_id)
    if channel.exists():
        channel.put(names.KEY_RUNNING_STATE, names.RUNNING_STATE_ERROR)
