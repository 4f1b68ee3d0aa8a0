"""Shared fixtures: a fresh database per test on SQLite AND PostgreSQL, storage in a
temporary folder, clients for the full router and for single functions, and an
embedded server on a real port."""

from __future__ import annotations

import os
import threading
from email import message_from_bytes
from email.policy import default
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
import pytest
from sqlalchemy import create_engine, text
from werkzeug.test import Client

from boardrun import db, services

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BACKENDS = [b.strip() for b in os.environ.get("TEST_DB_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]


def _pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """One migrated SQLite file, copied for every test (migrating each time is slow)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    db.migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database():
    """A database of our own on the machine's PostgreSQL, dropped at the end of the run."""
    name = f"boardrun_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = _pg_url(name)
    db.migrate(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'")
            )
        ]
        if tables:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path, sqlite_template) -> str:
    if request.param == "sqlite":
        path = tmp_path / "boardrun.db"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_database")
    _truncate_postgres(url)
    return url


@pytest.fixture(autouse=True)
def fresh_services():
    """Every test starts and ends with the services of the environment as it is then (the
    teardown runs after monkeypatch has restored it). A test that changes the environment
    itself calls `services.reset()` after the change."""
    services.reset()
    yield
    services.reset()


@pytest.fixture
def env(monkeypatch, tmp_path, database_url):
    """Configure the library for one test: its own database, data dir and storage."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("STORAGE_URL", f"file://{tmp_path / 'storage'}")
    monkeypatch.delenv("BOARDRUN_ENV", raising=False)
    services.reset()
    yield {"data_dir": tmp_path / "data", "database_url": database_url, "tmp_path": tmp_path}


@pytest.fixture
def api(env) -> Client:
    """A client of the full routes table (every function), as the embedded server serves it."""
    from boardrun.routing import full_router

    return Client(full_router().wsgi)


def function_client(function: str):
    """A client of one function through functions-framework's own app, as Knative runs it."""
    import functions_framework

    app = functions_framework.create_app(
        target=function, source=str(ROOT / "functions" / function / "main.py"), signature_type="http"
    )
    return app.test_client()


def register_and_login(client, email: str | None = None, password: str = "correct horse 1") -> dict:
    """Create an account and return {'headers': {...}, 'email', 'tokens', 'user_id'}."""
    email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
    r = client.post("/api/v1/auth/register", json={"email": email, "password": password})
    assert r.status_code == 201, r.get_data(as_text=True)
    r = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.get_data(as_text=True)
    tokens = r.get_json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = client.get("/api/v1/user", headers=headers)
    user_id = me.get_json()["id"] if me.status_code == 200 else None
    return {"headers": headers, "email": email, "tokens": tokens, "user_id": user_id, "password": password}


def mailed_token(caplog, to: str) -> str:
    """The newest verification token the embedded-mode log mailer wrote for `to`."""
    for record in reversed(caplog.records):
        if record.name == "boardrun.mail" and record.args and record.args[0] == to:
            match = re.search(r"Verification token: (\S+)", record.getMessage())
            if match:
                return match.group(1)
    raise AssertionError(f"no verification mail to {to} in the log")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedServer:
    def __init__(self, base_url: str, proc: subprocess.Popen, log_path: Path):
        self.base_url, self.proc, self.log_path = base_url, proc, log_path

    def client(self, **kw) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30, **kw)

    def log(self) -> str:
        return self.log_path.read_text()


def start_server(env_vars: dict[str, str], log_path: Path, timeout: float = 30) -> EmbeddedServer:
    port = free_port()
    full_env = {**os.environ, **env_vars, "PORT": str(port), "HOST": "127.0.0.1"}
    log_file = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "boardrun.server"], env=full_env, stdout=log_file, stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log_path.read_text()}")
        try:
            if httpx.get(base + "/health/ready", timeout=1).status_code == 200:
                return EmbeddedServer(base, proc, log_path)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server not ready in {timeout}s: {log_path.read_text()}")


def stop_server(server: EmbeddedServer) -> int:
    server.proc.terminate()
    try:
        return server.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        return server.proc.wait()


@pytest.fixture
def server(env):
    """The embedded server (`python -m boardrun.server`) on a free port of 127.0.0.1."""
    srv = start_server(
        {"DATA_DIR": str(env["data_dir"]), "DATABASE_URL": env["database_url"], "STORAGE_URL": os.environ["STORAGE_URL"]},
        env["tmp_path"] / "server.log",
    )
    yield srv
    stop_server(srv)


class _Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self):
        self.messages, self.subjects, self.arrived = [], [], threading.Event()

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=default)
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, message.get_content()))
        self.subjects.append(message["Subject"])
        self.arrived.set()
        return "250 OK"


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that accepts the login mailer/mail-secret:
    (controller, inbox, logins)."""
    inbox, logins = _Inbox(), []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.login == b"mailer" and auth_data.password == b"mail-secret")

    controller = Controller(
        inbox, hostname="127.0.0.1", port=free_port(), authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    yield controller, inbox, logins
    controller.stop()
