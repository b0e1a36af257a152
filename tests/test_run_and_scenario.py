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
    state = State(variables=service_variables(CREDENTIALS_KEY="coco-creds"), instance=instance_json(),
                  credentials={"coco-creds": "s3cret-password"})
    steps = []

    def step(script, state, **changes):
        outcome = harness.run(script, state.replace(**changes) if changes else state)
        steps.append(outcome)
        assert outcome.ok, f"{script}: {outcome.error}"
        return outcome.state

    state = step("Pre_Start_Service", state)
    state = step("Post_Start_Service", state, files={f"{NAME}_port": "32768", f"{NAME}_containerID": "c1"},
                 containers={NAME: ContainerState(logs=["ready"])})
    state = step("Clean_Start_Service", state)
    state = step("Check_Instance_Status", state)
    state.containers[NAME].logs.append("request 1")
    state = step("Check_Instance_Status", state)
    state = step("Fetch_Logs", state)
    state = step("Pre_Trigger_Action", state, args=("FINISH_LAUNCHED",), variables={
        k: v for k, v in state.variables.items() if k not in ("INSTANCE_NAME", "CREDENTIALS_KEY")})
    assert state.variables["CREDENTIALS_KEY"] == "coco-creds"
    state = step("Post_Trigger_Action", state, args=("FINISHED",), files={f"{NAME}_status": NAME}, containers={})
    state = step("Clean_Trigger_Action", state, args=())
    assert state.credentials == {} and state.node_tokens  # the status loop still holds the node
    state = step("Check_Instance_Status", state)
    final = harness.run("Fetch_Logs", state)

    assert [o.status_history for o in steps] == [[], ["RUNNING"], [], [], [], [], [], ["FINISHED"], [], []]
    assert [o.output.splitlines()[0] for o in steps if o.script == "Check_Instance_Status"][:2] == ["ready", "request 1"]
    assert final.writeback == {"loop": False}
    assert state.instance["instance_status"] == "FINISHED" and len(state.instance["deployments"]) == 1
    assert state.node_tokens == {} and state.channels == {}
    for outcome in steps + [final]:
        for secret in (harness.session_id, "s3cret-password"):
            assert secret not in outcome.output
            assert all(secret not in repr(call.args) for call in outcome.calls)


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
