"""The embedded server: every function on one port through the routes table.

`python -m boardrun.server` (what `make run` starts) applies migrations, then serves
with gunicorn (one worker process, threads) so Ctrl-C and SIGTERM shut it down
cleanly, finishing requests in flight.
"""

from __future__ import annotations

import logging
import os

from gunicorn.app.base import BaseApplication

from boardrun import __version__, db
from boardrun.config import get_settings
from boardrun.logs import configure_logging
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

    def load(self):
        return full_router().wsgi


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    db.migrate()
    log.info("Boardrun %s: migrations applied; serving on http://%s:%d", __version__, settings.host, settings.port)
    EmbeddedServer(settings.host, settings.port, int(os.environ.get("THREADS", "16"))).run()


if __name__ == "__main__":
    main()
