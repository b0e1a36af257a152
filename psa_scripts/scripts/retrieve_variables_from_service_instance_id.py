"""Retrieve_variables_from_service_instance_id — task script: copy a service instance's variables.

Reads: args[0] the instance id (empty: nothing to retrieve, the task goes on), then pairs
``<variable to write> <what to read>``: the target instance's variable of that name, or a text
whose ``%{name}`` references are replaced by the instance's variables (``%{}`` rather than
``${}`` so that the workflow does not resolve them first).
Decides: every pair is resolved before anything is written; a variable the instance does not
have fails the task, naming it.
Writes: the variables named by the pairs.
"""

from ..context import ScriptContext
from ..contract import Arg, Contract
from ..errors import InputError

CONTRACT = Contract(
    args=(
        Arg("the service instance id (empty: nothing is retrieved)"),
        Arg("from 2 on, pairs: the variable to write, then the instance's variable to read "
            "(or a text with %{name} references)"),
    ),
)


def main(ctx: ScriptContext) -> None:
    if not ctx.args:
        ctx.arg(0, "the service instance id")  # raises: says what is missing
    if not ctx.args[0].strip():
        ctx.print("No service instance id (argument 1 is empty): no variable retrieved")
        return
    try:
        instance_id = int(ctx.args[0].strip())
    except ValueError:
        raise InputError(f"argument 1 (the service instance id) must be a whole number, got {ctx.args[0]!r}") from None
    pairs = ctx.arg_pairs(1, "the variable to write, then the instance's variable to read")

    available = ctx.psa.get_instance(instance_id).variables or {}
    resolved = [(target, _resolve(source, available, instance_id)) for target, source in pairs]
    for target, value in resolved:
        ctx.variables.set(target, value)
        ctx.print(f"{target} = the value from service instance {instance_id}")


def _resolve(source: str, available, instance_id: int) -> str:
    """``source``: a variable name, or a text with ``%{name}`` references."""
    if "%{" not in source:
        return _lookup(source.strip(), available, instance_id)
    parts, rest = [], source
    while "%{" in rest:
        before, _, after = rest.partition("%{")
        name, closed, rest = after.partition("}")
        if not closed:
            raise InputError(f"{source!r} has a %{{ without its closing }}")
        parts += [before, _lookup(name.strip(), available, instance_id)]
    return "".join(parts) + rest


def _lookup(name: str, available, instance_id: int) -> str:
    if name not in available:
        raise InputError(f"service instance {instance_id} has no variable {name!r}; "
                         f"it has {len(available)}: {', '.join(sorted(available)) or 'none'}")
    value = available[name]
    return "" if value is None else str(value)
