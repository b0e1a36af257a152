"""``run_command``: run one program to its end, as a catalog script that starts cold can afford.

What ``subprocess.run(argv, stdin=DEVNULL, capture_output=True, timeout=...)`` does, for the
scripts that run a command on the node (the Singularity actions), without importing
``subprocess``: with ``signal``, ``threading``, ``selectors`` and ``locale`` it brings ``re``,
``enum`` and ``functools`` — some 20 ms at every start of a script whose work is one command
(docs/scripts.md, "Starting lean"). Built on ``os.posix_spawn`` (Python 3.8+, POSIX) and
``select.poll`` (a C module):

- an argument list, never a shell; the program is a path (the caller finds it on PATH);
- stdin is ``/dev/null`` (the cpython engine's own stdin never ends); stdout and stderr are
  read through two pipes, each kept up to ``OUTPUT_LIMIT`` bytes (the rest is read and dropped,
  so the program never blocks on a full pipe), decoded as UTF-8 with replacement characters;
- the program gets its own process group: at the deadline, or when the script itself is
  interrupted, the whole group is killed (SIGKILL) and reaped — nothing it started is left
  (SIGINT and SIGTERM are held while it starts, so an interruption never finds its pid unknown);
- it gets this process's environment but ``CPYTHON_TOKEN``, the secret with which the script
  talks to the engine's py4j gateway (a program run on the node has no use for it); the
  engine's process-tree cookie stays, so the engine kills what is left when it ends the task
  (docs/scripts.md, "Running a command on the node"); its signals are at their defaults
  (SIGPIPE and SIGXFSZ, which Python ignores, as ``subprocess`` restores them), none blocked;
- the file descriptors the interpreter inherited, other than 0-2, are closed in the program,
  as ``close_fds=True`` does (Python's own descriptors are not inheritable anyway).
"""

from __future__ import annotations

import _signal  # the C module under ``signal``, loaded by every interpreter (signal.py imports enum)
import os
import select
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, Mapping, Optional, Sequence

OUTPUT_LIMIT = 4 * 1024 * 1024  # bytes kept of each stream
# The engine's gateway secret (jsr223-cpython puts it in the script's environment): not passed on.
GATEWAY_SECRET = "CPYTHON_TOKEN"
_CHUNK = 65536
# Signals the program gets back at their default action, as subprocess does (restore_signals):
# Python ignores SIGPIPE (and SIGXFSZ), and an ignored signal stays ignored across exec.
_RESTORED = (_signal.SIGPIPE, _signal.SIGXFSZ)
# Signals held while the program starts: one arriving before its pid is known would end this
# script with the program left running (Ctrl-C; SIGTERM when a host handles it).
_HELD = {_signal.SIGINT, _signal.SIGTERM}
# Seconds between two looks at a program that has closed its output: it is exiting, and is
# reapable within microseconds, unless it runs on without output (then up to the deadline).
_FIRST_PAUSE, _LONGEST_PAUSE = 0.0001, 0.02


class CommandTimeout(Exception):
    """The program did not end within its time; it was killed with its process group."""


class Finished:
    """A program's end: ``returncode`` (negative: killed by that signal), ``stdout``, ``stderr``."""

    __slots__ = ("returncode", "stdout", "stderr")

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    def __repr__(self) -> str:
        return f"Finished(returncode={self.returncode!r}, stdout={self.stdout!r}, stderr={self.stderr!r})"


def run_command(argv: Sequence[str], timeout: float, environ: Optional[Mapping[str, str]] = None) -> Finished:
    """Run ``argv`` (``argv[0]`` a path to the program) to its end, at most ``timeout`` seconds;
    ``environ`` defaults to this process's environment; ``CPYTHON_TOKEN`` is never passed on.
    CommandTimeout when it runs longer (it is killed), OSError when it cannot be started."""
    deadline = time.monotonic() + timeout
    read_ends: List[int] = []
    write_ends: List[int] = []  # ours until the program has its copies
    environment = dict(os.environ if environ is None else environ)
    environment.pop(GATEWAY_SECRET, None)
    child = None
    try:
        for _ in ("stdout", "stderr"):
            read_end, write_end = os.pipe()
            read_ends.append(read_end)
            write_ends.append(write_end)
        actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_DUP2, write_ends[0], 1), (os.POSIX_SPAWN_DUP2, write_ends[1], 2)]
        actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in _inherited_descriptors()]
        mask = _signal.pthread_sigmask(_signal.SIG_BLOCK, ())  # read only: nothing held yet
        try:
            _signal.pthread_sigmask(_signal.SIG_BLOCK, _HELD)
            child = os.posix_spawn(argv[0], list(argv), environment, file_actions=actions, setpgroup=0,
                                   setsigmask=mask, setsigdef=_RESTORED)
        finally:  # a held signal is handled from here on, with the pid known
            _signal.pthread_sigmask(_signal.SIG_SETMASK, mask)
        while write_ends:  # else the pipes never reach their end
            os.close(write_ends.pop())
        outputs = _read_until_closed(read_ends, deadline)
        status = _reap(child, deadline)
        child = None
        return Finished(os.waitstatus_to_exitcode(status), _text(outputs[0]), _text(outputs[1]))
    finally:
        if child is not None:  # the deadline passed, or this script was interrupted
            _kill_group(child)
        for fd in read_ends + write_ends:
            os.close(fd)


def _inherited_descriptors() -> List[int]:
    """The descriptors above 2 this process would pass on to a program (inheritable ones)."""
    try:
        listed = os.listdir("/proc/self/fd")
    except OSError:
        return []  # not Linux: Python opens every descriptor of its own non-inheritable
    found = []
    for entry in listed:
        fd = int(entry)
        try:
            if fd > 2 and os.get_inheritable(fd):
                found.append(fd)
        except OSError:
            pass  # the listing's own descriptor, closed since
    return found


def _read_until_closed(read_ends: List[int], deadline: float) -> List[bytearray]:
    """Everything written to each of ``read_ends`` until every writer has closed them (the
    first ``OUTPUT_LIMIT`` bytes of each), in their order; CommandTimeout at ``deadline``."""
    outputs = {fd: bytearray() for fd in read_ends}
    poller = select.poll()
    for fd in read_ends:
        poller.register(fd, select.POLLIN)
    open_ends = set(read_ends)
    while open_ends:
        left = deadline - time.monotonic()
        if left <= 0:
            raise CommandTimeout()
        for fd, _ in poller.poll(int(left * 1000) + 1):  # milliseconds, rounded up
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                poller.unregister(fd)
                open_ends.discard(fd)
            else:
                kept = outputs[fd]
                kept += chunk[:OUTPUT_LIMIT - len(kept)]
    return [outputs[fd] for fd in read_ends]


def _reap(child: int, deadline: float) -> int:
    """The wait status of ``child``, which has closed its output (it is ending, or keeps running
    without it); CommandTimeout at ``deadline``."""
    pause = _FIRST_PAUSE
    while True:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid == child:
            return status
        left = deadline - time.monotonic()
        if left <= 0:
            raise CommandTimeout()
        time.sleep(min(pause, left))
        pause = min(pause * 2, _LONGEST_PAUSE)


def _kill_group(child: int) -> None:
    """Kill ``child``'s process group (the program and whatever it started) and reap it."""
    try:
        os.killpg(child, _signal.SIGKILL)
    except OSError:
        pass  # the group is gone already; the child may still wait to be reaped
    try:
        os.waitpid(child, 0)
    except ChildProcessError:
        pass


def _text(data: bytearray) -> str:
    return data.decode("utf-8", "replace")
