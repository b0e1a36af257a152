"""The catalog scripts, one module each, and ``run``: how the engine would run them.

On a node where psa-scripts is installed, a catalog object can be just::

    from psa_scripts.scripts import run
    run("Post_Start_Service", globals())

A service author's own script is a module with ``main(ctx)``; ``run`` takes it by its
dotted path (``run("tiny_httpd.wait_ready", globals(), kind="Script/task")``) or as a
module object, like a catalog name.
``run`` reads what the engine provides from ``bindings`` (the script's module globals),
runs the script and writes ``loop`` / ``selected`` / ``result`` back into ``bindings``
when the script sets them, so the engine's epilogue finds them. An exception propagates:
the task fails, as it would with the Groovy script.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up: annotations here are strings
    from typing import Any, Callable, Dict, Optional

from .. import names
from ..context import ScriptContext
from ..errors import InputError


# A script's start-up pays for what it imports (docs/scripts.md, "Starting lean"): the module type
# and importing by name without ``types`` and ``importlib`` (which brings ``warnings``).
_MODULE_TYPE = type(sys)  # types.ModuleType


def _import_module(name: str) -> Any:
    """The module of absolute dotted name ``name``, imported: ``importlib.import_module(name)``."""
    __import__(name)
    return sys.modules[name]


class ScriptInfo:
    """A catalog script: its catalog name, its kind (``Script/post``...) and its module."""

    __slots__ = ("name", "kind", "module", "_loaded")

    def __init__(self, name: str, kind: str, module: str, loaded: Any = None) -> None:
        self.name = name
        self.kind = kind
        self.module = module
        self._loaded = loaded  # a module object given as the target: used as is

    def __repr__(self) -> str:
        return f"ScriptInfo({self.name!r}, {self.kind!r}, {self.module!r})"

    def load(self):
        """The script's module, with its ``main``; a clear error when it cannot be imported."""
        module = self._loaded
        if module is None:
            try:
                module = _import_module(self.module)
            except ImportError as error:
                if self.module.startswith(__name__ + "."):
                    raise
                missing = getattr(error, "name", None) or ""
                if missing and (self.module + ".").startswith(missing + "."):
                    hint = "its package must be on sys.path (run from the directory that holds it, or install it)"
                else:
                    hint = "it imports a module that is not installed here"
                raise InputError(f"script {self.name}: cannot import module {self.module!r} ({error}); {hint}") from None
        if not callable(getattr(module, "main", None)):
            raise InputError(f"script {self.name}: module {self.module!r} has no main(ctx) function")
        return module

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
        _info("Service_Start", "Script/task"),
        _info("Service_Action", "Script/task"),
        _info("Find_and_set_Instance_Id", "Script/pre"),
        _info("Retrieve_variables_from_service_instance_id", "Script/task"),
        _info("Propagate_variables_to_current_service", "Script/pre"),
        # Multi-deployment services (the Groovy catalog files these four as Script/flow).
        _info("Add_deployments_and_update_service", "Script/task"),
        _info("Update_service_and_remove_tokens", "Script/task"),
        _info("Set_service_FINISHED_if_all_clean_OK", "Script/post"),
        _info("Loop_over_service_instance_status", "Script/task"),
        # Services run as Singularity instances.
        _info("Check_Instance_Status_Singularity", "Script/task"),
        _info("Finish_Singularity_Service", "Script/task"),
        _info("Pause_Singularity_Service", "Script/task"),
        _info("Resume_Singularity_Service", "Script/task"),
    )
}


def _check_kind(kind: str, what: str) -> str:
    if kind not in names.SCRIPT_KINDS:
        raise InputError(f"{what}: kind {kind!r} is not one of {', '.join(names.SCRIPT_KINDS)}")
    return kind


def script_info(target: Any, kind: Optional[str] = None) -> ScriptInfo:
    """The script ``target`` names: a catalog name of SCRIPTS (``"Post_Start_Service"``), the
    dotted path of an author's module (``"tiny_httpd.wait_ready"``), a module object with
    ``main(ctx)``, or a ``ScriptInfo``. ``kind`` (default ``Script/task``) is the catalog kind
    of an author's script; a catalog script has its own."""
    if isinstance(target, ScriptInfo):
        info = target
    elif isinstance(target, _MODULE_TYPE):
        info = ScriptInfo(target.__name__, kind or names.DEFAULT_SCRIPT_KIND, target.__name__, target)
    elif isinstance(target, str) and target in SCRIPTS:
        info = SCRIPTS[target]
    elif isinstance(target, str) and "." in target and all(part.isidentifier() for part in target.split(".")):
        info = ScriptInfo(target, kind or names.DEFAULT_SCRIPT_KIND, target)
    else:
        raise InputError(
            f"no catalog script named {target!r}; known: {', '.join(SCRIPTS)}; an author's script is "
            "given by its module's dotted path (\"my_service.wait_ready\") or as a module object")
    if kind is not None and kind != info.kind:
        raise InputError(f"script {info.name} is a {info.kind}: kind={kind!r} does not apply")
    _check_kind(info.kind, f"script {info.name}")
    return info


def run(
    target: Any,
    bindings: Dict[str, Any],
    *,
    kind: Optional[str] = None,
    engine: Any = None,
    psa: Any = None,
    clock: Optional[Callable[[], float]] = None,
    sleep: Optional[Callable[[float], Any]] = None,
    out: Any = None,
    http: Any = None,
) -> None:
    """Run script ``target`` (a catalog name, an author's dotted module path or module: see
    ``script_info``) against ``bindings`` as the ``cpython`` engine would."""
    info = script_info(target, kind)
    module = info.load()
    context = ScriptContext(bindings, kind=info.kind, engine=engine, psa=psa, clock=clock, sleep=sleep,
                            out=out, http=http)
    module.main(context)
    bindings.update(context.writeback)
