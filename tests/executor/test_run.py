"""The executor's reporter and event stream (boardrun/executor/run.py), publishing to the
library's in-process publisher: which reports a run sends, and when."""

from boardrun.eventing import catalog
from boardrun.eventing.publisher import InProcessPublisher
from boardrun.executor import run


def _reporter(monkeypatch) -> tuple[run.Reporter, list]:
    sent: list = []
    monkeypatch.setattr(run, "get_publisher", lambda: InProcessPublisher("test://sink", sent.append))
    return run.Reporter("job-1", "token-1", progress_interval=60), sent


def test_a_stream_batch_does_not_stand_in_for_the_start_report(monkeypatch):
    """A run that has only streamed events (chat chunks: job.events, no progress) still reports
    its start: a batch says nothing of the job's status."""
    reporter, sent = _reporter(monkeypatch)
    reporter.emit(catalog.JOB_EVENTS, {"first_seq": 1, "events": [{"kind": "chat", "data": "hi"}]})
    reporter.start_later({"attempt": 1, "runner": "here"}, delay=0.0)
    reporter._start_timer.join(5)
    assert [e.type for e in sent] == [catalog.JOB_EVENTS, catalog.JOB_STARTED]
    assert sent[1].data["running_ms"] >= 0


def test_a_progress_report_stands_in_for_the_start_report(monkeypatch):
    """Once a progress report went out (it shows the job running), the start report is not sent."""
    reporter, sent = _reporter(monkeypatch)
    reporter.start_later({"attempt": 1, "runner": "here"}, delay=0.05)
    reporter.progress({"kind": "progress", "node_id": "n", "node_name": "x", "level": None, "message": None, "progress": 0.5})
    reporter._start_timer.join(5)
    assert [e.type for e in sent] == [catalog.JOB_PROGRESS]


def test_stream_events_are_gathered_into_batches(monkeypatch):
    """Events added in a burst go out together (the sender waits FLUSH_SECONDS after the first),
    not one batch per event; close() answers the rest, ending with the end marker, for the caller."""
    import time

    reporter, sent = _reporter(monkeypatch)
    stream = run.EventStream(reporter)
    for i in range(50):  # spread over about 50 ms (within FLUSH_SECONDS), as a board streams chunks
        stream.add({"kind": "log", "message": str(i)})
        time.sleep(0.001)
    last = stream.close()
    batches = [e.data for e in sent if e.type == catalog.JOB_EVENTS] + [last]
    assert len(batches) <= 2, [len(b["events"]) for b in batches]
    numbers = [n for b in batches for n in range(b["first_seq"], b["first_seq"] + len(b["events"]))]
    assert numbers == list(range(1, 52)) and last["events"][-1] == {"kind": "end", "time": last["events"][-1]["time"], "data": {"events": 50}}


def test_the_last_batch_travels_with_the_outcome_only_when_both_fit():
    """fold_last_batch puts the batch into the terminal data as the job.events data it would be,
    unless the two together pass MAX_FOLDED_BYTES (then the caller sends it on its own)."""
    data = {"steps": 1, "result": "ok"}
    batch = {"first_seq": 1, "events": [{"kind": "end", "data": {"events": 0}}]}
    assert run.fold_last_batch("job-1", data, batch) and data["last_events"] == {"job_id": "job-1", **batch}
    big = {"steps": 1, "result": "x" * run.MAX_FOLDED_BYTES}
    assert not run.fold_last_batch("job-1", big, batch) and "last_events" not in big
