"""The embedded server: every function on one port through the routes table.

`python -m boardrun.server` (what `make run` starts) applies migrations, then serves
with gunicorn (one worker process, threads) so Ctrl-C and SIGTERM shut it down
cleanly, finishing requests in flight.
"""

from __future__ import annotations

import dataclasses
import logging
import threading

from gunicorn.app.base import BaseApplication

from boardrun import __version__, db, services
from boardrun.config import get_settings, settings_or_exit
from boardrun.logs import configure_logging
from boardrun.private_files import private_dir
from boardrun.routing import full_router

log = logging.getLogger("boardrun.server")


class EmbeddedServer(BaseApplication):
    def __init__(self, host: str, port: int, threads: int):
        self.bind = f"{host}:{port}"
        self.threads = threads
        super().__init__()

    def load_config(self) -> None:
        self.cfg.set("bind", self.bind)
        self.cfg.set("workers", 1)
        self.cfg.set("worker_class", "gthread")
        self.cfg.set("threads", self.threads)
        self.cfg.set("graceful_timeout", 20)
        self.cfg.set("timeout", 0)  # requests are bounded by their own deadlines (sync jobs)
        self.cfg.set("accesslog", None)  # the router writes one access line per request
        self.cfg.set("loglevel", "warning")
        self.cfg.set("worker_exit", _worker_exit)

    def load(self):
        # Runs in the worker process: the background services live there too.
        return start_embedded_services(self.bind)


BROKER_INGRESS = "/_broker/ingress"
_cleanups: list = []


def _worker_exit(server, worker) -> None:
    """Gunicorn hook: stop runners (SIGTERM, grace, SIGKILL), the broker and the tick."""
    while _cleanups:
        _cleanups.pop()()


def start_embedded_services(bind: str):
    """The in-process broker, the local job backend and the periodic tick, wired as a
    cluster wires Knative Eventing, Kubernetes Jobs and the PingSources."""
    from boardrun.eventing.embedded import EmbeddedBroker, load_manifests
    from boardrun.eventing.publisher import serve_in_process
    from boardrun.jobs import dispatcher, repairs
    from boardrun.jobs.backends import set_backend
    from boardrun.jobs.backends.local import LocalBackend

    host, _, port = bind.rpartition(":")
    own_url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '', '::') else host}:{port}"
    ingress = own_url + BROKER_INGRESS
    settings = get_settings()
    if not settings.eventing.sink:  # publish to our own broker (executors are handed it too)
        settings = dataclasses.replace(settings, eventing=dataclasses.replace(settings.eventing, sink=ingress))
        services.reset(settings)
    broker = EmbeddedBroker(load_manifests(), own_url, workers=settings.eventing.broker_workers)
    backend = LocalBackend.from_settings(settings)
    backend.on_exit = dispatcher.on_runner_exit
    backend.prestart()  # before any other thread reads the environment
    backend.on_start = dispatcher.on_runner_start
    set_backend(backend)
    try:  # before serving, so the jobs a crash left waiting start before any new one
        repairs.resume_local_queue()
    except Exception:  # the periodic reconcile launches them later
        log.exception("resuming the local job queue failed")
    router = full_router()
    # The broker and its subscribers share this process: deliveries to them, and the
    # events the server itself publishes, skip HTTP (the executors still POST to K_SINK).
    broker.local_app = router.wsgi
    serve_in_process(ingress, broker.accept)
    ticker = Ticker(settings.server.tick_seconds)
    ticker.start()
    _cleanups.append(lambda: (ticker.stop(), set_backend(None), serve_in_process(ingress, None), broker.close()))

    def app(environ, start_response):
        if environ.get("PATH_INFO") == BROKER_INGRESS:
            return broker.ingress_wsgi(environ, start_response)
        return router.wsgi(environ, start_response)

    return app


class Ticker(threading.Thread):
    """What the PingSources do in a cluster: relay the outbox, reconcile jobs, fire schedules."""

    def __init__(self, interval: float):
        super().__init__(name="tick", daemon=True)
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        from boardrun.eventing.outbox import relay_outbox
        from boardrun.jobs.repairs import reconcile
        from boardrun.triggers.cron import fire_due_schedules

        while not self._stop_event.wait(self.interval):
            for task in (relay_outbox, reconcile, fire_due_schedules):
                try:
                    task()
                except Exception:
                    log.exception("periodic %s failed", task.__name__)

    def stop(self) -> None:
        self._stop_event.set()


def main() -> None:
    settings = settings_or_exit()
    configure_logging(settings.server.log_level)
    if not settings.production:  # embedded mode keeps the database, storage and keys in DATA_DIR
        private_dir(settings.data_dir)
        if settings.data_dir.stat().st_mode & 0o077:
            settings.data_dir.chmod(0o700)
    db.migrate()
    log.info("Boardrun %s: migrations applied; serving on http://%s:%d", __version__, settings.server.host, settings.server.port)
    EmbeddedServer(settings.server.host, settings.server.port, settings.server.threads).run()


if __name__ == "__main__":
    main()
