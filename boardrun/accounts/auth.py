"""Bearer authentication for views."""

from __future__ import annotations

from werkzeug.wrappers import Request

from boardrun.accounts.tokens import Principal, TokenError, verify_access_token
from boardrun.errors import Unauthorized


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_principal(request: Request) -> Principal:
    """The verified caller, or 401 with WWW-Authenticate."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("a Bearer access token is required", error="invalid_request")
    try:
        return verify_access_token(token)
    except TokenError as exc:
        raise Unauthorized(str(exc), error="invalid_token") from None


def optional_principal(request: Request) -> Principal | None:
    """The caller if a valid token is sent; anonymous if none is; 401 if a bad one is."""
    return require_principal(request) if bearer_token(request) is not None else None
