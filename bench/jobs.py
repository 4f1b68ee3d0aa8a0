"""Benchmark: the jobs pipeline over real HTTP (GitHub issue 4).

Everything runs on 127.0.0.1; the script starts and stops its own servers, each with a
fresh DATA_DIR in a temporary folder: the embedded server (``python -m boardrun.server``:
every function on one port, the in-process broker, the local job backend that starts
one executor subprocess per job, the periodic tick) and, as the baseline, a bare
functions-framework ``hello`` endpoint (its own gunicorn defaults).

The board is the trivial one: events_generic → events_generic_return_result (the run
returns its payload), uploaded and frozen through the API like a user would.

(a) ``POST /jobs/submit`` (async) throughput and p50/p99 latency: N client threads
    (httpx, keep-alive), a warm-up, then a fixed number of requests; on SQLite and on
    PostgreSQL (a throw-away ``boardrun_bench_<random>`` database, dropped WITH (FORCE)),
    beside the hello endpoint measured the same way in the same run. The submitted
    jobs are real: they are dispatched and run in the background (JOB_CONCURRENCY
    executors at a time) while the submits are being measured, on the same CPUs.
(b) Per-job overhead the way Windmill's engine benchmark measures it: 40 jobs of the
    trivial board one after another, each ``mode: "sync"``; median and p90 wall time per
    job, with the server-side split (submit → started → completed → answered), beside
    the peers' published figures (context only: not measured here, other hardware,
    their tasks include ~10 ms of fibo(10) work).
(c) A burst: 500 async jobs submitted at once from several threads, then polled until
    every one is terminal (bounded wait): time until all are done, jobs per second,
    completed / failed counts, and whether every job completed with its own payload as its result.

Ends with ``figure: <name> = <value> <unit>`` and ``ratio: <name> = <value>`` lines.
Run: ``.venv/bin/python bench/jobs.py`` (about 5-6 minutes on 2 idle CPUs; the burst wait is
bounded by ``--burst-wait``, 240 s) or ``--quick`` (about 2 minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    App,
    LoadResult,
    PostgresDatabase,
    Server,
    closed_loop,
    gunicorn_worker_pid,
    median,
    percentile,
    process_cpu,
    setup_app,
    start_embedded,
    start_hello,
    temp_root,
)

TERMINAL = {"completed", "failed", "cancelled"}

# Published figures (Windmill's 2025 engine benchmark, 40 lightweight fibo(10) tasks in
# sequence, 1 worker, docker-compose; per-task overhead derived as total/40 - ~10 ms of
# work; /work/shared/research/peers.md §5.1 and §5.11). Context only: NOT measured here.
PUBLISHED_PER_TASK_MS = [("Hatchet", 21), ("Windmill (dedicated worker)", 42), ("Temporal", 64)]


def ms(seconds: float) -> float:
    return seconds * 1000.0


def parse_time(value: str | None) -> float | None:
    """The API's RFC 3339 UTC timestamps (…T12:00:00.000Z) → epoch seconds."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def load() -> str:
    """The machine's load average: other work on these CPUs skews every figure here."""
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average {one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} CPUs"


def server_problems(server: Server) -> list[str]:
    """ERROR/CRITICAL lines and tracebacks in a server's log (access lines excluded)."""
    lines = server.log().splitlines()
    return [line for line in lines if re.search(r"\b(ERROR|CRITICAL)\b|Traceback", line) and "boardrun.access" not in line]


def report_problems(server: Server, label: str) -> int:
    problems = server_problems(server)
    if problems:
        print(f"  !! {label}: {len(problems)} ERROR/traceback line(s) in the server log, first ones:")
        for line in problems[:5]:
            print(f"     {line[:300]}")
    return len(problems)


def submit_body(app: App, i: int, mode: str = "async") -> dict[str, Any]:
    return {"app_id": app.app_id, "board_id": app.board_id, "payload": {"n": i}, "mode": mode}


def describe(label: str, result: LoadResult) -> None:
    lat = [ms(x) for x in result.latencies]
    print(
        f"  {label}: {result.ok} ok in {result.wall:.2f} s = {result.throughput:.1f} req/s; "
        f"p50 {percentile(lat, 50):.2f} ms, p90 {percentile(lat, 90):.2f} ms, p99 {percentile(lat, 99):.2f} ms, "
        f"max {max(lat):.1f} ms" + (f"; errors {result.errors}" if result.errors else "")
    )


# -- (a) submit throughput ------------------------------------------------------


def measure_hello(root: Path, threads: int, warmup: int, total: int) -> LoadResult:
    server = start_hello(root / "hello")
    try:
        closed_loop(server.base_url, threads, warmup, lambda c, i: c.get("/"))
        result = closed_loop(server.base_url, threads, total, lambda c, i: c.get("/"))
    finally:
        server.stop()
    describe("hello (functions-framework, GET /)", result)
    return result


def measure_submit(root: Path, label: str, database_url: str | None, threads: int, warmup: int, total: int,
                   job_concurrency: int) -> tuple[LoadResult, int]:
    # The jobs left queued when it stops are discarded: a short grace makes the stop quick.
    server = start_embedded(root / f"submit-{label}", database_url,
                            {"JOB_CONCURRENCY": str(job_concurrency), "JOB_CANCEL_GRACE_SECONDS": "1"})
    try:
        app = setup_app(server.base_url)

        def post(client: httpx.Client, i: int) -> httpx.Response:
            return client.post("/jobs/submit", json=submit_body(app, i), headers=app.headers)

        closed_loop(server.base_url, threads, warmup, post, expect=(202,))
        result = closed_loop(server.base_url, threads, total, post, expect=(202,), keep=lambda r: r.json()["job_id"])
        # How far the background had got when the measurement ended (a sample of the last 20).
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            sample = [http.get(f"/jobs/{j}", headers=app.headers).json()["status"] for j in result.answers[-20:]]
        describe(f"POST /jobs/submit on {label}", result)
        print(f"    (background: {warmup + total} jobs submitted, JOB_CONCURRENCY={job_concurrency} executors at a time; "
              f"of the last 20 submitted, {sum(s in TERMINAL for s in sample)} already terminal at the end)")
        problems = report_problems(server, f"submit/{label}")
    except BaseException:
        print(f"  !! aborted; the embedded server's log ends:\n{server.log()[-4000:]}")
        raise
    finally:
        server.stop()
    return result, problems


# -- (b) per-job overhead -------------------------------------------------------


def measure_sync(app: App, count: int, warmup: int) -> dict[str, Any]:
    walls: list[float] = []
    queue_to_start: list[float] = []  # created_at → started_at (dispatch, launch, executor start)
    start_to_done: list[float] = []  # started_at → completed_at (run, completion event)
    done_to_answer: list[float] = []  # completed_at → the client has the answer (sync wait poll)
    bad: list[str] = []
    with httpx.Client(base_url=app.base_url, timeout=120) as http:
        for i in range(warmup + count):
            t0 = time.perf_counter()
            r = http.post("/jobs/submit", json=submit_body(app, i, "sync"), headers=app.headers)
            wall, w1 = time.perf_counter() - t0, time.time()
            body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
            ok = r.status_code == 200 and body.get("status") == "completed" and body.get("result") == {"n": i}
            if i < warmup:
                continue
            if not ok:
                bad.append(f"{r.status_code} {str(body)[:200]}")
                continue
            walls.append(wall)
            created, started, completed = (parse_time(body.get(k)) for k in ("created_at", "started_at", "completed_at"))
            if created and started and completed:
                queue_to_start.append(started - created)
                start_to_done.append(completed - started)
                done_to_answer.append(w1 - completed)
    return {"walls": walls, "queue_to_start": queue_to_start, "start_to_done": start_to_done,
            "done_to_answer": done_to_answer, "bad": bad}


# -- (c) burst ------------------------------------------------------------------


def measure_burst(app: App, count: int, threads: int, wait_seconds: float) -> dict[str, Any]:
    t0 = time.perf_counter()
    # Each answer kept with the payload number its request sent: every job must return its own.
    submitted = closed_loop(app.base_url, threads, count, lambda c, i: c.post("/jobs/submit", json=submit_body(app, i),
                                                                             headers=app.headers),
                            expect=(202,), keep=lambda r: (r.json()["job_id"], json.loads(r.request.content)["payload"]))
    payloads = dict(submitted.answers)
    submit_wall = time.perf_counter() - t0
    pending = [job_id for job_id, _ in submitted.answers]  # submission order ≈ launch order
    final: dict[str, dict[str, Any]] = {}
    polls = 0
    last_done = t0
    deadline = t0 + wait_seconds
    with httpx.Client(base_url=app.base_url, timeout=30) as http:

        def fetch(job_id: str) -> dict[str, Any]:
            nonlocal polls
            polls += 1
            return http.get(f"/jobs/{job_id}", headers=app.headers).json()

        # Sweep in submission order and stop at the first job still running: jobs start
        # in launch order, so this keeps the polling load small while the burst runs.
        while pending and time.perf_counter() < deadline:
            still: list[str] = []
            for n, job_id in enumerate(pending):
                body = fetch(job_id)
                if body.get("status") in TERMINAL:
                    final[job_id] = body
                    last_done = time.perf_counter()
                else:
                    still = pending[n:]
                    break
            pending = still
            if pending:
                time.sleep(0.1)
        if pending:  # timed out: classify what is left
            for job_id in pending:
                final[job_id] = fetch(job_id)
    statuses: dict[str, int] = {}
    errors: dict[str, int] = {}
    for body in final.values():
        statuses[body.get("status", "?")] = statuses.get(body.get("status", "?"), 0) + 1
        if body.get("status") == "failed":
            code = (body.get("error") or {}).get("code", "?")
            errors[code] = errors.get(code, 0) + 1
    wrong = [job_id for job_id, body in final.items() if body.get("status") == "completed"
             and body.get("result") != payloads[job_id]]
    created = [parse_time(b.get("created_at")) for b in final.values()]
    completed = [parse_time(b.get("completed_at")) for b in final.values() if b.get("status") in TERMINAL]
    server_span = (max(completed) - min(c for c in created if c)) if completed and any(created) else None
    timed_out = any(b.get("status") not in TERMINAL for b in final.values())
    total = (time.perf_counter() - t0) if timed_out else (last_done - t0)
    return {"submitted": submitted, "submit_wall": submit_wall, "total": total, "statuses": statuses,
            "errors": errors, "server_span": server_span, "timed_out": timed_out, "polls": polls,
            "wrong_result": len(wrong), "distinct_ids": len(set(payloads)), "accepted": len(submitted.answers)}


# -- main -------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (a smoke run, about 2 minutes)")
    parser.add_argument("--threads", type=int, default=8, help="client threads for (a) and the burst submit (8)")
    parser.add_argument("--job-concurrency", type=int, default=int(os.environ.get("JOB_CONCURRENCY", "4")),
                        help="JOB_CONCURRENCY of the embedded servers: executors at a time (4, the product default)")
    parser.add_argument("--burst-wait", type=float, default=None,
                        help="longest wait for the burst to finish, seconds (240; 120 with --quick)")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL submit measurement")
    args = parser.parse_args()

    if args.quick:
        warmup, total, sync_count, burst_count, burst_wait = 20, 100, 10, 100, 120.0
    else:
        warmup, total, sync_count, burst_count, burst_wait = 50, 400, 40, 500, 240.0
    if args.burst_wait is not None:
        burst_wait = args.burst_wait
    threads, jc = args.threads, args.job_concurrency
    figures: list[str] = []
    ratios: list[str] = []
    problems = 0
    started = time.perf_counter()
    print(f"bench/jobs.py: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, {threads} client threads, "
          f"JOB_CONCURRENCY={jc}{' (quick)' if args.quick else ''}; {load()}")

    with temp_root("boardrun-bench-jobs-") as tmp:
        root = Path(tmp)

        # (a) ------------------------------------------------------------------
        print(f"\n(a) POST /jobs/submit (async), {threads} threads, {warmup} warm-up + {total} measured requests each; "
              f"{load()}")
        hello = measure_hello(root, threads, warmup, total)
        figures.append(f"figure: hello_throughput = {hello.throughput:.1f} req/s")
        figures.append(f"figure: hello_p50 = {ms(percentile(hello.latencies, 50)):.2f} ms")
        figures.append(f"figure: hello_p99 = {ms(percentile(hello.latencies, 99)):.2f} ms")

        backends: list[tuple[str, str | None]] = [("sqlite", None)]
        pg: PostgresDatabase | None = None
        if not args.no_postgres:
            try:
                pg = PostgresDatabase()
                backends.append(("postgresql", pg.url))
            except Exception as exc:  # no PostgreSQL here: say so, measure SQLite only
                print(f"  (PostgreSQL unavailable, skipped: {type(exc).__name__}: {exc})")
        try:
            for label, url in backends:
                result, n = measure_submit(root, label, url, threads, warmup, total, jc)
                problems += n
                figures.append(f"figure: submit_throughput_{label} = {result.throughput:.1f} req/s")
                figures.append(f"figure: submit_p50_{label} = {ms(percentile(result.latencies, 50)):.2f} ms")
                figures.append(f"figure: submit_p99_{label} = {ms(percentile(result.latencies, 99)):.2f} ms")
                ratios.append(f"ratio: submit_{label}_vs_hello = {result.throughput / hello.throughput:.3f}")
                ratios.append(f"ratio: submit_p50_{label}_vs_hello_p50 = "
                              f"{percentile(result.latencies, 50) / percentile(hello.latencies, 50):.1f}")
                if result.errors:
                    problems += sum(result.errors.values())
        finally:
            if pg is not None:
                pg.drop()
                print(f"  (dropped database {pg.name})")

        # (b) and (c) on one fresh embedded server (SQLite, the embedded default) ------
        server = start_embedded(root / "jobs", None, {"JOB_CONCURRENCY": str(jc)})
        try:
            app = setup_app(server.base_url)

            print(f"\n(b) per-job overhead: {sync_count} sync jobs of the trivial board, one after another "
                  f"(SQLite, 3 warm-up jobs not counted); {load()}")
            sync = measure_sync(app, sync_count, warmup=3)
            walls = sync["walls"]
            if sync["bad"]:
                problems += len(sync["bad"])
                print(f"  !! {len(sync['bad'])} sync job(s) did not complete: {sync['bad'][:3]}")
            if walls:
                print(f"  wall per job: median {ms(median(walls)):.1f} ms, p90 {ms(percentile(walls, 90)):.1f} ms, "
                      f"min {ms(min(walls)):.1f} ms, max {ms(max(walls)):.1f} ms; {len(walls)} jobs in {sum(walls):.2f} s")
                for key, what in (("queue_to_start", "submitted -> started (dispatch, spawn, executor start)"),
                                  ("start_to_done", "started -> completed (run, completion event)"),
                                  ("done_to_answer", "completed -> sync answer received (sync wait poll)")):
                    if sync[key]:
                        print(f"    median {what}: {ms(median(sync[key])):.1f} ms")
                print("  published figures for context (NOT measured here; Windmill's 2025 benchmark, 40 x fibo(10),")
                print("  1 worker, docker-compose, per-task overhead = total/40 - ~10 ms work; research/peers.md §5.1):")
                for name, value in PUBLISHED_PER_TASK_MS:
                    print(f"    published: {name} ~{value} ms per task")
                figures.append(f"figure: per_job_overhead_median = {ms(median(walls)):.1f} ms")
                figures.append(f"figure: per_job_overhead_p90 = {ms(percentile(walls, 90)):.1f} ms")
                figures.append(f"figure: sync_{len(walls)}_jobs_total = {sum(walls):.2f} s")

            worker = gunicorn_worker_pid(server)
            cpu_before = process_cpu(worker) if worker else None
            print(f"\n(c) burst: {burst_count} async jobs submitted at once from {threads} threads, "
                  f"polled until all are terminal (at most {burst_wait:.0f} s; SQLite, JOB_CONCURRENCY={jc}); {load()}")
            burst = measure_burst(app, burst_count, threads, burst_wait)
            sub: LoadResult = burst["submitted"]
            n_ok = sub.ok
            print(f"  submitted {n_ok}/{burst_count} in {burst['submit_wall']:.2f} s "
                  f"({sub.throughput:.1f} req/s)" + (f"; submit errors {sub.errors}" if sub.errors else ""))
            print(f"  statuses: {burst['statuses']}" + (f"; failure codes {burst['errors']}" if burst["errors"] else ""))
            print(f"  nothing lost: {burst['accepted']} accepted under {burst['distinct_ids']} distinct ids; "
                  f"{burst['wrong_result']} completed with a result other than their own payload")
            if burst["wrong_result"] or burst["distinct_ids"] != burst["accepted"]:
                print("  !! jobs were lost, merged or given another job's result")
                problems += burst["wrong_result"] + burst["accepted"] - burst["distinct_ids"]
            span = (f"server view (first created -> last completed) {burst['server_span']:.2f} s"
                    if burst["server_span"] is not None else "")
            if burst["timed_out"]:
                terminal = sum(v for k, v in burst["statuses"].items() if k in TERMINAL)
                print(f"  !! TIMED OUT: only {terminal}/{burst_count} jobs terminal after {burst['total']:.2f} s "
                      f"({burst['polls']} status polls); {span}")
            else:
                print(f"  all terminal after {burst['total']:.2f} s (client view, {burst['polls']} status polls); {span}")
            done = burst["statuses"].get("completed", 0)
            cpu_after = process_cpu(worker) if worker else None
            if cpu_before and cpu_after and done and not burst["timed_out"]:
                server_cpu = (cpu_after[0] - cpu_before[0]) / burst_count
                executor_cpu = (cpu_after[1] - cpu_before[1]) / burst_count
                print(f"  CPU per job (from /proc): server process {ms(server_cpu):.1f} ms (submit, broker, dispatcher, "
                      f"status polls), executor processes {ms(executor_cpu):.1f} ms; {os.cpu_count()} CPUs in all")
                figures.append(f"figure: server_cpu_per_job = {ms(server_cpu):.1f} ms")
                figures.append(f"figure: executor_cpu_per_job = {ms(executor_cpu):.1f} ms")
            failed = burst["statuses"].get("failed", 0) + burst["statuses"].get("cancelled", 0)
            problems += failed + (burst_count - n_ok)
            figures.append(f"figure: burst_{burst_count}_total = {burst['total']:.2f} s"
                           + (f" (TIMED OUT with {done}/{burst_count} completed)" if burst["timed_out"] else ""))
            figures.append(f"figure: burst_{burst_count}_rate = {done / burst['total']:.2f} jobs/s")
            figures.append(f"figure: burst_{burst_count}_submit_throughput = {sub.throughput:.1f} req/s")
            figures.append(f"figure: burst_{burst_count}_completed = {done} jobs")
            figures.append(f"figure: burst_{burst_count}_failed = {failed} jobs")
            lost = burst_count - done
            figures.append(f"figure: burst_{burst_count}_not_completed_with_own_result = {lost + burst['wrong_result']} jobs")
            problems += report_problems(server, "sync + burst")
        except BaseException:
            print(f"  !! aborted; the embedded server's log ends:\n{server.log()[-4000:]}")
            raise
        finally:
            code = server.stop()
            if code != 0:
                print(f"  !! the embedded server exited with {code}")

    print(f"\nbench/jobs.py done in {time.perf_counter() - started:.0f} s; {load()}; "
          f"note: in (a) the submitted jobs also ran in the background during the measurement "
          f"(JOB_CONCURRENCY={jc}), competing for the same {os.cpu_count()} CPUs as the server and the client.")
    for line in figures + ratios:
        print(line)
    if problems:
        print(f"(problems seen: {problems}; see the '!!' lines above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
