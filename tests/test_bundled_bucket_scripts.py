"""The multi-deployment and Singularity scripts, bundled, run the way the cpython engine runs them.

Same runner as test_bundled_scripts.py (a fresh ``python -I -S -u`` on prologue + bundled file +
epilogue, psa_scripts not importable); PSA is the loopback emulator, ``singularity`` the
recording stand-in.
"""

import json

from samples import INSTANCE_ID, NAME, instance_json
from singularity_stand_in import StandIn
from test_bundled_scripts import emu, engine_run, node, psa_variables  # noqa: F401 - the fixtures

CHANNEL = f"Service_Instance_{INSTANCE_ID}"
NODE_1 = "pnp://node-1.example:64738/node-1"
NODE_2 = "pnp://node-2.example:64738/node-2"
TOKEN = f"PSA_{NAME}"
DEPLOYMENTS = [{"endpoint": {"id": "spark-42-master", "url": "http://node-1.example:8080"},
                "node": {"name": "node-1", "url": NODE_1}, "container": {"id": "c0ffee", "name": "spark-master"}},
               {"endpoint": {"id": "spark-42-0"}, "node": {"name": "node-2", "url": NODE_2}}]
STORED = [{"endpoint": {"id": "spark-42-master", "url": "http://node-1.example:8080", "proxyfied": False,
                        "proxyfiedUrl": None},
           "node": {"name": "node-1", "url": NODE_1}, "container": {"id": "c0ffee", "name": "spark-master"}},
          {"endpoint": {"id": "spark-42-0", "url": None, "proxyfied": False, "proxyfiedUrl": None},
           "node": {"name": "node-2", "url": NODE_2}}]


def _statuses(emu):
    return [r.json["instance_status"] for r in emu.requests_to("PUT", r"/serviceInstances/7$")]


def test_add_deployments_and_update_service(engine_run, emu):
    emu.add_instance(instance_json())
    variables = psa_variables(emu, **{f"spark_deployment_json_{i}": json.dumps(d) for i, d in enumerate(DEPLOYMENTS)})
    run = engine_run("Add_deployments_and_update_service", variables=variables, session_id=emu.new_session(),
                     args=["spark_deployment_json_", "2"]).ok()
    assert _statuses(emu) == ["RUNNING"]
    assert emu.instance(INSTANCE_ID)["deployments"] == STORED
    assert run.calls("schedulerapi", "registerService") == [("42", 7, True)]
    assert run.out["channels"] == {CHANNEL: {"RUNNING_STATE": 1, "INSTANCE_NAME": NAME}}


def test_add_deployments_refuses_a_deployment_without_endpoint(engine_run, emu):
    variables = psa_variables(emu, spark_deployment_json_0=json.dumps({"node": {"url": NODE_1}}))
    run = engine_run("Add_deployments_and_update_service", variables=variables, args=["spark_deployment_json_", "1"])
    assert run.returncode != 0
    assert "InputError: variable spark_deployment_json_0 has no endpoint id" in run.stderr
    assert run.out["calls"] == [] and emu.requests == []


def test_update_service_and_remove_tokens(engine_run, emu):
    emu.add_instance(instance_json("RUNNING", deployments=STORED))
    run = engine_run("Update_service_and_remove_tokens", variables=psa_variables(emu), args=["FINISHED", TOKEN],
                     session_id=emu.new_session(), finished_jobs=["42"],
                     node_tokens={NODE_1: [TOKEN], NODE_2: [TOKEN]}).ok()
    assert _statuses(emu) == ["FINISHED"]
    assert run.out["node_tokens"] == {NODE_1: [], NODE_2: []}


def test_set_service_finished_if_all_clean_ok(engine_run, emu):
    emu.add_instance(instance_json("RUNNING"))
    run = engine_run("Set_service_FINISHED_if_all_clean_OK", variables=psa_variables(emu),
                     args=["FINISHED", f"{NAME}_status"], session_id=emu.new_session(),
                     channels={CHANNEL: {"INSTANCE_NAME": NAME}}, files={f"{NAME}_status": "|ok|ok"}).ok()
    assert _statuses(emu) == ["FINISHED"]
    assert run.out["channels"][CHANNEL]["FINISH_DONE"] is True


def test_set_service_finished_if_a_clean_step_failed(engine_run, emu):
    emu.add_instance(instance_json("RUNNING"))
    run = engine_run("Set_service_FINISHED_if_all_clean_OK", variables=psa_variables(emu),
                     args=["FINISHED", f"{NAME}_status"], session_id=emu.new_session(),
                     channels={CHANNEL: {}}, files={f"{NAME}_status": "|ok|ko"})
    assert run.returncode != 0 and "ServiceError: 1 of 2 clean steps did not report ok (ko)" in run.stderr
    assert _statuses(emu) == ["ERROR"]


def test_loop_over_service_instance_status_from_arguments_txt(engine_run, emu):
    emu.add_instance(instance_json("FINISHED", deployments=STORED))
    run = engine_run("Loop_over_service_instance_status", variables=psa_variables(emu), session_id=emu.new_session(),
                     files={"arguments.txt": f"true,false,{TOKEN},spark-master"},
                     channels={CHANNEL: {}}, node_tokens={NODE_1: [TOKEN], NODE_2: [TOKEN]},
                     env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"}).ok()
    assert run.out["variables"]["IS_FINISHED"] == "true"
    assert run.out["node_tokens"] == {NODE_1: [], NODE_2: []} and run.out["channels"] == {}
    assert emu.requests_to("PUT", ".") == []


# --- Singularity: the stand-in on PATH, or named by the node's SINGULARITY_BINARY --------------------------------

def test_check_instance_status_singularity_on_path(engine_run, emu, tmp_path):
    singularity = StandIn(tmp_path / "bin", instances=[NAME])
    emu.add_instance(instance_json("RUNNING"))
    engine_run("Check_Instance_Status_Singularity", variables=psa_variables(emu), session_id=emu.new_session(),
               channels={CHANNEL: {"INSTANCE_NAME": NAME}}, env={"PATH": singularity.env_path()}).ok()
    assert singularity.argv == [["instance", "list", "--json", NAME]]
    assert emu.requests_to("PUT", ".") == []


def test_check_instance_status_with_engine_singularity_sets_error(engine_run, emu, tmp_path):
    singularity = StandIn(tmp_path / "bin", instances=[])
    emu.add_instance(instance_json("RUNNING"))
    run = engine_run("Check_Instance_Status", session_id=emu.new_session(), channels={CHANNEL: {}},
                     variables=psa_variables(emu, ENGINE="singularity"), env={"SINGULARITY_BINARY": str(singularity.path)})
    assert run.returncode != 0 and f"ServiceError: container {NAME} is not running" in run.stderr
    assert _statuses(emu) == ["ERROR"] and run.out["variables"]["IS_FINISHED"] == "true"
    assert singularity.argv == [["instance", "list", "--json", NAME]]


def test_finish_singularity_service(engine_run, tmp_path):
    singularity = StandIn(tmp_path / "bin", instances=[NAME])
    run = engine_run("Finish_Singularity_Service", variables={"INSTANCE_NAME": NAME},
                     env={"PATH": singularity.env_path()}).ok()
    assert (run.workdir / f"{NAME}_status").read_text() == NAME
    assert singularity.argv[-1] == ["instance", "stop", NAME] and singularity.instances == []


def test_a_workflow_variable_cannot_name_the_singularity_command(engine_run, tmp_path):
    """A variable naming ``sh`` once ran ``./instance`` from the localspace: refused, nothing runs."""
    singularity = StandIn(tmp_path / "bin", instances=[NAME])
    run = engine_run("Finish_Singularity_Service", variables={"INSTANCE_NAME": NAME, "SINGULARITY_BINARY": "sh"},
                     files={"instance": "touch ran-from-localspace\n"}, env={"PATH": singularity.env_path() + ":/bin"})
    assert run.returncode != 0
    assert ("psa_scripts.errors.InputError: SINGULARITY_BINARY is set as a workflow variable: it names a program "
            "to run on the node, so it is read from the node's environment only") in run.stderr
    assert singularity.argv == [] and not (run.workdir / "ran-from-localspace").exists()
    assert not (run.workdir / f"{NAME}_status").exists()


def test_pause_and_resume_singularity_service(engine_run, tmp_path):
    singularity = StandIn(tmp_path / "bin", instances=[NAME])
    pause = engine_run("Pause_Singularity_Service", variables={"INSTANCE_NAME": NAME},
                       env={"SINGULARITY_BINARY": str(singularity.path)}).ok()
    assert (pause.workdir / f"{NAME}_status").read_text() == NAME and "cannot pause" in pause.stdout
    singularity.set(instances=[])
    resume = engine_run("Resume_Singularity_Service", variables={"INSTANCE_NAME": NAME},
                        env={"PATH": singularity.env_path()}).ok()
    assert (resume.workdir / f"{NAME}_status").read_text().startswith(f"Singularity instance {NAME} is not running")
