"""The dispatcher's HTTP face: CloudEvents in (binary or structured mode), status
codes the broker understands out: 2xx done, 4xx permanent, 5xx retry."""

from __future__ import annotations

import logging

from sqlalchemy.exc import OperationalError
from werkzeug.wrappers import Request, Response

from boardrun.eventing.cloudevents_adapter import EventParseError, parse
from boardrun.jobs import dead_letters, dispatcher
from boardrun.jobs.services import wake_waiters
from boardrun.storage import StorageError
from boardrun.web import json_response, read_body

log = logging.getLogger(__name__)


def _receive(request: Request, handler) -> Response:
    try:
        event = parse(request.headers, read_body(request))
    except EventParseError as exc:
        return json_response({"error": {"code": "not_a_cloudevent", "message": str(exc)}}, 400)
    try:
        outcome = handler(event)
    except dispatcher.PermanentEventError as exc:
        log.warning("refused %s %s: %s", event.type, event.id, exc)
        return json_response({"error": {"code": "event_refused", "message": str(exc)}}, 422)
    except (dispatcher.TransientEventError, OperationalError, StorageError) as exc:
        log.warning("could not handle %s %s yet: %s", event.type, event.id, exc)
        return json_response({"error": {"code": "try_again", "message": "temporarily unable to handle the event"}}, 503)
    wake_waiters()
    return json_response({"status": outcome, "event_id": event.id})


def events(request: Request) -> Response:
    return _receive(request, dispatcher.handle)


def dead_letter(request: Request) -> Response:
    return _receive(request, dead_letters.record_dead_letter)
