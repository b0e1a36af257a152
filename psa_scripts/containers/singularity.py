"""``SingularityEngine``: Singularity instances through the ``singularity`` command.

The ``ContainerEngine`` interface for services that run as Singularity (or Apptainer)
*instances* (``ENGINE=singularity``): is the instance running, and stop it. Every call runs
the command with an argument list (never a shell), stdin closed (the cpython engine's stdin
never ends) and a timeout. The command is ``SINGULARITY_BINARY`` (a path, or a name looked up
on PATH; ``apptainer`` works: it answers the same commands), else ``singularity`` on PATH.

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

import json
import os
import shutil
import subprocess

from .. import names
from .logbatch import LogBatch
from ..errors import EngineError
from .spec import ActionOutcome

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, Mapping, Optional

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
    def from_settings(cls, environ: Mapping[str, str]) -> "SingularityEngine":
        """The command ``SINGULARITY_BINARY`` names (a path, or a name on PATH), else ``singularity``."""
        wanted = (environ.get(names.SINGULARITY_BINARY) or "").strip() or DEFAULT_COMMAND
        found = shutil.which(wanted, path=environ.get("PATH", os.defpath))
        if found is None:
            where = "is not an executable file" if os.sep in wanted else "is not found on PATH"
            raise EngineError(
                f"the Singularity command {wanted!r} {where}: install Singularity (or Apptainer) on "
                f"the node, or set the variable {names.SINGULARITY_BINARY} to its path"
            )
        return cls(found)

    # --- the ContainerEngine interface ---------------------------------------------------
    def is_running(self, name: str) -> bool:
        """True when an instance of exactly that name is listed."""
        return name in self.instances(name)

    def read_logs(self, name: str, cursor: Optional[str], *, max_lines: int, max_bytes: int) -> LogBatch:
        """No lines: a Singularity instance has no log stream this engine reads (see above)."""
        return LogBatch([], cursor, 0)

    def remove(self, name: str) -> ActionOutcome:
        """Stop the instance (a stopped instance is gone: nothing is left to remove)."""
        if not self.is_running(name):
            return ActionOutcome.NO_SUCH_CONTAINER
        process = self._run(["instance", "stop", name], self.stop_timeout)
        if process.returncode != 0:
            if not self.is_running(name):  # it ended on its own meanwhile
                return ActionOutcome.NO_SUCH_CONTAINER
            raise EngineError(_failure(["instance", "stop", name], process))
        return ActionOutcome.DONE

    # --- the command ---------------------------------------------------------------------
    def instances(self, name: str) -> List[str]:
        """The names of the running instances that ``instance list`` gives for ``name``."""
        arguments = ["instance", "list", "--json", names.check_instance_name(name)]
        process = self._run(arguments, self.list_timeout)
        if process.returncode != 0:
            raise EngineError(_failure(arguments, process))
        try:
            listed = json.loads(process.stdout or "{}").get("instances") or []
            return [str(entry["instance"]) for entry in listed]
        except (ValueError, AttributeError, TypeError, KeyError) as error:
            raise EngineError(
                f"`{self.binary} {' '.join(arguments)}` printed what is not the expected "
                f"{{\"instances\": [{{\"instance\": ...}}]}} JSON ({error}): {process.stdout[:200]!r}"
            ) from None

    def _run(self, arguments: List[str], timeout: float) -> subprocess.CompletedProcess:
        command = [self.binary, *arguments]
        try:
            return subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                   timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise EngineError(f"`{' '.join(command)}` did not finish within {timeout:g} s") from None
        except OSError as error:
            raise EngineError(f"cannot run {self.binary}: {error}") from None


def _failure(arguments: List[str], process: subprocess.CompletedProcess) -> str:
    said = (process.stderr or process.stdout or "").strip()[-_OUTPUT_LIMIT:] or "no output"
    return f"singularity {' '.join(arguments)} failed (exit {process.returncode}): {said}"
