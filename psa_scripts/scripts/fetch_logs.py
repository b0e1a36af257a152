"""Fetch_Logs — loop control script of the status loop: run again next minute, or stop.

Reads: IS_FINISHED; STATUS_CHECK_CRON (optional, default ``*/1 * * * *``).
Writes: ``loop`` (False once finished, else the cron), LAST_TIME_MARKER (now, ISO-8601 with
offset, whole seconds; kept for services that read it — our log cursor is LOG_CURSOR).
Needs no network and imports nothing heavy: it runs in a fresh interpreter every minute.
"""

from .. import names
from ..context import ScriptContext, format_marker
from ..contract import Contract, Var

CRON_VARIABLE = names.STATUS_CHECK_CRON


CONTRACT = Contract(
    reads=(Var(names.IS_FINISHED, required=False), Var(names.STATUS_CHECK_CRON, required=False)),
    writes=(names.LAST_TIME_MARKER,),
)


def main(ctx: ScriptContext) -> None:
    variables = ctx.variables
    finished = variables.flag(names.IS_FINISHED)
    cron = variables.text(CRON_VARIABLE, names.STATUS_LOOP_CRON)
    ctx.writeback["loop"] = False if finished else cron
    variables.set(names.LAST_TIME_MARKER, format_marker(ctx.now()))
