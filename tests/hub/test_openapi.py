"""The OpenAPI document: it describes exactly the routes table (both directions), is a
valid OpenAPI 3.1 document, and our real responses match the schemas it declares."""

from __future__ import annotations

import re

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec

from boardrun import __version__
from boardrun.hub.views import OPENAPI_FILE
from boardrun.routes import ROUTES
from tests.conftest import function_client

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def openapi_path(werkzeug_path: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?(\w+)>", r"{\1}", werkzeug_path)


@pytest.fixture(scope="module")
def document() -> dict:
    return yaml.safe_load(OPENAPI_FILE.read_text())


def documented(doc: dict) -> set[tuple[str, str]]:
    return {(m.upper(), p) for p, item in doc["paths"].items() for m in item if m in METHODS}


def test_every_route_is_documented(document):
    """Every (method, path) of boardrun.routes.ROUTES appears in the document."""
    routes = {(r.method, openapi_path(r.path)) for r in ROUTES}
    missing = sorted(routes - documented(document))
    assert not missing, f"routes missing from boardrun/hub/openapi.yaml: {missing}"


def test_document_has_no_route_we_do_not_serve(document):
    """Every (method, path) in the document is served by a route in ROUTES."""
    routes = {(r.method, openapi_path(r.path)) for r in ROUTES}
    extra = sorted(documented(document) - routes)
    assert not extra, f"documented but not in boardrun.routes.ROUTES: {extra}"


def test_document_is_valid_openapi_31(document):
    """openapi-spec-validator accepts the document as OpenAPI 3.1."""
    assert document["openapi"].startswith("3.1")
    validate_spec(document)


def test_operations_name_their_function_and_auth(document):
    """Each operation is tagged with the function serving it, declares its path parameters, and bearer security exactly where the route needs a token."""
    for r in ROUTES:
        op = document["paths"][openapi_path(r.path)][r.method.lower()]
        assert op["tags"] == [r.function], (r.method, r.path)
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", openapi_path(r.path))), (r.method, r.path)
        assert (op.get("security") == [{"bearer": []}]) == r.auth, (r.method, r.path)
        assert op["responses"], (r.method, r.path)


def test_error_envelope_is_a_component(document):
    """The one error envelope is described once and every error response refers to it."""
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    for name, response in document["components"]["responses"].items():
        assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, name


def test_served_document_carries_the_version_and_caches(env, document):
    """GET /api/v1/openapi.json serves the document as JSON with the package version, an ETag and 304 on a match."""
    hub = function_client("hub")
    r = hub.get("/api/v1/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    served = r.get_json()
    assert served["info"]["version"] == __version__
    assert served["paths"] == document["paths"]
    again = hub.get("/api/v1/openapi.json", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304


def _validator(doc: dict, name: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": doc["components"]})


def test_real_responses_match_the_declared_schemas(env, document):
    """The hub's and the store's actual answers validate against the schemas the document declares for them."""
    from tests.store.test_store import add_app

    hub, store = function_client("hub"), function_client("store")
    add_app("app-one", "One", description="x", tags=["t"])
    checks = [
        (hub, "/api/v1/", "Hub"),
        (hub, "/api/v1/version", "Version"),
        (hub, "/api/v1/info/features", "Features"),
        (hub, "/api/v1/info/contact", "Contact"),
        (hub, "/api/v1/info/terms", "Page"),
        (store, "/api/v1/store", "StorePage"),
        (store, "/api/v1/store/app-one", "StoreAppDetail"),
        (store, "/api/v1/store/nope", "Error"),
    ]
    for client, path, schema in checks:
        body = client.get(path).get_json()
        errors = [e.message for e in _validator(document, schema).iter_errors(body)]
        assert not errors, (path, errors)
    for template in hub.get("/api/v1/info/profiles").get_json():
        assert not list(_validator(document, "Profile").iter_errors(template))
    for node in hub.get("/api/v1/catalog").get_json():
        assert not list(_validator(document, "Node").iter_errors(node)), node["name"]
