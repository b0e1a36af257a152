"""Logs from a real engine: every line exactly once across checks, and bounded checks."""

import time

import pytest
from engine_helpers import TEST_IMAGE, wait_until

from psa_scripts.containers import DeploySpec, DockerEngine, LogCursor

pytestmark = pytest.mark.engine

# Writers end by themselves after two minutes: a test run killed mid-way leaves no busy container.
# Numbered lines at a steady ~200 lines/s: many lines share each whole second.
STEADY = ("timeout", "120", "sh", "-c", "i=0; while true; do i=$((i+1)); echo $i; usleep 5000; done")
# As fast as the shell can write: far more than a check may read.
FLOOD = ("timeout", "120", "sh", "-c", "i=0; while true; do i=$((i+1)); echo flood line $i; done")


def test_numbered_lines_are_delivered_exactly_once_over_many_checks(engine, container_names):
    name = container_names()
    engine.deploy(DeploySpec(name=name, image=TEST_IMAGE, command=STEADY))
    delivered, cursor, checks = [], None, 0
    deadline = time.monotonic() + 30
    # Back-to-back checks, several per second: the whole-second stamps of Podman are the hard case.
    while (len(delivered) < 1500 or checks < 20) and time.monotonic() < deadline:
        batch = engine.read_logs(name, cursor, max_lines=100_000, max_bytes=10_000_000)
        assert batch.skipped == 0
        delivered += [int(line) for line in batch.lines]
        cursor, checks = batch.cursor, checks + 1
        time.sleep(0.05 * (checks % 7))  # irregular ticks
    assert checks >= 20 and len(delivered) >= 1500
    # Exactly 1..K: nothing lost, nothing twice; only the tail not yet written is missing.
    assert delivered == list(range(1, len(delivered) + 1))
    assert LogCursor.decode(cursor).container == engine.inspect(name)["Id"][:12]


def test_the_last_check_after_the_container_stops_completes_the_sequence(engine, container_names):
    name = container_names()
    command = ("sh", "-c", "i=0; while [ $i -lt 600 ]; do i=$((i+1)); echo $i; usleep 2000; done")
    engine.deploy(DeploySpec(name=name, image=TEST_IMAGE, command=command))
    delivered, cursor = [], None

    def read_until_stopped():
        nonlocal cursor
        batch = engine.read_logs(name, cursor, max_lines=100_000, max_bytes=10_000_000)
        delivered.extend(int(line) for line in batch.lines)
        cursor = batch.cursor
        return not engine.is_running(name)

    wait_until(read_until_stopped, timeout=60, interval=0, what="the counter container to exit")
    batch = engine.read_logs(name, cursor, max_lines=100_000, max_bytes=10_000_000)
    delivered += [int(line) for line in batch.lines]
    assert delivered == list(range(1, 601))


def test_a_flooding_container_gets_bounded_checks(engine, container_names):
    name = container_names()
    engine.deploy(DeploySpec(name=name, image=TEST_IMAGE, command=FLOOD))
    bounded = DockerEngine(engine.client, log_read_seconds=2)
    # Probe with the bounded reader itself: an SDK logs() call (even tail=1) on a flooding container
    # streams until Podman reaches the end of a log file that grows faster than it is read.
    wait_until(lambda: any(line.startswith("flood line")
                           for line in bounded.read_logs(name, None, max_lines=1, max_bytes=10_000).lines),
               what="the first flood lines")
    cursor, seen = None, set()
    for check in range(3):
        started = time.monotonic()
        batch = bounded.read_logs(name, cursor, max_lines=50, max_bytes=100_000)
        elapsed = time.monotonic() - started
        lines = [line for line in batch.lines if line.startswith("flood line")]
        notes = [line for line in batch.lines if not line.startswith("flood line")]
        report = f"check {check}: {elapsed:.1f} s, {len(lines)} lines, skipped {batch.skipped}, notes {notes}"
        assert elapsed < 2 + 4, report  # the 2 s read budget, plus slack for a loaded 2-core machine
        assert len(lines) <= 50, report
        assert batch.skipped > 0 or notes, f"lines were cut but nothing says so: {report}"
        assert not seen & set(lines), f"a line came twice: {report}"
        seen |= set(lines)
        cursor = batch.cursor
