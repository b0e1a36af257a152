"""Deploy, stop, start, remove on a real engine."""

import concurrent.futures
import socket

import pytest
from engine_helpers import PAGE_MARKER, TEST_IMAGE, containers_named, fetch_page

from psa_scripts.containers import ActionOutcome, DeploySpec
from psa_scripts.errors import EngineError

pytestmark = pytest.mark.engine


def spec(name, **fields):
    return DeploySpec(name=name, image=TEST_IMAGE, container_port="80", **fields)


def test_deploy_with_a_free_port_serves_the_page(engine, container_names):
    deployed = engine.deploy(spec(container_names()))
    assert deployed.action == "created" and deployed.host_port > 0
    assert PAGE_MARKER in fetch_page(deployed.host_port)


def test_deploying_the_same_name_again_reuses_the_container(engine, container_names):
    name = container_names()
    first = engine.deploy(spec(name))
    again = engine.deploy(spec(name))
    assert (again.action, again.container_id, again.host_port) == ("reused", first.container_id, first.host_port)
    assert containers_named(engine, name) == [first.container_id]


def test_an_exited_container_is_started_again(engine, container_names):
    name = container_names()
    first = engine.deploy(spec(name))
    assert engine.stop(name, 1) is ActionOutcome.DONE
    assert not engine.is_running(name)
    again = engine.deploy(spec(name))
    assert (again.action, again.container_id) == ("started", first.container_id)
    assert engine.is_running(name)
    assert PAGE_MARKER in fetch_page(again.host_port)


def test_ten_concurrent_deployments_get_ten_distinct_working_ports(engine, container_names):
    names = [container_names() for _ in range(10)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        deployed = list(pool.map(lambda name: engine.deploy(spec(name)), names))
    ports = [d.host_port for d in deployed]
    assert len(set(ports)) == 10
    for port in ports:
        assert PAGE_MARKER in fetch_page(port)


def test_concurrent_deployments_of_one_name_make_one_container(engine, container_names):
    name = container_names()
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        deployed = list(pool.map(lambda _: engine.deploy(spec(name)), range(4)))
    assert len({d.container_id for d in deployed}) == 1
    assert containers_named(engine, name) == [deployed[0].container_id]
    assert sorted(d.action for d in deployed).count("created") == 1


def test_env_command_and_a_fixed_port(engine, container_names):
    from engine_helpers import wait_until

    name = container_names()
    deployed = engine.deploy(DeploySpec(
        name=name, image=TEST_IMAGE, command=("sh", "-c", "echo greeting=$GREETING; exec httpd -f -p 80 -h /www"),
        environment={"GREETING": "hello; $(not run)"}, container_port="80"))
    logs = wait_until(lambda: engine.client.api.logs(name), what="the greeting")
    assert logs.strip() == b"greeting=hello; $(not run)"
    with socket.socket() as probe:  # a port free right now (the kernel's pick), not a guess
        probe.bind(("127.0.0.1", 0))
        fixed = probe.getsockname()[1]
    pinned = engine.deploy(spec(container_names(), service_port=fixed))
    assert pinned.host_port == fixed != deployed.host_port


def test_missing_image_is_a_clear_error_and_leaves_nothing(engine, container_names):
    name = container_names()
    with pytest.raises(EngineError, match="image psa-test/no-such-image:1 is not on this host and could not be pulled"):
        engine.deploy(DeploySpec(name=name, image="psa-test/no-such-image:1"))
    assert containers_named(engine, name) == []


def test_actions_on_a_missing_container_say_so(engine, container_names):
    name = container_names()
    assert engine.stop(name, 1) is ActionOutcome.NO_SUCH_CONTAINER
    assert engine.start(name) is ActionOutcome.NO_SUCH_CONTAINER
    assert engine.remove(name) is ActionOutcome.NO_SUCH_CONTAINER
    assert engine.is_running(name) is False
    assert engine.read_logs(name, None, max_lines=10, max_bytes=1000).lines == []
