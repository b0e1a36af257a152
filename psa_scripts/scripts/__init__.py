"""The catalog scripts, one module each, and ``run``: how the engine would run them.

On a node where psa-scripts is installed, a catalog object can be just::

    from psa_scripts.scripts import run
    run("Post_Start_Service", globals())

``run`` reads what the engine provides from ``bindings`` (the script's module globals),
runs the script and writes ``loop`` / ``selected`` / ``result`` back into ``bindings``
when the script sets them, so the engine's epilogue finds them. An exception propagates:
the task fails, as it would with the Groovy script.
"""

from __future__ import annotations

import importlib
TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up: annotations here are strings
    from typing import Any, Callable, Dict, Optional

from ..context import ScriptContext
from ..errors import InputError


class ScriptInfo:
    """A catalog script: its catalog name, its kind (``Script/post``...) and its module."""

    __slots__ = ("name", "kind", "module")

    def __init__(self, name: str, kind: str, module: str) -> None:
        self.name = name
        self.kind = kind
        self.module = module

    def __repr__(self) -> str:
        return f"ScriptInfo({self.name!r}, {self.kind!r}, {self.module!r})"

    def load(self):
        return importlib.import_module(self.module)

    @property
    def contract(self):
        """The script's ``CONTRACT``: the variables, arguments and files it reads and writes."""
        return self.load().CONTRACT


def _info(name: str, kind: str) -> ScriptInfo:
    return ScriptInfo(name, kind, f"{__name__}.{name.lower()}")


SCRIPTS: Dict[str, ScriptInfo] = {
    info.name: info
    for info in (
        _info("Pre_Start_Service", "Script/pre"),
        _info("Post_Start_Service", "Script/post"),
        _info("Clean_Start_Service", "Script/clean"),
        _info("Check_Instance_Status", "Script/task"),
        _info("Fetch_Logs", "Script/flow"),
        _info("Pre_Trigger_Action", "Script/task"),
        _info("Post_Trigger_Action", "Script/post"),
        _info("Clean_Trigger_Action", "Script/clean"),
        _info("Start_Docker_Service", "Script/task"),
        _info("Finish_Docker_Service", "Script/task"),
        _info("Pause_Docker_Service", "Script/task"),
        _info("Resume_Docker_Service", "Script/task"),
        _info("Check_Not_Used_By_Other_Service", "Script/selection"),
    )
}


def script_info(name: str) -> ScriptInfo:
    try:
        return SCRIPTS[name]
    except KeyError:
        raise InputError(f"no catalog script named {name!r}; known: {', '.join(SCRIPTS)}") from None


def run(
    name: str,
    bindings: Dict[str, Any],
    *,
    engine: Any = None,
    psa: Any = None,
    clock: Optional[Callable[[], float]] = None,
    out: Any = None,
) -> None:
    """Run catalog script ``name`` against ``bindings`` as the ``cpython`` engine would."""
    info = script_info(name)
    context = ScriptContext(bindings, kind=info.kind, engine=engine, psa=psa, clock=clock, out=out)
    info.load().main(context)
    bindings.update(context.writeback)
