"""The sign-in flow: authorization-code with PKCE (S256), state and, for OpenID Connect,
nonce; all three kept in the database (single use, short expiry) so any instance can
finish a flow another one started. Protocol work is authlib's: its requests client
builds the authorize URL and exchanges the code, and its OpenID Connect claim classes
(on joserfc) verify the ID token against the issuer's JWKS.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from datetime import timedelta
from typing import Any

import requests
from authlib.common.security import generate_token
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from boardrun import services as process_services
from boardrun.accounts.models import User
from boardrun.accounts.services import issue_tokens, normalise_email
from boardrun.config import OAuthProvider as Provider
from boardrun.config import get_settings
from boardrun.db import session_scope, utcnow
from boardrun.errors import BadGateway, BadRequest, Conflict, Forbidden, NotFound
from boardrun.ids import new_id
from boardrun.oauth.models import OAuthIdentity, OAuthState

log = logging.getLogger(__name__)
LEEWAY_SECONDS = 60  # clock skew allowed on exp/iat of ID tokens


def get_provider(provider_id: str) -> Provider:
    provider = get_settings().oauth.providers.get(provider_id)
    if provider is None:
        raise NotFound(f"no OAuth provider {provider_id!r} is configured", code="unknown_provider")
    return provider


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- provider metadata (discovery document, JWKS), cached per process -----------------


def _get_json(provider: Provider, url: str, what: str, *, headers: dict | None = None, force: bool = False, cache: bool = True) -> Any:
    now = time.monotonic()
    memo = process_services.current().cache("oauth-metadata")
    if cache and not force:
        with memo.lock:
            hit = memo.entries.get(url)
        if hit and hit[0] > now:
            return hit[1]
    try:
        response = requests.get(url, headers=headers, timeout=get_settings().oauth.http_timeout)
    except requests.RequestException as exc:
        raise BadGateway(
            f"the sign-in provider {provider.display_name} is unreachable ({what}): {type(exc).__name__}",
            code="provider_unavailable",
        ) from None
    if response.status_code != 200:
        raise BadGateway(
            f"the sign-in provider {provider.display_name} answered {response.status_code} to the {what} request",
            code="provider_error",
        )
    try:
        data = response.json()
    except ValueError:
        raise BadGateway(
            f"the sign-in provider {provider.display_name} sent a {what} that is not JSON", code="provider_error"
        ) from None
    if cache:
        with memo.lock:
            memo.entries[url] = (now + get_settings().oauth.metadata_cache_seconds, data)
    return data


def _metadata(provider: Provider) -> dict[str, Any]:
    assert provider.discovery_url
    doc = _get_json(provider, provider.discovery_url, "discovery document")
    missing = [k for k in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri") if not isinstance(doc, dict) or not doc.get(k)]
    if missing:
        raise BadGateway(
            f"the discovery document of {provider.display_name} lacks {', '.join(missing)}", code="provider_error"
        )
    return doc


def _endpoints(provider: Provider) -> tuple[str, str]:
    if provider.kind == "oidc":
        meta = _metadata(provider)
        return provider.authorize_url or meta["authorization_endpoint"], provider.token_url or meta["token_endpoint"]
    assert provider.authorize_url and provider.token_url
    return provider.authorize_url, provider.token_url


def _client(provider: Provider) -> OAuth2Session:
    auth_method = "client_secret_post"
    if provider.kind == "oidc":
        supported = _metadata(provider).get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        if "client_secret_basic" in supported:
            auth_method = "client_secret_basic"
    return OAuth2Session(
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        scope=provider.scopes,
        redirect_uri=provider.callback_url,
        code_challenge_method="S256",
        token_endpoint_auth_method=auth_method,
    )


# --- step 1: redirect to the provider ------------------------------------------------


def start(provider_id: str) -> str:
    """Record a new state (with nonce and PKCE verifier) and return the provider's
    authorize URL to redirect the browser to. Calls to the provider happen outside any
    database transaction."""
    provider = get_provider(provider_id)
    authorize_url, _ = _endpoints(provider)
    now = utcnow()
    state = secrets.token_urlsafe(32)
    verifier = generate_token(64)
    nonce = secrets.token_urlsafe(24) if provider.kind == "oidc" else None
    extra = {"nonce": nonce} if nonce else {}
    with _client(provider) as client:
        url, _ = client.create_authorization_url(authorize_url, state=state, code_verifier=verifier, **extra)
    with session_scope() as session:
        session.execute(delete(OAuthState).where(OAuthState.expires_at < now))  # housekeeping
        session.add(
            OAuthState(
                id=_digest(state),
                provider=provider.id,
                nonce=nonce,
                code_verifier=verifier,
                expires_at=now + timedelta(seconds=get_settings().oauth.state_ttl),
            )
        )
    return url


# --- step 2: the callback ------------------------------------------------------------


def _consume_state(session: Session, provider: Provider, state: str) -> OAuthState:
    """Claim the state atomically and delete it (committed at once: a state is spent
    even if the rest of the sign-in fails)."""
    key = _digest(state)
    row = session.get(OAuthState, key)
    claimed = row is not None and session.execute(delete(OAuthState).where(OAuthState.id == key)).rowcount == 1
    session.commit()
    if row is None or not claimed:
        raise BadRequest("unknown or already used sign-in state; start the sign-in again", code="invalid_state")
    if row.provider != provider.id:
        raise BadRequest("this sign-in state belongs to another provider; start the sign-in again", code="invalid_state")
    if row.expires_at <= utcnow():
        raise BadRequest("the sign-in took too long and its state expired; start the sign-in again", code="invalid_state")
    return row


def _exchange_code(provider: Provider, code: str, verifier: str) -> dict[str, Any]:
    _, token_url = _endpoints(provider)
    try:
        with _client(provider) as client:
            token = client.fetch_token(
                token_url, code=code, code_verifier=verifier, timeout=get_settings().oauth.http_timeout
            )
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "an error"
        raise BadGateway(
            f"the sign-in provider {provider.display_name} answered {status} to the token exchange",
            code="provider_error",
        ) from None
    except requests.RequestException as exc:
        raise BadGateway(
            f"the sign-in provider {provider.display_name} is unreachable (token exchange): {type(exc).__name__}",
            code="provider_unavailable",
        ) from None
    except AuthlibBaseError as exc:
        raise BadGateway(
            f"the sign-in provider {provider.display_name} refused the code exchange: {exc.error}"
            + (f" ({exc.description})" if exc.description else ""),
            code="provider_refused",
        ) from None
    except (ValueError, TypeError, KeyError):
        raise BadGateway(
            f"the sign-in provider {provider.display_name} sent an unreadable token response", code="provider_error"
        ) from None
    if not isinstance(token, dict) or not token.get("access_token"):
        raise BadGateway(f"the sign-in provider {provider.display_name} sent no access token", code="provider_error")
    return dict(token)


def _verify_id_token(provider: Provider, token: dict[str, Any], nonce: str | None) -> dict[str, Any]:
    id_token = token.get("id_token")
    if not id_token:
        raise BadGateway(f"the sign-in provider {provider.display_name} sent no ID token", code="invalid_id_token")
    meta = _metadata(provider)
    algorithms = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [a for a in algorithms if a != "none"]
    try:
        try:
            decoded = jwt.decode(id_token, KeySet.import_key_set(_get_json(provider, meta["jwks_uri"], "JWKS")), algorithms)
        except InvalidKeyIdError:  # the issuer rotated its keys since we cached them
            keys = _get_json(provider, meta["jwks_uri"], "JWKS", force=True)
            decoded = jwt.decode(id_token, KeySet.import_key_set(keys), algorithms)
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {"iss": {"essential": True, "value": meta["issuer"]}, "aud": {"essential": True, "value": provider.client_id}},
            {"nonce": nonce, "client_id": provider.client_id, "access_token": token["access_token"]},
        )
        claims.validate(leeway=LEEWAY_SECONDS)
    except (JoseError, ValueError, TypeError) as exc:
        detail = getattr(exc, "description", None) or type(exc).__name__
        raise BadGateway(
            f"the ID token from {provider.display_name} is invalid: {detail}", code="invalid_id_token"
        ) from None
    result = dict(claims)
    if "email" not in result and meta.get("userinfo_endpoint"):
        info = _get_json(
            provider, meta["userinfo_endpoint"], "userinfo",
            headers={"Authorization": f"Bearer {token['access_token']}"}, cache=False,
        )
        if isinstance(info, dict) and info.get("sub") == result["sub"]:
            for key in ("email", "email_verified", "name"):
                if key in info:
                    result[key] = info[key]
    return result


def _oidc_identity(provider: Provider, token: dict[str, Any], nonce: str | None) -> dict[str, Any]:
    claims = _verify_id_token(provider, token, nonce)
    verified = claims.get("email_verified")
    return {
        "subject": str(claims["sub"]),
        "email": claims.get("email") if isinstance(claims.get("email"), str) else None,
        "email_verified": verified is True or (isinstance(verified, str) and verified.lower() == "true"),
        "name": claims.get("name") if isinstance(claims.get("name"), str) else None,
    }


def _github_identity(provider: Provider, token: dict[str, Any]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token['access_token']}", "Accept": "application/vnd.github+json"}
    user = _get_json(provider, f"{provider.api_base_url}/user", "user", headers=headers, cache=False)
    emails = _get_json(provider, f"{provider.api_base_url}/user/emails", "e-mail addresses", headers=headers, cache=False)
    if not isinstance(user, dict) or user.get("id") in (None, "") or not isinstance(emails, list):
        raise BadGateway(f"the sign-in provider {provider.display_name} sent an unexpected user record", code="provider_error")
    primary = next((e for e in emails if isinstance(e, dict) and e.get("primary")), None)
    return {
        "subject": str(user["id"]),
        "email": primary.get("email") if primary else None,
        "email_verified": bool(primary and primary.get("verified") is True),
        "name": user.get("name") or user.get("login"),
    }


def _link_or_create(session: Session, provider: Provider, identity: dict[str, Any]) -> User:
    from boardrun.users.services import create_default_profile

    linked = session.scalar(
        select(OAuthIdentity).where(OAuthIdentity.provider == provider.id, OAuthIdentity.subject == identity["subject"])
    )
    if linked is not None:
        linked.last_login_at = utcnow()
        user = session.get(User, linked.user_id)
        assert user is not None  # the identity row cascades with its user
        return user
    if not identity["email"]:
        raise Forbidden(
            f"{provider.display_name} did not share an e-mail address; an account needs one", code="email_required"
        )
    email = normalise_email(identity["email"])
    user = session.scalar(select(User).where(User.email == email))
    if user is not None and not identity["email_verified"]:
        raise Conflict(
            f"an account with the e-mail address {email} already exists, and {provider.display_name} does not say "
            "the address is verified, so the two cannot be linked; sign in with your password instead",
            code="email_not_verified",
        )
    if user is None and not identity["email_verified"]:
        raise Forbidden(
            f"{provider.display_name} does not say the e-mail address {email} is verified; verify it there and "
            "sign in again",
            code="email_not_verified",
        )
    if user is not None and not user.email_verified:
        # Anyone can register any address with a password; until its owner confirms it,
        # the account may be a squatter's, and linking would hand them the provider's
        # user. So we refuse, as Auth0 and Okta do for unverified accounts; the owner
        # verifies the address (or signs in with the password) first.
        raise Conflict(
            f"an account with the e-mail address {email} already exists but its address was never verified, so "
            f"{provider.display_name} cannot be linked to it; if the account is yours, confirm the address with "
            "the link in its verification mail (or sign in with the password and ask for a new mail), then sign "
            f"in with {provider.display_name} again",
            code="account_not_verified",
        )
    try:
        if user is None:
            user = User(id=new_id("usr"), email=email, email_verified=True, password_hash=None, name=identity["name"])
            session.add(user)
            session.flush()
            create_default_profile(session, user)
        session.add(
            OAuthIdentity(
                id=new_id("oid"), provider=provider.id, subject=identity["subject"], user_id=user.id, email=email
            )
        )
        session.flush()
    except IntegrityError:  # the same identity or e-mail signed in concurrently
        session.rollback()
        raise Conflict("a concurrent sign-in of the same account is in progress; try again", code="conflict") from None
    return user


def finish(provider_id: str, *, code: str | None, state: str | None, error: str | None) -> dict:
    """Check the state, exchange the code, establish who the user is at the provider,
    link or create our user, and issue our own tokens. The provider is called between
    two short transactions, never inside one."""
    provider = get_provider(provider_id)
    if not state:
        raise BadRequest("the callback has no state parameter", code="invalid_state")
    with session_scope() as session:
        row = _consume_state(session, provider, state)
    if error:
        raise BadRequest(f"the sign-in was not completed at {provider.display_name}: {error}", code="oauth_denied")
    if not code:
        raise BadRequest("the callback has no code parameter", code="bad_request")
    token = _exchange_code(provider, code, row.code_verifier)
    if provider.kind == "oidc":
        identity = _oidc_identity(provider, token, row.nonce)
    else:
        identity = _github_identity(provider, token)
    with session_scope() as session:
        user = _link_or_create(session, provider, identity)
        if user.status != "active":
            raise Forbidden("this account is disabled", code="account_disabled")
        log.info("oauth sign-in of %s through %s", user.id, provider.id)
        return issue_tokens(session, user.id)
