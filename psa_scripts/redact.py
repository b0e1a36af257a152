"""Keeping secrets out of messages: the one helper every error and log line goes through.

A server may echo what it was sent (a login form, a JSON body) in its error text, and
an engine may quote a value it refused. ``redact`` replaces each secret in every form it
can take on the way: as is, URL-encoded (``quote_plus`` of a form body, ``quote`` of a
path or query) and JSON-escaped (with and without ``\\uXXXX`` escapes). Redact before
trimming: a secret cut in half by a trim would no longer match.
"""

from __future__ import annotations

import json
from typing import Iterable, List, Optional
from urllib.parse import quote, quote_plus

MASK = "<hidden>"


def secret_forms(secret: str) -> List[str]:
    """The spellings of ``secret`` a message could carry, longest first (so no form hides inside another)."""
    forms = {
        secret,
        quote_plus(secret, safe=""),
        quote(secret, safe=""),
        quote(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }
    forms.update({form.lower() for form in list(forms) if "%" in form})  # %2f as well as %2F
    return sorted((form for form in forms if form), key=len, reverse=True)


def redact(text: str, secrets: Iterable[Optional[str]], mask: str = MASK) -> str:
    """``text`` with every form of every non-empty secret replaced by ``mask``."""
    if not text:
        return text
    forms: List[str] = []
    for secret in secrets:
        if secret:
            forms.extend(secret_forms(str(secret)))
    for form in sorted(set(forms), key=len, reverse=True):
        text = text.replace(form, mask)
    return text
