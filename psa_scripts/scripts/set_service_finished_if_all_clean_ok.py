"""Set_service_FINISHED_if_all_clean_OK — post script of a multi-deployment finish: report the cleanup.

Argument 1: the status when every clean step succeeded (FINISHED...).
Argument 2: the clean-status file, relative to the localspace (e.g. ``${INSTANCE_NAME}_status``):
one ``ok`` or ``ko`` entry per clean step, ``|``-separated (``|ok|ok|ko``).
Reads: PCA_INSTANCE_ID; the clean-status file (checked before any change).
Writes: every entry ``ok`` (any case) → the status of argument 1, with FINISH_DONE=true in the
channel first when it is FINISHED; any other entry (``ko``, or an outcome nobody reported) →
status ERROR and the task fails, naming the failed entries.
"""

import os

from .. import names, statusfiles
from ..channel import ServiceChannel
from ..context import ScriptContext
from ..contract import Arg, Contract, Var
from ..errors import ServiceError


CONTRACT = Contract(
    reads=(Var(names.PCA_INSTANCE_ID),),
    args=(
        Arg("the status when every clean step is ok, e.g. FINISHED"),
        Arg("the clean-status file in the localspace, e.g. ${INSTANCE_NAME}_status"),
    ),
    files_read=("<argument 2>",),
)


def main(ctx: ScriptContext) -> None:
    ctx.exact_args(2, "the status when every clean step is ok, the clean-status file")
    target = names.check_status_name(ctx.arg(0, "the status when every clean step is ok"),
                                     "argument 1 (the status when every clean step is ok)")
    file_path = os.path.join(ctx.workdir, ctx.arg(1, "the clean-status file"))
    instance_id = ctx.variables.require_int(names.PCA_INSTANCE_ID)
    entries = statusfiles.read_clean_status(file_path)
    from ..instances import set_status

    failed = [entry for entry in entries if entry.lower() != names.CLEAN_OK]
    if failed:
        set_status(ctx.psa, instance_id, names.ERROR)
        raise ServiceError(f"{len(failed)} of {len(entries)} clean steps did not report {names.CLEAN_OK} "
                           f"({', '.join(failed)}) in {file_path}: service instance {instance_id} set to ERROR")
    if target == names.FINISHED:
        ServiceChannel(ctx.sync, instance_id).finish_done()
    set_status(ctx.psa, instance_id, target)
    ctx.print(f"All {len(entries)} clean steps ok: service instance {instance_id} is {target}")
