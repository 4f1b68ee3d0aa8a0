"""Cron events: the newest due slot fires once (older missed ones are skipped), in the event's
time zone; a changed or paused schedule does not fire old slots; the embedded server's tick fires
them; two processes sharing one PostgreSQL start a slot's job once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, text

from boardrun.triggers.cron import fire_due_schedules, latest_slot
from tests.conftest import ROOT
from tests.triggers.test_events_api import create

NOW = datetime(2026, 7, 1, 8, 31, 20, tzinfo=timezone.utc)


def cron_event(ws, expression, tz="UTC", **extra):
    return create(ws, {"name": "tick", "event_type": "cron", "board_id": "echo",
                       "config": {"cron_expression": expression, "cron_timezone": tz}, **extra})


def backdate(database_url: str, event_id: str, when: datetime) -> None:
    """As if the event had existed since `when` and nothing had run since (a server that was down)."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE app_events SET created_at = :t, cron_last_slot = :t WHERE id = :id"),
                     {"t": when, "id": event_id})
    engine.dispose()


def jobs_of(ws, event_id):
    return ws.client.get(f"/jobs?app_id={ws.app_id}&event_id={event_id}", headers=ws.headers).json()["jobs"]


def test_latest_slot_is_computed_in_the_events_time_zone():
    """09:00 in Berlin (summer time) is 07:00 UTC; a slot exactly at 'now' counts as due."""
    assert latest_slot("0 9 * * *", "Europe/Berlin", NOW) == datetime(2026, 7, 1, 7, 0, tzinfo=timezone.utc)
    assert latest_slot("*/5 * * * *", "UTC", NOW) == datetime(2026, 7, 1, 8, 30, tzinfo=timezone.utc)
    exact = datetime(2026, 7, 1, 8, 35, tzinfo=timezone.utc)
    assert latest_slot("*/5 * * * *", "UTC", exact) == exact


def test_only_the_newest_missed_slot_fires_and_only_once(local, env):
    """After an hour of downtime a */5 schedule fires one job, for the newest slot; a second tick
    starts nothing more."""
    event = cron_event(local, "*/5 * * * *")
    backdate(env["database_url"], event["id"], datetime(2026, 7, 1, 7, 30, tzinfo=timezone.utc))
    assert fire_due_schedules(NOW) == 1
    assert fire_due_schedules(NOW) == 0
    jobs = jobs_of(local, event["id"])
    assert len(jobs) == 1
    assert jobs[0]["trigger"] == {"kind": "cron", "event_id": event["id"], "scheduled_at": "2026-07-01T08:30:00+00:00"}


def test_changed_and_paused_schedules_do_not_fire_old_slots(local, env):
    """Changing the expression starts the schedule afresh (no slot before the change fires); a paused
    event never fires."""
    event = cron_event(local, "*/5 * * * *")
    paused = cron_event(local, "*/5 * * * *", active=False)
    backdate(env["database_url"], event["id"], datetime(2026, 7, 1, 7, 30, tzinfo=timezone.utc))
    backdate(env["database_url"], paused["id"], datetime(2026, 7, 1, 7, 30, tzinfo=timezone.utc))
    body = {"name": "tick", "event_type": "cron", "board_id": "echo", "config": {"cron_expression": "*/10 * * * *"}}
    assert local.client.put(f"/api/v1/apps/{local.app_id}/events/{event['id']}", json=body,
                            headers=local.headers).status_code == 200
    assert fire_due_schedules(NOW) == 0  # the edit happened 'now' (after NOW's slots)
    assert jobs_of(local, paused["id"]) == []


def test_the_embedded_servers_tick_fires_a_due_slot(monkeypatch, env, request):
    """With the server's tick (TICK_SECONDS=1), a yearly slot missed while nothing ran fires once
    on recovery and its job runs to completion."""
    monkeypatch.setenv("TICK_SECONDS", "1")
    ws = request.getfixturevalue("workspace")
    event = cron_event(ws, "0 0 1 1 *")
    backdate(env["database_url"], event["id"], datetime(2025, 12, 31, tzinfo=timezone.utc))
    deadline = time.monotonic() + 30
    while not jobs_of(ws, event["id"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    jobs = jobs_of(ws, event["id"])
    assert len(jobs) == 1, jobs
    done = ws.wait(jobs[0]["job_id"])
    assert done["status"] == "completed" and done["result"]["scheduled_at"] == "2026-01-01T00:00:00+00:00"
    assert fire_due_schedules() == 0 and len(jobs_of(ws, event["id"])) == 1


def test_two_processes_sharing_postgresql_fire_a_slot_once(local, env):
    """Two processes tick at the same moment against one PostgreSQL database: one job for the slot."""
    if not env["database_url"].startswith("postgresql"):
        pytest.skip("replicas share a PostgreSQL database; SQLite is single-process (embedded mode)")
    event = cron_event(local, "0 0 1 1 *")
    backdate(env["database_url"], event["id"], datetime(2025, 12, 31, tzinfo=timezone.utc))
    code = ("import sys, time; from boardrun.triggers.cron import fire_due_schedules; "
            "time.sleep(max(0.0, float(sys.argv[1]) - time.time())); print(fire_due_schedules())")
    start_at = str(time.time() + 3)  # both past their imports, then tick together
    procs = [subprocess.Popen([sys.executable, "-c", code, start_at], cwd=ROOT, env=dict(os.environ),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert sorted(int(out.strip().splitlines()[-1]) for out, _ in outputs) == [0, 1]
    assert len(jobs_of(local, event["id"])) == 1
