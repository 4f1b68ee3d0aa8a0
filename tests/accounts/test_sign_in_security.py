"""Sign-in hardening: the throttle holds under a parallel burst and is keyed by address
and client; password hashing runs outside every transaction and the SQLite writer lock;
common and blank passwords are refused; no 422 quotes a secret; OAuth codes and states
stay out of the access log."""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from werkzeug.test import Client

from boardrun import services
from tests.conftest import start_server, stop_server


def _register(client, email="ada@example.com", password="correct horse 1"):
    return client.post("/api/v1/auth/register", json={"email": email, "password": password})


def _login(client, email="ada@example.com", password="correct horse 1", ip="192.0.2.1"):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password}, environ_base={"REMOTE_ADDR": ip})


# --- item 2: the throttle -------------------------------------------------------------------


def test_parallel_burst_of_wrong_passwords_checks_at_most_the_limit(env):
    """12 wrong passwords sent at once to the real server get at most LOGIN_MAX_FAILURES 401s, the rest 429, never a 500."""
    srv = start_server(
        {
            "DATA_DIR": str(env["data_dir"]),
            "DATABASE_URL": env["database_url"],
            "STORAGE_URL": os.environ["STORAGE_URL"],
            "LOGIN_MAX_FAILURES": "5",
        },
        env["tmp_path"] / "server.log",
    )
    try:
        with srv.client() as client:
            assert _register(client).status_code == 201
        start = threading.Barrier(12)

        def attempt(_):
            with httpx.Client(base_url=srv.base_url, timeout=60) as c:
                start.wait()
                return c.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": "wrong password"}).status_code

        with ThreadPoolExecutor(12) as pool:
            codes = list(pool.map(attempt, range(12)))
    finally:
        stop_server(srv)
    assert set(codes) <= {401, 429}, codes
    assert 1 <= codes.count(401) <= 5 and codes.count(429) >= 7, codes


@pytest.fixture
def api_limits(env, monkeypatch):
    monkeypatch.setenv("LOGIN_MAX_FAILURES", "2")
    monkeypatch.setenv("LOGIN_MAX_FAILURES_PER_ADDRESS", "4")
    services.reset()
    from boardrun.routing import full_router

    return Client(full_router().wsgi)


def test_one_client_cannot_lock_an_address_out_for_everyone(api_limits):
    """A client over its limit gets 429 while the owner, from another address, still signs in."""
    api = api_limits
    assert _register(api).status_code == 201
    assert [_login(api, password="wrong password", ip="198.51.100.7").status_code for _ in range(3)] == [401, 401, 429]
    assert _login(api, ip="192.0.2.1").status_code == 200


def test_the_per_address_ceiling_holds_across_clients(api_limits):
    """Failures from many clients add up to the larger per-address ceiling, after which even the right password gets 429."""
    api = api_limits
    assert _register(api).status_code == 201
    for ip in ("198.51.100.1", "198.51.100.2"):
        assert [_login(api, password="wrong password", ip=ip).status_code for _ in range(2)] == [401, 401]
    r = _login(api, ip="192.0.2.1")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0


def test_ipv6_clients_are_counted_per_64_prefix(api_limits):
    """Addresses of one IPv6 /64 share a counter: rotating the interface id does not buy more attempts."""
    api = api_limits
    assert _register(api).status_code == 201
    codes = [_login(api, password="wrong password", ip=f"2001:db8:1:2::{i}").status_code for i in range(1, 4)]
    assert codes == [401, 401, 429]


# --- item 6: hashing outside transactions and the writer lock --------------------------------


class _WatchingHasher:
    """Wraps the real argon2 hasher; at every hash or verify, a database request on
    another thread must run to completion and no connection may be checked out."""

    def __init__(self, real):
        self.real, self.calls, self.failures = real, 0, []

    def _probe(self, what):
        from sqlalchemy import text

        from boardrun import db

        self.calls += 1
        if db.get_engine().pool.checkedout():
            self.failures.append(f"{what}: a database connection is checked out")
        done = threading.Event()

        def request():
            with db.session_scope() as session:
                session.execute(text("SELECT 1"))
            done.set()

        worker = threading.Thread(target=request, daemon=True)
        worker.start()
        if not done.wait(10):  # a lock held by the hashing thread would keep it waiting
            self.failures.append(f"{what}: a database request could not run while hashing")

    def hash(self, password):
        self._probe("hash")
        return self.real.hash(password)

    def verify(self, stored, password):
        self._probe("verify")
        return self.real.verify(stored, password)

    def check_needs_rehash(self, stored):
        return self.real.check_needs_rehash(stored)


def test_password_hashing_runs_outside_transactions_and_the_writer_lock(api, monkeypatch):
    """While register and login hash or verify a password, another thread's database request completes and no connection is in use."""
    from boardrun.accounts import services

    watcher = _WatchingHasher(services._hasher)
    monkeypatch.setattr(services, "_hasher", watcher)
    assert _register(api).status_code == 201
    assert _login(api).status_code == 200
    assert _login(api, password="wrong password").status_code == 401
    assert _register(api).status_code == 201  # the taken-address path hashes too
    assert watcher.calls >= 4
    assert watcher.failures == []


# --- item 12: password policy, secrets in 422s, the access log -------------------------------


@pytest.mark.parametrize("password", ["password", "Baseball1", "qwertyuiop", "  1234567890  "])
def test_common_passwords_are_refused(api, password):
    """A password from the list of the most common ones (any case, padded or not) is refused with a 422 naming the field only."""
    r = _register(api, password=password)
    assert r.status_code == 422
    error = r.get_json()["error"]
    assert error["details"] == [{"field": "password", "message": "is one of the most commonly used passwords; choose another"}]
    assert error["message"] == "password: is one of the most commonly used passwords; choose another"


def test_whitespace_only_password_is_refused(api):
    """A password of spaces and tabs is refused; nothing is created."""
    r = _register(api, password=" \t " * 4)
    assert r.status_code == 422 and r.get_json()["error"]["details"][0]["field"] == "password"
    assert _login(api, password=" \t " * 4).status_code == 401


def test_a_strong_uncommon_password_is_accepted(api):
    """The policy refuses only listed and blank passwords: a long unusual one registers."""
    assert _register(api, password="violet lantern 9 over the quay").status_code == 201


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/auth/register", {"email": "ada@example.com", "password": "hunter2"}),
        ("/api/v1/auth/register", {"email": "ada@example.com", "password": ["hunter2-secret"]}),
        ("/api/v1/auth/login", {"email": "ada@example.com", "password": {"x": "hunter2-secret"}}),
        ("/api/v1/auth/refresh", {"refresh_token": ["hunter2-secret"]}),
        ("/api/v1/auth/register", {"email": "ada@example.com", "password": "hunter2-secret" * 100}),
    ],
)
def test_validation_errors_never_echo_a_secret(api, path, body):
    """A 422 about a password or token says what is wrong without quoting the value."""
    r = api.post(path, json=body)
    assert r.status_code == 422
    assert "hunter2" not in r.get_data(as_text=True)
    assert r.get_json()["error"]["details"][0]["message"]


def test_oauth_code_and_state_stay_out_of_the_access_log(api, caplog):
    """The callback's code and state values never reach the access log; the line still shows the path."""
    caplog.set_level(logging.INFO, logger="boardrun.access")
    api.get("/api/v1/oauth/nowhere/callback?code=SECRET-CODE-42&state=SECRET-STATE-42&lang=en")
    lines = [r.getMessage() for r in caplog.records if r.name == "boardrun.access"]
    assert len(lines) == 1
    assert "SECRET" not in lines[0]
    assert "/api/v1/oauth/nowhere/callback?code=[redacted]&state=[redacted]&lang=en" in lines[0]


def test_ended_throttle_windows_are_cleaned_up(api):
    """Rows left by attempts whose window has ended are deleted by later attempts, a batch at a time; open windows stay."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from boardrun.accounts.models import LoginThrottle
    from boardrun.accounts.services import HOUSEKEEPING_BATCH
    from boardrun.db import session_scope, utcnow

    old = utcnow() - timedelta(hours=1)
    with session_scope() as s:
        s.add_all(LoginThrottle(key=f"stale-{i}", failures=3, window_start=old) for i in range(HOUSEKEEPING_BATCH + 5))
    assert _login(api, email="nobody@example.com", password="wrong password").status_code == 401
    with session_scope() as s:
        stale = s.scalar(select(func.count()).select_from(LoginThrottle).where(LoginThrottle.key.like("stale-%")))
        assert stale == 5
        assert s.scalar(select(func.count()).select_from(LoginThrottle).where(LoginThrottle.window_start > old)) == 2
    _login(api, email="nobody@example.com", password="wrong password")
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(LoginThrottle).where(LoginThrottle.key.like("stale-%"))) == 0
