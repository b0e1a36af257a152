"""One script's process as psa run runs it (psa_scripts.workflow.script_process.run_process): its
output line by line, what it is given (no input, its own session), how it ends and what ends with it."""

import gc
import locale
import os
import subprocess
import sys
import threading
import warnings

import pytest
from psa_run_process import alive, gone

from psa_scripts.workflow.run_error import RunError
from psa_scripts.workflow.script_process import ScriptExit, run_process

ENVIRON = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def python(code):
    return [sys.executable, "-u", "-c", code]


def run(command, **kwargs):
    handed = []
    kwargs.setdefault("timeout", 60)
    ended = run_process(command, cwd=os.getcwd(), environ=ENVIRON, on_line=handed.append, **kwargs)
    assert ended.lines == handed  # each line was handed over as it came
    return ended


def test_each_line_of_stdout_and_stderr_is_handed_over_whole_by_the_output_reader():
    readers = set()

    def on_line(line):
        thread = threading.current_thread()
        readers.add((thread.name, thread.daemon))  # a reader left on a kept child's output never holds an exit

    code = ('import sys\nprint("one")\nprint("MAX")\nprint("kept  ")\nprint("oops", file=sys.stderr)\nprint()\n'
            'print("last")')
    ended = run_process(python(code), cwd=os.getcwd(), environ=ENVIRON, on_line=on_line, timeout=60)
    assert ended == ScriptExit(0, ["one", "MAX", "kept  ", "oops", "", "last"], False)
    assert readers == {("psa-run-script-output", True)}


def test_the_output_is_read_as_utf_8_whatever_the_callers_locale():
    code = 'import sys\nsys.stdout.buffer.write(b"caf\\xc3\\xa9 \\xff\\n")'
    before = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")  # ASCII: what a pipe would be read as by default
    try:
        ended = run(python(code))
    finally:
        locale.setlocale(locale.LC_CTYPE, before)
    assert ended.lines == ["caf\u00e9 \ufffd"]  # bad bytes replaced, never an error


def test_a_script_reads_no_input_even_when_its_caller_has_some():
    read_end, write_end = os.pipe()
    os.write(write_end, b"typed by someone\n")
    os.close(write_end)
    saved = os.dup(0)
    os.dup2(read_end, 0)
    os.close(read_end)
    try:
        ended = run(python("import sys\nprint(repr(sys.stdin.read()))"))
    finally:
        os.dup2(saved, 0)
        os.close(saved)
    assert ended.lines == ["''"]


LEAVE_A_CHILD = 'import subprocess\nprint(subprocess.Popen(["sleep", "600"]).pid)'


def test_what_a_script_leaves_running_ends_with_it_unless_its_children_are_kept():
    child = int(run(python(LEAVE_A_CHILD)).lines[0])
    assert gone([child])
    kept = int(run(python(LEAVE_A_CHILD), keep_children=True).lines[0])
    try:
        assert alive(kept)
    finally:
        os.kill(kept, 9)


def test_a_script_past_its_timeout_is_killed_and_says_so():
    ended = run(python("import time\ntime.sleep(600)"), timeout=1)
    assert (ended.code, ended.timed_out) == (-9, True)


def test_a_program_that_cannot_start_is_one_line():
    with pytest.raises(RunError) as raised:
        run(["/nonexistent/interpreter", "script.py"])
    assert str(raised.value) == "cannot start /nonexistent/interpreter: No such file or directory"


def test_a_wait_cut_short_still_kills_the_script_and_what_it_started_even_if_kept(tmp_path, monkeypatch):
    """An exception while waiting (a KeyboardInterrupt): the script has not ended, so its group is
    killed even when its children are to be kept, and the exception goes on."""
    pids = tmp_path / "pids"
    code = ('import os, subprocess, time\nchild = subprocess.Popen(["sleep", "600"])\n'
            f'open({str(pids)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")\ntime.sleep(600)')
    wait = subprocess.Popen.wait

    def interrupted(process, timeout=None):
        if timeout is None:  # the wait once the group is killed
            return wait(process)
        ready = threading.Event()
        for _ in range(600):  # until the script wrote its pids: 60 s at most
            if pids.exists() and len(pids.read_text().split()) == 2:
                break
            ready.wait(0.1)
        raise KeyboardInterrupt

    monkeypatch.setattr(subprocess.Popen, "wait", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(python(code), keep_children=True)
    monkeypatch.undo()
    assert gone([int(pid) for pid in pids.read_text().split()])


def test_the_output_pipe_is_closed_not_left_to_the_garbage_collector():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        assert run(python('print("done")')).lines == ["done"]
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
