"""A "did you mean ...?" for a name a user misspelt: the known name closest to it.

One helper for every message that names something unknown (a script, a bucket, an element, an
instance state, a variable): the user sees the fix, not a list to search. Case is ignored when
comparing (``Running`` is a misspelt ``RUNNING``); a name too far from every candidate gets no
suggestion rather than a wrong one.
"""

from __future__ import annotations

import difflib
from typing import Iterable, Optional

CUTOFF = 0.8  # difflib's similarity ratio: RUNING/RUNNING 0.92, STOPPED/STARTED 0.71 (not suggested)


def closest(name: str, candidates: Iterable[str], cutoff: float = CUTOFF) -> Optional[str]:
    """The candidate most like ``name`` (case ignored), or None when none is close enough."""
    by_folded = {}
    for candidate in candidates:
        by_folded.setdefault(candidate.casefold(), candidate)
    if name.casefold() in by_folded:
        found = by_folded[name.casefold()]
        return found if found != name else None
    match = difflib.get_close_matches(name.casefold(), list(by_folded), n=1, cutoff=cutoff)
    return by_folded[match[0]] if match else None


def did_you_mean(name: str, candidates: Iterable[str], cutoff: float = CUTOFF) -> str:
    """``" (did you mean X?)"`` for the closest candidate, or ``""``: appended to a message."""
    found = closest(name, candidates, cutoff)
    return f" (did you mean {found}?)" if found else ""
