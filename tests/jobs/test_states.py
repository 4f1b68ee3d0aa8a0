"""The state machine is monotonic: late or duplicated events never move a job back."""

import pytest

from boardrun.jobs import states
from boardrun.jobs.models import Job


def _job(status="queued"):
    return Job(id="job-1", status=status, started_at=None, completed_at=None)


@pytest.mark.parametrize(
    "path, final",
    [
        (["running", "completed"], "completed"),
        (["completed", "running"], "completed"),  # a late 'started' after completion
        (["running", "failed", "completed"], "failed"),  # terminal is final
        (["cancelled", "running"], "cancelled"),
        (["running", "running", "cancelled"], "cancelled"),
        (["failed"], "failed"),  # queued may go straight to a terminal state
    ],
)
def test_transitions_only_move_forward(path, final):
    """Whatever order events arrive in, the job ends in the first terminal state it reached."""
    job = _job()
    for status in path:
        states.transition(job, status, error={"code": "x", "message": "y"})
    assert job.status == final


def test_timestamps_and_payloads():
    """Running sets started_at once; completion sets completed_at and the result."""
    job = _job()
    assert states.transition(job, "running")
    started = job.started_at
    assert not states.transition(job, "running")
    assert job.started_at == started
    assert states.transition(job, "completed", result={"ok": True}, steps=3)
    assert job.completed_at is not None and job.result == {"ok": True} and job.steps == 3


def test_unknown_state_is_refused():
    """A typo in a state name is a programming error, not a silent no-op."""
    with pytest.raises(ValueError):
        states.transition(_job(), "done")
