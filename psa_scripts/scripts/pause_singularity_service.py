"""Pause_Singularity_Service — the pause action's executable for a Singularity instance.

Singularity cannot pause or stop-and-keep an instance: a stopped instance is gone. So, as
the Groovy Pause_Action_Singularity did, the instance keeps running and PSA shows it PAUSED;
this says so in a warning instead of pretending.
Reads: INSTANCE_NAME (checked against the engine's name rule before anything runs),
SINGULARITY_BINARY of the node's environment (the command, when ``singularity`` is not on PATH;
a workflow variable of that name is refused).
Writes: file <INSTANCE_NAME>_status for Post_Trigger_Action: the name when the instance runs,
``Error: No such container: <name>`` when none runs, the command's error otherwise.
"""

from .. import names
from ..containers import record_action
from ..containers.outcome import ActionOutcome
from ..context import ScriptContext
from ..contract import Contract, Var


CONTRACT = Contract(
    reads=(Var(names.INSTANCE_NAME),),
    files_written=("<INSTANCE_NAME>_status",),
    on_node=True,
)


def main(ctx: ScriptContext) -> None:
    name = ctx.instance_name()

    def pause() -> ActionOutcome:
        if not ctx.singularity.is_running(name):
            return ActionOutcome.NO_SUCH_CONTAINER
        ctx.warn(f"Singularity cannot pause an instance: {name} keeps running while the service shows PAUSED")
        return ActionOutcome.DONE

    record_action(ctx, "Pause", name, pause)
