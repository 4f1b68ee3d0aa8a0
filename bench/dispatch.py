"""Dispatch throughput and the dispatcher's cold start, against the fake Kubernetes
API server (boardrun/testing/fake_kube.py, real HTTP on 127.0.0.1) through the real `kubernetes`
client.

Part 1: how many `launch()` calls per second the KubernetesBackend turns into Jobs.
Baseline in the same run: a bare `BatchV1Api.create_namespaced_job` loop with the
same Job manifests and the same concurrency (one API call per Job, no Secret, no
error mapping). The backend makes three calls per job with secret_env (create the
per-job Secret, create the Job, set the Secret's ownerReference), so a ratio near
1/3 means its own overhead is small. A fresh fake server for each measurement.

Part 2: end to end. The dispatcher runs as a real functions-framework process
(`functions-framework --source functions/dispatcher/main.py --target dispatcher`,
JOB_BACKEND=kubernetes, KUBECONFIG naming the fake, a migrated SQLite database in a
temporary folder). N job rows are written straight into the database, then N
binary-mode `job.submitted` CloudEvents are POSTed to /events by `--concurrency`
httpx clients; the figure is events per second turned into Kubernetes Jobs (every
one checked: a Job in the fake and `launched_at` set on the row). One warm-up event
first (imports, kubernetes client, connections). LOG_LEVEL=WARNING: no access log.

Part 3: cold start, process start → first 200 from /health/ready (polled every
5 ms), median of `--starts`, beside a bare functions-framework hello (first 200
from /) started the same way, alternating, in the same run.

Usage: .venv/bin/python bench/dispatch.py [--jobs 500] [--events 300] [--concurrency 8] [--starts 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import (  # noqa: E402
    HELLO_SOURCE,
    closed_loop,
    free_port,
    functions_framework_argv,
    median,
    start_timed,
)
from boardrun.jobs.backends.base import LaunchSpec  # noqa: E402
from boardrun.jobs.backends.kubernetes import KubernetesBackend, KubernetesConfig  # noqa: E402
from boardrun.testing.fake_kube import FakeKubeServer  # noqa: E402

NS = "flow-like-jobs"
IMAGE = "registry.example.com/boardrun:0.1.0"
DISPATCHER_SOURCE = ROOT / "functions" / "dispatcher" / "main.py"


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
        backend = KubernetesBackend(KubernetesConfig(image="registry.example.com/boardrun:0.1.0"), api_client=client)
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
        builder = KubernetesBackend(KubernetesConfig(image="registry.example.com/boardrun:0.1.0"), api_client=client)
        manifests = [builder.build_job(s) for s in specs(n, "job-c")]
        batch.create_namespaced_job(NS, builder.build_job(specs(1, "warm")[0]))
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(lambda m: batch.create_namespaced_job(NS, m), manifests))
        elapsed = time.perf_counter() - started
        made = len(server.list("jobs", NS)) - 1
        client.close()
        return elapsed, made


# -- part 2: job.submitted events → Kubernetes Jobs through the dispatcher process --


def _prepare_database(url: str, n: int, prefix: str) -> list[dict]:
    """Migrate, then write a user, an app and `n` queued job rows; returns the
    job.submitted event data for each (what POST /jobs/submit would have published)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    import boardrun.models  # noqa: F401  (every table, for the foreign keys)
    from boardrun.accounts.models import User
    from boardrun.apps.models import App
    from boardrun.db import migrate
    from boardrun.jobs.models import Job

    migrate(url)
    engine = create_engine(url)
    datas = []
    with Session(engine) as session:
        session.add(User(id="user-bench", email="bench@example.com"))
        session.flush()
        session.add(App(id="app-bench", name="Bench", created_by="user-bench"))
        session.flush()
        for i in range(n):
            job_id = f"{prefix}-{i:05d}"
            spec_key = f"jobs/{job_id}/spec.json"
            session.add(Job(id=job_id, app_id="app-bench", board_id="echo", version="0.1.0", node_id="start", mode="async",
                            status="queued", attempt=1, created_by="user-bench", spec_key=spec_key, deadline_seconds=600))
            datas.append({"job_id": job_id, "app_id": "app-bench", "board_id": "echo", "version": "0.1.0", "attempt": 1,
                          "spec": {"key": spec_key, "size_bytes": 200}, "deadline_seconds": 600})
        session.commit()
    engine.dispose()
    return datas


# The dispatcher verifies every job event's signature: the bench signs its events with
# the same secret it gives the dispatcher, as the jobs function would.
JOB_TOKEN_SECRET = "bench-job-token-secret"


def _submitted(data: dict):
    from boardrun.eventing import catalog
    from boardrun.eventing.cloudevents_adapter import Event, to_http_binary
    from boardrun import services
    from boardrun.config import get_settings
    from boardrun.jobs import signing

    if get_settings().jobs.token_secret != JOB_TOKEN_SECRET:  # sign as the dispatcher will verify
        os.environ["JOB_TOKEN_SECRET"] = JOB_TOKEN_SECRET
        services.reset()
    job_id = data["job_id"]
    event = Event(catalog.JOB_SUBMITTED, catalog.JOBS_SOURCE, data, subject=job_id,
                  extensions={catalog.EXT_JOB_ID: job_id, catalog.EXT_APP_ID: data["app_id"]})
    event = event.with_extensions(**{catalog.EXT_SIGNATURE: signing.sign(event, job_id, signing.job_token(job_id))})
    return to_http_binary(event)


def _dispatcher_env(tmp: Path, kube: FakeKubeServer, database_url: str) -> dict[str, str]:
    drop = ("K_SINK", "DATABASE_URL", "STORAGE_URL", "BOARDRUN_ENV", "KUBERNETES_SERVICE_HOST", "JOB_BACKEND")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update({
        "JOB_BACKEND": "kubernetes", "KUBECONFIG": str(kube.kubeconfig), "K8S_JOBS_NAMESPACE": NS,
        "EXECUTOR_IMAGE": IMAGE, "DATABASE_URL": database_url, "STORAGE_URL": f"file://{tmp / 'storage'}",
        "DATA_DIR": str(tmp / "data"), "LOG_LEVEL": "WARNING", "JOB_TOKEN_SECRET": JOB_TOKEN_SECRET,
    })
    return env


def run_events(n: int, concurrency: int) -> tuple[float, int, int, dict]:
    """(seconds, Jobs created, rows launched, errors) for `n` job.submitted events."""
    from sqlalchemy import create_engine, text

    with tempfile.TemporaryDirectory(prefix="bench-dispatch-") as tmp_name, FakeKubeServer(tmp_name) as kube:
        tmp = Path(tmp_name)
        url = f"sqlite:///{tmp / 'data' / 'boardrun.db'}"
        datas = _prepare_database(url, n + 1, "job-e")
        warm, work = datas[0], datas[1:]
        bodies = [_submitted(d) for d in work]
        port = free_port()
        server, _ = start_timed("dispatcher", functions_framework_argv(DISPATCHER_SOURCE, "dispatcher", port),
                                _dispatcher_env(tmp, kube, url), tmp, port, "/health/ready", timeout=60, poll=0.05)
        try:
            import httpx

            headers, body = _submitted(warm)
            r = httpx.post(server.base_url + "/events", content=body, headers=headers, timeout=30)
            if r.status_code != 200:
                raise RuntimeError(f"warm-up event answered {r.status_code}: {r.text[:300]}\n{server.log()[-3000:]}")
            result = closed_loop(server.base_url, concurrency, n,
                                 lambda client, i: client.post("/events", content=bodies[i][1], headers=bodies[i][0]))
        finally:
            server.stop()
        made = len(kube.list("jobs", NS)) - 1
        engine = create_engine(url)
        with engine.connect() as conn:
            launched = conn.execute(text("SELECT count(*) FROM jobs WHERE launched_at IS NOT NULL")).scalar_one() - 1
        engine.dispose()
        return result.wall, made, launched, result.errors


# -- part 3: cold start ---------------------------------------------------------


def run_cold_starts(starts: int) -> tuple[list[float], list[float]]:
    """Seconds to the first 200: the dispatcher (/health/ready) and a bare hello (/), alternating."""
    with tempfile.TemporaryDirectory(prefix="bench-coldstart-") as tmp_name, FakeKubeServer(tmp_name) as kube:
        tmp = Path(tmp_name)
        url = f"sqlite:///{tmp / 'data' / 'boardrun.db'}"
        _prepare_database(url, 0, "job-c")
        env = _dispatcher_env(tmp, kube, url)
        hello = tmp / "hello.py"
        hello.write_text(HELLO_SOURCE)
        dispatcher_s, hello_s = [], []
        for _ in range(starts):
            for name, source, target, path, out in (
                ("dispatcher", DISPATCHER_SOURCE, "dispatcher", "/health/ready", dispatcher_s),
                ("hello", hello, "hello", "/", hello_s),
            ):
                port = free_port()
                server, seconds = start_timed(name, functions_framework_argv(source, target, port),
                                              env if name == "dispatcher" else dict(os.environ), tmp, port, path)
                server.stop()
                out.append(seconds)
        return dispatcher_s, hello_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--starts", type=int, default=5)
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

    events_s, made, launched, errors = run_events(args.events, args.concurrency)
    assert made == args.events and launched == args.events and not errors, (made, launched, errors)
    print(f"{args.events} job.submitted events → dispatcher process (functions-framework, JOB_BACKEND=kubernetes, "
          f"SQLite) → fake API server, concurrency {args.concurrency}: {events_s:.2f} s, {made} Jobs created")

    print(f"end to end vs the backend's launch() alone: {made / events_s / backend_rate:.2f} "
          f"(the fake API server, in this process, bounds both)")

    dispatcher_s, hello_s = run_cold_starts(args.starts)
    d_ms, h_ms = median(dispatcher_s) * 1000, median(hello_s) * 1000
    print(f"cold start to first 200, {args.starts} starts each: dispatcher /health/ready "
          f"{', '.join(f'{x * 1000:.0f}' for x in dispatcher_s)} ms; bare hello / {', '.join(f'{x * 1000:.0f}' for x in hello_s)} ms")
    print(f"figure: dispatch_events_to_jobs = {made / events_s:.0f} events/s")
    print(f"figure: coldstart_dispatcher = {d_ms:.0f} ms")
    print(f"figure: coldstart_bare_hello = {h_ms:.0f} ms")
    print(f"ratio: dispatcher_vs_hello = {d_ms / h_ms:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
