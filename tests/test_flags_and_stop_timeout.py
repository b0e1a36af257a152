"""Blank flags give the caller's default; Pause_Docker_Service hands DOCKER_STOP_TIMEOUT to the engine."""

import pytest

from psa_scripts.containers import ActionOutcome, DockerEngine
from psa_scripts.containers.lite import StatusFirstEngine
from psa_scripts.context import Values, parse_flag
from psa_scripts.testing import JavaMap
from psa_scripts.testing.harness import Harness, State

from samples import NAME


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
@pytest.mark.parametrize("default", [True, False])
def test_a_blank_flag_is_the_callers_default(blank, default):
    assert parse_flag(blank, "X", default) is default
    assert parse_flag(None, "X", default) is default
    assert Values({"X": blank}, "variable").flag("X", default) is default
    assert Values(JavaMap(), "variable").flag("X", default) is default


@pytest.mark.parametrize("default", [True, False])
@pytest.mark.parametrize("text, expected", [("false", False), ("0", False), ("off", False), ("TRUE", True), ("yes", True)])
def test_a_set_flag_wins_over_the_default(default, text, expected):
    assert parse_flag(text, "X", default) is expected


class StopRecorder:
    """An engine that records how it was asked to stop."""

    def __init__(self):
        self.stops = []

    def stop(self, name, timeout=None, owner=None):
        self.stops.append((name, timeout))
        return ActionOutcome.DONE


@pytest.mark.parametrize("variables, timeout", [({"DOCKER_STOP_TIMEOUT": "3"}, 3), ({"DOCKER_STOP_TIMEOUT": 0}, 0),
                                                ({}, 10), ({"DOCKER_STOP_TIMEOUT": " "}, 10)])
def test_pause_passes_the_stop_timeout_to_the_engine(tmp_path, variables, timeout):
    engine = StopRecorder()
    with Harness(workdir=str(tmp_path), engine=engine) as harness:
        outcome = harness.run("Pause_Docker_Service", State(variables={"INSTANCE_NAME": NAME, "PCA_INSTANCE_ID": "7", **variables}))
    outcome.raise_error()
    assert engine.stops == [(NAME, timeout)]
    assert outcome.state.files == {f"{NAME}_status": NAME}


def test_the_engines_pass_the_stop_timeout_on_to_the_api():
    class Api:
        def __init__(self):
            self.calls = []

        def stop(self, name, timeout=None):
            self.calls.append((name, timeout))

    class Client:
        api = Api()

    engine = DockerEngine(Client())
    assert engine.stop(NAME, 4) is ActionOutcome.DONE
    sdk = StopRecorder()
    StatusFirstEngine(reader=None, sdk_engine=lambda: sdk).stop(NAME, 7)
    assert Client.api.calls == [(NAME, 4)] and sdk.stops == [(NAME, 7)]
