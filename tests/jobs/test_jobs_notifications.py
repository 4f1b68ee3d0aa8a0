"""A board's Notify User node reaches the job's stored log through the executor."""

from __future__ import annotations


def test_notification_is_recorded_in_job_log(workspace):
    """notify_user's 'notification' event is kept with the job's log lines (kind, node and title)."""
    from boardrun.testing.boards import BoardBuilder

    b = BoardBuilder()
    start = b.add("events_generic", "start")
    note = b.add("notify_user", "note", title="Report ready", link="https://example.com/r/1")
    ret = b.add("events_generic_return_result", "ret")
    b.chain(start, note, ret)
    b.connect(note, "success", ret, "response")
    workspace.put_board("notify", b.build())
    job_id = workspace.submit("notify", payload={}, mode="sync").json()["job_id"]
    job = workspace.wait(job_id)
    assert job["status"] == "completed", job.get("error")
    lines = workspace.client.get(f"/jobs/{job_id}/logs", headers=workspace.headers).json()["lines"]
    notes = [line for line in lines if line.get("kind") == "notification"]
    assert len(notes) == 1
    assert (notes[0]["node_id"], notes[0]["message"]) == ("note", "Report ready")
    assert notes[0]["data"]["link"] == "https://example.com/r/1"
