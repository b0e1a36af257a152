"""One script run as the ``cpython`` engine runs it: a fresh interpreter, its output line by line.

The script's text sits between the engine's prologue and epilogue, with the gateway in place
of py4j (7 lines before the script, like the engine's: traceback line numbers are shifted the
same way). The interpreter starts in a session of its own, so the whole process group (the
script and any child it spawned) can be ended at once.
"""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass
from typing import Callable, List, Mapping, Optional, Sequence

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


@dataclass
class ScriptExit:
    """How a script's interpreter ended: its exit code and every line it printed."""

    code: int
    lines: List[str]


def write_script(path: str, text: str) -> None:
    """The script file the interpreter runs: prologue, the script's text, epilogue."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(PROLOGUE + text + "\n" + EPILOGUE)


def run_script_file(python: str, path: str, *, cwd: str, environ: Mapping[str, str],
                    on_line: Callable[[str], None], timeout: float) -> ScriptExit:
    """Run ``path`` with ``python``; each output line to ``on_line`` as it comes; killed past ``timeout``."""
    lines: List[str] = []
    try:
        process = subprocess.Popen([python, "-u", path], cwd=cwd, env=dict(environ),
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, encoding="utf-8", errors="replace", start_new_session=True)
    except OSError as error:
        raise RunError(f"cannot start {python}: {error.strerror or error}") from None
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip("\n")
            lines.append(line)
            on_line(line)
        code = process.wait()
    finally:
        timer.cancel()
        if process.stdin is not None:
            process.stdin.close()
    return ScriptExit(code, lines)


def last_words(lines: Sequence[str]) -> Optional[str]:
    """The line that says what went wrong: the last non-blank line of the output."""
    return next((line.strip() for line in reversed(lines) if line.strip()), None)
