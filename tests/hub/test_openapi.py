"""The OpenAPI document generated from the routes table: it is valid OpenAPI 3.1, its
paths are exactly what the router serves, each operation states its function, auth,
body schema (the very object its view validates with) and the errors the router gives,
and our real responses match the schemas it declares."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from boardrun import services
from boardrun import __version__, web
from boardrun.openapi import BODY_ERRORS, body_schema, document, openapi_path
from boardrun.routes import ROUTES
from boardrun.testing.boards import hello_board
from tests.apps.conftest import world  # noqa: F401  (world: a fixture)
from tests.conftest import function_client

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


@pytest.fixture(scope="module")
def doc() -> dict:
    return document()


def operations(doc: dict):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method.upper(), path, op


def test_document_is_valid_openapi_31(doc):
    """openapi-spec-validator accepts the document as OpenAPI 3.1 (every $ref resolves)."""
    assert doc["openapi"].startswith("3.1")
    validate_spec(doc)


def test_every_documented_operation_is_routed_and_every_route_documented(doc):
    """Each documented path, with its parameters filled in, reaches the route of the same
    method and path in the router's own map, and every route is documented once."""
    table = Map([Rule(r.path, endpoint=i, methods=[r.method]) for i, r in enumerate(ROUTES)]).bind("localhost")
    reached = []
    for method, path, op in operations(doc):
        url = re.sub(r"{(\w+)}", lambda m: f"{m.group(1)}-1", path)
        try:
            endpoint, _ = table.match(url, method=method)
        except (NotFound, MethodNotAllowed) as exc:
            pytest.fail(f"{method} {path} is documented but not routed ({exc.code})")
        route = ROUTES[endpoint]
        assert (route.method, openapi_path(route.path)) == (method, path)
        reached.append(endpoint)
    assert sorted(reached) == list(range(len(ROUTES)))


def test_operations_name_their_function_auth_and_path_parameters(doc):
    """Each operation is tagged with the function serving it, declares exactly its path
    parameters, and has bearer security exactly where the route needs a token."""
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids))
    for r in ROUTES:
        op = doc["paths"][openapi_path(r.path)][r.method.lower()]
        assert op["tags"] == [r.function], (r.method, r.path)
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", openapi_path(r.path))), (r.method, r.path)
        assert op["security"] == ([{"bearer": []}] if r.auth else []), (r.method, r.path)


def test_errors_the_router_gives_are_listed_everywhere(doc):
    """Every operation lists the 422 for U+0000 in a query parameter; those with path
    parameters the 404; those with auth the 401; those with a JSON body 400/413/415/422;
    and each error answer is the one Error envelope."""
    for r in ROUTES:
        responses = doc["paths"][openapi_path(r.path)][r.method.lower()]["responses"]
        expected = {"422"} | ({"404"} if "<" in r.path else set()) | ({"401"} if r.auth else set())
        if r.body is not None:
            expected |= {str(s) for s in BODY_ERRORS}
        assert expected <= set(responses), (r.method, r.path, expected - set(responses))
    error = {"$ref": "#/components/schemas/Error"}
    for name, response in doc["components"]["responses"].items():
        assert response["content"]["application/json"]["schema"] == error, name


def test_the_drifts_of_the_hand_written_document_are_gone(doc, env, monkeypatch):
    """execution/run answers a Run on 202 too; deadline_seconds carries the configured
    maximum; a board is the board schema, not a bare object."""
    run = doc["paths"]["/api/v1/execution/run"]["post"]["responses"]
    assert run["202"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Run"}
    monkeypatch.setenv("JOB_MAX_DEADLINE_SECONDS", "1234")
    services.reset()
    submit = document()["paths"]["/jobs/submit"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert submit["properties"]["deadline_seconds"]["maximum"] == 1234
    board = doc["components"]["schemas"]["Board"]
    assert "nodes" in board["required"]
    assert board["properties"]["nodes"]["additionalProperties"] == {"$ref": "#/components/schemas/BoardNode"}


def test_views_validate_with_the_schema_their_route_documents(api, world, monkeypatch):
    """Sending `{}` to every route that takes a JSON body, its view checks it against
    exactly the schema object the route carries (and the document shows)."""
    owner = world["people"]["owner"]
    app_id = world["app_id"]
    r = api.post(f"/api/v1/apps/{app_id}/events", headers=owner["headers"],
                 json={"name": "hook", "event_type": "http", "board_id": "hello", "config": {"path": "in", "public": True}})
    assert r.status_code == 201, r.get_data(as_text=True)
    ids = {"app_id": app_id, "board_id": "hello", "event_id": r.get_json()["id"], "profile_id": world["profile_id"]}
    seen: list[object] = []
    real = web.schema_problems
    monkeypatch.setattr(web, "schema_problems", lambda data, schema: seen.append(schema) or real(data, schema))
    routes = [route for route in ROUTES if route.body is not None]
    assert len(routes) >= 15
    for route in routes:
        seen.clear()
        path = re.sub(r"<(\w+)>", lambda m: ids[m.group(1)], route.path)
        r = api.open(path, method=route.method, json={}, headers=owner["headers"])
        assert r.status_code < 500, (route.path, r.get_data(as_text=True))
        assert any(schema is body_schema(route) for schema in seen), (route.method, route.path, r.status_code)


def test_served_document_carries_the_version_and_caches(env, doc):
    """GET /api/v1/openapi.json serves the generated document as JSON with the package version, an ETag and 304 on a match."""
    hub = function_client("hub")
    r = hub.get("/api/v1/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    served = r.get_json()
    assert served["info"]["version"] == __version__
    assert served["paths"] == doc["paths"]
    again = hub.get("/api/v1/openapi.json", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304


def _validator(doc: dict, name: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": doc["components"]})


def test_real_responses_match_the_declared_schemas(env, doc):
    """The hub's and the store's actual answers, and a real board, validate against the schemas the document declares for them."""
    from tests.store.test_store import add_app

    hub, store = function_client("hub"), function_client("store")
    add_app("app-one", "One", description="x", tags=["t"])
    checks = [
        (hub, "/api/v1/", "Hub"),
        (hub, "/api/v1/version", "Version"),
        (hub, "/api/v1/info/features", "Features"),
        (hub, "/api/v1/info/contact", "Contact"),
        (hub, "/api/v1/info/terms", "Page"),
        (hub, "/api/v1/info/profiles", "ProfileTemplates"),
        (hub, "/api/v1/catalog", "Catalog"),
        (store, "/api/v1/store", "StorePage"),
        (store, "/api/v1/store/app-one", "StoreAppDetail"),
        (store, "/api/v1/store/nope", "Error"),
    ]
    for client, path, schema in checks:
        body = client.get(path).get_json()
        errors = [e.message for e in _validator(doc, schema).iter_errors(body)]
        assert not errors, (path, errors[:5])
    assert not [e.message for e in _validator(doc, "Board").iter_errors(hello_board())]
    assert [e.message for e in _validator(doc, "Board").iter_errors({"id": "x"})]
