"""Resume_Singularity_Service — the resume action's executable for a Singularity instance.

A paused Singularity service never stopped (Pause_Singularity_Service), so resuming checks
that its instance still runs. Singularity cannot restart an instance that ended: then the
action fails (the Groovy Resume_Action_Singularity reported RUNNING regardless).
Reads: INSTANCE_NAME (checked against the engine's name rule before anything runs),
SINGULARITY_BINARY of the node's environment (the command, when ``singularity`` is not on PATH;
a workflow variable of that name is refused).
Writes: file <INSTANCE_NAME>_status for Post_Trigger_Action: the name when the instance runs,
else an error saying it ended (Post_Trigger_Action then sets ERROR).
"""

from .. import names
from ..containers import record_action
from ..containers.outcome import ActionOutcome
from ..context import ScriptContext
from ..contract import Contract, Var
from ..errors import EngineError


CONTRACT = Contract(
    reads=(Var(names.INSTANCE_NAME),),
    files_written=("<INSTANCE_NAME>_status",),
    on_node=True,
)


def main(ctx: ScriptContext) -> None:
    name = ctx.instance_name()

    def resume() -> ActionOutcome:
        if ctx.singularity.is_running(name):
            return ActionOutcome.DONE
        raise EngineError(f"Singularity instance {name} is not running and Singularity cannot restart it: "
                          "run the service's deployment again")

    record_action(ctx, "Resume", name, resume)
