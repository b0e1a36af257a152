"""``loads``: JSON text to Python values, as ``json.loads`` reads it, without importing ``json``.

``json`` imports ``re`` (for its whitespace and number patterns) and with it ``enum`` and
``functools``: some 10 ms at every start of a script in a fresh interpreter, for a script
whose only JSON is one short answer (the Singularity actions read ``instance list --json``).
``json.loads`` does its work in CPython's C scanner, ``_json.make_scanner``; this module
drives the same scanner with the same settings (strict strings, ``NaN``/``Infinity``
accepted, as ``json.loads``), so the values are the ones ``json.loads`` gives. Where
``_json`` is missing (another Python implementation), it is ``json.loads`` itself.

Errors are ``ValueError``: the scanner's own ``json.JSONDecodeError`` (it imports
``json.decoder`` only to raise it), or ours for text around the value.
``tests/test_jsontext.py`` runs the same cases through this and ``json.loads``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

_WHITESPACE = " \t\n\r"  # JSON's four (RFC 8259, section 2)
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _Settings:
    """What the C scanner reads from ``json.JSONDecoder``: these are ``json.loads``'s defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


def _c_scanner() -> "Callable[[str, int], Any] | None":
    try:
        from _json import make_scanner

        return make_scanner(_Settings())
    except (ImportError, AttributeError, TypeError):  # absent, or asking what a newer Python's reads
        return None


_scan = _c_scanner()


def loads(text: str) -> Any:
    """The value of JSON document ``text`` (a ``str``), as ``json.loads(text)`` gives it."""
    if _scan is None:
        import json

        return json.loads(text)
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except StopIteration as error:
        raise ValueError(f"Expecting value: char {error.value}") from None
    if text[end:].strip(_WHITESPACE):
        raise ValueError(f"Extra data: char {end + len(text[end:]) - len(text[end:].lstrip(_WHITESPACE))}")
    return value
