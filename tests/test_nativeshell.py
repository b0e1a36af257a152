"""Bash scripts as ProActive's native shell engine runs them (psa_scripts.workflow.nativeshell):
real bash processes; what reaches the script, what its exit status means, what is left behind."""

import os
import time

import pytest

from psa_scripts.workflow.nativeshell import environment, java_string, run_bash

BASE = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def run(script, bindings=None, cwd=None, **kwargs):
    lines = []
    outcome = run_bash(script, bindings or {}, cwd=str(cwd or os.getcwd()), base_environment=BASE,
                       on_line=lines.append, **kwargs)
    assert outcome.lines == lines  # each line was handed over as it came
    return outcome


def test_bindings_are_exported_as_the_engine_exports_them():
    env = environment({"variables": {"INSTANCE_NAME": "svc-1", "PROXYFIED": True, "EMPTY": None},
                       "genericInformation": {"NODE_ACCESS_TOKEN": "PSA_svc-1"},
                       "args": ["FINISHED", 3], "localspace": "/tmp/space", "results": []}, {"HOME": "/root"})
    assert env == {"HOME": "/root", "variables_INSTANCE_NAME": "svc-1", "variables_PROXYFIED": "true",
                   "variables_EMPTY": "", "genericInformation_NODE_ACCESS_TOKEN": "PSA_svc-1",
                   "args_0": "FINISHED", "args_1": "3", "localspace": "/tmp/space"}


@pytest.mark.parametrize("value, shown", [(None, ""), (False, "false"), (42, "42"), (42.0, "42.0"), ("x", "x")])
def test_values_read_as_java_prints_them(value, shown):
    assert java_string(value) == shown


def test_variables_generic_information_and_arguments_reach_the_script(tmp_path):
    script = 'echo "$variables_INSTANCE_NAME|$genericInformation_X|$1|$2|$#|$args_1"'
    outcome = run(script, {"variables": {"INSTANCE_NAME": "svc-1"}, "genericInformation": {"X": "y"},
                           "args": ["one two", "$(touch pwned)"]}, tmp_path)
    assert outcome.ok and outcome.lines == ["svc-1|y|one two|$(touch pwned)|2|$(touch pwned)"]
    assert not (tmp_path / "pwned").exists()  # values are data, never shell text


def test_the_exit_status_is_the_outcome():
    assert run("exit 0").ok
    failed = run("echo about to fail\nexit 3")
    assert (failed.ok, failed.exit_code, failed.error) == (False, 3, "Script failed with exit code 3")
    assert failed.lines == ["about to fail"]
    assert run("false").exit_code == 1  # the last command's status, as bash gives it


def test_the_working_directory_is_the_tasks_and_stderr_is_in_the_log(tmp_path):
    outcome = run('pwd\necho "$variables_N" > "$variables_N"_status\necho oops >&2', {"variables": {"N": "svc"}}, tmp_path)
    assert outcome.lines == [str(tmp_path), "oops"]
    assert (tmp_path / "svc_status").read_text() == "svc\n"


def test_the_script_is_trimmed_and_run_from_a_temporary_file_removed_after():
    outcome = run('\n\n  echo "$0"')  # no line end of its own; leading blank lines and spaces trimmed
    script_file = outcome.lines[0]
    assert os.path.basename(script_file).startswith("jsr223nativeshell-") and script_file.endswith(".bash")
    assert not os.path.exists(script_file)


def _gone(pid, deadline=10.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            with open(f"/proc/{pid}/stat") as stat:  # a zombie (exited, not yet reaped) is gone too
                if stat.read().split(") ")[1].startswith("Z"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_processes_left_behind_are_killed_unless_disable_ptk(tmp_path):
    script = "sleep 300 >/dev/null 2>&1 &\necho $!"
    killed = int(run(script).lines[0])
    assert _gone(killed)
    kept = int(run(script, {"genericInformation": {"DISABLE_PTK": "true"}}).lines[0])
    try:
        assert not _gone(kept, deadline=0.2)
    finally:
        os.kill(kept, 9)


def test_a_script_past_its_time_limit_is_killed():
    outcome = run("echo started\nsleep 30", timeout=0.5)
    assert (outcome.ok, outcome.timed_out, outcome.lines) == (False, True, ["started"])
    assert outcome.error == "Script killed: it ran past its time limit"


def test_output_is_read_as_utf_8_with_bad_bytes_replaced_and_spaces_kept():
    outcome = run("printf 'caf\\303\\251 \\377  \\n'\nread line; echo \"stdin: [$line]\"")
    assert outcome.ok and outcome.lines == ["caf\u00e9 \ufffd  ", "stdin: []"]  # no input: an empty stdin


def _in_thread(target):
    """Run ``target`` in a thread; the thread and what ``target`` gives back (a list of one)."""
    import threading

    given = []
    thread = threading.Thread(target=lambda: given.append(target()), daemon=True)
    thread.start()
    return thread, given


def test_a_kept_child_holding_the_output_does_not_hold_the_script(tmp_path):
    # DISABLE_PTK keeps the child, and the child keeps bash's stdout open for ever: the run must
    # still end once bash has exited (the output is read for a short grace, not to its end).
    pid_file = tmp_path / "child.pid"
    script = f"sleep 100000 &\necho $! > {pid_file}\necho started"
    thread, given = _in_thread(lambda: run(script, {"genericInformation": {"DISABLE_PTK": "true"}}))
    try:
        thread.join(30)
        assert not thread.is_alive(), "a child holding bash's output held the script"
        assert given[0].ok and given[0].lines == ["started"]
    finally:
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), 9)


def test_a_forced_stop_kills_a_running_bash_script_and_its_children():
    from psa_scripts.workflow.run_control import RunControl

    control = RunControl()
    thread, given = _in_thread(lambda: run("sleep 100000 &\nsleep 100000", control=control))
    deadline = time.monotonic() + 10
    while not control._groups and time.monotonic() < deadline:  # registered once started
        time.sleep(0.01)
    assert control._groups, "the bash script never registered its process group"
    control.stop("SIGINT")
    assert control.stop("SIGINT") is True  # the second request forces: every group killed
    thread.join(30)
    assert not thread.is_alive() and given[0].ok is False
    assert control._groups == set()
