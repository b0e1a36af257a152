"""``$VAR`` substitution and the scheduler's reading of script write-backs."""

from __future__ import annotations

import re
from typing import Any, Dict, Mapping, Optional

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_TRUE = ("true",)


def substitute(text: Optional[str], variables: Mapping[str, Any]) -> Optional[str]:
    """``$VAR`` and ``${VAR}`` replaced by their values; unknown names left as written
    (the scheduler's rule)."""
    if text is None:
        return None

    def value(match: "re.Match[str]") -> str:
        name = match.group(1) or match.group(2)
        found = variables.get(name)
        return match.group(0) if found is None else str(found)

    return _VARIABLE.sub(value, text)


def resolve_variables(values: Mapping[str, Any], context: Mapping[str, Any]) -> Dict[str, str]:
    """Variables whose values refer to others (``coco-annotator-$PA_JOB_ID``) resolved, as at submission."""
    resolved = {name: str(value) for name, value in values.items()}
    for _ in range(10):
        scope = dict(context, **resolved)
        changed = {name: substitute(value, scope) for name, value in resolved.items()}
        if changed == resolved:
            break
        resolved = changed
    return resolved


def read_flag(value: Any) -> Optional[bool]:
    """A write-back read as ProActive reads it: True/"true" and False/"false"; else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() in _TRUE
    return None

