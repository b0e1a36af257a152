"""The engine tier skips only when no engine answers; any other engine fault fails the run."""

import http.server
import threading

import pytest
from engine_support import require_engine


@pytest.fixture
def broken_engine():
    """A loopback server that answers every Docker API call with HTTP 500."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b'{"message": "engine on fire"}'
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_no_engine_answering_skips_outside_ci(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nothing.sock")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"no container engine answers at unix://.*nothing.sock \(.*\): run tools/engine-up.sh"):
        require_engine(timeout=5)


def test_no_engine_answering_fails_under_ci(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nothing.sock")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"CI=true: a real engine is required"):
        require_engine(timeout=5)


def test_an_engine_that_answers_with_an_error_fails_instead_of_skipping(monkeypatch, broken_engine):
    monkeypatch.setenv("DOCKER_HOST", broken_engine)
    monkeypatch.delenv("CI", raising=False)
    try:
        require_engine(timeout=5)
    except pytest.skip.Exception as skipped:
        pytest.fail(f"an engine answering HTTP 500 made the tier skip: {skipped}")
    except pytest.fail.Exception as failed:
        assert "answered with an error: " in str(failed) and "500 Server Error" in str(failed)
    else:
        pytest.fail("an engine answering HTTP 500 was accepted")
