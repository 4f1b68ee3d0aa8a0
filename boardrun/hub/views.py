"""GET /api/v1/, /version, /catalog, /info/*, /openapi.json."""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from werkzeug.wrappers import Request, Response

from boardrun import __version__
from boardrun.config import get_settings
from boardrun.db import session_scope
from boardrun.hub import services
from boardrun.web import json_response

_SHORT_CACHE = {"Cache-Control": "public, max-age=60"}


class CachedDocument:
    """A JSON document that only changes with the code: serialised once per process,
    served with a strong ETag (a hash of its bytes) and answered 304 on a match."""

    def __init__(self, build):
        self._build = build
        self._lock = threading.Lock()
        self._value: tuple[bytes, str] | None = None

    def get(self) -> tuple[bytes, str]:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    body = json.dumps(self._build(), separators=(",", ":"), sort_keys=False).encode()
                    self._value = (body, hashlib.sha256(body).hexdigest()[:40])
        return self._value

    def respond(self, request: Request, max_age: int) -> Response:
        body, etag = self.get()
        headers = {"ETag": f'"{etag}"', "Cache-Control": f"public, max-age={max_age}"}
        inm = request.if_none_match
        if inm and (inm.star_tag or inm.contains_weak(etag)):
            return Response(status=304, headers=headers)
        return Response(body, status=200, headers=headers, mimetype="application/json")


def _catalog() -> list[dict[str, Any]]:
    from boardrun.engine import catalog

    return catalog()


def _openapi() -> dict[str, Any]:
    from boardrun import openapi  # generated on the first request, from the routes table

    return openapi.document()


CATALOG = CachedDocument(_catalog)
OPENAPI = CachedDocument(_openapi)


def hub(request: Request) -> Response:
    return json_response(services.hub(), headers=_SHORT_CACHE)


def version(request: Request) -> Response:
    return json_response(services.version(), headers=_SHORT_CACHE)


def catalog(request: Request) -> Response:
    return CATALOG.respond(request, get_settings().hub.catalog_max_age)


def openapi(request: Request) -> Response:
    return OPENAPI.respond(request, get_settings().hub.catalog_max_age)


def legal(request: Request) -> Response:
    return json_response(services.page("legal"), headers=_SHORT_CACHE)


def privacy(request: Request) -> Response:
    return json_response(services.page("privacy"), headers=_SHORT_CACHE)


def terms(request: Request) -> Response:
    return json_response(services.page("terms"), headers=_SHORT_CACHE)


def contact(request: Request) -> Response:
    return json_response(services.contact(), headers=_SHORT_CACHE)


def features(request: Request) -> Response:
    return json_response(services.features(), headers=_SHORT_CACHE)


def profiles(request: Request) -> Response:
    with session_scope() as session:
        templates = services.profile_templates(session)
    return json_response(templates, headers=_SHORT_CACHE)
