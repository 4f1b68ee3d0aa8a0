"""The dead-letter sink: the events the broker gave up delivering to the dispatcher."""

from __future__ import annotations

import logging

from boardrun.db import session_scope
from boardrun.eventing import catalog
from boardrun.eventing.cloudevents_adapter import Event
from boardrun.jobs import lifecycle, states
from boardrun.jobs.dispatcher import PermanentEventError, already_processed, check_signature, mark_processed
from boardrun.jobs.models import DeadLetter, locked_job

log = logging.getLogger(__name__)


def _verifiable(event: Event) -> bool:
    try:
        check_signature(event)
        return True
    except PermanentEventError:
        return False


def record_dead_letter(event: Event) -> str:
    """The broker gave up on an event: keep it, and fail the job still waiting for it.

    The sink is reachable by whoever can reach the dispatcher, so it stores only
    events it can verify (job commands and reports signed with their job's token: each
    one at most once), ignores an event that was in fact processed (a replay of a
    delivered command), and fails a job only while it still waits for that command."""
    job_id = event.extensions.get(catalog.EXT_JOB_ID)
    if not (event.type in catalog.OUR_TYPES and not catalog.data_problems(event.type, event.data) and _verifiable(event)):
        log.warning("dead letter %s %s from %s not stored: not a signed job event", event.type, event.id, event.source)
        return "not stored: not a signed job event"
    dedupe_source = "dead-letter:" + event.source  # the same event may also have been processed normally
    with session_scope() as session:
        if already_processed(session, event):
            return "already processed"
        if already_processed(session, event, dedupe_source):
            return "duplicate"
        session.add(
            DeadLetter(
                event_id=event.id,
                type=event.type,
                source=event.source,
                job_id=job_id,
                error_code=event.extensions.get("knativeerrorcode"),
                destination=event.extensions.get("knativeerrordest"),
                data=event.data,
            )
        )
        mark_processed(session, event, dedupe_source)
        job = locked_job(session, job_id) if job_id else None
        if job is not None:
            states.apply(job, lifecycle.undeliverable(job, event.type))
    log.error("dead-lettered %s %s (job %s)", event.type, event.id, job_id)
    return "recorded"
