"""Service_Start, Service_Action, Find_and_set_Instance_Id, Retrieve_variables_from_service_instance_id
and Propagate_variables_to_current_service, through the harness and the loopback emulator.

The deployment job PSA would run is played by an emulator hook: after the n-th read of the new
instance it becomes RUNNING with its endpoint. The harness's Clock moves when a script waits: waits take no time.
"""

import pytest

from psa_scripts.errors import InputError, RestError, ServiceError, StatusTimeout
from psa_scripts.testing.harness import Clock
from psa_scripts.testing.harness import Harness, State, node_variables

BUCKET = "service-automation"
SERVICE = "MongoDB"
NAME = "mongo-1"
ENDPOINT = "mongodb://node-7.example:27017"
DEFAULTS = {"INSTANCE_NAME": "mongodb-$PA_JOB_ID", "SERVICE_PORT": "-1", "MONGO_VERSION": "6"}


@pytest.fixture
def clock():
    return Clock(1_764_000_000.0)


@pytest.fixture
def driver(tmp_path, clock):
    """A harness whose clock moves when a script waits, with the MongoDB service known to PSA."""
    with Harness(workdir=str(tmp_path), clock=clock) as harness:
        emu = harness.emulator
        emu.add_service_workflow(BUCKET, SERVICE, SERVICE, variables=DEFAULTS)
        emu.add_service_workflow(BUCKET, "Finish_MongoDB", SERVICE, variables={"FORCE": "false"},
                                 states="(RUNNING,FINISHED)(PAUSED,FINISHED)(ERROR,FINISHED)")
        emu.add_service_workflow(BUCKET, "Pause_MongoDB", SERVICE, states="(RUNNING,PAUSED)")
        yield harness


def deployed_after(emu, reads, instance_id=1, status="RUNNING", endpoint=ENDPOINT):
    """The deployment job's effect, seen from the ``reads``+1-th read of the instance on."""
    seen = [0]

    def deploy(emulator, recorded):
        seen[0] += 1
        if seen[0] == reads:
            instance = emulator.instances[instance_id]
            instance["instance_status"] = status
            if status == "RUNNING":
                instance["deployments"] = [{"endpoint": {"id": "mongo-ep", "url": endpoint}}]

    emu.after("GET", rf"/serviceInstances/{instance_id}$", deploy, times=reads)


def running_instance(instance_id=1, name=NAME, service=SERVICE, status="RUNNING", **extra):
    return {"instance_id": instance_id, "service_id": service, "bucket_name": BUCKET, "instance_status": status,
            "variables": {"INSTANCE_NAME": name, "DB_USER": "admin", "DB_PORT": "27017"},
            "deployments": [{"endpoint": {"id": "mongo-ep", "url": ENDPOINT}}],
            "job_submissions": [{"transition_state": "VOID -> RUNNING", "job_id": 77}], **extra}


def start_state(*args, **variables):
    """Service_Start's input; a variable given as None is left out."""
    merged = {"INSTANCE_NAME": NAME, "SERVICE_ACTIVATION_WORKFLOW": f"{BUCKET}/{SERVICE}", **variables}
    return State(variables=node_variables(**{k: v for k, v in merged.items() if v is not None}), args=args)


def paths(outcome):
    return [(r.method, r.path.split("/cloud-automation-service", 1)[1]) for r in outcome.psa_requests]


# --- Service_Start ------------------------------------------------------------------------------

def test_service_start_launches_waits_and_propagates(driver, clock):
    deployed_after(driver.emulator, reads=2)
    outcome = driver.run("Service_Start", start_state("true", "false", "MONGO_VERSION", MONGO_VERSION="7"))
    outcome.raise_error()

    launch = driver.emulator.requests_to("POST", r"/serviceInstances$")
    assert len(launch) == 1 and launch[0].query == {"parentJobId": "42"}
    assert launch[0].json == {"bucket_name": BUCKET, "workflow_name": SERVICE,
                              "variables": {**DEFAULTS, "MONGO_VERSION": "7", "INSTANCE_NAME": NAME}}
    assert paths(outcome) == [("GET", f"/catalog/buckets/{BUCKET}/workflows/{SERVICE}"),
                              ("GET", "/serviceInstances/active"), ("POST", "/serviceInstances")] + \
        [("GET", "/serviceInstances/1")] * 3
    assert clock.slept == [5.0, 5.0]
    assert outcome.variables_written == {"INSTANCE_ID_mongo-1": "1", "ENDPOINT_mongo-1": ENDPOINT,
                                         "SERVICE_JOB_ID": "1001"}
    assert outcome.writeback == {"result": ENDPOINT}
    assert [c.args for c in outcome.calls_to("schedulerapi", "registerService")] == [("42", 1, False)]


def test_service_start_by_service_id_uses_its_only_deployment_workflow(driver):
    deployed_after(driver.emulator, reads=1)
    state = State(variables=node_variables(INSTANCE_NAME=NAME, SERVICE_ID=SERVICE))
    outcome = driver.run("Service_Start", state).raise_error()
    assert paths(outcome)[0] == ("GET", f"/catalog/services/{SERVICE}/workflows")
    assert driver.emulator.launches[0]["workflow_name"] == SERVICE
    assert outcome.calls_to("schedulerapi", "registerService") == []  # not published by default
    assert outcome.variables_written["INSTANCE_ID_mongo-1"] == "1"


def test_service_start_reuses_a_running_instance_of_that_name(driver):
    driver.emulator.add_instance(running_instance(instance_id=5))
    driver.emulator.add_instance(running_instance(instance_id=6, service="Other"))  # same name, other service
    outcome = driver.run("Service_Start", start_state("true")).raise_error()
    assert driver.emulator.launches == []
    assert outcome.variables_written == {"INSTANCE_ID_mongo-1": "5", "ENDPOINT_mongo-1": ENDPOINT,
                                         "SERVICE_JOB_ID": "77"}
    assert [c.args for c in outcome.calls_to("schedulerapi", "registerService")] == [("42", 5, True)]


def test_service_start_reuses_its_services_instance_when_another_services_comes_first(driver):
    driver.emulator.add_instance(running_instance(instance_id=4, service="Other"))  # same name, listed first
    driver.emulator.add_instance(running_instance(instance_id=5))
    outcome = driver.run("Service_Start", start_state()).raise_error()
    assert driver.emulator.launches == [] and outcome.variables_written["INSTANCE_ID_mongo-1"] == "5"


def test_service_start_launches_when_only_another_service_runs_an_instance_of_that_name(driver):
    """Two services sharing an instance name: the other's RUNNING instance is never reused."""
    driver.emulator.add_instance(running_instance(instance_id=4, service="Other"))
    driver.emulator.add_instance(running_instance(instance_id=6, service="Other"))
    deployed_after(driver.emulator, reads=1, instance_id=7)
    outcome = driver.run("Service_Start", start_state()).raise_error()
    assert [launch["workflow_name"] for launch in driver.emulator.launches] == [SERVICE]
    assert outcome.variables_written["INSTANCE_ID_mongo-1"] == "7"
    assert "launched from service-automation/MongoDB" in outcome.output


def test_service_start_refuses_two_running_instances_of_that_name(driver):
    driver.emulator.add_instance(running_instance(instance_id=5))
    driver.emulator.add_instance(running_instance(instance_id=6))
    outcome = driver.run("Service_Start", start_state("true"))
    assert isinstance(outcome.error, ServiceError)
    assert str(outcome.error) == (
        "several RUNNING service instances of MongoDB named mongo-1 (ids 5, 6): Service_Start cannot tell which "
        "to reuse; finish the ones not wanted, or set another INSTANCE_NAME")
    assert driver.emulator.launches == [] and outcome.variables_written == {}
    assert outcome.calls_to("schedulerapi", "registerService") == []


def test_service_start_gives_up_at_its_deadline_and_keeps_the_instance_id(driver, clock):
    outcome = driver.run("Service_Start", start_state(SERVICE_START_TIMEOUT="20"))
    assert isinstance(outcome.error, StatusTimeout)
    assert str(outcome.error) == (
        "service instance 1 is still VOID after 20 s, not RUNNING (set SERVICE_START_TIMEOUT to wait longer); "
        "it was left as it is: finish it with Service_Action (INSTANCE_ID_mongo-1 is set) or from the "
        "Service Automation portal if it is not wanted")
    assert len(driver.emulator.requests_to("GET", r"/serviceInstances/1$")) == 5  # at 0, 5, 10, 15 and 20 s
    assert clock.slept == [5.0] * 4
    assert outcome.variables_written == {"INSTANCE_ID_mongo-1": "1"}  # a live write: it sticks


def test_service_start_fails_at_once_when_the_deployment_fails(driver):
    deployed_after(driver.emulator, reads=1, status="ERROR")
    state = start_state().replace(channels={"Service_Instance_1": {"DEPLOY_ERROR_MESSAGE": "port 27017 in use"}})
    outcome = driver.run("Service_Start", state)
    assert type(outcome.error) is ServiceError
    assert str(outcome.error) == "service instance 1 ended in ERROR instead of RUNNING: port 27017 in use"


@pytest.mark.parametrize("state, message", [
    (start_state(INSTANCE_NAME=None), "INSTANCE_NAME is not set"),
    (start_state(INSTANCE_NAME="mongo;rm -rf"), "INSTANCE_NAME 'mongo;rm -rf' is not a valid container name"),
    (start_state(SERVICE_ACTIVATION_WORKFLOW=None),
     "set SERVICE_ACTIVATION_WORKFLOW (<bucket>/<name> of the service's deployment workflow, recommended) "
     "or SERVICE_ID: neither is set"),
    (start_state(SERVICE_ACTIVATION_WORKFLOW="MongoDB"),
     "SERVICE_ACTIVATION_WORKFLOW must be <bucket>/<workflow name>, e.g. service-automation/MongoDB, got 'MongoDB'"),
    (start_state("maybe"), "argument 1 (publish the service on this job) must be true or false, got 'maybe'"),
    (start_state("true", "sometimes"), "argument 2 (enable the service's actions) must be true or false, got 'sometimes'"),
    (start_state("true", "true", "MONGO_VERSON"),
     "argument 3 names variable 'MONGO_VERSON', which is not set in this task (the arguments from 3 on name "
     "variables passed on to the service)"),
    (start_state().replace(variables={k: v for k, v in start_state().variables.items() if k != "PA_JOB_ID"}),
     "PA_JOB_ID is not set: the scheduler sets it for every task"),
    (start_state(SERVICE_START_TIMEOUT="0"), "SERVICE_START_TIMEOUT must be a number of seconds greater than 0, got '0'"),
    (start_state(SERVICE_START_TIMEOUT="soon"), "SERVICE_START_TIMEOUT must be a whole number, got 'soon'"),
], ids=["no-name", "bad-name", "no-service", "bad-reference", "bad-publish", "bad-enable", "unset-passed",
        "no-job", "zero-timeout", "bad-timeout"])
def test_service_start_bad_input_fails_before_any_call(driver, state, message):
    outcome = driver.run("Service_Start", state)
    assert type(outcome.error) is InputError
    assert str(outcome.error).startswith(message)
    assert outcome.psa_requests == [] and outcome.calls_to("schedulerapi", "registerService") == []


@pytest.mark.parametrize("variables, message", [
    ({"SERVICE_ID": "Nope"}, "SERVICE_ID 'Nope': PSA knows no deployment workflow of that service"),
    ({"SERVICE_ID": SERVICE, "SERVICE_ACTIVATION_WORKFLOW": f"{BUCKET}/Finish_MongoDB"},
     f"SERVICE_ACTIVATION_WORKFLOW {BUCKET}/Finish_MongoDB is not a deployment workflow of SERVICE_ID "
     f"'MongoDB'; its deployment workflows: {BUCKET}/MongoDB"),
])
def test_service_start_refuses_a_workflow_that_is_not_the_services(driver, variables, message):
    outcome = driver.run("Service_Start", State(variables=node_variables(INSTANCE_NAME=NAME, **variables)))
    assert type(outcome.error) is InputError and str(outcome.error) == message
    assert driver.emulator.launches == []


def test_service_start_asks_which_when_a_service_has_several_deployment_workflows(driver):
    driver.emulator.add_service_workflow("ai", "MongoDB_GPU", SERVICE)
    outcome = driver.run("Service_Start", State(variables=node_variables(INSTANCE_NAME=NAME, SERVICE_ID=SERVICE)))
    assert str(outcome.error) == (f"SERVICE_ID 'MongoDB' has several deployment workflows ({BUCKET}/MongoDB, "
                                  "ai/MongoDB_GPU): set SERVICE_ACTIVATION_WORKFLOW to choose one")
    assert driver.emulator.launches == []


def test_service_start_a_workflow_without_service_id_is_no_service(driver):
    driver.emulator.add_route("GET", r"^/cloud-automation-service/catalog/buckets/b/workflows/w$",
                              lambda req: (200, {"name": "w", "bucket": "b", "variables": []}))
    outcome = driver.run("Service_Start", start_state(SERVICE_ACTIVATION_WORKFLOW="b/w"))
    assert str(outcome.error) == ("SERVICE_ACTIVATION_WORKFLOW b/w is not a PSA service's workflow: "
                                  "it has no generic information pca.service.id")


# --- Service_Action -----------------------------------------------------------------------------

def action_state(*args, **variables):
    return State(variables=node_variables(**variables), args=args, instance=running_instance())


def test_service_action_runs_an_accepted_action_with_its_variables(driver):
    outcome = driver.run("Service_Action", action_state("DB_USER", INSTANCE_ID="1", ACTION="Pause_MongoDB",
                                                          DB_USER="root")).raise_error()
    assert paths(outcome) == [("GET", "/catalog/executable_actions"), ("PUT", "/serviceInstances/1/action")]
    assert outcome.psa_requests[0].query == {"instanceIds": "1"}
    action = outcome.psa_requests[1]
    assert action.query == {"parentJobId": "42"}
    assert action.json == {"bucket_name": BUCKET, "workflow_name": "Pause_MongoDB", "variables": {"DB_USER": "root"}}
    assert outcome.variables_written == {}


def test_service_action_finds_the_instance_from_service_starts_variable(driver):
    outcome = driver.run("Service_Action", action_state(INSTANCE_NAME=NAME, **{"INSTANCE_ID_mongo-1": "1"},
                                                        SERVICE_ACTION_WORKFLOW=f"{BUCKET}/Pause_MongoDB"))
    outcome.raise_error()
    assert driver.emulator.actions[0]["instance_id"] == 1


def test_service_action_finds_the_instance_by_name(driver):
    driver.emulator.add_instance(running_instance(instance_id=2, name="other"))
    driver.emulator.add_instance(running_instance(instance_id=3, status="FINISHED"))  # not active
    outcome = driver.run("Service_Action", action_state(INSTANCE_NAME=NAME, ACTION="Pause_MongoDB")).raise_error()
    assert paths(outcome)[0] == ("GET", "/serviceInstances/active")
    assert [a["instance_id"] for a in driver.emulator.actions] == [1]


def test_service_action_two_instances_of_that_name_is_an_error(driver):
    driver.emulator.add_instance(running_instance(instance_id=2))
    outcome = driver.run("Service_Action", action_state(INSTANCE_NAME=NAME, ACTION="Pause_MongoDB"))
    assert str(outcome.error) == f"several active service instances named {NAME} (ids 1, 2): set INSTANCE_ID to choose one"
    assert driver.emulator.actions == []


def test_service_action_refuses_an_action_the_status_does_not_accept(driver):
    state = action_state(INSTANCE_ID="1", ACTION="Pause_MongoDB").replace(instance=running_instance(status="PAUSED"))
    outcome = driver.run("Service_Action", state)
    assert type(outcome.error) is ServiceError
    assert str(outcome.error) == ("action Pause_MongoDB cannot run on service instance 1 in its current status; "
                                  f"the actions it accepts now: {BUCKET}/Finish_MongoDB")
    assert driver.emulator.actions == []


def test_service_action_waits_for_a_finish(driver, clock):
    driver.emulator.after("PUT", r"/serviceInstances/1/action$",
                          lambda emu, req: deployed_after(emu, reads=2, status="FINISHED"))
    outcome = driver.run("Service_Action", action_state(INSTANCE_ID="1", ACTION="Finish_MongoDB")).raise_error()
    assert driver.emulator.actions[0]["variables"] == {"FORCE": "false"}
    assert clock.slept == [5.0, 5.0]
    assert outcome.output.splitlines()[-1] == "Service instance 1 is FINISHED"


def test_service_action_a_slow_finish_is_a_warning(driver, clock):
    outcome = driver.run("Service_Action", action_state(INSTANCE_ID="1", ACTION="Finish_MongoDB",
                                                        SERVICE_ACTION_TIMEOUT="10")).raise_error()
    assert clock.slept == [5.0, 5.0]
    assert "WARNING: service instance 1 is still RUNNING after 10 s, not FINISHED" in outcome.output


@pytest.mark.parametrize("variables, args, message", [
    ({"ACTION": "Pause_MongoDB"}, (),
     "set INSTANCE_ID or INSTANCE_NAME to say which service instance: neither is set"),
    ({"INSTANCE_ID": "one", "ACTION": "Pause_MongoDB"}, (), "INSTANCE_ID must be a whole number, got 'one'"),
    ({"INSTANCE_NAME": "a b", "ACTION": "Pause_MongoDB"}, (), "INSTANCE_NAME 'a b' is not a valid container name"),
    ({"INSTANCE_ID": "1"}, (), "set exactly one of ACTION (the action's workflow name) and SERVICE_ACTION_WORKFLOW "
                               "(<bucket>/<name>): neither is set"),
    ({"INSTANCE_ID": "1", "ACTION": "Pause_MongoDB", "SERVICE_ACTION_WORKFLOW": f"{BUCKET}/Pause_MongoDB"}, (),
     "set exactly one of ACTION (the action's workflow name) and SERVICE_ACTION_WORKFLOW (<bucket>/<name>): "
     "both are set"),
    ({"INSTANCE_ID": "1", "SERVICE_ACTION_WORKFLOW": "a/b/c"}, (),
     "SERVICE_ACTION_WORKFLOW must be <bucket>/<workflow name>, e.g. service-automation/MongoDB, got 'a/b/c'"),
    ({"INSTANCE_ID": "1", "ACTION": "Pause_MongoDB"}, ("NOT_SET",),
     "argument 1 names variable 'NOT_SET', which is not set in this task (the arguments name variables passed "
     "on to the action)"),
    ({"INSTANCE_ID": "1", "ACTION": "Finish_MongoDB", "SERVICE_ACTION_TIMEOUT": "-5"}, (),
     "SERVICE_ACTION_TIMEOUT must be a number of seconds greater than 0, got '-5'"),
], ids=["no-instance", "bad-id", "bad-name", "no-action", "two-actions", "bad-reference", "unset-passed",
        "bad-timeout"])
def test_service_action_bad_input_fails_before_any_call(driver, variables, args, message):
    outcome = driver.run("Service_Action", action_state(*args, **variables))
    assert type(outcome.error) is InputError and str(outcome.error).startswith(message)
    assert outcome.psa_requests == []


# --- Find_and_set_Instance_Id -------------------------------------------------------------------

def find_state(*args):
    return State(variables=node_variables(), args=args, instance=running_instance(instance_id=4))


def test_find_and_set_instance_id_sets_the_active_match(driver):
    driver.emulator.add_instance(running_instance(instance_id=2, status="FINISHED"))  # an old one, same name
    driver.emulator.add_instance(running_instance(instance_id=3, service="Other"))
    outcome = driver.run("Find_and_set_Instance_Id", find_state(SERVICE, NAME)).raise_error()
    assert outcome.variables_written == {"INSTANCE_ID": "4"}
    assert paths(outcome) == [("GET", "/serviceInstances/active")]


def test_find_and_set_instance_id_without_a_match_fails_naming_it(driver):
    outcome = driver.run("Find_and_set_Instance_Id", find_state(SERVICE, "mongo-2"))
    assert type(outcome.error) is ServiceError
    assert str(outcome.error) == "no active service instance of service MongoDB named mongo-2"
    assert outcome.variables_written == {}


@pytest.mark.parametrize("args, message", [
    ((), "argument 1 (the service id) is missing"),
    ((SERVICE,), "argument 2 (the instance's INSTANCE_NAME) is missing"),
    ((SERVICE, "mongo 1"), "INSTANCE_NAME 'mongo 1' is not a valid container name"),
])
def test_find_and_set_instance_id_bad_arguments(driver, args, message):
    outcome = driver.run("Find_and_set_Instance_Id", find_state(*args))
    assert type(outcome.error) is InputError and str(outcome.error).startswith(message)
    assert outcome.psa_requests == []


# --- Retrieve_variables_from_service_instance_id --------------------------------------------------

def retrieve_state(*args):
    return State(variables=node_variables(), args=args, instance=running_instance())


def test_retrieve_variables_copies_and_resolves_references(driver):
    outcome = driver.run("Retrieve_variables_from_service_instance_id",
                         retrieve_state("1", "MONGO_USER", "DB_USER", "MONGO_URL", "mongodb://%{DB_USER}@host:%{DB_PORT}/"))
    outcome.raise_error()
    assert outcome.variables_written == {"MONGO_USER": "admin", "MONGO_URL": "mongodb://admin@host:27017/"}
    assert "admin" not in outcome.output  # values may be secrets: not printed


def test_retrieve_variables_with_an_empty_instance_id_does_nothing(driver):
    outcome = driver.run("Retrieve_variables_from_service_instance_id", retrieve_state("", "A", "DB_USER"))
    assert outcome.ok and outcome.variables_written == {} and outcome.psa_requests == []


@pytest.mark.parametrize("args, message", [
    ((), "argument 1 (the service instance id) is missing"),
    (("1",), "arguments from 2 on must come in pairs (the variable to write, then the instance's variable to read): got 0"),
    (("1", "A", "DB_USER", "B"), "arguments from 2 on must come in pairs (the variable to write, then the "
                                 "instance's variable to read): got 3, the last ('B') has no partner"),
    (("one", "A", "DB_USER"), "argument 1 (the service instance id) must be a whole number, got 'one'"),
    (("1", " ", "DB_USER"), "argument 2 is empty: it must name a variable"),
])
def test_retrieve_variables_bad_arguments(driver, args, message):
    outcome = driver.run("Retrieve_variables_from_service_instance_id", retrieve_state(*args))
    assert type(outcome.error) is InputError and str(outcome.error).startswith(message)
    assert outcome.psa_requests == []


@pytest.mark.parametrize("source", ["DB_PASSWORD", "user %{DB_PASSWORD}", "%{DB_USER"])
def test_retrieve_variables_writes_nothing_when_one_is_missing(driver, source):
    outcome = driver.run("Retrieve_variables_from_service_instance_id",
                         retrieve_state("1", "MONGO_USER", "DB_USER", "SECRET", source))
    assert type(outcome.error) is InputError
    assert "DB_PASSWORD" in str(outcome.error) or "without its closing" in str(outcome.error)
    assert outcome.variables_written == {}


# --- Propagate_variables_to_current_service -------------------------------------------------------

def propagate_state(*args, **variables):
    return State(variables=node_variables(PCA_INSTANCE_ID="1", **variables), args=args,
                 instance=running_instance(some_future_field={"kept": True}))


def test_propagate_variables_sets_the_services_variables(driver):
    outcome = driver.run("Propagate_variables_to_current_service",
                         propagate_state("DB_PORT", "27018", "TOKEN", "VARIABLE_VALUE", "EMPTY", "VARIABLE_VALUE",
                                         TOKEN="t-123"))
    outcome.raise_error()
    stored = driver.emulator.instance(1)
    assert stored["variables"] == {"INSTANCE_NAME": NAME, "DB_USER": "admin", "DB_PORT": "27018",
                                   "TOKEN": "t-123", "EMPTY": ""}
    assert stored["some_future_field"] == {"kept": True} and stored["instance_status"] == "RUNNING"
    assert "WARNING: variable EMPTY is not set in this task: the service gets it empty" in outcome.output


def test_propagate_variables_survives_a_concurrent_writer(driver):
    def concurrent(emu, recorded):  # another script's stale copy lands after our PUT
        emu.instances[1]["variables"] = {"INSTANCE_NAME": NAME}

    driver.emulator.after("PUT", r"/serviceInstances/1$", concurrent)
    driver.run("Propagate_variables_to_current_service", propagate_state("DB_PORT", "27018")).raise_error()
    assert driver.emulator.instance(1)["variables"]["DB_PORT"] == "27018"
    assert len(driver.emulator.requests_to("PUT", r"/serviceInstances/1$")) == 2


@pytest.mark.parametrize("args, variables, message", [
    ((), {}, "arguments from 1 on must come in pairs"),
    (("A",), {}, "arguments from 1 on must come in pairs (the instance's variable, then its value or "
                 "VARIABLE_VALUE): got 1, the last ('A') has no partner"),
    (("A", "1"), {"PCA_INSTANCE_ID": None}, "PCA_INSTANCE_ID is not set"),
    (("A", "1"), {"PCA_INSTANCE_ID": "seven"}, "PCA_INSTANCE_ID must be a whole number, got 'seven'"),
])
def test_propagate_variables_bad_input(driver, args, variables, message):
    state = propagate_state(*args)
    state = state.replace(variables={k: v for k, v in {**state.variables, **variables}.items() if v is not None})
    outcome = driver.run("Propagate_variables_to_current_service", state)
    assert type(outcome.error) is InputError and str(outcome.error).startswith(message)
    assert outcome.psa_requests == []


# --- REST failures: 4xx and 500 not retried, 502/503 retried (bounded), the error names the call ----------

def _start():
    return "Service_Start", start_state()


def _action():
    return "Service_Action", action_state(INSTANCE_ID="1", ACTION="Pause_MongoDB")


def _find():
    return "Find_and_set_Instance_Id", find_state(SERVICE, NAME)


def _retrieve():
    return "Retrieve_variables_from_service_instance_id", retrieve_state("1", "A", "DB_USER")


def _propagate():
    return "Propagate_variables_to_current_service", propagate_state("A", "1")


CALLS = [
    (_start, "GET", f"/catalog/buckets/{BUCKET}/workflows/{SERVICE}"),
    (_start, "GET", "/serviceInstances/active"),
    (_start, "POST", "/serviceInstances"),
    (_start, "GET", "/serviceInstances/1"),
    (_action, "GET", "/catalog/executable_actions"),
    (_action, "PUT", "/serviceInstances/1/action"),
    (_find, "GET", "/serviceInstances/active"),
    (_retrieve, "GET", "/serviceInstances/1"),
    (_propagate, "GET", "/serviceInstances/1"),
    (_propagate, "PUT", "/serviceInstances/1"),
]
IDS = [f"{make()[0]}-{method}-{path}" for make, method, path in CALLS]


@pytest.mark.parametrize("make, method, path", CALLS, ids=IDS)
@pytest.mark.parametrize("status", [400, 404, 500])
def test_a_failed_call_is_not_retried_and_fails_the_task_naming_it(driver, make, method, path, status):
    script, state = make()
    deployed_after(driver.emulator, reads=1)
    driver.emulator.fail(method, path + "$", status, times=None, body="the server says no")
    outcome = driver.run(script, state)
    assert type(outcome.error) is RestError and outcome.error.status == status
    assert str(outcome.error) == (f"{method} {driver.emulator.psa_url}{path} failed with HTTP {status}: "
                                  "the server says no")
    assert len(driver.emulator.requests_to(method, path + "$")) == 1
    assert driver.session_id not in str(outcome.error) + outcome.output


RETRIED = [CALLS[i] for i in (2, 3, 5, 6, 7, 9)]


@pytest.mark.parametrize("make, method, path", RETRIED, ids=[IDS[i] for i in (2, 3, 5, 6, 7, 9)])
def test_two_503_are_retried_and_the_script_succeeds(driver, make, method, path):
    script, state = make()
    deployed_after(driver.emulator, reads=1)
    driver.emulator.fail(method, path + "$", 503, times=2)
    outcome = driver.run(script, state)
    outcome.raise_error()
    assert len(driver.emulator.requests_to(method, path + "$")) >= 3


def test_a_503_that_lasts_is_retried_a_bounded_number_of_times(driver):
    driver.emulator.fail("POST", r"/serviceInstances$", 503, times=None)
    outcome = driver.run("Service_Start", start_state())
    assert type(outcome.error) is RestError and outcome.error.status == 503
    assert len(driver.emulator.requests_to("POST", r"/serviceInstances$")) == 4
    assert driver.emulator.launches == []


# --- PSA's view of the Catalog: the client and the emulator ------------------------------------------

def test_a_catalog_workflow_is_read_in_each_likely_spelling():
    from psa_scripts.model import CatalogWorkflow

    listed = CatalogWorkflow.from_json({"name": "W", "bucket": "b", "variables": [{"name": "A", "value": None}],
                                        "generic_information": {"pca.service.id": "S"}})
    keyed = CatalogWorkflow.from_json({"name": "W", "bucket_name": "b", "variables": {"A": ""},
                                       "genericInformation": {"serviceId": "S"}})
    assert listed == keyed == CatalogWorkflow("b", "W", "S", {"A": ""})
    assert CatalogWorkflow.from_json(listed.to_json()) == listed


def test_the_emulator_offers_the_actions_of_the_current_status(driver):
    from psa_scripts.clients.psa import PsaClient

    emu = driver.emulator
    emu.add_service_workflow(BUCKET, "Restart_MongoDB", SERVICE, states="(ALL,RUNNING)")
    emu.add_instance(running_instance(instance_id=1, status="PAUSED"))
    psa = PsaClient(emu.psa_url, emu.new_session())
    assert [a.name for a in psa.executable_actions(1)] == ["Finish_MongoDB", "Restart_MongoDB"]
    assert [w.name for w in psa.service_workflows(SERVICE)] == [SERVICE]
    psa.run_action(1, BUCKET, "Restart_MongoDB", {}, parent_job_id="42")
    assert emu.instance(1)["job_submissions"][-1] == {
        "transition_state": "PAUSED -> RUNNING", "parent_job_id": 42, "job_id": 1001,
        "submission_time": 1_764_000_001_001}
    assert emu.job_status["1001"] == "RUNNING"
