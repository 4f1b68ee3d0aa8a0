"""An app's events: create, read, change, delete, and start the board of one (`fire`)."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from boardrun.accounts.tokens import Principal
from boardrun.apps.access import require_app_permission
from boardrun.apps.boards import resolve_board
from boardrun.apps.permissions import Permission
from boardrun.db import session_scope, utcnow
from boardrun.errors import Conflict, NotFound, Unprocessable
from boardrun.ids import new_id
from boardrun.jobs import services as jobs
from boardrun.triggers.models import AppEvent
from boardrun.triggers.schemas import normalized_config
from boardrun.web import iso_time

SINK_PREFIX = "/api/v1/sink/trigger/http"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _not_found(event_id: str) -> NotFound:
    return NotFound(f"no event {event_id}", code="event_not_found")


def _event(session: Session, app_id: str, event_id: str) -> AppEvent:
    event = session.get(AppEvent, event_id)
    if event is None or event.app_id != app_id:
        raise _not_found(event_id)
    return event


def list_events(session: Session, principal: Principal, app_id: str) -> list[dict[str, Any]]:
    require_app_permission(session, app_id, principal, Permission.ListEvents)
    events = session.scalars(select(AppEvent).where(AppEvent.app_id == app_id).order_by(AppEvent.created_at, AppEvent.id))
    return [event_json(e) for e in events]


def get_event(session: Session, principal: Principal, app_id: str, event_id: str) -> dict[str, Any]:
    require_app_permission(session, app_id, principal, Permission.ReadEvents)
    return event_json(_event(session, app_id, event_id))


def create_event(principal: Principal, app_id: str, body: dict[str, Any]) -> dict[str, Any]:
    with session_scope() as session:
        require_app_permission(session, app_id, principal, Permission.WriteEvents)
        event = AppEvent(id=new_id("evt"), app_id=app_id, created_by=principal.user_id, event_type=body["event_type"])
        _apply(session, event, body)
        session.add(event)
        _flush_unique(session, event)
        return event_json(event)


def update_event(principal: Principal, app_id: str, event_id: str, body: dict[str, Any]) -> dict[str, Any]:
    with session_scope() as session:
        require_app_permission(session, app_id, principal, Permission.WriteEvents)
        event = _event(session, app_id, event_id)
        if body["event_type"] != event.event_type:
            raise Unprocessable(
                "event_type cannot change; delete the event and create a new one",
                details=[{"field": "event_type", "message": f"is '{event.event_type}'"}],
            )
        _apply(session, event, body)
        event.revision += 1
        _flush_unique(session, event)
        return event_json(event)


def delete_event(principal: Principal, app_id: str, event_id: str) -> None:
    with session_scope() as session:
        require_app_permission(session, app_id, principal, Permission.WriteEvents)
        session.delete(_event(session, app_id, event_id))


def _flush_unique(session: Session, event: AppEvent) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"another event of this app already serves the path '{event.http_path}'",
                       code="event_path_taken") from None


def _apply(session: Session, event: AppEvent, body: dict[str, Any]) -> None:
    """Set an event from a validated request body (PUT replaces all fields but the secrets,
    which stay unless the body names them: they are write-only and never read back)."""
    raw = dict(body.get("config") or {})
    config = normalized_config(event.event_type, raw)
    version = body.get("board_version")
    try:
        resolve_board(session, event.app_id, body["board_id"], version or "latest")
    except NotFound as exc:
        field = "board_version" if exc.code in ("version_not_found", "no_frozen_version") else "board_id"
        raise Unprocessable(exc.message, details=[{"field": field, "message": exc.message}]) from None
    event.name = body["name"]
    event.description = body.get("description")
    event.active = body.get("active", True)
    event.board_id = body["board_id"]
    event.board_version = version
    event.node_id = body.get("node_id")
    event.variables = body.get("variables") or {}
    event.notes = body.get("notes")
    if event.event_type == "http":
        if "auth_token" in raw:
            event.auth_token_hash = token_hash(config["auth_token"]) if config["auth_token"] else None
        if "webhook_secret" in raw:
            event.webhook_secret = config["webhook_secret"]
        if not (config["public"] or event.auth_token_hash or event.webhook_secret):
            raise Unprocessable(
                "an http event needs an auth_token or a webhook_secret, unless it says public: true",
                details=[{"field": "config/auth_token", "message": "required unless config/public is true"}],
            )
        event.http_path = config["path"]
        config = {k: v for k, v in config.items() if k not in ("auth_token", "webhook_secret")}
    if event.event_type == "cron" and config != event.config:
        # A new schedule starts now: slots of the old one (or before it existed) never fire.
        event.cron_last_slot = utcnow()
    event.config = config


def event_json(event: AppEvent) -> dict[str, Any]:
    config = dict(event.config or {})
    body: dict[str, Any] = {
        "id": event.id,
        "app_id": event.app_id,
        "name": event.name,
        "description": event.description,
        "event_type": event.event_type,
        "active": event.active,
        "board_id": event.board_id,
        "board_version": event.board_version,
        "node_id": event.node_id,
        "variables": event.variables or {},
        "config": config,
        "notes": event.notes,
        "created_by": event.created_by,
        "created_at": iso_time(event.created_at),
        "updated_at": iso_time(event.updated_at),
    }
    if event.event_type == "http":
        config["has_auth_token"] = event.auth_token_hash is not None
        config["has_webhook_secret"] = event.webhook_secret is not None
        body["url"] = f"{SINK_PREFIX}/{event.app_id}/{event.http_path}"
    return body


def dedupe_key(kind: str, event_id: str, delivery: str) -> str:
    """An idempotency key for one delivery of one event (bounded length, whatever the delivery id)."""
    return f"{jobs.TRIGGER_KEY_PREFIX}{kind}:{event_id}:{hashlib.sha256(delivery.encode()).hexdigest()[:40]}"


def fire(event: AppEvent, *, kind: str, payload: Any, mode: str = "async", dedupe: str | None = None,
         details: dict[str, Any] | None = None) -> jobs.Submission:
    """Start the event's board with `payload`, recorded as started by this event."""
    body = {
        "app_id": event.app_id,
        "board_id": event.board_id,
        "version": event.board_version or "latest",
        "payload": payload,
        "mode": mode,
        "variables": event.variables or {},
    }
    if event.node_id:
        body["node_id"] = event.node_id
    trigger = {"kind": kind, "event_id": event.id, **(details or {})}
    return jobs.start_triggered(body, created_by=event.created_by, trigger=trigger, dedupe_key=dedupe)


def invoke(principal: Principal, app_id: str, event_id: str, payload: Any, mode: str) -> jobs.Submission:
    """POST …/events/{event_id}/invoke[/async]: a member with ExecuteEvents starts it by hand."""
    with session_scope() as session:
        require_app_permission(session, app_id, principal, Permission.ExecuteEvents)
        event = _event(session, app_id, event_id)
        if not event.active:
            raise Conflict(f"event {event_id} is paused (active: false)", code="event_inactive")
    return fire(event, kind="invoke", payload=payload, mode=mode, details={"invoked_by": principal.user_id})

