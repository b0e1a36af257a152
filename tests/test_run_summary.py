"""psa run's last line (psa_scripts.workflow.summary): what ended how, what is left in words, and a hint
where the status alone would leave a user guessing."""

from psa_scripts.workflow.run_report import RunReport, WorkflowRun
from psa_scripts.workflow.summary import left_behind, summary


def report(status, left=None, failed=None):
    workflows = [WorkflowRun("Tiny_Httpd", "1", "VOID -> RUNNING", ok=failed is None, reason=failed)]
    return RunReport(instance={"instance_id": 1, "instance_status": status}, workflows=workflows,
                     left_behind=left or {})


def test_a_clean_run_is_one_short_line():
    assert summary(report("FINISHED", {"node_tokens": [], "channels": []})) == \
        "psa run: instance 1 ended FINISHED; nothing left behind"


def test_what_is_left_is_named_in_words_not_as_a_dict():
    assert left_behind({"node_tokens": ["PSA_web-1"], "channels": ["Service_Instance_1"], "containers": []}) == \
        "node token PSA_web-1, channel Service_Instance_1"


def test_an_error_with_leftovers_says_which_action_releases_them():
    line = summary(report("ERROR", {"node_tokens": ["PSA_web-1"]}, failed="task Start failed: boom"))
    assert line == ("psa run: instance 1 ended ERROR; left behind: node token PSA_web-1; FAILED: task Start failed: "
                    "boom; the instance is in ERROR (its finish action releases what is left: give it with --then "
                    "<its Finish workflow>)")


def test_a_deployment_failing_before_its_start_task_gets_a_hint_not_a_bare_transition():
    line = summary(report("VOID -> RUNNING", failed="task Prepare failed: no disk"))
    assert line.startswith("psa run: instance 1 ended VOID -> RUNNING; nothing left behind; FAILED: task Prepare "
                           "failed: no disk (the deployment failed before a lifecycle script could set the status")
    assert "see the first failed task above" in line
