"""The embedded job backend: one executor subprocess per job (isolated like a pod).

Each executor is forked from a multiprocessing fork server that has already imported
the executor and the board engine, so a job does not pay for a Python start and its
imports (hundreds of milliseconds) yet still runs in a process of its own, with its
own environment, working directory, log file and process group.

The executor gets an explicit environment, never the server's (which holds the token
signing key, the job-token secret, the database URL): the variables it needs (below),
every `ENGINE_*`, `AI_*` and `OPENAI_*` setting, and the names listed in
`ENGINE_ENV_ALLOWLIST`. The fork server itself is started with that reduced
environment, since a forked process's /proc/<pid>/environ shows the environment its
ancestor was exec'd with. It runs in a fresh private temp folder (its HOME and TMPDIR
too), removed when it ends, and its address space is capped (JOB_MEMORY_LIMIT_MB). It
still runs as the server's user: README's "Security model" says what that does not
isolate.

One spare executor is kept forked ahead of need (`_Spare`): the next job is handed to it
through a pipe, so the fork and the child's start (about half of a short job's latency)
are not on its path. A spare runs one job only, like any executor, and its environment,
folder, log file and memory cap are the job's, set at the hand-off.

A concurrency limit (jobs beyond it
wait in launch order), a per-job deadline (SIGTERM, a grace period, then SIGKILL),
and cancel the same way. When a process ends, `on_exit` is told how, so a runner
that crashed or was killed ends its job `failed` instead of leaving it running.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import threading
from types import ModuleType
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from boardrun.config import Settings, get_settings
from boardrun.executor import EXIT_REPORTED_FAILURE, EXIT_UNREPORTED
from boardrun.private_files import private_dir
from boardrun.jobs.backends.base import (
    CANCELLED_REASON,
    DEADLINE_EXCEEDED,
    JobBackend,
    LaunchSpec,
    RunnerPhase,
    RunnerStatus,
)

log = logging.getLogger(__name__)

ExitCallback = Callable[[RunnerStatus], None]
StartCallback = Callable[[str], bool]  # job id → whether it may still run (recorded as launched)


# Imported once by the fork server; every executor forked from it starts warm.
PRELOAD = [
    "boardrun.executor.run",
    "boardrun.jobs.states",
    "boardrun.engine",
    "boardrun.engine.nodes",  # the node catalogue (the registry imports it on first use)
    "boardrun.storage.local",
    "boardrun.storage.s3",  # the file services look it up on every run (boto3 itself stays lazy)
    "boardrun.jobs.backends.local",  # _executor_main's module: unpickling the process object imports it
    "encodings.idna",  # the executor's first connection to its sink looks it up
    "httpx",
    "httpcore",
]
_context = None
_context_lock = threading.Lock()

# What a Python process and the engine's HTTP client need from the environment.
_BASE_ENV = ("PATH", "LANG", "LANGUAGE", "TZ", "SSL_CERT_FILE", "SSL_CERT_DIR",
             "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy", "all_proxy")
_PASSED_PREFIXES = ("LC_", "ENGINE_", "AI_", "OPENAI_")
# Storage credentials, when storage is S3: the executor reads the spec and writes the result.
_S3_ENV_PREFIX = "AWS_"


def executor_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment an executor gets from the server's: the allowlist above, the
    names in ENGINE_ENV_ALLOWLIST (comma-separated), then `extra` (the job's own)."""
    settings = get_settings()
    listed = settings.engine.env_allowlist
    s3 = settings.storage.url.startswith("s3://")
    # The hand-off to a child: a reduced copy of this process's environment, by name.
    env = {
        name: value
        for name, value in os.environ.items()
        if name in _BASE_ENV or name in listed or name.startswith(_PASSED_PREFIXES) or (s3 and name.startswith(_S3_ENV_PREFIX))
    }
    env.update(extra or {})
    return env


def _main_imports() -> list[str]:
    """The modules the parent's main module imported at its top level (for the preload)."""
    main = sys.modules.get("__main__")
    names = {value.__name__ if isinstance(value, ModuleType) else getattr(value, "__module__", None)
             for value in vars(main).values()} if main is not None else set()
    return sorted(n for n in names if isinstance(n, str) and n in sys.modules and n not in ("__main__", "builtins"))


def _fork_context():
    """The fork server, started on first use with the executors' environment only.

    Starting it means exec'ing a Python with the current process environment, so that
    is swapped for the reduced one for the moment of the exec. The embedded server
    does this before it serves (LocalBackend.prestart), when no other thread reads the
    environment; os.environ is restored right after."""
    global _context
    with _context_lock:
        if _context is None:
            from multiprocessing import forkserver

            ctx = multiprocessing.get_context("forkserver")
            # Each child re-runs the parent's main module (multiprocessing's "safe importing
            # of main"). Preloading that module itself would make runpy warn in every
            # executor's output that it is already imported; preloading what it imports
            # makes the re-run cost its body only.
            ctx.set_forkserver_preload(PRELOAD + _main_imports())
            reduced = executor_environment()  # (multiprocessing hands it sys.path itself)
            # Swapping the process environment is how the fork server is exec'd with the reduced one.
            saved = dict(os.environ)
            try:
                os.environ.clear()
                os.environ.update(reduced)
                forkserver.ensure_running()
            finally:
                os.environ.clear()
                os.environ.update(saved)
            _context = ctx
        return _context


def _spare_main(handoff) -> None:
    """A spare executor's entry point: it waits for its job (the arguments of `_executor_main`)
    and then runs it. End of the pipe without a job (the backend closed, the server died): exit."""
    os.setpgrp()  # its own process group from the start: signals reach all it starts
    try:
        job = handoff.recv()
    except (EOFError, OSError):
        job = None
    handoff.close()
    if job is None:
        sys.exit(0)
    # Daemonic only while idle (see _Spare): as a job's executor it may start processes of its own.
    multiprocessing.current_process().daemon = False
    _executor_main(*job)


def _executor_main(env: dict[str, str], log_path: str | None, workdir: str, memory_limit_mb: int) -> None:
    """The executor process's entry point (runs in the forked child)."""
    os.setpgrp()  # its own process group: signals reach all it starts (a no-op in a spare, already its group's leader)
    if log_path:
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    os.chdir(workdir)
    os.environ.clear()  # the hand-off: only what the backend passes, nothing of the fork server's
    os.environ.update(env)
    if memory_limit_mb > 0:
        import resource

        # RLIMIT_DATA (heap and private writable mappings), not RLIMIT_AS: native libraries
        # (LanceDB, DataFusion, Arrow) reserve gigabytes of address space they never touch, and
        # under an address-space cap they cannot even be loaded.
        limit = memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    from boardrun.executor.run import main

    sys.exit(main())


class _Spare:
    """An executor forked ahead of need, waiting for its job on a pipe."""

    def __init__(self) -> None:
        ctx = _fork_context()
        receive, self._send = ctx.Pipe(duplex=False)
        # Daemonic: should the backend never hand it a job nor close, the interpreter's exit
        # ends it instead of waiting for it.
        self.proc = ctx.Process(target=_spare_main, args=(receive,), name="executor-spare", daemon=True)
        self.proc.start()
        receive.close()

    def hand_off(self, job: tuple) -> bool:
        """Give it its job; False if it is gone (the caller starts one afresh)."""
        try:
            self._send.send(job)
            return True
        except OSError:
            self.discard()
            return False
        finally:
            self._send.close()

    def discard(self) -> None:
        self._send.close()  # end of the pipe: it exits
        self.proc.join(5)


@dataclass
class _Runner:
    spec: LaunchSpec
    proc: multiprocessing.process.BaseProcess | None = None
    workdir: str | None = None  # its private temp folder, removed when it ends
    stop_reason: str | None = None  # why we signalled it: "Cancelled" | "DeadlineExceeded"
    done: threading.Event = field(default_factory=threading.Event)


class LocalBackend(JobBackend):
    name = "local"

    def __init__(
        self,
        *,
        max_concurrent: int = 4,
        cancel_grace: float = 5.0,
        log_dir: Path | None = None,
        on_exit: ExitCallback | None = None,
        memory_limit_mb: int = 1024,
        on_start: StartCallback | None = None,
    ):
        self.max_concurrent = max_concurrent
        self.memory_limit_mb = memory_limit_mb  # 0: no limit
        self.cancel_grace = cancel_grace
        self.log_dir = log_dir
        self.on_exit = on_exit
        self.on_start = on_start
        self._lock = threading.Lock()
        self._active: dict[str, _Runner] = {}  # started, not finished
        self._waiting: deque[_Runner] = deque()  # launched beyond the concurrency limit
        self._finished: OrderedDict[str, RunnerStatus] = OrderedDict()  # recent exits, for status()
        self._closed = False
        self._spare: _Spare | None = None  # the next job's executor, forked ahead
        self._spare_wanted = threading.Event()
        self._spare_maker: threading.Thread | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "LocalBackend":
        return cls(
            max_concurrent=settings.local.concurrency,
            cancel_grace=settings.local.cancel_grace,
            log_dir=settings.data_dir / "runner-logs",
            memory_limit_mb=settings.local.memory_limit_mb,
        )

    def prestart(self) -> None:
        """Start the fork server and the first spare now (see _fork_context), not on the first launch."""
        _fork_context()
        with self._lock:
            self._want_spare()

    # -- JobBackend -------------------------------------------------------------
    @property
    def queues_launches(self) -> bool:  # type: ignore[override]
        # Only with on_start can it record a start itself; otherwise the dispatcher does.
        return self.on_start is not None

    def launch(self, spec: LaunchSpec) -> None:
        with self._lock:
            if self._known(spec.job_id):
                return  # idempotent: a redelivered job.submitted starts nothing
            runner = _Runner(spec)
            if len(self._active) < self.max_concurrent:
                self._start(runner)
            else:
                self._waiting.append(runner)

    def cancel(self, job_id: str) -> None:
        with self._lock:
            waiting = next((r for r in self._waiting if r.spec.job_id == job_id), None)
            if waiting is not None:
                self._waiting.remove(waiting)
                self._record(RunnerStatus(job_id, RunnerPhase.FAILED, reason=CANCELLED_REASON, message="cancelled before it started"))
                return
            runner = self._active.get(job_id)
        if runner is not None:
            self._stop(runner, CANCELLED_REASON)

    def status(self, job_id: str) -> RunnerStatus:
        with self._lock:
            if job_id in self._active:
                return RunnerStatus(job_id, RunnerPhase.RUNNING)
            if any(r.spec.job_id == job_id for r in self._waiting):
                return RunnerStatus(job_id, RunnerPhase.PENDING)
            return self._finished.get(job_id) or RunnerStatus(job_id, RunnerPhase.MISSING)

    def list_runners(self) -> list[RunnerStatus]:
        with self._lock:
            return [RunnerStatus(j, RunnerPhase.RUNNING) for j in self._active] + [
                RunnerStatus(r.spec.job_id, RunnerPhase.PENDING) for r in self._waiting
            ]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._waiting.clear()
            runners = list(self._active.values())
            spare, self._spare = self._spare, None
        self._spare_wanted.set()  # the maker sees the backend closed and ends
        if spare is not None:
            spare.discard()
        for runner in runners:
            self._stop(runner, "Shutdown")
        for runner in runners:
            runner.done.wait(self.cancel_grace + 2)

    # -- internals --------------------------------------------------------------
    def _known(self, job_id: str) -> bool:
        return job_id in self._active or job_id in self._finished or any(r.spec.job_id == job_id for r in self._waiting)

    def _start(self, runner: _Runner) -> None:
        """Start the process (caller holds the lock)."""
        if not self._admit(runner):
            return
        spec = runner.spec
        runner.workdir = tempfile.mkdtemp(prefix=f"boardrun-{spec.job_id}-")  # 0700
        env = executor_environment({
            **spec.env,
            **spec.secret_env,
            "JOB_ATTEMPT": str(spec.attempt),
            "BOARDRUN_EXIT_WITH_PARENT": "1",
            "HOME": runner.workdir,
            "TMPDIR": runner.workdir,
        })
        log_path = None
        if self.log_dir is not None:
            private_dir(self.log_dir)
            log_path = str(self.log_dir / f"{spec.job_id}.log")
        job = (env, log_path, runner.workdir, self.memory_limit_mb)
        spare, self._spare = self._spare, None
        if spare is not None and spare.hand_off(job):
            runner.proc = spare.proc
            runner.proc.name = f"executor-{spec.job_id}"
        else:
            runner.proc = _fork_context().Process(target=_executor_main, args=job, name=f"executor-{spec.job_id}")
            runner.proc.start()
        self._want_spare()
        log.info("job %s: executor started as pid %d", spec.job_id, runner.proc.pid)
        self._active[spec.job_id] = runner
        threading.Thread(target=self._watch, args=(runner,), name=f"runner-{spec.job_id}", daemon=True).start()

    def _want_spare(self) -> None:
        """Have a spare forked for the next job, by the maker thread: forking takes milliseconds,
        not to be spent holding the lock (caller holds it)."""
        if self._closed:
            return
        if self._spare_maker is None:
            self._spare_maker = threading.Thread(target=self._make_spares, name="executor-spares", daemon=True)
            self._spare_maker.start()
        self._spare_wanted.set()

    def _make_spares(self) -> None:
        while True:
            self._spare_wanted.wait()
            self._spare_wanted.clear()
            with self._lock:
                if self._closed:
                    return
                if self._spare is not None:
                    continue
            try:
                spare = _Spare()
            except Exception:  # the fork server cannot fork now: the next job starts one afresh
                log.exception("cannot fork a spare executor")
                continue
            with self._lock:
                if not self._closed and self._spare is None:
                    self._spare, spare = spare, None
            if spare is not None:  # closed meanwhile
                spare.discard()

    def _admit(self, runner: _Runner) -> bool:
        """Record the start before it happens (caller holds the lock): after a crash a job
        that had a runner fails as lost, one still waiting is launched again, none twice."""
        if self.on_start is None:
            return True
        job_id = runner.spec.job_id
        try:
            admitted = self.on_start(job_id)
        except Exception:  # the database is down: it stays unlaunched there, the reconcile launches it again
            log.exception("job %s: cannot record its start; not started", job_id)
            return False
        if not admitted:
            self._record(RunnerStatus(job_id, RunnerPhase.FAILED, reason=CANCELLED_REASON, message="finished or cancelled before it started"))
        return admitted

    def _watch(self, runner: _Runner) -> None:
        proc = runner.proc
        assert proc is not None
        proc.join(timeout=runner.spec.deadline_seconds)
        if proc.exitcode is None:
            self._stop(runner, DEADLINE_EXCEEDED)
            proc.join()
        status = self._exit_status(runner, proc.exitcode)
        if runner.workdir:
            shutil.rmtree(runner.workdir, ignore_errors=True)
        with self._lock:
            self._active.pop(runner.spec.job_id, None)
            self._record(status)
            while self._waiting and len(self._active) < self.max_concurrent and not self._closed:
                self._start(self._waiting.popleft())
        runner.done.set()
        if self.on_exit is not None:
            try:
                self.on_exit(status)
            except Exception:
                log.exception("on_exit for job %s failed", status.job_id)

    def _exit_status(self, runner: _Runner, code: int) -> RunnerStatus:
        job_id = runner.spec.job_id
        if runner.stop_reason is not None and code != 0:
            return RunnerStatus(job_id, RunnerPhase.FAILED, reason=runner.stop_reason, message=f"exit status {code}")
        if code == 0:
            return RunnerStatus(job_id, RunnerPhase.SUCCEEDED, reported=True)
        if code == EXIT_REPORTED_FAILURE:
            return RunnerStatus(job_id, RunnerPhase.FAILED, reason="ReportedFailure", reported=True)
        if code == EXIT_UNREPORTED:  # it ended normally; its stored outcome is all there is
            return RunnerStatus(job_id, RunnerPhase.SUCCEEDED)
        if code < 0:
            return RunnerStatus(job_id, RunnerPhase.FAILED, reason=f"Signal{-code}", message=f"killed by signal {-code}")
        return RunnerStatus(job_id, RunnerPhase.FAILED, reason="Crashed", message=f"exit status {code}")

    def _stop(self, runner: _Runner, reason: str) -> None:
        """SIGTERM the process group, then SIGKILL after the grace period."""
        proc = runner.proc
        if proc is None or proc.exitcode is not None:
            return
        runner.stop_reason = runner.stop_reason or reason
        self._signal(proc, signal.SIGTERM)

        def escalate() -> None:
            if not runner.done.wait(self.cancel_grace) and proc.exitcode is None:
                self._signal(proc, signal.SIGKILL)

        threading.Thread(target=escalate, daemon=True).start()

    @staticmethod
    def _signal(proc, sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            try:  # not in its own group yet (just forked), or already gone
                os.kill(proc.pid, sig)
            except ProcessLookupError:
                pass

    def _record(self, status: RunnerStatus) -> None:
        self._finished[status.job_id] = status
        while len(self._finished) > 10_000:
            self._finished.popitem(last=False)
