"""One script run as the ``cpython`` engine runs it: a fresh interpreter, its output line by line.

The script's text sits between the engine's prologue and epilogue, with the gateway in place
of py4j (7 lines before the script, like the engine's: traceback line numbers are shifted the
same way). The interpreter starts in a session of its own: when it exits, or outlives its
timeout, or the run is forced to stop, its whole process group is killed (the script and any
child it left running, as a ProActive node's process tree killer does at the end of a task),
so a background child holding the output cannot hold the run.
"""

from __future__ import annotations

import subprocess
import threading
from dataclasses import dataclass
from typing import Callable, List, Mapping, Optional, Sequence

from .run_control import RunControl, kill_group
from .run_error import RunError

PROLOGUE = """\
import os
import sys
sys.path.append(os.getcwd())
from psa_scripts.workflow.gateway import bindings as _psa_bindings, write_back as _psa_write_back
locals().update(_psa_bindings())
del _psa_bindings
# --- the script ---
"""
EPILOGUE = """\
_psa_write_back(globals())
sys.exit()
"""
OUTPUT_GRACE = 2.0  # seconds the output reader gets, once the group is killed, to reach the end of the pipe


@dataclass
class ScriptExit:
    """How a script's interpreter ended: its exit code, every line it printed, and whether it
    was killed for outliving its timeout."""

    code: int
    lines: List[str]
    timed_out: bool = False


def write_script(path: str, text: str) -> None:
    """The script file the interpreter runs: prologue, the script's text, epilogue."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(PROLOGUE + text + "\n" + EPILOGUE)


def run_script_file(python: str, path: str, *, cwd: str, environ: Mapping[str, str],
                    on_line: Callable[[str], None], timeout: float, control: RunControl) -> ScriptExit:
    """Run ``path`` with ``python`` (``run_process``)."""
    return run_process([python, "-u", path], cwd=cwd, environ=environ, on_line=on_line, timeout=timeout,
                       control=control)


def run_process(command: Sequence[str], *, cwd: str, environ: Mapping[str, str], on_line: Callable[[str], None],
                timeout: float, control: Optional[RunControl] = None, keep_children: bool = False) -> ScriptExit:
    """Run ``command`` (a script's interpreter and its file: never a shell line) in a session of its
    own; each output line to ``on_line`` as it comes. Its process group is killed past ``timeout``
    seconds, when ``control`` forces the run to stop, and once it exits (what it left running ends
    with it, unless ``keep_children``); the output is read until it exits, then for a short grace,
    so a child holding the output cannot hold the caller."""
    lines: List[str] = []
    try:
        process = subprocess.Popen(list(command), cwd=cwd, env=dict(environ),
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, encoding="utf-8", errors="replace", start_new_session=True)
    except OSError as error:
        raise RunError(f"cannot start {command[0]}: {error.strerror or error}") from None
    if control is not None:
        control.started(process.pid)  # its own session: the group id is its pid

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip("\n")
            lines.append(line)
            on_line(line)

    reader = threading.Thread(target=read, name="psa-run-script-output", daemon=True)
    reader.start()
    timed_out = False
    try:
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_group(process.pid)
            code = process.wait()
    finally:
        if not keep_children or timed_out or process.returncode is None:
            kill_group(process.pid)
        if control is not None:
            control.ended(process.pid)
        reader.join(OUTPUT_GRACE)
        if process.stdout is not None and not reader.is_alive():
            process.stdout.close()
    return ScriptExit(code, list(lines), timed_out)


def last_words(lines: Sequence[str]) -> Optional[str]:
    """The line that says what went wrong: the last non-blank line of the output."""
    return next((line.strip() for line in reversed(lines) if line.strip()), None)
