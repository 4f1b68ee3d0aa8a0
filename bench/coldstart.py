"""Cold start: time from process start to the first 200, median of 5 runs each.

(a) the health function alone under functions-framework (/health/ready)
(b) the embedded server, `python -m boardrun.server`, fresh DATA_DIR each run (/health/ready)
(c) a bare functions-framework hello function, written to a temp file at run time (/)

Everything binds 127.0.0.1 only; every process is killed after its run.
Usage: .venv/bin/python bench/coldstart.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HELLO = '''import functions_framework


@functions_framework.http
def hello(request):
    return "hello"
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status == 200
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


def measure(cmd: list[str], url_path: str, env: dict[str, str], port: int, timeout: float = 60) -> float:
    """Milliseconds from Popen to the first 200 on url_path."""
    url = f"http://127.0.0.1:{port}{url_path}"
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    try:
        while time.perf_counter() - started < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd} exited with {proc.returncode} before answering")
            if _ok(url):
                return (time.perf_counter() - started) * 1000
            time.sleep(0.005)
        raise RuntimeError(f"{cmd} did not answer {url} within {timeout}s")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # our own process group only
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    ff = str(BIN / "functions-framework")
    work = Path(tempfile.mkdtemp(prefix="boardrun-coldstart-"))
    try:
        hello = work / "hello.py"
        hello.write_text(HELLO)
        base_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "STORAGE_URL", "DATA_DIR")}
        base_env["HOST"] = "127.0.0.1"
        # The health function needs a migrated database to be ready: one shared, prepared once.
        shared = work / "shared"
        health_env = {**base_env, "DATA_DIR": str(shared), "DATABASE_URL": f"sqlite:///{shared / 'boardrun.db'}",
                      "STORAGE_URL": f"file://{shared / 'storage'}"}  # fmt: skip
        subprocess.run([sys.executable, "-c", "from boardrun import db; db.migrate()"], env=health_env, cwd=ROOT, check=True)

        results: dict[str, list[float]] = {"health": [], "embedded": [], "hello": []}
        for run in range(args.runs):
            port = free_port()
            results["hello"].append(measure(
                [ff, "--source", str(hello), "--target", "hello", "--host", "127.0.0.1", "--port", str(port)],
                "/", {**base_env, "PORT": str(port)}, port))  # fmt: skip
            port = free_port()
            results["health"].append(measure(
                [ff, "--source", "functions/health/main.py", "--target", "health", "--host", "127.0.0.1", "--port", str(port)],
                "/health/ready", {**health_env, "PORT": str(port)}, port))  # fmt: skip
            fresh = work / f"embedded-{run}"
            port = free_port()
            results["embedded"].append(measure(
                [sys.executable, "-m", "boardrun.server"], "/health/ready",
                {**base_env, "DATA_DIR": str(fresh), "PORT": str(port)}, port))  # fmt: skip
            print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.0f} ms" for k, v in results.items()), flush=True)

        med = {k: statistics.median(v) for k, v in results.items()}
        print(f"figure: coldstart_health_function = {med['health']:.0f} ms")
        print(f"figure: coldstart_embedded_server = {med['embedded']:.0f} ms")
        print(f"figure: coldstart_bare_hello = {med['hello']:.0f} ms")
        print(f"ratio: health_vs_hello = {med['health'] / med['hello']:.2f}")
        print(f"ratio: embedded_vs_hello = {med['embedded'] / med['hello']:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
