"""Pure helpers of the Kubernetes job backend: names, labels, the Job and Secret
manifests, and the mapping of a Job (plus its pods) to a RunnerStatus.

No API calls here: everything takes and returns plain JSON dicts with the API's
camelCase keys (what the API server sends, what an ApiServerSource event carries in
`data`, what `kubernetes-validate` checks).

Executor exit-code contract (the pod's single container `executor`):
  0  the board ran and the executor reported `job.completed`;
  3  the executor ran and REPORTED a failure itself (`job.failed` was sent): the Job
     fails at once (podFailurePolicy FailJob), it is never retried;
  4  the executor stored its outcome but could not send its report: the Job fails
     (backoffLimit 0) and the stored outcome is what the job did (it wins over the
     runner's evidence);
  any other non-zero code (crash, OOM kill 137, SIGTERM 143): the Job fails as well
     (backoffLimit 0); the backend reports the pod's reason (OOMKilled, exit code…).
Pod disruptions (eviction, preemption, node drain: pod condition DisruptionTarget)
are ignored by the Job controller, which starts a new pod: that is the only retry.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Iterable

from boardrun.jobs.backends.base import LaunchSpec, RunnerPhase, RunnerStatus

MANAGED_BY = "boardrun"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_PART_OF = "app.kubernetes.io/part-of"
COMPONENT = "executor"
LABEL_JOB_ID = "boardrun.dev/job-id"
LABEL_APP_ID = "boardrun.dev/app-id"
LABEL_BOARD_ID = "boardrun.dev/board-id"
ANNOTATION_JOB_ID = "boardrun.dev/job-id"
ANNOTATION_APP_ID = "boardrun.dev/app-id"
ANNOTATION_BOARD_ID = "boardrun.dev/board-id"
ANNOTATION_ATTEMPT = "boardrun.dev/attempt"
CONTAINER_NAME = "executor"
EXECUTOR_COMMAND = ["python", "-m", "boardrun.executor"]
EXIT_REPORTED_FAILURE = 3  # see the module docstring
RUN_AS_USER = 65532


def hardened_container_security() -> dict[str, Any]:
    """The container securityContext of every Boardrun container (functions and executors)."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }

MANAGED_SELECTOR = f"{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_COMPONENT}={COMPONENT}"

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")

# Waiting/termination reasons that say more than the Job's own reason.
_WAITING_REASONS = (
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
    "CrashLoopBackOff",
)


def _digest(value: str, n: int = 10) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:n]


def job_name(job_id: str) -> str:
    """The Job's (and its Secret's) deterministic DNS-1123 name: `br-` + the id
    lower-cased; ids that are not DNS-safe, or too long, get a hash suffix (so two
    ids never share a name) and are truncated to ≤ 63 characters."""
    if not job_id:
        raise ValueError("job id is empty")
    lowered = job_id.lower()
    cleaned = re.sub(r"[^a-z0-9-]+", "-", lowered).strip("-")
    name = f"br-{cleaned}"
    if cleaned == job_id and len(name) <= 63 and _DNS_LABEL.fullmatch(name):
        return name
    # Not a faithful copy (case, characters, length): keep it readable, make it unique.
    return f"br-{cleaned[:48].strip('-')}-{_digest(job_id)}".replace("--", "-")


def label_value(value: str) -> str:
    """A label-value-safe form of `value` (≤ 63 chars, [A-Za-z0-9-_.], alphanumeric
    at both ends). Values changed on the way get a hash suffix; the full value is in
    an annotation anyway."""
    if len(value) <= 63 and _LABEL_VALUE.fullmatch(value):
        return value
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", value)
    cleaned = re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", cleaned)
    return f"{cleaned[:52]}-{_digest(value)}".lstrip("-_.")


def labels_for(spec: LaunchSpec) -> dict[str, str]:
    return {
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_COMPONENT: COMPONENT,
        LABEL_PART_OF: "boardrun",
        LABEL_JOB_ID: label_value(spec.job_id),
        LABEL_APP_ID: label_value(spec.app_id),
        LABEL_BOARD_ID: label_value(spec.board_id),
    }


def annotations_for(spec: LaunchSpec) -> dict[str, str]:
    return {
        ANNOTATION_JOB_ID: spec.job_id,
        ANNOTATION_APP_ID: spec.app_id,
        ANNOTATION_BOARD_ID: spec.board_id,
        ANNOTATION_ATTEMPT: str(spec.attempt),
    }


def check_env_names(spec: LaunchSpec) -> None:
    """Raise ValueError for names Kubernetes would reject (before any API call)."""
    for key in spec.env:
        if not _ENV_NAME.fullmatch(key):
            raise ValueError(f"invalid environment variable name {key!r}")
    for key in spec.secret_env:
        if not _SECRET_KEY.fullmatch(key) or not _ENV_NAME.fullmatch(key):
            raise ValueError(f"invalid secret environment variable name {key!r}")


def secret_manifest(spec: LaunchSpec, name: str, namespace: str) -> dict[str, Any]:
    """The per-job Secret holding LaunchSpec.secret_env (values go in `stringData`;
    the API server stores them base64-encoded in `data`)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels_for(spec),
            "annotations": annotations_for(spec),
        },
        "type": "Opaque",
        "immutable": False,
        "stringData": dict(sorted(spec.secret_env.items())),
    }


def owner_reference(job: dict[str, Any]) -> dict[str, Any]:
    """An ownerReference to `job` (no blockOwnerDeletion: setting it needs
    update rights on jobs/finalizers, and nothing should wait for a Secret)."""
    meta = job["metadata"]
    return {"apiVersion": "batch/v1", "kind": "Job", "name": meta["name"], "uid": meta["uid"], "controller": False}


def job_manifest(
    spec: LaunchSpec,
    *,
    name: str,
    namespace: str,
    image: str,
    image_pull_policy: str = "IfNotPresent",
    service_account: str = "boardrun-executor",
    config_env: dict[str, str] | None = None,
    secret_name: str | None = None,
    env_secret: str | None = None,
    resources: dict[str, dict[str, str]] | None = None,
    tmp_size_limit: str = "1Gi",
    ttl_seconds: int = 3600,
    runtime_class: str | None = None,
    image_pull_secrets: Iterable[str] = (),
) -> dict[str, Any]:
    """The batch/v1 Job that runs the executor for `spec` once."""
    plain: dict[str, str] = {**(config_env or {}), **spec.env}
    for key in spec.secret_env:  # a sensitive value never also appears inline
        plain.pop(key, None)
    env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in sorted(plain.items())]
    if spec.secret_env:
        if not secret_name:
            raise ValueError("secret_env needs a secret name")
        env += [
            {"name": k, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": k}}}
            for k in sorted(spec.secret_env)
        ]
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": image,
        "imagePullPolicy": image_pull_policy,
        "command": list(EXECUTOR_COMMAND),
        "env": env,
        "resources": resources or {},
        "securityContext": hardened_container_security(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    if env_secret:
        container["envFrom"] = [{"secretRef": {"name": env_secret}}]
    labels = labels_for(spec)
    annotations = annotations_for(spec)
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "serviceAccountName": service_account,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 30,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_USER,
            "runAsGroup": RUN_AS_USER,
            "fsGroup": RUN_AS_USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": tmp_size_limit}}],
    }
    if runtime_class:
        pod_spec["runtimeClassName"] = runtime_class
    pull_secrets = [s for s in image_pull_secrets if s]
    if pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": s} for s in pull_secrets]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations},
        "spec": {
            "backoffLimit": 0,
            "completions": 1,
            "parallelism": 1,
            "activeDeadlineSeconds": int(spec.deadline_seconds),
            "ttlSecondsAfterFinished": int(ttl_seconds),
            "podReplacementPolicy": "Failed",
            "podFailurePolicy": {
                "rules": [
                    {
                        "action": "FailJob",
                        "onExitCodes": {
                            "containerName": CONTAINER_NAME,
                            "operator": "In",
                            "values": [EXIT_REPORTED_FAILURE],
                        },
                    },
                    {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
                ]
            },
            "template": {"metadata": {"labels": dict(labels), "annotations": dict(annotations)}, "spec": pod_spec},
        },
    }


# ---------------------------------------------------------------- status mapping


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def job_id_of(job: dict[str, Any]) -> str | None:
    """The Boardrun job id of a Job object (annotation first: it is the full id;
    the label may be shortened). None for Jobs Boardrun does not manage."""
    if not isinstance(job, dict):
        return None
    meta = _meta(job)
    labels = meta.get("labels") or {}
    if labels.get(LABEL_MANAGED_BY) != MANAGED_BY:
        return None
    return (meta.get("annotations") or {}).get(ANNOTATION_JOB_ID) or labels.get(LABEL_JOB_ID) or None


def _attempt_of(job: dict[str, Any]) -> int | None:
    raw = (_meta(job).get("annotations") or {}).get(ANNOTATION_ATTEMPT)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _true_conditions(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    conditions = (job.get("status") or {}).get("conditions") or []
    return {c.get("type"): c for c in conditions if str(c.get("status")) == "True"}


def runner_status_from_job(job: dict[str, Any], event_type: str | None = None) -> RunnerStatus | None:
    """Map a Job object (camelCase dict: an API response, or an ApiServerSource
    `dev.knative.apiserver.resource.*` event's data) to a RunnerStatus.

    None if the Job is not one of ours. `event_type` ending in `.delete` (the Job is
    gone): MISSING — unless the deleted Job had already finished (ttl cleanup), then
    its terminal phase, which is the more useful truth. A Job being deleted
    (deletionTimestamp set) that has not finished is MISSING as well.
    """
    job_id = job_id_of(job)
    if job_id is None:
        return None
    attempt = _attempt_of(job)
    status = job.get("status") or {}
    conds = _true_conditions(job)
    deleted = bool(event_type and event_type.endswith(".delete"))

    failed = conds.get("Failed") or conds.get("FailureTarget")
    if failed:
        return RunnerStatus(job_id, RunnerPhase.FAILED, failed.get("reason") or "Failed", failed.get("message") or None, attempt)
    done = conds.get("Complete") or conds.get("SuccessCriteriaMet")
    if done:
        return RunnerStatus(job_id, RunnerPhase.SUCCEEDED, done.get("reason") or "Complete", done.get("message") or None, attempt)
    if deleted:
        return RunnerStatus(job_id, RunnerPhase.MISSING, "Deleted", "the Kubernetes Job was deleted before it finished", attempt)
    if _meta(job).get("deletionTimestamp"):
        return RunnerStatus(job_id, RunnerPhase.MISSING, "Deleting", "the Kubernetes Job is being deleted", attempt)
    if "Suspended" in conds:
        return RunnerStatus(job_id, RunnerPhase.PENDING, "Suspended", conds["Suspended"].get("message") or None, attempt)
    active = int(status.get("active") or 0)
    ready = status.get("ready")
    if active > 0 and (ready is None or int(ready) > 0):
        return RunnerStatus(job_id, RunnerPhase.RUNNING, None, None, attempt)
    if active > 0:  # a pod exists but is not running yet (scheduling, pulling the image)
        return RunnerStatus(job_id, RunnerPhase.PENDING, "PodNotReady", None, attempt)
    if int(status.get("succeeded") or 0) > 0:  # finished, condition not written yet
        return RunnerStatus(job_id, RunnerPhase.SUCCEEDED, "Succeeded", None, attempt)
    return RunnerStatus(job_id, RunnerPhase.PENDING, None, None, attempt)


def pod_detail(pods: list[dict[str, Any]]) -> tuple[str, str] | None:
    """The most telling (reason, message) from a Job's pods, newest pod first:
    OOMKilled, image pull / container config errors, eviction, other termination
    reasons, or the exit code / signal of a failed container."""
    if not pods:
        return None
    ordered = sorted(pods, key=lambda p: _meta(p).get("creationTimestamp") or "", reverse=True)
    best: tuple[int, str, str] | None = None

    def offer(rank: int, reason: str, message: str) -> None:
        nonlocal best
        if best is None or rank < best[0]:
            best = (rank, reason, message)

    for pod in ordered:
        pstatus = pod.get("status") or {}
        pod_name = _meta(pod).get("name", "?")
        statuses = (pstatus.get("initContainerStatuses") or []) + (pstatus.get("containerStatuses") or [])
        for cs in statuses:
            cname = cs.get("name", "?")
            for state in (cs.get("state") or {}, cs.get("lastState") or {}):
                term = state.get("terminated")
                if term:
                    code = term.get("exitCode")
                    reason = term.get("reason") or ""
                    signal = term.get("signal")
                    where = f"container {cname} of pod {pod_name}"
                    if reason == "OOMKilled":
                        offer(0, "OOMKilled", f"{where} was killed: out of memory (exit code {code})")
                    elif reason and reason not in ("Error", "Completed"):
                        offer(3, reason, f"{where} terminated: {reason} (exit code {code})" + (f": {term.get('message')}" if term.get("message") else ""))
                    elif code not in (None, 0):
                        if code == EXIT_REPORTED_FAILURE:
                            offer(5, "ExecutorReportedFailure", f"{where} exited with code {code}: the executor reported the failure")
                        elif signal:
                            offer(4, f"Signal{signal}", f"{where} was killed by signal {signal} (exit code {code})")
                        else:
                            offer(4, "Error", f"{where} exited with code {code}")
                waiting = state.get("waiting")
                if waiting and waiting.get("reason") in _WAITING_REASONS:
                    msg = waiting.get("message") or waiting["reason"]
                    offer(1, waiting["reason"], f"container {cname} of pod {pod_name}: {msg}")
        if pstatus.get("reason") == "Evicted":
            offer(2, "Evicted", f"pod {pod_name} was evicted: {pstatus.get('message') or ''}".rstrip(": "))
    return (best[1], best[2]) if best else None


def enrich(status: RunnerStatus, pods: list[dict[str, Any]]) -> RunnerStatus:
    """Combine a Job-level status with what its pods say.

    FAILED: a pod reason such as OOMKilled or ImagePullBackOff replaces the Job's
    generic one (BackoffLimitExceeded, DeadlineExceeded), which moves into the
    message. PENDING: an image pull or container config problem becomes the reason.
    """
    detail = pod_detail(pods)
    if detail is None:
        return status
    reason, message = detail
    if status.phase == RunnerPhase.FAILED:
        job_reason = status.reason or "Failed"
        if reason in ("Error", "ExecutorReportedFailure") and job_reason in ("PodFailurePolicy", "DeadlineExceeded"):
            # the Job's reason is the better summary; keep the pod's exit code as detail
            return RunnerStatus(status.job_id, RunnerPhase.FAILED, job_reason, f"{status.message or job_reason}; {message}", status.attempt)
        return RunnerStatus(status.job_id, RunnerPhase.FAILED, reason, f"{message} (job: {job_reason}: {status.message or ''})".replace(": )", ")"), status.attempt)
    if status.phase in (RunnerPhase.PENDING, RunnerPhase.RUNNING) and reason in _WAITING_REASONS:
        return RunnerStatus(status.job_id, RunnerPhase.PENDING, reason, message, status.attempt)
    return status
