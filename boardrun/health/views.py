"""Kubernetes probes (/health/live|ready|startup) and the application health checks
(/api/v1/health, /api/v1/health/db)."""

from __future__ import annotations

import logging

from werkzeug.wrappers import Request, Response

from boardrun import __version__, dbprobe, services
from boardrun.errors import ServiceUnavailable
from boardrun.storage import get_storage
from boardrun.web import json_response

log = logging.getLogger(__name__)
_NO_CACHE = {"Cache-Control": "no-store"}


def live(request: Request) -> Response:
    # Liveness only says the process serves requests; it must not depend on the database,
    # or a database outage would make Kubernetes restart every pod.
    return json_response({"status": "healthy", "version": __version__}, headers=_NO_CACHE)


def _check(name: str, fn) -> str:
    try:
        fn()
        return "ok"
    except Exception as exc:  # any failure of a dependency means "not ready"
        log.warning("readiness check %s failed: %s", name, exc)
        return f"error: {type(exc).__name__}"


def ready(request: Request) -> Response:
    checks = {"database": _check("database", dbprobe.ping), "storage": _check("storage", lambda: get_storage().check())}
    if all(v == "ok" for v in checks.values()):
        return json_response({"status": "healthy", "version": __version__, "checks": checks}, headers=_NO_CACHE)
    return json_response({"status": "unavailable", "version": __version__, "checks": checks}, 503, _NO_CACHE)


def startup(request: Request) -> Response:
    # Once seen applied they stay applied for this database: migrations never go backwards.
    migrations = services.current().cache("migrations").entries
    if not migrations.get("applied"):
        from boardrun import db  # Alembic and the ORM, only until migrations are seen applied

        try:
            migrations["applied"] = db.is_migrated()
        except Exception as exc:
            log.warning("startup check failed: %s", exc)
        if not migrations.get("applied"):
            return json_response(
                {"status": "unavailable", "version": __version__, "checks": {"migrations": "pending"}}, 503, _NO_CACHE
            )
    return json_response({"status": "healthy", "version": __version__}, headers=_NO_CACHE)


def api_health(request: Request) -> Response:
    return json_response({"status": "ok"}, headers=_NO_CACHE)


def api_health_db(request: Request) -> Response:
    try:
        rtt = dbprobe.ping()
    except Exception as exc:
        log.warning("database health check failed: %s", exc)
        raise ServiceUnavailable("the database is unreachable", code="database_unavailable") from None
    return json_response({"rtt": round(rtt)}, headers=_NO_CACHE)
