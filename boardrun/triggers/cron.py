"""The periodic repair that fires schedules: each active `cron` event's newest due slot starts
its board once.

Once across replicas and restarts: the job of a slot carries an idempotency key made of the event
and the slot, unique in the database, so a second replica (or the same one after a crash) finds
the job instead of starting another. Only the newest due slot is considered: slots missed while
nothing ran are skipped, except the last one, which fires on recovery.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update

from boardrun.db import session_scope, utcnow
from boardrun.triggers import services
from boardrun.triggers.models import AppEvent

log = logging.getLogger(__name__)


def latest_slot(expression: str, tz_name: str, now: datetime) -> datetime:
    """The newest scheduled time at or before `now` (UTC), computed in the event's time zone."""
    from croniter import croniter

    local_now = now.astimezone(ZoneInfo(tz_name))
    # croniter's get_prev is strictly before its start: start just after `now` so `now` itself counts.
    itr = croniter(expression, local_now + timedelta(microseconds=1), ret_type=datetime)
    return itr.get_prev(datetime).astimezone(timezone.utc)


def fire_due_schedules(now: datetime | None = None) -> int:
    """Start the jobs of every schedule slot that is due; returns how many this call started."""
    now = now or utcnow()
    with session_scope() as session:
        events = session.scalars(select(AppEvent).where(AppEvent.event_type == "cron", AppEvent.active.is_(True))).all()
    started = 0
    for event in events:
        config = event.config or {}
        try:
            slot = latest_slot(config["cron_expression"], config.get("cron_timezone", "UTC"), now)
        except (KeyError, ValueError) as exc:  # validated at creation: only a hand-edited row gets here
            log.warning("event %s has an unusable schedule: %s", event.id, exc)
            continue
        done_until = event.cron_last_slot or event.created_at
        if slot <= done_until:
            continue
        try:
            submission = services.fire(
                event,
                kind="cron",
                payload={"scheduled_at": slot.isoformat(), "cron_expression": config["cron_expression"],
                         "cron_timezone": config.get("cron_timezone", "UTC")},
                dedupe=services.dedupe_key("cron", event.id, slot.isoformat()),
                details={"scheduled_at": slot.isoformat()},
            )
        except Exception as exc:  # noqa: BLE001 - one broken event must not stop the others' schedules
            log.warning("schedule slot %s of event %s did not start: %s", slot.isoformat(), event.id, exc)
            continue
        started += not submission.replayed
        with session_scope() as session:
            session.execute(
                update(AppEvent)
                .where(AppEvent.id == event.id, or_(AppEvent.cron_last_slot.is_(None), AppEvent.cron_last_slot < slot))
                .values(cron_last_slot=slot)
            )
    return started
