"""Check_Not_Used_By_Other_Service — selection script: keep services off each other's nodes.

Runs in the node's JVM before a deployment task is placed.
Reads: the ``nodeTokens`` binding (a Java list of the node's tokens; missing or None:
no tokens; a lone string: one token).
Writes: ``selected`` — false when the node holds any token starting with ``PSA_``
(the node runs another service instance), true otherwise.
"""

from ..context import ScriptContext
from ..tokens import holds_service_token
from ..contract import Contract


CONTRACT = Contract()  # reads only the nodeTokens binding; sets ``selected``


def main(ctx: ScriptContext) -> None:
    tokens = ctx.bindings.get("nodeTokens")
    if isinstance(tokens, str):
        tokens = [tokens]
    ctx.writeback["selected"] = not holds_service_token(tokens)
