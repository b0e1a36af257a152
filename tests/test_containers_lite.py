"""The stdlib Docker API reader (``containers.lite``) against a real HTTP server on a unix socket.

The server is ``http.server`` on a ``socketserver.UnixStreamServer`` in a temp dir: canned
inspect documents, multiplexed logs bodies (chunked, Podman's whole-second stamps and
strict ``since``), 404, 500 with the engine's ``{"message": ...}``, a body that trickles
and headers that never come (to hit the deadline).
"""

import http.server
import json
import os
import random
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from psa_scripts.containers import LogCursor
from psa_scripts.containers.lite import ApiReader, StatusFirstEngine, endpoint, status_engine
from psa_scripts.engine import default_engine
from psa_scripts.errors import EngineError, InputError

SECOND = 1_000_000_000
T0 = 1_764_191_283 * SECOND  # 2025-11-26T21:08:03Z
SVC_ID = "abcdef0123456789" * 4


def stamp(ns):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ns // SECOND))  # Podman: whole seconds


def frame(payload, stream=1):
    return struct.pack(">BxxxL", stream, len(payload)) + payload


class Engine:
    """What the fake engine knows: containers, their logs, the requests it got."""

    def __init__(self):
        self.containers = {  # name -> (id, running, tty)
            "svc": (SVC_ID, True, False),
            "stopped": ("5709ed" + "0" * 58, False, False),
            "tty": ("77" * 32, True, True),
            "slow": ("51" * 32, True, False),
            "stall": ("57" * 32, True, False),
            "nolog": ("de" * 32, True, False),
            "vanishing": ("0f" * 32, True, False),
        }
        self.entries = []  # (ns, text) of every container's logs
        self.requests = []
        self.stop = threading.Event()

    def write(self, ns, text):
        self.entries.append((ns, text))

    def by_id(self, short):
        for name, (cid, _, tty) in self.containers.items():
            if cid.startswith(short):
                return name, tty
        return None, False


def handler_for(engine):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, document):
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client read the status and had enough (a 404 on logs)

        def chunk(self, data):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def do_GET(self):
            url = urlsplit(self.path)
            engine.requests.append(self.path)
            parts = url.path.split("/")  # ['', 'v1.41', 'containers', name, 'json'|'logs']
            if len(parts) != 5 or parts[2] != "containers":
                return self.reply(404, {"message": "page not found"})
            _, version, _, ref, what = parts
            engine.versions = getattr(engine, "versions", []) + [version]
            if what == "json":
                if ref == "broken":
                    return self.reply(500, {"message": "boom from the engine"})
                if ref not in engine.containers:
                    return self.reply(404, {"message": f"no container with name or ID \"{ref}\" found: no such container"})
                cid, running, tty = engine.containers[ref]
                return self.reply(200, {"Id": cid, "Name": "/" + ref, "State": {"Running": running,
                                        "Status": "running" if running else "exited"}, "Config": {"Tty": tty}})
            name, tty = engine.by_id(ref)
            if name in (None, "vanishing"):
                return self.reply(404, {"message": "no such container"})
            if name == "nolog":
                return self.reply(501, {"message": "configured logging driver does not support reading"})
            if name == "stall":  # scans for longer than any check may wait
                engine.stop.wait(10)
                return
            query = parse_qs(url.query)
            since = float(query["since"][0]) * SECOND if "since" in query else None
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.docker.raw-stream" if tty else "application/vnd.docker.multiplexed-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                if name == "slow":  # a frame every 0.2 s, for longer than the deadline
                    for n in range(50):
                        if engine.stop.wait(0.2):
                            break
                        self.chunk(frame(f"{stamp(T0 + n * SECOND)} slow {n}\n".encode()))
                    self.wfile.write(b"0\r\n\r\n")
                    return
                body = b""
                for ns, text in list(engine.entries):
                    if since is not None and ns <= since:  # Podman: strict, on full precision
                        continue
                    line = f"{stamp(ns)} {text}\n".encode()
                    body += line.replace(b"\n", b"\r\n") if tty else frame(line)
                sizes = random.Random(len(body))
                position = 0
                while position < len(body):  # chunks that cut frames anywhere
                    size = sizes.randint(1, 300)
                    self.chunk(body[position:position + size])
                    position += size
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class TcpServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


@pytest.fixture
def fake():
    engine = Engine()
    with tempfile.TemporaryDirectory(prefix="psa-lite-") as directory:
        path = os.path.join(directory, "docker.sock")
        server = UnixServer(path, handler_for(engine))
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        engine.path = path
        try:
            yield engine
        finally:
            engine.stop.set()
            server.shutdown()
            server.server_close()


def reader(fake, **options):
    return ApiReader.from_env({"DOCKER_HOST": f"unix://{fake.path}"}, **options)


def check(engine, cursor, name="svc", **bounds):
    batch = engine.read_logs(name, cursor, max_lines=bounds.get("max_lines", 100_000),
                             max_bytes=bounds.get("max_bytes", 100_000_000))
    return batch.lines, batch.cursor, batch.skipped


# --- inspect ------------------------------------------------------------------------------------
def test_running_stopped_and_missing(fake):
    api = reader(fake)
    assert api.is_running("svc") is True
    assert api.is_running("stopped") is False
    assert api.is_running("missing") is False
    assert api.inspect("missing") is None
    assert api.inspect("svc")["Id"] == SVC_ID
    assert fake.requests[0] == "/v1.41/containers/svc/json"


def test_an_engine_error_carries_the_engines_message(fake):
    with pytest.raises(EngineError, match="^could not inspect container broken: boom from the engine$"):
        reader(fake).is_running("broken")


def test_docker_api_version_is_honoured(fake):
    env = {"DOCKER_HOST": f"unix://{fake.path}", "DOCKER_API_VERSION": "1.40"}
    assert ApiReader.from_env(env).is_running("svc")
    assert fake.requests == ["/v1.40/containers/svc/json"]
    assert ApiReader.from_env(dict(env, DOCKER_API_VERSION="auto")).api_prefix == ""  # the engine's own version


def test_no_engine_at_the_socket_is_an_engine_error_that_says_so(tmp_path):
    api = ApiReader("unix", str(tmp_path / "nothing.sock"), timeout=2)
    with pytest.raises(EngineError, match="could not inspect container svc: the container engine did not answer") as raised:
        api.is_running("svc")
    # what a user with only the wheel has: DOCKER_HOST and any Docker API, not a file of the source tree
    assert "set DOCKER_HOST to it" in str(raised.value) and "engine-up" not in str(raised.value)


def test_a_bad_name_is_refused_before_any_call(tmp_path):
    api = ApiReader("unix", str(tmp_path / "never-opened.sock"))
    for call in (api.is_running, api.inspect, lambda n: api.read_logs(n, None, max_lines=1, max_bytes=1)):
        with pytest.raises(InputError, match="not a valid container name"):
            call("x; touch /tmp/pwned")


# --- logs ---------------------------------------------------------------------------------------
def test_multiplexed_logs_are_delivered_exactly_once_over_checks(fake):
    api = reader(fake)
    rng = random.Random(3)
    now, number, cursor, delivered = T0 + 123, 0, None, []
    for _ in range(25):
        for _ in range(rng.choice([0, 1, 3, 40])):
            now += rng.choice([1, 1000, 30_000_000, 400_000_000, 1_300_000_000])
            number += 1
            fake.write(now, f"line {number}")
        assert api.is_running("svc")
        lines, cursor, skipped = check(api, cursor)
        assert skipped == 0
        delivered += lines
    assert delivered == [f"line {n}" for n in range(1, number + 1)]
    assert LogCursor.decode(cursor).container == SVC_ID[:12]
    logs = [r for r in fake.requests if "/logs?" in r]
    assert logs[0].startswith(f"/v1.41/containers/{SVC_ID[:12]}/logs?") and "timestamps=1" in logs[0]
    assert "follow=0" in logs[0] and "since" not in logs[0]
    assert any("since=" in r for r in logs[1:])


def test_is_running_then_read_logs_inspects_once(fake):
    api = reader(fake)
    fake.write(T0, "a")
    api.is_running("svc")
    check(api, None)
    assert [r.split("?")[0].rsplit("/", 1)[1] for r in fake.requests] == ["json", "logs"]


def test_tty_logs_and_the_caps(fake):
    for n in range(1, 21):
        fake.write(T0 + n, f"line {n}")
    assert check(reader(fake), None, "tty")[0] == [f"line {n}" for n in range(1, 21)]
    lines, _, skipped = check(reader(fake), None, max_lines=5)
    assert lines == [f"line {n}" for n in range(16, 21)] and skipped == 15


def test_a_missing_container_gives_nothing_and_keeps_the_cursor(fake):
    assert check(reader(fake), "since=start seen=0", "missing") == ([], "since=start seen=0", 0)
    assert check(reader(fake), "since=start seen=0", "vanishing") == (
        [], f"since=start seen=0 container={'0f' * 6}", 0)


def test_a_refused_logs_read_is_a_note_with_the_engines_message(fake):
    lines, cursor, _ = check(reader(fake), "since=start seen=0", "nolog")
    assert lines == ["[could not read all the logs of nolog: could not read them: "
                     "configured logging driver does not support reading]"]
    assert cursor == f"since=start seen=0 container={'de' * 6}"


def test_a_trickling_body_stops_at_the_deadline_with_a_note(fake):
    api = reader(fake, log_read_seconds=1)
    started = time.monotonic()
    lines, cursor, _ = check(api, None, "slow")
    elapsed = time.monotonic() - started
    assert elapsed < 1.8, elapsed
    assert lines[-1].startswith("[log reading stopped after 1 s: slow writes faster")
    assert lines[:-1] and all(line.startswith("slow ") for line in lines[:-1])
    assert LogCursor.decode(cursor).since > T0 // SECOND


def test_headers_that_never_come_stop_at_the_deadline(fake):
    api = reader(fake, log_read_seconds=1)
    started = time.monotonic()
    lines, cursor, _ = check(api, "since=start seen=0", "stall")
    assert time.monotonic() - started < 2.5
    assert len(lines) == 1 and lines[0].startswith("[log reading stopped after 1 s")
    assert LogCursor.decode(cursor).since >= int(time.time()) - 2


def test_plain_tcp_hosts_work_too(fake):
    server = TcpServer(("127.0.0.1", 0), handler_for(fake))
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        fake.write(T0, "over tcp")
        api = ApiReader.from_env({"DOCKER_HOST": f"tcp://127.0.0.1:{server.server_address[1]}"})
        assert api.is_running("svc") and check(api, None)[0] == ["over tcp"]
    finally:
        server.shutdown()
        server.server_close()


# --- which hosts, and the default engine ----------------------------------------------------------
@pytest.mark.parametrize("environ,expected", [
    ({}, ("unix", "/var/run/docker.sock", 0)),
    ({"DOCKER_HOST": "unix:///run/x.sock"}, ("unix", "/run/x.sock", 0)),
    ({"DOCKER_HOST": "tcp://10.0.0.5:2375"}, ("tcp", "10.0.0.5", 2375)),
    ({"DOCKER_HOST": "tcp://[::1]:2375"}, ("tcp", "::1", 2375)),
    ({"DOCKER_HOST": "tcp://engine"}, ("tcp", "engine", 2375)),
    ({"DOCKER_HOST": "tcp://10.0.0.5:2376", "DOCKER_TLS_VERIFY": "1"}, None),
    ({"DOCKER_HOST": "tcp://10.0.0.5:2376", "DOCKER_CERT_PATH": "/certs"}, None),
    ({"DOCKER_HOST": "unix:///run/x.sock", "DOCKER_TLS_VERIFY": ""}, ("unix", "/run/x.sock", 0)),
    ({"DOCKER_HOST": "https://engine:2376"}, None),
    ({"DOCKER_HOST": "ssh://user@engine"}, None),
    ({"DOCKER_HOST": "npipe:////./pipe/docker_engine"}, None),
    ({"DOCKER_HOST": "tcp://10.0.0.5:2\u00b2"}, None),  # '2²'.isdigit() is true: int() raised ValueError
])
def test_hosts_the_stdlib_reader_speaks_and_the_sdks(environ, expected):
    assert endpoint(environ) == expected


def test_ssh_and_tls_hosts_get_the_sdk_engine(monkeypatch):
    from psa_scripts.containers import DockerEngine

    seen = []
    monkeypatch.setattr(DockerEngine, "from_env", classmethod(lambda cls, environ, **options: seen.append(environ) or "sdk"))
    for environ in ({"DOCKER_HOST": "ssh://user@engine"},
                    {"DOCKER_HOST": "tcp://engine:2376", "DOCKER_TLS_VERIFY": "1"}):
        assert status_engine(environ) == "sdk"
    assert seen == [{"DOCKER_HOST": "ssh://user@engine"}, {"DOCKER_HOST": "tcp://engine:2376", "DOCKER_TLS_VERIFY": "1"}]


def test_the_default_engine_loads_the_sdk_only_for_actions(fake):
    made = []

    class Sdk:
        def stop(self, name, timeout):
            return ("stopped", name, timeout)

        def remove(self, name):
            return ("removed", name)

    engine = StatusFirstEngine(reader(fake), lambda: made.append(1) or Sdk())
    assert engine.is_running("svc") and check(engine, None)[1] and not made
    assert engine.stop("svc", 3) == ("stopped", "svc", 3) and engine.remove("svc") == ("removed", "svc")
    assert made == [1]


def test_a_fresh_interpreter_status_check_never_imports_the_sdk(fake):
    fake.write(T0, "hello")
    program = (
        "import os, sys\n"
        "from psa_scripts.engine import default_engine\n"
        "engine = default_engine(os.environ)\n"
        "assert engine.is_running('svc')\n"
        "print(engine.read_logs('svc', None, max_lines=10, max_bytes=1000).lines)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('docker', 'requests', 'urllib3')))\n")
    env = dict(os.environ, DOCKER_HOST=f"unix://{fake.path}")
    env.pop("DOCKER_TLS_VERIFY", None), env.pop("DOCKER_CERT_PATH", None)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=60,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["['hello']", "[]"]
    assert isinstance(default_engine({"DOCKER_HOST": f"unix://{fake.path}"}), StatusFirstEngine)
