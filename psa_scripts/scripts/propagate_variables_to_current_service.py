"""Propagate_variables_to_current_service — pre script: store values in the service's variables.

Reads: PCA_INSTANCE_ID; args: pairs ``<name> <value>``, where the value VARIABLE_VALUE stands for
this task's variable of that name (empty when it is not set).
Writes: the instance's variables (a read-modify-write that keeps every other field and
re-applies when a concurrent update overwrote it).
"""

from .. import names
from ..context import ScriptContext
from ..contract import Arg, Contract, Var

CONTRACT = Contract(
    reads=(Var(names.PCA_INSTANCE_ID),),
    args=(Arg("pairs: the instance's variable to set, then its value (VARIABLE_VALUE: the task's "
              "variable of that name)"),),
)


def main(ctx: ScriptContext) -> None:
    instance_id = ctx.variables.require_int(names.PCA_INSTANCE_ID)
    pairs = ctx.arg_pairs(0, f"the instance's variable, then its value or {names.VARIABLE_VALUE}")
    values = {}
    for name, value in pairs:
        if value.strip() == names.VARIABLE_VALUE:
            value = ctx.variables.text(name)
            if value is None:
                ctx.warn(f"variable {name} is not set in this task: the service gets it empty")
                value = ""
        values[name] = value

    def store(instance) -> None:
        instance.variables = {**(instance.variables or {}), **values}

    from ..instances import update_instance

    update_instance(ctx.psa, instance_id, store)
    ctx.print(f"Service instance {instance_id}: variables {', '.join(values)} set")
