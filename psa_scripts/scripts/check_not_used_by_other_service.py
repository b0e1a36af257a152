"""Check_Not_Used_By_Other_Service — selection script: keep services off each other's nodes.

Runs in the node's JVM before a deployment task is placed.
Reads: the ``nodeTokens`` binding (the node's tokens; missing or None: no tokens).
Writes: ``selected`` — false when the node holds any token starting with ``PSA_``
(the node runs another service instance), true otherwise.
"""

from ..context import ScriptContext
from ..tokens import holds_service_token


def main(ctx: ScriptContext) -> None:
    ctx.writeback["selected"] = not holds_service_token(ctx.bindings.get("nodeTokens"))
