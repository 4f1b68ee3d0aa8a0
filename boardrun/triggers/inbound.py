"""CloudEvents from the broker (anything that is not Boardrun's own `dev.boardrun.*`): each
active `cloudevent` event whose filter matches starts its board with the event's data and
attributes. A redelivered CloudEvent (same source and id) starts no second job."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from boardrun.db import session_scope
from boardrun.errors import ApiError
from boardrun.eventing.cloudevents_adapter import Event
from boardrun.triggers import services
from boardrun.triggers.models import AppEvent

log = logging.getLogger(__name__)


def matches(config: dict[str, Any], event: Event) -> bool:
    wanted = config.get("type") or ""
    if not (event.type.startswith(wanted) if config.get("type_prefix") else event.type == wanted):
        return False
    source_prefix = config.get("source_prefix")
    if source_prefix and not event.source.startswith(source_prefix):
        return False
    subject = config.get("subject")
    return not subject or event.subject == subject


def attributes(event: Event) -> dict[str, Any]:
    return {"id": event.id, "source": event.source, "type": event.type, "subject": event.subject,
            "time": event.time, **event.extensions}


def receive(event: Event) -> list[str]:
    """Start the boards this CloudEvent matches; returns the ids of the jobs (started or found)."""
    with session_scope() as session:
        candidates = session.scalars(
            select(AppEvent).where(AppEvent.event_type == "cloudevent", AppEvent.active.is_(True))
        ).all()
    job_ids = []
    delivery = f"{event.source}\n{event.id}"
    for app_event in candidates:
        if not matches(app_event.config or {}, event):
            continue
        try:
            submission = services.fire(
                app_event,
                kind="cloudevent",
                payload={"data": event.data, "attributes": attributes(event)},
                dedupe=services.dedupe_key("cloudevent", app_event.id, delivery),
                details={"type": event.type, "source": event.source, "id": event.id},
            )
        except ApiError as exc:
            # The event's board cannot start (deleted, invalid, no frozen version): that is the
            # app's problem, not the sender's; retrying would not help. The others still start.
            log.warning("event %s did not start for CloudEvent %s: %s", app_event.id, event.id, exc.message)
            continue
        job_ids.append(submission.job.id)
    return job_ids
