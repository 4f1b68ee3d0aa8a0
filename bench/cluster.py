"""Benchmark: the `jobs` function as a cluster runs it (GitHub issue 14, target 2).

Knative serves each function with functions-framework; this runs `functions/jobs/main.py`
the same way (`functions-framework --source functions/jobs/main.py --target jobs`, its own
gunicorn defaults) on PostgreSQL (a throw-away ``boardrun_bench_<random>`` database on
127.0.0.1:5432, dropped WITH (FORCE)), publishing its job.submitted events to K_SINK: a
sink that answers 202 at once (a functions-framework function of its own, as a Knative
Broker's ingress would be), so the figure is the jobs function's own cost, not the
dispatcher's. The baseline is a bare functions-framework ``hello`` served the same way.

Set-up: the embedded server, on the same database, storage and DATA_DIR (so the same
signing keys), registers a user, creates an app and freezes the trivial board; it is
stopped before anything is measured.

Measured, in rounds that alternate hello and submit (other work on the machine shifts
both alike): N client threads (httpx, keep-alive) send a warm-up, then a fixed number of
requests; throughput and p50/p99 latency per round, and the median over the rounds.

Then it checks that nothing was lost: every accepted submit (202) is a job row, every
job id answered is a distinct row, and no job.submitted event is left unpublished in
the outbox (each reached the sink).

Ends with ``figure:`` and ``ratio:`` lines. Run: ``.venv/bin/python bench/cluster.py``
(about a minute) or ``--quick``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    ROOT,
    LoadResult,
    PostgresDatabase,
    Server,
    _spawn,
    closed_loop,
    free_port,
    functions_framework_argv,
    median,
    percentile,
    setup_app,
    start_embedded,
    start_hello,
    temp_root,
)

SINK_SOURCE = '''\
import functions_framework


@functions_framework.http
def sink(request):
    request.get_data()
    return "", 202
'''


def ms(seconds: float) -> float:
    return seconds * 1000.0


def load() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average {one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} CPUs"


def describe(label: str, result: LoadResult) -> None:
    lat = [ms(x) for x in result.latencies]
    print(f"  {label}: {result.ok} ok in {result.wall:.2f} s = {result.throughput:.1f} req/s; "
          f"p50 {percentile(lat, 50):.2f} ms, p99 {percentile(lat, 99):.2f} ms, max {max(lat):.1f} ms"
          + (f"; errors {result.errors}" if result.errors else ""))


def start_sink(workdir: Path) -> Server:
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "sink.py"
    source.write_text(SINK_SOURCE)
    port = free_port()
    return _spawn("sink", functions_framework_argv(source, "sink", port), dict(os.environ), workdir, port, "/", 30.0,
                  ready_status=202)


def start_jobs_function(workdir: Path, env: dict[str, str]) -> Server:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = functions_framework_argv(ROOT / "functions" / "jobs" / "main.py", "jobs", port)
    return _spawn("jobs", argv, env, workdir, port, "/health/ready", 60.0)


def outbox_and_jobs(database_url: str) -> tuple[int, int, int]:
    """(job rows, distinct job ids, job.submitted events not yet published)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT count(*), count(DISTINCT id) FROM jobs")).one()
            pending = conn.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL")).scalar_one()
    finally:
        engine.dispose()
    return rows[0], rows[1], pending


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests and rounds")
    parser.add_argument("--threads", type=int, default=8, help="client threads (8)")
    parser.add_argument("--rounds", type=int, default=None, help="hello/submit rounds (3; 2 with --quick)")
    args = parser.parse_args()
    warmup, total = (20, 150) if args.quick else (50, 400)
    rounds = args.rounds or (2 if args.quick else 3)
    threads = args.threads
    started = time.perf_counter()
    print(f"bench/cluster.py: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, {threads} client threads, "
          f"{rounds} rounds of {warmup} warm-up + {total} requests; {load()}")

    try:
        pg = PostgresDatabase()
    except Exception as exc:  # no PostgreSQL here: nothing to measure (the figures need it)
        print(f"  (PostgreSQL unavailable, skipped: {type(exc).__name__}: {exc})")
        return 0
    accepted = 0
    answered: list[str] = []
    hello_results: list[LoadResult] = []
    submit_results: list[LoadResult] = []
    try:
        with temp_root("boardrun-bench-cluster-") as tmp:
            root = Path(tmp)
            setup = start_embedded(root / "setup", pg.url)
            try:
                app = setup_app(setup.base_url)
            finally:
                setup.stop()
            sink = start_sink(root / "sink")
            data_dir = root / "setup" / "data"
            env = {k: v for k, v in os.environ.items() if k not in ("BOARDRUN_ENV",)}
            env.update({"DATA_DIR": str(data_dir), "DATABASE_URL": pg.url, "STORAGE_URL": f"file://{data_dir / 'storage'}",
                        "K_SINK": sink.base_url + "/", "LOG_LEVEL": "WARNING"})
            jobs = start_jobs_function(root / "jobs", env)
            body = {"app_id": app.app_id, "board_id": app.board_id, "payload": {"n": 1}}

            def post(client: httpx.Client, i: int) -> httpx.Response:
                return client.post("/jobs/submit", json=body, headers=app.headers)

            try:
                hello = start_hello(root / "hello")
                try:
                    for r in range(rounds):
                        print(f"\nround {r + 1}: {load()}")
                        closed_loop(hello.base_url, threads, warmup, lambda c, i: c.get("/"))
                        result = closed_loop(hello.base_url, threads, total, lambda c, i: c.get("/"))
                        describe("hello (functions-framework, GET /)", result)
                        hello_results.append(result)
                        accepted += closed_loop(jobs.base_url, threads, warmup, post, expect=(202,)).ok
                        result = closed_loop(jobs.base_url, threads, total, post, expect=(202,),
                                             keep=lambda resp: resp.json()["job_id"])
                        accepted += result.ok
                        answered += result.answers
                        describe("POST /jobs/submit (jobs function, PostgreSQL)", result)
                        submit_results.append(result)
                finally:
                    hello.stop()
            finally:
                jobs.stop()
                sink.stop()
            problems = [line for line in jobs.log().splitlines() if "ERROR" in line or "Traceback" in line]
    finally:
        rows, distinct, pending = outbox_and_jobs(pg.url)
        pg.drop()
        print(f"  (dropped database {pg.name})")

    hello_rate = median([r.throughput for r in hello_results])
    submit_rate = median([r.throughput for r in submit_results])
    submit_lat = [x for r in submit_results for x in r.latencies]
    hello_lat = [x for r in hello_results for x in r.latencies]
    errors = sum(sum(r.errors.values()) for r in submit_results)
    print(f"\nnothing lost: {accepted} submits accepted (202), {rows} job rows ({distinct} distinct), "
          f"{len(set(answered))} distinct job ids answered of {len(answered)}; "
          f"{pending} job.submitted event(s) left unpublished in the outbox; {errors} submit error(s)")
    lost = accepted != rows or rows != distinct or len(set(answered)) != len(answered) or pending
    if lost:
        print("  !! jobs or events were lost or duplicated")
    if problems:
        print(f"  !! {len(problems)} ERROR/traceback line(s) in the jobs function's log, first: {problems[:3]}")
    print(f"\nbench/cluster.py done in {time.perf_counter() - started:.0f} s; {load()}")
    print(f"figure: cluster_hello_throughput = {hello_rate:.1f} req/s")
    print(f"figure: cluster_hello_p99 = {ms(percentile(hello_lat, 99)):.2f} ms")
    print(f"figure: cluster_submit_throughput_postgresql = {submit_rate:.1f} req/s")
    print(f"figure: cluster_submit_p50_postgresql = {ms(percentile(submit_lat, 50)):.2f} ms")
    print(f"figure: cluster_submit_p99_postgresql = {ms(percentile(submit_lat, 99)):.2f} ms")
    print(f"figure: cluster_submit_lost = {0 if not lost else abs(accepted - rows) + pending} jobs")
    print(f"ratio: cluster_submit_vs_hello = {submit_rate / hello_rate:.3f}")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
