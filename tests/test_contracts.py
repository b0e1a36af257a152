"""Each catalog script's CONTRACT is the one source of what it reads and writes."""

import ast
import importlib

import pytest

from psa_scripts import bundler, names
from psa_scripts.contract import PROVIDED, Arg, Contract, Var, flag_set
from psa_scripts.scripts import SCRIPTS

ALL = sorted(SCRIPTS)


@pytest.mark.parametrize("name", ALL)
def test_every_script_declares_a_contract(name):
    module = importlib.import_module(SCRIPTS[name].module)
    assert isinstance(module.CONTRACT, Contract)
    assert SCRIPTS[name].contract is module.CONTRACT


@pytest.mark.parametrize("name", ALL)
def test_the_docstring_names_every_variable_of_the_contract(name):
    module = importlib.import_module(SCRIPTS[name].module)
    doc = ast.get_docstring(ast.parse(open(module.__file__, encoding="utf-8").read()))
    missing = [variable for variable in module.CONTRACT.variable_names() if variable not in doc]
    assert missing == [], f"{name}'s docstring does not mention {missing}"


@pytest.mark.parametrize("name", ALL)
def test_the_bundled_header_carries_the_contract(name):
    text = bundler.render_script(SCRIPTS[name])
    header = text.split("\n\n\n", 1)[0]
    for line in SCRIPTS[name].contract.describe():
        assert "# " + line in header


def test_required_and_conditionally_required_variables():
    contract = Contract(reads=(
        Var("A"),
        Var("B", required=False),
        Var("C", required_if=flag_set("PROXYFIED"), when="when PROXYFIED is true"),
        Var("D", required_if=flag_set("HTTP_ENABLED", or_argument=True)),
    ))
    assert contract.required == ("A",)
    assert contract.needed({"PROXYFIED": "False"}) == ("A",)
    assert contract.needed({"PROXYFIED": "True"}) == ("A", "C")
    assert contract.needed({"PROXYFIED": True}) == ("A", "C")
    assert contract.needed({}, ("http",)) == ("A", "D")
    assert contract.needed({"HTTP_ENABLED": "yes"}) == ("A", "D")


def test_describe_lists_arguments_requirements_and_files():
    contract = Contract(
        reads=(Var("A"), Var("C", required_if=flag_set("P"), when="when P is true"), Var("B", required=False)),
        writes=("W",),
        args=(Arg("the status on success", ("FINISHED", "PAUSED")),),
        files_read=("<INSTANCE_NAME>_status",),
        on_node=True,
    )
    assert contract.describe() == (
        "Argument 1: the status on success (FINISHED | PAUSED)",
        "Requires: A, C (when P is true)",
        "Reads if set: B",
        "Writes variables: W",
        "Reads files: <INSTANCE_NAME>_status",
        "Acts on the service's node (NODE_ACCESS_TOKEN outside the deployment task).",
    )


def test_post_start_needs_an_endpoint_id_only_when_there_is_an_endpoint():
    contract = SCRIPTS["Post_Start_Service"].contract
    assert names.ENDPOINT_ID not in contract.needed({"HTTP_ENABLED": "False"})
    assert names.ENDPOINT_ID in contract.needed({"HTTP_ENABLED": "True"})
    assert names.ENDPOINT_ID in contract.needed({}, ("http",))


def test_platform_variables_are_provided():
    assert {names.PCA_INSTANCE_ID, names.PA_JOB_ID, names.PA_NODE_URL} <= PROVIDED
    assert names.INSTANCE_NAME not in PROVIDED


def test_declarations_are_immutable_values_like_the_frozen_dataclasses_they_replace():
    """Plain classes (no dataclasses import at every script run): equal by value, hashable,
    shown with their fields, and never changed after they are made."""
    check = flag_set("P")
    assert Var("A", required_if=check) == Var("A", required_if=check) != Var("A", required=False)
    assert Var("A") != Arg("A") and Var("A") != "A"
    assert len({Var("A"), Var("A"), Var("B")}) == 2 and hash(Arg("x", ("a",))) == hash(Arg("x", ("a",)))
    assert repr(Arg("the status", ("FINISHED",))) == "Arg(doc='the status', choices=('FINISHED',), required=True)"
    contract = Contract(reads=[Var("A")], writes=["B"])  # lists kept as tuples: hashable, unchanged
    assert contract.reads == (Var("A"),) and contract.writes == ("B",) and hash(contract) == hash(Contract(
        reads=(Var("A"),), writes=("B",)))
    for declaration, field in ((Var("A"), "required"), (Arg("x"), "doc"), (contract, "reads")):
        with pytest.raises(AttributeError, match="is immutable"):
            setattr(declaration, field, None)
        with pytest.raises(AttributeError, match="is immutable"):
            delattr(declaration, field)
    with pytest.raises(AttributeError):
        Var("A").extra = 1  # no new attribute either
