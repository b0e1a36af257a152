"""tools/factory_diff.py without Java: the mutants are seeded, well-formed and of every kind, and
the factory's copy differs from the workflow only by what scheduler-api 13.0.3 cannot read."""

import importlib.util
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location("factory_diff", ROOT / "tools" / "factory_diff.py")
factory_diff = importlib.util.module_from_spec(SPEC)
sys.modules["factory_diff"] = factory_diff  # dataclasses look their module up
SPEC.loader.exec_module(factory_diff)
WORKFLOWS = sorted((ROOT / "bundles").rglob("*.xml"))


def bases():
    return {path: factory_diff.as_factory_reads(path.read_bytes()) for path in WORKFLOWS}


def test_the_factory_reads_3_13_without_the_job_tags():
    text = ('<job xmlns="urn:proactive:jobdescriptor:3.14" name="J" tags="a,b"><taskFlow><task name="T" '
            'tags="kept"/></taskFlow></job>')
    assert factory_diff.as_factory_reads(text.encode()) == (
        b'<job xmlns="urn:proactive:jobdescriptor:3.13" name="J"><taskFlow><task name="T" tags="kept"/></taskFlow></job>')


def test_mutants_are_seeded_distinct_well_formed_and_of_every_kind():
    first = factory_diff.mutants(bases(), 60, seed=5)
    again = factory_diff.mutants(bases(), 60, seed=5)
    other = factory_diff.mutants(bases(), 60, seed=6)
    assert [m.data for m in first] == [m.data for m in again] != [m.data for m in other]
    assert len({m.data for m in first}) == 60
    assert {m.kind for m in first} == set(factory_diff.KINDS)
    for mutant in first:
        ET.fromstring(mutant.data)  # well-formed: the judges disagree on structure, not on syntax
        assert mutant.data not in bases().values()
