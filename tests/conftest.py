"""Fixtures shared by the script tests: a harness on the loopback emulator and sample states."""

import pytest

from psa_scripts import names
from psa_scripts.testing.harness import Harness, State, node_variables

NAME = "coco-annotator-42"
INSTANCE_ID = 7


@pytest.fixture
def harness(tmp_path):
    workdir = tmp_path / "localspace"
    workdir.mkdir()
    with Harness(workdir=str(workdir), clock=lambda: 1_764_000_000.0) as running:
        yield running


def instance_json(status="VOID -> RUNNING", **extra):
    data = {
        "instance_id": INSTANCE_ID,
        "service_id": "COCO_Annotator",
        "bucket_name": "service-automation",
        "instance_status": status,
        "variables": {"INSTANCE_NAME": NAME},
        "deployments": [],
        "groups": ["users"],
        "job_submissions": [{"transition_state": "VOID -> RUNNING", "job_id": "42", "submission_time": 1}],
        "some_future_field": {"kept": True},
    }
    data.update(extra)
    return data


def service_variables(**overrides):
    return node_variables(**{
        names.PCA_INSTANCE_ID: str(INSTANCE_ID),
        names.INSTANCE_NAME: NAME,
        names.SERVICE_PORT: "-1",
        names.PROXYFIED: "True",
        names.ENDPOINT_ID: "coco-annotator-gui-42",
        names.HTTP_ENABLED: "True",
        **overrides,
    })


@pytest.fixture
def start_state():
    """The deployment task has run: port and container id files are in the localspace."""
    return State(
        variables=service_variables(),
        instance=instance_json(),
        files={f"{NAME}_port": "32768\n", f"{NAME}_containerID": "4f1c2a9e7b3d\n"},
    )
