"""The Kubernetes job backend: one batch/v1 Job per Boardrun job.

`launch` creates (1) a per-job Secret with LaunchSpec.secret_env, (2) the Job, whose
container references that Secret with `secretKeyRef`, then (3) gives the Secret an
ownerReference to the Job, so the garbage collector deletes it with the Job. Names
are deterministic (`k8s_objects.job_name`), so a redelivered `job.submitted` event
finds the Job already there (409 AlreadyExists) and starts nothing.

Configuration comes from the settings tree (`KubernetesConfig.from_settings`); the
executor exit-code contract is in `k8s_objects`'s docstring (exit 3 = the executor
reported the failure itself).

Errors: 409 on create and 404 on delete are successes; 400/403/404-on-create/422
(and any other 4xx except 401/408/409/410/429) raise PermanentBackendError; 401,
408, 410, 429, 5xx, timeouts and connection errors raise TransientBackendError.
"""

from __future__ import annotations

import json
import logging
import socket
from dataclasses import dataclass, field
from typing import Any, Mapping

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.rest import ApiException

from boardrun.config import ConfigError, KubernetesSettings, Settings, get_settings
from boardrun.jobs.backends import k8s_objects as objs
from boardrun.jobs.backends.base import (
    JobBackend,
    LaunchSpec,
    PermanentBackendError,
    RunnerPhase,
    RunnerStatus,
    TransientBackendError,
)
from boardrun.jobs.backends.k8s_objects import job_id_of, job_name, runner_status_from_job  # noqa: F401 (public API)
from boardrun.jobs.states import ErrorCode

log = logging.getLogger("boardrun.jobs.kubernetes")

_TRANSIENT_STATUS = {401, 408, 409, 410, 429}


@dataclass(frozen=True)
class KubernetesConfig:
    """Every setting of the backend (`from_settings`: from the settings tree's `kubernetes`)."""

    image: str
    namespace: str = "flow-like-jobs"
    image_pull_policy: str = "IfNotPresent"
    service_account: str = "boardrun-executor"
    cpu_request: str = "250m"
    cpu_limit: str = "2"
    memory_request: str = "256Mi"
    memory_limit: str = "1Gi"
    tmp_size_limit: str = "1Gi"
    ttl_seconds: int = 3600
    runtime_class: str | None = None
    image_pull_secrets: tuple[str, ...] = ()
    env_secret: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    # Plain variables every executor gets: EXECUTOR_PASS_ENV's, with this process's values.
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, k: KubernetesSettings) -> "KubernetesConfig":
        if not k.image:
            raise ConfigError("EXECUTOR_IMAGE is required for JOB_BACKEND=kubernetes")
        return cls(
            image=k.image,
            namespace=k.namespace,
            image_pull_policy=k.image_pull_policy,
            service_account=k.service_account,
            cpu_request=k.cpu_request,
            cpu_limit=k.cpu_limit,
            memory_request=k.memory_request,
            memory_limit=k.memory_limit,
            tmp_size_limit=k.tmp_size_limit,
            ttl_seconds=k.ttl_seconds,
            runtime_class=k.runtime_class,
            image_pull_secrets=k.image_pull_secrets,
            env_secret=k.env_secret,
            connect_timeout=k.connect_timeout,
            read_timeout=k.read_timeout,
            extra_env=k.passed_env,
        )

    def resources(self) -> dict[str, dict[str, str]]:
        requests = {k: v for k, v in (("cpu", self.cpu_request), ("memory", self.memory_request)) if v}
        limits = {k: v for k, v in (("cpu", self.cpu_limit), ("memory", self.memory_limit)) if v}
        out: dict[str, dict[str, str]] = {}
        if requests:
            out["requests"] = requests
        if limits:
            out["limits"] = limits
        return out


def api_client_from_settings(k: KubernetesSettings) -> k8s.ApiClient:
    """In-cluster credentials, or the kubeconfig named by KUBECONFIG (or ~/.kube/config
    outside a cluster). Connection errors are retried once by urllib3, reads never
    (a POST must not be sent twice behind our back; the broker retries instead)."""
    configuration = k8s.Configuration()
    if k.kubeconfig or not k.in_cluster:
        k8s_config.load_kube_config(config_file=k.kubeconfig, client_configuration=configuration)
    else:
        k8s_config.load_incluster_config(client_configuration=configuration)
    configuration.retries = urllib3.Retry(total=1, connect=1, read=0, status=0, redirect=0, other=0)
    return k8s.ApiClient(configuration)


class KubernetesBackend(JobBackend):
    name = "kubernetes"
    # The Job and pod reasons (see k8s_objects.enrich) that say what became of the executor.
    failure_reasons = {
        **JobBackend.failure_reasons,
        "OOMKilled": (ErrorCode.OOM_KILLED, "the executor ran out of memory and was killed"),
        "ImagePullBackOff": (ErrorCode.LAUNCH_FAILED, "the executor image could not be pulled"),
        "ErrImagePull": (ErrorCode.LAUNCH_FAILED, "the executor image could not be pulled"),
        "CreateContainerConfigError": (ErrorCode.LAUNCH_FAILED, "the executor container could not be configured"),
        "Evicted": (ErrorCode.LOST_RUNNER, "the executor pod was evicted"),
    }

    def __init__(self, config: KubernetesConfig, api_client: k8s.ApiClient | None = None, *,
                 credentials: KubernetesSettings | None = None):
        """`api_client`, or one from `credentials` (KUBECONFIG or in-cluster; default: this process's)."""
        self.config = config
        self._owns_client = api_client is None
        self.api_client = api_client or api_client_from_settings(credentials or get_settings().kubernetes)
        self.batch = k8s.BatchV1Api(self.api_client)
        self.core = k8s.CoreV1Api(self.api_client)
        self._timeout = (self.config.connect_timeout, self.config.read_timeout)

    @classmethod
    def from_settings(cls, settings: Settings) -> "KubernetesBackend":
        """Configuration and credentials from the settings (what JOB_BACKEND=kubernetes uses)."""
        return cls(KubernetesConfig.from_settings(settings.kubernetes), credentials=settings.kubernetes)

    # ------------------------------------------------------------ plumbing

    def _api(self, what: str, fn, *args, accept: tuple[int, ...] = (), **kwargs) -> tuple[int, dict[str, Any]]:
        """Call the API; return (200, body) or, for a status in `accept`, (status,
        Status body). Everything else becomes a Transient/PermanentBackendError."""
        try:
            response = fn(*args, _request_timeout=self._timeout, _preload_content=False, **kwargs)
            data = response.data
            return 200, (json.loads(data) if data else {})
        except ApiException as exc:
            code = int(exc.status or 0)
            if code in accept:
                return code, _status_body(exc)
            raise self._api_error(what, exc) from exc
        except (urllib3.exceptions.HTTPError, socket.timeout, TimeoutError, ConnectionError, OSError) as exc:
            raise TransientBackendError(f"{what}: Kubernetes API unreachable: {type(exc).__name__}: {exc}") from exc

    def _api_error(self, what: str, exc: ApiException) -> Exception:
        code = int(exc.status or 0)
        body = _status_body(exc)
        detail = ": ".join(x for x in (body.get("reason"), body.get("message")) if x) or str(exc.body or "")[:300]
        text = f"{what}: Kubernetes API answered {code} {exc.reason or ''}".rstrip() + (f": {detail}" if detail else "")
        if code == 0 or code >= 500 or code in _TRANSIENT_STATUS:
            return TransientBackendError(text)
        if code == 403:
            text += " (check the dispatcher's RBAC Role in the jobs namespace)"
        return PermanentBackendError(text)

    # ------------------------------------------------------------ JobBackend

    def build_job(self, spec: LaunchSpec) -> dict[str, Any]:
        """The Job manifest `launch` would create (also used by the tests)."""
        name = job_name(spec.job_id)
        cfg = self.config
        return objs.job_manifest(
            spec,
            name=name,
            namespace=cfg.namespace,
            image=cfg.image,
            image_pull_policy=cfg.image_pull_policy,
            service_account=cfg.service_account,
            config_env=dict(self.config.extra_env),
            secret_name=name if spec.secret_env else None,
            env_secret=cfg.env_secret,
            resources=cfg.resources(),
            tmp_size_limit=cfg.tmp_size_limit,
            ttl_seconds=cfg.ttl_seconds,
            runtime_class=cfg.runtime_class,
            image_pull_secrets=cfg.image_pull_secrets,
        )

    def launch(self, spec: LaunchSpec) -> None:
        try:
            objs.check_env_names(spec)
        except ValueError as exc:
            raise PermanentBackendError(f"launch {spec.job_id}: {exc}") from exc
        if spec.deadline_seconds <= 0:
            raise PermanentBackendError(f"launch {spec.job_id}: deadline_seconds must be positive")
        ns = self.config.namespace
        name = job_name(spec.job_id)
        manifest = self.build_job(spec)
        secret_created = False
        if spec.secret_env:
            secret = objs.secret_manifest(spec, name, ns)
            code, body = self._api(f"create Secret {ns}/{name}", self.core.create_namespaced_secret, ns, secret, accept=(409,))
            if code == 409:
                _require_already_exists(f"create Secret {ns}/{name}", body)
                existing = self._get_job(name)
                if existing is not None:  # a redelivery: the Job runs already, leave it alone
                    self._adopt_secret(name, existing)
                    log.info("job %s: Job %s/%s exists already (redelivered launch)", spec.job_id, ns, name)
                    return
                # a previous attempt stopped after the Secret: refresh its values
                # (a JSON patch: the dispatcher's Role has `patch`, not `update`)
                refresh = [{"op": "add", "path": "/stringData", "value": secret["stringData"]}]
                self._api(f"refresh Secret {ns}/{name}", self.core.patch_namespaced_secret, name, ns, refresh)
            else:
                secret_created = True
        try:
            code, job = self._api(f"create Job {ns}/{name}", self.batch.create_namespaced_job, ns, manifest, accept=(409,))
        except PermanentBackendError:
            if secret_created:  # do not leave an orphan holding credentials
                self._delete_secret(name, quiet=True)
            raise
        if code == 409:
            _require_already_exists(f"create Job {ns}/{name}", job)
            log.info("job %s: Job %s/%s exists already (redelivered launch)", spec.job_id, ns, name)
            job = self._get_job(name)
            if job is None:  # deleted between our create and our get: nothing to adopt
                return
        else:
            log.info("job %s: created Job %s/%s", spec.job_id, ns, name)
        if spec.secret_env:
            self._adopt_secret(name, job)

    def _adopt_secret(self, name: str, job: dict[str, Any]) -> None:
        """Make the Job the Secret's owner (the garbage collector then deletes it)."""
        meta = job.get("metadata") or {}
        if not meta.get("uid"):
            return
        ns = self.config.namespace
        patch = [{"op": "add", "path": "/metadata/ownerReferences", "value": [objs.owner_reference(job)]}]
        # 404: no Secret (the Job came from a launch without secret_env): fine
        self._api(f"set owner of Secret {ns}/{name}", self.core.patch_namespaced_secret, name, ns, patch, accept=(404,))

    def _get_job(self, name: str) -> dict[str, Any] | None:
        ns = self.config.namespace
        code, job = self._api(f"get Job {ns}/{name}", self.batch.read_namespaced_job, name, ns, accept=(404,))
        return None if code == 404 else job

    def _delete_secret(self, name: str, quiet: bool = False) -> None:
        ns = self.config.namespace
        try:
            self._api(f"delete Secret {ns}/{name}", self.core.delete_namespaced_secret, name, ns, accept=(404,))
        except (PermanentBackendError, TransientBackendError):
            if not quiet:
                raise
            log.warning("could not delete Secret %s/%s", ns, name, exc_info=True)

    def cancel(self, job_id: str) -> None:
        ns = self.config.namespace
        name = job_name(job_id)
        code, _ = self._api(
            f"delete Job {ns}/{name}",
            self.batch.delete_namespaced_job,
            name,
            ns,
            propagation_policy="Background",
            accept=(404,),
        )
        if code != 404:
            log.info("job %s: deleted Job %s/%s", job_id, ns, name)
        # the garbage collector deletes an owned Secret; this also covers one left
        # behind by a launch that never got as far as creating the Job
        self._delete_secret(name)

    def _list(self, what: str, fn, selector: str) -> list[dict[str, Any]]:
        ns = self.config.namespace
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"label_selector": selector, "limit": 500}
        while True:
            _, page = self._api(f"list {what} in {ns}", fn, ns, **kwargs)
            items += page.get("items") or []
            cont = (page.get("metadata") or {}).get("continue")
            if not cont:
                return items
            kwargs["_continue"] = cont

    def _pods(self, selector: str) -> list[dict[str, Any]]:
        return self._list("Pods", self.core.list_namespaced_pod, selector)

    def status_from_job(self, job: dict[str, Any], event_type: str | None = None) -> RunnerStatus | None:
        """`runner_status_from_job`, plus the pods' story for failed Jobs and Jobs
        whose pod has not started (OOMKilled, ImagePullBackOff, …): one pod list
        call, only in those cases."""
        status = runner_status_from_job(job, event_type)
        if status is None or not _needs_pods(job, status):
            return status
        name = (job.get("metadata") or {}).get("name")
        if not name:
            return status
        return objs.enrich(status, self._pods(f"batch.kubernetes.io/job-name={name}"))

    def status(self, job_id: str) -> RunnerStatus:
        job = self._get_job(job_name(job_id))
        if job is None:
            return RunnerStatus(job_id, RunnerPhase.MISSING, "NotFound", "no Kubernetes Job for this job")
        status = self.status_from_job(job)
        if status is None or status.job_id != job_id:
            return RunnerStatus(job_id, RunnerPhase.MISSING, "NotManaged", "the Job of that name is not this job's")
        return status

    def list_runners(self) -> list[RunnerStatus]:
        jobs = self._list("Jobs", self.batch.list_namespaced_job, objs.MANAGED_SELECTOR)
        statuses = [(job, runner_status_from_job(job)) for job in jobs]
        by_job: dict[str, list[dict[str, Any]]] = {}
        if any(s is not None and _needs_pods(j, s) for j, s in statuses):
            for pod in self._pods(objs.MANAGED_SELECTOR):  # one pod list for all of them
                labels = (pod.get("metadata") or {}).get("labels") or {}
                owner = labels.get("batch.kubernetes.io/job-name") or labels.get("job-name")
                if owner:
                    by_job.setdefault(owner, []).append(pod)
        out = []
        for job, status in statuses:
            if status is None:
                continue
            if _needs_pods(job, status):
                status = objs.enrich(status, by_job.get(job["metadata"]["name"], []))
            out.append(status)
        return out

    def close(self) -> None:
        if self._owns_client:
            self.api_client.close()


def _needs_pods(job: dict[str, Any], status: RunnerStatus) -> bool:
    if status.phase == RunnerPhase.FAILED:
        return True
    return status.phase == RunnerPhase.PENDING and int((job.get("status") or {}).get("active") or 0) > 0


def _require_already_exists(what: str, body: dict[str, Any]) -> None:
    """409 AlreadyExists is a redelivery (success); 409 Conflict is a write race."""
    if body.get("reason") != "AlreadyExists":
        raise TransientBackendError(f"{what}: Kubernetes API answered 409 {body.get('reason')}: {body.get('message')}")


def _status_body(exc: ApiException) -> dict[str, Any]:
    """The Status object the API server sent with an error, or {}."""
    body = exc.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        status = json.loads(body) if body else {}
    except (TypeError, ValueError):
        return {}
    return status if isinstance(status, dict) else {}
