"""The shared request helpers of boardrun.web: what json_body refuses, and how."""

import json

import pytest
from werkzeug.test import Client

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
