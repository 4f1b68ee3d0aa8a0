"""Accounts through the auth function: register, login, refresh rotation and reuse
detection, throttling, and 401s that say why."""

import time

import jwt
import pytest

from boardrun import services
from tests.conftest import function_client


@pytest.fixture
def auth(env):
    return function_client("auth")


def _register(client, email="ada@example.com", password="correct horse 1", **extra):
    return client.post("/api/v1/auth/register", json={"email": email, "password": password, **extra})


def _login(client, email="ada@example.com", password="correct horse 1"):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def test_register_then_login_returns_bearer_tokens(auth):
    """A new account can sign in and receives access and refresh tokens in the spec's shape."""
    assert _register(auth).status_code == 201
    r = _login(auth)
    assert r.status_code == 200
    body = r.get_json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900


def test_password_is_stored_as_argon2id(auth):
    """Passwords are hashed with argon2id, never stored in clear."""
    from sqlalchemy import select

    from boardrun.accounts.models import User
    from boardrun.db import session_scope

    _register(auth)
    with session_scope() as s:
        stored = s.scalar(select(User.password_hash))
    assert stored.startswith("$argon2id$") and "correct horse" not in stored


def test_register_does_not_reveal_existing_email(auth):
    """Registering a taken address answers exactly like a new one and leaves the old password working."""
    first = _register(auth)
    again = _register(auth, email="ADA@example.com", password="another password")
    assert (first.status_code, first.get_json()) == (again.status_code, again.get_json())
    assert _login(auth).status_code == 200
    assert _login(auth, password="another password").status_code == 401


def test_register_validates_fields(auth):
    """A bad e-mail, a short password and unknown fields are each named in a 422."""
    r = auth.post("/api/v1/auth/register", json={"email": "nope", "password": "short", "admin": True})
    assert r.status_code == 422
    assert {d["field"] for d in r.get_json()["error"]["details"]} == {"email", "password", "admin"}


def test_fields_ending_in_a_newline_are_refused(auth):
    """'$' matches before a final newline: an address or username ending in one is a 422 naming it."""
    for body, field in [({"email": "ada@example.com\n", "password": "correct horse 1"}, "email"),
                        ({"email": "ada@example.com", "password": "correct horse 1", "username": "ada_l\n"}, "username")]:
        r = auth.post("/api/v1/auth/register", json=body)
        assert r.status_code == 422, (body, r.get_data(as_text=True))
        assert field in {d["field"] for d in r.get_json()["error"]["details"]}


def test_login_failure_messages_are_identical(auth):
    """A wrong password and an unknown e-mail get the same 401 message."""
    _register(auth)
    wrong = _login(auth, password="wrong password")
    unknown = _login(auth, email="nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()


def test_repeated_failures_are_throttled(auth, monkeypatch):
    """After LOGIN_MAX_FAILURES bad passwords, sign-in answers 429 with Retry-After, even with the right password."""
    monkeypatch.setenv("LOGIN_MAX_FAILURES", "3")
    services.reset()
    _register(auth)
    for _ in range(3):
        assert _login(auth, password="wrong password").status_code == 401
    r = _login(auth)
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0


def test_refresh_rotates_and_reuse_revokes_family(auth):
    """Refresh returns a new pair; presenting the spent token revokes the whole family."""
    _register(auth)
    first = _login(auth).get_json()
    second = auth.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second = second.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    reuse = auth.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    # the family is revoked: the newest token no longer works either
    assert auth.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}).status_code == 401
    # another sign-in is a new family and works
    assert auth.post("/api/v1/auth/refresh", json={"refresh_token": _login(auth).get_json()["refresh_token"]}).status_code == 200


def test_unknown_refresh_token_is_401(auth):
    """A made-up refresh token is refused with 401 and WWW-Authenticate."""
    r = auth.post("/api/v1/auth/refresh", json={"refresh_token": "made-up"})
    assert r.status_code == 401 and "Bearer" in r.headers["WWW-Authenticate"]


def test_access_token_verification(env):
    """Tokens we issue verify; expired, tampered and foreign-key tokens are refused with a reason."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from boardrun.accounts.tokens import TokenError, issue_access_token, keys, verify_access_token

    token, _ = issue_access_token("usr-1")
    assert verify_access_token(token).user_id == "usr-1"
    expired = jwt.encode(
        {"iss": "boardrun", "sub": "u", "typ": "access", "iat": 1, "exp": int(time.time()) - 10, "jti": "x"},
        keys()[0], algorithm="EdDSA",
    )
    with pytest.raises(TokenError) as err:
        verify_access_token(expired)
    assert err.value.expired
    foreign = jwt.encode(
        {"iss": "boardrun", "sub": "u", "typ": "access", "iat": 1, "exp": int(time.time()) + 60, "jti": "x"},
        Ed25519PrivateKey.generate(), algorithm="EdDSA",
    )
    with pytest.raises(TokenError):
        verify_access_token(foreign)
    with pytest.raises(TokenError):
        verify_access_token(token[:-4] + "AAAA")


def test_signing_key_persists_in_embedded_mode(env):
    """In embedded mode the generated key is kept in DATA_DIR, so tokens survive a restart."""
    from boardrun.accounts.tokens import issue_access_token, verify_access_token

    token, _ = issue_access_token("usr-1")
    assert (env["data_dir"] / "signing-key.pem").exists()
    services.reset()  # as a new process would start
    assert verify_access_token(token).user_id == "usr-1"


def test_production_requires_a_signing_key(monkeypatch):
    """BOARDRUN_ENV=production never generates a key: signing fails clearly instead."""
    from boardrun.accounts.tokens import issue_access_token
    from boardrun.config import ConfigError

    monkeypatch.setenv("BOARDRUN_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/x.db")
    monkeypatch.setenv("STORAGE_URL", "file:///tmp/x")
    monkeypatch.delenv("AUTH_SIGNING_KEY", raising=False)
    monkeypatch.delenv("AUTH_SIGNING_KEY_FILE", raising=False)
    services.reset()
    with pytest.raises(ConfigError, match="AUTH_SIGNING_KEY"):
        issue_access_token("usr-1")
    monkeypatch.delenv("BOARDRUN_ENV")
    services.reset()
