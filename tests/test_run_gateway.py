"""psa run's gateway as a door: it works under any TMPDIR, and a script hanging up is a note."""

import io
import json
import os
import socket
import tempfile
import threading

from psa_scripts.workflow import gateway_server
from psa_scripts.workflow.gateway_server import GatewayServer, LiveMap, Session
from psa_scripts.workflow.runner import Runner


def test_the_gateway_works_under_a_temp_directory_too_long_for_a_socket(tmp_path, monkeypatch):
    deep = tmp_path
    while len(os.fsencode(str(deep))) < 150:
        deep = deep / ("d" * 40)
    deep.mkdir(parents=True)
    short = tempfile.mkdtemp(dir="/tmp")  # where the socket goes instead (SHORT_TEMP), watched here
    monkeypatch.setattr(gateway_server, "SHORT_TEMP", short)
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    workflow = tmp_path / "w.xml"
    workflow.write_text('<job xmlns="urn:proactive:jobdescriptor:3.14" name="W"><genericInformation>'
                        '<info name="pca.states" value="(VOID,RUNNING)"/></genericInformation><taskFlow>'
                        '<task name="A"><scriptExecutable><script><code language="cpython"><![CDATA['
                        'print("size", variables.size() > 0)]]></code></script></scriptExecutable></task>'
                        "</taskFlow></job>")
    try:
        report = Runner(workflow, out=io.StringIO()).run()
        assert [s.output for s in report.scripts] == ["size True"]
        assert os.listdir(short) == []  # the socket's directory went with the run
        assert os.listdir(deep) == []
    finally:
        os.rmdir(short)


def test_a_script_hanging_up_mid_request_is_a_note_not_a_traceback(tmp_path, capsys):
    notes = []
    noted = threading.Event()
    server = GatewayServer(str(tmp_path), on_note=lambda text: (notes.append(text), noted.set()))
    try:
        token = server.open(Session({}, LiveMap({"A": "1"}), {}))
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(server.address)
            client.shutdown(socket.SHUT_RD)  # it will not read the answer: the answer's write fails
            client.sendall((json.dumps({"token": token, "object": "variables", "method": "size"}) + "\n").encode())
            assert noted.wait(10)
    finally:
        server.close()
    assert notes == ["psa run: note: a script hung up on the gateway before its answer"]
    assert "Traceback" not in capsys.readouterr().err
