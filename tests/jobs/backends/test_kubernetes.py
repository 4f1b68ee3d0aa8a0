"""The Kubernetes job backend against the fake API server, through the real
`kubernetes` client; every Job it builds is checked with kubernetes-validate."""

from __future__ import annotations

import base64
import json

import kubernetes_validate
import pytest

from boardrun import services
from boardrun.config import ConfigError, load_settings
from boardrun.jobs.backends import k8s_objects as objs
from boardrun.jobs.backends.base import (
    RunnerPhase,
    LaunchSpec,
    PermanentBackendError,
    TransientBackendError,
)
from boardrun.jobs.backends.kubernetes import (
    KubernetesBackend,
    KubernetesConfig,
    job_id_of,
    job_name,
    runner_status_from_job,
)
from boardrun.testing.fake_kube import FakeKubeServer

NS = "flow-like-jobs"
K8S_VERSION = "1.33.0"  # the oldest version we support; also checked against the newest below
TOKEN = "tok-3f9a1c0e7d2b4a58b6e1c9d0f2a7b3e4"


def validate(obj: dict, version: str = K8S_VERSION) -> None:
    kubernetes_validate.validate(obj, version, strict=True)


@pytest.fixture
def kube(tmp_path):
    with FakeKubeServer(tmp_path) as server:
        yield server


def make_backend(kube, **overrides) -> KubernetesBackend:
    cfg = KubernetesConfig(image="registry.example.com/boardrun:0.1.0", **overrides)
    return KubernetesBackend(cfg, api_client=kube.api_client())


@pytest.fixture
def backend(kube):
    b = make_backend(kube)
    yield b
    b.close()
    b.api_client.close()


def spec(job_id: str = "job-abc123", **kw) -> LaunchSpec:
    base = dict(
        job_id=job_id,
        attempt=1,
        app_id="app-7xk2",
        board_id="board-main",
        deadline_seconds=900,
        env={"BOARDRUN_JOB_ID": job_id, "BOARDRUN_VERSION_REF": "boards/app-7xk2/board-main/v3.json"},
        secret_env={"BOARDRUN_JOB_TOKEN": TOKEN},
    )
    base.update(kw)
    return LaunchSpec(**base)


# ------------------------------------------------------------------ the Job manifest


def test_built_job_is_valid_for_current_kubernetes_versions(backend):
    """The Job the backend builds passes kubernetes-validate (strict) for 1.33 and 1.37."""
    job = backend.build_job(spec())
    validate(job, "1.33.0")
    validate(job, "1.37.0")


def test_every_variant_of_the_job_is_valid(kube):
    """Optional settings (runtime class, pull secrets, env Secret, no secret_env) still give valid Jobs."""
    b = make_backend(kube, runtime_class="kata", image_pull_secrets=("regcred", "other"), env_secret="boardrun-executor-env")
    try:
        for s in (spec(), spec(secret_env={}), spec(job_id="Job_With.Odd/Chars" * 5, app_id="A" * 100)):
            job = b.build_job(s)
            validate(job)
            assert job["spec"]["template"]["spec"]["runtimeClassName"] == "kata"
            assert [p["name"] for p in job["spec"]["template"]["spec"]["imagePullSecrets"]] == ["regcred", "other"]
            assert job["spec"]["template"]["spec"]["containers"][0]["envFrom"] == [{"secretRef": {"name": "boardrun-executor-env"}}]
    finally:
        b.close()


def test_job_is_hardened_and_runs_once(backend):
    """Pod runs non-root 65532, read-only root with /tmp emptyDir, no token, caps dropped, backoffLimit 0 + podFailurePolicy."""
    job = backend.build_job(spec(deadline_seconds=120))
    js = job["spec"]
    pod = js["template"]["spec"]
    c = pod["containers"][0]
    assert js["backoffLimit"] == 0 and js["activeDeadlineSeconds"] == 120 and js["ttlSecondsAfterFinished"] == 3600
    assert js["podFailurePolicy"]["rules"][0] == {
        "action": "FailJob",
        "onExitCodes": {"containerName": "executor", "operator": "In", "values": [3]},
    }
    assert js["podFailurePolicy"]["rules"][1]["action"] == "Ignore"
    assert js["podFailurePolicy"]["rules"][1]["onPodConditions"] == [{"type": "DisruptionTarget", "status": "True"}]
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == "boardrun-executor"
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] == 65532
    assert c["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert c["command"] == ["python", "-m", "boardrun.executor"]
    assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]
    assert c["resources"] == {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "2", "memory": "1Gi"}}


def test_labels_on_job_and_pod_template_and_full_ids_in_annotations(backend):
    """Job and pod carry managed-by/component/job/app/board labels; long ids are shortened in labels, full in annotations."""
    long_app = "app-" + "x" * 80
    job = backend.build_job(spec(app_id=long_app))
    for meta in (job["metadata"], job["spec"]["template"]["metadata"]):
        labels = meta["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "boardrun"
        assert labels["app.kubernetes.io/component"] == "executor"
        assert labels["boardrun.dev/job-id"] == "job-abc123"
        assert len(labels["boardrun.dev/app-id"]) <= 63
        assert meta["annotations"]["boardrun.dev/app-id"] == long_app
        assert meta["annotations"]["boardrun.dev/job-id"] == "job-abc123"


def test_job_names_are_deterministic_dns_labels():
    """Names are `br-<id>` when safe; odd, upper-case or long ids are hashed into ≤ 63-char DNS labels without collisions."""
    assert job_name("job-abc123") == "br-job-abc123"
    ids = ["Job-ABC", "job-abc", "job_abc", "x" * 200, "x" * 201, "-lead", "a.b/c"]
    names = [job_name(i) for i in ids]
    assert len(set(names)) == len(ids)
    for n in names:
        assert len(n) <= 63 and objs._DNS_LABEL.match(n), n
    assert job_name("Job-ABC") == job_name("Job-ABC")


def test_secret_values_never_inline_in_the_job(backend, kube):
    """The job token appears nowhere in the created Job: it is in a Secret referenced with secretKeyRef."""
    backend.launch(spec())
    job = kube.get("jobs", NS, "br-job-abc123")
    assert TOKEN not in json.dumps(job)
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "BOARDRUN_JOB_TOKEN", "valueFrom": {"secretKeyRef": {"name": "br-job-abc123", "key": "BOARDRUN_JOB_TOKEN"}}} in env
    secret = kube.get("secrets", NS, "br-job-abc123")
    assert base64.b64decode(secret["data"]["BOARDRUN_JOB_TOKEN"]).decode() == TOKEN


def test_secret_env_overrides_a_plain_variable_of_the_same_name(backend):
    """A name in both env and secret_env is only sent as a secretKeyRef, never as a plain value."""
    job = backend.build_job(spec(env={"BOARDRUN_JOB_TOKEN": "leak"}))
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    assert [e for e in env if e["name"] == "BOARDRUN_JOB_TOKEN"] == [
        {"name": "BOARDRUN_JOB_TOKEN", "valueFrom": {"secretKeyRef": {"name": "br-job-abc123", "key": "BOARDRUN_JOB_TOKEN"}}}
    ]


def test_config_env_is_passed_and_launch_env_wins(kube, monkeypatch):
    """EXECUTOR_PASS_ENV variables of the dispatcher reach the executor; LaunchSpec.env overrides them."""
    env = {"EXECUTOR_IMAGE": "img:1", "EXECUTOR_PASS_ENV": "K_SINK,LOG_LEVEL", "LOG_LEVEL": "DEBUG",
           "K_SINK": "http://broker-ingress.knative-eventing.svc.cluster.local/flow-like/boardrun"}
    b = KubernetesBackend(KubernetesConfig.from_settings(load_settings(env).kubernetes), api_client=kube.api_client())
    try:
        env = {e["name"]: e.get("value") for e in b.build_job(spec(env={"LOG_LEVEL": "INFO"}))["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["K_SINK"].endswith("/flow-like/boardrun")
        assert env["LOG_LEVEL"] == "INFO"
    finally:
        b.close()


# ------------------------------------------------------------------ launch


def test_launch_creates_job_and_secret_owned_by_the_job(backend, kube):
    """launch creates the Secret first, then the Job, then makes the Job the Secret's owner; the stored Job validates."""
    backend.launch(spec())
    job = kube.get("jobs", NS, "br-job-abc123")
    secret = kube.get("secrets", NS, "br-job-abc123")
    assert secret["metadata"]["ownerReferences"] == [
        {"apiVersion": "batch/v1", "kind": "Job", "name": "br-job-abc123", "uid": job["metadata"]["uid"], "controller": False}
    ]
    order = [(m, p.split("?")[0].rsplit("/", 2)[-2:]) for m, p in kube.requests]
    assert order[0] == ("POST", ["flow-like-jobs", "secrets"]) and order[1] == ("POST", ["flow-like-jobs", "jobs"])
    sent = {k: v for k, v in job.items() if k != "status"}
    validate(sent)


def test_redelivered_launch_makes_exactly_one_job(backend, kube):
    """The same job launched twice (a redelivered event) is ONE Job and one Secret, and the second call succeeds."""
    backend.launch(spec())
    uid = kube.get("jobs", NS, "br-job-abc123")["metadata"]["uid"]
    backend.launch(spec())
    backend.launch(spec(secret_env={"BOARDRUN_JOB_TOKEN": "another"}))
    assert [j["metadata"]["name"] for j in kube.list("jobs", NS)] == ["br-job-abc123"]
    assert kube.get("jobs", NS, "br-job-abc123")["metadata"]["uid"] == uid
    assert len(kube.list("secrets", NS)) == 1
    assert kube.count("POST", "jobs") == 1  # the redeliveries saw the Secret's 409, found the Job, stopped
    secret = kube.get("secrets", NS, "br-job-abc123")
    assert base64.b64decode(secret["data"]["BOARDRUN_JOB_TOKEN"]).decode() == TOKEN  # the running Job's values stay


def test_job_409_already_exists_is_success_without_secret_env(backend, kube):
    """Without secret_env, a Job create answered 409 AlreadyExists counts as success."""
    backend.launch(spec(secret_env={}))
    backend.launch(spec(secret_env={}))
    assert kube.count("POST", "jobs") == 2 and len(kube.list("jobs", NS)) == 1
    assert kube.list("secrets", NS) == []


def test_launch_after_a_half_done_launch_finishes_the_job(backend, kube):
    """A launch that stopped after the Secret (Job create failed with 500) is completed by the retry."""
    kube.fail_next(1, 500, method="POST", plural="jobs")
    with pytest.raises(TransientBackendError):
        backend.launch(spec())
    assert kube.list("jobs", NS) == [] and len(kube.list("secrets", NS)) == 1
    backend.launch(spec(secret_env={"BOARDRUN_JOB_TOKEN": "fresh"}))
    job = kube.get("jobs", NS, "br-job-abc123")
    secret = kube.get("secrets", NS, "br-job-abc123")
    assert secret["metadata"]["ownerReferences"][0]["uid"] == job["metadata"]["uid"]
    assert base64.b64decode(secret["data"]["BOARDRUN_JOB_TOKEN"]).decode() == "fresh"


def test_a_409_conflict_is_not_mistaken_for_already_exists(backend, kube):
    """409 with reason Conflict (a write race) is transient, not a silent success."""
    kube.fail_next(1, 409, method="POST", plural="jobs", reason="Conflict")
    with pytest.raises(TransientBackendError, match="409"):
        backend.launch(spec(secret_env={}))


@pytest.mark.parametrize("code", [403, 422, 400])
def test_forbidden_or_invalid_is_permanent(backend, kube, code):
    """403, 422 and 400 on Job creation raise PermanentBackendError with the API's reason, and the new Secret is removed."""
    kube.fail_next(1, code, method="POST", plural="jobs")
    with pytest.raises(PermanentBackendError) as err:
        backend.launch(spec())
    assert str(code) in str(err.value) and "create Job flow-like-jobs/br-job-abc123" in str(err.value)
    assert kube.list("secrets", NS) == []  # no orphan holding the token


def test_forbidden_message_points_at_rbac(backend, kube):
    """A 403 explains what to check (the dispatcher's Role)."""
    kube.fail_next(1, 403)
    with pytest.raises(PermanentBackendError, match="RBAC"):
        backend.launch(spec())


@pytest.mark.parametrize("code", [500, 503, 429])
def test_server_errors_and_throttling_are_transient(backend, kube, code):
    """5xx and 429 raise TransientBackendError (the broker retries)."""
    kube.fail_next(1, code, method="POST", plural="jobs")
    with pytest.raises(TransientBackendError, match=str(code)):
        backend.launch(spec())


def test_timeouts_are_transient(kube):
    """A stalled API server hits the client read timeout and raises TransientBackendError."""
    b = make_backend(kube, read_timeout=0.3, connect_timeout=0.5)
    try:
        kube.stall_next(1, 1.5, method="POST", plural="secrets")
        with pytest.raises(TransientBackendError, match="unreachable"):
            b.launch(spec())
    finally:
        b.close()
        b.api_client.close()


def test_connection_refused_is_transient(tmp_path):
    """An API server that is not there raises TransientBackendError."""
    server = FakeKubeServer(tmp_path).start()
    client = server.api_client()
    server.stop()
    b = KubernetesBackend(KubernetesConfig(image="img:1", connect_timeout=0.5, read_timeout=0.5), api_client=client)
    try:
        with pytest.raises(TransientBackendError):
            b.status("job-abc123")
    finally:
        client.close()


def test_bad_env_names_are_permanent_before_any_call(backend, kube):
    """An env name Kubernetes would reject is a PermanentBackendError and no API call is made."""
    with pytest.raises(PermanentBackendError):
        backend.launch(spec(secret_env={"BAD NAME": "x"}))
    assert kube.count() == 0


# ------------------------------------------------------------------ cancel


def test_cancel_deletes_job_its_pods_and_secret(backend, kube):
    """cancel deletes the Job with propagationPolicy Background: its pods and its Secret go too."""
    backend.launch(spec())
    kube.add_pod(NS, "br-job-abc123")
    backend.launch(spec(job_id="job-other", secret_env={}))
    other_pod = kube.add_pod(NS, "br-job-other")
    backend.cancel("job-abc123")
    assert kube.get("jobs", NS, "br-job-abc123") is None
    assert [p["metadata"]["name"] for p in kube.list("pods", NS)] == [other_pod["metadata"]["name"]]
    assert kube.list("secrets", NS) == []
    assert any(m == "DELETE" and "propagationPolicy=Background" in p for m, p in kube.requests)


def test_cancel_unknown_job_is_success(backend, kube):
    """cancel of a job that has no Job (404) succeeds."""
    backend.cancel("job-never-launched")
    assert kube.count("DELETE", "jobs") == 1


def test_cancel_errors_are_mapped(backend, kube):
    """cancel answered 403 is permanent, 500 transient."""
    kube.fail_next(1, 403, method="DELETE")
    with pytest.raises(PermanentBackendError):
        backend.cancel("job-abc123")
    kube.fail_next(1, 500, method="DELETE")
    with pytest.raises(TransientBackendError):
        backend.cancel("job-abc123")


def test_secret_is_garbage_collected_with_the_job(backend, kube):
    """Deleting the Job by any means (ttl, kubectl) removes the per-job Secret through its ownerReference."""
    backend.launch(spec())
    backend.batch.delete_namespaced_job("br-job-abc123", NS, propagation_policy="Foreground")
    assert kube.list("secrets", NS) == []


# ------------------------------------------------------------------ status


def test_status_missing_when_no_job(backend):
    """status of a job without a Job is MISSING."""
    assert backend.status("job-nope").phase == RunnerPhase.MISSING


def test_status_follows_the_job_lifecycle(backend, kube):
    """pending (no pod) → running (active, ready) → succeeded (SuccessCriteriaMet, then Complete)."""
    backend.launch(spec())
    name = "br-job-abc123"
    assert backend.status("job-abc123").phase == RunnerPhase.PENDING
    kube.set_job_status(NS, name, {"active": 1, "ready": 1, "startTime": "2026-01-01T00:00:00Z"})
    st = backend.status("job-abc123")
    assert (st.phase, st.attempt) == (RunnerPhase.RUNNING, 1)
    kube.set_job_condition(NS, name, "SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods", active=0, succeeded=1)
    assert backend.status("job-abc123").phase == RunnerPhase.SUCCEEDED
    kube.set_job_condition(NS, name, "Complete", "CompletionsReached")
    assert backend.status("job-abc123").phase == RunnerPhase.SUCCEEDED


def test_oom_killed_pod_is_reported(backend, kube):
    """A Job failed by an OOM-killed pod is FAILED with reason OOMKilled (exit code 137 in the message)."""
    backend.launch(spec())
    kube.add_pod(NS, "br-job-abc123", phase="Failed", state={"terminated": {"reason": "OOMKilled", "exitCode": 137}})
    kube.set_job_condition(NS, "br-job-abc123", "FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit", failed=1)
    st = backend.status("job-abc123")
    assert (st.phase, st.reason) == (RunnerPhase.FAILED, "OOMKilled")
    assert "137" in st.message and "BackoffLimitExceeded" in st.message


def test_deadline_exceeded(backend, kube):
    """A Job past activeDeadlineSeconds (pods already gone) is FAILED with reason DeadlineExceeded."""
    backend.launch(spec())
    kube.set_job_condition(NS, "br-job-abc123", "Failed", "DeadlineExceeded", "Job was active longer than specified deadline", failed=1)
    st = backend.status("job-abc123")
    assert (st.phase, st.reason) == (RunnerPhase.FAILED, "DeadlineExceeded")
    assert "deadline" in st.message


def test_image_pull_failure_reason_pending_and_failed(backend, kube):
    """A pod stuck in ImagePullBackOff makes the job PENDING with that reason; failed later, the reason stays ImagePullBackOff."""
    backend.launch(spec())
    kube.set_job_status(NS, "br-job-abc123", {"active": 1, "ready": 0, "startTime": "2026-01-01T00:00:00Z"})
    kube.add_pod(NS, "br-job-abc123", phase="Pending",
                 state={"waiting": {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "registry.example.com/boardrun:0.1.0"'}})
    st = backend.status("job-abc123")
    assert (st.phase, st.reason) == (RunnerPhase.PENDING, "ImagePullBackOff")
    assert "Back-off pulling image" in st.message
    kube.set_job_condition(NS, "br-job-abc123", "Failed", "DeadlineExceeded", "Job was active longer than specified deadline", active=0, failed=1)
    st = backend.status("job-abc123")
    assert (st.phase, st.reason) == (RunnerPhase.FAILED, "ImagePullBackOff")
    assert "DeadlineExceeded" in st.message


@pytest.mark.parametrize("reason", ["ErrImagePull", "CreateContainerConfigError"])
def test_other_waiting_reasons(backend, kube, reason):
    """ErrImagePull and CreateContainerConfigError (e.g. the Secret is gone) are reported as the reason."""
    backend.launch(spec())
    kube.set_job_status(NS, "br-job-abc123", {"active": 1, "ready": 0})
    kube.add_pod(NS, "br-job-abc123", phase="Pending", state={"waiting": {"reason": reason, "message": "details"}})
    assert backend.status("job-abc123").reason == reason


def test_executor_reported_failure_exit_code_3(backend, kube):
    """Exit code 3 (the executor reported its failure) fails the Job by podFailurePolicy; the reason stays PodFailurePolicy."""
    backend.launch(spec())
    kube.add_pod(NS, "br-job-abc123", phase="Failed", state={"terminated": {"reason": "Error", "exitCode": 3}})
    kube.set_job_condition(NS, "br-job-abc123", "Failed", "PodFailurePolicy",
                           "Container executor for pod flow-like-jobs/x failed with exit code 3 matching FailJob rule at index 0", failed=1)
    st = backend.status("job-abc123")
    assert (st.phase, st.reason) == (RunnerPhase.FAILED, "PodFailurePolicy")
    assert "executor reported the failure" in st.message


def test_crash_exit_code_and_eviction(backend, kube):
    """A crash (exit 1) is FAILED with reason Error and its exit code; an evicted pod gives reason Evicted."""
    backend.launch(spec())
    kube.add_pod(NS, "br-job-abc123", phase="Failed", state={"terminated": {"reason": "Error", "exitCode": 1}})
    kube.set_job_condition(NS, "br-job-abc123", "Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit", failed=1)
    st = backend.status("job-abc123")
    assert (st.phase, st.reason) == (RunnerPhase.FAILED, "Error") and "exited with code 1" in st.message
    backend.launch(spec(job_id="job-ev"))
    kube.add_pod(NS, "br-job-ev", phase="Failed", pod_reason="Evicted", pod_message="The node was low on resource: memory.",
                 state={"terminated": {"reason": "ContainerStatusUnknown", "exitCode": 137}})
    kube.set_job_condition(NS, "br-job-ev", "Failed", "BackoffLimitExceeded", "", failed=1)
    assert backend.status("job-ev").reason == "Evicted"


def test_list_runners_uses_label_selector_and_one_pod_list(backend, kube):
    """list_runners lists our Jobs by label (ignoring others) and enriches failures with ONE pod list call."""
    for i in range(3):
        backend.launch(spec(job_id=f"job-{i}"))
    kube.set_job_status(NS, "br-job-0", {"active": 1, "ready": 1})
    kube.add_pod(NS, "br-job-1", phase="Failed", state={"terminated": {"reason": "OOMKilled", "exitCode": 137}})
    kube.set_job_condition(NS, "br-job-1", "Failed", "BackoffLimitExceeded", "", failed=1)
    kube.add_pod(NS, "br-job-2", phase="Failed", state={"terminated": {"reason": "Error", "exitCode": 1}})
    kube.set_job_condition(NS, "br-job-2", "Failed", "DeadlineExceeded", "Job was active longer than specified deadline", failed=1)
    backend.batch.create_namespaced_job(NS, {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "foreign", "labels": {"app": "x"}},
                                             "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}})
    before = kube.count("GET", "pods")
    runners = {r.job_id: r for r in backend.list_runners()}
    assert set(runners) == {"job-0", "job-1", "job-2"}
    assert runners["job-0"].phase == RunnerPhase.RUNNING
    assert (runners["job-1"].phase, runners["job-1"].reason) == (RunnerPhase.FAILED, "OOMKilled")
    assert (runners["job-2"].phase, runners["job-2"].reason) == (RunnerPhase.FAILED, "DeadlineExceeded")
    assert kube.count("GET", "pods") - before == 1
    assert any("labelSelector=app.kubernetes.io%2Fmanaged-by%3Dboardrun%2Capp.kubernetes.io%2Fcomponent%3Dexecutor" in p for _, p in kube.requests)


def test_list_runners_follows_pagination(backend, kube):
    """list_runners reads every page (continue tokens) of a long Job list."""
    for i in range(7):
        backend.launch(spec(job_id=f"job-{i}", secret_env={}))
    import boardrun.jobs.backends.kubernetes as mod

    orig = mod.KubernetesBackend._list

    def small_pages(self, what, fn, selector):
        items, kwargs = [], {"label_selector": selector, "limit": 3}
        while True:
            _, page = self._api(what, fn, self.config.namespace, **kwargs)
            items += page["items"]
            if not page["metadata"].get("continue"):
                return items
            kwargs["_continue"] = page["metadata"]["continue"]

    mod.KubernetesBackend._list = small_pages
    try:
        assert len(backend.list_runners()) == 7
    finally:
        mod.KubernetesBackend._list = orig
    assert len(backend.list_runners()) == 7


def test_list_runners_errors_are_transient_or_permanent(backend, kube):
    """list_runners answered 500 is transient; 403 is permanent."""
    kube.fail_next(1, 500, method="GET", plural="jobs")
    with pytest.raises(TransientBackendError):
        backend.list_runners()
    kube.fail_next(1, 403, method="GET", plural="jobs")
    with pytest.raises(PermanentBackendError):
        backend.list_runners()


def test_unauthorized_is_transient_401(backend, kube):
    """A 401 (expired or rotated service-account token) is transient: the client reloads the token."""
    kube.fail_next(1, 401)
    with pytest.raises(TransientBackendError, match="401"):
        backend.status("job-abc123")


def test_fake_server_rejects_a_wrong_token(kube):
    """The fake API server checks the bearer token of the generated kubeconfig (a wrong one gets 401)."""
    import httpx

    assert httpx.get(kube.url + "/apis/batch/v1/namespaces/x/jobs", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = httpx.get(kube.url + "/apis/batch/v1/namespaces/x/jobs", headers={"Authorization": f"Bearer {kube.token}"})
    assert ok.status_code == 200 and ok.json()["kind"] == "JobList"


# ------------------------------------------------------------------ configuration


def test_config_from_settings():
    """KubernetesConfig.from_settings takes every EXECUTOR_*/K8S_* variable and requires EXECUTOR_IMAGE;
    EXECUTOR_PASS_ENV's variables are passed with the values this process has."""
    with pytest.raises(ConfigError, match="EXECUTOR_IMAGE"):
        KubernetesConfig.from_settings(load_settings({}).kubernetes)
    env = {
        "EXECUTOR_IMAGE": "img@sha256:" + "a" * 64, "K8S_JOBS_NAMESPACE": "jobs-x", "EXECUTOR_MEMORY_LIMIT": "2Gi",
        "EXECUTOR_CPU_REQUEST": "500m", "EXECUTOR_TTL_SECONDS": "60", "EXECUTOR_RUNTIME_CLASS": "kata",
        "EXECUTOR_IMAGE_PULL_SECRETS": "a, b,", "EXECUTOR_ENV_SECRET": "boardrun-executor-env",
        "EXECUTOR_PASS_ENV": "K_SINK, LOG_LEVEL", "K_SINK": "http://broker", "K8S_READ_TIMEOUT_SECONDS": "7.5",
    }
    cfg = KubernetesConfig.from_settings(load_settings(env).kubernetes)
    assert (cfg.namespace, cfg.memory_limit, cfg.cpu_request, cfg.ttl_seconds, cfg.runtime_class) == ("jobs-x", "2Gi", "500m", 60, "kata")
    assert cfg.image_pull_secrets == ("a", "b") and cfg.env_secret == "boardrun-executor-env"
    assert dict(cfg.extra_env) == {"K_SINK": "http://broker"} and cfg.read_timeout == 7.5
    with pytest.raises(ConfigError, match="EXECUTOR_IMAGE_PULL_POLICY"):
        load_settings({**env, "EXECUTOR_IMAGE_PULL_POLICY": "Sometimes"})


def test_backend_from_kubeconfig_settings(kube):
    """With only KUBECONFIG and EXECUTOR_IMAGE set, KubernetesBackend.from_settings (what JOB_BACKEND=kubernetes uses) talks to that cluster."""
    b = KubernetesBackend.from_settings(load_settings({"KUBECONFIG": str(kube.kubeconfig), "EXECUTOR_IMAGE": "img:1"}))
    try:
        b.launch(spec())
        assert b.status("job-abc123").phase == RunnerPhase.PENDING
    finally:
        b.close()
    assert kube.get("jobs", NS, "br-job-abc123") is not None


# ------------------------------------------------------------------ ApiServerSource events


def apiserver_event_job(**status) -> dict:
    """A Job object as an ApiServerSource (mode Resource) puts it in event data."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "br-job-abc123",
            "namespace": NS,
            "uid": "0b0d2f7c-7c5e-4c53-9f0e-1e6b1f8a9f21",
            "resourceVersion": "48213",
            "generation": 1,
            "creationTimestamp": "2026-03-01T10:00:00Z",
            "labels": {
                "app.kubernetes.io/managed-by": "boardrun",
                "app.kubernetes.io/component": "executor",
                "boardrun.dev/job-id": "job-abc123",
                "boardrun.dev/app-id": "app-7xk2",
                "boardrun.dev/board-id": "board-main",
            },
            "annotations": {"boardrun.dev/job-id": "job-abc123", "boardrun.dev/attempt": "2"},
            "managedFields": [{"manager": "kube-controller-manager", "operation": "Update", "subresource": "status"}],
        },
        "spec": {"backoffLimit": 0, "activeDeadlineSeconds": 900, "template": {"spec": {"restartPolicy": "Never", "containers": []}}},
        "status": status,
    }


def test_runner_status_from_apiserversource_payloads():
    """add (no status) → pending; update active/ready → running; SuccessCriteriaMet → succeeded; FailureTarget → failed with reason."""
    assert runner_status_from_job(apiserver_event_job()).phase == RunnerPhase.PENDING
    st = runner_status_from_job(apiserver_event_job(active=1, ready=1, startTime="2026-03-01T10:00:02Z", uncountedTerminatedPods={}))
    assert (st.job_id, st.phase, st.attempt) == ("job-abc123", RunnerPhase.RUNNING, 2)
    assert runner_status_from_job(apiserver_event_job(active=1, ready=0)).phase == RunnerPhase.PENDING
    ok = apiserver_event_job(
        succeeded=1,
        conditions=[
            {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"},
            {"type": "Complete", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"},
        ],
    )
    assert runner_status_from_job(ok).phase == RunnerPhase.SUCCEEDED
    failed = apiserver_event_job(
        failed=1,
        conditions=[{"type": "FailureTarget", "status": "True", "reason": "PodFailurePolicy",
                     "message": "Container executor for pod flow-like-jobs/br-job-abc123-x2k9q failed with exit code 3 matching FailJob rule at index 0"}],
    )
    st = runner_status_from_job(failed)
    assert (st.phase, st.reason) == (RunnerPhase.FAILED, "PodFailurePolicy") and "exit code 3" in st.message
    not_true = apiserver_event_job(conditions=[{"type": "Failed", "status": "False", "reason": "X"}], active=1, ready=1)
    assert runner_status_from_job(not_true).phase == RunnerPhase.RUNNING


def test_runner_status_from_delete_events():
    """A delete event means MISSING unless the Job had finished (ttl cleanup keeps its terminal phase)."""
    st = runner_status_from_job(apiserver_event_job(active=1, ready=1), "dev.knative.apiserver.resource.delete")
    assert (st.phase, st.reason) == (RunnerPhase.MISSING, "Deleted")
    done = apiserver_event_job(conditions=[{"type": "Complete", "status": "True", "reason": "CompletionsReached"}])
    assert runner_status_from_job(done, "dev.knative.apiserver.resource.delete").phase == RunnerPhase.SUCCEEDED
    deleting = apiserver_event_job(active=1)
    deleting["metadata"]["deletionTimestamp"] = "2026-03-01T10:05:00Z"
    assert runner_status_from_job(deleting, "dev.knative.apiserver.resource.update").phase == RunnerPhase.MISSING


def test_job_id_of_and_foreign_jobs():
    """job_id_of reads the annotation (full id), falls back to the label, and ignores Jobs not managed by boardrun."""
    job = apiserver_event_job()
    assert job_id_of(job) == "job-abc123"
    del job["metadata"]["annotations"]
    assert job_id_of(job) == "job-abc123"
    job["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "someone-else"
    assert job_id_of(job) is None and runner_status_from_job(job) is None
    assert job_id_of({}) is None and job_id_of("nonsense") is None


def test_status_from_job_enriches_event_payloads(backend, kube):
    """The dispatcher can pass an event's Job to status_from_job and get the pod's OOMKilled reason."""
    backend.launch(spec())
    kube.add_pod(NS, "br-job-abc123", phase="Failed", state={"terminated": {"reason": "OOMKilled", "exitCode": 137}})
    event_job = apiserver_event_job(failed=1, conditions=[{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}])
    assert runner_status_from_job(event_job).reason == "BackoffLimitExceeded"
    assert backend.status_from_job(event_job).reason == "OOMKilled"


def test_job_backend_registry_builds_the_kubernetes_backend(kube, monkeypatch):
    """JOB_BACKEND=kubernetes in boardrun.jobs.backends gives a working KubernetesBackend."""
    from boardrun.jobs import backends

    monkeypatch.setenv("KUBECONFIG", str(kube.kubeconfig))
    monkeypatch.setenv("EXECUTOR_IMAGE", "img:1")
    monkeypatch.setenv("JOB_BACKEND", "kubernetes")
    services.reset()
    b = backends.get_backend()
    try:
        assert isinstance(b, KubernetesBackend) and b.status("job-x").phase == RunnerPhase.MISSING
    finally:
        b.close()


def test_backend_needs_only_the_verbs_of_the_dispatchers_role(backend, kube):
    """Every call the backend makes (launch, redelivery, half-done launch, status, list, cancel) is allowed by infra/rbac/roles.yaml."""
    from pathlib import Path

    import yaml

    role = next(d for d in yaml.safe_load_all((Path(__file__).resolve().parents[3] / "infra/rbac/roles.yaml").read_text())
                if d["kind"] == "Role" and d["metadata"]["name"] == "boardrun-dispatcher")
    allowed = {(res, verb) for rule in role["rules"] for res in rule["resources"] for verb in rule["verbs"]}
    kube.fail_next(1, 500, method="POST", plural="jobs")
    with pytest.raises(TransientBackendError):
        backend.launch(spec(job_id="job-half"))
    backend.launch(spec(job_id="job-half"))
    backend.launch(spec())
    backend.launch(spec())
    kube.add_pod(NS, "br-job-abc123", phase="Failed", state={"terminated": {"reason": "OOMKilled", "exitCode": 137}})
    kube.set_job_condition(NS, "br-job-abc123", "Failed", "BackoffLimitExceeded", "", failed=1)
    backend.status("job-abc123")
    backend.list_runners()
    backend.cancel("job-abc123")
    backend.cancel("job-gone")
    used = set()
    for method, path in kube.requests:
        resource = path.split("?")[0].split("/namespaces/")[1].split("/")
        verb = {"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}.get(method) or ("get" if len(resource) > 2 else "list")
        used.add((resource[1], verb))
    assert used <= allowed, used - allowed
    assert ("secrets", "patch") in used and ("pods", "list") in used
