"""The OpenAPI 3.1 document of the API, built from the routes table: each Route carries
its request schema (the very object its view validates with), its parameters and its
answers; the reusable schemas live beside their domain (`<domain>/schemas.py`).

The errors every endpoint can give are derived here from the route itself, because
the router and `boardrun.web.json_body` give them the same way everywhere: 401 with
`auth`, 404 for a path parameter holding U+0000 (or naming nothing), 400/413/415/422
for a JSON body, and 422 for U+0000 in any query parameter.
"""

from __future__ import annotations

import copy
import re
from http import HTTPStatus
from typing import Any, Iterable, Mapping

from boardrun.routing import Route

# module of each domain's COMPONENTS (name -> JSON Schema)
COMPONENT_MODULES = (
    "boardrun.health.schemas",
    "boardrun.accounts.schemas",
    "boardrun.hub.schemas",
    "boardrun.users.schemas",
    "boardrun.store.schemas",
    "boardrun.apps.schemas",
    "boardrun.jobs.schemas",
    "boardrun.triggers.schemas",
)

# status -> (components/responses name, description)
ERROR_RESPONSES: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "Malformed request, or a body that could not be read (400)"),
    401: ("Unauthorized", "Missing or invalid bearer token (401)"),
    403: ("Forbidden", "Not allowed (403)"),
    404: ("NotFound", "No such resource (404)"),
    405: ("MethodNotAllowed", "Method not allowed here; Allow lists those that are (405)"),
    409: ("Conflict", "Conflicts with the current state (409)"),
    412: ("PreconditionFailed", "If-Match did not match (412)"),
    413: ("PayloadTooLarge", "Body over the limit (413)"),
    415: ("UnsupportedMediaType", "Body is not JSON (415)"),
    422: ("Unprocessable", "Fails validation; details name each field (422)"),
    429: ("TooManyRequests", "Throttled; see Retry-After (429)"),
    502: ("BadGateway", "An upstream provider failed (502)"),
    503: ("ServiceUnavailable", "A dependency is unavailable (503)"),
}
BODY_ERRORS = (400, 413, 415, 422)

_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
_CONVERTER_SCHEMA = {"int": {"type": "integer"}, "float": {"type": "number"}}


def openapi_path(path: str) -> str:
    """werkzeug's /apps/<app_id>/<path:rest> as OpenAPI's /apps/{app_id}/{rest}."""
    return _PARAM.sub(r"{\2}", path)


def component_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def components() -> dict[str, Any]:
    """Every named schema: the Error envelope, each domain's COMPONENTS, and the board
    document with its $defs lifted into components (a $ref inside a component resolves
    against the whole document, not the component)."""
    import importlib

    from boardrun.apps.board_schema import BOARD_SCHEMA
    from boardrun.errors import ERROR_SCHEMA

    named: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for module in COMPONENT_MODULES:
        for name, schema in importlib.import_module(module).COMPONENTS.items():
            if name in named:
                raise ValueError(f"schema {name!r} is declared twice ({module})")
            named[name] = schema
    board = {k: v for k, v in BOARD_SCHEMA.items() if k not in ("$schema", "$defs")}
    lifted = {f"#/$defs/{d}": f"Board{d.capitalize()}" for d in BOARD_SCHEMA["$defs"]}
    named["Board"] = _rename_refs(board, lifted)
    for d, schema in BOARD_SCHEMA["$defs"].items():
        named[lifted[f"#/$defs/{d}"]] = _rename_refs(schema, lifted)
    return named


def _rename_refs(schema: Any, renamed: Mapping[str, str]) -> Any:
    if isinstance(schema, dict):
        if "$ref" in schema and schema["$ref"] in renamed:
            return {**schema, "$ref": f"#/components/schemas/{renamed[schema['$ref']]}"}
        return {k: _rename_refs(v, renamed) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_rename_refs(v, renamed) for v in schema]
    return schema


def document(routes: Iterable[Route] | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `routes` (default: the whole routes table)."""
    from boardrun import __version__
    from boardrun.routes import ROUTES

    routes = list(ROUTES if routes is None else routes)
    from boardrun.apps.board_schema import BOARD_SCHEMA

    schemas = components()
    by_identity = {id(schema): name for name, schema in schemas.items()}
    by_identity[id(BOARD_SCHEMA)] = "Board"  # components() holds it rewritten
    shared_views = {r.view for r in routes if sum(o.view == r.view for o in routes) > 1}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        op = _operation(route, by_identity)
        if route.view in shared_views:  # one view for several methods (the webhook sink)
            op["operationId"] += f"_{route.method.lower()}"
        paths.setdefault(openapi_path(route.path), {})[route.method.lower()] = op
    error_ref = component_ref("Error")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Boardrun API",
            "version": __version__,
            "summary": "A Flow-Like compatible workflow backend built as Knative functions.",
            "description": "Every endpoint the product serves, generated from its routes table (boardrun.routes). "
            "Errors always use the Error envelope. The `tags` of an operation name the Knative function that serves it.",
            "license": {"name": "Proprietary", "identifier": "LicenseRef-Proprietary"},
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": name} for name in sorted({r.function for r in routes})],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {
                name: {"description": text, "content": {"application/json": {"schema": error_ref}}}
                for name, text in ERROR_RESPONSES.values()
            },
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "access_token from /api/v1/auth/login, /refresh or an OAuth callback",
                }
            },
        },
    }


def _schema_or_ref(schema: Any, by_identity: Mapping[int, str]) -> Any:
    if isinstance(schema, str):
        return component_ref(schema)
    name = by_identity.get(id(schema))
    return component_ref(name) if name else copy.deepcopy(dict(schema))


def body_schema(route: Route) -> Mapping[str, Any] | None:
    """The schema a route's view validates its JSON body with (None: no JSON body)."""
    if route.body is None:
        return None
    return route.body() if callable(route.body) else route.body


def error_statuses(route: Route) -> set[int]:
    """Every error status the route can answer with the Error envelope."""
    statuses = {422, *route.errors}
    if _PARAM.search(route.path):
        statuses.add(404)
    if route.auth:
        statuses.add(401)
    if route.body is not None:
        statuses.update(BODY_ERRORS)
    return statuses


def _operation(route: Route, by_identity: Mapping[int, str]) -> dict[str, Any]:
    module, _, attr = route.view.partition(":")
    op: dict[str, Any] = {
        "operationId": f"{route.function}_{attr.rstrip('_')}",
        "summary": route.summary,
        "tags": [route.function],
    }
    if route.description:
        op["description"] = route.description
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": dict(_CONVERTER_SCHEMA.get(converter, {"type": "string"}))}
        for converter, name in _PARAM.findall(route.path)
    ]
    for param in route.params:
        entry: dict[str, Any] = {"name": param.name, "in": param.location, "required": param.required, "schema": dict(param.schema)}
        if param.description:
            entry["description"] = param.description
        parameters.append(entry)
    if parameters:
        op["parameters"] = parameters
    body = body_schema(route)
    if body is not None:
        op["requestBody"] = {
            "required": route.body_required,
            "content": {"application/json": {"schema": _schema_or_ref(body, by_identity)}},
        }
    responses: dict[str, Any] = {}
    for reply in route.replies:
        entry = {"description": reply.description or HTTPStatus(reply.status).phrase}
        if reply.headers:
            entry["headers"] = {
                name: {"schema": {"type": "string"}, **({"description": text} if text else {})}
                for name, text in reply.headers.items()
            }
        if reply.schema is not None:
            entry["content"] = {reply.media_type: {"schema": _schema_or_ref(reply.schema, by_identity)}}
        responses[str(reply.status)] = entry
    for status in sorted(error_statuses(route)):
        responses.setdefault(str(status), {"$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"})
    op["responses"] = dict(sorted(responses.items()))
    op["security"] = [{"bearer": []}] if route.auth else []
    return op
