"""Finish_Docker_Service — the finish action's executable: remove the container (``rm -fv``).

Reads: INSTANCE_NAME (checked against the engine's name rule before anything runs),
PCA_INSTANCE_ID (only a container labelled with this service instance is removed; another of
that name is refused, untouched, with a status text naming it).
Writes: file <INSTANCE_NAME>_status for Post_Trigger_Action: the name when removed,
``Error: No such container: <name>`` when it was already gone, the engine's message
otherwise. The task itself does not fail on an engine error: Post_Trigger_Action reads
the outcome and sets the instance status.
"""

from .. import names
from ..containers import record_action
from ..containers.spec import owner_labels
from ..context import ScriptContext
from ..contract import Contract, Var


CONTRACT = Contract(
    reads=(Var(names.INSTANCE_NAME), Var(names.PCA_INSTANCE_ID),),
    files_written=("<INSTANCE_NAME>_status",),
    on_node=True,
)


def main(ctx: ScriptContext) -> None:
    name = ctx.instance_name()
    owner = owner_labels(ctx.variables, ctx.generic_info)
    record_action(ctx, "Finish", name, lambda: ctx.engine.remove(name, owner=owner))
