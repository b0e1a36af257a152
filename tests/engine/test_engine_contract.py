"""One contract, two engines: the in-memory ``FakeEngine`` and the real Docker API behave alike.

Every case runs on both. The real case needs the engine tier (skipped without an engine, required
under CI=true); the in-memory case always runs. What the in-memory engine cannot run is the
container's program: its ``on_start`` hook plays ``GREETER`` (two lines, then a web server).
"""

import socket
import time
import uuid

import pytest
from engine_helpers import TEST_IMAGE

from psa_scripts.containers import ActionOutcome, DeploySpec, ForeignContainer
from psa_scripts.names import LABEL_INSTANCE_ID
from psa_scripts.errors import EngineError, InputError
from psa_scripts.testing import FakeEngine

GREETER = ("sh", "-c", "echo one; echo two; exec httpd -f -p 80 -h /www")
LIMITS = {"max_lines": 1000, "max_bytes": 100_000}


class Contract:
    """An engine under contract, with what the test does to it from outside (kill)."""

    def __init__(self, engine, names, kill):
        self.engine, self.names, self.kill = engine, names, kill

    def spec(self, name, **fields):
        return DeploySpec(name=name, image=TEST_IMAGE, container_port="80", **fields)

    def read_until(self, name, cursor, count, timeout=20.0):
        """Read logs check after check until ``count`` lines came; every line once."""
        lines, deadline = [], time.monotonic() + timeout
        while len(lines) < count and time.monotonic() < deadline:
            batch = self.engine.read_logs(name, cursor, **LIMITS)
            lines, cursor = lines + batch.lines, batch.cursor
            if len(lines) < count:
                time.sleep(0.05)
        return lines, cursor


def _greet(name, container):
    if container.command == GREETER:
        container.logs.extend(["one", "two"])


@pytest.fixture(params=["in-memory", pytest.param("real", marks=pytest.mark.engine)])
def contract(request):
    if request.param == "in-memory":
        engine = FakeEngine(images={TEST_IMAGE}, on_start=_greet)
        return Contract(engine, lambda: f"psa-test-{uuid.uuid4().hex[:10]}", engine.kill)
    engine = request.getfixturevalue("engine")
    return Contract(engine, request.getfixturevalue("container_names"), lambda name: engine.client.api.kill(name))


def test_deploy_picks_a_port_and_a_second_deploy_reuses_the_container(contract):
    engine, name = contract.engine, contract.names()
    first = engine.deploy(contract.spec(name))
    assert first.action == "created" and first.host_port > 0
    assert engine.is_running(name) and engine.inspect(name)["Id"] == first.container_id
    again = engine.deploy(contract.spec(name))
    assert (again.action, again.container_id, again.host_port) == ("reused", first.container_id, first.host_port)


def test_a_fixed_port_is_published_and_a_clash_leaves_no_container(contract):
    engine = contract.engine
    with socket.socket() as probe:  # a port free right now (the kernel's pick)
        probe.bind(("127.0.0.1", 0))
        fixed = probe.getsockname()[1]
    pinned = engine.deploy(contract.spec(contract.names(), service_port=fixed))
    assert pinned.host_port == fixed
    second = contract.names()
    with pytest.raises(EngineError, match=f"could not start container {second}: .*address already in use"):
        engine.deploy(contract.spec(second, service_port=fixed))
    assert engine.inspect(second) is None


def test_a_stopped_container_frees_its_fixed_host_port(contract):
    """As Docker does: a paused service's port can be taken; it cannot start again while taken."""
    engine = contract.engine
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        fixed = probe.getsockname()[1]
    paused, other = contract.names(), contract.names()
    engine.deploy(contract.spec(paused, service_port=fixed))
    assert engine.stop(paused, 1) is ActionOutcome.DONE
    assert engine.deploy(contract.spec(other, service_port=fixed)).host_port == fixed
    with pytest.raises(EngineError, match=f"{paused}"):
        engine.start(paused)
    assert not engine.is_running(paused)
    assert engine.remove(other) is ActionOutcome.DONE
    assert engine.start(paused) is ActionOutcome.DONE and engine.is_running(paused)


def test_stop_start_kill_and_exit_codes(contract):
    engine, name = contract.engine, contract.names()
    first = engine.deploy(contract.spec(name))
    assert engine.stop(name, 1) is ActionOutcome.DONE
    state = engine.inspect(name)["State"]
    assert (state["Running"], state["ExitCode"]) == (False, 137)  # busybox as PID 1 ignores SIGTERM
    assert engine.stop(name, 1) is ActionOutcome.DONE  # already stopped: fine
    again = engine.deploy(contract.spec(name))
    assert (again.action, again.container_id, again.host_port) == ("started", first.container_id, first.host_port)
    assert engine.inspect(name)["State"]["ExitCode"] == 0
    assert engine.start(name) is ActionOutcome.DONE  # already running: fine
    contract.kill(name)
    assert not engine.is_running(name) and engine.inspect(name)["State"]["ExitCode"] == 137
    assert engine.start(name) is ActionOutcome.DONE and engine.is_running(name)


def test_after_remove_every_action_says_no_such_container(contract):
    engine, name = contract.engine, contract.names()
    engine.deploy(contract.spec(name, command=GREETER))
    _, cursor = contract.read_until(name, None, 2)
    assert engine.remove(name) is ActionOutcome.DONE
    assert engine.inspect(name) is None and engine.is_running(name) is False
    for action in (lambda: engine.stop(name, 1), lambda: engine.start(name), lambda: engine.remove(name)):
        assert action() is ActionOutcome.NO_SUCH_CONTAINER
    assert engine.read_logs(name, cursor, **LIMITS).lines == []
    assert engine.read_logs(name, cursor, **LIMITS).cursor == cursor


def test_logs_come_once_across_checks_restarts_and_a_new_container(contract):
    engine, name = contract.engine, contract.names()
    engine.deploy(contract.spec(name, command=GREETER))
    lines, cursor = contract.read_until(name, None, 2)
    assert lines == ["one", "two"]
    assert cursor.startswith("since=") and cursor.endswith(f"container={engine.inspect(name)['Id'][:12]}")
    assert engine.read_logs(name, cursor, **LIMITS).lines == []
    engine.stop(name, 1)
    engine.start(name)  # the program runs again: its new lines, once
    lines, cursor = contract.read_until(name, cursor, 2)
    assert lines == ["one", "two"]
    assert engine.read_logs(name, cursor, **LIMITS).lines == []
    engine.remove(name)
    engine.deploy(contract.spec(name, command=GREETER))  # another container under that name: from its start
    assert contract.read_until(name, cursor, 2)[0] == ["one", "two"]


def test_a_log_read_is_bounded_and_says_how_many_lines_it_skipped(contract):
    engine, name = contract.engine, contract.names()
    engine.deploy(contract.spec(name, command=GREETER))
    contract.read_until(name, None, 2)
    batch = engine.read_logs(name, None, max_lines=1, max_bytes=100)
    assert (batch.lines, batch.skipped) == (["two"], 1)


@pytest.mark.parametrize("bad_name", ["two words", "svc; rm -rf /", "--privileged", ""])
def test_bad_names_are_refused_before_any_engine_call(contract, bad_name):
    engine = contract.engine
    for call in (lambda: engine.stop(bad_name, 1), lambda: engine.start(bad_name), lambda: engine.remove(bad_name),
                 lambda: engine.is_running(bad_name), lambda: engine.inspect(bad_name),
                 lambda: engine.read_logs(bad_name, None, **LIMITS)):
        with pytest.raises(InputError, match="is not a valid container name"):
            call()


def test_a_missing_image_is_a_clear_error_and_leaves_nothing(contract):
    name = contract.names()
    with pytest.raises(EngineError, match="image psa-test/no-such-image:1 is not on this host and could not be pulled"):
        contract.engine.deploy(DeploySpec(name=name, image="psa-test/no-such-image:1"))
    assert contract.engine.inspect(name) is None


def test_only_the_owner_reuses_or_acts_on_a_container_and_others_leave_it_untouched(contract):
    engine, name = contract.engine, contract.names()
    ours, theirs = {LABEL_INSTANCE_ID: "11"}, {LABEL_INSTANCE_ID: "7"}
    made = engine.deploy(contract.spec(name, owner=theirs))
    assert engine.inspect(name)["Config"]["Labels"][LABEL_INSTANCE_ID] == "7"
    refusals = [lambda: engine.deploy(contract.spec(name, owner=ours)),
                lambda: engine.stop(name, 1, owner=ours), lambda: engine.start(name, owner=ours),
                lambda: engine.remove(name, owner=ours)]
    for refused in refusals:
        with pytest.raises(ForeignContainer, match=f"^container {name} \\(id {made.container_id[:12]}\\) was not "
                                                   "created by this service instance"):
            refused()
        assert engine.is_running(name) and engine.inspect(name)["Id"] == made.container_id
    assert engine.stop(name, 1, owner=theirs) is ActionOutcome.DONE and not engine.is_running(name)
    for refused in refusals:  # a stopped container is not started nor removed either
        with pytest.raises(ForeignContainer):
            refused()
        assert not engine.is_running(name) and engine.inspect(name)["Id"] == made.container_id
    assert engine.start(name, owner=theirs) is ActionOutcome.DONE and engine.is_running(name)
    assert engine.deploy(contract.spec(name, owner=theirs)).action == "reused"
    assert engine.remove(name, owner=theirs) is ActionOutcome.DONE and engine.inspect(name) is None
    assert engine.stop(name, 1, owner=ours) is ActionOutcome.NO_SUCH_CONTAINER
