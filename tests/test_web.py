"""The shared request helpers of boardrun.web: what json_body refuses, and how."""

import json

import pytest
from gunicorn.http.errors import InvalidChunkSize, NoMoreData
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Request

from boardrun.routing import Route, Router
from boardrun.web import MAX_JSON_DEPTH, json_body, json_depth, json_response


def echo(request):
    return json_response(json_body(request))


def client() -> Client:
    return Client(Router([Route("POST", "/echo", "t", f"{__name__}:echo", "echo")]).wsgi)


def nested(depth: int, open_: str = "[", close: str = "]") -> bytes:
    return (open_ * depth + close * depth).encode()


@pytest.mark.parametrize(
    "body",
    [
        nested(100_000),  # json.loads raises RecursionError long before the end
        nested(2_000),
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        nested(MAX_JSON_DEPTH + 1),  # parses, but deeper than anything downstream may walk
    ],
    ids=["arrays-100k", "arrays-2k", "objects-50k", "just-over-the-limit"],
)
def test_deeply_nested_json_is_a_400_not_a_500(body):
    """Regression: 100k nested arrays gave a 500 (RecursionError in json.loads) on every JSON endpoint."""
    r = client().post("/echo", data=body, content_type="application/json")
    assert r.status_code == 400, r.get_data(as_text=True)
    error = r.get_json()["error"]
    assert error["code"] == "bad_request" and "nested too deeply" in error["message"]


def test_nesting_up_to_the_limit_is_accepted():
    body = nested(MAX_JSON_DEPTH)
    r = client().post("/echo", data=body, content_type="application/json")
    assert r.status_code == 200 and json_depth(r.get_json()) == MAX_JSON_DEPTH


def test_json_depth_counts_containers_without_recursing():
    assert [json_depth(v) for v in (1, "x", None, [], {}, [[1]], {"a": [{"b": 1}]})] == [0, 0, 0, 1, 1, 2, 3]


@pytest.mark.parametrize(
    "body, field",
    [
        (b'{"name": "a\\u0000b"}', "name"),
        (b'{"name": "\\ud800"}', "name"),  # a lone surrogate as a JSON escape …
        (b'{"tags": ["ok", "\\udfff"]}', "tags/1"),
        ('{"name": "x\ud800"}'.encode("utf-8", "surrogatepass"), "name"),  # … or as raw (invalid) UTF-8
        (b'{"a\\u0000": 1}', "a\\u0000"),
    ],
)
def test_unstorable_text_is_a_422_naming_the_field(body, field):
    r = client().post("/echo", data=body, content_type="application/json")
    assert r.status_code == 422, r.get_data(as_text=True)
    assert [d["field"] for d in r.get_json()["error"]["details"]] == [field]


def test_ordinary_unicode_is_kept():
    body = {"name": "Zoë 😀 \u2028 \t", "nested": [{"k": "\uffff"}]}
    r = client().post("/echo", json=body)
    assert r.status_code == 200 and r.get_json() == body


def test_nul_and_lone_surrogates_never_reach_the_database(api):
    """Regression: a lone surrogate in a name was a 500 on every backend (UTF-8 encoding
    failed in the driver), and U+0000 a 500 on PostgreSQL (text cannot hold NUL)."""
    from tests.conftest import register_and_login

    me = register_and_login(api)
    h = me["headers"]
    app = api.post("/api/v1/apps", json={"name": "A"}, headers=h).get_json()["id"]
    for bad in ("\ud800", "a\x00b"):
        text = json.dumps(bad)
        for method, path, body in [
            ("PUT", "/api/v1/user", f'{{"name": {text}}}'),
            ("POST", "/api/v1/profile", f'{{"name": {text}}}'),
            ("POST", "/api/v1/apps", f'{{"name": {text}}}'),
            ("PUT", f"/api/v1/apps/{app}", f'{{"name": {text}}}'),
            ("POST", "/jobs/submit", f'{{"app_id": {text}, "board_id": "b"}}'),
            ("POST", "/jobs/submit", f'{{"app_id": "{app}", "board_id": {text}}}'),
            ("POST", "/api/v1/auth/login", f'{{"email": {text}, "password": "correct horse 1"}}'),
        ]:
            r = api.open(path, method=method, data=body, content_type="application/json", headers=h)
            assert r.status_code == 422, (method, path, bad, r.get_data(as_text=True))
    assert api.get("/api/v1/user", headers=h).get_json()["name"] is None
    assert [a["name"] for a in api.get("/api/v1/apps", headers=h).get_json()["apps"]] == ["A"]


class BrokenInput:
    """A wsgi.input as gunicorn gives it for a malformed chunked body, or for a client
    that sent less than its Content-Length and hung up."""

    def __init__(self, exc):
        self.exc = exc

    def read(self, *args):
        raise self.exc

    readline = read


@pytest.mark.parametrize(
    "exc",
    [InvalidChunkSize(b"zz"), NoMoreData(), OSError("connection reset")],
    ids=["invalid-chunk-size", "no-more-data", "reset"],
)
def test_unreadable_body_is_a_400_not_a_500(exc):
    """Regression: `Transfer-Encoding: chunked` with a chunk size of `zz` gave a 500
    (gunicorn's InvalidChunkSize escaped read_body)."""
    environ = EnvironBuilder("/echo", method="POST", content_type="application/json", headers={"Transfer-Encoding": "chunked"}).get_environ()
    environ.update({"wsgi.input": BrokenInput(exc), "wsgi.input_terminated": True})  # as gunicorn does
    r = Router([Route("POST", "/echo", "t", f"{__name__}:echo", "echo")]).dispatch(Request(environ))
    assert r.status_code == 400, r.get_data(as_text=True)
    assert json.loads(r.get_data())["error"]["message"].startswith("could not read the request body")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_malformed_json(constant):
    r = client().post("/echo", data=f'{{"payload": {{"x": [{constant}]}}}}', content_type="application/json")
    assert r.status_code == 400 and f"{constant} is not a JSON value" in r.get_json()["error"]["message"]


def test_a_nan_payload_is_refused_before_any_job_exists(api):
    """Regression: POST /jobs/submit with payload {"x": NaN} was accepted; on PostgreSQL
    its event could not be stored (json refuses NaN), the job stayed queued for ever,
    a sync submit hung until its deadline and every reconcile tick failed on it."""
    from tests.conftest import register_and_login

    h = register_and_login(api)["headers"]
    app = api.post("/api/v1/apps", json={"name": "A"}, headers=h).get_json()["id"]
    body = f'{{"app_id": "{app}", "board_id": "echo", "payload": {{"x": NaN}}, "mode": "async"}}'
    r = api.post("/jobs/submit", data=body, content_type="application/json", headers=h)
    assert r.status_code == 400, r.get_data(as_text=True)
    from boardrun.db import session_scope
    from boardrun.jobs.models import Job

    with session_scope() as session:
        assert session.query(Job).count() == 0


@pytest.mark.parametrize("number", ["1e999", "-1e999", "1E400"])
def test_numbers_too_large_for_a_float_are_refused(number):
    """Regression: 1e999 parsed as infinity; responses then held `Infinity` (no JSON) and
    PostgreSQL answered 500. A number no float can hold is a 400, like NaN."""
    r = client().post("/echo", data=f'{{"payload": {{"x": [{number}]}}}}', content_type="application/json")
    assert r.status_code == 400, r.get_data(as_text=True)
    assert "not a finite number" in r.get_json()["error"]["message"]


def test_a_huge_number_in_a_job_payload_is_refused_before_any_job_exists(api):
    """Regression: POST /jobs/submit with payload {"x": 1e999} was a 500 on PostgreSQL."""
    from tests.conftest import register_and_login

    h = register_and_login(api)["headers"]
    app = api.post("/api/v1/apps", json={"name": "A"}, headers=h).get_json()["id"]
    body = f'{{"app_id": "{app}", "board_id": "echo", "payload": {{"x": 1e999}}}}'
    r = api.post("/jobs/submit", data=body, content_type="application/json", headers=h)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_request", r.get_data(as_text=True)


def test_ids_ending_in_a_newline_do_not_pass_the_id_patterns():
    """Regression: `$` matches before a final newline, so "hello\\n" passed as a board id."""
    from boardrun.ids import CLIENT_ID
    from boardrun.storage.base import check_key

    assert CLIENT_ID.fullmatch("hello") and not CLIENT_ID.fullmatch("hello\n")
    with pytest.raises(ValueError):
        check_key("jobs/j1\n/result.json")
