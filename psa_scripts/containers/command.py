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
  interrupted, the whole group is killed (SIGKILL) and reaped — nothing it started is left;
- the file descriptors the interpreter inherited, other than 0-2, are closed in the program,
  as ``close_fds=True`` does (Python's own descriptors are not inheritable anyway).
"""

from __future__ import annotations

import os
import select
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, List, Mapping, Optional, Sequence

OUTPUT_LIMIT = 4 * 1024 * 1024  # bytes kept of each stream
_CHUNK = 65536
_SIGKILL = 9  # fixed by POSIX; the signal module would import enum
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
    ``environ`` defaults to this process's environment. CommandTimeout when it runs longer (it is
    killed), OSError when it cannot be started."""
    deadline = time.monotonic() + timeout
    pipes: Dict[int, int] = {}  # read end -> write end, until the program has its copies
    child = None
    try:
        out_read, out_write = os.pipe()
        pipes[out_read] = out_write
        err_read, err_write = os.pipe()
        pipes[err_read] = err_write
        actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_DUP2, out_write, 1), (os.POSIX_SPAWN_DUP2, err_write, 2)]
        actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in _inherited_descriptors()]
        child = os.posix_spawn(argv[0], list(argv), dict(os.environ if environ is None else environ),
                               file_actions=actions, setpgroup=0)
        for read_end in pipes:
            os.close(pipes[read_end])
            pipes[read_end] = -1
        outputs = _read_until_closed([out_read, err_read], deadline)
        status = _reap(child, deadline)
        child = None
        return Finished(os.waitstatus_to_exitcode(status), _text(outputs[out_read]), _text(outputs[err_read]))
    finally:
        if child is not None:  # the deadline passed, or this script was interrupted
            _kill_group(child)
        for read_end, write_end in pipes.items():
            os.close(read_end)
            if write_end >= 0:
                os.close(write_end)


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


def _read_until_closed(read_ends: List[int], deadline: float) -> Dict[int, bytearray]:
    """Everything written to ``read_ends`` until every writer has closed them (the first
    ``OUTPUT_LIMIT`` bytes of each); CommandTimeout at ``deadline``."""
    outputs = {fd: bytearray() for fd in read_ends}
    poller = select.poll()
    for fd in read_ends:
        poller.register(fd, select.POLLIN)
    open_ends = set(read_ends)
    while open_ends:
        left = deadline - time.monotonic()
        if left <= 0:
            raise CommandTimeout()
        for fd, _ in poller.poll(max(1, int(left * 1000 + 0.999))):
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                poller.unregister(fd)
                open_ends.discard(fd)
            elif len(outputs[fd]) < OUTPUT_LIMIT:
                outputs[fd] += chunk[:OUTPUT_LIMIT - len(outputs[fd])]
    return outputs


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
        os.killpg(child, _SIGKILL)
    except OSError:
        pass  # the group is gone already; the child may still wait to be reaped
    try:
        os.waitpid(child, 0)
    except ChildProcessError:
        pass


def _text(data: bytearray) -> str:
    return data.decode("utf-8", "replace")
