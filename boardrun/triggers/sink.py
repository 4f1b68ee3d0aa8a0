"""The HTTP sink: /api/v1/sink/trigger/http/{app_id}/{path} starts the board of the app's
`http` event with that path.

Authentication is the event's own: a bearer token and/or an HMAC-SHA256 signature of the raw
body (GitHub's `X-Hub-Signature-256: sha256=<hex>`), compared in constant time; none only when
the event says `public: true`. Unknown, paused and unauthorised look different on purpose
(404 / 404 / 401): the path is not a secret, the token is.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import select
from werkzeug.wrappers import Request, Response

from boardrun.db import session_scope
from boardrun.errors import BadGateway, MethodNotAllowed, NotFound, Unauthorized
from boardrun.jobs import render, states
from boardrun.jobs import services as jobs
from boardrun.jobs.states import JobStatus
from boardrun.triggers import services
from boardrun.triggers.models import AppEvent
from boardrun.web import json_response, loads_json, read_body

# Headers that carry credentials or only matter to the hop: never handed to the board.
_DROPPED_HEADERS = {"authorization", "cookie", "proxy-authorization", "connection", "keep-alive",
                    "transfer-encoding", "te", "upgrade", "host", "content-length"}
# Where senders put a delivery id; a redelivery with the same id starts no second job.
DELIVERY_HEADERS = ("Idempotency-Key", "X-GitHub-Delivery")


def _lookup(app_id: str, path: str) -> AppEvent:
    with session_scope() as session:
        event = session.scalar(select(AppEvent).where(AppEvent.app_id == app_id, AppEvent.http_path == path,
                                                      AppEvent.event_type == "http"))
    if event is None or not event.active:
        raise NotFound(f"no active webhook at {path}", code="event_not_found")
    return event


def _authenticate(event: AppEvent, request: Request, raw: bytes) -> None:
    checks = []
    if event.auth_token_hash is not None:
        given = request.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        # Hashing both sides makes the comparison constant-time in the token's length too.
        checks.append(scheme.lower() == "bearer" and hmac.compare_digest(services.token_hash(token.strip()),
                                                                          event.auth_token_hash))
    if event.webhook_secret is not None:
        header = event.config.get("signature_header") or "X-Hub-Signature-256"
        given = request.headers.get(header, "")
        expected = "sha256=" + hmac.new(event.webhook_secret.encode(), raw, hashlib.sha256).hexdigest()
        checks.append(hmac.compare_digest(given.strip().lower().encode(), expected.encode()))
    if not checks and event.config.get("public"):
        return
    if not checks or not all(checks):
        raise Unauthorized("the webhook's token or signature does not match", error="invalid_token")


def _body(request: Request, raw: bytes) -> Any:
    mimetype = request.mimetype
    if not raw:
        return None
    if mimetype == "application/json" or mimetype.endswith("+json"):
        return loads_json(raw)
    if mimetype == "application/x-www-form-urlencoded":
        try:
            fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=1000)
        except (UnicodeDecodeError, ValueError):
            return None
        return {k: v[0] if len(v) == 1 else v for k, v in fields.items()}
    return raw.decode("utf-8", errors="replace")


def request_payload(request: Request, path: str, raw: bytes, signature_header: str | None) -> dict[str, Any]:
    """What the board receives: the request as data, without credentials."""
    dropped = _DROPPED_HEADERS | ({signature_header.lower()} if signature_header else set())
    query: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        query[key] = values[0] if len(values) == 1 else values
    return {
        "method": request.method,
        "path": path,
        "query": query,
        "headers": {k.lower(): v for k, v in request.headers.items() if k.lower() not in dropped},
        "content_type": request.mimetype or None,
        "body": _body(request, raw),
    }


def _delivery_id(request: Request) -> str | None:
    for header in DELIVERY_HEADERS:
        value = request.headers.get(header)
        if value and len(value) <= 255:
            return value
    return None


def handle(request: Request, app_id: str, path: str) -> Response:
    event = _lookup(app_id, path)
    methods = event.config.get("methods") or ["POST"]
    if request.method not in methods:
        raise MethodNotAllowed(f"this webhook accepts {', '.join(methods)}", headers={"Allow": ", ".join(methods)})
    raw = read_body(request)
    _authenticate(event, request, raw)
    payload = request_payload(request, path, raw, event.config.get("signature_header") if event.webhook_secret else None)
    delivery = _delivery_id(request)
    submission = services.fire(
        event,
        kind="http",
        payload=payload,
        dedupe=services.dedupe_key("http", event.id, delivery) if delivery else None,
        details={"method": request.method, "path": path, "delivery_id": delivery},
    )
    job = submission.job
    headers = {"Location": f"/jobs/{job.id}", "X-Boardrun-Job-Id": job.id}
    if submission.replayed:
        headers["Idempotent-Replayed"] = "true"
    if event.config.get("respond_with_result"):
        if not states.is_terminal(job.status):
            job = jobs.wait_for_terminal(job.id, jobs.sync_wait_seconds()) or job
        if job.status == JobStatus.COMPLETED:
            return json_response(render.load_result(job), 200, headers)
        if states.is_terminal(job.status):
            error = job.error or {}
            raise BadGateway(f"the board's run ended {job.status}: {error.get('message', '')}".rstrip(": "),
                             code="job_failed", details=[{"job_id": job.id, "code": error.get("code")}], headers=headers)
    return json_response({"job_id": job.id, "status": job.status}, 202, headers)
