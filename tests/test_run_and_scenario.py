"""``psa_scripts.scripts.run`` as the engine calls it, and a whole lifecycle as one scenario."""

import io

import pytest

from psa_scripts import names
from psa_scripts.errors import InputError
from psa_scripts.scripts import SCRIPTS, run
from psa_scripts.testing import FakeRmApi, FakeSchedulerApi, FakeSynchronizationApi, JavaArray, JavaMap
from psa_scripts.testing.doubles import ContainerState, FakeEngine
from psa_scripts.testing.emulator import ProActiveEmulator
from psa_scripts.testing.harness import State
from psa_scripts.testing.scenarios import Scenario, ScenarioError

from samples import NAME, instance_json, service_variables

LIFECYCLE = ["Pre_Start_Service", "Post_Start_Service", "Clean_Start_Service", "Check_Instance_Status",
             "Fetch_Logs", "Pre_Trigger_Action", "Post_Trigger_Action", "Clean_Trigger_Action"]


def test_the_registry_lists_each_script_with_its_kind():
    kinds = {name: SCRIPTS[name].kind for name in LIFECYCLE}
    assert kinds == {
        "Pre_Start_Service": "Script/pre", "Post_Start_Service": "Script/post",
        "Clean_Start_Service": "Script/clean", "Check_Instance_Status": "Script/task",
        "Fetch_Logs": "Script/flow", "Pre_Trigger_Action": "Script/task",
        "Post_Trigger_Action": "Script/post", "Clean_Trigger_Action": "Script/clean",
    }
    for info in SCRIPTS.values():
        assert callable(info.load().main)


def test_unknown_script_is_named():
    with pytest.raises(InputError, match="no catalog script named 'Start_Service'; known: Pre_Start_Service"):
        run("Start_Service", {})


def _bindings(mapping, array, emulator, session, workdir, args=()):
    scheduler = FakeSchedulerApi(session)
    variables = mapping(service_variables(**{
        names.PA_CLOUD_AUTOMATION_REST_URL: emulator.psa_url,
        names.PA_CLOUD_AUTOMATION_REST_PUBLIC_URL: emulator.psa_url,
    }))
    bindings = {"variables": variables, "genericInformation": mapping({}), "schedulerapi": scheduler,
                "rmapi": FakeRmApi(), "synchronizationapi": FakeSynchronizationApi(), "localspace": str(workdir)}
    if args:
        bindings["args"] = array(args)
    return bindings


@pytest.mark.parametrize("mapping, array", [(dict, list), (JavaMap, JavaArray)], ids=["plain", "py4j-like"])
def test_all_eight_scripts_run_through_run(tmp_path, mapping, array):
    """The lifecycle with raw bindings, as module globals would hold them: each script reads what it needs."""
    (tmp_path / f"{NAME}_port").write_text("8080")
    (tmp_path / f"{NAME}_containerID").write_text("c0ffee")
    (tmp_path / f"{NAME}_status").write_text(NAME)
    engine = FakeEngine({NAME: ContainerState(logs=["hello"])})
    with ProActiveEmulator() as emulator:
        session = emulator.new_session()
        emulator.add_instance(instance_json())
        shared = _bindings(mapping, array, emulator, session, tmp_path)
        out = io.StringIO()
        for name, args in [("Pre_Start_Service", ()), ("Post_Start_Service", ()), ("Clean_Start_Service", ()),
                           ("Check_Instance_Status", ()), ("Fetch_Logs", ()), ("Pre_Trigger_Action", ("PAUSE_LAUNCHED",)),
                           ("Post_Trigger_Action", ("PAUSED",)), ("Clean_Trigger_Action", ())]:
            bindings = dict(shared)
            if args:
                bindings["args"] = array(args)
            run(name, bindings, engine=engine, out=out)
            if name == "Fetch_Logs":
                assert bindings["loop"] == "*/1 * * * *"
            else:
                assert "loop" not in bindings
        assert emulator.instance(7)["instance_status"] == "PAUSED"
        assert "hello" in out.getvalue()
        assert shared["synchronizationapi"].channels["Service_Instance_7"]["PAUSE_LAUNCHED"] is True


def test_a_whole_lifecycle_as_one_scenario(harness):
    """deploy → post → check ×2 → finish trigger → post trigger → clean → the loop sees FINISHED."""
    scenario = Scenario(harness, State(variables=service_variables(CREDENTIALS_KEY="coco-creds"),
                                       instance=instance_json(), credentials={"coco-creds": "s3cret-password"}))
    deployed = scenario.deploy(files={f"{NAME}_port": "32768", f"{NAME}_containerID": "c1"},
                               containers={NAME: ContainerState(logs=["ready"])})
    assert [o.script for o in deployed] == ["Pre_Start_Service", "Post_Start_Service", "Clean_Start_Service"]
    first = scenario.check()
    scenario.state.containers[NAME].logs.append("request 1")
    second = scenario.check()
    assert [first.of("Check_Instance_Status").output, second.of("Check_Instance_Status").output] == [
        "ready\n", "request 1\n"]
    finished = scenario.action("finish", executable=None)  # the service's own executable removed it
    assert [o.script for o in finished] == ["Pre_Trigger_Action", "Post_Trigger_Action", "Clean_Trigger_Action"]
    assert scenario.state.credentials == {} and scenario.state.node_tokens  # the status loop still holds the node
    last = scenario.check(times=5)
    assert [o.script for o in last] == ["Check_Instance_Status", "Fetch_Logs"]  # the loop ends at once

    assert scenario.status_history == ["RUNNING", "FINISHED"]
    assert last[-1].writeback == {"loop": False}
    state = scenario.state
    assert state.instance["instance_status"] == "FINISHED" and len(state.instance["deployments"]) == 1
    assert state.node_tokens == {} and state.channels == {}
    for outcome in scenario.outcomes:
        for secret in (harness.session_id, "s3cret-password"):
            assert secret not in outcome.output
            assert all(secret not in repr(call.args) for call in outcome.calls)


def test_a_failing_step_stops_the_scenario_with_the_script_and_its_error(harness):
    scenario = Scenario(harness, State(variables=service_variables(), instance=instance_json()))
    with pytest.raises(ScenarioError, match="Post_Start_Service failed: ServiceError: the container coco-annotator-42 did not start"):
        scenario.deploy()  # nothing started the service: no container id file
    assert [o.script for o in scenario.outcomes] == ["Pre_Start_Service", "Post_Start_Service", "Clean_Start_Service"]
    assert scenario.status_history == ["ERROR"]  # the clean script still ran
    failed = Scenario(harness, State(variables=service_variables(), instance=instance_json())).deploy(expect_error=True)
    assert not failed.ok and "_containerID is missing" in str(failed.error)


SIDE_EFFECT_CALLS = {"registerService", "detachService", "putThirdPartyCredential", "removeThirdPartyCredential",
                     "addNodeToken", "removeNodeToken", "createChannelIfAbsent", "put", "deleteChannel", "remove"}


_SCRIPTS_WITH_AN_INSTANCE = [
    ("Post_Start_Service", ()), ("Clean_Start_Service", ()), ("Check_Instance_Status", ()),
    ("Pre_Trigger_Action", ("FINISH_LAUNCHED",)), ("Post_Trigger_Action", ("FINISHED",)), ("Clean_Trigger_Action", ()),
]
_MALFORMED = [
    (script, args, "PCA_INSTANCE_ID", value, message)
    for script, args in _SCRIPTS_WITH_AN_INSTANCE
    for value, message in (("seven", "PCA_INSTANCE_ID must be a whole number, got 'seven'"),
                           ("", "PCA_INSTANCE_ID is not set"))
] + [
    ("Post_Start_Service", (), "PROXYFIED", "maybe", "PROXYFIED must be true or false, got 'maybe'"),
    ("Post_Start_Service", (), "HTTP_ENABLED", "sometimes", "HTTP_ENABLED must be true or false, got 'sometimes'"),
    ("Check_Instance_Status", (), "LOG_MAX_BYTES", "1MB", "LOG_MAX_BYTES must be a whole number, got '1MB'"),
]


@pytest.mark.parametrize("script, args, variable, value, message", _MALFORMED)
def test_malformed_input_fails_before_any_effect(harness, start_state, script, args, variable, value, message):
    state = start_state.with_variables(**{variable: value}).replace(
        args=args, channels={"Service_Instance_7": {"INSTANCE_NAME": NAME}},
        files={**start_state.files, f"{NAME}_status": NAME})
    outcome = harness.run(script, state)
    assert isinstance(outcome.error, InputError), (script, outcome.error)
    assert str(outcome.error).startswith(message)
    assert outcome.psa_requests == []
    assert [c for c in outcome.calls if c.method in SIDE_EFFECT_CALLS] == []
    assert outcome.variables_written == {}


def test_post_start_needs_the_node_host_when_psa_cannot_tell(harness, start_state):
    variables = dict(start_state.variables)
    del variables["PA_NODE_HOST"]
    outcome = harness.run("Post_Start_Service", start_state.replace(variables=variables))
    assert str(outcome.error).startswith("PA_NODE_HOST is not set: the scheduler sets it for every task")
    assert outcome.psa_writes == [] and outcome.state.node_tokens == {} and outcome.state.channels == {}


def test_the_harness_runs_share_one_connection_to_the_emulator(harness, start_state):
    """A script run opens no connection (nor a server thread) of its own: the harness keeps one alive."""
    for _ in range(3):
        harness.run("Post_Start_Service", start_state).raise_error()
    assert len(harness.emulator.requests) == 12 and harness.emulator.connections == 1
