"""The ``pca.states`` generic information: which instance states a workflow moves between.

Grammar (Service Automation): one or more ``(FROM,TO)`` pairs, nothing between them but
spaces; ``FROM`` may be ``ALL``, ``TO`` may not. Predefined states: ``VOID`` (before the
service starts), ``FINISHED``, ``ERROR``, ``KILLED``; services add their own.
"""

from __future__ import annotations

import re
from typing import Iterable, List, Optional, Tuple

ANY_STATE = "ALL"
VOID = "VOID"
# The states PSA defines, then those the lifecycle scripts set (RUNNING, PAUSED) and STOPPED, which
# ProActive's public services use: a state of pca.states close to one of these but not it is a typo
# (``RUNING``); a state far from all of them is the service's own.
PREDEFINED_STATES = (VOID, "FINISHED", "ERROR", "KILLED")
KNOWN_STATES = PREDEFINED_STATES + ("RUNNING", "PAUSED", "STOPPED")
_PAIR = r"\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)"

Transition = Tuple[str, str]


def parse_states(value: str) -> Optional[List[Transition]]:
    """The (FROM, TO) pairs of a ``pca.states`` value, or None when it does not parse."""
    text = value.strip()
    if not re.fullmatch(f"(?:{_PAIR}\\s*)+", text):
        return None
    pairs = [(m.group(1), m.group(2)) for m in re.finditer(_PAIR, text)]
    return None if any(target == ANY_STATE for _, target in pairs) else pairs


def transition_from(pairs: Iterable[Transition], status: str) -> Optional[Transition]:
    """The pair a workflow performs when launched on an instance in ``status``, if any."""
    return next(((source, target) for source, target in pairs if source in (status, ANY_STATE)), None)
