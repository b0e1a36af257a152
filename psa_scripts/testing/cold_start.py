"""Cold start: a script started the way the ``cpython`` engine starts it, and what it imported.

The catalog scripts run in a fresh interpreter at every status tick of every service, every
minute: what they import at start-up is paid each time. This module starts one run as the
engine does (a new interpreter on one file: a prologue binding the script's bindings as module
globals, the script's text, an epilogue), and reports the modules in ``sys.modules`` at the
end and the milliseconds from the prologue to the end. Two forms of a catalog script: the
*bundled* catalog file (``psa bundle``) and the *installed* one
(``from psa_scripts.scripts import run; run(name, globals())``).

The interpreter runs with ``-I -S``: no site-packages, so no ``.pth`` file of this machine
adds modules to the count (they differ from one machine to the next); the installed form
finds psa_scripts through a ``sys.path`` entry its prologue adds. The floor is
``python -I -S -c "import site"``: the modules any fresh interpreter has (``os``,
``posixpath``, ``stat``...), the same as ``python -I -c pass`` in a bare virtualenv.

Used by the import-set guard (tests/test_cold_start_imports.py, deterministic) and by the
timing table of ``make bench`` (benchmarks/cold_start.py).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, Mapping, Optional, Tuple

from ..bundler import render_script
from ..scripts import SCRIPTS

MARKER = "psa-cold-start:"
SOURCE_ROOT = str(Path(__file__).resolve().parents[2])  # the directory holding psa_scripts/

# What the engine's prologue does before the script (it imports os and sys), with a clock.
_PROLOGUE = "import os, sys, time\n_cold_start_t0 = time.perf_counter()\n"
_INSTALLED = "sys.path.insert(0, {root!r})\nfrom psa_scripts.scripts import run\nrun({name!r}, globals())\n"
_EPILOGUE = ("\nsys.stdout.write('\\n{marker} %.3f %s\\n' % ((time.perf_counter() - _cold_start_t0) * 1000, "
             "' '.join(sorted(sys.modules))))\n").format(marker=MARKER)

# A ``singularity`` that answers what the Singularity actions ask: the instance ``svc-1``
# runs, and stopping it works. A fixed shell script, not our Python: starting it costs little.
STAND_IN_SINGULARITY = """#!/bin/sh
case "$2" in
  list) echo '{"instances": [{"instance": "svc-1", "pid": 4242}]}' ;;
esac
exit 0
"""

_SYNCHRONIZATION = '''
class _Channels:
    """The synchronization API as the engine hands it: Java method names."""
    def __init__(self, channels):
        self.channels = channels
    def channelExists(self, name):
        return name in self.channels
    def createChannelIfAbsent(self, name, persistent):
        return self.channels.setdefault(name, {}) == {}
    def put(self, name, key, value):
        previous = self.channels[name].get(key)
        self.channels[name][key] = value
        return previous
    def get(self, name, key):
        return self.channels[name].get(key)
    def containsKey(self, name, key):
        return key in self.channels[name]
    def keySet(self, name):
        return set(self.channels[name])
synchronizationapi = _Channels({"Service_Instance_7": {"INSTANCE_NAME": "svc-1"}})
'''

# The stdlib-only catalog scripts, each with bindings that take it to the end of a real run
# (bound as module globals, as the engine binds them). None of them reaches the network.
STDLIB_SCRIPTS: Dict[str, str] = {
    "Fetch_Logs": "variables = {'IS_FINISHED': 'false'}\n",
    "Pre_Start_Service": ("variables = {'PROXYFIED': 'true', 'PCA_INSTANCE_ID': '7', 'ENDPOINT_ID': 'web-7',\n"
                          "             'PA_CLOUD_AUTOMATION_REST_URL': 'https://psa.example/cloud-automation-service'}\n"),
    "Pre_Trigger_Action": (_SYNCHRONIZATION + "variables = {'PCA_INSTANCE_ID': '7', 'PA_JOB_ID': '60'}\n"
                           "args = ['FINISH_LAUNCHED']\n"),
    "Check_Not_Used_By_Other_Service": "variables = {}\nnodeTokens = ['gpu']\n",
    "Finish_Singularity_Service": "variables = {'INSTANCE_NAME': 'svc-1'}\n",
    "Pause_Singularity_Service": "variables = {'INSTANCE_NAME': 'svc-1'}\n",
    "Resume_Singularity_Service": "variables = {'INSTANCE_NAME': 'svc-1'}\n",
}
EMPTY = "empty script"  # the floor: the prologue and epilogue around bindings only
FORMS = ("bundled", "installed")

# The commands a Singularity action runs in the runs above: its work, which no script can skip.
# Its floor is the empty script running these with ``os.posix_spawn`` (job ``"<name> commands"``),
# so that what is measured over it is what the script itself costs (imports, reading, writing).
_LIST = ("instance", "list", "--json", "svc-1")
COMMANDS: Dict[str, Tuple[Tuple[str, ...], ...]] = {
    "Finish_Singularity_Service": (("instance", "stop", "svc-1"),),  # stopped
    "Pause_Singularity_Service": (_LIST,),  # listed (still running: it says it keeps running)
    "Resume_Singularity_Service": (_LIST,),  # listed (running: nothing to do)
}
_COMMANDS_ONLY = ("for _arguments in {commands!r}:\n"
                  "    os.waitpid(os.posix_spawn(os.environ['SINGULARITY_BINARY'], ['singularity', *_arguments], "
                  "dict(os.environ)), 0)\n")


def floor_of(script: str) -> str:
    """The job ``script``'s cost is measured over: the empty script, or the empty script running
    the same ``singularity`` commands (``"<script> commands"``)."""
    return f"{script} commands" if script in COMMANDS else EMPTY


@dataclass(frozen=True)
class Start:
    """One fresh interpreter's run: the modules loaded at its end; the ms from its prologue to its
    end, of the whole interpreter (wall), and the CPU ms it used (with the commands it ran)."""

    modules: FrozenSet[str]
    inside_ms: float
    wall_ms: float
    cpu_ms: float


def fresh_modules(program: str = "import site", python: str = sys.executable) -> FrozenSet[str]:
    """The modules in ``sys.modules`` after ``program`` in a fresh ``python -I -S``."""
    done = subprocess.run([python, "-I", "-S", "-c", f"{program}\nimport sys\nprint(' '.join(sys.modules))"],
                          capture_output=True, text=True, timeout=60, check=True)
    return frozenset(done.stdout.split())


class ColdStarts:
    """The job files of the stdlib-only scripts (both forms), of the empty script and of the
    Singularity actions' floors (``floor_of``), in
    ``directory``, and how to start one. ``directory`` also holds the localspace, the bundled
    files' bytecode cache and the stand-in ``singularity`` (named by the node's environment)."""

    def __init__(self, directory: Path, python: str = sys.executable) -> None:
        self.directory = Path(directory)
        self.python = python
        self.localspace = self.directory / "localspace"
        self.localspace.mkdir(parents=True, exist_ok=True)
        command = self.directory / "bin" / "singularity"
        command.parent.mkdir(exist_ok=True)
        command.write_text(STAND_IN_SINGULARITY)
        command.chmod(0o755)
        self.environment = {"PATH": os.environ.get("PATH", os.defpath), "SINGULARITY_BINARY": str(command),
                            "PSA_SCRIPTS_CACHE": str(self.directory / "bytecode")}
        self.jobs: Dict[str, Path] = {EMPTY: self._write(EMPTY, "variables = {}\n")}
        for name, bindings in STDLIB_SCRIPTS.items():
            self.jobs[f"{name} bundled"] = self._write(f"{name}.bundled", bindings + render_script(SCRIPTS[name]))
            self.jobs[f"{name} installed"] = self._write(
                f"{name}.installed", bindings + _INSTALLED.format(root=SOURCE_ROOT, name=name))
        for name, commands in COMMANDS.items():
            self.jobs[floor_of(name)] = self._write(f"{name}.commands", _COMMANDS_ONLY.format(commands=commands))

    def _write(self, stem: str, body: str) -> Path:
        path = self.directory / f"{stem.replace(' ', '_')}.py"
        path.write_text(_PROLOGUE + body + _EPILOGUE, encoding="ascii")
        return path

    def start(self, label: str, environment: Optional[Mapping[str, str]] = None) -> Start:
        """Run job ``label`` (``"Fetch_Logs bundled"``, ``EMPTY``...) in a fresh interpreter;
        an AssertionError with its output when it fails."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run([self.python, "-I", "-S", "-u", str(self.jobs[label])], cwd=self.localspace,
                              env=dict(environment or self.environment), capture_output=True, text=True, timeout=120)
        wall = (time.perf_counter() - started) * 1000
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
        last = done.stdout.rstrip("\n").rsplit("\n", 1)[-1]
        if done.returncode != 0 or not last.startswith(MARKER):
            raise AssertionError(f"{label}: exit {done.returncode}\n{done.stdout}\n{done.stderr}")
        _, inside, *modules = last.split()
        return Start(frozenset(modules), float(inside), wall, cpu)
