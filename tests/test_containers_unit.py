"""The engine layer without an engine: the log cursor against a fake Docker API, the deploy spec.

``FakeLogApi`` stores log entries with nanosecond stamps and answers ``GET .../logs`` the
way each engine does: Podman prints whole seconds and filters ``since`` strictly, Docker
prints nanoseconds and filters inclusively. Writes and checks interleave at random; the
union of what the checks deliver must be every line, once.
"""

import random
import struct

import docker
import pytest

from psa_scripts.containers import (
    ActionOutcome,
    DeploySpec,
    DockerEngine,
    LogCursor,
    action_status,
    check_instance_name,
)
from psa_scripts.containers.logs import log_entries
from psa_scripts.errors import EngineError, InputError
from psa_scripts.scripts import run
from psa_scripts.testing import FakeEngine
from psa_scripts.testing.doubles import JavaArray, JavaMap

SECOND = 1_000_000_000
T0 = 1_764_191_283 * SECOND  # 2025-11-26T21:08:03Z


def stamp(ns, whole_seconds):
    import time

    head = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // SECOND))
    return f"{head}Z" if whole_seconds else f"{head}.{ns % SECOND:09d}Z"


class FakeResponse:
    def __init__(self, body, chunk_sizes, status_code=200):
        self.body = body
        self.chunk_sizes = chunk_sizes
        self.status_code = status_code
        self.closed = False

    def iter_content(self, chunk_size):
        position = 0
        while position < len(self.body):
            size = min(chunk_size, next(self.chunk_sizes))
            yield self.body[position:position + size]
            position += size

    def close(self):
        self.closed = True


class FakeLogApi:
    """The part of ``docker.APIClient`` the engine's log reading uses."""

    def __init__(self, engine="podman", tty=False, seed=0):
        self.engine = engine
        self.tty = tty
        self.entries = []  # (ns, text)
        self.container_id = "abcdef0123456789"
        self.requests = []
        self.random = random.Random(seed)

    def write(self, ns, text):
        self.entries.append((ns, text))

    def inspect_container(self, name):
        return {"Id": self.container_id, "Config": {"Tty": self.tty}, "State": {"Running": True}}

    def _url(self, path, *args):
        return path.format(*args)

    def _raise_for_status(self, response):
        pass

    def _get(self, url, params, stream, timeout):
        assert stream and timeout
        self.requests.append(params)
        since = float(params["since"]) * SECOND if "since" in params else None
        whole = self.engine == "podman"
        body = b""
        for ns, text in self.entries:
            if since is not None and (ns <= since if whole else ns < since):
                continue
            line = f"{stamp(ns, whole)} {text}".encode()
            if self.tty:
                body += line + b"\r\n"
            elif text.endswith("\\partial"):  # an entry the engine stored without its newline
                payload = line[: -len("\\partial")]
                body += struct.pack(">BxxxL", 1, len(payload)) + payload
            else:
                body += struct.pack(">BxxxL", 1, len(line) + 1) + line + b"\n"
        sizes = iter(lambda: self.random.randint(1, 200), None)
        return FakeResponse(body, sizes)


class FakeClient:
    def __init__(self, api):
        self.api = api


def engine_on(api, **options):
    return DockerEngine(FakeClient(api), **options)


def check(engine, cursor, max_lines=100_000, max_bytes=100_000_000):
    batch = engine.read_logs("svc", cursor, max_lines=max_lines, max_bytes=max_bytes)
    return batch.lines, batch.cursor, batch.skipped


# --- exactly once ---------------------------------------------------------------------------------
@pytest.mark.parametrize("engine_kind", ["podman", "docker"])
@pytest.mark.parametrize("seed", range(12))
def test_random_interleavings_deliver_every_line_exactly_once(engine_kind, seed):
    rng = random.Random(seed)
    api = FakeLogApi(engine_kind, seed=seed)
    engine = engine_on(api)
    now, number, cursor, delivered = T0 + rng.randrange(SECOND), 0, None, []
    for _ in range(60):
        for _ in range(rng.choice([0, 1, 3, 40])):  # bursts: many lines share a second
            now += rng.choice([1, 1000, 30_000_000, 400_000_000, 1_300_000_000])
            number += 1
            api.write(now, f"line {number}")
        lines, cursor, skipped = check(engine, cursor)
        assert skipped == 0
        delivered += lines
    assert delivered == [f"line {n}" for n in range(1, number + 1)]


def test_lines_written_later_in_an_already_read_second_are_delivered():
    api = FakeLogApi("podman")
    engine = engine_on(api)
    api.write(T0 + 100, "a")
    api.write(T0 + 200, "b")
    lines, cursor, _ = check(engine, None)
    assert lines == ["a", "b"]
    assert cursor == "since=2025-11-26T21:08:03Z seen=2 container=abcdef012345"
    api.write(T0 + 900_000_000, "c")  # same whole second, after the check
    api.write(T0 + SECOND, "d")
    assert check(engine, cursor)[0] == ["c", "d"]


def test_nothing_new_keeps_the_cursor_and_asks_for_a_microsecond_margin():
    api = FakeLogApi("docker")
    engine = engine_on(api)
    api.write(T0 + 5, "a")
    _, cursor, _ = check(engine, None)
    lines, again, _ = check(engine, cursor)
    assert lines == [] and again == cursor
    assert "since" not in api.requests[0]
    assert api.requests[1]["since"] == f"{T0 // SECOND - 1}.999999"


def test_a_reference_marker_is_a_starting_point():
    api = FakeLogApi("podman")
    engine = engine_on(api)
    api.write(T0 - 1, "before the marker")
    api.write(T0, "at the marker")
    lines, cursor, _ = check(engine, "2025-11-26T22:08:03+01:00")
    assert lines == ["at the marker"]
    assert check(engine, "2025-11-26T21:08:03Z")[0] == ["at the marker"]
    assert LogCursor.decode(cursor).seen == 1


def test_another_container_under_the_same_name_starts_over():
    api = FakeLogApi("podman")
    engine = engine_on(api)
    api.write(T0, "old")
    _, cursor, _ = check(engine, None)
    api.container_id, api.entries = "fedcba9876543210", [(T0 + 1, "new")]
    assert check(engine, cursor)[0] == ["new"]


def test_an_unreadable_cursor_is_said_and_reading_starts_over():
    api = FakeLogApi("podman")
    api.write(T0, "a")
    lines, cursor, _ = check(engine_on(api), "since=yesterday seen=x")
    assert lines[0].startswith("[log cursor 'since=yesterday seen=x' not understood")
    assert lines[1:] == ["a"] and "seen=1" in cursor


def test_a_missing_container_gives_nothing_and_keeps_the_cursor():
    class Gone(FakeLogApi):
        def inspect_container(self, name):
            raise docker.errors.NotFound("no such container")

    batch = engine_on(Gone()).read_logs("svc", "since=start seen=0", max_lines=10, max_bytes=100)
    assert (batch.lines, batch.cursor, batch.skipped) == ([], "since=start seen=0", 0)


def test_a_log_driver_that_cannot_be_read_is_a_note_not_a_failure():
    class Unreadable(FakeLogApi):
        def _raise_for_status(self, response):
            raise docker.errors.APIError("501", explanation='configured logging driver does not support reading')

    api = Unreadable("docker")
    batch = engine_on(api).read_logs("svc", "since=start seen=0", max_lines=10, max_bytes=100)
    assert batch.lines == ["[could not read all the logs of svc: could not read them: "
                           "configured logging driver does not support reading]"]
    assert batch.cursor == "since=start seen=0 container=abcdef012345"


def test_a_negative_seen_count_reads_as_zero():
    assert LogCursor.decode("since=start seen=-4").seen == 0


# --- bounds ---------------------------------------------------------------------------------------
def test_more_lines_than_the_cap_keeps_the_newest_and_counts_the_rest():
    api = FakeLogApi("podman")
    engine = engine_on(api)
    for n in range(1, 101):
        api.write(T0 + n * 1000, f"line {n}")
    lines, cursor, skipped = check(engine, None, max_lines=5)
    assert lines == [f"line {n}" for n in range(96, 101)] and skipped == 95
    api.write(T0 + 2000_000, "line 101")
    assert check(engine, cursor, max_lines=5) == (["line 101"], cursor.replace("seen=100", "seen=101"), 0)


def test_the_byte_cap_counts_too_and_a_huge_line_is_cut():
    api = FakeLogApi("docker")
    for n in range(10):
        api.write(T0 + n, "x" * 100)
    lines, _, skipped = check(engine_on(api), None, max_bytes=350)
    assert len(lines) == 3 and skipped == 7
    api.entries = [(T0, "y" * 5000)]
    lines, _, skipped = check(engine_on(api), None, max_bytes=1000)
    assert lines[0].endswith("[line truncated]") and len(lines[0]) < 1000 and skipped == 0


def test_out_of_time_gives_up_the_unread_rest_with_a_note_and_never_repeats():
    clock = iter(range(0, 10_000, 1)).__next__  # one second passes per chunk read
    api = FakeLogApi("podman")
    for n in range(2000):
        api.write(T0 + n * 10_000_000, f"line {n}")  # 20 s of lines
    engine = engine_on(api, log_read_seconds=5, clock=lambda: T0 / SECOND + clock())
    lines, cursor, _ = check(engine, None)
    assert lines[-1].startswith("[log reading stopped after 5 s")
    first = [line for line in lines[:-1]]
    assert first and all(line.startswith("line ") for line in first)
    last_read = int(first[-1].split()[1])
    assert LogCursor.decode(cursor).since > T0 // SECOND + last_read // 100
    later, _, _ = check(engine_on(api), cursor)
    assert not set(later) & set(first)


def test_engine_frames_partial_entries_and_tty_streams():
    api = FakeLogApi("podman")
    api.write(T0, "no newline yet\\partial")
    api.write(T0 + 1, " rest")
    assert check(engine_on(api), None)[0] == ["no newline yet rest"]  # one line, cut in two by the engine
    tty = FakeLogApi("docker", tty=True)
    tty.write(T0, "one")
    tty.write(T0 + 1, "two")
    assert check(engine_on(tty), None)[0] == ["one", "two"]


def test_log_entries_reassembles_frames_split_anywhere():
    frames = b"".join(struct.pack(">BxxxL", 1, len(p)) + p for p in (b"a 1\n", b"", b"b 2\n", b"c 3"))
    for cut in range(len(frames)):
        assert list(log_entries([frames[:cut], frames[cut:]], True)) == [b"a 1", b"b 2", b"c 3"]


def test_cursor_round_trip_and_stamp_forms():
    cursor = LogCursor(1_764_191_283, 7, "abcdef012345")
    assert LogCursor.decode(cursor.encode()) == cursor
    assert LogCursor.decode(None) == LogCursor() == LogCursor.decode("since=start seen=0")
    assert LogCursor.decode("1764191283").since == 1_764_191_283
    with pytest.raises(ValueError):
        LogCursor.decode("not a time")


@pytest.mark.parametrize("printed", [
    "2025-11-26T21:08:03Z", "2025-11-26T21:08:03.999999999Z", "2025-11-26T22:08:03+01:00",
    "2025-11-26T20:38:03.5-00:30",
])
def test_stamps_in_every_form_map_to_the_same_second(printed):
    from psa_scripts.containers.logs import _StampReader

    assert _StampReader().second(printed.encode()) == T0 // SECOND


# --- names, spec, outcomes -------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["a;rm -rf /", "two words", "$(reboot)", "`id`", "-leading", ".hidden",
                                 "name\n", "", "x" * 201, "über", "a/b", None])
def test_names_outside_the_engine_rule_are_refused(bad):
    with pytest.raises(InputError, match="not a valid container name"):
        check_instance_name(bad)


def test_names_inside_the_rule_pass():
    assert check_instance_name("coco-annotator-42_v1.0") == "coco-annotator-42_v1.0"


def test_engine_refuses_a_bad_name_before_any_call():
    class Untouchable:
        def __getattr__(self, name):
            raise AssertionError("the engine was called")

    engine = DockerEngine(Untouchable())
    for call in (engine.is_running, engine.remove, engine.start, lambda n: engine.stop(n, 1),
                 lambda n: engine.read_logs(n, None, max_lines=1, max_bytes=1)):
        with pytest.raises(InputError):
            call("x; touch /tmp/pwned")


class Variables:
    def __init__(self, **values):
        from psa_scripts.context import Values

        self.values = Values(values, "variable")

    def __getattr__(self, name):
        return getattr(self.values, name)


def test_deploy_spec_from_variables_in_every_accepted_form():
    spec = DeploySpec.from_variables(Variables(
        INSTANCE_NAME="svc-1", DOCKER_IMAGE="psa-test/busybox-httpd:latest", CONTAINER_PORT="80",
        SERVICE_PORT="-1", DOCKER_ENV="A=1\nB=x=y\n", DOCKER_VOLUMES='["/data:/data:ro"]',
        DOCKER_COMMAND="httpd -f -p 80 -h '/w w'", DOCKER_OPTIONS='{"mem_limit": "1g"}'))
    assert spec.container_port == "80/tcp" and spec.service_port == -1
    assert spec.environment == {"A": "1", "B": "x=y"}
    assert spec.volumes == ("/data:/data:ro",)
    assert spec.command == ("httpd", "-f", "-p", "80", "-h", "/w w")
    assert spec.options == {"mem_limit": "1g"}
    other = DeploySpec.from_variables(Variables(
        INSTANCE_NAME="svc-1", DOCKER_IMAGE="img", CONTAINER_PORT="53/udp", SERVICE_PORT=8053,
        DOCKER_ENV='{"A": 1}', DOCKER_COMMAND='["sh", "-c", "echo $HOME"]'))
    assert (other.container_port, other.service_port, other.environment) == ("53/udp", 8053, {"A": "1"})
    assert other.command == ("sh", "-c", "echo $HOME")


@pytest.mark.parametrize("variable,value,message", [
    ("INSTANCE_NAME", "svc;id", "not a valid container name"),
    ("CONTAINER_PORT", "http", "CONTAINER_PORT must be a port"),
    ("SERVICE_PORT", "70000", "SERVICE_PORT must be -1"),
    ("DOCKER_ENV", "NOEQUALS", "line 1: expected NAME=value"),
    ("DOCKER_ENV", "{bad json", "not valid JSON"),
    ("DOCKER_VOLUMES", "/only-one-part", "expected source:/target"),
    ("DOCKER_COMMAND", "sh -c 'unclosed", "DOCKER_COMMAND"),
    ("DOCKER_OPTIONS", '{"privileged": true}', "privileged not allowed"),
])
def test_bad_deploy_variables_are_refused_with_their_name(variable, value, message):
    values = {"INSTANCE_NAME": "svc", "DOCKER_IMAGE": "img", "CONTAINER_PORT": "80", variable: value}
    with pytest.raises(InputError, match=message):
        DeploySpec.from_variables(Variables(**values))


@pytest.mark.parametrize("value, where", [
    ('{"A": "1", "PASSWORD=hunter2": "x"}', "entry 2"),
    ('{"": "hunter2"}', "entry 1"),
    ('{"MY VAR": "hunter2"}', "entry 1"),
    ('{"A\\u0000B": "hunter2"}', "entry 1"),
    ("A=1\n\nPASSWORD hunter2\n", "line 3"),
    ("A=1\n=hunter2", "line 2"),
    ("NEW\tLINE=hunter2", "line 1"),
])
def test_a_bad_docker_env_is_refused_naming_the_entry_never_the_value(value, where):
    with pytest.raises(InputError) as caught:
        DeploySpec.from_variables(Variables(INSTANCE_NAME="svc", DOCKER_IMAGE="img", DOCKER_ENV=value))
    message = str(caught.value)
    assert message.startswith(f"DOCKER_ENV {where}: ")
    assert "hunter2" not in message and "PASSWORD" not in message


def test_a_deploy_spec_never_shows_its_environment():
    spec = DeploySpec(name="svc", image="img", environment={"DB_PASSWORD": "hunter2"})
    assert "hunter2" not in repr(spec) and "hunter2" not in str(spec)


def test_action_status_is_what_post_trigger_action_reads():
    def fail():
        raise EngineError("could not stop container svc: boom")

    assert action_status("svc", lambda: ActionOutcome.DONE) == "svc"
    assert action_status("svc", lambda: ActionOutcome.NO_SUCH_CONTAINER) == "Error: No such container: svc"
    assert action_status("svc", fail) == "could not stop container svc: boom"


def test_an_action_outcome_is_one_of_two_members_read_like_an_enum_s():
    """A plain class (enum costs a cold start some 4 ms): two members, found by name (the run's
    gateway sends outcomes by name), kept as themselves when copied or pickled."""
    import copy
    import pickle

    done, gone = ActionOutcome.DONE, ActionOutcome.NO_SUCH_CONTAINER
    assert (done.name, done.value, gone.name, gone.value) == ("DONE", "done", "NO_SUCH_CONTAINER", "no such container")
    assert ActionOutcome.named("DONE") is done and ActionOutcome.named("NO_SUCH_CONTAINER") is gone
    for wrong in ("done", "RUNNING", "", "__init__"):
        with pytest.raises(KeyError):
            ActionOutcome.named(wrong)
    assert copy.copy(done) is done and copy.deepcopy(gone) is gone and pickle.loads(pickle.dumps(gone)) is gone
    assert repr(done) == "<ActionOutcome.DONE: 'done'>" and done is not gone and done != gone


def test_not_found_is_an_outcome_and_other_failures_an_engine_error():
    class Api:
        def remove_container(self, name, v, force):
            raise docker.errors.NotFound("No such container: svc")

        def stop(self, name, timeout):
            raise docker.errors.APIError("500 Server Error", explanation="device busy")

    engine = DockerEngine(FakeClient(Api()))
    assert engine.remove("svc") is ActionOutcome.NO_SUCH_CONTAINER
    with pytest.raises(EngineError, match="could not stop container svc: device busy"):
        engine.stop("svc", 1)


def test_a_container_that_dies_at_once_is_reported_with_its_last_words():
    class Api:
        def inspect_container(self, name):
            return {"Id": "dead0123456789", "State": {"Running": False, "ExitCode": 3}}

        def start(self, container):
            pass

        def logs(self, container, tail):
            return b"cannot start: missing config\n"

    with pytest.raises(EngineError, match=r"stopped right after it started \(exit code 3\): "
                                          "its last lines: cannot start: missing config"):
        DockerEngine(FakeClient(Api())).deploy(DeploySpec(name="svc", image="img", container_port="80"))


def test_a_container_the_deployment_created_that_dies_at_once_is_removed():
    removed = []

    class Api:
        inspected = 0

        def inspect_container(self, name):
            Api.inspected += 1
            if Api.inspected == 1:  # the first look: no container of that name yet
                raise docker.errors.NotFound("no such container")
            return {"Id": "dead0123456789", "State": {"Running": False, "ExitCode": 3}}

        def logs(self, container, tail):
            return b"cannot start: missing config\n"

        def remove_container(self, container, v, force):
            removed.append((container, v, force))

    class Images:
        def get(self, image):
            return object()

    class Containers:
        def create(self, image, command, name, **options):
            class Created:
                id = "dead0123456789"

                def start(self):
                    pass
            return Created()

    client = FakeClient(Api())
    client.images, client.containers = Images(), Containers()
    with pytest.raises(EngineError, match=r"stopped right after it started \(exit code 3\): its last lines: "
                                          "cannot start: missing config"):
        DockerEngine(client).deploy(DeploySpec(name="svc", image="img", container_port="80"))
    assert removed == [("dead0123456789", True, True)]


def test_the_in_memory_engine_does_not_keep_a_container_that_dies_at_once():
    def quit_at_once(name, container):
        container.logs.append("cannot start: missing config")
        container.running, container.exit_code = False, 3

    engine = FakeEngine(on_start=quit_at_once)
    with pytest.raises(EngineError, match=r"stopped right after it started \(exit code 3\): its last lines: "
                                          "cannot start: missing config"):
        engine.deploy(DeploySpec(name="svc", image="img", container_port="80"))
    assert engine.inspect("svc") is None and engine.containers == {}


class RacingClient:
    """Podman's free-port race: the port picked at create is taken before start, ``races`` times."""

    def __init__(self, races, service_port=-1):
        self.races, self.created, self.removed = races, 0, 0
        client = self

        class Container:
            id = "c0ffee0123456789"

            def start(self):
                if client.races:
                    client.races -= 1
                    raise docker.errors.APIError("500", explanation="listen tcp4 :39435: bind: address already in use")

            def remove(self, force, v):
                client.removed += 1

        class Containers:
            def create(self, image, command, name, **options):
                client.created += 1
                assert options["ports"] == {"80/tcp": None if service_port == -1 else service_port}
                return Container()

        class Images:
            def get(self, image):
                return object()

        class Api:
            def inspect_container(self, name):
                if name == "svc" and not client.created:
                    raise docker.errors.NotFound("no such container")
                return {"Id": Container.id, "State": {"Running": True},
                        "NetworkSettings": {"Ports": {"80/tcp": [{"HostIp": "", "HostPort": "40001"}]}}}

        self.containers, self.images, self.api = Containers(), Images(), Api()


def test_a_free_port_taken_between_create_and_start_is_picked_again():
    client = RacingClient(races=2)
    deployed = DockerEngine(client).deploy(DeploySpec(name="svc", image="img", container_port="80"))
    assert (deployed.action, deployed.host_port, client.created, client.removed) == ("created", 40001, 3, 2)


def test_a_fixed_port_in_use_is_an_error_at_once():
    client = RacingClient(races=1, service_port=8080)
    with pytest.raises(EngineError, match="could not start container svc: .*address already in use"):
        DockerEngine(client).deploy(DeploySpec(name="svc", image="img", container_port="80", service_port=8080))
    assert (client.created, client.removed) == (1, 1)


# --- the selection script ----------------------------------------------------------------------------
@pytest.mark.parametrize("tokens,selected", [
    (None, True), ([], True), (["GPU"], True), (["GPU", "PSA_jupyter-1"], False),
    (JavaArray(["PSA_x"]), False), (JavaArray([]), True), ("PSA_single", False),
])
def test_check_not_used_by_other_service(tokens, selected):
    bindings = {"variables": JavaMap(), "nodeTokens": tokens}
    run("Check_Not_Used_By_Other_Service", bindings)
    assert bindings["selected"] is selected


def test_check_not_used_by_other_service_without_the_binding():
    bindings = {"variables": JavaMap()}
    run("Check_Not_Used_By_Other_Service", bindings)
    assert bindings["selected"] is True


def test_an_engine_error_quoting_an_environment_value_hides_it():
    class Containers:
        def create(self, image, command, name, **options):
            assert options["environment"] == {"DB_PASSWORD": "hunter2 x"}
            raise docker.errors.APIError("500", explanation='invalid env "DB_PASSWORD=hunter2 x" (hunter2%20x)')

    class Images:
        def get(self, image):
            return object()

    class Api:
        def inspect_container(self, name):
            raise docker.errors.NotFound("no such container")

    client = FakeClient(Api())
    client.containers, client.images = Containers(), Images()
    spec = DeploySpec(name="svc", image="img", environment={"DB_PASSWORD": "hunter2 x"})
    with pytest.raises(EngineError) as caught:
        DockerEngine(client).deploy(spec)
    assert str(caught.value) == 'could not create container svc from img: invalid env "DB_PASSWORD=<hidden>" (<hidden>)'
