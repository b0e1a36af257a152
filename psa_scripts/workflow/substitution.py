"""``$VAR`` substitution and the scheduler's reading of script write-backs."""

from __future__ import annotations

import re
from typing import Any, Dict, Mapping, Optional, Tuple

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_TRUE = ("true",)
MAX_DEPTH = 10  # references followed from one variable to the next, at most
MAX_VALUE_LENGTH = 1_000_000  # characters of a resolved value, at most


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
    """Variables whose values refer to others (``coco-annotator-$PA_JOB_ID``) resolved, as at submission.

    Bounded whatever the values: a reference that leads back to a variable being resolved
    (``A=$A$A``, ``A=$B`` with ``B=$A``), or deeper than ``MAX_DEPTH``, or that would make a
    value longer than ``MAX_VALUE_LENGTH``, is left as written, as the scheduler leaves an
    unknown reference.
    """
    raw = {name: str(value) for name, value in values.items()}
    resolved: Dict[str, str] = {}

    def resolve(name: str, chain: Tuple[str, ...]) -> str:
        if name in resolved:
            return resolved[name]

        def value(match: "re.Match[str]") -> str:
            reference = match.group(1) or match.group(2)
            if reference in raw:
                if reference in chain or len(chain) >= MAX_DEPTH:
                    return match.group(0)
                return resolve(reference, chain + (reference,))
            found = context.get(reference)
            return match.group(0) if found is None else str(found)

        text = _VARIABLE.sub(value, raw[name])
        resolved[name] = raw[name] if len(text) > MAX_VALUE_LENGTH else text
        return resolved[name]

    return {name: resolve(name, (name,)) for name in raw}


def read_flag(value: Any) -> Optional[bool]:
    """A write-back read as ProActive reads it: True/"true" and False/"false"; else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() in _TRUE
    return None

