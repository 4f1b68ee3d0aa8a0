"""POST /api/v1/auth/register, /login, /refresh, /verify-email and /verify-email/resend."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from boardrun.accounts import services
from boardrun.accounts.schemas import LOGIN, REFRESH, REGISTER, VERIFY
from boardrun.accounts.auth import require_principal
from boardrun.db import session_scope
from boardrun.errors import Unprocessable
from boardrun.web import client_address, json_body, json_response

_NO_STORE = {"Cache-Control": "no-store"}


def register(request: Request) -> Response:
    body = json_body(request, REGISTER)
    problem = services.password_problem(body["password"])
    if problem:
        raise Unprocessable(f"password: {problem}", details=[{"field": "password", "message": problem}])
    services.register(email=body["email"], password=body["password"], name=body.get("name"), username=body.get("username"))
    # Same answer whether or not the address was already registered (no account enumeration).
    return json_response(
        {
            "status": "registered",
            "message": "if this address was not registered yet, its account now exists and a verification "
            "mail is on its way; sign in to continue",
        },
        201,
    )


def login(request: Request) -> Response:
    body = json_body(request, LOGIN)
    tokens = services.login(email=body["email"], password=body["password"], client=client_address(request))
    return json_response(tokens, headers=_NO_STORE)


def refresh(request: Request) -> Response:
    body = json_body(request, REFRESH)
    with session_scope() as session:
        tokens = services.refresh(session, refresh_token=body["refresh_token"])
    return json_response(tokens, headers=_NO_STORE)


def verify_email(request: Request) -> Response:
    body = json_body(request, VERIFY)
    services.verify_email(body["token"])
    return json_response({"status": "verified"})


def resend_verification(request: Request) -> Response:
    principal = require_principal(request)
    sent = services.resend_verification(principal.user_id)
    if not sent:
        return json_response({"status": "already_verified"})
    return json_response({"status": "sent"}, 202)
