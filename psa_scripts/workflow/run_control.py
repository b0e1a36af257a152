"""How a ``psa run`` is stopped: a first request ends it in order, a second one forces it.

A first stop (SIGINT, SIGTERM, SIGHUP, or ``--ticks`` spent) lets the run finish its ending:
the ``--then`` actions, else the service's own finish workflow, else the removal of the
containers the run created. A second one forces: every script's process group is killed at
once and no script starts any more; the run then writes its report and names what is left.
The scripts' process groups are registered here, so that a forced stop reaches them all.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Optional, Set


class RunForced(Exception):
    """A second stop request: the run ends now, without its ending."""


class RunControl:
    """The stop requests of one run and the process groups of the scripts it runs."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.forced = threading.Event()
        self.reason: Optional[str] = None
        self._groups: Set[int] = set()
        self._lock = threading.RLock()  # a signal handler may run while the main thread holds it

    def stop(self, reason: str) -> bool:
        """A stop request (``reason``: "SIGINT"...); True when it forces (the second one)."""
        if not self.stopping.is_set():
            self.reason = reason
            self.stopping.set()
            return False
        self.forced.set()
        self.kill_all()
        return True

    def check(self) -> None:
        """RunForced once a forced stop was asked: called before each script starts."""
        if self.forced.is_set():
            raise RunForced(self.reason or "forced")

    # --- the scripts' process groups ------------------------------------------------------
    def started(self, group: int) -> None:
        with self._lock:
            self._groups.add(group)
        if self.forced.is_set():  # forced while it was being started
            kill_group(group)

    def ended(self, group: int) -> None:
        with self._lock:
            self._groups.discard(group)

    def kill_all(self) -> None:
        with self._lock:
            groups = sorted(self._groups)
        for group in groups:
            kill_group(group)


def kill_group(group: int) -> None:
    """SIGKILL to every process of ``group`` (a script and what it spawned); none left is fine."""
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
