"""Check_Instance_Status_Singularity — the status loop's task for a service run as a Singularity instance.

Check_Instance_Status on the Singularity engine, whatever ENGINE says: the instance is
running when ``singularity instance list --json <INSTANCE_NAME>`` lists exactly that name
(the command found on PATH or named by SINGULARITY_BINARY of the node's environment, never by a
workflow variable; never a shell, always a timeout).
Reads: PCA_INSTANCE_ID, INSTANCE_NAME, PA_JOB_ID, PA_NODE_URL, CREDENTIALS_KEY,
LOG_CURSOR / LAST_TIME_MARKER, LOG_MAX_LINES / LOG_MAX_BYTES; GI
PARENT_JOB_ID; the instance's status; channel keys FINISH_LAUNCHED, PAUSE_LAUNCHED.
Decides and writes, as Check_Instance_Status:
- instance FINISHED → IS_FINISHED=true, then every cleanup step tried on its own;
- instance not running and no finish/pause launched → status ERROR, RUNNING_STATE=2,
  IS_FINISHED=true, the task fails;
- otherwise nothing: a Singularity instance has no log stream to print (LOG_CURSOR unchanged).
"""

from .. import names
from ..context import ScriptContext
from ..contract import Contract
from . import check_instance_status

CONTRACT = Contract(
    reads=tuple(var for var in check_instance_status.CONTRACT.reads if var.name != names.ENGINE),
    writes=check_instance_status.CONTRACT.writes,
    on_node=True,
)


def main(ctx: ScriptContext) -> None:
    check_instance_status.check(ctx, lambda: ctx.singularity)
