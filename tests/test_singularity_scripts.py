"""The Singularity engine and scripts, against a recording stand-in ``singularity`` executable.

Check_Instance_Status_Singularity, Finish/Pause/Resume_Singularity_Service and the ENGINE=singularity
path of Check_Instance_Status: what they run (argv), what they decide, what they write.
"""

import json

import pytest

from psa_scripts.containers.singularity import SingularityEngine
from psa_scripts.context import ScriptContext
from psa_scripts.errors import EngineError, InputError, RestError, ServiceError
from psa_scripts.testing.harness import Harness, State

from samples import NAME, instance_json, service_variables
from singularity_stand_in import StandIn

NODE = "pnp://node-1.example:64738/node-1"
CHANNEL = "Service_Instance_7"
LIST = ["instance", "list", "--json", NAME]
STOP = ["instance", "stop", NAME]


@pytest.fixture
def singularity(tmp_path):
    return StandIn(tmp_path / "bin", instances=[NAME])


@pytest.fixture
def harness(tmp_path, singularity):
    """The harness with the real SingularityEngine on the stand-in (not the in-memory engine)."""
    workdir = tmp_path / "localspace"
    workdir.mkdir()
    with Harness(workdir=str(workdir), engine=SingularityEngine(str(singularity.path))) as running:
        yield running


def status_state(status="RUNNING", **changes):
    state = State(variables=service_variables(), instance=instance_json(status),
                  channels={CHANNEL: {"INSTANCE_NAME": NAME, "RUNNING_STATE": 1}},
                  node_tokens={NODE: frozenset({f"PSA_{NAME}"})})
    return state.replace(**changes)


def action_state(**variables):
    return State(variables={"INSTANCE_NAME": NAME, **variables})


# --- the engine ----------------------------------------------------------------------------------------

def test_running_means_listed_under_exactly_that_name(singularity):
    engine = SingularityEngine(str(singularity.path))
    assert engine.is_running(NAME)
    singularity.set(instances=[NAME + "0", "x" + NAME])  # the Groovy `grep` took these for it
    assert not engine.is_running(NAME)
    # Even should the engine list more than the exact name (its argument is a glob pattern):
    singularity.set(list_output=json.dumps({"instances": [{"instance": NAME + "0", "pid": 1}]}))
    assert not engine.is_running(NAME)
    assert singularity.argv == [LIST, LIST, LIST]


def test_listing_output_that_is_not_the_json_is_an_engine_error(singularity):
    singularity.set(instances=[], list_output="INSTANCE NAME    PID")
    with pytest.raises(EngineError, match=r"printed what is not the expected \{\"instances\""):
        SingularityEngine(str(singularity.path)).is_running(NAME)


def test_listing_output_that_is_not_the_json_is_quoted_in_the_error(singularity):
    singularity.set(list_output="x" * 300)
    with pytest.raises(EngineError) as raised:
        SingularityEngine(str(singularity.path)).is_running(NAME)
    assert str(raised.value) == (
        f"`{singularity.path} instance list --json {NAME}` printed what is not the expected "
        '{"instances": [{"instance": ...}]} JSON (Expecting value: char 0): ' + repr("x" * 200))


def test_an_empty_listing_lists_no_instance(singularity):
    singularity.set(instances=[NAME], list_output="")  # printed: a newline only
    assert not SingularityEngine(str(singularity.path)).is_running(NAME)


def test_a_failing_listing_is_an_engine_error_with_its_words(singularity):
    singularity.set(instances=[NAME], list_error="could not open the instance directory")
    with pytest.raises(EngineError) as raised:
        SingularityEngine(str(singularity.path)).is_running(NAME)
    assert str(raised.value) == (f"singularity instance list --json {NAME} failed (exit 255): "
                                 "FATAL:   could not open the instance directory")


def test_a_failing_stop_quotes_stdout_when_stderr_is_silent_else_says_no_output(singularity):
    engine = SingularityEngine(str(singularity.path))
    singularity.set(instances=[NAME], stop_output="  stopping refused \n")
    with pytest.raises(EngineError) as raised:
        engine.remove(NAME)
    assert str(raised.value) == f"singularity instance stop {NAME} failed (exit 3): stopping refused"
    singularity.set(instances=[NAME], stop_output="")
    with pytest.raises(EngineError) as raised:
        engine.remove(NAME)
    assert str(raised.value) == f"singularity instance stop {NAME} failed (exit 3): no output"


def test_a_command_that_cannot_be_run_is_an_engine_error(singularity):
    singularity.path.chmod(0o644)  # found when the engine was made, no longer executable
    with pytest.raises(EngineError) as raised:
        SingularityEngine(str(singularity.path)).is_running(NAME)
    assert str(raised.value) == f"cannot run {singularity.path}: [Errno 13] Permission denied: '{singularity.path}'"


def test_a_command_that_hangs_is_stopped_at_its_timeout(singularity):
    singularity.set(instances=[NAME], hang=30)
    engine = SingularityEngine(str(singularity.path), list_timeout=0.5)
    with pytest.raises(EngineError, match=rf"`{singularity.path} instance list --json {NAME}` did not finish within 0.5 s"):
        engine.is_running(NAME)


def test_an_instance_has_no_log_lines_and_the_cursor_stays(singularity):
    from psa_scripts.containers.logbatch import LogBatch

    batch = SingularityEngine(str(singularity.path)).read_logs(NAME, "cursor-7", max_lines=10, max_bytes=100)
    assert batch == LogBatch([], "cursor-7", 0) and singularity.argv == []


def test_a_name_that_is_no_container_name_never_reaches_the_command(singularity):
    with pytest.raises(InputError, match="is not a valid container name"):
        SingularityEngine(str(singularity.path)).is_running("web*")
    assert singularity.argv == []


def test_the_command_is_singularity_binary_else_singularity_on_path(singularity, tmp_path):
    assert SingularityEngine.from_settings({"PATH": singularity.env_path()}).binary == str(singularity.path)
    named = SingularityEngine.from_settings({"PATH": "/nonexistent", "SINGULARITY_BINARY": str(singularity.path)})
    assert named.binary == str(singularity.path)
    with pytest.raises(EngineError) as missing:
        SingularityEngine.from_settings({"PATH": str(tmp_path / "empty")})
    assert str(missing.value) == ("the Singularity command 'singularity' is not found on PATH: install Singularity "
                                  "(or Apptainer) on the node, or set SINGULARITY_BINARY in the environment of the "
                                  "node's agent to its path")
    with pytest.raises(EngineError, match="'/opt/none/singularity' is not an executable file"):
        SingularityEngine.from_settings({"SINGULARITY_BINARY": "/opt/none/singularity"})


def test_without_path_the_default_search_path_is_searched_and_a_directory_is_no_command(singularity, tmp_path):
    assert SingularityEngine.from_settings({"SINGULARITY_BINARY": "sh"}).binary in ("/bin/sh", "/usr/bin/sh")
    shadow = tmp_path / "shadow"
    (shadow / "singularity").mkdir(parents=True)  # a directory of that name, executable bit and all
    found = SingularityEngine.from_settings({"PATH": f"{shadow}:{singularity.directory}"})
    assert found.binary == str(singularity.path)


def test_a_relative_path_entry_is_not_searched(singularity, tmp_path, monkeypatch):
    """The working directory is the localspace, where files of user dataspaces land."""
    monkeypatch.chdir(singularity.directory)
    assert SingularityEngine.from_settings({"PATH": f"bin:.:{singularity.directory}"}).binary == str(singularity.path)
    with pytest.raises(EngineError, match="is not found on PATH"):
        SingularityEngine.from_settings({"PATH": ".:bin:"})


@pytest.mark.parametrize("script", ["Finish_Singularity_Service", "Pause_Singularity_Service",
                                    "Resume_Singularity_Service"])
def test_singularity_binary_as_a_workflow_variable_is_refused_before_anything_runs(singularity, tmp_path,
                                                                                   monkeypatch, script):
    from psa_scripts.scripts import run

    monkeypatch.setenv("PATH", singularity.env_path())
    bindings = {"variables": {**service_variables(), "INSTANCE_NAME": NAME, "SINGULARITY_BINARY": "sh"},
                "localspace": str(tmp_path)}
    with pytest.raises(InputError) as refused:
        run(script, bindings)
    assert str(refused.value) == (
        "SINGULARITY_BINARY is set as a workflow variable: it names a program to run on the node, so it is read "
        "from the node's environment only; remove the variable (and set SINGULARITY_BINARY in the environment "
        "of the node's agent if singularity is not on its PATH)")
    assert singularity.argv == [] and not (tmp_path / f"{NAME}_status").exists()


@pytest.mark.parametrize("variables", [{"ENGINE": "singularity"}, {}])
def test_the_status_scripts_refuse_singularity_binary_as_a_workflow_variable(singularity, variables):
    """Check_Instance_Status (ENGINE=singularity) takes ``ctx.engine``, the *_Singularity scripts ``ctx.singularity``."""
    context = ScriptContext({"variables": {**variables, "SINGULARITY_BINARY": str(singularity.path)}},
                            environ={"PATH": singularity.env_path()})
    with pytest.raises(InputError, match="^SINGULARITY_BINARY is set as a workflow variable"):
        context.engine if variables else context.singularity


def test_the_context_engine_follows_engine(singularity):
    environ = {"PATH": "/nonexistent", "SINGULARITY_BINARY": str(singularity.path)}
    engine = ScriptContext({"variables": {"ENGINE": "Singularity"}}, environ=environ).engine
    assert isinstance(engine, SingularityEngine) and engine.binary == str(singularity.path)
    with pytest.raises(InputError, match="ENGINE must be one of docker, singularity, got 'lxc'"):
        ScriptContext({"variables": {"ENGINE": "lxc"}}).engine


# --- Check_Instance_Status_Singularity -----------------------------------------------------------------------

def test_check_a_running_instance_changes_nothing(harness, singularity):
    outcome = harness.run("Check_Instance_Status_Singularity", status_state()).raise_error()
    assert outcome.psa_writes == [] and outcome.variables_written == {} and outcome.output == ""
    assert singularity.argv == [LIST]


def test_check_an_instance_that_ended_is_an_error(harness, singularity):
    singularity.set(instances=[NAME + "-other"])
    outcome = harness.run("Check_Instance_Status_Singularity", status_state())
    assert isinstance(outcome.error, ServiceError)
    assert str(outcome.error) == (f"container {NAME} is not running and no finish or pause was launched: "
                                  "service instance 7 set to ERROR")
    assert outcome.status_history == ["ERROR"]
    assert outcome.variables_written == {"IS_FINISHED": "true"}
    assert outcome.state.channels[CHANNEL]["RUNNING_STATE"] == 2


@pytest.mark.parametrize("keys, status", [
    ({"FINISH_LAUNCHED": True, "ACTION_JOB_ID": "50"}, "RUNNING"),  # the finish job still runs
    ({"PAUSE_LAUNCHED": True}, "PAUSED"),  # a completed pause
])
def test_check_an_ended_instance_is_fine_while_an_action_explains_it(harness, singularity, keys, status):
    singularity.set(instances=[])
    outcome = harness.run("Check_Instance_Status_Singularity", status_state(status, channels={CHANNEL: keys}))
    assert outcome.raise_error().psa_writes == []


def test_check_finished_releases_everything_without_asking_singularity(harness, singularity):
    outcome = harness.run("Check_Instance_Status_Singularity", status_state("FINISHED")).raise_error()
    assert outcome.variables_written == {"IS_FINISHED": "true"}
    assert outcome.state.channels == {} and outcome.state.node_tokens == {}
    assert singularity.argv == []


def test_check_a_failing_singularity_fails_the_check_without_changes(harness, singularity):
    singularity.set(instances=[NAME], list_output="garbage")
    outcome = harness.run("Check_Instance_Status_Singularity", status_state())
    assert isinstance(outcome.error, EngineError)
    assert outcome.psa_writes == [] and outcome.variables_written == {}


@pytest.mark.parametrize("missing", ["PCA_INSTANCE_ID", "INSTANCE_NAME", "PA_JOB_ID", "PA_NODE_URL"])
def test_check_missing_variable_changes_nothing(harness, singularity, missing):
    variables = service_variables()
    del variables[missing]
    outcome = harness.run("Check_Instance_Status_Singularity", status_state(variables=variables))
    assert isinstance(outcome.error, InputError) and str(outcome.error).startswith(f"{missing} is not set")
    assert outcome.psa_requests == [] and singularity.argv == []


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_check_rest_failures(harness, singularity, method):
    singularity.set(instances=[])
    harness.emulator.fail(method, r"/serviceInstances/7$", 500)
    outcome = harness.run("Check_Instance_Status_Singularity", status_state())
    assert isinstance(outcome.error, RestError) and outcome.error.status == 500
    assert "IS_FINISHED" not in outcome.variables_written
    assert singularity.argv == ([] if method == "GET" else [LIST])


# --- the actions ------------------------------------------------------------------------------------------------

def test_finish_stops_the_instance(harness, singularity):
    outcome = harness.run("Finish_Singularity_Service", action_state()).raise_error()
    assert outcome.state.files == {f"{NAME}_status": NAME}
    assert singularity.argv == [STOP] and singularity.instances == []  # no listing first: one command


def test_finish_an_instance_already_gone(harness, singularity):
    singularity.set(instances=[])
    outcome = harness.run("Finish_Singularity_Service", action_state()).raise_error()
    assert outcome.state.files == {f"{NAME}_status": f"Error: No such container: {NAME}"}
    assert singularity.argv == [STOP, LIST]  # the stop failed: the listing says it was gone


def test_finish_a_failing_stop_writes_the_command_error(harness, singularity):
    singularity.set(instances=[NAME], stop_error="permission denied")
    outcome = harness.run("Finish_Singularity_Service", action_state()).raise_error()
    assert outcome.state.files == {
        f"{NAME}_status": f"singularity instance stop {NAME} failed (exit 255): FATAL:   permission denied"}
    assert singularity.argv == [STOP, LIST] and singularity.instances == [NAME]
    then = harness.run("Post_Trigger_Action", State(variables={"PCA_INSTANCE_ID": "7", "INSTANCE_NAME": NAME},
                                                    args=("FINISHED",), instance=instance_json("RUNNING"),
                                                    files=outcome.state.files))
    assert isinstance(then.error, ServiceError) and then.status_history == ["ERROR"]


def test_finish_without_singularity_writes_why(tmp_path, monkeypatch):
    from psa_scripts.scripts import run

    # No injected engine: the script looks for the command the node's SINGULARITY_BINARY names.
    monkeypatch.setenv("SINGULARITY_BINARY", str(tmp_path / "none"))
    run("Finish_Singularity_Service", {"variables": {"INSTANCE_NAME": NAME}, "localspace": str(tmp_path)})
    assert (tmp_path / f"{NAME}_status").read_text().startswith(
        f"the Singularity command '{tmp_path / 'none'}' is not an executable file")


def test_pause_keeps_the_instance_running_and_says_so(harness, singularity):
    outcome = harness.run("Pause_Singularity_Service", action_state()).raise_error()
    assert outcome.state.files == {f"{NAME}_status": NAME}
    assert f"WARNING: Singularity cannot pause an instance: {NAME} keeps running" in outcome.output
    assert singularity.argv == [LIST] and singularity.instances == [NAME]


def test_pause_an_instance_already_gone(harness, singularity):
    singularity.set(instances=[])
    outcome = harness.run("Pause_Singularity_Service", action_state()).raise_error()
    assert outcome.state.files == {f"{NAME}_status": f"Error: No such container: {NAME}"}


def test_resume_a_running_instance(harness, singularity):
    outcome = harness.run("Resume_Singularity_Service", action_state()).raise_error()
    assert outcome.state.files == {f"{NAME}_status": NAME}


def test_resume_an_ended_instance_fails_the_action(harness, singularity):
    singularity.set(instances=[])
    outcome = harness.run("Resume_Singularity_Service", action_state()).raise_error()
    assert outcome.state.files == {f"{NAME}_status": f"Singularity instance {NAME} is not running and Singularity "
                                                     "cannot restart it: run the service's deployment again"}


@pytest.mark.parametrize("script", ["Finish_Singularity_Service", "Pause_Singularity_Service",
                                    "Resume_Singularity_Service"])
@pytest.mark.parametrize("name", [None, "web;reboot", "-rf"])
def test_action_bad_instance_name_runs_nothing(harness, singularity, script, name):
    outcome = harness.run(script, State(variables={} if name is None else {"INSTANCE_NAME": name}))
    assert isinstance(outcome.error, InputError)
    assert outcome.state.files == {} and singularity.argv == []
