"""The docs' generated sections say what the code says (psa_scripts.reference): the scripts' tables
in docs/scripts.md, the rules in docs/validate.md."""

import pathlib

import pytest

from psa_scripts import reference

from psa_scripts.validate import RULES, explain

REPO = pathlib.Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("page", sorted(reference.PAGES))
def test_each_pages_generated_sections_match_the_code(page):
    text = (REPO / page).read_text(encoding="utf-8")
    assert reference.sections_in(text) == list(reference.PAGES[page])
    assert reference.refresh(text, reference.PAGES[page]) == text, (
        f"{page}'s generated sections are stale: run python -m psa_scripts.reference --write {page}")


def test_the_rules_page_lists_every_rule_with_its_explanation():
    text = (REPO / "docs" / "validate.md").read_text(encoding="utf-8")
    for code in RULES:
        title, paragraph = explain(code).split("\n\n", 1)
        assert f"### {title}\n\n{paragraph.strip()}\n" in text, code


def test_write_refreshes_the_sections_a_page_holds(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Rules\n\n" + reference.BEGIN.format(name="rules") + "\nold\n" + reference.END.format(name="rules") + "\n")
    assert reference.main(["--write", str(page)]) == 0
    assert "### PA100: XML not well formed" in page.read_text() and "\nold\n" not in page.read_text()


def test_write_refuses_a_page_without_a_generated_section(tmp_path, capsys):
    page = tmp_path / "page.md"
    page.write_text("no markers here")
    with pytest.raises(SystemExit) as exit:
        reference.main(["--write", str(page)])
    assert exit.value.code == 2 and f"{page}: holds no generated section" in capsys.readouterr().err


def test_the_tables_come_from_the_contracts():
    table = reference.variables_table()
    assert "| `DOCKER_IMAGE` | Start_Docker_Service | - | - |" in table.splitlines()
    assert "| Fetch_Logs | none (standard library only) |" in reference.packages_table().splitlines()


def test_refresh_needs_each_section_once():
    with pytest.raises(ValueError, match="the page must hold exactly one generated 'variables' section, found 0"):
        reference.refresh("no markers here")
