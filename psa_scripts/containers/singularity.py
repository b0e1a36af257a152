"""``SingularityEngine``: Singularity instances through the ``singularity`` command.

The ``ContainerEngine`` interface for services that run as Singularity (or Apptainer)
*instances* (``ENGINE=singularity``): is the instance running, and stop it. Every call runs
the command with an argument list (never a shell), stdin closed (the cpython engine's stdin
never ends) and a timeout, through ``command.run_command``; the listing is read with
``jsontext.loads``, imported when a listing is read (neither ``subprocess`` nor ``json``: a
script of these starts lean). The command is ``SINGULARITY_BINARY`` of the node's environment (a
path, or a name looked up on PATH; ``apptainer`` works: it answers the same commands), else
``singularity`` on PATH.

Never from a workflow variable: the command is a program run on the node, and a variable is
set by whoever submits the workflow or launches the service (a variable naming ``sh`` ran
``./instance`` from the localspace, where files of user dataspaces land). ``from_node``
refuses a workflow variable ``SINGULARITY_BINARY`` before anything runs, and PATH entries
that are relative (the working directory is the localspace) are not searched.

What is used, from the Apptainer sources (``cmd/internal/cli/instance_list_linux.go``,
``instance_stop_linux.go``, ``internal/app/apptainer/instance_linux.go``) — *unverified*
against a real engine, none could be installed where this was written (docs/groovy-bucket.md):

- ``singularity instance list --json <name>`` prints ``{"instances": [{"instance": <name>,
  "pid": .., "img": .., "ip": .., "logErrPath": .., "logOutPath": ..}]}``; the name argument
  is a glob pattern to singularity, and INSTANCE_NAME never holds a glob character
  (``names.check_instance_name``); names are compared exactly here all the same.
- ``singularity instance stop <name>`` stops it (SIGINT, SIGKILL after 10 s by default) and
  fails with "no instance found" when there is none.
- An instance has no log stream we could check: ``read_logs`` returns no line (the Groovy
  Check_Instance_Status_Singularity printed none either).
"""

from __future__ import annotations

import os

from .. import names
from .command import CommandTimeout, Finished, run_command
from ..errors import EngineError, InputError
from .outcome import ActionOutcome

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, List, Mapping, Optional

    from .logbatch import LogBatch

DEFAULT_COMMAND = "singularity"
LIST_TIMEOUT = 30.0  # seconds: a listing reads a few small files
STOP_TIMEOUT = 60.0  # seconds: singularity itself kills an instance still alive after 10 s
_OUTPUT_LIMIT = 2000  # characters of the command's error output quoted in a message


class SingularityEngine:
    """Singularity instances behind the ContainerEngine interface, through one command."""

    def __init__(self, binary: str, *, list_timeout: float = LIST_TIMEOUT, stop_timeout: float = STOP_TIMEOUT) -> None:
        self.binary = binary
        self.list_timeout = list_timeout
        self.stop_timeout = stop_timeout

    @classmethod
    def from_node(cls, environ: Mapping[str, str], variables: Any) -> "SingularityEngine":
        """The engine of a script run: the command from the node's environment ``environ``; an
        InputError, before anything runs, when the workflow's ``variables`` set SINGULARITY_BINARY."""
        if variables.text(names.SINGULARITY_BINARY) is not None:
            raise InputError(
                f"{names.SINGULARITY_BINARY} is set as a workflow variable: it names a program to run on the "
                "node, so it is read from the node's environment only; remove the variable (and set "
                f"{names.SINGULARITY_BINARY} in the environment of the node's agent if singularity is not on its PATH)"
            )
        return cls.from_settings(environ)

    @classmethod
    def from_settings(cls, environ: Mapping[str, str]) -> "SingularityEngine":
        """The command ``SINGULARITY_BINARY`` names in ``environ`` (a path, or a name on PATH), else
        ``singularity`` on PATH."""
        wanted = (environ.get(names.SINGULARITY_BINARY) or "").strip() or DEFAULT_COMMAND
        found = find_command(wanted, environ.get("PATH", os.defpath))
        if found is None:
            where = "is not an executable file" if os.sep in wanted else "is not found on PATH"
            raise EngineError(
                f"the Singularity command {wanted!r} {where}: install Singularity (or Apptainer) on the "
                f"node, or set {names.SINGULARITY_BINARY} in the environment of the node's agent to its path"
            )
        return cls(found)

    # --- the ContainerEngine interface ---------------------------------------------------
    def is_running(self, name: str) -> bool:
        """True when an instance of exactly that name is listed."""
        return name in self.instances(name)

    def read_logs(self, name: str, cursor: Optional[str], *, max_lines: int, max_bytes: int) -> LogBatch:
        """No lines: a Singularity instance has no log stream this engine reads (see above)."""
        from .logbatch import LogBatch  # here: the actions, which never read logs, do not load it

        return LogBatch(cursor=cursor)

    def remove(self, name: str) -> ActionOutcome:
        """Stop the instance (a stopped instance is gone: nothing is left to remove). The stop
        comes first, without a listing before it: each ``singularity`` run costs a start of the
        command, and an exact name is no glob pattern (``names.check_instance_name``), so the
        stop reaches that instance only. When it fails, a listing tells "already gone" (no such
        container) from a failure of the command (EngineError with its words)."""
        arguments = ["instance", "stop", names.check_instance_name(name)]
        process = self._run(arguments, self.stop_timeout)
        if process.returncode != 0:
            if not self.is_running(name):  # none ran, or it ended on its own meanwhile
                return ActionOutcome.NO_SUCH_CONTAINER
            raise EngineError(_failure(arguments, process))
        return ActionOutcome.DONE

    # --- the command ---------------------------------------------------------------------
    def instances(self, name: str) -> List[str]:
        """The names of the running instances that ``instance list`` gives for ``name``."""
        arguments = ["instance", "list", "--json", names.check_instance_name(name)]
        process = self._run(arguments, self.list_timeout)
        if process.returncode != 0:
            raise EngineError(_failure(arguments, process))
        from ..jsontext import loads  # here: Finish reads no listing when its stop works

        try:
            listed = loads(process.stdout.strip() or "{}").get("instances") or []
            return [str(entry["instance"]) for entry in listed]
        except (ValueError, AttributeError, TypeError, KeyError) as error:
            raise EngineError(
                f"`{self.binary} {' '.join(arguments)}` printed what is not the expected "
                f"{{\"instances\": [{{\"instance\": ...}}]}} JSON ({error}): {process.stdout[:200]!r}"
            ) from None

    def _run(self, arguments: List[str], timeout: float) -> Finished:
        command = [self.binary, *arguments]
        try:
            return run_command(command, timeout)
        except CommandTimeout:
            raise EngineError(f"`{' '.join(command)}` did not finish within {timeout:g} s") from None
        except OSError as error:
            raise EngineError(f"cannot run {self.binary}: {error}") from None


def find_command(wanted: str, search_path: str) -> Optional[str]:
    """The executable file ``wanted`` names: a path as is, a name in the absolute directories of
    ``search_path`` (relative ones, the localspace among them, are skipped); None if none.
    ``shutil.which`` would do, but imports bz2, lzma and fnmatch at every start of the script."""
    if os.sep in wanted:
        candidates = [wanted]
    else:
        candidates = [os.path.join(directory, wanted) for directory in search_path.split(os.pathsep)
                      if os.path.isabs(directory)]
    for candidate in candidates:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _failure(arguments: List[str], process: Finished) -> str:
    said = (process.stderr or process.stdout or "").strip()[-_OUTPUT_LIMIT:] or "no output"
    return f"singularity {' '.join(arguments)} failed (exit {process.returncode}): {said}"
