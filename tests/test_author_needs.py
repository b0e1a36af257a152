"""What an author's script needs, read from its source without running it (psa_scripts.author_needs):
the CONTRACT it declares and the library scripts it imports."""

from psa_scripts.author_needs import author_needs, called_scripts, declared_contract
from psa_scripts.scripts import SCRIPTS

SCRIPT_MODULES = {info.module: name for name, info in SCRIPTS.items()}
CONTRACTS = {name: info.contract for name, info in SCRIPTS.items()}


def test_a_literal_contract_with_the_module_constants_and_names():
    contract = declared_contract(
        "from psa_scripts import names\n"
        "from psa_scripts.contract import Contract, Var, flag_set\n"
        "GREETING = 'GREETING'\n"
        "CONTRACT = Contract(reads=(Var(GREETING), Var(names.DOCKER_IMAGE), Var('OPTIONAL', required=False),\n"
        "                          Var('WHEN_FLAG', required_if=flag_set('FLAG'))), writes=('OUT',))\n")
    assert contract.needed({}) == ("GREETING", "DOCKER_IMAGE")
    assert contract.needed({"FLAG": "true"}) == ("GREETING", "DOCKER_IMAGE", "WHEN_FLAG")
    assert contract.writes == ("OUT",)


def test_a_condition_that_needs_running_code_makes_the_variable_not_required():
    contract = declared_contract("from psa_scripts.contract import Contract, Var\n"
                                 "CONTRACT = Contract(reads=(Var('X', required_if=lambda v, a: True), Var('Y')))\n")
    assert contract.needed({"anything": "1"}) == ("Y",)


def test_what_cannot_be_read_is_no_contract():
    assert declared_contract("CONTRACT = make_contract()\n") is None
    assert declared_contract("def main(ctx):\n    pass\n") is None
    assert declared_contract("CONTRACT = (\n") is None  # a syntax error


def test_the_last_assignment_is_the_contract():
    contract = declared_contract("from psa_scripts.contract import Contract, Var\n"
                                 "CONTRACT = Contract(reads=(Var('A'),))\nCONTRACT = Contract(reads=(Var('B'),))\n")
    assert contract.needed({}) == ("B",)


def test_a_contract_built_on_a_library_script_contract():
    by_module = {module: CONTRACTS[name] for module, name in SCRIPT_MODULES.items()}
    contract = declared_contract(
        "from psa_scripts.scripts import start_docker_service as start\n"
        "from psa_scripts.contract import Contract, Var\n"
        "CONTRACT = Contract(reads=start.CONTRACT.reads + (Var('GREETING'),))\n", by_module)
    assert contract.needed({}) == CONTRACTS["Start_Docker_Service"].needed({}) + ("GREETING",)


def test_the_library_scripts_a_module_imports():
    source = ("import psa_scripts.scripts.fetch_logs\n"
              "from psa_scripts.scripts import start_docker_service, run\n"
              "def main(ctx):\n"
              "    from psa_scripts.scripts.post_start_service import main as post\n")
    assert called_scripts(source, SCRIPT_MODULES) == ("Fetch_Logs", "Start_Docker_Service", "Post_Start_Service")


def test_the_calls_of_a_helper_module_of_the_author_count(tmp_path):
    package = tmp_path / "mine"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helper.py").write_text("from psa_scripts.scripts import start_docker_service\n")
    (package / "start.py").write_text("from mine import helper\n\ndef main(ctx):\n    helper.start_docker_service.main(ctx)\n")
    needs = author_needs("mine.start", [tmp_path], SCRIPT_MODULES, CONTRACTS)
    assert needs.contract is None and needs.calls == ("Start_Docker_Service",)
    assert author_needs("mine.nowhere", [tmp_path], SCRIPT_MODULES).calls == ()


def test_module_imports_an_annotation_and_qualified_constructors():
    contract = declared_contract("import psa_scripts.contract as c\nimport psa_scripts.names as n\n"
                                 "CONTRACT: c.Contract = c.Contract(reads=(c.Var(n.DOCKER_IMAGE), c.Var('B')))\n")
    assert contract.needed({}) == ("DOCKER_IMAGE", "B")


def test_keywords_that_cannot_be_read_give_no_contract():
    assert declared_contract("from psa_scripts.contract import Contract\nCONTRACT = Contract(**OPTIONS)\n") is None
    assert declared_contract("from psa_scripts.contract import Contract\nCONTRACT = Contract(reads=READS)\n") is None
    assert declared_contract("from psa_scripts.contract import Contract, Var\n"
                             "CONTRACT = Contract(reads=(Var('A'),), writes=unknown())\n") is None


def test_an_author_module_whose_contract_builds_on_the_script_it_calls(tmp_path):
    (tmp_path / "start.py").write_text(
        "from psa_scripts.scripts import start_docker_service\nfrom psa_scripts.contract import Contract, Var\n"
        "CONTRACT = Contract(reads=start_docker_service.CONTRACT.reads + (Var('GREETING'),))\n")
    needs = author_needs("start", [tmp_path], SCRIPT_MODULES, CONTRACTS)
    assert needs.calls == ("Start_Docker_Service",)
    assert needs.contract.needed({}) == CONTRACTS["Start_Docker_Service"].needed({}) + ("GREETING",)
    assert author_needs("start", [tmp_path], SCRIPT_MODULES).contract is None  # no library contracts to build on
