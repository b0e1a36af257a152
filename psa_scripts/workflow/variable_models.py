"""Variable models (``model="PA:INTEGER[1,10]"``): does a model parse, does a value satisfy it.

The scheduler checks every job and task variable against its model when the job is submitted
and refuses the job when one fails. The rules below follow ProActive's model validators
(ow2-proactive/scheduling, ``job/factories/spi/model``), as they behave:
- a model that does not start with ``PA:`` (any case) is not checked at all;
- the type is the first of ProActive's model types that the upper-cased rest *starts with*,
  in ProActive's order (``PA:INTEGR`` matches none: "Unrecognized type");
- a trailing ``?`` makes the model optional (an empty value passes); ``NOT_EMPTY_STRING`` cannot
  be optional;
- ``INTEGER``/``LONG``/``SHORT``/``FLOAT``/``DOUBLE`` take an optional range ``[min]`` or
  ``[min,max]``; ``LIST(a,b,c)`` needs its parentheses and no duplicate; ``REGEXP(...)`` needs a
  non-empty regular expression that compiles, and the whole value must match it;
- ``BOOLEAN`` accepts ``true``, ``false``, ``1``, ``0`` (any case).
Types whose check needs the server (catalog objects, credentials, files in data spaces, SPEL,
models from a URL) or a library we do not carry (CRON, DATETIME, URI) are only checked for
syntax here: precision before recall. A URL needs a protocol Java knows (``new URL(value)``);
JSON is read token after token, as ProActive's validator does.
A value holding a variable reference (``$X`` / ``${X}``) is not checked: the scheduler
substitutes it first and we cannot know the result.
"""

from __future__ import annotations

import json
import re
from typing import Optional, Tuple

PREFIX = "PA:"
# ProActive's ModelType order matters: the first type the model starts with wins.
TYPES = ("BOOLEAN", "CATALOG_OBJECT", "CRON", "DATETIME", "DOUBLE", "FLOAT", "INTEGER", "JSON", "LIST",
         "LONG", "MODEL_FROM_URL", "NOT_EMPTY_STRING", "REGEXP", "SHORT", "SPEL2", "SPEL", "URI", "URL",
         "HIDDEN", "CREDENTIAL", "USER_FILE", "GLOBAL_FILE", "USER_FOLDER", "GLOBAL_FOLDER")
_RANGED = {"INTEGER": (-2**31, 2**31 - 1), "LONG": (-2**63, 2**63 - 1), "SHORT": (-2**15, 2**15 - 1),
           "FLOAT": None, "DOUBLE": None}
_INTEGRAL = ("INTEGER", "LONG", "SHORT")
_NEVER_OPTIONAL = ("NOT_EMPTY_STRING",)
_REFERENCE = re.compile(r"\$\{?[A-Za-z0-9_.]+\}?")


class ModelError(ValueError):
    """A model that does not parse (the scheduler refuses the job at submission)."""


def _number(text: str, kind: str) -> float:
    text = text.strip()
    if kind in _INTEGRAL:
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError(f"{text!r} is not a whole number")
        value = int(text)
        low, high = _RANGED[kind]
        if not low <= value <= high:
            raise ValueError(f"{text!r} is out of the {kind} range")
        return value
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None


def parse(model: str) -> Optional[Tuple[str, bool, str]]:
    """(type, optional, argument text) of a ``PA:`` model; None when the model is not checked.

    Raises ModelError when the scheduler would refuse the model itself."""
    text = model.strip()
    if not text.upper().startswith(PREFIX):
        return None
    rest = text[len(PREFIX):]
    upper = rest.upper()
    kind = next((name for name in TYPES if upper.startswith(name)), None)
    if kind is None:
        raise ModelError(f"unrecognized type in model {model!r}: expected one of PA:{', PA:'.join(sorted(TYPES))}")
    optional = rest.endswith("?")
    if optional:
        if kind in _NEVER_OPTIONAL:
            raise ModelError(f"model {model!r}: the type {kind} cannot be optional")
        rest = rest[:-1]
    argument = rest[len(kind):]
    _check_syntax(model, kind, argument)
    return kind, optional, argument


def _check_syntax(model: str, kind: str, argument: str) -> None:
    if kind in _RANGED:
        if argument == "":
            return
        found = re.fullmatch(r"\[([^),]+)(?:,([^),]+))?\]", argument)
        if not found:
            raise ModelError(f"model {model!r}: a {kind} range is written [min] or [min,max]")
        try:
            low = _number(found.group(1), kind)
            if found.group(2) is not None and low > _number(found.group(2), kind):
                raise ValueError("min is greater than max")
        except ValueError as error:
            raise ModelError(f"model {model!r}: illegal {kind} range ({error})") from None
    elif kind == "LIST":
        found = re.fullmatch(r"\(([^)]*)\)", argument)
        if not found:
            raise ModelError(f"model {model!r}: write PA:LIST(value1,value2,...)")
        values = found.group(1).split(",")
        if len(set(values)) < len(values):
            raise ModelError(f"model {model!r}: duplicate value in LIST")
    elif kind == "REGEXP":
        found = re.fullmatch(r"\((.+)\)", argument, re.S)
        if not found:
            raise ModelError(f"model {model!r}: write PA:REGEXP(expression)")
        try:
            re.compile(found.group(1))
        except re.error as error:
            raise ModelError(f"model {model!r}: the regular expression does not compile ({error})") from None
    elif kind in ("BOOLEAN", "NOT_EMPTY_STRING", "HIDDEN", "CREDENTIAL", "JSON", "URI", "URL", "CRON",
                  "USER_FILE", "GLOBAL_FILE", "USER_FOLDER", "GLOBAL_FOLDER") and argument:
        raise ModelError(f"model {model!r}: PA:{kind} takes no parameter")


def check_value(model: str, value: Optional[str], *, literal: bool = False) -> Optional[str]:
    """Why the scheduler would refuse ``value`` for ``model``, or None when it accepts it (or we
    cannot tell). Raises ModelError when the model itself does not parse. A value holding a
    variable reference is not judged, unless ``literal`` says the reference stays as written
    (it names no variable: the scheduler judges the text itself)."""
    parsed = parse(model)
    if parsed is None:
        return None
    kind, optional, argument = parsed
    text = "" if value is None else value
    if _REFERENCE.search(text) and not literal:
        return None
    if optional and text == "":
        return None
    if kind in _RANGED:
        try:
            number = _number(text, kind)
        except ValueError as error:
            return f"{error} (model {model})"
        found = re.fullmatch(r"\[([^),]+)(?:,([^),]+))?\]", argument) if argument else None
        if found:
            low = _number(found.group(1), kind)
            high = _number(found.group(2), kind) if found.group(2) is not None else None
            if number < low or (high is not None and number > high):
                return f"{text!r} is outside {argument} (model {model})"
        return None
    if kind == "BOOLEAN":
        return None if text.lower() in ("true", "false", "1", "0") else f"{text!r} is not true or false (model {model})"
    if kind == "NOT_EMPTY_STRING":
        return None if text.strip() else f"the value is empty (model {model})"
    if kind == "LIST":
        choices = [choice.strip() for choice in argument[1:-1].split(",")]
        return None if text in choices else f"{text!r} is not one of {', '.join(choices)} (model {model})"
    if kind == "REGEXP":
        expression = argument[1:-1]
        return None if re.fullmatch(expression, text) else f"{text!r} does not match {expression} (model {model})"
    if kind == "URL":
        return _url_problem(text, model)
    if kind == "JSON":
        return _json_problem(text, model)
    return None


# The protocols Java 17's java.net.URL has a handler for: ProActive's URL validator is ``new URL(value)``.
_URL_PROTOCOLS = ("http", "https", "ftp", "file", "jar", "mailto", "jrt")
_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")


def _url_problem(text: str, model: str) -> Optional[str]:
    """Why ``new URL(text)`` fails when it surely does: no protocol, or one Java has no handler
    for (what a handler then refuses is not judged here)."""
    found = _URL_SCHEME.match(text.strip())
    if found is None:
        return f"{text!r} is not a URL: it names no protocol (model {model})"
    if found.group(1).lower() not in _URL_PROTOCOLS:
        return f"{text!r} is not a URL: Java knows no protocol {found.group(1)!r} (model {model})"
    return None


_JSON_SPACE = re.compile(r"[ \t\r\n]*")


def _json_problem(text: str, model: str) -> Optional[str]:
    """Why ProActive's JSON validator refuses ``text``: it reads every token of the text (so
    several values one after another pass, and an empty text too) and refuses what does not lex
    as JSON. Python's decoder reads each value; it also accepts NaN, which we let pass."""
    decoder = json.JSONDecoder()
    index = _JSON_SPACE.match(text, 0).end()
    while index < len(text):
        try:
            _, index = decoder.raw_decode(text, index)
        except ValueError as error:
            return f"{text!r} is not JSON ({error.args[0].split(':')[0]}) (model {model})"
        index = _JSON_SPACE.match(text, index).end()
    return None
