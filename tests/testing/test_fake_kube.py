"""The fake Kubernetes API server itself: selectors, Status objects, deletion
semantics, driven through the real `kubernetes` client."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from boardrun.testing.fake_kube import FakeKubeServer, selector_matches

NS = "flow-like-jobs"


@pytest.fixture
def kube(tmp_path):
    with FakeKubeServer(tmp_path) as server:
        yield server


def _job(name: str, labels: dict) -> dict:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "labels": labels},
            "spec": {"template": {"metadata": {"labels": labels}, "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}}}


def test_label_selector_forms():
    """Selectors: a=b,c=d (AND), ==, !=, in, notin, existence and !existence."""
    labels = {"a": "b", "c": "d"}
    assert selector_matches("a=b,c=d", labels)
    assert not selector_matches("a=b,c=x", labels)
    assert selector_matches("a==b", labels) and selector_matches("c!=x", labels) and not selector_matches("c!=d", labels)
    assert selector_matches("a in (x, b),c notin (y)", labels) and not selector_matches("a in (x,y)", labels)
    assert selector_matches("a", labels) and selector_matches("!z", labels) and not selector_matches("!a", labels)
    assert selector_matches("", labels)


def test_list_with_two_label_selector(kube):
    """The real client's list with `a=b,c=d` returns only Jobs with both labels."""
    batch = client.BatchV1Api(kube.api_client())
    batch.create_namespaced_job(NS, _job("one", {"a": "b", "c": "d"}))
    batch.create_namespaced_job(NS, _job("two", {"a": "b"}))
    names = [j.metadata.name for j in batch.list_namespaced_job(NS, label_selector="a=b,c=d").items]
    assert names == ["one"]


def test_errors_are_kubernetes_status_objects(kube):
    """Duplicate create is 409 AlreadyExists, missing get is 404 NotFound, both as v1 Status bodies."""
    import json

    batch = client.BatchV1Api(kube.api_client())
    batch.create_namespaced_job(NS, _job("one", {}))
    with pytest.raises(ApiException) as err:
        batch.create_namespaced_job(NS, _job("one", {}))
    body = json.loads(err.value.body)
    assert (err.value.status, body["kind"], body["reason"], body["code"]) == (409, "Status", "AlreadyExists", 409)
    with pytest.raises(ApiException) as err:
        batch.read_namespaced_job("nope", NS)
    assert err.value.status == 404 and json.loads(err.value.body)["reason"] == "NotFound"
    with pytest.raises(ApiException) as err:
        batch.create_namespaced_job(NS, _job("Bad_Name", {}))
    assert err.value.status == 422


def test_delete_without_propagation_policy_orphans_pods(kube):
    """Like the real API, deleting a Job without propagationPolicy leaves its pods (orphaned)."""
    batch = client.BatchV1Api(kube.api_client())
    batch.create_namespaced_job(NS, _job("one", {}))
    kube.add_pod(NS, "one")
    batch.delete_namespaced_job("one", NS)
    pods = kube.list("pods", NS)
    assert len(pods) == 1 and pods[0]["metadata"]["ownerReferences"] == []


def test_injected_failures_and_call_counts(kube):
    """fail_next answers the next matching calls with the given status; calls are counted."""
    batch = client.BatchV1Api(kube.api_client())
    kube.fail_next(2, 503, method="GET", plural="jobs")
    for _ in range(2):
        with pytest.raises(ApiException) as err:
            batch.list_namespaced_job(NS)
        assert err.value.status == 503
    assert batch.list_namespaced_job(NS).items == []
    assert kube.count("GET", "jobs") == 3
