"""The localspace files between a task and its post script: what is refused, and how it ends."""

import pytest

from psa_scripts import statusfiles
from psa_scripts.errors import InputError, ServiceError
from psa_scripts.testing.harness import State

from samples import NAME, instance_json

CHANNEL = "Service_Instance_7"
NOT_UTF8 = b"\xff\xfeoops"


@pytest.mark.parametrize("text", ["0", "65536", "99999", "-1", "+80", "80.0", " 8 0", "²", "٣٢٧٦٨", "３２７６８"])
def test_a_port_outside_1_to_65535_or_not_in_ascii_digits_is_refused_with_the_range(tmp_path, text):
    (tmp_path / "svc_port").write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as refused:
        statusfiles.read_port(str(tmp_path), "svc")
    assert str(refused.value) == f"file svc_port must hold a port number (1-65535), got {text.strip()!r}"


@pytest.mark.parametrize("text, port", [("1", 1), ("65535", 65535), ("32768\n", 32768)])
def test_ports_at_the_bounds_are_read(tmp_path, text, port):
    (tmp_path / "svc_port").write_text(text)
    assert statusfiles.read_port(str(tmp_path), "svc") == port


@pytest.mark.parametrize("reader, suffix", [
    (statusfiles.read_status, "_status"), (statusfiles.read_port, "_port"),
    (statusfiles.read_container_id, "_containerID"),
])
def test_a_file_that_is_not_utf8_is_a_clear_input_error(tmp_path, reader, suffix):
    (tmp_path / f"svc{suffix}").write_bytes(NOT_UTF8)
    with pytest.raises(InputError) as refused:
        reader(str(tmp_path), "svc")
    assert str(refused.value) == (f"file svc{suffix} in {tmp_path} is not UTF-8 text (byte 0xff at offset 0): "
                                  "the task before this script must write it as UTF-8")


def test_post_trigger_with_a_status_file_that_is_not_utf8_sets_error(harness):
    state = State(variables={"PCA_INSTANCE_ID": "7", "INSTANCE_NAME": NAME, "PA_JOB_ID": "50"}, args=("FINISHED",),
                  instance=instance_json("RUNNING"), files={f"{NAME}_status": NOT_UTF8},
                  channels={CHANNEL: {"INSTANCE_NAME": NAME, "RUNNING_STATE": 1}})
    outcome = harness.run("Post_Trigger_Action", state)
    assert isinstance(outcome.error, ServiceError)
    assert f"file {NAME}_status in " in str(outcome.error) and "is not UTF-8 text" in str(outcome.error)
    assert outcome.status_history == ["ERROR"]
    assert outcome.state.files == {f"{NAME}_status": NOT_UTF8}  # the harness keeps the bytes as they are
    assert "FINISH_DONE" not in outcome.state.channels[CHANNEL]


def test_post_start_with_a_port_in_non_ascii_digits_fails_before_any_change(harness, start_state):
    outcome = harness.run("Post_Start_Service", start_state.replace(
        files={f"{NAME}_port": "٣٢٧٦٨", f"{NAME}_containerID": "c1"}))
    assert isinstance(outcome.error, InputError)
    assert str(outcome.error) == f"file {NAME}_port must hold a port number (1-65535), got '٣٢٧٦٨'"
    assert outcome.psa_writes == [] and outcome.state.channels == {} and outcome.state.node_tokens == {}
