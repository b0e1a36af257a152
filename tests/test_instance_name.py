"""INSTANCE_NAME names files, tokens and containers: every script refuses a bad one before any effect."""

import pytest

from psa_scripts.errors import InputError
from psa_scripts.names import check_instance_name
from psa_scripts.testing.harness import State

from samples import instance_json, service_variables

BAD = ["../escape", "a;rm -rf /", "two words", "$(id)", "-starts-with-dash", "", "x" * 201, "café"]


@pytest.mark.parametrize("good", ["coco-annotator-42", "A", "svc_1.2-b", "x" * 200])
def test_good_names(good):
    assert check_instance_name(good) == good


@pytest.mark.parametrize("bad", BAD)
def test_bad_names_are_explained(bad):
    with pytest.raises(InputError, match=r"INSTANCE_NAME .* is not a valid container name: it must match "
                                         r"\[a-zA-Z0-9\]\[a-zA-Z0-9_\.-\]\*"):
        check_instance_name(bad)


@pytest.mark.parametrize("script, args", [
    ("Post_Start_Service", ()), ("Check_Instance_Status", ()), ("Post_Trigger_Action", ("FINISHED",)),
    ("Clean_Trigger_Action", ()), ("Start_Docker_Service", ()), ("Finish_Docker_Service", ()),
])
@pytest.mark.parametrize("bad", ["../escape", "a;b", "$(id)"])
def test_scripts_refuse_a_bad_name_before_any_effect(harness, script, args, bad):
    state = State(variables=service_variables(INSTANCE_NAME=bad, DOCKER_IMAGE="img"), args=args,
                  instance=instance_json("RUNNING"), files={f"{bad}_status": bad} if "/" not in bad else {},
                  channels={"Service_Instance_7": {"INSTANCE_NAME": "ok"}})
    outcome = harness.run(script, state)
    assert isinstance(outcome.error, InputError), outcome.error
    assert "is not a valid container name" in str(outcome.error)
    assert outcome.psa_writes == [] and outcome.calls_to("rmapi") == [] and outcome.calls_to("engine") == []
    assert outcome.state.channels == {"Service_Instance_7": {"INSTANCE_NAME": "ok"}}


def test_pre_trigger_refuses_a_bad_name_from_the_channel(harness):
    state = State(variables={"PCA_INSTANCE_ID": "7", "PA_JOB_ID": "60"}, args=("FINISH_LAUNCHED",),
                  channels={"Service_Instance_7": {"INSTANCE_NAME": "x; reboot"}})
    outcome = harness.run("Pre_Trigger_Action", state)
    assert "is not a valid container name" in str(outcome.error)
    assert outcome.variables_written == {} and "FINISH_LAUNCHED" not in outcome.state.channels["Service_Instance_7"]
