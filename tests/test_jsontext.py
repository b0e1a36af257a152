"""jsontext.loads reads JSON as json.loads does: the same cases through both, value for value and
error for error (ValueError), on the C scanner and on the fallback without _json."""

import json
import sys

import pytest

from psa_scripts import jsontext

VALID = [
    '{"instances": [{"instance": "web-1", "pid": 4242, "img": "/i.sif", "ip": ""}]}',
    '{\n\t"instances": [\n\t\t{\n\t\t\t"instance": "web-1"\n\t\t}\n\t]\n}\n',
    '{"instances": []}', '{}', '[]', '""', '0', '-0', '-0.0', '12345678901234567890123',
    '1e400', '-1.5E-3', '3.25', 'true', 'false', 'null', 'NaN', 'Infinity', '-Infinity',
    '  \r\n\t {"a": 1}  \r\n\t ', '"\\u00e9\\ud83d\\ude00\\n\\"\\\\\\/"', '"caf\u00e9 \U0001F600"',
    '{"a": 1, "a": 2}', '[[[[[]]]]]', '{"a": {"b": [1, 2.5, "c", null, true]}}',
    '"\\ud800"',  # a lone surrogate escape: json accepts it
]
INVALID = [
    '', ' ', '\n', '{', '[1,]', '{"a": 1,}', "{'a': 1}", '{"a" 1}', '{"a": 1} x', '1 2', '[] []',
    '01', '+1', '.5', '1.', '-', 'nul', 'True', 'nan', '"unterminated', '"tab\there"',
    '"\\x41"', '\ufeff{}', '\x0b1', '\u00a01', '{1: 2}', '[1 2]', '"\\u12"',
    '{}\x0b', '1\u00a0', '[] \x0c', '"a"\u2028',  # after the value, only JSON's four whitespace
]


def _outcome(reader, text):
    try:
        return ("value", repr(reader(text)))
    except ValueError:
        return ("error", None)


@pytest.fixture(params=["C scanner", "without _json"])
def reader(request, monkeypatch):
    if request.param == "without _json":
        monkeypatch.setattr(jsontext, "_scan", None)
    else:
        assert jsontext._scan is not None, "CPython has _json: the C scanner must be the one used"
    return jsontext.loads


@pytest.mark.parametrize("text", VALID)
def test_a_json_document_reads_as_json_loads_reads_it(reader, text):
    assert _outcome(reader, text) == _outcome(json.loads, text)
    assert _outcome(reader, text)[0] == "value"


@pytest.mark.parametrize("text", INVALID)
def test_what_json_loads_refuses_is_a_value_error(reader, text):
    assert _outcome(json.loads, text) == ("error", None)
    assert _outcome(reader, text) == ("error", None)


def test_the_value_types_are_json_loads_types(reader):
    value = reader('{"i": 7, "f": 7.0, "big": 99999999999999999999, "s": "x", "l": [], "n": null}')
    assert value == {"i": 7, "f": 7.0, "big": 99999999999999999999, "s": "x", "l": [], "n": None}
    assert [type(value[key]) for key in ("i", "f", "big", "s", "l")] == [int, float, int, str, list]


def test_the_error_says_where(reader):
    with pytest.raises(ValueError, match="char 2"):
        reader("  ")
    with pytest.raises(ValueError, match="Extra data: .*char 5"):
        reader("{}   x")


def test_a_scanner_that_cannot_be_made_leaves_json_loads(monkeypatch):
    """_json is CPython's private module: absent, or asking for a setting we do not give (a
    future Python), the reader is json.loads itself, never a failing import."""
    import _json

    def refuses(context):
        raise AttributeError("'_Settings' object has no attribute 'array_hook'")

    monkeypatch.setattr(_json, "make_scanner", refuses)
    assert jsontext._c_scanner() is None
    monkeypatch.setitem(sys.modules, "_json", None)  # the module is not there at all
    assert jsontext._c_scanner() is None
