"""psa validate: a service's own inline script that does a lifecycle script's work is not flagged
as missing that script (the shapes the public PSA workflows have once migrated: see
tests/test_migrate_public.py), and the multi-deployment scripts stand for the trigger ones."""

from pathlib import Path

from psa_scripts.validate import default_known, validate_file
from test_migrate import bash, job, ref, slot, task

BUNDLES = Path(__file__).resolve().parents[1] / "bundles"
PYTHON = "${PA_CATALOG_REST_URL}/buckets/service-automation-python/resources/"


def py(name, args=()):
    return ref(name, "cpython", args, base=PYTHON)


def groovy(code):
    return f'<code language="groovy"><![CDATA[{code}]]></code>'


def errors(tmp_path, text):
    path = tmp_path / "w.xml"
    path.write_text(text)
    return [(f.code, f.message) for f in validate_file(path, default_known(BUNDLES)) if f.severity == "error"]


def loop(script):
    return ('      <controlFlow>\n        <loop target="Loop">\n          <script>' + script
            + "</script>\n        </loop>\n      </controlFlow>\n")


def deployment(pre, loop_task):
    start = task("Start", slot("selection", py("Check_Not_Used_By_Other_Service")), pre,
                 slot("scriptExecutable", bash()), slot("post", py("Post_Start_Service")),
                 slot("cleaning", py("Clean_Start_Service")))
    return job(start, loop_task, variables='    <variable name="PROXYFIED" value="true"/>\n'
               '    <variable name="INSTANCE_NAME" value="svc-$PA_JOB_ID"/>\n'
               '    <variable name="ENDPOINT_ID" value="svc-$PA_JOB_ID"/>\n')


LOOP = task("Loop", slot("scriptExecutable", py("Check_Instance_Status")), loop(py("Fetch_Logs")), depends=["Start"],
            gi='      <genericInformation><info name="NODE_ACCESS_TOKEN" value="PSA_$INSTANCE_NAME"/>'
               "</genericInformation>\n")


def test_a_pre_script_of_its_own_making_the_proxy_url_stands_for_pre_start_service(tmp_path):
    own = slot("pre", groovy('variables.put("PROXYFIED_URL", url)'))
    assert errors(tmp_path, deployment(own, LOOP)) == []
    other = slot("pre", groovy('println "hello"'))
    assert [code for code, _ in errors(tmp_path, deployment(other, LOOP))] == ["PSA210"]


def test_a_loop_script_of_its_own_ending_on_is_finished_is_a_status_loop(tmp_path):
    pre = slot("pre", py("Pre_Start_Service"))
    own = LOOP.replace(py("Fetch_Logs"), groovy('loop = variables.get("IS_FINISHED") ? false : "*/1 * * * *"'))
    assert errors(tmp_path, deployment(pre, own)) == []
    other = LOOP.replace(py("Fetch_Logs"), groovy('loop = "*/1 * * * *"'))
    assert [code for code, _ in errors(tmp_path, deployment(pre, other))] == ["PSA212"]


def test_an_executable_of_its_own_setting_is_finished_may_loop_on_fetch_logs(tmp_path):
    pre = slot("pre", py("Pre_Start_Service"))
    own = LOOP.replace(py("Check_Instance_Status"), groovy('if (gone) { variables.put("IS_FINISHED", true) }'))
    assert errors(tmp_path, deployment(pre, own)) == []
    other = LOOP.replace(py("Check_Instance_Status"), groovy('println "alive"'))
    assert [code for code, _ in errors(tmp_path, deployment(pre, other))] == ["PSA212"]


def test_a_multi_deployment_finish_sets_the_status_and_removes_tokens_with_its_own_scripts(tmp_path):
    trigger = task("Trigger", slot("scriptExecutable", py("Pre_Trigger_Action", ["FINISH_LAUNCHED"])))
    status = task("Status", slot("scriptExecutable", bash()),
                  slot("post", py("Set_service_FINISHED_if_all_clean_OK", ["FINISHED", "${INSTANCE_NAME}_status"])),
                  depends=["Trigger"])
    tokens = task("Tokens", slot("scriptExecutable", py("Update_service_and_remove_tokens",
                                                        ["null", "PSA_$INSTANCE_NAME"])), depends=["Status"])
    states = "(RUNNING,FINISHED)(ERROR,FINISHED)"
    assert errors(tmp_path, job(trigger, status, tokens, states=states)) == []
    assert [message for _, message in errors(tmp_path, job(trigger, states=states))] == [
        "this action workflow runs no Post_Trigger_Action", "this action workflow runs no Clean_Trigger_Action"]
