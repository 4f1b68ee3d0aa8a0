"""Sign-in with GitHub against a GitHub look-alike on 127.0.0.1 (authorize, token,
/user, /user/emails), configured through OAUTH_GITHUB_* base URLs."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from boardrun import services
from boardrun.accounts.models import User
from boardrun.accounts.tokens import verify_access_token
from boardrun.db import session_scope
from boardrun.oauth.models import OAuthIdentity
from tests.conftest import function_client, mailed_token
from tests.oauth.providers import GitHubProvider


@pytest.fixture
def github():
    provider = GitHubProvider().start()
    yield provider
    provider.stop()


@pytest.fixture
def auth(env, github, monkeypatch):
    monkeypatch.setenv("OAUTH_PROVIDERS", "github")
    monkeypatch.setenv("OAUTH_GITHUB_CLIENT_ID", github.client_id)
    monkeypatch.setenv("OAUTH_GITHUB_CLIENT_SECRET", github.client_secret)
    monkeypatch.setenv("OAUTH_GITHUB_AUTHORIZE_URL", f"{github.base_url}/login/oauth/authorize")
    monkeypatch.setenv("OAUTH_GITHUB_TOKEN_URL", f"{github.base_url}/login/oauth/access_token")
    monkeypatch.setenv("OAUTH_GITHUB_API_BASE_URL", f"{github.base_url}/api")
    services.reset()
    return function_client("auth")


def sign_in(auth):
    r = auth.get("/api/v1/oauth/github")
    assert r.status_code == 302
    start = urlsplit(r.headers["Location"])
    q = parse_qs(start.query)
    assert "nonce" not in q and q["code_challenge_method"] == ["S256"] and q["scope"] == ["read:user user:email"]
    back = httpx.get(r.headers["Location"], follow_redirects=False)
    assert back.status_code == 302
    url = urlsplit(back.headers["Location"])
    return auth.get(f"{url.path}?{url.query}")


def test_github_sign_in_creates_then_reuses_the_user(auth, github):
    """GitHub sign-in creates a user from the verified primary e-mail and finds the same user next time."""
    r = sign_in(auth)
    assert r.status_code == 200, r.get_data(as_text=True)
    user_id = verify_access_token(r.get_json()["access_token"]).user_id
    with session_scope() as s:
        user = s.get(User, user_id)
        assert (user.email, user.name, user.email_verified) == ("octo@example.com", "Octo Cat", True)
        ident = s.scalar(select(OAuthIdentity))
        assert (ident.provider, ident.subject) == ("github", "4242")
    again = sign_in(auth)
    assert verify_access_token(again.get_json()["access_token"]).user_id == user_id


def test_github_unverified_primary_email_gets_no_account(auth, github):
    """A GitHub account whose primary e-mail is unverified cannot create an account here (403)."""
    github.emails = [{"email": "octo@example.com", "primary": True, "verified": False}]
    r = sign_in(auth)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "email_not_verified"
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(User)) == 0


def test_github_verified_email_links_password_account(auth, github, caplog):
    """A verified password account with GitHub's verified primary e-mail is linked, not duplicated."""
    auth.post("/api/v1/auth/register", json={"email": "octo@example.com", "password": "correct horse 1"})
    token = mailed_token(caplog, "octo@example.com")
    assert auth.post("/api/v1/auth/verify-email", json={"token": token}).status_code == 200
    r = sign_in(auth)
    assert r.status_code == 200
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(User)) == 1


def test_github_is_not_linked_to_an_unverified_password_account(auth, github):
    """An unverified password account on GitHub's verified address is not linked (409), so a squatter gains nothing."""
    auth.post("/api/v1/auth/register", json={"email": "octo@example.com", "password": "squatter pass 77"})
    r = sign_in(auth)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "account_not_verified"
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(OAuthIdentity)) == 0


def test_github_api_failure_is_502(auth, github, monkeypatch):
    """When the GitHub API refuses the token, the sign-in fails with 502 naming the step."""
    monkeypatch.setenv("OAUTH_GITHUB_API_BASE_URL", f"{github.base_url}/missing")
    services.reset()
    r = sign_in(auth)
    assert r.status_code == 502
    assert "404" in r.get_json()["error"]["message"] and "user" in r.get_json()["error"]["message"]


def test_github_wrong_client_secret_is_502(auth, github, monkeypatch):
    """GitHub's 200-with-error answer to a bad client secret is reported as a refused exchange (502)."""
    monkeypatch.setenv("OAUTH_GITHUB_CLIENT_SECRET", "wrong")
    services.reset()
    r = sign_in(auth)
    assert r.status_code == 502 and "incorrect_client_credentials" in r.get_json()["error"]["message"]
