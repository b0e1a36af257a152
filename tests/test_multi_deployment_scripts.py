"""The multi-deployment scripts: Add_deployments_and_update_service, Update_service_and_remove_tokens,
Set_service_FINISHED_if_all_clean_OK, Loop_over_service_instance_status — success, bad arguments
(refused before any effect), REST failures."""

import json

import pytest

from psa_scripts.errors import InputError, PsaScriptError, RestError, ServiceError
from psa_scripts.testing.doubles import ContainerState
from psa_scripts.testing.harness import State

from samples import NAME, instance_json, service_variables

CHANNEL = "Service_Instance_7"
MASTER_NODE = "pnp://node-1.example:64738/node-1"
WORKER_NODE = "pnp://node-2.example:64738/node-2"
TOKEN = f"PSA_{NAME}"

MASTER = {"endpoint": {"id": "spark-42-master", "url": "http://node-1.example:8080",
                       "proxyfied_url": "https://psa.example/services/7/endpoints/spark-42-master/"},
          "node": {"name": "node-1", "host": "node-1.example", "node_source_name": "Default", "url": MASTER_NODE},
          "container": {"id": "c0ffee", "name": "spark-master-42"}}
WORKER = {"endpoint": {"id": "spark-42-0"},
          "node": {"name": "node-2", "host": "node-2.example", "node_source_name": "Default", "url": WORKER_NODE},
          "container": {"id": "beef01", "name": "spark-worker-42-0"}}
DEPLOYED = [
    {"node": MASTER["node"], "container": MASTER["container"],
     "endpoint": {"id": "spark-42-master", "url": "http://node-1.example:8080", "proxyfied": True,
                  "proxyfiedUrl": MASTER["endpoint"]["proxyfied_url"]}},
    {"node": WORKER["node"], "container": WORKER["container"],
     "endpoint": {"id": "spark-42-0", "url": None, "proxyfied": False, "proxyfiedUrl": None}},
]


def _nothing_done(outcome):
    assert outcome.psa_requests == []
    assert outcome.calls == []
    assert outcome.variables_written == {}


# --- Add_deployments_and_update_service --------------------------------------------------------------

def deployments_state(*deployments, **variables):
    values = {f"spark_deployment_json_{i}": json.dumps(d) for i, d in enumerate(deployments)}
    return State(variables=service_variables(**values, **variables), args=("spark_deployment_json_", str(len(deployments))),
                 instance=instance_json())


def test_add_deployments_records_each_and_runs(harness):
    outcome = harness.run("Add_deployments_and_update_service",
                          deployments_state(MASTER, WORKER, CREDENTIALS_KEY="spark-creds")).raise_error()
    assert outcome.status_history == ["RUNNING"]
    stored = outcome.state.instance
    assert stored["deployments"] == DEPLOYED
    assert stored["groups"] == ["users", "scheduleradmins", "rmcoreadmins"]
    assert stored["some_future_field"] == {"kept": True}
    assert [c.args for c in outcome.calls_to("schedulerapi", "registerService")] == [("42", 7, True)]
    assert outcome.state.channels == {CHANNEL: {"RUNNING_STATE": 1, "INSTANCE_NAME": NAME,
                                                "CREDENTIALS_KEY": "spark-creds"}}
    assert outcome.output.endswith("is RUNNING with 2 deployments: http://node-1.example:8080, spark-42-0\n")


def test_add_deployments_twice_appends_each_once(harness):
    first = harness.run("Add_deployments_and_update_service", deployments_state(MASTER, WORKER)).raise_error()
    again = harness.run("Add_deployments_and_update_service", first.state).raise_error()
    assert again.state.instance["deployments"] == DEPLOYED
    assert again.psa_writes == []  # nothing left to change


def test_add_deployments_without_proxy_adds_no_admin_group(harness):
    outcome = harness.run("Add_deployments_and_update_service", deployments_state(WORKER)).raise_error()
    assert outcome.state.instance["groups"] == ["users"]


def test_add_zero_deployments_marks_the_service_failed(harness):
    state = deployments_state(DEPLOY_ERROR_MESSAGE="spark master did not start")
    outcome = harness.run("Add_deployments_and_update_service", state).raise_error()
    assert outcome.status_history == ["ERROR"]
    assert outcome.state.instance["deployments"] == []
    assert [c.args for c in outcome.calls_to("schedulerapi", "registerService")] == [("42", 7, False)]
    assert outcome.state.channels == {CHANNEL: {"RUNNING_STATE": 2, "INSTANCE_NAME": NAME,
                                                "DEPLOY_ERROR_MESSAGE": "spark master did not start"}}
    assert outcome.output.splitlines()[-1] == (
        f"ERROR: service instance 7 ({NAME}) has no deployment: status ERROR: spark master did not start")


@pytest.mark.parametrize("change, message", [
    (dict(args=("spark_deployment_json_",)),
     "this script takes 2 arguments (the base name of the deployment variables, the number of deployments), got 1"),
    (dict(args=("spark_deployment_json_", "1", "extra")), "this script takes 2 arguments"),
    (dict(args=("spark_deployment_json_", "two")),
     "argument 2 (the number of deployments) must be a whole number >= 0, got 'two'"),
    (dict(args=("spark_deployment_json_", "-1")), "argument 2 (the number of deployments) must be a whole number"),
    # '²'.isdigit() is true and int() then raised a raw ValueError; int() read '\u0663' (Arabic-Indic) as 3
    (dict(args=("spark_deployment_json_", "\u00b2")),
     "argument 2 (the number of deployments) must be a whole number >= 0, got '\u00b2'"),
    (dict(args=("spark_deployment_json_", "\u0663")),
     "argument 2 (the number of deployments) must be a whole number >= 0, got '\u0663'"),
    (dict(args=(" ", "1")), "argument 1 (the base name of the deployment variables) is missing"),
    (dict(args=("spark_deployment_json_", "3")),
     "variable spark_deployment_json_2 is not set: the task of that deployment must put its JSON there"),
    (dict(variables={"spark_deployment_json_1": "{not json"}), "variable spark_deployment_json_1 is not valid JSON"),
    (dict(variables={"spark_deployment_json_1": "[1, 2]"}),
     "variable spark_deployment_json_1 must hold a JSON object, got list"),
    (dict(variables={"spark_deployment_json_1": json.dumps({"node": WORKER["node"]})}),
     'variable spark_deployment_json_1 has no endpoint id: every deployment needs {"endpoint": {"id": ...}}'),
    (dict(variables={"spark_deployment_json_1": json.dumps({"endpoint": {"url": "http://x:1"}})}),
     "variable spark_deployment_json_1 has no endpoint id"),
    (dict(variables={"spark_deployment_json_1": json.dumps({"endpoint": {"id": "w"}, "node": "node-2"})}),
     "variable spark_deployment_json_1: node must be a JSON object, got str"),
    (dict(variables={"spark_deployment_json_1": json.dumps({"endpoint": {"id": "w", "url": ["x"]}})}),
     "variable spark_deployment_json_1: endpoint.url must be a string, got ['x']"),
    (dict(variables={"PCA_INSTANCE_ID": None}), "PCA_INSTANCE_ID is not set"),
    (dict(variables={"PA_JOB_ID": None}), "PA_JOB_ID is not set"),
    (dict(variables={"INSTANCE_NAME": "spark; rm -rf /"}), "INSTANCE_NAME 'spark; rm -rf /' is not a valid container name"),
])
def test_add_deployments_bad_input_changes_nothing(harness, change, message):
    state = deployments_state(MASTER, WORKER)
    if "args" in change:
        state = state.replace(args=change["args"])
    for name, value in change.get("variables", {}).items():
        variables = dict(state.variables)
        variables[name] = value
        state = state.replace(variables={k: v for k, v in variables.items() if v is not None})
    outcome = harness.run("Add_deployments_and_update_service", state)
    assert isinstance(outcome.error, InputError)
    assert str(outcome.error).startswith(message)
    _nothing_done(outcome)


@pytest.mark.parametrize("method, path", [("GET", r"/serviceInstances/7$"), ("PUT", r"/serviceInstances/7$")])
def test_add_deployments_rest_failure_undoes_the_registration_and_the_channel(harness, method, path):
    harness.emulator.fail(method, path, 500)
    outcome = harness.run("Add_deployments_and_update_service", deployments_state(MASTER, WORKER))
    assert isinstance(outcome.error, RestError) and outcome.error.status == 500
    assert [c.args for c in outcome.calls_to("schedulerapi", "detachService")] == [("42", 7)]
    assert outcome.state.channels == {}
    assert outcome.state.instance["instance_status"] == "VOID -> RUNNING"


def test_add_deployments_zero_with_rest_failure_fails(harness):
    harness.emulator.fail("PUT", r"/serviceInstances/7$", 500)
    outcome = harness.run("Add_deployments_and_update_service", deployments_state())
    assert isinstance(outcome.error, RestError)
    assert outcome.calls_to("schedulerapi", "registerService") == [] and outcome.state.channels == {}


# --- Update_service_and_remove_tokens -------------------------------------------------------------------

def deployed_state(status="RUNNING", args=("FINISHED", TOKEN), finished_jobs=frozenset({"42"})):
    return State(variables={"PCA_INSTANCE_ID": "7"}, args=args, instance=instance_json(status, deployments=DEPLOYED),
                 finished_jobs=finished_jobs,
                 node_tokens={MASTER_NODE: frozenset({TOKEN}), WORKER_NODE: frozenset({TOKEN, "gpu"})})


def test_update_sets_the_status_and_releases_the_nodes_of_an_ended_deployment(harness):
    outcome = harness.run("Update_service_and_remove_tokens", deployed_state()).raise_error()
    assert outcome.status_history == ["FINISHED"]
    assert outcome.state.instance["deployments"] == DEPLOYED
    assert outcome.state.node_tokens == {WORKER_NODE: frozenset({"gpu"})}
    assert [c.args for c in outcome.calls_to("schedulerapi", "isJobFinished")] == [("42",)]


def test_update_with_null_keeps_the_status(harness):
    outcome = harness.run("Update_service_and_remove_tokens",
                          deployed_state("ERROR", args=("null", TOKEN))).raise_error()
    assert outcome.psa_writes == []
    assert MASTER_NODE not in outcome.state.node_tokens


def test_update_leaves_the_tokens_to_a_running_deployment_job(harness):
    outcome = harness.run("Update_service_and_remove_tokens", deployed_state(finished_jobs=frozenset())).raise_error()
    assert outcome.status_history == ["FINISHED"]
    assert outcome.calls_to("rmapi") == []
    assert "Deployment job 42 still runs: it releases the nodes itself" in outcome.output


def test_update_without_a_deployment_submission_warns_and_keeps_the_tokens(harness):
    state = deployed_state().replace(instance=instance_json("RUNNING", deployments=DEPLOYED, job_submissions=[]))
    outcome = harness.run("Update_service_and_remove_tokens", state).raise_error()
    assert outcome.calls_to("rmapi") == []
    assert f"WARNING: service instance 7 records no deployment job (VOID -> RUNNING): node token {TOKEN}" in outcome.output


def test_update_token_failure_on_one_node_does_not_spare_the_others(harness):
    class FlakyRemoval(RuntimeError):
        pass

    state = deployed_state().replace(failures={"rmapi.removeNodeToken": FlakyRemoval("RM down")})
    outcome = harness.run("Update_service_and_remove_tokens", state)
    assert isinstance(outcome.error, PsaScriptError)
    assert str(outcome.error) == (f"could not remove node token {TOKEN} from: {MASTER_NODE}: RM down; "
                                  f"{WORKER_NODE}: RM down")
    assert [c.args for c in outcome.calls_to("rmapi", "removeNodeToken")] == [(MASTER_NODE, TOKEN), (WORKER_NODE, TOKEN)]


@pytest.mark.parametrize("args, message", [
    (("FINISHED",), "this script takes 2 arguments (the status to set or null, the node token to remove), got 1"),
    (("finished", TOKEN), "argument 1 (the status to set, or null) must be an instance status in capitals"),
    (("FINISHED", "PSA_a b"), "argument 2 (the node token to remove) must be one word, got 'PSA_a b'"),
    (("FINISHED", " "), "argument 2 (the node token to remove) is missing"),
])
def test_update_bad_argument_changes_nothing(harness, args, message):
    outcome = harness.run("Update_service_and_remove_tokens", deployed_state(args=args))
    assert isinstance(outcome.error, InputError)
    assert str(outcome.error).startswith(message)
    _nothing_done(outcome)


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_update_rest_failure_removes_no_token(harness, method):
    harness.emulator.fail(method, r"/serviceInstances/7$", 500)
    outcome = harness.run("Update_service_and_remove_tokens", deployed_state())
    assert isinstance(outcome.error, RestError) and outcome.error.status == 500
    assert outcome.calls_to("rmapi") == []


# --- Set_service_FINISHED_if_all_clean_OK -------------------------------------------------------------------

def clean_state(content, args=("FINISHED", f"{NAME}_status")):
    return State(variables={"PCA_INSTANCE_ID": "7"}, args=args, instance=instance_json("RUNNING"),
                 files={f"{NAME}_status": content} if content is not None else {},
                 channels={CHANNEL: {"INSTANCE_NAME": NAME, "FINISH_LAUNCHED": True}})


def test_all_clean_ok_finishes_the_service(harness):
    outcome = harness.run("Set_service_FINISHED_if_all_clean_OK", clean_state("|ok|ok|OK\n")).raise_error()
    assert outcome.status_history == ["FINISHED"]
    assert outcome.state.channels[CHANNEL]["FINISH_DONE"] is True
    assert [c.args for c in outcome.calls_to("synchronizationapi", "put")] == [(CHANNEL, "FINISH_DONE", True)]
    assert outcome.output.splitlines()[-1] == "All 3 clean steps ok: service instance 7 is FINISHED"


def test_all_clean_ok_with_another_status_sets_no_finish_done(harness):
    outcome = harness.run("Set_service_FINISHED_if_all_clean_OK",
                          clean_state("ok", args=("PAUSED", f"{NAME}_status"))).raise_error()
    assert outcome.status_history == ["PAUSED"]
    assert "FINISH_DONE" not in outcome.state.channels[CHANNEL]


@pytest.mark.parametrize("content, failed", [("|ok|ko|ok", "ko"), ("ok|null", "null"), ("ok| KO |ko", "KO, ko")])
def test_a_failed_clean_step_sets_error_and_fails(harness, content, failed):
    outcome = harness.run("Set_service_FINISHED_if_all_clean_OK", clean_state(content))
    assert isinstance(outcome.error, ServiceError)
    assert f"did not report ok ({failed}) in " in str(outcome.error)
    assert str(outcome.error).endswith("service instance 7 set to ERROR")
    assert outcome.status_history == ["ERROR"]
    assert "FINISH_DONE" not in outcome.state.channels[CHANNEL]


@pytest.mark.parametrize("content, args, message", [
    (None, ("FINISHED", f"{NAME}_status"), "clean-status file "),
    ("| |\n", ("FINISHED", f"{NAME}_status"), "clean-status file "),
    ("ok", ("FINISHED",), "this script takes 2 arguments"),
    ("ok", ("Finished", f"{NAME}_status"), "argument 1 (the status when every clean step is ok) must be an instance status"),
    ("ok", ("FINISHED", ""), "argument 2 (the clean-status file) is missing"),
])
def test_clean_status_bad_input_changes_nothing(harness, content, args, message):
    outcome = harness.run("Set_service_FINISHED_if_all_clean_OK", clean_state(content, args))
    assert isinstance(outcome.error, InputError)
    assert str(outcome.error).startswith(message)
    if content is None:
        assert "is missing: the task before this script must write one ok|ko entry per clean step" in str(outcome.error)
    elif content.startswith("|"):
        assert str(outcome.error).endswith("holds no entry: expected ok or ko per clean step, separated by |")
    _nothing_done(outcome)


def test_clean_status_rest_failure_fails_without_finish_done(harness):
    harness.emulator.fail("GET", r"/serviceInstances/7$", 500)
    outcome = harness.run("Set_service_FINISHED_if_all_clean_OK", clean_state("ok"))
    assert isinstance(outcome.error, RestError)
    assert outcome.psa_writes == []


# --- Loop_over_service_instance_status ------------------------------------------------------------------------

def loop_state(status="RUNNING", args=("true", "true", TOKEN, "spark-master-42"), files=None, **changes):
    state = State(variables=service_variables(), args=args, files=files or {},
                  instance=instance_json(status, deployments=DEPLOYED),
                  channels={CHANNEL: {"INSTANCE_NAME": NAME, "RUNNING_STATE": 1}},
                  node_tokens={MASTER_NODE: frozenset({TOKEN}), WORKER_NODE: frozenset({TOKEN})},
                  containers={"spark-master-42": ContainerState(logs=["master up", "worker joined"])})
    return state.replace(**changes)


def test_loop_prints_the_main_container_logs_once(harness):
    first = harness.run("Loop_over_service_instance_status", loop_state()).raise_error()
    assert first.output.splitlines() == ["master up", "worker joined"]
    assert first.variables_written == {"LOG_CURSOR": "since=2025-11-24T16:00:00Z seen=2 container=0123456789ab"}
    assert first.psa_writes == []
    again = harness.run("Loop_over_service_instance_status", first.state).raise_error()
    assert again.output == ""


def test_loop_reads_its_arguments_from_arguments_txt_first(harness):
    state = loop_state(args=("garbage",), files={"arguments.txt": "true, false ,PSA_other,whatever\n"})
    outcome = harness.run("Loop_over_service_instance_status", state).raise_error()
    assert outcome.output == "" and outcome.calls_to("engine") == []  # not Docker-based: no logs


def test_loop_a_failed_service_is_an_error(harness):
    outcome = harness.run("Loop_over_service_instance_status", loop_state(args=("false", "true", TOKEN, "m")))
    assert isinstance(outcome.error, ServiceError)
    assert str(outcome.error) == ("the service is not fine (argument 1 is false) and no finish or pause was launched: "
                                  "service instance 7 set to ERROR")
    assert outcome.status_history == ["ERROR"]
    assert outcome.variables_written == {"IS_FINISHED": "true"}
    assert outcome.state.channels[CHANNEL]["RUNNING_STATE"] == 2


@pytest.mark.parametrize("flag", ["FINISH_LAUNCHED", "PAUSE_LAUNCHED"])
def test_loop_a_stopped_service_is_fine_when_an_action_was_launched(harness, flag):
    state = loop_state(args=("false", "false", TOKEN, "m"), channels={CHANNEL: {flag: True}})
    outcome = harness.run("Loop_over_service_instance_status", state).raise_error()
    assert outcome.psa_writes == [] and outcome.variables_written == {}


def test_loop_finished_releases_every_node(harness):
    state = loop_state("FINISHED", generic_info={"PARENT_JOB_ID": "40"}, credentials={"spark-creds": "s3cret"},
                       channels={CHANNEL: {"CREDENTIALS_KEY": "spark-creds"}})
    outcome = harness.run("Loop_over_service_instance_status", state).raise_error()
    assert outcome.variables_written == {"IS_FINISHED": "true"}
    assert outcome.state.node_tokens == {}
    assert outcome.state.channels == {} and outcome.state.credentials == {}
    assert [c.args for c in outcome.calls_to("schedulerapi", "detachService")] == [("42", 7), ("40", 7)]
    assert outcome.psa_writes == [] and "s3cret" not in outcome.output


def test_loop_finished_a_failing_token_removal_is_a_warning(harness):
    state = loop_state("FINISHED", failures={"rmapi.removeNodeToken": RuntimeError("RM down")})
    outcome = harness.run("Loop_over_service_instance_status", state).raise_error()
    assert f"WARNING: could not remove the node token {TOKEN} on {MASTER_NODE}: RM down; remove it by hand" in outcome.output
    assert f"WARNING: could not remove the node token {TOKEN} on {WORKER_NODE}: RM down" in outcome.output
    assert outcome.state.channels == {}


@pytest.mark.parametrize("args, files, message", [
    (("true", "true", TOKEN), None, "the script's arguments must give 4 values"),
    ((), None, "the script's arguments must give 4 values"),
    ((), {"arguments.txt": "true,true,PSA_x"}, "file "),
    (("maybe", "true", TOKEN, "m"), None, "value 1 (the service is fine) of the script's arguments must be true or false"),
    (("true", "sure", TOKEN, "m"), None, "value 2 (Docker-based) of the script's arguments must be true or false"),
    (("true", "true", "PSA x", "m"), None, "value 3 (the node token) of the script's arguments must be one word"),
    (("true", "true", TOKEN, "m;rm"), None, "value 4 (the main container's name) of the script's arguments is not a container name"),
])
def test_loop_bad_argument_changes_nothing(harness, args, files, message):
    outcome = harness.run("Loop_over_service_instance_status", loop_state(args=args, files=files))
    assert isinstance(outcome.error, InputError)
    assert str(outcome.error).startswith(message)
    _nothing_done(outcome)


def test_loop_a_non_utf8_arguments_txt_is_named(harness):
    """It raised a raw UnicodeDecodeError (a pre script wrote the file in Latin-1: 'é' is 0xe9)."""
    files = {"arguments.txt": "true,true,PSA_caf\u00e9,m".encode("latin-1")}
    outcome = harness.run("Loop_over_service_instance_status", loop_state(args=(), files=files))
    assert isinstance(outcome.error, InputError)
    assert str(outcome.error) == (f"file arguments.txt in {harness.workdir} is not UTF-8 text (byte 0xe9 at offset 17): "
                                  "the task before this script must write it as UTF-8")
    _nothing_done(outcome)


def test_loop_rest_failure_changes_nothing(harness):
    harness.emulator.fail("GET", r"/serviceInstances/7$", 500)
    outcome = harness.run("Loop_over_service_instance_status", loop_state("FINISHED"))
    assert isinstance(outcome.error, RestError)
    assert outcome.variables_written == {} and outcome.calls_to("rmapi") == []
    assert outcome.state.channels


def test_loop_error_status_update_failure_fails(harness):
    harness.emulator.fail("PUT", r"/serviceInstances/7$", 500)
    outcome = harness.run("Loop_over_service_instance_status", loop_state(args=("false", "true", TOKEN, "m")))
    assert isinstance(outcome.error, RestError)
    assert "IS_FINISHED" not in outcome.variables_written
