"""Issue 5 "Done when", through the dispatcher function (functions-framework's test
client) with the real KubernetesBackend against the fake Kubernetes API server
(boardrun.testing.fake_kube, real HTTP on 127.0.0.1, the real `kubernetes` client): one Job per
job however often `job.submitted` arrives, cancel removes the Job and its pods, OOM
kills and deadlines from ApiServerSource events, the reconcile repairing lost events,
and transient / permanent API failures answered 5xx / 2xx."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from kubernetes import client as k8s
from sqlalchemy import func, select

from boardrun import services
from boardrun.db import session_scope
from boardrun.eventing import catalog
from boardrun.eventing.cloudevents_adapter import Event, to_http_binary
from boardrun.eventing.outbox import OutboxEvent
from boardrun.jobs import signing
from boardrun.jobs.backends import set_backend
from boardrun.jobs.backends.kubernetes import KubernetesBackend, KubernetesConfig, job_name
from boardrun.jobs.models import Job, ProcessedEvent
from boardrun.jobs.repairs import reconcile
from boardrun.jobs.services import job_key
from boardrun.storage import get_storage
from boardrun.testing.boards import echo_board
from boardrun.testing.fake_kube import FakeKubeServer
from tests.conftest import function_client, register_and_login

NS = "flow-like-jobs"
IMAGE = "registry.example.com/boardrun-executor:0.1.0"
APISERVER = "https://10.96.0.1:443"  # what an ApiServerSource puts in `source`


# ------------------------------------------------------------------ fixtures


@pytest.fixture
def kube(tmp_path):
    with FakeKubeServer(tmp_path) as server:
        yield server


@pytest.fixture
def backend(env, kube, monkeypatch):
    """The real KubernetesBackend, pointed at the fake, installed as the process's backend."""
    monkeypatch.delenv("K_SINK", raising=False)  # no broker: events stay in the outbox, we deliver them
    services.reset()
    api_client = kube.api_client()
    b = KubernetesBackend(KubernetesConfig(image=IMAGE, namespace=NS), api_client=api_client)
    set_backend(b)
    yield b
    set_backend(None)
    api_client.close()


@pytest.fixture
def dispatcher():
    return function_client("dispatcher")


@dataclass
class Submitted:
    job_id: str
    headers: dict

    @property
    def name(self) -> str:
        return job_name(self.job_id)


@pytest.fixture
def submitted(api, backend) -> Submitted:
    """A job submitted through the API (its job.submitted event still in the outbox)."""
    user = register_and_login(api)
    app_id = api.post("/api/v1/apps", json={"name": "A"}, headers=user["headers"]).get_json()["id"]
    api.put(f"/api/v1/apps/{app_id}/board/echo", json={**echo_board(), "id": "echo"}, headers=user["headers"])
    api.patch(f"/api/v1/apps/{app_id}/board/echo?version_type=Patch", headers=user["headers"])
    r = api.post("/jobs/submit", json={"app_id": app_id, "board_id": "echo", "payload": {}}, headers=user["headers"])
    assert r.status_code == 202, r.get_data(as_text=True)
    return Submitted(r.get_json()["job_id"], user["headers"])


# ------------------------------------------------------------------ helpers


def _outbox_event(job_id: str, event_type: str) -> Event:
    with session_scope() as s:
        row = s.scalar(select(OutboxEvent).where(OutboxEvent.type == event_type, OutboxEvent.subject == job_id))
        assert row is not None, f"no {event_type} in the outbox for {job_id}"
        return Event(row.type, row.source, row.data, id=row.event_id, subject=row.subject, extensions=dict(row.extensions))


def _post(client, event: Event, path: str = "/events"):
    headers, body = to_http_binary(event)
    return client.post(path, data=body, headers=headers)


def _launch(client, sub: Submitted) -> None:
    r = _post(client, _outbox_event(sub.job_id, catalog.JOB_SUBMITTED))
    assert r.status_code == 200 and r.get_json()["status"] == "launched", r.get_data(as_text=True)


def _job(job_id: str) -> dict:
    with session_scope() as s:
        job = s.get(Job, job_id)
        return {"status": job.status, "error": job.error, "launched_at": job.launched_at, "result": job.result}


def _pods_of(kube, name: str) -> list[dict]:
    return [p for p in kube.list("pods", NS) if p["metadata"]["labels"].get("batch.kubernetes.io/job-name") == name]


def _apiserver_event(job: dict, verb: str = "update") -> Event:
    """An ApiServerSource event in Resource mode: data is the whole Job (camelCase JSON)."""
    meta = job["metadata"]
    return Event(
        f"{catalog.APISERVER_PREFIX}{verb}",
        APISERVER,
        json.loads(json.dumps(job)),
        id=str(uuid.uuid4()),
        subject=f"/apis/batch/v1/namespaces/{meta['namespace']}/jobs/{meta['name']}",
        extensions={"kind": "Job", "name": meta["name"], "namespace": meta["namespace"]},
    )


def _ping(task: str) -> Event:
    return Event(catalog.PING, f"/apis/v1/namespaces/boardrun/pingsources/boardrun-{task}", {"task": task})


def _executor_event(job_id: str, event_type: str, data: dict) -> Event:
    event = Event(event_type, catalog.executor_source(job_id), {"job_id": job_id, **data}, extensions={"jobid": job_id})
    return event.with_extensions(jobsig=signing.sign(event, job_id, signing.job_token(job_id)))


def _age_launch(job_id: str, by: timedelta = timedelta(minutes=5)) -> None:
    with session_scope() as s:
        s.get(Job, job_id).launched_at -= by


def _delete_requests(kube, name: str) -> list[str]:
    return [path for method, path in kube.requests if method == "DELETE" and f"/jobs/{name}" in path]


# ------------------------------------------------------------------ one Job per job


def test_submitted_event_delivered_three_times_makes_one_kubernetes_job(submitted, kube, dispatcher):
    """Three deliveries of job.submitted (and a re-send under a new event id) leave exactly one Job and one Secret."""
    event = _outbox_event(submitted.job_id, catalog.JOB_SUBMITTED)
    answers = [_post(dispatcher, event) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert [r.get_json()["status"] for r in answers] == ["launched", "duplicate", "duplicate"]
    assert kube.count("POST", "jobs") == 1 and kube.count("POST", "secrets") == 1
    uid = kube.get("jobs", NS, submitted.name)["metadata"]["uid"]

    # Even past the event dedupe (same job, new event id) the deterministic name holds: 409 = success.
    again = Event(event.type, event.source, event.data, subject=event.subject, extensions={"jobid": submitted.job_id, "appid": event.extensions["appid"]})
    again = again.with_extensions(jobsig=signing.sign(again, submitted.job_id, signing.job_token(submitted.job_id)))  # as the relay of a re-sent command would sign it
    assert _post(dispatcher, again).status_code == 200
    # its Secret create answered 409 AlreadyExists, the Job was found running: no second Job create
    assert kube.count("POST", "secrets") == 2 and kube.count("POST", "jobs") == 1
    jobs, secrets = kube.list("jobs", NS), kube.list("secrets", NS)
    assert [j["metadata"]["name"] for j in jobs] == [submitted.name]
    assert jobs[0]["metadata"]["uid"] == uid
    assert jobs[0]["metadata"]["labels"]["boardrun.dev/job-id"] == submitted.job_id
    assert [s["metadata"]["name"] for s in secrets] == [submitted.name]
    assert secrets[0]["metadata"]["ownerReferences"][0]["uid"] == uid
    job = _job(submitted.job_id)
    assert job["status"] == "queued" and job["launched_at"] is not None


def test_concurrent_deliveries_of_job_submitted_make_one_kubernetes_job(submitted, kube, dispatcher):
    """job.submitted delivered 3 times at once from threads: all answered 200, one Job, one processed-event row."""
    event = _outbox_event(submitted.job_id, catalog.JOB_SUBMITTED)
    app = dispatcher.application
    gate = threading.Barrier(3)
    answers: list = []
    errors: list = []

    def deliver():
        client = app.test_client()  # one client per thread, one shared app (as in a real worker)
        gate.wait()
        try:
            r = _post(client, event)
            answers.append((r.status_code, r.get_json()["status"]))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and len(answers) == 3
    assert all(code == 200 for code, _ in answers), answers
    assert {status for _, status in answers} <= {"launched", "duplicate"}
    assert "launched" in {status for _, status in answers}
    assert [j["metadata"]["name"] for j in kube.list("jobs", NS)] == [submitted.name]
    assert [s["metadata"]["name"] for s in kube.list("secrets", NS)] == [submitted.name]
    with session_scope() as s:
        n = s.scalar(select(func.count()).select_from(ProcessedEvent).where(ProcessedEvent.event_id == event.id))
    assert n == 1
    job = _job(submitted.job_id)
    assert job["status"] == "queued" and job["launched_at"] is not None
    # a late redelivery is still a no-op
    assert _post(dispatcher, event).get_json()["status"] == "duplicate"
    assert len(kube.list("jobs", NS)) == 1


# ------------------------------------------------------------------ cancel


def test_cancel_request_deletes_the_job_and_its_pods_and_cancels(submitted, kube, dispatcher, api):
    """POST /jobs/{id}/cancel → job.cancel.requested: the Job, its pods and Secret are deleted (Background); the job ends cancelled."""
    _launch(dispatcher, submitted)
    kube.set_job_status(NS, submitted.name, {"active": 1, "ready": 1})
    kube.add_pod(NS, submitted.name, phase="Failed", pod_reason="Evicted", pod_message="node drained")
    kube.add_pod(NS, submitted.name)  # the replacement pod, running
    assert len(_pods_of(kube, submitted.name)) == 2
    last_seen = kube.get("jobs", NS, submitted.name)

    r = api.post(f"/jobs/{submitted.job_id}/cancel", headers=submitted.headers)
    assert r.status_code == 204, r.get_data(as_text=True)
    assert _job(submitted.job_id)["status"] == "queued"  # launched: only the dispatcher can stop it
    cancel = _outbox_event(submitted.job_id, catalog.JOB_CANCEL_REQUESTED)
    r = _post(dispatcher, cancel)
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"

    assert kube.get("jobs", NS, submitted.name) is None
    assert _pods_of(kube, submitted.name) == []
    assert kube.list("secrets", NS) == []
    deletes = _delete_requests(kube, submitted.name)
    assert len(deletes) == 1 and "propagationPolicy=Background" in deletes[0]
    job = _job(submitted.job_id)
    assert job["status"] == "cancelled" and job["error"]["code"] == "cancelled"

    # The ApiServerSource then reports the deletion, and the cancel may be redelivered: nothing moves.
    gone = _apiserver_event(last_seen, "delete")
    assert _post(dispatcher, gone).status_code == 200
    assert _post(dispatcher, cancel).get_json()["status"] == "duplicate"
    assert _job(submitted.job_id)["status"] == "cancelled"


# ------------------------------------------------------------------ ApiServerSource events


def test_oom_killed_executor_fails_the_job_oom_killed(submitted, kube, dispatcher):
    """A Failed Job whose pod was OOMKilled (exit 137), reported by the ApiServerSource, fails the job with oom_killed."""
    _launch(dispatcher, submitted)
    kube.add_pod(NS, submitted.name, phase="Failed",
                 state={"terminated": {"reason": "OOMKilled", "exitCode": 137, "startedAt": "2025-01-01T00:00:00Z",
                                       "finishedAt": "2025-01-01T00:00:05Z"}})
    failed = kube.set_job_condition(NS, submitted.name, "Failed", reason="BackoffLimitExceeded",
                                    message="Job has reached the specified backoff limit", failed=1, active=0)
    r = _post(dispatcher, _apiserver_event(failed))
    assert r.status_code == 200 and r.get_json()["status"] == "updated", r.get_data(as_text=True)
    job = _job(submitted.job_id)
    assert job["status"] == "failed"
    assert job["error"]["code"] == "oom_killed"
    assert job["error"]["runner_reason"] == "OOMKilled"
    assert "137" in job["error"]["message"]
    # a redelivered or later update event changes nothing
    assert _post(dispatcher, _apiserver_event(kube.get("jobs", NS, submitted.name))).get_json()["status"] == "no change"
    assert _job(submitted.job_id)["error"]["code"] == "oom_killed"


def test_deadline_exceeded_fails_the_job_with_timeout(submitted, kube, dispatcher):
    """A Job failed with DeadlineExceeded (its pod killed with SIGTERM, 143), from the ApiServerSource, fails the job with timeout."""
    _launch(dispatcher, submitted)
    kube.add_pod(NS, submitted.name, phase="Failed", state={"terminated": {"reason": "Error", "exitCode": 143}})
    failed = kube.set_job_condition(NS, submitted.name, "Failed", reason="DeadlineExceeded",
                                    message="Job was active longer than specified deadline", failed=1, active=0)
    r = _post(dispatcher, _apiserver_event(failed))
    assert r.status_code == 200 and r.get_json()["status"] == "updated", r.get_data(as_text=True)
    job = _job(submitted.job_id)
    assert job["status"] == "failed" and job["error"]["code"] == "timeout"
    assert job["error"]["runner_reason"] == "DeadlineExceeded"


def test_apiserver_events_of_foreign_or_running_jobs_change_nothing(submitted, kube, dispatcher):
    """An update of a still-running Job, or of a Job Boardrun does not manage, is answered 2xx and changes nothing."""
    _launch(dispatcher, submitted)
    running = kube.set_job_status(NS, submitted.name, {"active": 1, "ready": 1})
    assert _post(dispatcher, _apiserver_event(running)).get_json()["status"] == "no change"
    foreign = {"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": "nightly-backup", "namespace": NS, "labels": {"app": "backup"}},
               "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}}
    r = _post(dispatcher, _apiserver_event(foreign))
    assert r.status_code == 200 and r.get_json()["status"] == "not one of our Jobs"
    assert _job(submitted.job_id)["status"] == "queued"


# ------------------------------------------------------------------ the reconcile repairs lost events


def test_reconcile_ping_fails_a_job_whose_failure_event_was_lost(submitted, kube, dispatcher):
    """The Job is OOM-killed with no event delivered; the reconcile PingSource event fails the job oom_killed."""
    _launch(dispatcher, submitted)
    kube.add_pod(NS, submitted.name, phase="Failed", state={"terminated": {"reason": "OOMKilled", "exitCode": 137}})
    kube.set_job_condition(NS, submitted.name, "Failed", reason="BackoffLimitExceeded", failed=1)
    assert _job(submitted.job_id)["status"] == "queued"
    r = _post(dispatcher, _ping("reconcile"))
    assert r.status_code == 200 and r.get_json()["status"] == "reconciled 1", r.get_data(as_text=True)
    job = _job(submitted.job_id)
    assert job["status"] == "failed" and job["error"]["code"] == "oom_killed"
    assert kube.count("GET", "jobs") >= 1 and kube.count("GET", "pods") >= 1  # listed by label, pods read once
    assert reconcile() == 0  # a second pass finds nothing to do


def test_reconcile_completes_a_job_from_its_stored_outcome(submitted, kube, dispatcher):
    """The Job completed and the executor stored outcome.json, but its job.completed event was lost: the reconcile completes the job."""
    _launch(dispatcher, submitted)
    outcome = {"type": catalog.JOB_COMPLETED, "data": {"job_id": submitted.job_id, "steps": 2, "duration_ms": 3.0,
                                                       "result": {"echo": 42}, "result_ref": None}}
    get_storage().put(job_key(submitted.job_id, "outcome.json"), json.dumps(outcome).encode(), "application/json")
    kube.set_job_condition(NS, submitted.name, "Complete", succeeded=1)
    assert reconcile() == 1
    job = _job(submitted.job_id)
    assert job["status"] == "completed" and job["result"] == {"echo": 42}


def test_reconcile_fails_a_job_that_completed_without_an_outcome(submitted, kube, dispatcher):
    """A Job that completed but left no outcome and sent no event fails the job lost_runner at the reconcile."""
    _launch(dispatcher, submitted)
    kube.set_job_condition(NS, submitted.name, "Complete", succeeded=1)
    assert reconcile() == 1
    job = _job(submitted.job_id)
    assert job["status"] == "failed" and job["error"]["code"] == "lost_runner"


def test_reconcile_deletes_the_job_of_a_finished_job(submitted, kube, dispatcher):
    """A Kubernetes Job still running for a job already completed (executor report) is deleted by the reconcile, with its pods."""
    _launch(dispatcher, submitted)
    kube.set_job_status(NS, submitted.name, {"active": 1, "ready": 1})
    kube.add_pod(NS, submitted.name)
    done = _executor_event(submitted.job_id, catalog.JOB_COMPLETED, {"result": {"ok": 1}, "result_ref": None, "steps": 2})
    assert _post(dispatcher, done).status_code == 200
    assert _job(submitted.job_id)["status"] == "completed"
    assert kube.get("jobs", NS, submitted.name) is not None

    assert reconcile() == 1
    assert kube.get("jobs", NS, submitted.name) is None
    assert _pods_of(kube, submitted.name) == []
    assert "propagationPolicy=Background" in _delete_requests(kube, submitted.name)[0]
    assert _job(submitted.job_id)["status"] == "completed"  # the row is untouched
    assert reconcile() == 0


def test_reconcile_fails_a_job_whose_kubernetes_job_vanished_after_the_grace(submitted, kube, dispatcher):
    """A launched job whose Job was deleted (no outcome, no event) stays queued within the grace, then fails lost_runner."""
    _launch(dispatcher, submitted)
    with kube.api_client() as api_client:  # someone deletes it with kubectl
        k8s.BatchV1Api(api_client).delete_namespaced_job(submitted.name, NS, propagation_policy="Background")
    assert kube.get("jobs", NS, submitted.name) is None
    assert reconcile() == 0
    assert _job(submitted.job_id)["status"] == "queued"  # just launched: the grace protects it
    _age_launch(submitted.job_id)
    assert reconcile() == 1
    job = _job(submitted.job_id)
    assert job["status"] == "failed" and job["error"]["code"] == "lost_runner"


# ------------------------------------------------------------------ API failures


def test_transient_api_failure_is_503_and_the_redelivery_launches(submitted, kube, dispatcher):
    """The API answers 500 on the Job create: the dispatcher answers 503; the redelivered event creates exactly one Job."""
    kube.fail_next(1, status=500, method="POST", plural="jobs")
    event = _outbox_event(submitted.job_id, catalog.JOB_SUBMITTED)
    r = _post(dispatcher, event)
    assert r.status_code == 503, r.get_data(as_text=True)
    assert kube.list("jobs", NS) == []
    job = _job(submitted.job_id)
    assert job["status"] == "queued" and job["launched_at"] is None

    r = _post(dispatcher, event)  # the broker retries
    assert r.status_code == 200 and r.get_json()["status"] == "launched"
    jobs = kube.list("jobs", NS)
    assert [j["metadata"]["name"] for j in jobs] == [submitted.name]
    secrets = kube.list("secrets", NS)  # the first attempt's Secret was reused and is now owned by the Job
    assert len(secrets) == 1 and secrets[0]["metadata"]["ownerReferences"][0]["uid"] == jobs[0]["metadata"]["uid"]
    assert _job(submitted.job_id)["launched_at"] is not None


def test_transient_failure_on_the_first_call_is_503_too(submitted, kube, dispatcher):
    """A 503 from the API on the very first call (the Secret create) is retried by the broker as well."""
    kube.fail_next(1, status=503, method="POST")
    event = _outbox_event(submitted.job_id, catalog.JOB_SUBMITTED)
    assert _post(dispatcher, event).status_code == 503
    assert _post(dispatcher, event).status_code == 200
    assert len(kube.list("jobs", NS)) == 1 and len(kube.list("secrets", NS)) == 1


def test_permanent_api_failure_fails_the_job_launch_failed_and_answers_2xx(submitted, kube, dispatcher):
    """A 403 on the Job create fails the job with launch_failed, answers 200 (no retry loop) and leaves no Secret behind."""
    kube.fail_next(1, status=403, method="POST", plural="jobs")
    event = _outbox_event(submitted.job_id, catalog.JOB_SUBMITTED)
    r = _post(dispatcher, event)
    assert r.status_code == 200 and r.get_json()["status"] == "launch failed", r.get_data(as_text=True)
    job = _job(submitted.job_id)
    assert job["status"] == "failed" and job["error"]["code"] == "launch_failed"
    assert "403" in job["error"]["message"] and "RBAC" in job["error"]["message"]
    assert kube.list("jobs", NS) == [] and kube.list("secrets", NS) == []
    # a redelivery is a duplicate: no further API call
    calls = kube.count()
    assert _post(dispatcher, event).get_json()["status"] == "duplicate"
    assert kube.count() == calls
