"""Finish_Singularity_Service — the finish action's executable for a Singularity instance: stop it.

Reads: INSTANCE_NAME (checked against the engine's name rule before anything runs),
SINGULARITY_BINARY of the node's environment (the command, when ``singularity`` is not on PATH;
a workflow variable of that name is refused).
Runs ``singularity instance stop <INSTANCE_NAME>`` (an argument list, never a shell; with a
timeout), and ``instance list`` only when the stop fails, to tell a gone instance from a failure.
Writes: file <INSTANCE_NAME>_status for Post_Trigger_Action: the name when stopped,
``Error: No such container: <name>`` when no such instance runs, the command's error
otherwise. The task itself does not fail: Post_Trigger_Action reads the outcome.
"""

from .. import names
from ..containers import record_action
from ..context import ScriptContext
from ..contract import Contract, Var


CONTRACT = Contract(
    reads=(Var(names.INSTANCE_NAME),),
    files_written=("<INSTANCE_NAME>_status",),
    on_node=True,
)


def main(ctx: ScriptContext) -> None:
    name = ctx.instance_name()
    record_action(ctx, "Finish", name, lambda: ctx.singularity.remove(name))
