"""What the local backend keeps from an executor: the server's secrets (its environment),
the server's working directory, and (for other users of the machine) the data files."""

from __future__ import annotations

import os
import re
import stat
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, start_server, stop_server
from tests.jobs.conftest import Workspace, sign_in, slow_board

SECRETS = {
    "JOB_TOKEN_SECRET": "job-token-secret-value",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-value",
    "SOME_PASSWORD": "unrelated-secret-value",
}
PASSED = {
    "ENGINE_EXAMPLE_SETTING": "engine-value",
    "AI_EXAMPLE_SETTING": "ai-value",
    "OPENAI_API_KEY": "openai-value",
    "LISTED_FOR_BOARDS": "listed-value",
}


@pytest.fixture
def isolated(env):
    srv = start_server(
        {
            "DATA_DIR": str(env["data_dir"]), "DATABASE_URL": env["database_url"], "STORAGE_URL": os.environ["STORAGE_URL"],
            "ENGINE_ENV_ALLOWLIST": "LISTED_FOR_BOARDS, NOT_SET_ANYWHERE", **SECRETS, **PASSED,
        },
        env["tmp_path"] / "server.log",
    )
    client = srv.client()
    headers = sign_in(client, "iso@example.com")
    ws = Workspace(client, headers, client.post("/api/v1/apps", json={"name": "Iso"}, headers=headers).json()["id"])
    yield srv, ws
    client.close()
    stop_server(srv)


def _executor_pid(server, job_id: str) -> int:
    pattern = re.compile(rf"job {re.escape(job_id)}: executor started as pid (\d+)")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        match = pattern.search(server.log())
        if match:
            return int(match.group(1))
        time.sleep(0.05)
    raise AssertionError(f"no executor process for {job_id}")


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


def test_an_executor_gets_only_the_environment_it_needs_and_its_own_folder(isolated, env):
    """Regression: a local executor inherited the server's whole environment (secrets in
    /proc/<pid>/environ, its own and its fork server's) and ran in the repository. Now
    it has the allowlisted variables only, in a private temp folder removed afterwards."""
    server, ws = isolated
    ws.put_board("slow", slow_board(3))
    job_id = ws.submit("slow", payload={"x": 1}).json()["job_id"]
    ws.wait(job_id, statuses=("running",))
    pid = _executor_pid(server, job_id)
    fork_server = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])  # its parent
    for process in (pid, fork_server):
        environ = _environ(process)
        for name, value in SECRETS.items():
            assert name not in environ and value not in Path(f"/proc/{process}/environ").read_text(), (process, name)
        assert "DATABASE_URL" not in environ and "DATA_DIR" not in environ
        assert {k: environ.get(k) for k in PASSED} == PASSED and "NOT_SET_ANYWHERE" not in environ
    workdir = Path(os.readlink(f"/proc/{pid}/cwd"))
    assert workdir != ROOT and workdir.name.startswith(f"boardrun-{job_id}-")
    assert stat.S_IMODE(workdir.stat().st_mode) == 0o700
    assert ws.wait(job_id)["status"] == "completed"
    deadline = time.monotonic() + 10
    while workdir.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not workdir.exists()


def test_the_executor_environment_is_an_allowlist(env, monkeypatch):
    """executor_environment: PATH and locale, ENGINE_*/AI_*/OPENAI_*, the names in
    ENGINE_ENV_ALLOWLIST, AWS_* only when storage is S3, then the job's own variables."""
    from boardrun import services
    from boardrun.jobs.backends.local import executor_environment

    for name, value in {**SECRETS, **PASSED, "DATABASE_URL": "postgresql://u:p@db/x", "AWS_ACCESS_KEY_ID": "AKIA"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ENGINE_ENV_ALLOWLIST", "LISTED_FOR_BOARDS,,  ")
    services.reset()
    got = executor_environment({"JOB_ID": "job-1", "HOME": "/tmp/x"})
    assert {k: got.get(k) for k in PASSED} == PASSED and got["JOB_ID"] == "job-1" and got["PATH"] == os.environ["PATH"]
    assert got["ENGINE_ENV_ALLOWLIST"] == "LISTED_FOR_BOARDS,,  "
    assert not {"JOB_TOKEN_SECRET", "AWS_SECRET_ACCESS_KEY", "SOME_PASSWORD", "DATABASE_URL", "AWS_ACCESS_KEY_ID", "STORAGE_URL"} & set(got)
    monkeypatch.setenv("STORAGE_URL", "s3://bucket/prefix")
    services.reset()
    got = executor_environment()
    assert got["AWS_ACCESS_KEY_ID"] == "AKIA" and got["AWS_SECRET_ACCESS_KEY"] == "aws-secret-value"


def test_data_files_are_private_to_the_servers_user(isolated, env):
    """Regression: DATA_DIR, storage folders and the SQLite database were 0755/0644:
    any account on the machine could read every board, result and generated key."""
    server, ws = isolated
    ws.put_board("echo", slow_board(0))
    job_id = ws.submit("echo", payload={"x": 1}).json()["job_id"]
    ws.wait(job_id)
    data_dir = Path(env["data_dir"])
    storage = Path(os.environ["STORAGE_URL"][len("file://"):])
    folders = [data_dir, storage, *(p for p in storage.rglob("*") if p.is_dir()), *(p for p in data_dir.rglob("*") if p.is_dir())]
    files = [*(p for p in storage.rglob("*") if p.is_file()), *(p for p in data_dir.rglob("*") if p.is_file())]
    if env["database_url"].startswith("sqlite:///"):
        database = Path(env["database_url"][len("sqlite:///"):])
        files += [p for p in database.parent.glob(database.name + "*")]
    assert any(p.name == "spec.json" for p in files) and any(p.suffix == ".log" for p in files)
    assert {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in folders if stat.S_IMODE(p.stat().st_mode) != 0o700} == {}
    assert {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in files if stat.S_IMODE(p.stat().st_mode) != 0o600} == {}
