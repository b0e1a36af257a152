"""Post_Trigger_Action — post script of an action task: report the action's outcome to PSA.

Argument 1: the status on success, FINISHED | PAUSED | RUNNING.
Reads: PCA_INSTANCE_ID, INSTANCE_NAME, PA_JOB_ID; file <INSTANCE_NAME>_status, where the action
task wrote the instance name on success, ``Error: No such container: <name>`` when the container
was already gone, or the engine's error text; on RUNNING, file <INSTANCE_NAME>_port when the
resume read the container's host port back.
Writes: on success the target status (FINISH_DONE=true in the channel first, on FINISHED; on
RUNNING, the endpoint URL of the service's deployment moved to the new host port when the engine
picked another one, the proxied URL kept, and variable PORT); a warning when the container was
already removed; on failure (or no status file, or a file that cannot be read) status ERROR and
the task fails with the engine's text. Whatever happens, it then removes the channel's
ACTION_JOB_ID of this job: the status loop's next check judges the container on its own again.
"""

from .. import names, statusfiles
from ..channel import ServiceChannel
from ..context import ScriptContext
from ..errors import InputError, ServiceError
from ..ports import move_endpoint
from ..contract import Contract, Var, Arg

TARGETS = (names.FINISHED, names.PAUSED, names.RUNNING)


CONTRACT = Contract(
    reads=(Var(names.PCA_INSTANCE_ID), Var(names.INSTANCE_NAME),
           Var(names.PA_JOB_ID, required=False, doc="the action's job, whose ACTION_JOB_ID it removes")),
    writes=(names.PORT,),
    args=(Arg("the status on success", TARGETS),),
    files_read=("<INSTANCE_NAME>_status", "<INSTANCE_NAME>_port"),
    on_node=True,
)


def main(ctx: ScriptContext) -> None:
    target = ctx.arg(0, "the status on success", TARGETS)
    instance_id = ctx.variables.require_int(names.PCA_INSTANCE_ID)
    instance_name = ctx.instance_name()
    job_id = ctx.variables.text(names.PA_JOB_ID)  # the scheduler sets it; its absence must not stop the report
    workdir = ctx.workdir
    channel = ServiceChannel(ctx.sync, instance_id)
    try:
        _report(ctx, target, instance_id, instance_name, workdir, channel)
    finally:
        try:
            if job_id:
                channel.end_action(job_id)
        except Exception as error:  # the status loop also sees the job end: a warning is enough
            ctx.warn(f"could not remove {names.KEY_ACTION_JOB_ID} from channel {channel.name}: {error}")


def _report(ctx: ScriptContext, target: str, instance_id: int, instance_name: str, workdir: str,
            channel: ServiceChannel) -> None:
    from ..instances import set_status, update_instance

    try:
        outcome = statusfiles.read_status(workdir, instance_name)
        port = statusfiles.read_port(workdir, instance_name, required=False) if target == names.RUNNING else None
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
        # Before the status: once PSA shows FINISHED the status loop may delete the channel, and
        # if the status update fails the status loop reads FINISH_DONE and finishes it itself.
        if channel.exists():
            channel.put(names.KEY_FINISH_DONE, True)
    if port is None:
        set_status(ctx.psa, instance_id, target)
    else:
        moved = []

        def resumed(instance) -> None:
            instance.instance_status = target
            changes = move_endpoint(instance, instance_name, port)
            if changes:  # a re-application on the stored instance finds nothing left to move
                moved[:] = changes

        update_instance(ctx.psa, instance_id, resumed)
        ctx.variables.set(names.PORT, str(port))
        for old, new in moved:
            ctx.print(f"Endpoint of {instance_name} moved to the new host port {port}: {old} -> {new}")
    ctx.print(f"Service instance {instance_id} ({instance_name}) is {target}")
