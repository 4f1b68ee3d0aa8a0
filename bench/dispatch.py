"""Dispatch throughput, part 1: how many `launch()` calls per second the
KubernetesBackend turns into Jobs, against the fake Kubernetes API server
(tests/fake_kube, real HTTP on 127.0.0.1) through the real `kubernetes` client.

Baseline in the same run: a bare `BatchV1Api.create_namespaced_job` loop with the
same Job manifests and the same concurrency (one API call per Job, no Secret, no
error mapping). The backend makes three calls per job with secret_env (create the
per-job Secret, create the Job, set the Secret's ownerReference), so a ratio near
1/3 means its own overhead is small. A fresh fake server for each measurement.

Usage: .venv/bin/python bench/dispatch.py [--jobs 500] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from boardrun.jobs.backends.base import LaunchSpec  # noqa: E402
from boardrun.jobs.backends.kubernetes import KubernetesBackend, KubernetesConfig  # noqa: E402
from tests.fake_kube import FakeKubeServer  # noqa: E402

NS = "flow-like-jobs"


def specs(n: int, prefix: str) -> list[LaunchSpec]:
    return [
        LaunchSpec(
            job_id=f"{prefix}-{i:05d}",
            attempt=1,
            app_id="app-bench",
            board_id="board-bench",
            deadline_seconds=600,
            env={"BOARDRUN_JOB_ID": f"{prefix}-{i:05d}"},
            secret_env={"BOARDRUN_JOB_TOKEN": f"token-{i:05d}"},
        )
        for i in range(n)
    ]


def _client(server: FakeKubeServer, concurrency: int):
    client = server.api_client()
    # one pooled connection per worker thread
    client.rest_client.pool_manager.connection_pool_kw["maxsize"] = concurrency
    return client


def run_backend(n: int, concurrency: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp, FakeKubeServer(tmp) as server:
        client = _client(server, concurrency)
        backend = KubernetesBackend(KubernetesConfig(image="registry.example.com/boardrun:0.1.0", pass_env=()), api_client=client)
        work = specs(n, "job-b")
        backend.launch(specs(1, "warm")[0])  # connection set up, imports warm
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(backend.launch, work))
        elapsed = time.perf_counter() - started
        made = len(server.list("jobs", NS)) - 1
        client.close()
        return elapsed, made


def run_bare(n: int, concurrency: int) -> tuple[float, int]:
    from kubernetes import client as k8s

    with tempfile.TemporaryDirectory() as tmp, FakeKubeServer(tmp) as server:
        client = _client(server, concurrency)
        batch = k8s.BatchV1Api(client)
        # the same manifests the backend would send, built before the clock starts
        builder = KubernetesBackend(KubernetesConfig(image="registry.example.com/boardrun:0.1.0", pass_env=()), api_client=client)
        manifests = [builder.build_job(s) for s in specs(n, "job-c")]
        batch.create_namespaced_job(NS, builder.build_job(specs(1, "warm")[0]))
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(lambda m: batch.create_namespaced_job(NS, m), manifests))
        elapsed = time.perf_counter() - started
        made = len(server.list("jobs", NS)) - 1
        client.close()
        return elapsed, made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    bare_s, bare_n = run_bare(args.jobs, args.concurrency)
    backend_s, backend_n = run_backend(args.jobs, args.concurrency)
    assert bare_n == args.jobs and backend_n == args.jobs, (bare_n, backend_n)
    backend_rate = backend_n / backend_s
    bare_rate = bare_n / bare_s
    print(f"{args.jobs} distinct jobs, concurrency {args.concurrency}, fake API server on 127.0.0.1")
    print(f"backend launch(): {backend_s:.2f} s (Secret + Job + owner patch per job)")
    print(f"bare create_namespaced_job: {bare_s:.2f} s (one call per job)")
    print(f"figure: k8s_launch_rate = {backend_rate:.0f} jobs/s")
    print(f"figure: bare_client_create_rate = {bare_rate:.0f} jobs/s")
    print(f"ratio: backend_vs_bare_create = {backend_rate / bare_rate:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
