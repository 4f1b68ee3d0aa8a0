"""The router's contract: one JSON error envelope, request ids, 404/405/413/415/400/422."""

import json

from werkzeug.test import Client

from boardrun.errors import ApiError
from boardrun.routing import Route, Router
from boardrun.web import json_body, json_response

SCHEMA = {
    "type": "object",
    "required": ["name", "count"],
    "additionalProperties": False,
    "properties": {"name": {"type": "string"}, "count": {"type": "integer", "minimum": 0}},
}


def echo(request):
    return json_response(json_body(request, SCHEMA))


def boom(request):
    raise RuntimeError("secret internals")


def fails(request):
    raise ApiError("nope", code="custom")


def make_client():
    routes = [
        Route("POST", "/echo", "t", f"{__name__}:echo", "echo"),
        Route("GET", "/boom", "t", f"{__name__}:boom", "boom"),
        Route("GET", "/fails", "t", f"{__name__}:fails", "fails"),
    ]
    return Client(Router(routes).wsgi)


def test_unknown_path_is_404_envelope_with_request_id():
    """An unknown path answers 404 in the error envelope and carries a request id."""
    r = make_client().get("/nowhere")
    assert r.status_code == 404
    assert r.get_json()["error"]["code"] == "not_found"
    assert r.headers["X-Request-Id"]


def test_incoming_request_id_is_echoed():
    """A well-formed X-Request-Id from the caller is kept; a malformed one is replaced."""
    c = make_client()
    assert c.get("/nowhere", headers={"X-Request-Id": "abc-123"}).headers["X-Request-Id"] == "abc-123"
    assert c.get("/nowhere", headers={"X-Request-Id": "bad id"}).headers["X-Request-Id"] != "bad id"


def test_wrong_method_is_405_with_allow():
    """A known path with the wrong method answers 405 and lists the allowed methods."""
    r = make_client().delete("/echo")
    assert r.status_code == 405
    assert r.headers["Allow"] == "POST"
    assert r.get_json()["error"]["code"] == "method_not_allowed"


def test_non_json_body_is_415():
    """A body that is not declared as JSON is refused with 415."""
    r = make_client().post("/echo", data="name=x", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 415


def test_malformed_json_is_400():
    """Syntactically broken JSON is 400, not 500."""
    r = make_client().post("/echo", data="{", content_type="application/json")
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] == "bad_request"


def test_schema_violations_are_422_naming_each_field(monkeypatch):
    """Every bad field is named in a 422: missing, wrong type and unknown fields."""
    r = make_client().post("/echo", json={"count": -1, "extra": 1})
    assert r.status_code == 422
    fields = {d["field"] for d in r.get_json()["error"]["details"]}
    assert fields == {"name", "count", "extra"}


def test_body_over_limit_is_413(monkeypatch, env):
    """A body above MAX_BODY_BYTES is refused with 413 before it is parsed."""
    from boardrun import services

    monkeypatch.setenv("MAX_BODY_BYTES", "100")
    services.reset()
    r = make_client().post("/echo", data=json.dumps({"name": "x" * 200, "count": 1}), content_type="application/json")
    assert r.status_code == 413


def test_unhandled_error_is_500_without_internals():
    """A bug becomes a 500 envelope with an error id and no trace or exception text."""
    r = make_client().get("/boom")
    assert r.status_code == 500
    body = r.get_data(as_text=True)
    assert "secret internals" not in body and "Traceback" not in body
    assert r.get_json()["error"]["id"] == r.headers["X-Error-Id"]


def test_api_errors_render_their_code_and_status():
    """An ApiError raised by a view is rendered with its own code."""
    r = make_client().get("/fails")
    assert r.status_code == 500 and r.get_json()["error"] == {"code": "custom", "message": "nope"}


def item(request, item_id):
    return json_response({"id": item_id, "q": request.args.get("q")})


def test_nul_in_the_url_never_reaches_a_view():
    """U+0000 (%00) in a path parameter is a 404 and in a query parameter a 422."""
    c = Client(Router([Route("GET", "/items/<item_id>", "t", f"{__name__}:item", "item")]).wsgi)
    r = c.get("/items/a%00b")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    r = c.get("/items/a?q=x%00&ok=1")
    assert r.status_code == 422 and r.get_json()["error"]["details"] == [{"field": "q", "message": "contains U+0000 (NUL)"}]
    r = c.get("/items/a?k%00=1")
    assert r.status_code == 422 and r.get_json()["error"]["details"][0]["field"] == "k\\u0000"
    assert c.get("/items/%C3%BC%ff?q=%ff").get_json()["id"] == "ü\ufffd"  # invalid UTF-8 is replaced, not a NUL


def test_nul_in_real_urls_is_never_a_500(api):
    """Regression: %00 in an id or a search text was a 500 on PostgreSQL ("text fields
    cannot contain NUL") on every endpoint that looked it up."""
    from tests.conftest import register_and_login

    h = register_and_login(api)["headers"]
    app = api.post("/api/v1/apps", json={"name": "A"}, headers=h).get_json()["id"]
    for method, path in [
        ("GET", "/api/v1/apps/a%00b"),
        ("GET", "/api/v1/store/a%00b"),
        ("GET", f"/api/v1/apps/{app}/board/a%00b"),
        ("DELETE", f"/api/v1/apps/{app}/board/a%00b"),
        ("GET", f"/api/v1/apps/{app}/board/a%00b/version"),
        ("GET", "/jobs/a%00b"),
        ("POST", "/jobs/a%00b/cancel"),
        ("GET", "/api/v1/execution/a%00b"),
        ("GET", "/api/v1/profile/a%00b"),
        ("DELETE", "/api/v1/profile/a%00b"),
        ("DELETE", f"/api/v1/apps/{app}/team/a%00b"),
        ("GET", "/api/v1/apps/a%00b/team"),
    ]:
        r = api.open(path, method=method, headers=h)
        assert r.status_code == 404, (method, path, r.get_data(as_text=True))
    for path in ["/api/v1/store?q=1%00", "/api/v1/store?category=1%00", f"/api/v1/apps/{app}/board/echo?version=1%00"]:
        r = api.get(path, headers=h)
        assert r.status_code == 422, (path, r.get_data(as_text=True))


def test_trailing_slash_redirect_ignores_the_host_header(env):
    """Regression: GET /api/v1 with `Host: evil.example` answered
    `Location: http://evil.example/api/v1/`; the redirect is relative now."""
    from boardrun.routing import full_router

    r = Client(full_router().wsgi).get("/api/v1?x=1", headers={"Host": "evil.example"})
    assert r.status_code == 308
    assert r.headers["Location"] == "/api/v1/?x=1"


def test_routes_marked_everywhere_are_served_by_every_function():
    """function_router adds the `everywhere` routes (probes, /metrics) to each group exactly once, and no other group's routes."""
    from boardrun.routes import ROUTES
    from boardrun.routing import function_router

    everywhere = {(r.method, r.path) for r in ROUTES if r.everywhere}
    assert {("GET", "/metrics"), ("GET", "/health/live")} <= everywhere
    for function in sorted({r.function for r in ROUTES}):
        router = function_router(function)
        served = [(r.method, r.path) for r in router.routes]
        assert len(served) == len(set(served)), function
        assert set(served) == everywhere | {(r.method, r.path) for r in ROUTES if r.function == function}, function
        assert router.name == function
