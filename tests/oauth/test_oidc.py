"""Sign-in with an OpenID Connect provider, end to end against a real issuer on
127.0.0.1: redirect with state, nonce and PKCE; code exchange; ID token checks;
linking and creating users; and every way the flow must fail."""

from __future__ import annotations

import os
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc.jwk import RSAKey
from sqlalchemy import func, select

from boardrun import services
from boardrun.accounts.models import User
from boardrun.accounts.tokens import verify_access_token
from boardrun.db import session_scope
from boardrun.oauth.models import OAuthIdentity, OAuthState
from boardrun.users.models import Profile
from tests.conftest import function_client, mailed_token, start_server, stop_server
from tests.oauth.providers import OIDCProvider


@pytest.fixture
def idp():
    provider = OIDCProvider().start()
    yield provider
    provider.stop()


@pytest.fixture
def auth(env, idp, monkeypatch):
    monkeypatch.setenv("OAUTH_PROVIDERS", "test")
    monkeypatch.setenv("OAUTH_TEST_DISCOVERY_URL", idp.discovery_url)
    monkeypatch.setenv("OAUTH_TEST_CLIENT_ID", idp.client_id)
    monkeypatch.setenv("OAUTH_TEST_CLIENT_SECRET", idp.client_secret)
    monkeypatch.setenv("OAUTH_TEST_DISPLAY_NAME", "Test IdP")
    services.reset()
    return function_client("auth")


def authorize(auth, provider="test") -> str:
    """Start the sign-in and let the provider answer: the callback path+query it sends the browser to."""
    r = auth.get(f"/api/v1/oauth/{provider}")
    assert r.status_code == 302, r.get_data(as_text=True)
    back = httpx.get(r.headers["Location"], follow_redirects=False)
    assert back.status_code == 302, back.text
    url = urlsplit(back.headers["Location"])
    assert url.path == f"/api/v1/oauth/{provider}/callback"
    return f"{url.path}?{url.query}"


def sign_in(auth, provider="test"):
    return auth.get(authorize(auth, provider))


def user_of(tokens: dict) -> str:
    return verify_access_token(tokens["access_token"]).user_id


def test_redirect_carries_state_nonce_and_pkce(auth, idp):
    """The start URL redirects to the issuer's authorize endpoint with state, nonce and an S256 code challenge."""
    r = auth.get("/api/v1/oauth/test")
    assert r.status_code == 302 and r.headers["Cache-Control"] == "no-store"
    url = urlsplit(r.headers["Location"])
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{idp.base_url}/authorize"
    assert q["response_type"] == "code" and q["client_id"] == idp.client_id
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
    assert len(q["state"]) >= 32 and len(q["nonce"]) >= 24
    assert q["redirect_uri"].endswith("/api/v1/oauth/test/callback")
    assert "openid" in q["scope"].split()
    with session_scope() as s:
        row = s.scalar(select(OAuthState))
        assert row.id != q["state"]  # only a hash of the state is stored
        assert row.nonce == q["nonce"]


def test_first_sign_in_creates_user_and_second_links_the_same(auth, idp):
    """A new verified identity creates a password-less user with a default profile; signing in again gives the same user."""
    first = sign_in(auth)
    assert first.status_code == 200, first.get_data(as_text=True)
    tokens = first.get_json()
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["token_type"] == "Bearer" and first.headers["Cache-Control"] == "no-store"
    user_id = user_of(tokens)
    with session_scope() as s:
        user = s.get(User, user_id)
        assert user.email == "alice@example.com" and user.email_verified and user.password_hash is None
        assert user.name == "Alice"
        assert s.scalar(select(func.count()).select_from(Profile).where(Profile.user_id == user_id)) == 1
        ident = s.scalar(select(OAuthIdentity))
        assert (ident.provider, ident.subject, ident.user_id) == ("test", "alice-sub-1", user_id)
    second = sign_in(auth)
    assert second.status_code == 200
    assert user_of(second.get_json()) == user_id
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(User)) == 1
        assert s.scalar(select(func.count()).select_from(OAuthIdentity)) == 1
    # our refresh token works like any other
    r = auth.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 200


def test_identity_is_matched_by_subject_not_email(auth, idp):
    """Once linked, the provider's subject identifies the user even after the e-mail changes at the provider."""
    user_id = user_of(sign_in(auth).get_json())
    idp.user = {**idp.user, "email": "alice.new@example.com"}
    assert user_of(sign_in(auth).get_json()) == user_id


def test_forged_state_is_400(auth, idp):
    """A callback whose state we never issued is refused with 400 before any code exchange."""
    callback = authorize(auth)
    path, query = callback.split("?")
    q = {k: v[0] for k, v in parse_qs(query).items()}
    idp.requests.clear()
    r = auth.get(path, query_string={"code": q["code"], "state": "forged-state"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_state"
    assert ("POST", "/token") not in idp.requests
    assert auth.get(path, query_string={"code": q["code"]}).status_code == 400  # no state at all


def test_replayed_state_is_400(auth, idp):
    """A state is single use: the same callback a second time is refused with 400."""
    callback = authorize(auth)
    assert auth.get(callback).status_code == 200
    r = auth.get(callback)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_state"


def test_expired_state_is_400(auth, idp, monkeypatch):
    """A state older than OAUTH_STATE_TTL_SECONDS is refused with 400."""
    monkeypatch.setenv("OAUTH_STATE_TTL_SECONDS", "0")
    services.reset()
    r = sign_in(auth)
    assert r.status_code == 400 and "expired" in r.get_json()["error"]["message"]


def test_state_of_another_provider_is_400(auth, idp, monkeypatch):
    """A state issued for one provider cannot finish a sign-in at another."""
    monkeypatch.setenv("OAUTH_PROVIDERS", "test,other")
    services.reset()
    for k in ("DISCOVERY_URL", "CLIENT_ID", "CLIENT_SECRET"):
        monkeypatch.setenv(f"OAUTH_OTHER_{k}", {"DISCOVERY_URL": idp.discovery_url, "CLIENT_ID": idp.client_id, "CLIENT_SECRET": idp.client_secret}[k])
    services.reset()
    callback = authorize(auth).replace("/oauth/test/", "/oauth/other/")
    assert auth.get(callback).status_code == 400


def test_nonce_mismatch_is_502(auth, idp):
    """An ID token whose nonce is not the one we sent is refused as a bad provider answer."""
    idp.nonce_override = "someone-elses-nonce"
    r = sign_in(auth)
    assert r.status_code == 502
    body = r.get_json()["error"]
    assert body["code"] == "invalid_id_token" and "nonce" in body["message"]
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(User)) == 0


def test_bad_signature_wrong_audience_and_expiry_are_502(auth, idp):
    """ID tokens signed with a key not in the issuer's JWKS, for another audience, or expired are refused."""
    idp.signing_key = RSAKey.generate_key(2048, parameters={"kid": "key-1"})
    assert sign_in(auth).get_json()["error"]["code"] == "invalid_id_token"
    idp.signing_key = None
    idp.audience_override = "another-client"
    r = sign_in(auth)
    assert r.status_code == 502 and "aud" in r.get_json()["error"]["message"]
    idp.audience_override = None
    idp.expires_in = -3600
    r = sign_in(auth)
    assert r.status_code == 502 and r.get_json()["error"]["code"] == "invalid_id_token"
    idp.expires_in = 300
    assert sign_in(auth).status_code == 200


def test_provider_down_is_502(auth, idp):
    """When the provider cannot be reached, start and callback answer 502 saying so."""
    callback = authorize(auth)
    idp.stop()
    r = auth.get(callback)
    assert r.status_code == 502
    assert r.get_json()["error"]["code"] == "provider_unavailable"
    assert "Test IdP" in r.get_json()["error"]["message"]
    services.reset()  # forget the discovery document: the start needs it again
    r = auth.get("/api/v1/oauth/test")
    assert r.status_code == 502 and r.get_json()["error"]["code"] == "provider_unavailable"
    idp.start()  # the fixture stops it again


def test_token_exchange_refused_or_broken_is_502(auth, idp):
    """A token endpoint that refuses the code or answers 500 gives a 502 with a clear message."""
    idp.token_error = "invalid_grant"
    r = sign_in(auth)
    assert r.status_code == 502 and r.get_json()["error"]["code"] == "provider_refused"
    assert "invalid_grant" in r.get_json()["error"]["message"]
    idp.token_error = None
    idp.token_status = 500
    r = sign_in(auth)
    assert r.status_code == 502 and "500" in r.get_json()["error"]["message"]


def test_provider_error_on_callback_is_400(auth, idp):
    """A callback carrying the provider's error (the user said no) is a 400 that names it."""
    callback = authorize(auth)
    state = parse_qs(callback.split("?")[1])["state"][0]
    r = auth.get("/api/v1/oauth/test/callback", query_string={"state": state, "error": "access_denied"})
    assert r.status_code == 400 and "access_denied" in r.get_json()["error"]["message"]


def test_unknown_provider_is_404(auth):
    """An unconfigured provider id is 404 on start and on callback."""
    assert auth.get("/api/v1/oauth/nope").status_code == 404
    r = auth.get("/api/v1/oauth/nope/callback?code=x&state=y")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "unknown_provider"


def test_verified_email_links_to_password_account(auth, idp, caplog):
    """A password account whose address its owner verified is linked when the provider says the same e-mail is verified; the password still works."""
    assert auth.post("/api/v1/auth/register", json={"email": "Alice@example.com", "password": "correct horse 1"}).status_code == 201
    token = mailed_token(caplog, "alice@example.com")
    assert auth.post("/api/v1/auth/verify-email", json={"token": token}).status_code == 200
    with session_scope() as s:
        existing = s.scalar(select(User.id))
    r = sign_in(auth)
    assert r.status_code == 200
    assert user_of(r.get_json()) == existing
    assert auth.post("/api/v1/auth/login", json={"email": "alice@example.com", "password": "correct horse 1"}).status_code == 200


def test_provider_is_never_linked_to_an_unverified_account(auth, idp):
    """A squatter's password account on the victim's address (never verified) is not linked when the victim signs in with a provider that vouches for it: a clear 409, no identity, and the squatter's account gains nothing."""
    assert auth.post("/api/v1/auth/register", json={"email": "alice@example.com", "password": "squatter pass 77"}).status_code == 201
    r = sign_in(auth)
    assert r.status_code == 409
    err = r.get_json()["error"]
    assert err["code"] == "account_not_verified" and "verif" in err["message"]
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(OAuthIdentity)) == 0
        assert s.scalar(select(User.email_verified)) is False


def test_unverified_email_never_takes_over_an_account(auth, idp):
    """If the provider does not say the e-mail is verified, an existing account is not linked: a clear 409."""
    auth.post("/api/v1/auth/register", json={"email": "alice@example.com", "password": "correct horse 1"})
    idp.user = {**idp.user, "email_verified": False}
    r = sign_in(auth)
    assert r.status_code == 409
    err = r.get_json()["error"]
    assert err["code"] == "email_not_verified" and "password" in err["message"]
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(OAuthIdentity)) == 0


def test_unverified_email_does_not_create_an_account(auth, idp):
    """A new identity whose e-mail the provider has not verified gets no account (403), so nobody can squat an address."""
    idp.user = {**idp.user, "email_verified": False}
    r = sign_in(auth)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "email_not_verified"
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(User)) == 0


def test_front_end_redirect_puts_tokens_in_fragment(auth, idp, monkeypatch):
    """With OAUTH_<ID>_REDIRECT_URI set, the callback redirects there with our tokens in the URL fragment."""
    monkeypatch.setenv("OAUTH_TEST_REDIRECT_URI", "https://app.example.com/signed-in")
    services.reset()
    r = sign_in(auth)
    assert r.status_code == 302
    url = urlsplit(r.headers["Location"])
    assert (url.scheme, url.netloc, url.path, url.query) == ("https", "app.example.com", "/signed-in", "")
    fragment = {k: v[0] for k, v in parse_qs(url.fragment).items()}
    assert fragment["token_type"] == "Bearer" and user_of(fragment)


def test_flow_started_on_one_instance_finishes_on_another(auth, idp, env, monkeypatch):
    """State lives in the database: a sign-in started by the auth function finishes on the embedded server over HTTP."""
    monkeypatch.setenv("PUBLIC_URL", "https://boardrun.example.com")  # every instance has the same public URL
    services.reset()
    callback = authorize(auth)
    srv = start_server(
        {"DATA_DIR": str(env["data_dir"]), "DATABASE_URL": env["database_url"], "STORAGE_URL": os.environ["STORAGE_URL"]},
        env["tmp_path"] / "server.log",
    )
    try:
        with srv.client() as http:
            r = http.get(callback)
            assert r.status_code == 200, r.text
            assert user_of(r.json())
            assert http.get(callback).status_code == 400  # and it is spent there too
    finally:
        stop_server(srv)
