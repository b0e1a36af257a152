"""Start_Docker_Service — the deployment task's executable: run the service's container.

Reads: INSTANCE_NAME (checked against the engine's name rule before anything runs),
PCA_INSTANCE_ID (and the generic information pca.service.id: the container's owner labels), DOCKER_IMAGE, CONTAINER_PORT, SERVICE_PORT (-1: the engine picks a free host port),
optional DOCKER_ENV, DOCKER_VOLUMES, DOCKER_COMMAND, DOCKER_OPTIONS (formats in
``psa_scripts.containers.spec``).
Decides: reuse a running container of that name, start a stopped one, else create it
(pulling the image only when it is not on the node), labelled with this service instance
(``names.CONTAINER_LABELS``). A container of that name without this instance's labels is
another's: the task fails with an error naming it, and that container is left untouched.
Writes: files <INSTANCE_NAME>_port (when a port is published) and <INSTANCE_NAME>_containerID
in the task's localspace, for Post_Start_Service. The id is written last: it is what
says "the container started". An engine failure fails the task (Clean_Start_Service
then sets the instance to ERROR).
"""

from .. import names, statusfiles
from ..containers import DeploySpec
from ..containers.spec import owner_labels
from ..context import ScriptContext
from ..contract import Contract, Var


CONTRACT = Contract(
    reads=(
        Var(names.INSTANCE_NAME),
        Var(names.PCA_INSTANCE_ID),
        Var(names.DOCKER_IMAGE),
        Var(names.CONTAINER_PORT, required=False),
        Var(names.SERVICE_PORT, required=False, doc="-1 or unset: the engine picks a free host port"),
        Var(names.DOCKER_ENV, required=False),
        Var(names.DOCKER_VOLUMES, required=False),
        Var(names.DOCKER_COMMAND, required=False),
        Var(names.DOCKER_OPTIONS, required=False),
    ),
    files_written=("<INSTANCE_NAME>_port", "<INSTANCE_NAME>_containerID"),
    on_node=True,
)


def main(ctx: ScriptContext) -> None:
    spec = DeploySpec.from_variables(ctx.variables, owner=owner_labels(ctx.variables, ctx.generic_info))
    deployed = ctx.engine.deploy(spec)

    workdir = ctx.workdir
    if deployed.host_port is not None:
        statusfiles.write_port(workdir, spec.name, deployed.host_port)
    statusfiles.write_container_id(workdir, spec.name, deployed.container_id)

    where = f"; port {spec.container_port} on host port {deployed.host_port}" if deployed.host_port else ""
    ctx.print(f"Container {spec.name} {deployed.action} from {spec.image} (id {deployed.container_id[:12]}){where}")
