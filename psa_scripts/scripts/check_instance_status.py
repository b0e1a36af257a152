"""Check_Instance_Status — the status loop's task, run every minute while the service lives.

Reads: PCA_INSTANCE_ID, INSTANCE_NAME, PA_JOB_ID, PA_NODE_URL, CREDENTIALS_KEY, LOG_CURSOR
(else LAST_TIME_MARKER), LOG_MAX_LINES / LOG_MAX_BYTES; GI PARENT_JOB_ID; the instance's
status; channel keys ACTION_JOB_ID, FINISH_LAUNCHED, FINISH_DONE, PAUSE_LAUNCHED; whether the
action job is finished; the container's state and logs, from the engine ENGINE names: docker
(default) or singularity (its command found on PATH or named by SINGULARITY_BINARY of the node's
environment; see
Check_Instance_Status_Singularity).
Decides and writes:
- instance FINISHED → IS_FINISHED=true, then every cleanup step is tried, each on its own
  (credential, channel, detach from this job and from a still-running parent job, node
  token): one failing step is a warning naming what is left, never a reason to skip the rest;
- container running, or stopped while an action announced by Pre_Trigger_Action (ACTION_JOB_ID)
  still runs, or stopped by a completed pause (PAUSE_LAUNCHED, instance PAUSED) → the
  container's new log lines, each exactly once, bounded per check; LOG_CURSOR;
- container gone after a finish that removed it (FINISH_DONE) but PSA was not told → status
  FINISHED, then the release above;
- any other stopped container (a crash, a finish or pause whose action ended without
  completing) → status ERROR, RUNNING_STATE=2, IS_FINISHED=true, the task fails.
So the loop ends at the first check after an action ends, whichever of its steps failed.
"""

from .. import names
from ..channel import ServiceChannel
from ..context import ScriptContext
from ..engine import DEFAULT_MAX_BYTES, DEFAULT_MAX_LINES, MAX_BYTES_VARIABLE, MAX_LINES_VARIABLE
from ..errors import ServiceError
from ..statusloop import print_new_logs, release_finished
from ..tokens import remove_node_token
from ..contract import Contract, Var


CONTRACT = Contract(
    reads=(
        Var(names.PCA_INSTANCE_ID),
        Var(names.INSTANCE_NAME),
        Var(names.PA_JOB_ID),
        Var(names.PA_NODE_URL),
        Var(names.CREDENTIALS_KEY, required=False),
        Var(names.ENGINE, required=False, doc="docker (default) or singularity"),
        Var(names.LOG_CURSOR, required=False),
        Var(names.LAST_TIME_MARKER, required=False),
        Var(names.LOG_MAX_LINES, required=False),
        Var(names.LOG_MAX_BYTES, required=False),
    ),
    writes=(names.IS_FINISHED, names.LOG_CURSOR),
    on_node=True,
)


def main(ctx: ScriptContext) -> None:
    names.engine_kind(ctx.variables.get(names.ENGINE))  # a bad ENGINE fails before any call
    check(ctx, lambda: ctx.engine)


def check(ctx: ScriptContext, engine_of) -> None:
    """The status check, on the container engine ``engine_of()`` gives (asked only when needed;
    the context keeps it, so the log reads below use the same engine)."""
    variables = ctx.variables
    instance_id = variables.require_int(names.PCA_INSTANCE_ID)
    instance_name = ctx.instance_name()
    job_id = variables.require(names.PA_JOB_ID)
    node_url = variables.require(names.PA_NODE_URL)
    max_lines = variables.integer(MAX_LINES_VARIABLE, DEFAULT_MAX_LINES)
    max_bytes = variables.integer(MAX_BYTES_VARIABLE, DEFAULT_MAX_BYTES)
    channel = ServiceChannel(ctx.sync, instance_id)

    instance = ctx.psa.get_instance(instance_id)
    if instance.instance_status == names.FINISHED:
        variables.set(names.IS_FINISHED, "true")
        _release(ctx, instance_id, instance_name, job_id, node_url, channel)
        return

    if engine_of().is_running(instance_name):
        _print_logs(ctx, instance_name, max_lines, max_bytes)
        return

    action_job = _running_action(ctx, channel)
    if action_job is not None:  # the action stops, removes or starts the container: not a crash
        _print_logs(ctx, instance_name, max_lines, max_bytes)
        return
    if channel.flag(names.KEY_FINISH_DONE):
        # The finish removed the container but its status update did not reach PSA.
        from ..instances import set_status

        ctx.warn(f"container {instance_name} was removed by the finish action but service instance "
                 f"{instance_id} is {instance.instance_status}: setting it FINISHED")
        set_status(ctx.psa, instance_id, names.FINISHED)
        variables.set(names.IS_FINISHED, "true")
        _release(ctx, instance_id, instance_name, job_id, node_url, channel)
        return
    if channel.flag(names.KEY_PAUSE_LAUNCHED) and instance.instance_status == names.PAUSED:
        _print_logs(ctx, instance_name, max_lines, max_bytes)
        return
    _fail(ctx, instance_id, instance_name, channel, _why_stopped(channel, instance.instance_status),
          max_lines, max_bytes)


def _running_action(ctx: ScriptContext, channel: ServiceChannel) -> "str | None":
    """The job id of the action announced in the channel, while that job runs; else None."""
    action_job = channel.action_job()
    if action_job is None:
        return None
    try:
        if ctx.scheduler.isJobFinished(action_job):
            return None
    except Exception as error:  # unknown: a transient fault must not turn an action into a crash
        ctx.warn(f"could not tell whether action job {action_job} has ended ({error}); taking it as running")
    return action_job


def _why_stopped(channel: ServiceChannel, status: "str | None") -> str:
    if channel.flag(names.KEY_FINISH_LAUNCHED):
        return "the finish action ended without removing it"
    if channel.flag(names.KEY_PAUSE_LAUNCHED):
        return f"the pause action ended without completing (instance status {status})"
    return "no finish or pause was launched"


def _fail(ctx, instance_id, instance_name, channel, why, max_lines, max_bytes) -> None:
    """A stopped container nothing explains: ERROR, and the loop ends."""
    from ..instances import set_status

    set_status(ctx.psa, instance_id, names.ERROR)
    ctx.variables.set(names.IS_FINISHED, "true")
    if channel.exists():
        channel.put(names.KEY_RUNNING_STATE, names.RUNNING_STATE_ERROR)
    try:
        _print_logs(ctx, instance_name, max_lines, max_bytes)  # the container's last words
    except Exception as error:
        ctx.warn(f"could not read the last logs of {instance_name}: {error}")
    raise ServiceError(
        f"container {instance_name} is not running and {why}: "
        f"service instance {instance_id} set to ERROR"
    )


def _print_logs(ctx: ScriptContext, instance_name: str, max_lines: int, max_bytes: int) -> None:
    print_new_logs(ctx, ctx.engine, instance_name, max_lines, max_bytes)


def _release(ctx, instance_id, instance_name, job_id, node_url, channel) -> None:
    """Undo everything the deployment set up; each step is tried whatever the others do."""
    release_finished(ctx, instance_id, job_id, channel, [(
        f"node token PSA_{instance_name} on {node_url}", lambda: remove_node_token(ctx.rm, node_url, instance_name))])
    ctx.print(f"Service instance {instance_id} ({instance_name}) is FINISHED: resources released")
