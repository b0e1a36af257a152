"""README's generated tables say what the code says (psa_scripts.reference)."""

import pathlib

import pytest

from psa_scripts import reference

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def test_readme_tables_match_the_contracts_and_imports():
    text = README.read_text(encoding="utf-8")
    assert reference.refresh(text) == text, (
        "README's generated sections are stale: run python -m psa_scripts.reference --write README.md")


def test_the_tables_come_from_the_contracts():
    table = reference.variables_table()
    assert "| `DOCKER_IMAGE` | Start_Docker_Service | - | - |" in table.splitlines()
    assert "| Fetch_Logs | none (standard library only) |" in reference.packages_table().splitlines()


def test_refresh_needs_each_section_once():
    with pytest.raises(ValueError, match="exactly one generated 'variables' section, found 0"):
        reference.refresh("no markers here")
