"""The router: one routes table (boardrun.routes.ROUTES) served either by one function
(`function_router("apps")`, inside a functions-framework target) or all together (the
embedded server). Errors, request ids, body limits and access logging live here, so
every function behaves the same.
"""

from __future__ import annotations

import importlib
import logging
import re
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import quote

from werkzeug.exceptions import MethodNotAllowed as WzMethodNotAllowed
from werkzeug.exceptions import NotFound as WzNotFound
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.wrappers import Request, Response

from boardrun import metrics
from boardrun.errors import ApiError, MethodNotAllowed, NotFound, Unprocessable
from boardrun.logs import request_id_var
from boardrun.web import json_response

access_log = logging.getLogger("boardrun.access")
error_log = logging.getLogger("boardrun.errors")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


# A JSON Schema, or a function giving one when it depends on the settings (called by
# the view on every request and by the OpenAPI document once).
Schema = Mapping[str, Any] | Callable[[], Mapping[str, Any]]


@dataclass(frozen=True)
class Param:
    """A query or header parameter of a route (path parameters come from its path)."""

    name: str
    schema: Mapping[str, Any]
    description: str = ""
    required: bool = False
    location: str = "query"


@dataclass(frozen=True)
class Reply:
    """One answer a route gives. `schema`: a component's name, an inline JSON Schema, or
    None for no body; `headers`: the response headers worth naming, with their meaning."""

    status: int
    description: str
    schema: str | Mapping[str, Any] | None = None
    media_type: str = "application/json"
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Route:
    """One endpoint: who serves it and what it takes and answers. The OpenAPI document
    (boardrun.openapi) is built from these fields alone."""

    method: str
    path: str  # werkzeug rule syntax: /api/v1/apps/<app_id>
    function: str  # the Knative function (endpoint group) that serves it
    view: str  # "module:callable", imported when the router is built
    summary: str
    auth: bool = False  # True: a Bearer access token is required
    # Served by every function's router too (probes, /metrics), not only by `function`.
    everywhere: bool = False
    # Never proxied by the public gateway (broker sinks, per-pod metrics).
    internal: bool = False
    # The JSON body's schema: the very object the view validates with (json_body).
    body: Schema | None = None
    body_required: bool = True
    params: tuple[Param, ...] = ()
    # What it answers on success, and any error with its own meaning (a 412, a 503 body).
    replies: tuple[Reply, ...] = ()
    # Error statuses the view raises, beyond those the document derives from the route
    # itself (401 with auth, 404 with path parameters, 400/413/415/422 with a body, 422
    # for U+0000 in the query: see boardrun.openapi).
    errors: tuple[int, ...] = ()
    description: str = ""


View = Callable[..., Response]


class Router:
    def __init__(self, routes: Iterable[Route], name: str = "embedded"):
        self.name = name  # the `function` label of this router's request metrics
        self.routes = list(routes)
        self._views: list[View] = [self._import(r.view) for r in self.routes]
        self._map = Map(
            [Rule(r.path, endpoint=i, methods=[r.method]) for i, r in enumerate(self.routes)]
        )

    @staticmethod
    def _import(target: str) -> View:
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)

    def dispatch(self, request: Request) -> Response:
        started = time.perf_counter()
        incoming = request.headers.get("X-Request-Id", "")
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        try:
            route, response = self._handle(request)
            response.headers["X-Request-Id"] = request_id
            elapsed = time.perf_counter() - started
            access_log.info(
                "%s %s %d %.1fms",
                request.method,
                loggable_path(request),
                response.status_code,
                elapsed * 1000,
            )
            metrics.observe_request(
                self.name, route.path if route else metrics.UNMATCHED, request.method, response.status_code, elapsed
            )
            return response
        finally:
            request_id_var.reset(token)

    def _handle(self, request: Request) -> tuple[Route | None, Response]:
        """The matched route (None when no rule matched: its metrics label) and the response."""
        route = None
        try:
            adapter = self._map.bind_to_environ(request.environ)
            endpoint, args = adapter.match()
            route = self.routes[endpoint]
            _refuse_nul(request, args)
            return route, self._views[endpoint](request, **args)
        except ApiError as err:
            return route, json_response(err.body(), err.status, err.headers)
        except RequestRedirect as redirect:
            # werkzeug builds an absolute URL from the request's Host header, which the
            # client chooses: answer with the path alone.
            target = urlsplit(redirect.new_url)
            location = target.path + (f"?{target.query}" if target.query else "")
            return route, Response(status=redirect.code, headers={"Location": location})
        except WzNotFound:
            err = NotFound(f"no endpoint at {request.path}")
            return route, json_response(err.body(), err.status)
        except WzMethodNotAllowed as exc:
            allowed = sorted(set(exc.valid_methods or []))
            err = MethodNotAllowed(
                f"{request.method} is not allowed on {request.path}",
                headers={"Allow": ", ".join(allowed)},
            )
            return route, json_response(err.body(), err.status, err.headers)
        except Exception:  # a bug on our side: log it with an id, never leak a trace
            error_id = uuid.uuid4().hex
            error_log.exception("unhandled error %s on %s %s", error_id, request.method, request.path)
            return route, json_response(
                {"error": {"code": "internal_error", "message": "internal error", "id": error_id}},
                500,
                {"X-Error-Id": error_id},
            )

    def wsgi(self, environ, start_response):
        return self.dispatch(Request(environ))(environ, start_response)


# Query parameters that carry secrets: an OAuth callback's authorization code and state
# (RFC 6749 10.5: the code is a short-lived credential), and tokens some clients put in
# URLs. The access log keeps the parameter's name only.
SECRET_PARAMS = frozenset({"code", "state", "token", "access_token", "refresh_token", "id_token"})


def loggable_path(request: Request) -> str:
    """The path and query for the access log, secret parameter values replaced."""
    if not request.args:
        return request.path
    query = "&".join(
        f"{quote(name, safe='')}={'[redacted]' if name.lower() in SECRET_PARAMS else quote(value, safe='')}"
        for name, value in request.args.items(multi=True)
    )
    return f"{request.path}?{query}"


def _refuse_nul(request: Request, args: dict) -> None:
    """U+0000 (%00) in the URL: no id holds it (404) and no query value may (422), so it
    never reaches a view, where PostgreSQL would refuse it as text (a 500)."""
    if any("\x00" in str(value) for value in args.values()):
        raise NotFound(f"no resource at {request.path!r}")
    bad = sorted({name for name, value in request.args.items(multi=True) if "\x00" in name or "\x00" in value})
    if bad:
        details = [{"field": name.replace("\x00", "\\u0000"), "message": "contains U+0000 (NUL)"} for name in bad]
        raise Unprocessable(
            "; ".join(f"{d['field']}: {d['message']}" for d in details), details=details
        )


def function_router(function: str) -> Router:
    """The router of one endpoint group, for its functions-framework target. Every
    function also serves the routes marked `everywhere` (the Kubernetes probes, so each
    Knative Service can be probed, and /metrics, scraped per pod)."""
    from boardrun.routes import ROUTES

    routes = [r for r in ROUTES if r.function == function]
    if not routes:
        raise ValueError(f"no routes for function {function!r}")
    shared = [r for r in ROUTES if r.everywhere and r.function != function]
    return Router(routes + shared, name=function)


def full_router() -> Router:
    from boardrun.routes import ROUTES

    return Router(ROUTES)
