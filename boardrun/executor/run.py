"""One job's run: spec and board from storage → board engine → outcome and events."""

from __future__ import annotations

import gc
import json
import logging
import os
import signal
import sys
import threading
import time
from typing import Any

from boardrun.config import get_settings, settings_or_exit
from boardrun.eventing import catalog
from boardrun.eventing.cloudevents_adapter import Event
from boardrun.eventing.publisher import PublishError, get_publisher
from boardrun.executor import EXIT_CRASH, EXIT_OK, EXIT_REPORTED_FAILURE, EXIT_UNREPORTED
from boardrun.jobs import signing
from boardrun.logs import configure_logging
from boardrun.storage import get_storage

log = logging.getLogger("boardrun.executor")

# Results up to this size travel inside the completion event; larger ones are stored
# and the event carries a reference (CloudEvents intermediaries promise only 64 KiB).
INLINE_RESULT_BYTES = 16 * 1024
PUBLISH_ATTEMPTS = 4
# A run reports its start only once it has been running this long and has sent nothing else
# (a progress report says as much): most runs are shorter, and their terminal report is their
# only event. The report says how long the run had been going, so started_at stays exact.
STARTED_REPORT_DELAY = 0.25
# The stream's last batch rides in the terminal event (one delivery, one transaction) when
# both together stay this small; otherwise it is sent on its own first. Below the 64 KiB
# CloudEvents intermediaries promise, with room for the headers.
MAX_FOLDED_BYTES = 56 * 1024
# Texts from the board (log lines, error messages) are cut so an event stays small.
MAX_MESSAGE_CHARS = 2000


def max_result_bytes() -> int:
    """The largest result a job may return (JSON-encoded); larger fails `result_too_large`."""
    return get_settings().jobs.max_result_bytes


def max_log_bytes() -> int:
    """How much of the run's log is stored; lines beyond it are dropped (the log says so)."""
    return get_settings().jobs.max_log_bytes


class _Log:
    """The run's log lines as JSON text, up to a byte budget; then one line saying so."""

    def __init__(self, budget: int):
        self.lines: list[str] = []
        self.budget, self.size, self.dropped = budget, 0, 0

    def add(self, line: dict[str, Any]) -> None:
        if self.dropped:
            self.dropped += 1
            return
        text = json.dumps(line)
        if self.size + len(text) + 1 > self.budget:
            self.dropped = 1
            return
        self.lines.append(text)
        self.size += len(text) + 1

    def text(self) -> str:
        lines = self.lines
        if self.dropped:
            note = {"kind": "log", "level": "Warn", "node_id": None, "node_name": None,
                    "message": f"log truncated: {self.dropped} more line(s) beyond JOB_MAX_LOG_BYTES ({self.budget} bytes)"}
            lines = lines + [json.dumps(note)]
        return "\n".join(lines)


def _clip(text: str | None) -> str | None:
    return text if text is None or len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS] + "…"


class Reporter:
    """Signs and publishes this job's events; a few retries, then gives up (the stored
    outcome and the dispatcher's reconcile make a lost event harmless)."""

    def __init__(self, job_id: str, token: str, *, progress_interval: float = 1.0):
        self.job_id, self.token = job_id, token
        self.source = catalog.executor_source(job_id)
        self.progress_interval = progress_interval
        self._lock = threading.Lock()
        self._last_progress = float("-inf")
        self._pending: dict[str, Any] | None = None  # the newest report not sent yet
        self._timer: threading.Timer | None = None
        self._running_reported = False  # a start or progress report went out (either shows the job running)
        self._start_timer: threading.Timer | None = None

    def start_later(self, data: dict[str, Any], delay: float = STARTED_REPORT_DELAY) -> None:
        """Send job.started after `delay`, unless a progress report went out first or the run
        ended (`cancel_start`): a job that finishes sooner goes straight to its outcome."""
        began = time.monotonic()

        def send() -> None:
            with self._lock:
                if self._running_reported:
                    return
                self._running_reported = True  # decided: a progress report from now on comes after it
            self.emit(catalog.JOB_STARTED, {**data, "running_ms": round((time.monotonic() - began) * 1000, 3)})

        self._start_timer = threading.Timer(delay, send)
        self._start_timer.daemon = True
        self._start_timer.start()

    def cancel_start(self) -> None:
        if self._start_timer is not None:
            self._start_timer.cancel()

    def emit(self, event_type: str, data: dict[str, Any]) -> bool:
        """Sign and send one event; False when every attempt failed."""
        if event_type == catalog.JOB_PROGRESS:  # (stream batches say nothing of the job's status)
            with self._lock:
                self._running_reported = True
        event = Event(type=event_type, source=self.source, subject=self.job_id, data={"job_id": self.job_id, **data},
                      extensions={catalog.EXT_JOB_ID: self.job_id})
        event = event.with_extensions(**{catalog.EXT_SIGNATURE: signing.sign(event, self.job_id, self.token)})
        for attempt in range(1, PUBLISH_ATTEMPTS + 1):
            try:
                get_publisher().publish(event)
                return True
            except PublishError as exc:
                log.warning("could not send %s (attempt %d): %s", event_type, attempt, exc)
                if attempt < PUBLISH_ATTEMPTS:
                    time.sleep(0.2 * 2**attempt)
        return False

    def progress(self, data: dict[str, Any]) -> None:
        """Coalesce progress: at most one report per interval goes out; one that comes
        sooner replaces the waiting one, which a timer sends when the interval is up.
        (Keeps the broker for status, not for every step of a loop.)"""
        with self._lock:
            wait = self._last_progress + self.progress_interval - time.monotonic()
            if wait > 0:
                self._pending = data
                if self._timer is None:
                    self._timer = threading.Timer(wait, self._send_pending)
                    self._timer.daemon = True
                    self._timer.start()
                return
            self._last_progress = time.monotonic()
        self.emit(catalog.JOB_PROGRESS, data)

    def _send_pending(self) -> None:
        with self._lock:
            self._timer = None
            data, self._pending = self._pending, None
            if data is None:
                return
            self._last_progress = time.monotonic()
        self.emit(catalog.JOB_PROGRESS, data)

    def flush(self) -> None:
        """Send the newest waiting report now (before the outcome: the last state is
        always delivered)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            data, self._pending = self._pending, None
        if data is not None:
            self.emit(catalog.JOB_PROGRESS, data)


class EventStream:
    """Numbers the run's stream events (log lines, progress, toasts, chat updates) from 1 and sends
    them in batches from a background thread, so a board streaming chunks is not slowed down by
    the broker. Every event is kept (nothing is rate-limited away); a batch stays well below the
    64 KiB CloudEvents limit, and an event too large for one is replaced by a note of its size."""

    FLUSH_SECONDS = 0.1
    MAX_BATCH_BYTES = 48 * 1024
    MAX_EVENT_BYTES = 32 * 1024

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self._pending: list[dict[str, Any]] = []
        self._next_seq = 1  # of the first pending event
        self._count = 0  # events added (the end marker not counted)
        self._wake = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None  # started by the first event: most runs stream none

    def add(self, item: dict[str, Any]) -> None:
        if len(json.dumps(item, default=str)) > self.MAX_EVENT_BYTES:
            item = {k: item.get(k) for k in ("kind", "time", "node_id", "node_name", "level")}
            item["message"] = "event too large to stream; the job's result and log hold it"
        with self._wake:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="event-stream", daemon=True)
                self._thread.start()
            self._pending.append(item)
            self._count += 1
            self._wake.notify()

    def close(self) -> dict[str, Any]:
        """Stop the sender and answer the last batch, ending with an 'end' marker, for the caller
        to send (with the terminal report when it fits, `fold_last_batch`); earlier batches of
        what is left are sent here. Batches may be delivered in any order: the marker tells
        readers of the stream that every event before it was sent."""
        with self._wake:
            self._closed = True
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            thread.join()
        # The sender has stopped: what is pending now is this thread's alone.
        self._pending.append({"kind": "end", "time": time.time(), "data": {"events": self._count}})
        while True:
            batch = self._take()
            if not self._pending:
                return self._numbered(batch)
            self.reporter.emit(catalog.JOB_EVENTS, self._numbered(batch))

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                # Let a burst of chunks gather into one batch (each add() notifies: wait the time out).
                gathered = time.monotonic() + self.FLUSH_SECONDS
                while not self._closed and (left := gathered - time.monotonic()) > 0:
                    self._wake.wait(left)
                if self._closed:
                    return  # close() sends what is pending
                batch = self._take()
            self.reporter.emit(catalog.JOB_EVENTS, self._numbered(batch))

    def _numbered(self, batch: list[dict[str, Any]]) -> dict[str, Any]:
        first, self._next_seq = self._next_seq, self._next_seq + len(batch)
        return {"first_seq": first, "events": batch}

    def _take(self) -> list[dict[str, Any]]:
        size, count = 0, 0
        for item in self._pending:
            size += len(json.dumps(item, default=str))
            if count and (size > self.MAX_BATCH_BYTES or count >= 500):
                break
            count += 1
        batch, self._pending = self._pending[:count], self._pending[count:]
        return batch


def fold_last_batch(job_id: str, data: dict[str, Any], batch: dict[str, Any]) -> bool:
    """Put the stream's last batch (as the job.events data it would be) into the terminal
    report's data if both fit in one event."""
    folded = {"job_id": job_id, **batch}
    if len(json.dumps(data, default=str)) + len(json.dumps(folded, default=str)) > MAX_FOLDED_BYTES:
        return False
    data["last_events"] = folded
    return True


def _exit_with_parent() -> None:
    """Locally, the executor must not outlive the server that started it."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(EXIT_CRASH)

    threading.Thread(target=watch, daemon=True).start()


def resource_usage() -> dict[str, Any]:
    """This process's CPU time and peak memory so far, for the job's metrics (empty where the
    platform has no getrusage). An executor forked by the local backend starts its CPU count at
    zero; its peak memory includes the pages it shares with the process it was forked from."""
    try:
        import resource
    except ImportError:
        return {}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_ms": round((usage.ru_utime + usage.ru_stime) * 1000, 3), "max_rss_bytes": usage.ru_maxrss * 1024}


def outcome_of(result, storage, job_id: str) -> tuple[str, dict[str, Any]]:
    """Map the engine's RunResult to a terminal event type and its data."""
    from boardrun.jobs.states import ErrorCode

    common = {"steps": result.steps, "duration_ms": round(result.duration_ms, 3), **resource_usage()}
    if result.status == "completed":
        try:
            encoded = json.dumps(result.result).encode()
        except MemoryError:
            return catalog.JOB_FAILED, {**common, "error": {"code": ErrorCode.MEMORY_LIMIT, "message": "the result does not fit in the run's memory"}}
        limit = max_result_bytes()
        if len(encoded) > limit:
            message = f"the result is {len(encoded)} bytes; the limit (JOB_MAX_RESULT_BYTES) is {limit}"
            return catalog.JOB_FAILED, {**common, "error": {"code": ErrorCode.RESULT_TOO_LARGE, "message": message}}
        if len(encoded) <= INLINE_RESULT_BYTES:
            return catalog.JOB_COMPLETED, {**common, "result": result.result, "result_ref": None}
        key = f"jobs/{job_id}/result.json"
        storage.put(key, encoded, "application/json")
        return catalog.JOB_COMPLETED, {**common, "result_ref": {"key": key, "size_bytes": len(encoded)}}
    if result.status == "cancelled":
        return catalog.JOB_CANCELLED, common
    reason = result.reason or "node_error"
    code = {"deadline": ErrorCode.TIMEOUT, "unknown_start_node": ErrorCode.INVALID_BOARD}.get(reason, reason)
    error = dict(result.error or {})
    message = error.pop("message", None) or {
        ErrorCode.STEP_LIMIT: "the run exceeded its step limit",
        ErrorCode.TIMEOUT: "the run exceeded its deadline",
        ErrorCode.INVALID_BOARD: "the board is not valid",
        ErrorCode.MEMORY_LIMIT: "the run ran out of memory",
    }.get(code, "the board failed")
    return catalog.JOB_FAILED, {**common, "error": {"code": code, "message": _clip(message), **error}}


def main() -> int:
    settings = settings_or_exit()
    configure_logging(settings.server.log_level)
    # The job's hand-off from the backend that started this process (not settings: they
    # name this one job, and only its parent knows them).
    job_id, spec_key, token = os.environ.get("JOB_ID"), os.environ.get("JOB_SPEC_KEY"), os.environ.get("JOB_TOKEN")
    if not (job_id and spec_key and token):
        log.error("JOB_ID, JOB_SPEC_KEY and JOB_TOKEN are required")
        return EXIT_CRASH
    if os.environ.get("BOARDRUN_EXIT_WITH_PARENT") == "1":  # hand-off: the local backend's child
        _exit_with_parent()

    from boardrun.engine import CancelToken, EgressPolicy, RunLimits, load_board, run_board
    from boardrun.engine.files import FilesConfig, FileServices

    cancel = CancelToken()
    signal.signal(signal.SIGTERM, lambda *_: cancel.cancel())  # cancellation and pod shutdown
    storage = get_storage()
    reporter = Reporter(job_id, token, progress_interval=settings.jobs.progress_interval)
    try:
        spec = json.loads(storage.get(spec_key))
        board = load_board(json.loads(storage.get(spec["board_key"])))
    except Exception as exc:  # storage down, spec missing: a crash the reconcile will report
        log.error("job %s cannot start: %s", job_id, exc)
        return EXIT_CRASH
    # A one-shot process: the loaded board lives until exit, so keep the collector from
    # rescanning it (a full collection of a large board costs more than its run).
    gc.freeze()
    reporter.start_later({"attempt": int(os.environ.get("JOB_ATTEMPT", "1")),  # hand-off
                          "runner": os.uname().nodename})

    run_log = _Log(max_log_bytes())
    stream = EventStream(reporter)

    def on_event(ev) -> None:
        if ev.kind in ("log", "progress", "toast", "notification", "chat"):
            stream.add({"kind": ev.kind, "time": ev.time, "node_id": ev.node_id, "node_name": ev.node_name,
                        "level": ev.level, "message": _clip(ev.message), "data": ev.data})
        if ev.kind in ("log", "progress", "toast", "notification"):
            run_log.add(ev.to_dict())
            reporter.progress(
                {"kind": ev.kind, "node_id": ev.node_id, "node_name": ev.node_name, "level": ev.level,
                 "message": _clip(ev.message), "progress": ev.data if isinstance(ev.data, (int, float)) else None},
            )

    margin = 2.0  # finish and report before the backend's own deadline kills us
    result = run_board(
        board,
        spec["node_id"],
        spec.get("payload"),
        variables=spec.get("variables") or None,
        limits=RunLimits(deadline_seconds=max(1.0, spec["deadline_seconds"] - margin)),
        cancel=cancel,
        on_event=on_event,
        egress=EgressPolicy.from_settings(settings.engine),
        user=spec.get("user"),  # the submitting user; specs written before it existed have none
        # The job's app folders, and its submitter's own ones (older specs name no user: no user folders).
        files=FileServices.from_storage(storage, spec["app_id"], (spec.get("user") or {}).get("sub"), FilesConfig.from_settings(settings.engine)),
    )
    reporter.cancel_start()
    last_batch = stream.close()
    event_type, data = outcome_of(result, storage, job_id)
    if not fold_last_batch(job_id, data, last_batch):
        reporter.emit(catalog.JOB_EVENTS, last_batch)
    try:
        if run_log.lines:
            storage.put(f"jobs/{job_id}/log.jsonl", run_log.text().encode(), "application/x-ndjson")
        # The outcome is stored before it is announced, so a lost event cannot lose it.
        storage.put(f"jobs/{job_id}/outcome.json", json.dumps({"type": event_type, "data": data}).encode(), "application/json")
    except Exception as exc:
        log.error("job %s: cannot store its outcome: %s", job_id, exc)
    reporter.flush()
    reported = reporter.emit(event_type, data)
    log.info("job %s %s in %d steps", job_id, result.status, result.steps)
    if not reported:  # the backend sees this and applies the stored outcome itself, at once
        return EXIT_UNREPORTED
    return EXIT_REPORTED_FAILURE if event_type == catalog.JOB_FAILED else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
