"""The instance model round-trips PSA's JSON and keeps what it does not model."""

import copy

import pytest

from psa_scripts.model import (
    Container,
    Deployment,
    Endpoint,
    JobSubmission,
    Node,
    ServiceInstance,
)

FULL = {
    "instance_id": 7,
    "service_id": "COCO_Annotator",
    "bucket_name": "service-automation",
    "user_name": "admin",
    "label": None,
    "instance_status": "RUNNING",
    "creation_time": 1700000000000,
    "finish_time": None,
    "service_icon": "/automation-dashboard/styles/patterns/img/wf-icons/coco.png",
    "variables": {"INSTANCE_NAME": "coco-annotator-12", "PROXYFIED": "True"},
    "deployments": [
        {
            "id": 3,
            "container": {"id": "abc123", "name": "coco-annotator-12", "image": "jsbroks/coco"},
            "node": {
                "id": "n1",
                "name": "local-LocalNodes-0",
                "node_source_name": "LocalNodes",
                "host": "worker-1",
                "url": "pnp://worker-1:64738/local-LocalNodes-0",
            },
            "endpoint": {
                "id": "coco-annotator-gui-12",
                "url": "http://worker-1:5000",
                "proxyfied": True,
                "proxyfiedUrl": "https://psa/cloud-automation-service/services/7/endpoints/coco/",
                "future_flag": {"nested": [1, 2]},
            },
            "deployment_extra": "kept",
        }
    ],
    "groups": ["scheduleradmins"],
    "job_submissions": [
        {
            "transition_state": "VOID -> RUNNING",
            "parent_job_id": None,
            "job_id": 12,
            "submission_time": 1700000000001,
        },
        {"transition_state": "RUNNING -> FINISHED", "job_id": 15, "submission_time": 2},
    ],
    "a_field_psa_added_later": {"x": [True, None]},
}


@pytest.mark.parametrize("cls, data", [
    (ServiceInstance, FULL),
    (ServiceInstance, {}),
    (ServiceInstance, {"instance_id": 1, "deployments": [], "groups": [], "variables": {}}),
    (ServiceInstance, {"instance_id": 1, "deployments": None, "label": None}),
    (Deployment, FULL["deployments"][0]),
    (Endpoint, {"proxyfiedUrl": None, "proxyfied": False}),
    (Node, {"unknown": 1}),
    (Container, {"id": "x"}),
    (JobSubmission, {"transition_state": "VOID->RUNNING"}),
])
def test_round_trip_is_exact(cls, data):
    original = copy.deepcopy(data)
    assert cls.from_json(data).to_json() == original
    assert data == original  # the input is not mutated


def test_known_fields_are_typed_and_unknown_ones_kept():
    instance = ServiceInstance.from_json(FULL)
    deployment = instance.deployments[0]
    assert isinstance(deployment.endpoint, Endpoint)
    assert deployment.endpoint.proxyfied_url.endswith("/endpoints/coco/")
    assert deployment.endpoint.extra == {"future_flag": {"nested": [1, 2]}}
    assert deployment.container.extra == {"image": "jsbroks/coco"}
    assert deployment.extra == {"deployment_extra": "kept"}
    assert instance.extra == {"a_field_psa_added_later": {"x": [True, None]}}


def test_extra_is_a_copy_not_an_alias():
    data = copy.deepcopy(FULL)
    instance = ServiceInstance.from_json(data)
    data["a_field_psa_added_later"]["x"].append("mutated")
    assert instance.to_json()["a_field_psa_added_later"] == {"x": [True, None]}


def test_new_objects_emit_only_what_was_set():
    endpoint = Endpoint(id="e", url="http://h:1", proxyfied=False)
    assert endpoint.to_json() == {"id": "e", "url": "http://h:1", "proxyfied": False}
    assert Endpoint(proxyfied_url="u").to_json() == {"proxyfiedUrl": "u"}
    assert ServiceInstance(instance_id=4).to_json() == {"instance_id": 4}


def test_modified_instance_keeps_unknown_fields_and_spelling():
    instance = ServiceInstance.from_json(FULL)
    instance.instance_status = "ERROR"
    instance.add_groups("rmcoreadmins", "scheduleradmins")
    out = instance.to_json()
    assert out["instance_status"] == "ERROR"
    assert out["groups"] == ["scheduleradmins", "rmcoreadmins"]
    assert out["a_field_psa_added_later"] == {"x": [True, None]}
    assert "proxyfiedUrl" in out["deployments"][0]["endpoint"]
    assert "proxyfied_url" not in out["deployments"][0]["endpoint"]


def _deployment(endpoint_id=None, container_id=None):
    return Deployment(
        node=Node(name="n"),
        container=Container(id=container_id, name="c") if container_id else None,
        endpoint=Endpoint(id=endpoint_id, url="http://h:1") if endpoint_id else None,
    )


def test_add_deployment_is_idempotent_by_endpoint_or_container_id():
    instance = ServiceInstance(instance_id=1)
    assert instance.add_deployment(_deployment("gui-1", "c1"))
    assert not instance.add_deployment(_deployment("gui-1", "c2"))
    assert not instance.add_deployment(_deployment("gui-2", "c1"))
    assert instance.add_deployment(_deployment("gui-2", "c2"))
    assert instance.has_deployment("gui-1") and instance.has_deployment("c2")
    assert not instance.has_deployment("other")
    assert len(instance.to_json()["deployments"]) == 2


def test_add_deployment_to_instance_read_without_deployments():
    instance = ServiceInstance.from_json({"instance_id": 1, "deployments": None})
    assert instance.add_deployment(_deployment("gui"))
    assert instance.to_json()["deployments"][0]["endpoint"]["id"] == "gui"


@pytest.mark.parametrize("transition", ["VOID -> RUNNING", "VOID->RUNNING", " void  ->running "])
def test_deployment_job_id_tolerates_spacing(transition):
    instance = ServiceInstance.from_json({"job_submissions": [
        {"transition_state": "RUNNING -> FINISHED", "job_id": 15},
        {"transition_state": transition, "job_id": 12},
    ]})
    assert instance.deployment_job_id() == "12"


def test_deployment_job_id_absent():
    assert ServiceInstance.from_json({}).deployment_job_id() is None
    assert ServiceInstance.from_json(
        {"job_submissions": [{"transition_state": "RUNNING -> FINISHED", "job_id": 1}]}
    ).deployment_job_id() is None


def test_copy_is_deep_and_keeps_presence():
    instance = ServiceInstance.from_json({"instance_id": 1, "label": None, "x": [1]})
    clone = instance.copy()
    clone.extra["x"].append(2)
    assert instance.to_json() == {"instance_id": 1, "label": None, "x": [1]}
    assert clone.to_json() == {"instance_id": 1, "label": None, "x": [1, 2]}
