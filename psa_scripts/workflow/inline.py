"""What a workflow's own inline scripts do with a variable, as far as their text tells.

A service's own inline script often does the work of a lifecycle script (a pre script that makes
``PROXYFIED_URL`` as Pre_Start_Service does, an executable that checks the service and sets
``IS_FINISHED``, a loop script copied from Fetch_Logs). ``psa validate`` and ``psa migrate`` ask
this module before asking for the catalog script. The answer reads the text (Groovy, Python,
bash alike), so it errs towards "yes": it serves rules that must not cry wolf.
"""

from __future__ import annotations

import re
from typing import Optional, Set

from .model import ScriptRef


def _code(script: Optional[ScriptRef]) -> str:
    return (script.code or "") if script is not None else ""


# variables.put("NAME", ...) or variables["NAME"] = ... (not ==): a write, in Groovy, Python or bash's
# embedded scripts alike.
_WRITE = re.compile(r"""\.put\(\s*["']([A-Za-z_][A-Za-z0-9_.-]*)["']"""
                    r"""|\[\s*["']([A-Za-z_][A-Za-z0-9_.-]*)["']\s*\]\s*=(?!=)""")


def written_variables(script: Optional[ScriptRef]) -> Set[str]:
    """The variables inline ``script`` writes: ``variables.put("NAME", ...)`` or ``variables["NAME"] = ...``."""
    return {put or item for put, item in _WRITE.findall(_code(script))}


def writes_variable(script: Optional[ScriptRef], name: str) -> bool:
    """Whether inline ``script`` writes variable ``name`` (see ``written_variables``)."""
    return name in written_variables(script)


def reads_variable(script: Optional[ScriptRef], name: str) -> bool:
    """Whether inline ``script`` names variable ``name`` in quotes (a get, a test, a write)."""
    return re.search(rf"""["']{re.escape(name)}["']""", _code(script)) is not None
