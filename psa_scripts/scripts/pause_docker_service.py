"""Pause_Docker_Service — the pause action's executable: stop the container, keep it.

Reads: INSTANCE_NAME (checked against the engine's name rule before anything runs),
PCA_INSTANCE_ID (only a container labelled with this service instance is stopped; another of
that name is refused, untouched, with a status text naming it),
DOCKER_STOP_TIMEOUT (seconds between SIGTERM and SIGKILL, default 10).
Writes: file <INSTANCE_NAME>_status for Post_Trigger_Action: the name when stopped,
``Error: No such container: <name>`` when it is gone, the engine's message otherwise.
"""

from .. import names
from ..containers import record_action
from ..containers.spec import owner_labels
from ..containers.spec import DEFAULT_STOP_TIMEOUT, DOCKER_STOP_TIMEOUT
from ..context import ScriptContext
from ..contract import Contract, Var


CONTRACT = Contract(
    reads=(Var(names.INSTANCE_NAME), Var(names.PCA_INSTANCE_ID), Var(names.DOCKER_STOP_TIMEOUT, required=False)),
    files_written=("<INSTANCE_NAME>_status",),
    on_node=True,
)


def main(ctx: ScriptContext) -> None:
    name = ctx.instance_name()
    owner = owner_labels(ctx.variables, ctx.generic_info)
    timeout = ctx.variables.integer(DOCKER_STOP_TIMEOUT, DEFAULT_STOP_TIMEOUT)
    record_action(ctx, "Pause", name, lambda: ctx.engine.stop(name, timeout, owner=owner))
