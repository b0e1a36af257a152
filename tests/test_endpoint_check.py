"""psa run's knock at a deployed endpoint (psa_scripts.workflow.endpoint_check), on real loopback sockets:
a service that answers passes in silence; a port nobody listens on, or a listener that accepts and says
nothing to an HTTP request (what Docker's userland proxy does for a container listening on nothing),
gives one warning line."""

import http.server
import socket
import threading

import pytest

from psa_scripts.workflow.endpoint_check import answers, warn_if_silent


@pytest.fixture
def http_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    server.RequestHandlerClass.log_message = lambda *args: None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def mute_listener():
    """Accepts every connection and closes it without a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()
    thread.join(timeout=10)


def closed_port():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def test_a_service_that_answers_gets_no_warning(http_server):
    said = []
    assert warn_if_silent(http_server, said.append, "80", wait=0) is True
    assert said == []


def test_a_port_nobody_listens_on_gets_one_line_naming_the_url_and_the_container_port():
    url = f"http://127.0.0.1:{closed_port()}"
    said = []
    assert warn_if_silent(url, said.append, "8080", wait=0) is False
    assert said == [f"psa run: warning: nothing answers at {url} after 0 s: does the image listen on CONTAINER_PORT "
                    "8080? Setting READY_LOG makes the deployment wait until the service is ready"]


def test_an_http_endpoint_must_reply_not_only_accept(mute_listener):
    assert answers(f"http://127.0.0.1:{mute_listener}", wait=0) is False
    assert answers(f"mongodb://127.0.0.1:{mute_listener}", wait=0) is True  # another protocol: accepting is enough


def test_a_url_without_a_port_is_not_judged():
    assert answers("http://127.0.0.1/", wait=0) is True
