"""A catalog script's contract: the variables, arguments and files it reads and writes.

Every module of ``psa_scripts/scripts/`` declares ``CONTRACT = Contract(...)``. It is the one
source of truth for what the script needs from its workflow:

- ``psa validate`` reports a variable a script requires that nothing in the workflow sets;
- ``psa bundle`` writes it in the header of the bundled catalog file;
- a test checks that the module's docstring names every variable the contract lists, so the
  prose a user reads cannot drift from what the linter enforces.

A variable is *required* when the script fails without it, *optional* when the script reads it
if set. ``when`` says, in words, the condition under which a conditionally required variable is
needed (``required_if`` decides it from the workflow's variables, for the linter).
``on_node`` marks a script that acts on the service's node (its container, its localspace
files, its node token): outside the deployment task, the task running it needs the generic
information ``NODE_ACCESS_TOKEN=PSA_$INSTANCE_NAME`` to land on that node.
"""

from __future__ import annotations

from dataclasses import dataclass
TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up: annotations here are strings
    from typing import Callable, Mapping, Optional, Sequence, Tuple

# Variables the platform gives every task (the scheduler) or every service action (PSA):
# a workflow never needs to set them itself.
PROVIDED = frozenset({
    "PCA_INSTANCE_ID",  # PSA, when it launches an action of the service
    "PA_JOB_ID", "PA_JOB_NAME", "PA_TASK_ID", "PA_TASK_NAME", "PA_TASK_ITERATION", "PA_USER",
    "PA_NODE_URL", "PA_NODE_NAME", "PA_NODE_HOST", "PA_NODE_SOURCE",
    "PA_SCHEDULER_REST_URL", "PA_CATALOG_REST_URL",
    "PA_CLOUD_AUTOMATION_REST_URL", "PA_CLOUD_AUTOMATION_REST_PUBLIC_URL",
    "PA_SCHEDULER_REST_PUBLIC_URL", "PA_CATALOG_REST_PUBLIC_URL",
    "PA_TASK_SUCCESS",  # flow scripts
})


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in ("true", "yes", "on", "1")


@dataclass(frozen=True)
class Var:
    """A variable the script reads."""

    name: str
    required: bool = True
    when: str = ""  # the condition, in words, under which it is required (empty: always, if required)
    doc: str = ""
    # For the linter: given the workflow's variable values and the script's arguments, is it
    # required? None: ``required`` decides.
    required_if: "Optional[Callable[[Mapping[str, str], Sequence[str]], bool]]" = None

    def needed(self, values: "Mapping[str, str]", args: "Sequence[str]" = ()) -> bool:
        """Whether a workflow with these variable values (and script arguments) must set it."""
        if self.required_if is not None:
            return self.required_if(values, args)
        return self.required


@dataclass(frozen=True)
class Arg:
    """A positional argument of the script reference (``<arguments><argument value=.../>``)."""

    doc: str
    choices: "Tuple[str, ...]" = ()
    required: bool = True


@dataclass(frozen=True)
class Contract:
    """What one catalog script reads and writes."""

    reads: "Tuple[Var, ...]" = ()
    writes: "Tuple[str, ...]" = ()  # variables it writes (they propagate to later tasks)
    args: "Tuple[Arg, ...]" = ()
    files_read: "Tuple[str, ...]" = ()  # localspace files, as patterns: "<INSTANCE_NAME>_port"
    files_written: "Tuple[str, ...]" = ()
    on_node: bool = False

    @property
    def required(self) -> "Tuple[str, ...]":
        """Names of the variables the script always requires."""
        return tuple(var.name for var in self.reads if var.required and var.required_if is None)

    def needed(self, values: "Mapping[str, str]", args: "Sequence[str]" = ()) -> "Tuple[str, ...]":
        """Names of the variables a workflow with these values and arguments must set (or have provided)."""
        return tuple(var.name for var in self.reads if var.needed(values, args))

    def variable_names(self) -> "Tuple[str, ...]":
        return tuple(var.name for var in self.reads) + tuple(self.writes)

    def describe(self) -> "Tuple[str, ...]":
        """The contract as text lines, for the bundled file's header."""
        lines = []
        if self.args:
            for position, arg in enumerate(self.args, 1):
                choices = f" ({' | '.join(arg.choices)})" if arg.choices else ""
                optional = "" if arg.required else ", optional"
                lines.append(f"Argument {position}{optional}: {arg.doc}{choices}")
        required = [var for var in self.reads if var.required or var.required_if is not None]
        optional = [var for var in self.reads if not var.required and var.required_if is None]
        if required:
            lines.append("Requires: " + ", ".join(
                f"{var.name} ({var.when})" if var.when else var.name for var in required))
        if optional:
            lines.append("Reads if set: " + ", ".join(var.name for var in optional))
        if self.writes:
            lines.append("Writes variables: " + ", ".join(self.writes))
        if self.files_read:
            lines.append("Reads files: " + ", ".join(self.files_read))
        if self.files_written:
            lines.append("Writes files: " + ", ".join(self.files_written))
        if self.on_node:
            lines.append("Acts on the service's node (NODE_ACCESS_TOKEN outside the deployment task).")
        return tuple(lines)


def flag_set(*names: str, or_argument: bool = False) -> "Callable[[Mapping[str, str], Sequence[str]], bool]":
    """A ``required_if``: true when any of these variables is true in the workflow (or, with
    ``or_argument``, when the script is given a first argument)."""

    def check(values: "Mapping[str, str]", args: "Sequence[str]") -> bool:
        return any(_truthy(values.get(name, "")) for name in names) or (or_argument and bool(args))

    return check
