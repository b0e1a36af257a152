"""Post_Start_Service — post script of the deployment task: the service is up, tell PSA.

Reads: PCA_INSTANCE_ID, INSTANCE_NAME, PA_JOB_ID, PA_NODE_URL, PA_NODE_NAME, PA_NODE_HOST,
PA_NODE_SOURCE, PROXYFIED, ENDPOINT_ID, PROXYFIED_URL, HTTPS_ENABLED / HTTP_ENABLED / args[0]
(endpoint protocol), ENGINE (docker, the default: the container id file must be set;
singularity: the instance must be listed running, the command found on PATH or named by
SINGULARITY_BINARY of the node's environment), CREDENTIALS_KEY; files <INSTANCE_NAME>_port and <INSTANCE_NAME>_containerID.
Writes: variables HOSTNAME, PORT; the instance (status RUNNING, one deployment with its
endpoint, admin groups when proxied); the service registered on the job; the channel
(RUNNING_STATE=1, INSTANCE_NAME, CREDENTIALS_KEY); the node token PSA_<INSTANCE_NAME>.

The instance update comes last: it is the commit point. If any step fails, the registration
is undone and the channel says RUNNING_STATE=2, but the channel and the node token stay: the
container may run, and the finish action needs both to reach the node and remove it
(Clean_Start_Service marks the instance ERROR and completes what is missing).
"""

from .. import names, statusfiles
from ..channel import ServiceChannel
from ..context import ScriptContext
from ..errors import ServiceError
from ..ports import endpoint_protocol, endpoint_url, propagate
from ..tokens import add_node_token
from ..contract import Contract, Var, Arg, flag_set


CONTRACT = Contract(
    reads=(
        Var(names.PCA_INSTANCE_ID),
        Var(names.INSTANCE_NAME),
        Var(names.PA_JOB_ID),
        Var(names.PA_NODE_URL),
        Var(names.PA_NODE_NAME, required=False),
        Var(names.PA_NODE_HOST, required=False, doc="used when PSA cannot tell the node's public address"),
        Var(names.PA_NODE_SOURCE, required=False),
        Var(names.PROXYFIED, required=False),
        Var(names.ENDPOINT_ID, required_if=flag_set(names.HTTPS_ENABLED, names.HTTP_ENABLED, or_argument=True),
            when="when there is an endpoint: HTTPS_ENABLED or HTTP_ENABLED true, or a protocol argument"),
        Var(names.PROXYFIED_URL, required=False),
        Var(names.HTTPS_ENABLED, required=False),
        Var(names.HTTP_ENABLED, required=False),
        Var(names.ENGINE, required=False, doc="docker (default) or singularity"),
        Var(names.CREDENTIALS_KEY, required=False),
    ),
    writes=(names.HOSTNAME, names.PORT),
    args=(Arg("the endpoint protocol when neither HTTPS_ENABLED nor HTTP_ENABLED says", required=False),),
    files_read=("<INSTANCE_NAME>_port", "<INSTANCE_NAME>_containerID"),
    on_node=True,
)


def main(ctx: ScriptContext) -> None:
    variables = ctx.variables
    instance_id = variables.require_int(names.PCA_INSTANCE_ID)
    instance_name = ctx.instance_name()
    job_id = variables.require(names.PA_JOB_ID)
    node_url = variables.require(names.PA_NODE_URL)
    proxied = variables.flag(names.PROXYFIED)
    protocol = endpoint_protocol(variables, ctx.args)
    endpoint_id = variables.require(names.ENDPOINT_ID) if protocol else None
    engine_name = names.engine_kind(variables.get(names.ENGINE))

    workdir = ctx.workdir
    container_id = statusfiles.read_container_id(workdir, instance_name)
    if engine_name == names.ENGINE_DOCKER and not container_id:
        raise ServiceError(
            f"the container {instance_name} did not start: file "
            f"{instance_name}{names.CONTAINER_ID_FILE_SUFFIX} is missing or empty in {workdir}; "
            "the instance is left for Clean_Start_Service to mark ERROR"
        )
    if engine_name == names.ENGINE_SINGULARITY and not ctx.singularity.is_running(instance_name):
        # A Singularity instance has no id file to prove it started: ask the engine.
        raise ServiceError(
            f"the Singularity instance {instance_name} is not running: it did not start or ended; "
            "the instance is left for Clean_Start_Service to mark ERROR"
        )
    port = statusfiles.read_port(workdir, instance_name, required=protocol is not None)

    host = ctx.psa.public_address() or variables.require(names.PA_NODE_HOST)
    propagate(variables, host, port)
    endpoint = endpoint_url(protocol, host, port) if protocol else None

    def record_deployment(instance) -> None:
        instance.instance_status = names.RUNNING
        if endpoint:
            instance.add_deployment(Deployment.from_json({
                "node": {
                    "name": variables.text(names.PA_NODE_NAME),
                    "host": variables.text(names.PA_NODE_HOST),
                    "node_source_name": variables.text(names.PA_NODE_SOURCE),
                    "url": node_url,
                },
                "container": {"id": container_id, "name": instance_name},
                "endpoint": {
                    "id": endpoint_id,
                    "url": endpoint,
                    "proxyfied": proxied,
                    "proxyfiedUrl": variables.text(names.PROXYFIED_URL) if proxied else None,
                },
            }))
        if proxied:
            instance.add_groups(*names.PROXY_GROUPS)

    from ..instances import update_instance
    from ..model import Deployment

    undo = []
    committing = False
    try:
        ctx.scheduler.registerService(job_id, instance_id, True)
        undo.append(lambda: ctx.scheduler.detachService(job_id, instance_id))

        channel = ServiceChannel(ctx.sync, instance_id)
        channel.create()
        # Not deleted on failure: the finish action reads it (Pre_Trigger_Action).
        undo.append(lambda: channel.put(names.KEY_RUNNING_STATE, names.RUNNING_STATE_ERROR))
        channel.put(names.KEY_RUNNING_STATE, names.RUNNING_STATE_RUNNING)
        channel.put(names.KEY_INSTANCE_NAME, instance_name)
        credentials_key = variables.text(names.CREDENTIALS_KEY)
        if credentials_key:
            channel.put(names.KEY_CREDENTIALS_KEY, credentials_key)

        token = add_node_token(ctx.rm, node_url, instance_name)  # kept on failure: the finish action runs there

        committing = True
        update_instance(ctx.psa, instance_id, record_deployment)
    except Exception as failure:
        if committing and _stored_anyway(ctx, instance_id, record_deployment):
            # The PUT landed but its confirmation did not come back: the service is RUNNING
            # and everything it needs is in place, so undoing would orphan it.
            ctx.warn(f"the instance update was stored although its confirmation failed ({failure})")
        else:
            _undo(ctx, undo)
            raise
    ctx.print(f"Service instance {instance_id} ({instance_name}) is RUNNING"
              f"{f' at {endpoint}' if endpoint else ''}; node token {token} added")


def _stored_anyway(ctx: ScriptContext, instance_id: int, change) -> bool:
    """Whether PSA holds ``change`` after all (best effort: unknown counts as no)."""
    from ..instances import needs_change

    try:
        return not needs_change(change, ctx.psa.get_instance(instance_id))
    except Exception:
        return False


def _undo(ctx: ScriptContext, undo) -> None:
    """Take back the steps done, last first; a failing step does not stop the others."""
    for step in reversed(undo):
        try:
            step()
        except Exception as error:  # keep undoing: the original error is what matters
            ctx.warn(f"could not undo a step of the deployment: {error}")
