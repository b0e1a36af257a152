"""``psa run`` as a user runs it: a subprocess, its output read as it comes, signals sent to it.

Shared by the stopping tests of the in-memory tier and of the real-engine tier. Every wait
polls with a deadline; nothing sleeps for a state. ``TMPDIR`` is a directory of the test's
own, so that what the run leaves there (its ``psa-run-*`` directory, its socket) is seen.
"""

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import List, Optional, Sequence


class PsaRun:
    """One ``psa run ARGS...`` under ``tmp_path`` (its TMPDIR is ``tmp_path / "tmp"``)."""

    def __init__(self, args: Sequence[str], tmp_path: Path, env: Optional[dict] = None) -> None:
        self.tmpdir = tmp_path / "tmp"
        self.tmpdir.mkdir(exist_ok=True)
        environ = dict(os.environ if env is None else env, TMPDIR=str(self.tmpdir), PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen([sys.executable, "-m", "psa_scripts.cli", "run", *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environ,
                                        cwd=str(tmp_path))
        self.lines: List[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for(self, text: str, seconds: float = 120) -> None:
        """Until a line holds ``text``; AssertionError with the output so far past ``seconds``."""
        with self._changed:
            found = self._changed.wait_for(
                lambda: any(text in line for line in self.lines) or not self._reader.is_alive(), seconds)
            if not any(text in line for line in self.lines):
                raise AssertionError(f"no line with {text!r} (alive: {found and self._reader.is_alive()}):\n"
                                     + "\n".join(self.lines))

    def send(self, signum: int) -> None:
        self.process.send_signal(signum)

    def finish(self, seconds: float = 180) -> int:
        """The exit status, once the run ended (killed and AssertionError past ``seconds``)."""
        try:
            code = self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"psa run still running after {seconds} s:\n{self.output}") from None
        self._reader.join(10)
        return code

    def left_in_tmp(self) -> List[str]:
        """What the run left in its TMPDIR (its psa-run-* directory, a socket...)."""
        return sorted(os.listdir(self.tmpdir))


def alive(pid: int) -> bool:
    """True while process ``pid`` runs (a zombie waiting for its parent counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def gone(pids: Sequence[int], seconds: float = 30) -> bool:
    """Whether every process of ``pids`` ended within ``seconds`` (polled: a kill takes a moment)."""
    done = threading.Event()
    deadline = seconds
    while deadline > 0:
        if not any(alive(pid) for pid in pids):
            return True
        done.wait(0.05)
        deadline -= 0.05
    return not any(alive(pid) for pid in pids)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
