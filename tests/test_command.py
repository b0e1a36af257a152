"""containers/command.py: run_command, what subprocess.run(capture_output, stdin=DEVNULL, timeout)
does for the Singularity actions, on real processes.

What a script relies on: separate stdout and stderr, the exit code (negative for a signal),
stdin at its end, the deadline kills the whole process group, nothing is left (no process, no
descriptor) whether it ends, times out, fails to start or the script is interrupted.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from psa_scripts.containers import command
from engine_support import wait_until
from psa_run_process import gone

from psa_scripts.containers.command import CommandTimeout, run_command

SH = "/bin/sh"
SOURCE_ROOT = str(Path(command.__file__).resolve().parents[2])


def open_descriptors():
    return sorted(int(fd) for fd in os.listdir("/proc/self/fd"))


def test_stdout_stderr_and_exit_code_come_back_apart():
    done = run_command([SH, "-c", "echo out; echo err >&2; exit 3"], 10)
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")


def test_a_program_killed_by_a_signal_has_its_negative_number():
    assert run_command([SH, "-c", "kill -TERM $$"], 10).returncode == -signal.SIGTERM


def _script(tmp_path, body):
    """A Python file that runs ``body`` (with os, sys and run_command imported) in a fresh interpreter."""
    script = tmp_path / "script.py"
    script.write_text(f"import os, sys\nsys.path.insert(0, {SOURCE_ROOT!r})\n"
                      "from psa_scripts.containers.command import run_command\n" + textwrap.dedent(body))
    return script


def _in_a_script(tmp_path, body):
    """Run ``body`` (see _script) to its end; what it printed."""
    return subprocess.run([sys.executable, "-I", str(_script(tmp_path, body))], capture_output=True, text=True,
                          timeout=60)


def test_stdin_is_at_its_end_though_the_script_s_own_never_ends(tmp_path):
    """The cpython engine's stdin is a pipe that never reaches its end: the command must not
    inherit it (a `cat` would wait for ever)."""
    script = _script(tmp_path, """
        done = run_command(['/bin/sh', '-c', 'cat; echo read-all'], 5)
        print(done.returncode, done.stdout.strip())
    """)
    with subprocess.Popen([sys.executable, "-I", str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as script_process:
        try:  # its stdin stays open, never written, as the engine's
            printed = script_process.stdout.read()
            script_process.wait(timeout=60)
        finally:
            script_process.kill()
    assert printed == "0 read-all\n", script_process.stderr.read()


def test_the_program_gets_its_signals_at_their_defaults_none_blocked():
    """Python ignores SIGPIPE and SIGXFSZ, and an ignored signal stays ignored across exec: the
    program gets them back at their default (as subprocess restores them); none is blocked,
    though SIGINT and SIGTERM are held while it starts."""
    status = run_command(["/bin/cat", "/proc/self/status"], 10).stdout  # cat touches no signal
    masks = {line.split(":")[0]: int(line.split()[1], 16) for line in status.splitlines()
             if line.startswith(("SigBlk:", "SigIgn:"))}
    assert masks["SigBlk"] == 0
    assert not masks["SigIgn"] & (1 << (signal.SIGPIPE - 1) | 1 << (signal.SIGXFSZ - 1))
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == set()  # and this process holds nothing after


def test_the_arguments_reach_the_program_as_they_are_never_through_a_shell():
    done = run_command([SH, "-c", 'printf "%s|" "$@"', "sh", "a b", "$HOME", ";rm -rf x", "*"], 10)
    assert done.stdout == "a b|$HOME|;rm -rf x|*|"


def test_the_environment_is_the_process_s_unless_given(monkeypatch):
    monkeypatch.setenv("PSA_COMMAND_TEST", "from-the-node")
    assert run_command([SH, "-c", "echo $PSA_COMMAND_TEST"], 10).stdout == "from-the-node\n"
    assert run_command([SH, "-c", "echo [$PSA_COMMAND_TEST]"], 10, environ={"A": "1"}).stdout == "[]\n"


def test_the_engine_s_gateway_secret_is_not_passed_on_its_process_tree_cookie_is(monkeypatch):
    """jsr223-cpython gives the script CPYTHON_TOKEN (its py4j gateway's secret) and a cookie
    variable by which it kills what the task left: the command gets the cookie, not the secret."""
    monkeypatch.setenv("CPYTHON_TOKEN", "gateway-secret")
    monkeypatch.setenv("PROCESS_KILLER_COOKIE_CPython_Job7Task1", "cookie")
    for given in (None, {"CPYTHON_TOKEN": "gateway-secret", "PROCESS_KILLER_COOKIE_CPython_Job7Task1": "cookie"}):
        printed = run_command(["/usr/bin/env"], 10, environ=given).stdout
        assert "gateway-secret" not in printed and "PROCESS_KILLER_COOKIE_CPython_Job7Task1=cookie\n" in printed
    assert os.environ["CPYTHON_TOKEN"] == "gateway-secret"  # this process's own is untouched


def test_output_that_is_not_utf8_is_read_with_replacement_characters():
    assert run_command([SH, "-c", r"printf 'caf\351\n'"], 10).stdout == "caf\ufffd\n"


def test_output_beyond_the_limit_is_read_and_dropped_so_the_program_ends(monkeypatch):
    monkeypatch.setattr(command, "OUTPUT_LIMIT", 1000)
    done = run_command([SH, "-c", "head -c 3000000 /dev/zero | tr '\\0' x; echo done >&2"], 30)
    assert (done.returncode, done.stdout, done.stderr) == (0, "x" * 1000, "done\n")


def test_the_limit_holds_across_reads(monkeypatch):
    """Output that comes in pieces (the program pauses between them): the first bytes up to
    the limit, whatever the size of each read."""
    monkeypatch.setattr(command, "OUTPUT_LIMIT", 1000)
    done = run_command([SH, "-c", "head -c 600 /dev/zero | tr '\\0' a; sleep 0.2; "
                                  "head -c 3000 /dev/zero | tr '\\0' b"], 30)
    assert done.stdout == "a" * 600 + "b" * 400


def test_at_the_deadline_the_whole_process_group_is_killed(tmp_path):
    pids = tmp_path / "pids"
    before = open_descriptors()
    started = time.monotonic()
    with pytest.raises(CommandTimeout):
        # A background child keeps the output open: killing the shell alone would leave it.
        run_command([SH, "-c", f"sleep 60 & echo $$ $! > {pids}; wait"], 0.5)
    assert time.monotonic() - started < 30
    shell, child = map(int, pids.read_text().split())
    with pytest.raises(ChildProcessError):  # reaped, not left a zombie of ours
        os.waitpid(shell, os.WNOHANG)
    assert gone([child]), "the background child outlived the deadline"
    assert open_descriptors() == before


def test_a_program_that_closes_its_output_but_runs_on_times_out_and_is_killed(tmp_path):
    pid_file = tmp_path / "pid"
    with pytest.raises(CommandTimeout):
        run_command([SH, "-c", f"exec >&- 2>&-; echo $$ > {pid_file}; sleep 60"], 0.5)
    assert gone([int(pid_file.read_text())])


def test_a_program_that_closes_its_output_early_is_waited_for_to_its_deadline():
    """Closing its output is not the end: its exit status is waited for, up to the deadline."""
    done = run_command([SH, "-c", "exec >&- 2>&-; sleep 0.6; exit 5"], 1.5)
    assert (done.returncode, done.stdout, done.stderr) == (5, "", "")


def test_a_program_that_cannot_start_is_an_os_error_and_leaves_nothing(tmp_path):
    before = open_descriptors()
    with pytest.raises(FileNotFoundError):
        run_command([str(tmp_path / "none")], 10)
    not_executable = tmp_path / "plain"
    not_executable.write_text("echo hi\n")
    with pytest.raises(PermissionError):
        run_command([str(not_executable)], 10)
    assert open_descriptors() == before


def test_an_inherited_descriptor_3_is_closed_in_the_program_too(tmp_path):
    done = _in_a_script(tmp_path, """
        read_end, write_end = os.pipe()
        os.dup2(write_end, 3, inheritable=True)
        print(run_command(["/bin/sh", "-c", "ls /proc/$$/fd"], 10).stdout.split())
    """)
    assert done.stdout == "['0', '1', '2']\n", done.stderr


def test_inherited_descriptors_are_closed_in_the_program():
    read_end, write_end = os.pipe()
    os.set_inheritable(write_end, True)
    try:
        done = run_command([SH, "-c", "ls /proc/$$/fd"], 10)
    finally:
        os.close(read_end)
        os.close(write_end)
    assert sorted(int(fd) for fd in done.stdout.split()) == [0, 1, 2]


def test_an_interrupted_script_kills_the_program_it_was_waiting_for(tmp_path):
    """Ctrl-C (or the engine stopping the task) while a command runs: the script ends and the
    command's process group with it."""
    pids = tmp_path / "pids"
    script = _script(tmp_path, f"""
        run_command(["/bin/sh", "-c", "sleep 60 & echo $$ $! > {pids}; wait"], 60)
    """)
    script_process = subprocess.Popen([sys.executable, "-I", str(script)], stderr=subprocess.PIPE)
    try:
        wait_until(lambda: pids.exists() and len(pids.read_text().split()) == 2, what="the command's pids")
        script_process.send_signal(signal.SIGINT)
        _, stderr = script_process.communicate(timeout=30)
    finally:
        script_process.kill()
        script_process.wait()
    assert b"KeyboardInterrupt" in stderr
    shell, child = map(int, pids.read_text().split())
    assert gone([shell, child]), "the command outlived the script"
