"""psa run's closing lines (psa_scripts.workflow.summary): what ended how, what is left in words with
how it goes, and a hint where the status alone would leave a user guessing."""

from psa_scripts.workflow.run_report import RunReport, WorkflowRun
from psa_scripts.workflow.summary import summary_lines


def report(status, left=None, failed=None):
    workflows = [WorkflowRun("Tiny_Httpd", "1", "VOID -> RUNNING", ok=failed is None, reason=failed)]
    return RunReport(instance={"instance_id": 1, "instance_status": status}, workflows=workflows,
                     left_behind=left or {})


def lines(status, left=None, failed=None, engine="memory"):
    return summary_lines(report(status, left, failed), engine, None, keep=False)


def test_a_clean_run_is_one_short_line():
    assert lines("FINISHED", {"node_tokens": [], "channels": []}) == \
        ["psa run: instance 1 ended FINISHED; nothing left behind"]


def test_what_is_left_is_named_in_words_a_line_each_not_as_a_dict():
    assert lines("RUNNING", {"node_tokens": ["PSA_web-1"], "channels": ["Service_Instance_1"], "containers": []}) == [
        "psa run: instance 1 ended RUNNING; left behind:",
        "  node token PSA_web-1: in the run's own PSA, gone with this run (the service did not release it)",
        "  synchronization channel Service_Instance_1: in the run's own PSA, gone with this run (the service did "
        "not release it)"]


def test_a_container_left_on_a_real_engine_comes_with_its_remove_command_quoted():
    found = summary_lines(report("RUNNING", {"containers": ["web 1"]}), "docker", "unix:///a b.sock", keep=False)
    assert found[1] == "  container web 1: remove it with: docker --host 'unix:///a b.sock' rm -f 'web 1'"


def test_an_error_with_leftovers_says_which_action_releases_them():
    found = lines("ERROR", {"node_tokens": ["PSA_web-1"]}, failed="task Start failed: boom")
    assert found[0] == ("psa run: instance 1 ended ERROR; FAILED: task Start failed: boom; the instance is in "
                        "ERROR (its finish action releases what is left: give it with --then <its Finish workflow>); "
                        "left behind:")


def test_a_deployment_failing_before_its_start_task_gets_a_hint_not_a_bare_transition():
    assert lines("VOID -> RUNNING", failed="task Prepare failed: no disk") == [
        "psa run: instance 1 ended VOID -> RUNNING; FAILED: task Prepare failed: no disk (the deployment failed "
        "before a lifecycle script could set the status (Clean_Start_Service, the cleaning script of the deployment "
        "task, sets ERROR): PSA would show this transition for ever; see the first failed task above); nothing left "
        "behind"]


def test_a_forced_stop_says_which_signal_and_that_the_ending_did_not_run():
    forced = report("RUNNING")
    forced.stopped_by, forced.forced = "SIGINT", True
    assert summary_lines(forced, "memory", None, keep=False) == [
        "psa run: instance 1 ended RUNNING; FAILED: forced to stop (SIGINT, twice): its ending did not run; "
        "nothing left behind"]


def test_a_failed_workflow_without_a_reason_is_named():
    failed = report("RUNNING")
    failed.workflows[0].ok = False
    assert summary_lines(failed, "memory", None, keep=False)[0] == \
        "psa run: instance 1 ended RUNNING; FAILED: Tiny_Httpd failed; nothing left behind"


def test_a_container_of_the_in_memory_engine_goes_with_the_run():
    assert lines("RUNNING", {"containers": ["web-1"]}, engine="memory") == [
        "psa run: instance 1 ended RUNNING; left behind:",
        "  container web-1: in the in-memory engine, gone with this run"]


def test_a_kept_container_on_the_default_docker_host_is_removed_without_a_host_option():
    found = summary_lines(report("RUNNING", {"containers": ["web-1"]}), "docker", None, keep=True)
    assert found == ["psa run: instance 1 ended RUNNING; left behind:",
                     "  container web-1 (kept running: --keep): remove it with: docker rm -f web-1"]
