"""The shared helpers: proxy URLs, node tokens, status files, ports, the sync channel."""

import os

import pytest

from psa_scripts import names, statusfiles
from psa_scripts.channel import ServiceChannel, channel_name
from psa_scripts.context import Values
from psa_scripts.errors import InputError
from psa_scripts.ports import endpoint_protocol, endpoint_url
from psa_scripts.proxy import misspelling_warning, proxy_urls
from psa_scripts.testing import FakeRmApi, FakeSynchronizationApi, JavaArray
from psa_scripts.tokens import add_node_token, holds_service_token, node_token, remove_node_token


@pytest.mark.parametrize("base, http, ws", [
    ("https://try.activeeon.com:8443/cloud-automation-service",
     "https://try.activeeon.com:8443/cloud-automation-service/services/7/endpoints/gui-42/",
     "wss://try.activeeon.com:8443/cloud-automation-service/services/7/endpoints/gui-42/"),
    ("http://h:8080/cloud-automation-service/",
     "http://h:8080/cloud-automation-service/services/7/endpoints/gui-42/",
     "ws://h:8080/cloud-automation-service/services/7/endpoints/gui-42/"),
])
def test_proxy_urls(base, http, ws):
    assert proxy_urls(base, 7, "gui-42") == (http, ws)


def test_misspelt_proxified_is_warned_only_when_the_right_one_is_absent():
    assert "PROXIFIED is set but PROXYFIED is not" in misspelling_warning(Values({"PROXIFIED": "true"}, "variable"))
    assert misspelling_warning(Values({"PROXIFIED": "true", "PROXYFIED": "true"}, "variable")) is None
    assert misspelling_warning(Values({}, "variable")) is None


def test_node_tokens():
    rm = FakeRmApi()
    assert add_node_token(rm, "pnp://n", "svc") == "PSA_svc"
    assert rm.node_tokens == {"pnp://n": {"PSA_svc"}}
    remove_node_token(rm, "pnp://n", "svc")
    assert rm.node_tokens == {}
    assert node_token("x") == "PSA_x"


@pytest.mark.parametrize("tokens, expected", [
    (["PSA_jupyter"], True), (JavaArray(["other", "PSA_x"]), True), (["other"], False), ([], False), (None, False),
])
def test_holds_service_token(tokens, expected):
    assert holds_service_token(tokens) is expected


def test_status_files_round_trip_and_clear_errors(tmp_path):
    workdir = str(tmp_path)
    statusfiles.write_port(workdir, "svc", 8080)
    statusfiles.write_container_id(workdir, "svc", "abc123\n")
    assert statusfiles.read_port(workdir, "svc") == 8080
    assert statusfiles.read_container_id(workdir, "svc") == "abc123"
    assert sorted(os.listdir(workdir)) == ["svc_containerID", "svc_port"]  # no temp file left
    with pytest.raises(InputError, match=r"file svc_status is missing in .*the task before this script must write it"):
        statusfiles.read_status(workdir, "svc")
    (tmp_path / "svc_status").write_text("  \n")
    with pytest.raises(InputError, match="file svc_status in .* is empty"):
        statusfiles.read_status(workdir, "svc")
    (tmp_path / "svc_port").write_text("eighty")
    with pytest.raises(InputError, match=r"file svc_port must hold a port number \(1-65535\), got 'eighty'"):
        statusfiles.read_port(workdir, "svc")
    assert statusfiles.read_container_id(workdir, "missing") == ""
    assert statusfiles.already_removed_text("svc") == "Error: No such container: svc"


@pytest.mark.parametrize("variables, args, expected", [
    ({"HTTPS_ENABLED": "true", "HTTP_ENABLED": "true"}, (), "https"),
    ({"HTTPS_ENABLED": "false"}, ("mongodb",), "http"),
    ({"HTTP_ENABLED": "True"}, ("mongodb",), "http"),
    ({"HTTP_ENABLED": "false"}, ("mongodb",), "mongodb"),
    ({}, (), None),
])
def test_endpoint_protocol_precedence(variables, args, expected):
    assert endpoint_protocol(Values(variables, "variable"), args) == expected


def test_endpoint_url_brackets_ipv6():
    assert endpoint_url("http", "10.0.0.1", 80) == "http://10.0.0.1:80"
    assert endpoint_url("http", "::1", 80) == "http://[::1]:80"


def test_channel():
    sync = FakeSynchronizationApi()
    channel = ServiceChannel(sync, 7)
    assert channel.name == channel_name(7) == "Service_Instance_7"
    assert channel.get("X") is None and not channel.exists()
    channel.create()
    channel.put(names.KEY_FINISH_LAUNCHED, "true")
    channel.put(names.KEY_PAUSE_LAUNCHED, "garbage")
    assert channel.flag(names.KEY_FINISH_LAUNCHED) is True
    assert channel.flag(names.KEY_PAUSE_LAUNCHED) is False
    assert sync.calls.of("synchronizationapi", "createChannelIfAbsent")[0].args == ("Service_Instance_7", True)
