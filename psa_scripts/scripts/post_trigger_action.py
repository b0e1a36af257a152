"""Post_Trigger_Action — post script of an action task: report the action's outcome to PSA.

Argument 1: the status on success, FINISHED | PAUSED | RUNNING.
Reads: PCA_INSTANCE_ID, INSTANCE_NAME; file <INSTANCE_NAME>_status, where the action task
wrote the instance name on success, ``Error: No such container: <name>`` when the container
was already gone, or the engine's error text.
Writes: on success the target status (FINISH_DONE=true in the channel first, on FINISHED);
a warning when the container was already removed; on failure (or no status file) status
ERROR and the task fails with the engine's text.
"""

from .. import names, statusfiles
from ..channel import ServiceChannel
from ..context import ScriptContext
from ..errors import InputError, ServiceError
from ..contract import Contract, Var, Arg

TARGETS = (names.FINISHED, names.PAUSED, names.RUNNING)


CONTRACT = Contract(
    reads=(Var(names.PCA_INSTANCE_ID), Var(names.INSTANCE_NAME)),
    args=(Arg("the status on success", TARGETS),),
    files_read=("<INSTANCE_NAME>_status",),
    on_node=True,
)


def main(ctx: ScriptContext) -> None:
    target = ctx.arg(0, "the status on success", TARGETS)
    instance_id = ctx.variables.require_int(names.PCA_INSTANCE_ID)
    instance_name = ctx.instance_name()
    workdir = ctx.workdir
    from ..instances import set_status

    try:
        outcome = statusfiles.read_status(workdir, instance_name)
    except InputError as missing:
        set_status(ctx.psa, instance_id, names.ERROR)
        raise ServiceError(f"the action left no outcome ({missing}): instance {instance_id} set to ERROR") from None

    already_removed = outcome == statusfiles.already_removed_text(instance_name)
    if outcome != instance_name and not already_removed:
        set_status(ctx.psa, instance_id, names.ERROR)
        raise ServiceError(f"action on {instance_name} failed: {outcome}; instance {instance_id} set to ERROR")

    if already_removed:
        ctx.warn(f"container {instance_name} was already removed")
    if target == names.FINISHED:
        # Before the status: once PSA shows FINISHED the status loop may delete the channel.
        channel = ServiceChannel(ctx.sync, instance_id)
        if channel.exists():
            channel.put(names.KEY_FINISH_DONE, True)
    set_status(ctx.psa, instance_id, target)
    ctx.print(f"Service instance {instance_id} ({instance_name}) is {target}")
