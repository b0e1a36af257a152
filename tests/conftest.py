"""Fixtures shared by the script tests: a harness on the loopback emulator and sample states."""

import pytest

from psa_scripts.testing.harness import Harness, State

from samples import NAME, instance_json, service_variables


@pytest.fixture
def time_zone():
    """``time_zone("Asia/Kolkata")`` sets the process's zone for one test, restored after it."""
    import os
    import time

    saved = os.environ.get("TZ")

    def use(name):
        os.environ["TZ"] = name
        time.tzset()

    yield use
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()


@pytest.fixture
def harness(tmp_path):
    workdir = tmp_path / "localspace"
    workdir.mkdir()
    with Harness(workdir=str(workdir), clock=lambda: 1_764_000_000.0) as running:
        yield running


@pytest.fixture
def start_state():
    """The deployment task has run: port and container id files are in the localspace."""
    return State(
        variables=service_variables(),
        instance=instance_json(),
        files={f"{NAME}_port": "32768\n", f"{NAME}_containerID": "4f1c2a9e7b3d\n"},
    )
