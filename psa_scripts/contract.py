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

Why plain classes (``__slots__``, written-out ``__init__``), not dataclasses: every catalog
script declares its contract at module level, so every run of every script builds one, and
the scripts start in a fresh interpreter every minute on every node. ``dataclasses`` imports
``inspect``, ``re``, ``enum``, ``ast``, ``dis``, ``tokenize``, ``copy``...: some 20 ms of a cold
start, for a declaration that only ``psa validate``, ``psa bundle`` and the reference tables
read. Other ways were weighed: contracts kept out of the script modules (a second file per
script, two sources of truth that drift), or cut out of the bundled file (the installed form
would still pay, and the code that runs would differ from the code published). Plain classes
keep the contract where it is, at no cost to a run; they are immutable like the frozen
dataclasses were, compare by value and show their fields. The import-set test
(tests/test_cold_start_imports.py) fails if this module, or anything a stdlib script loads,
imports more than its allowlist.
"""

from __future__ import annotations

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


class _Declaration:
    """Immutable, compared by value, shown with its fields: what ``@dataclass(frozen=True)`` gave,
    without its import (see the module's docstring)."""

    __slots__ = ()

    def __init__(self, **fields: object) -> None:
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot set {name}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot delete {name}")

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__,) + self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({shown})"


class Var(_Declaration):
    """A variable the script reads.

    ``when``: the condition, in words, under which it is required (empty: always, if required).
    ``required_if``: for the linter, given the workflow's variable values and the script's
    arguments, is it required? None: ``required`` decides.
    """

    __slots__ = ("name", "required", "when", "doc", "required_if")

    def __init__(self, name: str, required: bool = True, when: str = "", doc: str = "",
                 required_if: "Optional[Callable[[Mapping[str, str], Sequence[str]], bool]]" = None) -> None:
        super().__init__(name=name, required=required, when=when, doc=doc, required_if=required_if)

    def needed(self, values: "Mapping[str, str]", args: "Sequence[str]" = ()) -> bool:
        """Whether a workflow with these variable values (and script arguments) must set it."""
        if self.required_if is not None:
            return self.required_if(values, args)
        return self.required


class Arg(_Declaration):
    """A positional argument of the script reference (``<arguments><argument value=.../>``)."""

    __slots__ = ("doc", "choices", "required")

    def __init__(self, doc: str, choices: "Tuple[str, ...]" = (), required: bool = True) -> None:
        super().__init__(doc=doc, choices=choices, required=required)


class Contract(_Declaration):
    """What one catalog script reads and writes: the variables it reads, the variables it writes
    (they propagate to later tasks), its arguments, the localspace files it reads and writes (as
    patterns: ``"<INSTANCE_NAME>_port"``), and whether it acts on the service's node."""

    __slots__ = ("reads", "writes", "args", "files_read", "files_written", "on_node")

    def __init__(self, reads: "Tuple[Var, ...]" = (), writes: "Tuple[str, ...]" = (), args: "Tuple[Arg, ...]" = (),
                 files_read: "Tuple[str, ...]" = (), files_written: "Tuple[str, ...]" = (),
                 on_node: bool = False) -> None:
        super().__init__(reads=tuple(reads), writes=tuple(writes), args=tuple(args), files_read=tuple(files_read),
                         files_written=tuple(files_written), on_node=on_node)

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
