"""The Knative Services of Boardrun (one per function, all the same image),
generated so nine near-identical manifests cannot drift apart.

    python -m boardrun.deploy.services --write infra/functions

writes `infra/functions/<function>.yaml`; tests/infra/test_manifests.py regenerates
them and fails when the committed files differ.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from boardrun.jobs.backends.k8s_objects import hardened_container_security

PORT = 8080  # the function container's port (Knative's default user port)
SCRAPE_ANNOTATIONS = {"prometheus.io/scrape": "true", "prometheus.io/port": str(PORT), "prometheus.io/path": "/metrics"}
IMAGE = "registry.example.com/boardrun:0.1.0"  # rewritten by `kustomize edit set image`
NAMESPACE = "flow-like"


@dataclass(frozen=True)
class Fn:
    name: str
    concurrency: int  # containerConcurrency: hard limit per pod (queue-proxy enforces it)
    timeout: int  # timeoutSeconds: the longest request
    max_scale: int = 10
    cpu: str = "100m"
    memory: str = "256Mi"
    cpu_limit: str = "1"
    memory_limit: str = "512Mi"
    service_account: str = "boardrun-functions"
    job_token: bool = False  # needs JOB_TOKEN_SECRET
    summary: str = ""


FUNCTIONS: list[Fn] = [
    Fn("health", 50, 15, max_scale=3, cpu="50m", memory="192Mi", summary="probes and /api/v1/health*"),
    # argon2 password hashing is CPU and memory heavy: few requests per pod
    Fn("auth", 8, 30, cpu="250m", memory="320Mi", memory_limit="768Mi", summary="/api/v1/auth/*, /api/v1/oauth/*"),
    Fn("users", 30, 30, summary="/api/v1/user, /api/v1/profile*"),
    Fn("apps", 30, 30, summary="/api/v1/apps* (apps, team, boards, versions)"),
    Fn("hub", 50, 30, max_scale=5, summary="/api/v1/, version, catalog, info/*, openapi.json"),
    Fn("store", 50, 30, max_scale=5, summary="/api/v1/store*"),
    # sync mode holds a request up to SYNC_WAIT_SECONDS (30): allow 60 s and many waiting requests
    Fn("jobs", 80, 60, job_token=True, summary="/jobs/* (submit, status, cancel)"),
    Fn("execution", 80, 60, job_token=True, summary="/api/v1/execution/*"),
    # CloudEvents from the broker, PingSources and the Job watch: talks to the Kubernetes API
    Fn("dispatcher", 4, 120, max_scale=5, cpu="100m", memory="256Mi", service_account="boardrun-dispatcher",
       job_token=True, summary="CloudEvents at /events and /events/dead-letter"),
    # webhooks may ask to wait for the board's result (SYNC_WAIT_SECONDS), like sync jobs
    Fn("triggers", 80, 60, job_token=True,
       summary="/api/v1/apps/*/events*, /api/v1/sink/trigger/http/*, CloudEvents at /triggers/events, /triggers/cron"),
]


def _secret_env(name: str, secret: str, key: str) -> dict:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _probe(path: str, period: int, failures: int, timeout: int = 3) -> dict:
    return {"httpGet": {"path": path}, "periodSeconds": period, "failureThreshold": failures, "timeoutSeconds": timeout}


def service(fn: Fn, image: str = IMAGE, namespace: str = NAMESPACE) -> dict:
    env = [
        {"name": "FUNCTION_TARGET", "value": fn.name},
        {"name": "FUNCTION_SOURCE", "value": f"functions/{fn.name}/main.py"},
        {"name": "FUNCTION_SIGNATURE_TYPE", "value": "http"},
        {"name": "THREADS", "value": str(fn.concurrency)},
        _secret_env("DATABASE_URL", "boardrun-database", "url"),
        _secret_env("AUTH_SIGNING_KEY", "boardrun-auth", "signing-key"),
    ]
    if fn.job_token:
        env.append(_secret_env("JOB_TOKEN_SECRET", "boardrun-job-token", "secret"))
    labels = {"app.kubernetes.io/name": "boardrun", "app.kubernetes.io/component": fn.name, "app.kubernetes.io/part-of": "boardrun"}
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {
            "name": fn.name,
            "namespace": namespace,
            "labels": {**labels, "networking.knative.dev/visibility": "cluster-local"},
            "annotations": {"boardrun.dev/serves": fn.summary},
        },
        "spec": {
            "template": {
                "metadata": {
                    "labels": {**labels, "boardrun.dev/function": fn.name},
                    "annotations": {
                        "autoscaling.knative.dev/min-scale": "0",
                        "autoscaling.knative.dev/max-scale": str(fn.max_scale),
                        "autoscaling.knative.dev/target-utilization-percentage": "70",
                        # Prometheus' kubernetes-pods discovery scrapes each pod's /metrics directly
                        # (the public gateway does not route it)
                        **SCRAPE_ANNOTATIONS,
                    },
                },
                "spec": {
                    "serviceAccountName": fn.service_account,
                    "containerConcurrency": fn.concurrency,
                    "timeoutSeconds": fn.timeout,
                    "enableServiceLinks": False,
                    "containers": [
                        {
                            "name": "function",
                            "image": image,
                            "ports": [{"name": "http1", "containerPort": PORT}],
                            "env": env,
                            "envFrom": [
                                {"configMapRef": {"name": "boardrun-config"}},
                                {"secretRef": {"name": "boardrun-storage"}},
                            ],
                            "resources": {
                                "requests": {"cpu": fn.cpu, "memory": fn.memory},
                                "limits": {"cpu": fn.cpu_limit, "memory": fn.memory_limit},
                            },
                            "securityContext": hardened_container_security(),
                            "startupProbe": _probe("/health/startup", 2, 60),
                            "readinessProbe": _probe("/health/ready", 10, 3),
                            "livenessProbe": _probe("/health/live", 15, 3),
                            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                        }
                    ],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            }
        },
    }


HEADER = (
    "# GENERATED by `python -m boardrun.deploy.services --write infra/functions` (boardrun/deploy/services.py).\n"
    "# Do not edit by hand: tests/infra/test_manifests.py fails when this file and the generator disagree.\n"
)


def render(fn: Fn) -> str:
    return HEADER + f"# Knative Service `{fn.name}`: {fn.summary}\n" + yaml.safe_dump(service(fn), sort_keys=False, width=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", metavar="DIR", help="write <DIR>/<function>.yaml instead of printing")
    args = parser.parse_args(argv)
    for fn in FUNCTIONS:
        text = render(fn)
        if args.write:
            Path(args.write, f"{fn.name}.yaml").write_text(text)
        else:
            sys.stdout.write(text + "---\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
