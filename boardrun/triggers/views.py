"""/api/v1/apps/{app_id}/events[/{event_id}[/invoke[/async]]], the HTTP sink, and the
triggers function's CloudEvent inputs (/triggers/events from the broker, /triggers/cron from
the PingSource)."""

from __future__ import annotations

import logging

from sqlalchemy.exc import OperationalError
from werkzeug.wrappers import Request, Response

from boardrun.accounts.auth import require_principal
from boardrun.db import session_scope
from boardrun.eventing.cloudevents_adapter import EventParseError, parse
from boardrun.jobs import render, states
from boardrun.jobs import services as jobs
from boardrun.storage import StorageError
from boardrun.triggers import cron, inbound, services, sink
from boardrun.triggers.schemas import EVENT_BODY, INVOKE_BODY
from boardrun.web import json_body, json_response, no_content, read_body

log = logging.getLogger(__name__)
_PRIVATE = {"Cache-Control": "private, no-cache"}


def list_events(request: Request, app_id: str) -> Response:
    principal = require_principal(request)
    with session_scope() as session:
        events = services.list_events(session, principal, app_id)
    return json_response({"events": events}, headers=_PRIVATE)


def create_event(request: Request, app_id: str) -> Response:
    event = services.create_event(require_principal(request), app_id, json_body(request, EVENT_BODY))
    return json_response(event, 201, {"Location": f"/api/v1/apps/{app_id}/events/{event['id']}"})


def get_event(request: Request, app_id: str, event_id: str) -> Response:
    principal = require_principal(request)
    with session_scope() as session:
        event = services.get_event(session, principal, app_id, event_id)
    return json_response(event, headers=_PRIVATE)


def put_event(request: Request, app_id: str, event_id: str) -> Response:
    body = json_body(request, EVENT_BODY)
    return json_response(services.update_event(require_principal(request), app_id, event_id, body))


def delete_event(request: Request, app_id: str, event_id: str) -> Response:
    services.delete_event(require_principal(request), app_id, event_id)
    return no_content()


def _invoke(request: Request, app_id: str, event_id: str, mode: str) -> Response:
    principal = require_principal(request)
    body = json_body(request, INVOKE_BODY) if request.content_length or request.headers.get("Transfer-Encoding") else {}
    job = services.invoke(principal, app_id, event_id, body.get("payload"), mode).job
    headers = {"Location": f"/jobs/{job.id}"}
    if mode == "sync":
        if not states.is_terminal(job.status):
            job = jobs.wait_for_terminal(job.id, jobs.sync_wait_seconds()) or job
        if states.is_terminal(job.status):
            return json_response(render.job_json(job), 200, headers)
    return json_response({"job_id": job.id, "status": job.status}, 202, headers)


def invoke(request: Request, app_id: str, event_id: str) -> Response:
    return _invoke(request, app_id, event_id, "sync")


def invoke_async(request: Request, app_id: str, event_id: str) -> Response:
    return _invoke(request, app_id, event_id, "async")


def http_sink(request: Request, app_id: str, path: str) -> Response:
    return sink.handle(request, app_id, path)


def _cloudevent(request: Request):
    try:
        return parse(request.headers, read_body(request)), None
    except EventParseError as exc:
        return None, json_response({"error": {"code": "not_a_cloudevent", "message": str(exc)}}, 400)


def broker_events(request: Request) -> Response:
    """CloudEvents the broker delivers: 200 whether or not an event matched, 400 for a malformed
    one, 503 only when the database or storage is unavailable (the broker retries)."""
    event, refused = _cloudevent(request)
    if refused is not None:
        return refused
    try:
        job_ids = inbound.receive(event)
    except (OperationalError, StorageError) as exc:
        log.warning("could not start the boards of CloudEvent %r yet: %s", event.id, exc)
        return json_response({"error": {"code": "try_again", "message": "temporarily unable to handle the event"}}, 503)
    return json_response({"status": "started" if job_ids else "no matching event", "jobs": job_ids})


def cron_tick(request: Request) -> Response:
    """The PingSource's minute tick: fire the schedules that are due (harmless to forge or repeat)."""
    _event, refused = _cloudevent(request)
    if refused is not None:
        return refused
    try:
        started = cron.fire_due_schedules()
    except (OperationalError, StorageError) as exc:
        log.warning("schedules not fired: %s", exc)
        return json_response({"error": {"code": "try_again", "message": "temporarily unable to fire schedules"}}, 503)
    return json_response({"status": f"started {started}"})
