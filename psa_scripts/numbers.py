"""Whole numbers written by users (variables, arguments, localspace files): ASCII digits only.

Python reads more than a user means: ``str.isdigit()`` is true for ``'²'`` and ``'8²'``, which
``int()`` then refuses with a raw ``ValueError``; ``int()`` itself reads ``'٣'`` (an
Arabic-Indic three) as 3 and ``'1_000'`` as 1000. A port, a count or a number of seconds is
written with the digits 0-9: every script reads one through ``whole_number``, and says which
variable, argument or file holds something else (its own error, before any side effect).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up: annotations here are strings
    from typing import Optional


def whole_number(text: str, *, signed: bool = False) -> Optional[int]:
    """``text`` (surrounding blanks aside) as a whole number of ASCII digits, with a leading
    ``-`` or ``+`` when ``signed``; None when it is anything else."""
    body = text.strip()
    digits = body[1:] if signed and body[:1] in ("-", "+") else body
    if not (digits.isascii() and digits.isdigit()):  # isdigit() alone accepts '²'
        return None
    return int(body)
