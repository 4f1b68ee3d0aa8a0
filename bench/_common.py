"""Shared helpers for the HTTP benchmarks in bench/ (not a benchmark itself).

Servers on 127.0.0.1 only, each with its own fresh DATA_DIR in a temporary folder:
the embedded server (``python -m boardrun.server``) and a bare functions-framework
``hello`` endpoint as a baseline; a throw-away PostgreSQL database; a closed-loop
load generator (N client threads, a fixed number of requests, httpx with keep-alive);
percentiles; and the trivial board (boardrun.testing.boards.echo_board)
uploaded and frozen through the public API.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import httpx

from boardrun.testing.boards import echo_board

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
HOST = "127.0.0.1"


# -- numbers ------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))  # ceil(q/100 * n)
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values)


# -- processes ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Server:
    name: str
    base_url: str
    proc: subprocess.Popen
    log_path: Path
    workdir: Path
    _log_file: Any = field(default=None, repr=False)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then SIGKILL of its process group after `timeout`; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return self.proc.returncode


def _stat_cpu(pid: int) -> tuple[float, float] | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    utime, stime, cutime, cstime = (int(x) / tick for x in fields[11:15])
    return utime + stime, cutime + cstime


def process_cpu(pid: int) -> tuple[float, float] | None:
    """(own CPU seconds, CPU seconds of reaped descendants) of a process, from /proc
    (Linux); None where /proc is not available. Descendants count what the process
    reaped itself and what its live children reaped: the embedded server's executors
    are forked, and reaped, by its multiprocessing fork server."""
    own = _stat_cpu(pid)
    if own is None:
        return None
    reaped = own[1]
    children: list[str] = []
    # Each thread lists the children it started: the fork server is started from a
    # request thread, not the main one.
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += (task / "children").read_text().split()
        except OSError:
            pass
    for child in children:
        stat = _stat_cpu(int(child))
        if stat is not None:
            reaped += stat[1]
    return own[0], reaped


def gunicorn_worker_pid(server: "Server") -> int | None:
    """The (single) worker process under a gunicorn master, where the app and, in the
    embedded server, the broker, the dispatcher and the executor subprocesses live."""
    try:
        kids = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children").read_text().split()
    except OSError:
        return None
    return int(kids[0]) if len(kids) == 1 else None


def _wait_ready(server: Server, path: str, timeout: float, ready_status: int = 200) -> Server:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.proc.returncode}:\n{server.log()[-4000:]}")
        try:
            if httpx.get(server.base_url + path, timeout=1).status_code == ready_status:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop(timeout=5)
    raise RuntimeError(f"{server.name} not ready in {timeout}s:\n{server.log()[-4000:]}")


def _spawn(name: str, argv: list[str], env: dict[str, str], workdir: Path, port: int, ready_path: str,
           timeout: float, ready_status: int = 200) -> Server:
    log_path = workdir / f"{name}.log"
    log_file = open(log_path, "wb")
    proc = subprocess.Popen(argv, env=env, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            cwd=ROOT, start_new_session=True)
    server = Server(name, f"http://{HOST}:{port}", proc, log_path, workdir, log_file)
    return _wait_ready(server, ready_path, timeout, ready_status)


def start_embedded(workdir: Path, database_url: str | None = None, extra_env: dict[str, str] | None = None,
                   timeout: float = 60.0) -> Server:
    """`python -m boardrun.server` on a free port with a fresh DATA_DIR under `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    data_dir = workdir / "data"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("K_SINK", "DATABASE_URL", "STORAGE_URL", "BOARDRUN_ENV")}
    env.update({
        "PORT": str(port), "HOST": HOST, "DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url or f"sqlite:///{data_dir / 'boardrun.db'}",
        "STORAGE_URL": f"file://{data_dir / 'storage'}", "LOG_LEVEL": "WARNING",
    })
    env.update(extra_env or {})
    return _spawn("embedded", [sys.executable, "-m", "boardrun.server"], env, workdir, port, "/health/ready", timeout)


HELLO_SOURCE = '''\
import functions_framework


@functions_framework.http
def hello(request):
    return "Hello, World!"
'''


def start_hello(workdir: Path, timeout: float = 30.0) -> Server:
    """A bare functions-framework endpoint (its own gunicorn defaults), the baseline."""
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "hello.py"
    source.write_text(HELLO_SOURCE)
    port = free_port()
    exe = Path(sys.executable).with_name("functions-framework")
    argv = [str(exe) if exe.exists() else "functions-framework", "--source", str(source), "--target", "hello",
            "--host", HOST, "--port", str(port)]
    return _spawn("hello", argv, dict(os.environ), workdir, port, "/", timeout)


def functions_framework_argv(source: Path | str, target: str, port: int) -> list[str]:
    """`functions-framework --source … --target … --host 127.0.0.1 --port …` (the venv's own)."""
    exe = Path(sys.executable).with_name("functions-framework")
    return [str(exe) if exe.exists() else "functions-framework", "--source", str(source), "--target", target,
            "--host", HOST, "--port", str(port)]


def start_timed(name: str, argv: list[str], env: dict[str, str], workdir: Path, port: int, ready_path: str,
                timeout: float = 30.0, poll: float = 0.005) -> tuple[Server, float]:
    """Start a server process and poll `ready_path` every `poll` seconds; returns the
    running server and the seconds from process start to its first 200 (cold start)."""
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{name}.log"
    log_file = open(log_path, "ab")
    url = f"http://{HOST}:{port}{ready_path}"
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            cwd=ROOT, start_new_session=True)
    server = Server(name, f"http://{HOST}:{port}", proc, log_path, workdir, log_file)
    with httpx.Client(timeout=1.0) as probe:
        while True:
            elapsed = time.perf_counter() - started
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{server.log()[-4000:]}")
            if elapsed > timeout:
                server.stop(timeout=5)
                raise RuntimeError(f"{name} not ready in {timeout}s:\n{server.log()[-4000:]}")
            try:
                if probe.get(url).status_code == 200:
                    return server, time.perf_counter() - started
            except httpx.HTTPError:
                pass
            time.sleep(poll)


def temp_root(prefix: str) -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix=prefix)


# -- PostgreSQL ---------------------------------------------------------------


class PostgresDatabase:
    """CREATE DATABASE boardrun_bench_<random> on the machine's PostgreSQL; drop() WITH (FORCE)."""

    def __init__(self, admin_url: str = PG_ADMIN_URL, prefix: str = "boardrun_bench_"):
        from sqlalchemy import create_engine, text

        self._text = text
        self.name = f"{prefix}{uuid.uuid4().hex[:10]}"
        self._admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = admin_url.rsplit("/", 1)[0] + "/" + self.name

    def drop(self) -> None:
        with self._admin.connect() as conn:
            conn.execute(self._text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self._admin.dispose()


# -- load ---------------------------------------------------------------------


@dataclass
class LoadResult:
    wall: float  # seconds from the first request to the last answer
    latencies: list[float]  # seconds, successful requests only
    errors: dict[str, int]  # "status 500" / exception name -> count
    answers: list[Any]  # what `keep` returned per successful request

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.ok / self.wall if self.wall > 0 else 0.0


def closed_loop(base_url: str, threads: int, total: int, make_request: Callable[[httpx.Client, int], httpx.Response],
                expect: tuple[int, ...] = (200,), keep: Callable[[httpx.Response], Any] | None = None,
                timeout: float = 60.0) -> LoadResult:
    """`threads` clients (one keep-alive httpx.Client each) share `total` requests,
    each sending its next request as soon as the previous one is answered."""
    counter = iter(range(total))
    lock = threading.Lock()
    latencies: list[float] = []
    answers: list[Any] = []
    errors: dict[str, int] = {}
    start_gate = threading.Barrier(threads + 1)

    def worker() -> None:
        with httpx.Client(base_url=base_url, timeout=timeout) as client:
            start_gate.wait()
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                t0 = time.perf_counter()
                try:
                    r = make_request(client, i)
                except httpx.HTTPError as exc:
                    with lock:
                        errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                dt = time.perf_counter() - t0
                with lock:
                    if r.status_code in expect:
                        latencies.append(dt)
                        if keep is not None:
                            answers.append(keep(r))
                    else:
                        key = f"status {r.status_code}"
                        errors[key] = errors.get(key, 0) + 1

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    start_gate.wait()
    t0 = time.perf_counter()
    for t in pool:
        t.join()
    return LoadResult(time.perf_counter() - t0, latencies, errors, answers)


# -- the trivial board and an app to run it -------------------------------------

@dataclass
class App:
    base_url: str
    token: str
    app_id: str
    board_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _check(r: httpx.Response, *expected: int) -> httpx.Response:
    if r.status_code not in expected:
        raise RuntimeError(f"{r.request.method} {r.request.url} -> {r.status_code}: {r.text[:500]}")
    return r


def setup_app(base_url: str, board: dict[str, Any] | None = None) -> App:
    """Register, log in, create an app, upload the board and freeze it (a Minor version)."""
    board = board or echo_board()
    creds = {"email": f"bench-{uuid.uuid4().hex[:8]}@example.com", "password": "correct horse battery 1"}
    with httpx.Client(base_url=base_url, timeout=30) as http:
        _check(http.post("/api/v1/auth/register", json=creds), 201)
        token = _check(http.post("/api/v1/auth/login", json=creds), 200).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        app_id = _check(http.post("/api/v1/apps", json={"name": "Bench"}, headers=auth), 201).json()["id"]
        _check(http.put(f"/api/v1/apps/{app_id}/board/{board['id']}", json=board, headers=auth), 200, 201)
        _check(http.patch(f"/api/v1/apps/{app_id}/board/{board['id']}?version_type=Minor", headers=auth), 201)
    return App(base_url, token, app_id, board["id"])


if __name__ == "__main__":  # `make bench` runs every bench/*.py; this one only holds helpers
    print("bench/_common.py: shared helpers, nothing to measure")
