"""Bash scripts run as ProActive's native shell engine runs them, for ``psa run``.

What the engine does (ow2-proactive/jsr223-nativeshell: NativeShellRunner.java,
NativeShellScriptEngine.java, bash/Bash.java; docs/run.md has the list with its sources):

- The script's text, trimmed, plus a line end, is written to a temporary ``.bash`` file and run
  as ``bash <file> <arg>...``: the script reference's arguments are the positional parameters.
- Every binding becomes environment variables (on top of the node's environment): a map binding
  one per entry, ``<binding>_<key>`` (``variables_INSTANCE_NAME``, ``genericInformation_X``); a
  list or array one per element, ``<binding>_<index>`` (``args_0``, ``results_0``); anything else
  ``<binding>=<value>`` (``localspace``). Values are Java's ``toString()``: ``true``/``false`` for
  booleans, empty for null.
- The exit status is the outcome: non-zero fails the script ("Script failed with exit code N");
  either way ``EXIT_VALUE`` is put in the variables. A bash script cannot write variables.
- Unless the generic information ``DISABLE_PTK`` is true, processes the script left behind are
  killed when it ends (ProActive finds them by a cookie in their environment; here, by the
  script's process group).

The working directory is the task's (its localspace, as ProActive's TaskLauncher gives a forked
task): the caller says which. Nothing here builds a shell command: the script file is bash's
first argument and every value travels in the environment or as an argument.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional

from .run_control import RunControl
from .script_process import run_process

LANGUAGES = ("bash",)
# The slots a bash script can stand in (a selection or flow script must hand a value back).
SLOTS = ("pre", "executable", "post", "cleaning")
EXIT_VALUE = "EXIT_VALUE"
DISABLE_PTK = "DISABLE_PTK"


def plays(language: Optional[str], slot: str) -> bool:
    """Whether a script of ``language`` in ``slot`` is one this module runs."""
    return (language or "").lower() in LANGUAGES and slot in SLOTS


def slot_refusal(language: Optional[str], slot: str) -> Optional[str]:
    """Why a bash script cannot stand in ``slot`` (None: it can, or it is not bash)."""
    if (language or "").lower() not in LANGUAGES or slot in SLOTS:
        return None
    return (f"a {slot} script must hand a value back ({'selected' if slot == 'selection' else 'loop, branch or runs'}), "
            "which a bash script cannot")


@dataclass
class ShellRun:
    """How a bash script ended: its exit status, its output lines (stdout and stderr interleaved)."""

    exit_code: int
    lines: List[str] = field(default_factory=list)
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    @property
    def error(self) -> Optional[str]:
        """The engine's message for a failure (None when the script succeeded)."""
        if self.timed_out:
            return "Script killed: it ran past its time limit"
        return None if self.ok else f"Script failed with exit code {self.exit_code}"


def java_string(value: Any) -> str:
    """``value`` as Java's ``toString()`` shows it: booleans in lower case, null as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def environment(bindings: Mapping[str, Any], base: Mapping[str, str]) -> Dict[str, str]:
    """``base`` plus every binding, exported as the native shell engine exports them."""
    env = dict(base)
    for name, value in bindings.items():
        if isinstance(value, Mapping):
            env.update({f"{name}_{key}": java_string(item) for key, item in value.items()})
        elif isinstance(value, (list, tuple)):
            env.update({f"{name}_{index}": java_string(item) for index, item in enumerate(value)})
        else:
            env[name] = java_string(value)
    return env


def run_bash(script: str, bindings: Mapping[str, Any], *, cwd: str, base_environment: Mapping[str, str],
             on_line: Callable[[str], None] = lambda line: None, timeout: float = 600.0,
             bash: str = "bash", control: Optional[RunControl] = None) -> ShellRun:
    """Run ``script`` with ``bindings`` (``args``: the positional parameters; ``genericInformation``:
    ``DISABLE_PTK`` read there) in ``cwd``; each output line goes to ``on_line`` as it comes. The
    process runs as every script of ``psa run`` does (``script_process.run_process``: its own
    process group, killed past ``timeout``, on a forced stop through ``control``, and at its end
    unless ``DISABLE_PTK``)."""
    arguments = [java_string(a) for a in bindings.get("args") or ()]
    info = bindings.get("genericInformation") or {}
    keep_children = java_string(info.get(DISABLE_PTK)).lower() == "true"
    env = environment(bindings, base_environment)
    handle, path = tempfile.mkstemp(prefix="jsr223nativeshell-", suffix=".bash")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(script.strip() + os.linesep)
        ended = run_process([bash, path, *arguments], cwd=cwd, environ=env, on_line=on_line, timeout=timeout,
                            control=control, keep_children=keep_children)
        return ShellRun(ended.code, ended.lines, ended.timed_out)
    finally:
        os.unlink(path)
