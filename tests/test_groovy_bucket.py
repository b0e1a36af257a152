"""docs/groovy-bucket.md lists the 25 Groovy objects with their counterparts, in step with SCRIPTS."""

import pathlib
import re

from psa_scripts.scripts import SCRIPTS

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "groovy-bucket.md"
ROW = re.compile(r"^\| (\d+) \| (\w+) \(([^)]*)\) \| (\w+) \| (in the package|to come) \|$", re.M)


def _rows():
    return ROW.findall(DOC.read_text(encoding="utf-8"))


def test_the_25_groovy_objects_are_listed_once_each():
    rows = _rows()
    assert [int(row[0]) for row in rows] == list(range(1, 26))
    assert len({row[1] for row in rows}) == 25


def test_each_counterpart_said_in_the_package_is_a_script_of_the_package():
    missing = [row[3] for row in _rows() if row[4] == "in the package" and row[3] not in SCRIPTS]
    assert missing == []


def test_every_script_of_the_package_has_its_row_or_is_ours_only():
    listed = {row[3] for row in _rows()}
    text = DOC.read_text(encoding="utf-8")
    unlisted = [name for name in SCRIPTS if name not in listed and f"**{name}**" not in text]
    assert unlisted == []
    stale = [row[3] for row in _rows() if row[4] == "to come" and row[3] in SCRIPTS]
    assert stale == [], f"{stale} are in the package now: mark their rows 'in the package'"
