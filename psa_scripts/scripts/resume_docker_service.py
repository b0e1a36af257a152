"""Resume_Docker_Service — the resume action's executable: start the stopped container again.

Reads: INSTANCE_NAME (checked against the engine's name rule before anything runs),
PCA_INSTANCE_ID (only a container labelled with this service instance is started; another of
that name is refused, untouched, with a status text naming it), CONTAINER_PORT (optional: the
service's port inside the container, as deployed).
Writes: file <INSTANCE_NAME>_port with the host port the engine publishes CONTAINER_PORT on
once the container runs again (with an engine-picked port, Docker picks a new one at each
start: Post_Trigger_Action moves the endpoint there); then file <INSTANCE_NAME>_status for
Post_Trigger_Action: the name when it runs (also when it was running already),
``Error: No such container: <name>`` when it is gone, the engine's message otherwise.
"""

from .. import names, statusfiles
from ..containers import action_line, action_status
from ..containers.spec import CONTAINER_PORT, container_port_key, owner_labels
from ..context import ScriptContext
from ..contract import Contract, Var
from ..ports import published_port


CONTRACT = Contract(
    reads=(Var(names.INSTANCE_NAME), Var(names.PCA_INSTANCE_ID), Var(CONTAINER_PORT, required=False)),
    files_written=("<INSTANCE_NAME>_port", "<INSTANCE_NAME>_status"),
    on_node=True,
)


def main(ctx: ScriptContext) -> None:
    name = ctx.instance_name()
    owner = owner_labels(ctx.variables, ctx.generic_info)
    container_port = ctx.variables.text(CONTAINER_PORT)
    port_key = container_port_key(container_port) if container_port else None  # checked before any call
    status = action_status(name, lambda: ctx.engine.start(name, owner=owner))
    workdir = ctx.workdir
    if status == name and port_key:
        try:
            port = published_port(ctx.engine, name, port_key)
        except Exception as error:  # the container runs: a port we cannot read is not a failed resume
            port = None
            ctx.warn(f"could not read the host port of {name} ({error}): its endpoint is left as it was")
        if port is not None:
            statusfiles.write_port(workdir, name, port)
            ctx.print(f"{name} publishes port {port_key} on host port {port}")
    statusfiles.write_status(workdir, name, status)
    ctx.print(action_line("Resume", name, status))
