"""Pre_Trigger_Action — first task of an action workflow: announce the action to the service.

Argument 1: FINISH_LAUNCHED | PAUSE_LAUNCHED | RESUME_LAUNCHED.
Reads: PCA_INSTANCE_ID, PA_JOB_ID; channel keys INSTANCE_NAME, CREDENTIALS_KEY (INSTANCE_NAME
falls back to the variable when the channel lacks it).
Writes: variables INSTANCE_NAME and CREDENTIALS_KEY for the action's tasks; in the channel,
first ACTION_JOB_ID=<PA_JOB_ID> (while this job runs, the status loop reads a stopped container
as the action's doing, never as a crash; Post_Trigger_Action or Clean_Trigger_Action removes
it), then on resume RUNNING_STATE=1, RESUMED=true, PAUSE_LAUNCHED=false, else <action>=true.
"""

from .. import names
from ..channel import ServiceChannel
from ..context import ScriptContext
from ..errors import InputError
from ..contract import Contract, Var, Arg

ACTIONS = (names.KEY_FINISH_LAUNCHED, names.KEY_PAUSE_LAUNCHED, names.KEY_RESUME_LAUNCHED)


CONTRACT = Contract(
    reads=(Var(names.PCA_INSTANCE_ID), Var(names.PA_JOB_ID),
           Var(names.INSTANCE_NAME, required=False, doc="when the channel lacks it")),
    writes=(names.INSTANCE_NAME, names.CREDENTIALS_KEY),
    args=(Arg("the action launched", ACTIONS),),
)


def main(ctx: ScriptContext) -> None:
    action = ctx.arg(0, "the action launched", ACTIONS)
    instance_id = ctx.variables.require_int(names.PCA_INSTANCE_ID)
    job_id = ctx.variables.require(names.PA_JOB_ID)
    channel = ServiceChannel(ctx.sync, instance_id)
    if not channel.exists():
        raise InputError(
            f"channel {channel.name} does not exist: the service was never started "
            "(Post_Start_Service creates it) or it is already finished"
        )
    instance_name = names.check_instance_name(
        channel.text(names.KEY_INSTANCE_NAME) or ctx.variables.require(names.INSTANCE_NAME))
    credentials_key = channel.text(names.KEY_CREDENTIALS_KEY)

    ctx.variables.set(names.INSTANCE_NAME, instance_name)
    if credentials_key:
        ctx.variables.set(names.CREDENTIALS_KEY, credentials_key)
    channel.announce_action(job_id)  # before any flag changes: a check in between sees the action
    if action == names.KEY_RESUME_LAUNCHED:
        channel.put(names.KEY_RUNNING_STATE, names.RUNNING_STATE_RUNNING)
        channel.put(names.KEY_RESUMED, True)
        channel.put(names.KEY_PAUSE_LAUNCHED, False)
    else:
        channel.put(action, True)
    ctx.print(f"{action} announced on {channel.name} for {instance_name} (action job {job_id})")
