"""HTTP requests, sent through the egress policy in :mod:`boardrun.engine.http_egress`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ... import http_egress
from ...coerce import as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


REQUEST_SCHEMA = json.dumps({
    "title": "HttpRequest", "type": "object", "required": ["url", "method"],
    "properties": {"url": {"type": "string"}, "method": {"enum": list(METHODS)},
                   "headers": {"type": ["object", "null"], "additionalProperties": {"type": "string"}},
                   "body": {}},
})


RESPONSE_SCHEMA = json.dumps({
    "title": "HttpResponse", "type": "object", "required": ["status_code", "headers", "body"],
    "properties": {"status_code": {"type": "integer"},
                   "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                   "body": {"type": ["array", "null"], "items": {"type": "integer", "minimum": 0, "maximum": 255}}},
})


def _request_parts(request: Any) -> tuple[str, str, dict[str, str], bytes | None]:
    if not isinstance(request, dict):
        raise NodeError("input 'request' must be an object with 'url' and 'method'")
    url, method, headers = request.get("url"), request.get("method"), request.get("headers")
    if not isinstance(url, str):
        raise NodeError("request 'url' must be a string")
    if method not in METHODS:
        raise NodeError(f"request 'method' must be one of {', '.join(METHODS)}")
    if headers is None:
        headers = {}
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise NodeError("request 'headers' must be an object of strings")
    body = request.get("body")
    content = None
    if body is not None:
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if not any(k.lower() == "content-type" for k in headers):
            headers = {**headers, "Content-Type": "application/json"}
    return url, method, headers, content


@register("http_make_request", "Make Request", "Web/API/Request", "Builds a request object for 'API Call'.",
          [inp("method", "Method", "String", default="GET", options={"valid_values": list(METHODS)},
               description="HTTP method; anything unknown becomes GET."),
           inp("url", "URL", "String", description="Absolute http or https URL."),
           out("request", "Request", "Struct", description="The request, without headers or body.",
               schema=REQUEST_SCHEMA)])
def http_make_request(ctx: NodeContext) -> None:
    method = as_str(ctx.get("method"), "method")
    ctx.set("request", {"url": as_str(ctx.get("url"), "url"), "method": method if method in METHODS else "GET",
                        "headers": None, "body": None})


@register("http_fetch", "API Call", "Web/API",
          "Sends an HTTP request; continues on 'Success' for 2xx answers and on 'Error' for others.",
          [inp("exec_in", "Execute", "Execution", description="Send the request."),
           inp("request", "Request", "Struct", options={"enforce_schema": True}, schema=REQUEST_SCHEMA,
               description="The request to send."),
           out("exec_success", "Success", "Execution", description="Fires for a 2xx status."),
           out("response", "Response", "Struct", schema=RESPONSE_SCHEMA,
               description="Status code, lower-cased headers and the body as byte values."),
           out("exec_error", "Error", "Execution", description="Fires for any other status.")])
def http_fetch(ctx: NodeContext) -> None:
    ctx.deactivate("exec_success")
    ctx.activate("exec_error")
    url, method, headers, content = _request_parts(ctx.get("request"))
    reply = http_egress.send(ctx.egress, method, url, headers, content, ctx.time_left())
    ctx.set("response", {"status_code": reply.status_code, "headers": reply.headers, "body": list(reply.body)})
    if 200 <= reply.status_code <= 299:
        ctx.deactivate("exec_error")
        ctx.activate("exec_success")


@register("http_response_to_json", "To Struct", "Web/API/Response", "Turns the JSON body of an HTTP response into a value.",
          [inp("exec_in", "", "Execution", description="Parse the body."),
           inp("response", "Response", "Struct", options={"enforce_schema": True}, schema=RESPONSE_SCHEMA,
               description="A response from 'API Call'."),
           out("exec_out", "Exec Out", "Execution", description="Fires after parsing."),
           out("struct", "Struct", "Struct", description="The parsed body.")])
def http_response_to_json(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    response = ctx.get("response")
    body = response.get("body") if isinstance(response, dict) else None
    if not isinstance(body, list) or not all(type(b) is int and 0 <= b <= 255 for b in body):
        raise NodeError("the response has no body of byte values")
    try:
        value = json.loads(bytes(body).decode("utf-8"))
    except ValueError as exc:
        raise NodeError(f"the response body is not JSON: {exc}") from None
    ctx.set("struct", value)
    ctx.activate("exec_out")
