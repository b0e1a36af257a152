"""Finish_Docker_Service — the finish action's executable: remove the container (``rm -fv``).

Reads: INSTANCE_NAME (checked against the engine's name rule before anything runs).
Writes: file <INSTANCE_NAME>_status for Post_Trigger_Action: the name when removed,
``Error: No such container: <name>`` when it was already gone, the engine's message
otherwise. The task itself does not fail on an engine error: Post_Trigger_Action reads
the outcome and sets the instance status.
"""

from .. import names, statusfiles
from ..containers import action_status
from ..context import ScriptContext
from ..contract import Contract, Var


CONTRACT = Contract(
    reads=(Var(names.INSTANCE_NAME),),
    files_written=("<INSTANCE_NAME>_status",),
    on_node=True,
)


def main(ctx: ScriptContext) -> None:
    name = ctx.instance_name()
    status = action_status(name, lambda: ctx.engine.remove(name))
    statusfiles.write_status(ctx.workdir, name, status)
    ctx.print(f"Finish {name}: {status}")
