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

from boardrun.eventing import catalog
from boardrun.eventing.cloudevents_adapter import Event
from boardrun.eventing.publisher import PublishError, get_publisher
from boardrun.executor import EXIT_CRASH, EXIT_OK, EXIT_REPORTED_FAILURE
from boardrun.jobs import signing
from boardrun.logs import configure_logging
from boardrun.storage import get_storage

log = logging.getLogger("boardrun.executor")

# Results up to this size travel inside the completion event; larger ones are stored
# and the event carries a reference (CloudEvents intermediaries promise only 64 KiB).
INLINE_RESULT_BYTES = 16 * 1024
PROGRESS_EVENTS_PER_SECOND = 5
PUBLISH_ATTEMPTS = 4
# Texts from the board (log lines, error messages) are cut so an event stays small.
MAX_MESSAGE_CHARS = 2000


def _clip(text: str | None) -> str | None:
    return text if text is None or len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS] + "…"


class Reporter:
    """Signs and publishes this job's events; a few retries, then gives up (the stored
    outcome and the dispatcher's reconcile make a lost event harmless)."""

    def __init__(self, job_id: str, token: str):
        self.job_id, self.token = job_id, token
        self.source = catalog.executor_source(job_id)
        self._last_progress = 0.0

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        event = Event(type=event_type, source=self.source, subject=self.job_id, data={"job_id": self.job_id, **data},
                      extensions={catalog.EXT_JOB_ID: self.job_id})
        event = event.with_extensions(**{catalog.EXT_SIGNATURE: signing.sign(event, self.job_id, self.token)})
        for attempt in range(1, PUBLISH_ATTEMPTS + 1):
            try:
                get_publisher().publish(event)
                return
            except PublishError as exc:
                log.warning("could not send %s (attempt %d): %s", event_type, attempt, exc)
                if attempt < PUBLISH_ATTEMPTS:
                    time.sleep(0.2 * 2**attempt)

    def progress(self, data: dict[str, Any], *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_progress < 1 / PROGRESS_EVENTS_PER_SECOND:
            return  # keep the broker for status, not for every log line
        self._last_progress = now
        self.emit(catalog.JOB_PROGRESS, data)


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
    from boardrun.jobs import states

    common = {"steps": result.steps, "duration_ms": round(result.duration_ms, 3), **resource_usage()}
    if result.status == "completed":
        encoded = json.dumps(result.result).encode()
        if len(encoded) <= INLINE_RESULT_BYTES:
            return catalog.JOB_COMPLETED, {**common, "result": result.result, "result_ref": None}
        key = f"jobs/{job_id}/result.json"
        storage.put(key, encoded, "application/json")
        return catalog.JOB_COMPLETED, {**common, "result_ref": {"key": key, "size_bytes": len(encoded)}}
    if result.status == "cancelled":
        return catalog.JOB_CANCELLED, common
    reason = result.reason or "node_error"
    code = {"deadline": states.TIMEOUT, "unknown_start_node": states.INVALID_BOARD}.get(reason, reason)
    error = dict(result.error or {})
    message = error.pop("message", None) or {
        states.STEP_LIMIT: "the run exceeded its step limit",
        states.TIMEOUT: "the run exceeded its deadline",
        states.INVALID_BOARD: "the board is not valid",
    }.get(code, "the board failed")
    return catalog.JOB_FAILED, {**common, "error": {"code": code, "message": _clip(message), **error}}


def main() -> int:
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    job_id, spec_key, token = os.environ.get("JOB_ID"), os.environ.get("JOB_SPEC_KEY"), os.environ.get("JOB_TOKEN")
    if not (job_id and spec_key and token):
        log.error("JOB_ID, JOB_SPEC_KEY and JOB_TOKEN are required")
        return EXIT_CRASH
    if os.environ.get("BOARDRUN_EXIT_WITH_PARENT") == "1":
        _exit_with_parent()

    from boardrun.engine import CancelToken, EgressPolicy, RunLimits, load_board, run_board

    cancel = CancelToken()
    signal.signal(signal.SIGTERM, lambda *_: cancel.cancel())  # cancellation and pod shutdown
    storage = get_storage()
    reporter = Reporter(job_id, token)
    try:
        spec = json.loads(storage.get(spec_key))
        board = load_board(json.loads(storage.get(spec["board_key"])))
    except Exception as exc:  # storage down, spec missing: a crash the reconcile will report
        log.error("job %s cannot start: %s", job_id, exc)
        return EXIT_CRASH
    # A one-shot process: the loaded board lives until exit, so keep the collector from
    # rescanning it (a full collection of a large board costs more than its run).
    gc.freeze()
    reporter.emit(catalog.JOB_STARTED, {"attempt": int(os.environ.get("JOB_ATTEMPT", "1")), "runner": os.uname().nodename})

    log_lines: list[dict[str, Any]] = []

    def on_event(ev) -> None:
        if ev.kind in ("log", "progress", "toast", "notification"):
            log_lines.append(ev.to_dict())
            important = ev.kind == "progress" or ev.level in ("Error", "Fatal")
            reporter.progress(
                {"kind": ev.kind, "node_id": ev.node_id, "node_name": ev.node_name, "level": ev.level,
                 "message": _clip(ev.message), "progress": ev.data if isinstance(ev.data, (int, float)) else None},
                force=important and ev.kind == "progress",
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
        egress=EgressPolicy.from_env(),
        user=spec.get("user"),  # the submitting user; specs written before it existed have none
    )
    event_type, data = outcome_of(result, storage, job_id)
    try:
        if log_lines:
            storage.put(f"jobs/{job_id}/log.jsonl", "\n".join(json.dumps(line) for line in log_lines).encode(), "application/x-ndjson")
        # The outcome is stored before it is announced, so a lost event cannot lose it.
        storage.put(f"jobs/{job_id}/outcome.json", json.dumps({"type": event_type, "data": data}).encode(), "application/json")
    except Exception as exc:
        log.error("job %s: cannot store its outcome: %s", job_id, exc)
    reporter.emit(event_type, data)
    log.info("job %s %s in %d steps", job_id, result.status, result.steps)
    return EXIT_REPORTED_FAILURE if event_type == catalog.JOB_FAILED else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
