"""Loop_over_service_instance_status — the status loop's task of a multi-deployment service.

Four arguments, from the file ``arguments.txt`` in the localspace when a pre script wrote it
(comma-separated: ``true,true,PSA_spark-42,spark-master-42``), else from the script reference:
1. whether the service is fine (the pre script checked its containers): true | false;
2. whether it is Docker-based (then its main container's logs are printed): true | false;
3. the node token to remove from every deployment's node when it ends;
4. the main container's name.
Reads: PCA_INSTANCE_ID, PA_JOB_ID, CREDENTIALS_KEY, LOG_CURSOR (else LAST_TIME_MARKER),
LOG_MAX_LINES / LOG_MAX_BYTES, ENGINE; GI PARENT_JOB_ID; the instance's status and
deployments; channel keys FINISH_LAUNCHED, PAUSE_LAUNCHED. All arguments are checked first.
Decides and writes:
- instance FINISHED → IS_FINISHED=true, then every cleanup step is tried, each on its own
  (credential, channel, detach from this job and from a still-running parent job, the token
  on each deployment's node); a failing step is a warning naming what is left;
- service not fine and no finish/pause launched → status ERROR, RUNNING_STATE=2,
  IS_FINISHED=true, the task fails;
- otherwise, Docker-based → the main container's new log lines, each once; LOG_CURSOR.
"""

import os

from .. import names, statusfiles
from ..channel import ServiceChannel
from ..context import ScriptContext, parse_flag
from ..contract import Arg, Contract, Var
from ..errors import InputError, ServiceError
from ..statusloop import declare_failed, log_bounds, print_new_logs, release_finished


CONTRACT = Contract(
    reads=(
        Var(names.PCA_INSTANCE_ID),
        Var(names.PA_JOB_ID),
        Var(names.CREDENTIALS_KEY, required=False),
        Var(names.LOG_CURSOR, required=False),
        Var(names.LAST_TIME_MARKER, required=False),
        Var(names.LOG_MAX_LINES, required=False),
        Var(names.LOG_MAX_BYTES, required=False),
        Var(names.ENGINE, required=False),
    ),
    writes=(names.IS_FINISHED, names.LOG_CURSOR),
    args=(
        Arg("whether the service is fine: true | false (or all four in arguments.txt)", required=False),
        Arg("whether it is Docker-based: true | false", required=False),
        Arg("the node token to remove from the deployments' nodes when it ends", required=False),
        Arg("the main container's name", required=False),
    ),
    files_read=(names.ARGUMENTS_FILE + " (optional)",),
)


def main(ctx: ScriptContext) -> None:
    status_ok, docker_based, token, container = _arguments(ctx)
    variables = ctx.variables
    instance_id = variables.require_int(names.PCA_INSTANCE_ID)
    job_id = variables.require(names.PA_JOB_ID)
    max_lines, max_bytes = log_bounds(ctx)
    if docker_based:
        names.engine_kind(variables.get(names.ENGINE))
    channel = ServiceChannel(ctx.sync, instance_id)

    instance = ctx.psa.get_instance(instance_id)
    if instance.instance_status == names.FINISHED:
        variables.set(names.IS_FINISHED, "true")
        release_finished(ctx, instance_id, job_id, channel, [
            (f"node token {token} on {url}", lambda url=url: ctx.rm.removeNodeToken(url, token))
            for url in instance.node_urls()
        ])
        ctx.print(f"Service instance {instance_id} is FINISHED: resources released")
        return

    if not status_ok and not (channel.flag(names.KEY_FINISH_LAUNCHED) or channel.flag(names.KEY_PAUSE_LAUNCHED)):
        declare_failed(ctx, instance_id, channel)
        raise ServiceError(f"the service is not fine (argument 1 is false) and no finish or pause was launched: "
                           f"service instance {instance_id} set to ERROR")

    if docker_based:
        print_new_logs(ctx, ctx.engine, container, max_lines, max_bytes)


def _arguments(ctx: ScriptContext):
    """(status ok, docker-based, token, container name), from arguments.txt or the arguments."""
    text = statusfiles.read_text(ctx.workdir, names.ARGUMENTS_FILE)
    if text is not None:
        arguments = [part.strip() for part in text.strip().split(names.ARGUMENTS_FILE_SEPARATOR)]
        source = f"file {os.path.join(ctx.workdir, names.ARGUMENTS_FILE)}"
    else:
        arguments = list(ctx.args)
        source = "the script's arguments"
    if len(arguments) != 4:
        raise InputError(
            f"{source} must give 4 values (service fine true|false, Docker-based true|false, node token, "
            f"main container name), got {len(arguments)}: {arguments!r}")
    status_ok = parse_flag(arguments[0], f"value 1 (the service is fine) of {source}")
    docker_based = parse_flag(arguments[1], f"value 2 (Docker-based) of {source}")
    token, container = arguments[2], arguments[3]
    if not token or any(character.isspace() for character in token):
        raise InputError(f"value 3 (the node token) of {source} must be one word, got {token!r}")
    if docker_based:
        try:
            names.check_instance_name(container)
        except InputError:
            raise InputError(f"value 4 (the main container's name) of {source} is not a container name: it must "
                             f"match {names.INSTANCE_NAME_PATTERN}, got {container!r}") from None
    return status_ok, docker_based, token, container
