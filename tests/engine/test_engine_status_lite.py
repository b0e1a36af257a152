"""The default engine's status path (stdlib HTTP) against the SDK path, on a real engine."""

import os
import subprocess
import sys
import time

import pytest
from engine_helpers import TEST_IMAGE, logs_so_far, wait_until

from psa_scripts.containers import DeploySpec
from psa_scripts.containers.lite import StatusFirstEngine
from psa_scripts.engine import default_engine

pytestmark = pytest.mark.engine

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COUNTER = ("timeout", "120", "sh", "-c", "i=0; while [ $i -lt 400 ]; do i=$((i+1)); echo $i; usleep 5000; done; sleep 100")


@pytest.fixture
def lite(engine):
    made = default_engine(os.environ)
    if not isinstance(made, StatusFirstEngine):
        pytest.skip(f"DOCKER_HOST={os.environ.get('DOCKER_HOST')} is one only the SDK speaks (TLS, ssh)")
    made.reader.log_read_seconds = engine.log_read_seconds
    return made


def test_the_stdlib_status_path_answers_as_the_sdk_path(engine, lite, container_names):
    running, stopped, missing = container_names(), container_names(), container_names()
    engine.deploy(DeploySpec(name=running, image=TEST_IMAGE, command=COUNTER))
    engine.deploy(DeploySpec(name=stopped, image=TEST_IMAGE, command=("sh", "-c", "echo bye; echo err >&2; sleep 1")))
    wait_until(lambda: not engine.is_running(stopped), what=f"{stopped} to exit")
    for name, expected in ((running, True), (stopped, False), (missing, False)):
        assert lite.is_running(name) is engine.is_running(name) is expected, name
        ours, theirs = lite.inspect(name), engine.inspect(name)
        assert (ours and ours["Id"]) == (theirs and theirs["Id"])

    # Exactly once over a few checks, and the same lines and cursors as the SDK path.
    cursor, delivered = None, []
    for check in range(8):
        assert lite.is_running(running)
        batch = lite.read_logs(running, cursor, max_lines=100_000, max_bytes=10_000_000)
        again = engine.read_logs(running, cursor, max_lines=100_000, max_bytes=10_000_000)
        assert batch.skipped == 0
        assert again.lines[:len(batch.lines)] == batch.lines  # the SDK read a moment later: maybe more
        delivered += [int(line) for line in batch.lines]
        cursor = batch.cursor
        time.sleep(0.15 * (check % 3))
    wait_until(lambda: (logs_so_far(engine, running, tail=1) or b"").strip() == b"400", what="the 400th line")
    batch = lite.read_logs(running, cursor, max_lines=100_000, max_bytes=10_000_000)
    delivered += [int(line) for line in batch.lines]
    assert delivered == list(range(1, 401))
    assert lite.read_logs(running, batch.cursor, max_lines=10, max_bytes=1000).lines == []

    stopped_lines = lite.read_logs(stopped, None, max_lines=10, max_bytes=1000)
    assert sorted(stopped_lines.lines) == sorted(engine.read_logs(stopped, None, max_lines=10, max_bytes=1000).lines)
    assert sorted(stopped_lines.lines) == ["bye", "err"]
    assert lite.read_logs(missing, "since=start seen=0", max_lines=10, max_bytes=1000).lines == []


def test_a_fresh_interpreter_status_check_imports_neither_docker_nor_requests(engine, lite, container_names):
    name = container_names()
    engine.deploy(DeploySpec(name=name, image=TEST_IMAGE, command=("sh", "-c", "echo hello; sleep 100")))
    wait_until(lambda: logs_so_far(engine, name), what="the first line")
    program = (
        "import os, sys\n"
        "from psa_scripts.engine import default_engine\n"
        "engine = default_engine(os.environ)\n"
        f"assert engine.is_running({name!r})\n"
        f"print(engine.read_logs({name!r}, None, max_lines=10, max_bytes=1000).lines)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('docker', 'requests', 'urllib3')))\n")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["['hello']", "[]"]
