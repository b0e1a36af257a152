"""What the status-loop scripts share: new log lines, a dead service, a finished one.

Check_Instance_Status (one container, Docker or Singularity) and
Loop_over_service_instance_status (a service of several deployments) run every minute
while a service lives; both print the new log lines of a container, declare the service
failed when it died unannounced, and release everything once the instance is FINISHED.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up: annotations here are strings
    from typing import Any, Callable, List, Tuple

from . import names
from .channel import ServiceChannel
from .engine import DEFAULT_MAX_BYTES, DEFAULT_MAX_LINES, MAX_BYTES_VARIABLE, MAX_LINES_VARIABLE


def log_bounds(ctx: Any) -> "Tuple[int, int]":
    """LOG_MAX_LINES / LOG_MAX_BYTES: read before any effect, so a bad one fails first."""
    variables = ctx.variables
    return (variables.integer(MAX_LINES_VARIABLE, DEFAULT_MAX_LINES),
            variables.integer(MAX_BYTES_VARIABLE, DEFAULT_MAX_BYTES))


def print_new_logs(ctx: Any, engine: Any, container_name: str, max_lines: int, max_bytes: int) -> None:
    """Print the container's lines written since LOG_CURSOR (else LAST_TIME_MARKER), each once."""
    variables = ctx.variables
    cursor = variables.text(names.LOG_CURSOR) or variables.text(names.LAST_TIME_MARKER)
    batch = engine.read_logs(container_name, cursor, max_lines=max_lines, max_bytes=max_bytes)
    if batch.skipped:
        ctx.print(f"[{batch.skipped} log lines skipped: more than {max_lines} lines or {max_bytes} bytes since the last check]")
    for line in batch.lines:
        ctx.print(line)
    if batch.cursor:
        variables.set(names.LOG_CURSOR, batch.cursor)


def declare_failed(ctx: Any, instance_id: int, channel: ServiceChannel) -> None:
    """The service died with no finish or pause launched: status ERROR, loop stopped, RUNNING_STATE=2."""
    from .instances import set_status

    set_status(ctx.psa, instance_id, names.ERROR)
    ctx.variables.set(names.IS_FINISHED, "true")
    if channel.exists():
        channel.put(names.KEY_RUNNING_STATE, names.RUNNING_STATE_ERROR)


def release_finished(ctx: Any, instance_id: int, job_id: str, channel: ServiceChannel,
                     token_steps: "List[Tuple[str, Callable[[], Any]]]") -> None:
    """Undo what the deployment set up: the credential, the channel, the service registrations
    (this job, and the parent job while it runs), then ``token_steps`` (what, step) — each step
    tried whatever the others do; a failing one is a warning naming what to remove by hand."""
    credentials_key = ctx.variables.text(names.CREDENTIALS_KEY) or channel.text(names.KEY_CREDENTIALS_KEY)
    parent_job_id = ctx.generic_info.text(names.GI_PARENT_JOB_ID)

    def detach_parent() -> None:
        if not ctx.scheduler.isJobFinished(parent_job_id):
            ctx.scheduler.detachService(parent_job_id, instance_id)

    steps = []
    if credentials_key:
        steps.append((f"third-party credential {credentials_key}",
                      lambda: ctx.scheduler.removeThirdPartyCredential(credentials_key)))
    steps.append((f"channel {channel.name}", channel.delete))
    steps.append((f"service registration on job {job_id}", lambda: ctx.scheduler.detachService(job_id, instance_id)))
    if parent_job_id:
        steps.append((f"service registration on parent job {parent_job_id}", detach_parent))
    steps.extend(token_steps)

    for what, step in steps:
        try:
            step()
        except Exception as error:
            ctx.warn(f"could not remove the {what}: {error}; remove it by hand")
