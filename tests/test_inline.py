"""What psa validate and psa migrate read of a workflow's own inline scripts (workflow/inline.py)."""

from types import SimpleNamespace

from psa_scripts.workflow.inline import reads_variable, writes_variable, written_variables


def script(code):
    return SimpleNamespace(code=code)  # the one field inline.py reads of a ScriptRef


def test_written_variables_are_the_puts_and_item_assignments_not_the_comparisons():
    code = '''variables.put("PROXYFIED_URL", url)
variables.put( 'A.b-1' , 2)
variables["IS_FINISHED"] = True
if variables["READ_ONLY"] == "x": pass
print(variables.get("GOT"))'''
    assert written_variables(script(code)) == {"PROXYFIED_URL", "A.b-1", "IS_FINISHED"}
    assert writes_variable(script(code), "IS_FINISHED") and not writes_variable(script(code), "READ_ONLY")
    assert reads_variable(script(code), "GOT") and not reads_variable(script(code), "NOWHERE")


def test_a_script_without_code_writes_and_reads_nothing():
    assert written_variables(None) == set() and written_variables(script(None)) == set()
    assert not writes_variable(None, "X") and not reads_variable(script(None), "X")
