"""Sample service data shared by the script tests (importable: tests/ is on pytest's pythonpath)."""

from psa_scripts import names
from psa_scripts.testing.harness import node_variables

NAME = "coco-annotator-42"
INSTANCE_ID = 7


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
