"""ScriptContext reads py4j-shaped and plain bindings alike, with errors that name the input."""

import pytest

from psa_scripts import names
from psa_scripts.context import ScriptContext, as_tuple, format_marker, parse_flag
from psa_scripts.errors import InputError
from psa_scripts.testing import FakeSchedulerApi, JavaArray, JavaMap


@pytest.fixture(params=["dict", "javamap"])
def mapping(request):
    return dict if request.param == "dict" else JavaMap


def test_missing_required_variable_names_it_and_where_it_comes_from(mapping):
    ctx = ScriptContext({"variables": mapping({})})
    with pytest.raises(InputError) as error:
        ctx.variables.require_int(names.PCA_INSTANCE_ID)
    assert str(error.value) == "PCA_INSTANCE_ID is not set: PSA sets it when it launches a service action"


def test_malformed_number_names_the_variable_and_the_value(mapping):
    ctx = ScriptContext({"variables": mapping({names.PCA_INSTANCE_ID: "seven"})})
    with pytest.raises(InputError, match=r"^PCA_INSTANCE_ID must be a whole number, got 'seven'"):
        ctx.variables.require_int(names.PCA_INSTANCE_ID)


@pytest.mark.parametrize("raw, expected", [("7", 7), (7, 7), (" 12 ", 12), (7.0, 7), ("-1", -1), ("+3", 3)])
def test_numbers_read_from_strings_or_numbers(raw, expected):
    assert ScriptContext({"variables": {"N": raw}}).variables.require_int("N") == expected


@pytest.mark.parametrize("raw", ["\u0663", "8\u00b2", "\u00b2", "1_000", "- 1", "0x10"])  # '٣' (Arabic-Indic three), '8²'
def test_a_number_in_other_than_ascii_digits_names_the_variable(raw):
    """int() read '\u0663' as 3 and '1_000' as 1000: a port or a timeout is written with 0-9."""
    with pytest.raises(InputError) as error:
        ScriptContext({"variables": {"SERVICE_PORT": raw}}).variables.integer("SERVICE_PORT")
    assert str(error.value).startswith(f"SERVICE_PORT must be a whole number, got {raw!r}: ")


@pytest.mark.parametrize("raw, expected", [
    ("True", True), ("true", True), (True, True), ("FALSE", False), (False, False),
    ("yes", True), ("0", False), (None, False), ("", False),
])
def test_flags_read_case_insensitively(raw, expected):
    assert ScriptContext({"variables": {"F": raw}}).variables.flag("F") is expected


def test_malformed_flag_is_a_clear_error():
    with pytest.raises(InputError, match=r"^PROXYFIED must be true or false, got 'maybe'"):
        ScriptContext({"variables": {"PROXYFIED": "maybe"}}).variables.flag("PROXYFIED")


def test_blank_text_counts_as_unset():
    ctx = ScriptContext({"variables": {"INSTANCE_NAME": "  "}})
    with pytest.raises(InputError, match="INSTANCE_NAME is not set"):
        ctx.variables.require("INSTANCE_NAME")


def test_args_from_java_array_list_or_absent():
    assert as_tuple(JavaArray(["FINISHED"])) == ("FINISHED",)
    assert as_tuple(["a", "b"]) == ("a", "b")
    assert as_tuple(None) == ()
    assert ScriptContext({"variables": {}}).args == ()


def test_arg_missing_or_not_allowed_is_explained():
    ctx = ScriptContext({"variables": {}, "args": JavaArray(["STOPPED"])})
    with pytest.raises(InputError, match=r"argument 1 \(status\) must be one of FINISHED, PAUSED, got 'STOPPED'"):
        ctx.arg(0, "status", ("FINISHED", "PAUSED"))
    with pytest.raises(InputError, match=r"argument 2 \(x\) is missing.*<arguments>"):
        ctx.arg(1, "x")


def test_clean_scripts_have_no_workdir():
    ctx = ScriptContext({"variables": {}, "localspace": "/tmp"}, kind="Script/clean")
    with pytest.raises(InputError, match="clean scripts have no localspace"):
        ctx.workdir


def test_workdir_is_the_localspace_binding_else_cwd(tmp_path, monkeypatch):
    assert ScriptContext({"localspace": str(tmp_path)}).workdir == str(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert ScriptContext({}).workdir == str(tmp_path)


def test_missing_binding_is_named():
    with pytest.raises(InputError, match="binding 'rmapi' is missing"):
        ScriptContext({"variables": {}}).rm


def test_scheduler_is_connected_once():
    scheduler = FakeSchedulerApi()
    ctx = ScriptContext({"schedulerapi": scheduler})
    ctx.scheduler, ctx.scheduler
    assert [c.method for c in scheduler.calls] == ["connect"]


def test_psa_client_needs_a_session():
    class NoSession(FakeSchedulerApi):
        def getSession(self):
            return None

    ctx = ScriptContext({"variables": {names.PA_CLOUD_AUTOMATION_REST_URL: "http://127.0.0.1:1"},
                         "schedulerapi": NoSession()})
    with pytest.raises(InputError, match="gave no session id"):
        ctx.psa


def test_marker_is_iso8601_with_offset_whole_seconds(time_zone):
    time_zone("UTC")
    assert format_marker(1764191283.75) == "2025-11-26T21:08:03+00:00"
    time_zone("IST-5:30")  # POSIX zone strings: no tzdata needed
    assert format_marker(1764191283.75) == "2025-11-27T02:38:03+05:30"
    time_zone("NST+3:30")
    assert format_marker(1764191283.75) == "2025-11-26T17:38:03-03:30"


def test_parse_flag_default_for_none():
    assert parse_flag(None, "x", default=True) is True


def test_http_settings_come_from_env_then_workflow_variables():
    ctx = ScriptContext({"variables": {"PSA_TLS_VERIFY": "false", "OTHER": "x"}},
                        environ={"PSA_CA_BUNDLE": "/etc/ca.pem", "PSA_HTTP_TIMEOUT": "5", "PATH": "/bin"})
    assert ctx.settings_source() == {"PSA_CA_BUNDLE": "/etc/ca.pem", "PSA_HTTP_TIMEOUT": "5", "PATH": "/bin",
                                     "PSA_TLS_VERIFY": "false"}
    from psa_scripts.clients.http import HttpSettings
    assert HttpSettings.from_env(ctx.settings_source()).verify is False
