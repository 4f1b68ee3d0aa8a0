"""The pure job lifecycle: every rule turning a report, a command or runner evidence into a
change, the refused ones included (a late report after a terminal state changes nothing)."""

from datetime import datetime, timedelta, timezone

import pytest

from boardrun.eventing import catalog
from boardrun.jobs import lifecycle, states
from boardrun.jobs.backends.base import RunnerPhase, RunnerStatus
from boardrun.jobs.models import Job
from boardrun.jobs.states import Change, ErrorCode, JobStatus

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)
TERMINAL = sorted(states.TERMINAL)
REPORTS = [catalog.JOB_COMPLETED, catalog.JOB_FAILED, catalog.JOB_CANCELLED]
REASONS = {"OOMKilled": (ErrorCode.OOM_KILLED, "out of memory")}


def _job(status=JobStatus.QUEUED, **fields) -> Job:
    values = {"id": "job-1", "status": status, "steps": None, "started_at": None, "launched_at": None,
              "cancel_requested_at": None, "created_at": NOW - timedelta(minutes=1), "deadline_seconds": 60, **fields}
    return Job(**values)


def _finished(job, event_type, data, **kw):
    return lifecycle.finished(job, event_type, data, now=NOW, max_result_bytes=kw.pop("max_result_bytes", 1000), **kw)


def _observed(job, phase, reason=None, message=None, outcome=None, grace=timedelta(seconds=30)):
    runner = RunnerStatus(job.id, phase, reason, message)
    return lifecycle.runner_observed(job, runner, outcome, now=NOW, lost_grace=grace, failure_reasons=REASONS,
                                     max_result_bytes=1000)


# -- the state machine --------------------------------------------------------


@pytest.mark.parametrize("status", list(JobStatus))
def test_moves_go_forward_only(status):
    """queued may go anywhere but back to queued, running only to a terminal state, a terminal state nowhere."""
    allowed = {s for s in JobStatus if states.may_move(status, s)}
    expected = {
        JobStatus.QUEUED: {JobStatus.RUNNING, *states.TERMINAL},
        JobStatus.RUNNING: set(states.TERMINAL),
    }.get(status, set())
    assert allowed == expected


def test_apply_writes_a_change_and_reports_a_move():
    """A change with no move still writes its progress and steps; None writes nothing."""
    job = _job(JobStatus.RUNNING)
    assert not states.apply(job, None)
    assert not states.apply(job, Change(progress={"message": "half"}, steps=4))
    assert (job.progress, job.steps, job.status) == ({"message": "half"}, 4, JobStatus.RUNNING)
    assert states.apply(job, Change(JobStatus.COMPLETED, result=1, steps=5))
    assert (job.status, job.result, job.steps) == (JobStatus.COMPLETED, 1, 5)


def test_job_status_and_runner_phase_are_different_types():
    """'failed' as a job status and as a runner phase are equal strings but distinct enum members."""
    assert JobStatus.FAILED == RunnerPhase.FAILED == "failed"
    assert JobStatus.FAILED is not RunnerPhase.FAILED and type(JobStatus.FAILED) is not type(RunnerPhase.FAILED)


# -- executor reports ---------------------------------------------------------


@pytest.mark.parametrize("sent, expected", [
    ("2025-01-01T11:59:59.5+00:00", NOW - timedelta(milliseconds=500)),  # its own time
    ("2025-01-01T11:59:59.5Z", NOW - timedelta(milliseconds=500)),
    ("2025-01-01T13:00:00+00:00", NOW),  # a clock ahead: not later than its arrival
    ("2025-01-01T11:00:00+00:00", NOW - timedelta(seconds=10)),  # nor earlier than the launch
    ("2025-01-01T11:59:59", NOW),  # no zone: unknown, its arrival
    ("not a time", NOW),
    (None, NOW),
])
def test_a_report_happened_when_it_was_sent_within_the_launch_and_its_arrival(sent, expected):
    """A report's time is its event's own, clamped between the job's launch and now."""
    assert lifecycle.reported_at(sent, launched_at=NOW - timedelta(seconds=10), now=NOW) == expected


def test_started_moves_a_queued_job_to_running_only():
    """job.started runs a queued job; a running job does not move again."""
    assert lifecycle.started(_job(), {"attempt": 1}, now=NOW) == Change(JobStatus.RUNNING, at=NOW)
    assert lifecycle.started(_job(JobStatus.RUNNING), {"attempt": 1}, now=NOW) is None


def test_a_start_report_backdates_the_start_by_how_long_the_run_had_gone():
    """job.started says how long the board had been running (running_ms): started_at is that much earlier."""
    change = lifecycle.started(_job(), {"attempt": 1, "running_ms": 250.0}, now=NOW)
    assert change == Change(JobStatus.RUNNING, started_at=NOW - timedelta(milliseconds=250), at=NOW)


@pytest.mark.parametrize("status", TERMINAL)
def test_late_reports_after_a_terminal_state_change_nothing(status):
    """started, progress and every terminal report arriving after the end are refused."""
    job = _job(status, cancel_requested_at=NOW)
    assert lifecycle.started(job, {"attempt": 1}, now=NOW) is None
    assert lifecycle.progressed(job, {"kind": "log", "steps": 9}) is None
    for event_type in REPORTS:
        assert _finished(job, event_type, {"result": 1, "error": {"code": "x", "message": "y"}}) is None


def test_progress_runs_a_queued_job_and_records_where_it_is():
    """A progress report moves a queued job to running (its start report is late) and keeps the
    reported fields; on a running job it only updates them; no steps keeps the old count."""
    data = {"kind": "progress", "node_id": "n1", "message": "half", "progress": 0.5, "steps": 3, "extra": 1}
    change = lifecycle.progressed(_job(), data)
    assert change.status == JobStatus.RUNNING and change.steps == 3
    assert change.progress == {"node_id": "n1", "node_name": None, "kind": "progress", "level": None,
                               "message": "half", "progress": 0.5}
    assert lifecycle.progressed(_job(JobStatus.RUNNING, steps=7), {"kind": "log"}) == Change(
        None, progress={k: ("log" if k == "kind" else None) for k in lifecycle.PROGRESS_FIELDS}, steps=7)


def test_completion_carries_its_result_inline_or_by_reference():
    """job.completed completes the job with its inline result, or the key of the stored one."""
    assert _finished(_job(JobStatus.RUNNING), catalog.JOB_COMPLETED, {"result": {"a": 1}, "steps": 2}) == Change(
        JobStatus.COMPLETED, result={"a": 1}, steps=2, at=NOW)
    ref = {"key": "jobs/job-1/result.json", "size_bytes": 1000}
    assert _finished(_job(JobStatus.RUNNING), catalog.JOB_COMPLETED, {"result_ref": ref}).result_ref == ref["key"]


def test_a_result_over_the_cap_fails_the_job():
    """A stored result larger than the limit fails the job result_too_large, whatever the executor's own cap."""
    ref = {"key": "jobs/job-1/result.json", "size_bytes": 1001}
    change = _finished(_job(JobStatus.RUNNING), catalog.JOB_COMPLETED, {"result_ref": ref, "steps": 1})
    assert change.status == JobStatus.FAILED and change.error["code"] == ErrorCode.RESULT_TOO_LARGE and change.steps == 1


def test_failure_keeps_the_executors_error():
    """job.failed fails the job with the error the executor reported."""
    error = {"code": "node_error", "message": "boom", "node_id": "n"}
    assert _finished(_job(JobStatus.RUNNING), catalog.JOB_FAILED, {"error": error}) == Change(JobStatus.FAILED, error=error, at=NOW)


def test_a_cancelled_report_is_a_cancel_only_if_someone_asked():
    """job.cancelled after a cancel request cancels the job; without one the executor was
    stopped by something else (shutdown, drain, eviction): the job fails interrupted."""
    asked = _finished(_job(JobStatus.RUNNING, cancel_requested_at=NOW), catalog.JOB_CANCELLED, {})
    assert asked == Change(JobStatus.CANCELLED, error={"code": ErrorCode.CANCELLED, "message": "cancelled by request"}, at=NOW)
    unasked = _finished(_job(JobStatus.RUNNING), catalog.JOB_CANCELLED, {})
    assert unasked.status == JobStatus.FAILED and unasked.error["code"] == ErrorCode.INTERRUPTED


def test_a_terminal_report_without_a_start_dates_the_start_from_the_runs_duration():
    """If the start report never came, the run's own duration says when it began; a known start is kept."""
    change = _finished(_job(), catalog.JOB_COMPLETED, {"result": 1, "duration_ms": 1500})
    assert change.started_at == NOW - timedelta(milliseconds=1500)
    started = _job(JobStatus.RUNNING, started_at=NOW - timedelta(hours=1))
    assert _finished(started, catalog.JOB_COMPLETED, {"result": 1, "duration_ms": 1500}).started_at is None


def test_an_unknown_report_type_is_a_programming_error():
    """finished() accepts only the three terminal report types."""
    with pytest.raises(ValueError):
        _finished(_job(), catalog.JOB_STARTED, {})


# -- commands -----------------------------------------------------------------


def test_cancel_and_launch_failure_end_an_active_job_only():
    """A carried-out cancel cancels, a refused launch fails launch_failed; neither touches a finished job."""
    for status in (JobStatus.QUEUED, JobStatus.RUNNING):
        assert lifecycle.cancelled(_job(status), "cancelled before it started") == Change(
            JobStatus.CANCELLED, error={"code": ErrorCode.CANCELLED, "message": "cancelled before it started"})
        assert lifecycle.launch_failed(_job(status), "403") == Change(
            JobStatus.FAILED, error={"code": ErrorCode.LAUNCH_FAILED, "message": "403"})
    for status in TERMINAL:
        assert lifecycle.cancelled(_job(status)) is None and lifecycle.launch_failed(_job(status), "x") is None


def test_a_runner_may_start_only_for_an_active_job_nobody_cancelled():
    """may_launch: queued or running and no cancel request."""
    assert lifecycle.may_launch(_job()) and lifecycle.may_launch(_job(JobStatus.RUNNING))
    assert not lifecycle.may_launch(_job(cancel_requested_at=NOW))
    assert not any(lifecycle.may_launch(_job(status)) for status in TERMINAL)


@pytest.mark.parametrize(
    "event_type, fields, fails",
    [
        (catalog.JOB_SUBMITTED, {}, True),  # still waiting for its launch
        (catalog.JOB_SUBMITTED, {"launched_at": NOW}, False),  # the redispatch launched it meanwhile
        (catalog.JOB_SUBMITTED, {"cancel_requested_at": NOW}, False),
        (catalog.JOB_CANCEL_REQUESTED, {"cancel_requested_at": NOW}, True),
        (catalog.JOB_CANCEL_REQUESTED, {}, False),  # a cancel nobody asked for (a replay)
        (catalog.JOB_COMPLETED, {}, False),  # an executor report: kept, the repairs settle the job
    ],
)
def test_a_dead_letter_fails_only_a_job_still_waiting_for_it(event_type, fields, fails):
    """An undeliverable command fails its job as undeliverable only while the job waits for it."""
    change = lifecycle.undeliverable(_job(**fields), event_type)
    if fails:
        assert change.status == JobStatus.FAILED and change.error["code"] == ErrorCode.UNDELIVERABLE
    else:
        assert change is None
    assert lifecycle.undeliverable(_job(JobStatus.COMPLETED, **fields), event_type) is None


# -- runner evidence ----------------------------------------------------------


def test_only_a_failed_finished_or_missing_runner_can_end_a_job():
    """A pending or running runner proves nothing; a finished job takes no evidence."""
    ended = {phase for phase in RunnerPhase if lifecycle.runner_ended(_job(JobStatus.RUNNING), RunnerStatus("job-1", phase))}
    assert ended == {RunnerPhase.FAILED, RunnerPhase.SUCCEEDED, RunnerPhase.MISSING}
    assert _observed(_job(JobStatus.RUNNING, launched_at=NOW - timedelta(hours=1)), RunnerPhase.RUNNING) is None
    for status in TERMINAL:
        assert not lifecycle.runner_ended(_job(status), RunnerStatus("job-1", RunnerPhase.FAILED))
        assert _observed(_job(status, launched_at=NOW - timedelta(hours=1)), RunnerPhase.MISSING) is None


def test_the_stored_outcome_wins_over_the_runners_evidence():
    """A runner that failed after the executor stored its outcome: the outcome is what the board did."""
    outcome = {"type": catalog.JOB_COMPLETED, "data": {"result": 5, "steps": 1}}
    change = _observed(_job(JobStatus.RUNNING, launched_at=NOW), RunnerPhase.FAILED, "OOMKilled", outcome=outcome)
    assert change == Change(JobStatus.COMPLETED, result=5, steps=1, at=NOW)


def test_a_runner_stopped_on_request_cancels_the_job():
    """Reason Cancelled: the backend stopped it before it could report."""
    change = _observed(_job(JobStatus.RUNNING, launched_at=NOW), RunnerPhase.FAILED, "Cancelled")
    assert change.status == JobStatus.CANCELLED and change.error["code"] == ErrorCode.CANCELLED


def test_a_vanished_runner_is_lost_only_after_the_grace():
    """A missing runner fails the job lost_runner once the grace since its launch is over; an unlaunched job is never lost."""
    assert _observed(_job(JobStatus.RUNNING, launched_at=NOW - timedelta(seconds=10)), RunnerPhase.MISSING) is None
    assert _observed(_job(), RunnerPhase.MISSING) is None
    lost = _observed(_job(JobStatus.RUNNING, launched_at=NOW - timedelta(seconds=31)), RunnerPhase.MISSING, "Deleted")
    assert lost.error == {"code": ErrorCode.LOST_RUNNER, "message": "the executor vanished without reporting",
                          "runner_reason": "Deleted"}
    at_once = _observed(_job(JobStatus.RUNNING, launched_at=NOW), RunnerPhase.MISSING, grace=timedelta(0))
    assert at_once.error["code"] == ErrorCode.LOST_RUNNER


def test_a_runner_that_finished_or_failed_without_an_outcome_fails_the_job():
    """Succeeded without a report is lost_runner; a failure reason the backend names maps to its code, any other is lost_runner."""
    launched = {"launched_at": NOW}
    done = _observed(_job(JobStatus.RUNNING, **launched), RunnerPhase.SUCCEEDED)
    assert done.error["code"] == ErrorCode.LOST_RUNNER and "without reporting an outcome" in done.error["message"]
    oom = _observed(_job(JobStatus.RUNNING, **launched), RunnerPhase.FAILED, "OOMKilled", "exit code 137")
    assert oom.error == {"code": ErrorCode.OOM_KILLED, "message": "out of memory: exit code 137", "runner_reason": "OOMKilled"}
    crash = _observed(_job(JobStatus.RUNNING, **launched), RunnerPhase.FAILED, "Crashed")
    assert crash.error == {"code": ErrorCode.LOST_RUNNER, "message": "the executor failed", "runner_reason": "Crashed"}


# -- the periodic repairs -----------------------------------------------------


def test_the_deadline_fails_a_launched_job_only_past_deadline_and_grace():
    """timeout once launched_at + deadline + grace has passed; never for an unlaunched or finished job."""
    grace = timedelta(seconds=30)
    due = NOW - timedelta(seconds=91)
    assert lifecycle.past_deadline(_job(JobStatus.RUNNING, launched_at=NOW - timedelta(seconds=90)), now=NOW, grace=grace) is None
    change = lifecycle.past_deadline(_job(JobStatus.RUNNING, launched_at=due), now=NOW, grace=grace)
    assert change.status == JobStatus.FAILED and change.error["code"] == ErrorCode.TIMEOUT
    assert lifecycle.past_deadline(_job(), now=NOW, grace=grace) is None
    assert lifecycle.past_deadline(_job(JobStatus.COMPLETED, launched_at=due), now=NOW, grace=grace) is None


def test_a_job_never_launched_within_the_queue_timeout_fails():
    """not_dispatched once the queue timeout has passed since submission; a launched job is not judged."""
    timeout = timedelta(minutes=30)
    old = NOW - timedelta(minutes=31)
    assert lifecycle.never_dispatched(_job(), now=NOW, queue_timeout=timeout) is None
    assert lifecycle.never_dispatched(_job(created_at=old), now=NOW, queue_timeout=timeout).error["code"] == ErrorCode.NOT_DISPATCHED
    assert lifecycle.never_dispatched(_job(created_at=old, launched_at=NOW), now=NOW, queue_timeout=timeout) is None
    assert lifecycle.never_dispatched(_job(JobStatus.CANCELLED, created_at=old), now=NOW, queue_timeout=timeout) is None


def test_a_redispatch_is_due_for_an_old_unlaunched_job_nobody_cancelled():
    """Redispatch only a job unlaunched past the delay, not cancelled, not finished."""
    after = timedelta(seconds=60)
    old = NOW - timedelta(seconds=61)
    assert lifecycle.due_for_redispatch(_job(created_at=old), now=NOW, after=after)
    assert not lifecycle.due_for_redispatch(_job(created_at=NOW - timedelta(seconds=59)), now=NOW, after=after)
    assert not lifecycle.due_for_redispatch(_job(created_at=old, launched_at=NOW), now=NOW, after=after)
    assert not lifecycle.due_for_redispatch(_job(created_at=old, cancel_requested_at=NOW), now=NOW, after=after)
    assert not lifecycle.due_for_redispatch(_job(JobStatus.FAILED, created_at=old), now=NOW, after=after)
