"""HTTP requests, sent through the egress policy in :mod:`boardrun.engine.http_egress`.

A request is the JSON object ``{"url", "method", "headers", "body"}`` as in Flow-Like, plus an
optional ``body_type``: ``"Json"`` (the default: the body is sent as JSON), ``"String"`` (sent as
UTF-8 text) or ``"Bytes"`` (an array of byte values, sent as is). Flow-Like keeps no such marker,
so after a round trip through a pin every body of its requests is sent as JSON. Header names are
matched without regard to case, as HTTP defines them.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Iterator
from urllib.parse import quote_plus

from ... import http_egress
from ...coerce import as_bool, as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
BODY_TYPES = ("Json", "String", "Bytes")


REQUEST_SCHEMA = json.dumps({
    "title": "HttpRequest", "type": "object", "required": ["url", "method"],
    "properties": {"url": {"type": "string"}, "method": {"enum": list(METHODS)},
                   "headers": {"type": ["object", "null"], "additionalProperties": {"type": "string"}},
                   "body": {}, "body_type": {"enum": [*BODY_TYPES, None]}},
})


RESPONSE_SCHEMA = json.dumps({
    "title": "HttpResponse", "type": "object", "required": ["status_code", "headers", "body"],
    "properties": {"status_code": {"type": "integer"},
                   "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                   "body": {"type": ["array", "null"], "items": {"type": "integer", "minimum": 0, "maximum": 255}}},
})


def _is_bytes(value: Any) -> bool:
    return type(value) is list and all(type(b) is int and 0 <= b <= 255 for b in value)


def _headers(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise NodeError(f"{what} must be an object of strings")
    return value


def _as_request(value: Any, pin: str = "request") -> dict[str, Any]:
    """A checked copy of the request object on ``pin``."""
    if not isinstance(value, dict):
        raise NodeError(f"input '{pin}' must be an object with 'url' and 'method'")
    if not isinstance(value.get("url"), str):
        raise NodeError(f"input '{pin}': request 'url' must be a string")
    if value.get("method") not in METHODS:
        raise NodeError(f"input '{pin}': request 'method' must be one of {', '.join(METHODS)}")
    headers = value.get("headers")
    if headers is not None:
        headers = dict(_headers(headers, f"input '{pin}': request 'headers'"))
    body_type = value.get("body_type")
    if body_type is not None and body_type not in BODY_TYPES:
        raise NodeError(f"input '{pin}': request 'body_type' must be one of {', '.join(BODY_TYPES)}")
    body = value.get("body")
    if body_type == "String" and not isinstance(body, str):
        raise NodeError(f"input '{pin}': a String body must be a string")
    if body_type == "Bytes" and not _is_bytes(body):
        raise NodeError(f"input '{pin}': a Bytes body must be an array of byte values")
    request = {**value, "headers": headers}
    if body_type is None:
        request.pop("body_type", None)
    return request


def _with_header(request: dict[str, Any], name: str, value: str) -> dict[str, Any]:
    # Replaces any spelling of the same name, so 'content-type' and 'Content-Type' are not both sent.
    headers = {k: v for k, v in (request["headers"] or {}).items() if k.lower() != name.lower()}
    headers[name] = value
    return {**request, "headers": headers}


def _header_value(headers: dict[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def _with_body(request: dict[str, Any], body: Any, body_type: str) -> dict[str, Any]:
    return {**request, "body": body, "body_type": body_type}


def _request_parts(value: Any) -> tuple[str, str, dict[str, str], bytes | None]:
    request = _as_request(value)
    url, method, headers = request["url"], request["method"], request["headers"] or {}
    body, body_type = request.get("body"), request.get("body_type", "Json")
    if body is None:
        return url, method, headers, None
    if body_type == "String":
        return url, method, headers, body.encode("utf-8")
    if body_type == "Bytes":
        return url, method, headers, bytes(body)
    if _header_value(headers, "content-type") is None:
        headers = {**headers, "Content-Type": "application/json"}
    return url, method, headers, json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _as_response(value: Any, pin: str = "response") -> dict[str, Any]:
    """A checked response object (status code, headers, body of byte values or null)."""
    if not isinstance(value, dict) or type(value.get("status_code")) is not int:
        raise NodeError(f"input '{pin}' must be a response object with an integer 'status_code'")
    _headers(value.get("headers"), f"input '{pin}': response 'headers'")
    body = value.get("body")
    if body is not None and not _is_bytes(body):
        raise NodeError(f"input '{pin}': response 'body' must be an array of byte values or null")
    return value


def _response_value(reply: http_egress.HttpReply | http_egress.HttpStream, body: bytes) -> dict[str, Any]:
    return {"status_code": reply.status_code, "headers": reply.headers, "body": list(body)}


REQUEST_IN = inp("request", "Request", "Struct", options={"enforce_schema": True}, schema=REQUEST_SCHEMA,
                 description="The HTTP request.")
REQUEST_OUT = out("request_out", "Request", "Struct", schema=REQUEST_SCHEMA, description="The changed request.")
RESPONSE_OUT = out("response", "Response", "Struct", schema=RESPONSE_SCHEMA,
                   description="Status code, lower-cased headers and the body as byte values.")
RESPONSE_IN = inp("response", "Response", "Struct", options={"enforce_schema": True}, schema=RESPONSE_SCHEMA,
                  description="A response from 'API Call'.")


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
           REQUEST_IN,
           out("exec_success", "Success", "Execution", description="Fires for a 2xx status."),
           RESPONSE_OUT,
           out("exec_error", "Error", "Execution", description="Fires for any other status.")])
def http_fetch(ctx: NodeContext) -> None:
    ctx.deactivate("exec_success")
    ctx.activate("exec_error")
    url, method, headers, content = _request_parts(ctx.get("request"))
    ctx.checkpoint()
    try:
        reply = http_egress.send(ctx.egress, method, url, headers, content, ctx.time_left())
    except NodeError:
        ctx.checkpoint()  # a time-out caused by the run's deadline or a cancel reports that, not the time-out
        raise
    ctx.set("response", _response_value(reply, reply.body))
    if 200 <= reply.status_code <= 299:
        ctx.deactivate("exec_error")
        ctx.activate("exec_success")


@register("http_response_to_json", "To Struct", "Web/API/Response", "Turns the JSON body of an HTTP response into a value.",
          [inp("exec_in", "", "Execution", description="Parse the body."),
           RESPONSE_IN,
           out("exec_out", "Exec Out", "Execution", description="Fires after parsing."),
           out("struct", "Struct", "Struct", description="The parsed body.")])
def http_response_to_json(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    body = _as_response(ctx.get("response")).get("body")
    if body is None:
        raise NodeError("input 'response' has no body")
    try:
        value = json.loads(bytes(body).decode("utf-8"))
    except ValueError as exc:
        raise NodeError(f"the response body is not JSON: {exc}") from None
    ctx.set("struct", value)
    ctx.activate("exec_out")


@register("streaming_http_fetch", "Streaming API Call", "Web/API",
          "Sends an HTTP request and runs 'On Stream' once per chunk of the answer as it arrives; "
          "then continues on 'Success' for a 2xx status and on 'Error' otherwise.",
          [inp("exec_in", "Execute", "Execution", description="Send the request."),
           REQUEST_IN,
           out("streaming_exec", "On Stream", "Execution", description="Runs once per received chunk."),
           out("streaming_response", "Stream Response", "Byte", "Array", description="The chunk just received."),
           out("exec_success", "Success", "Execution", description="Fires after the body for a 2xx status."),
           RESPONSE_OUT,
           out("exec_error", "Error", "Execution", description="Fires after the body for any other status.")])
def streaming_http_fetch(ctx: NodeContext) -> Iterator[list[Any]]:
    ctx.deactivate("exec_success")
    ctx.activate("exec_error")
    url, method, headers, content = _request_parts(ctx.get("request"))
    ctx.checkpoint()
    ctx.activate("streaming_exec")
    body_nodes = ctx.targets("streaming_exec")
    received = bytearray()
    # The stream is bounded by the run's deadline, not the policy's timeout: streams may last
    # long; each single read still times out after the policy's timeout.
    deadline = time.monotonic() + ctx.time_left()
    try:
        with http_egress.open_stream(ctx.egress, method, url, headers, content, deadline) as stream:
            for chunk in stream.chunks():
                received += chunk
                ctx.set("streaming_response", list(chunk))
                for target in body_nodes:
                    yield [target]
                ctx.checkpoint()
    except NodeError:
        ctx.checkpoint()  # as in http_fetch: report a cancel or the deadline as such
        raise
    ctx.deactivate("streaming_exec")
    ctx.set("response", _response_value(stream, bytes(received)))
    if 200 <= stream.status_code <= 299:
        ctx.deactivate("exec_error")
        ctx.activate("exec_success")


# -- reading and changing requests (pure) ----------------------------------------------------------

@register("http_get_header", "Get Header", "Web/API/Request", "Looks up one header of a request by name.",
          [REQUEST_IN,
           inp("header", "Header", "String", description="Header name (any case)."),
           out("found", "Found", "Boolean", description="Whether the request has this header."),
           out("value", "Value", "String", description="Its value, or empty.")])
def http_get_header(ctx: NodeContext) -> None:
    request = _as_request(ctx.get("request"))
    value = _header_value(request["headers"] or {}, as_str(ctx.get("header"), "header"))
    ctx.set("found", value is not None)
    ctx.set("value", value or "")


@register("http_get_headers", "Get Headers", "Web/API/Request", "All headers of a request as a map.",
          [REQUEST_IN, out("headers", "Headers", "String", "HashMap", description="Header name to value.")])
def http_get_headers(ctx: NodeContext) -> None:
    ctx.set("headers", _as_request(ctx.get("request"))["headers"] or {})


@register("http_get_method", "Get Method", "Web/API/Request", "The HTTP method of a request.",
          [REQUEST_IN, out("method", "Method", "String", description="GET, POST, PUT, DELETE or PATCH.")])
def http_get_method(ctx: NodeContext) -> None:
    ctx.set("method", _as_request(ctx.get("request"))["method"])


@register("http_get_url", "Get Url", "Web/API/Request", "The URL of a request.",
          [REQUEST_IN, out("url", "Url", "String", description="The URL as stored in the request.")])
def http_get_url(ctx: NodeContext) -> None:
    ctx.set("url", _as_request(ctx.get("request"))["url"])


def _header_setter(node_name: str, friendly: str, header: str, pin: str, pin_friendly: str) -> None:
    """Register a node that sets one fixed header from one string input (Accept, Content-Type)."""

    @register(node_name, friendly, "Web/API/Request", f"Sets the request's {header} header.",
              [REQUEST_IN, inp(pin, pin_friendly, "String", default="application/json",
                               description=f"The {header} value."), REQUEST_OUT])
    def set_fixed_header(ctx: NodeContext) -> None:
        request = _as_request(ctx.get("request"))
        ctx.set("request_out", _with_header(request, header, as_str(ctx.get(pin), pin)))


_header_setter("http_set_accept", "Set Accept", "Accept", "accept", "Accept")
_header_setter("http_set_content_type", "Set Content-Type", "Content-Type", "content_type", "Content-Type")


@register("http_set_bearer_auth", "Set Bearer Auth", "Web/API/Request",
          "Sets 'Authorization: Bearer <token>' on the request.",
          [REQUEST_IN, inp("token", "Token", "String", description="The bearer token."), REQUEST_OUT])
def http_set_bearer_auth(ctx: NodeContext) -> None:
    request = _as_request(ctx.get("request"))
    ctx.set("request_out", _with_header(request, "Authorization", f"Bearer {as_str(ctx.get('token'), 'token')}"))


@register("http_set_header", "Set Header", "Web/API/Request",
          "Sets one header on the request, replacing the same name in any case.",
          [REQUEST_IN,
           inp("name", "Name", "String", description="Header name."),
           inp("value", "Value", "String", description="Header value."),
           REQUEST_OUT])
def http_set_header(ctx: NodeContext) -> None:
    request = _as_request(ctx.get("request"))
    name = as_str(ctx.get("name"), "name")
    if not name:
        raise NodeError("input 'name' must not be empty")
    ctx.set("request_out", _with_header(request, name, as_str(ctx.get("value"), "value")))


@register("http_set_headers", "Set Headers", "Web/API/Request",
          "Adds a map of headers to the request, or replaces all its headers when 'Merge' is off.",
          [REQUEST_IN,
           inp("headers", "Headers", "String", "HashMap", description="Header name to value."),
           inp("merge", "Merge", "Boolean", default=True, description="Keep the headers already set."),
           REQUEST_OUT])
def http_set_headers(ctx: NodeContext) -> None:
    request = _as_request(ctx.get("request"))
    headers = _headers(ctx.get("headers"), "input 'headers'")
    if not as_bool(ctx.get("merge"), "merge"):
        request = {**request, "headers": {}}
    for name, value in headers.items():
        request = _with_header(request, name, value)
    ctx.set("request_out", request)


@register("http_set_method", "Set Method", "Web/API/Request", "Changes the HTTP method of the request.",
          [REQUEST_IN,
           inp("method", "Method", "String", default="GET", options={"valid_values": list(METHODS)},
               description="GET, POST, PUT, DELETE or PATCH; anything else fails."),
           REQUEST_OUT])
def http_set_method(ctx: NodeContext) -> None:
    request = _as_request(ctx.get("request"))
    method = as_str(ctx.get("method"), "method")
    if method not in METHODS:
        raise NodeError(f"input 'method' must be one of {', '.join(METHODS)}, got '{method}'")
    ctx.set("request_out", {**request, "method": method})


@register("http_set_url", "Set Url", "Web/API/Request", "Changes the URL of the request.",
          [REQUEST_IN, inp("url", "Url", "String", description="The new URL."), REQUEST_OUT])
def http_set_url(ctx: NodeContext) -> None:
    request = _as_request(ctx.get("request"))
    ctx.set("request_out", {**request, "url": as_str(ctx.get("url"), "url")})


@register("http_set_string_body", "Set String Body", "Web/API/Request",
          "Makes the text the request's body, sent as UTF-8 without a content type of its own.",
          [REQUEST_IN, inp("body", "Body", "String", description="The body text."), REQUEST_OUT])
def http_set_string_body(ctx: NodeContext) -> None:
    request = _as_request(ctx.get("request"))
    ctx.set("request_out", _with_body(request, as_str(ctx.get("body"), "body"), "String"))


@register("http_set_bytes_body", "Set Bytes Body", "Web/API/Request",
          "Makes the byte values the request's body, sent unchanged.",
          [REQUEST_IN, inp("body", "Body", "Byte", "Array", description="The body bytes."), REQUEST_OUT])
def http_set_bytes_body(ctx: NodeContext) -> None:
    request = _as_request(ctx.get("request"))
    body = ctx.get("body")
    if not _is_bytes(body):
        raise NodeError("input 'body' must be an array of byte values (0-255)")
    ctx.set("request_out", _with_body(request, body, "Bytes"))


@register("http_set_struct_body", "Set Struct Body", "Web/API/Request",
          "Makes the value the request's body, sent as JSON (with a JSON content type unless one is set).",
          [REQUEST_IN, inp("body", "Body", "Struct", description="Any JSON value."), REQUEST_OUT])
def http_set_struct_body(ctx: NodeContext) -> None:
    request = _as_request(ctx.get("request"))
    ctx.set("request_out", _with_body(request, ctx.get("body"), "Json"))


def _form_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@register("http_set_form_body", "Set Form Body", "Web/API/Request",
          "Encodes an object's fields as an application/x-www-form-urlencoded body (keys sorted).",
          [REQUEST_IN,
           inp("fields", "Fields", "Struct", default={}, description="Field name to value; non-text values as JSON."),
           inp("set_content_type", "Set Content-Type", "Boolean", default=True,
               description="Also set the form content type, unless the request has one."),
           REQUEST_OUT])
def http_set_form_body(ctx: NodeContext) -> None:
    request = _as_request(ctx.get("request"))
    fields = ctx.get("fields")
    if not isinstance(fields, dict):
        raise NodeError("input 'fields' must be an object")
    encoded = "&".join(f"{quote_plus(k, safe='')}={quote_plus(_form_value(v), safe='')}"
                       for k, v in sorted(fields.items()))
    request = _with_body(request, encoded, "String")
    if as_bool(ctx.get("set_content_type"), "set_content_type") and \
            _header_value(request["headers"] or {}, "content-type") is None:
        request = _with_header(request, "Content-Type", "application/x-www-form-urlencoded")
    ctx.set("request_out", request)


# -- reading responses ---------------------------------------------------------------------------

@register("http_response_get_header", "Get Header", "Web/API/Response", "Looks up one header of a response by name.",
          [RESPONSE_IN,
           inp("header", "Header", "String", description="Header name (any case)."),
           out("found", "Found", "Boolean", description="Whether the response has this header."),
           out("value", "Value", "String", description="Its value, or empty.")])
def http_response_get_header(ctx: NodeContext) -> None:
    response = _as_response(ctx.get("response"))
    value = _header_value(response["headers"], as_str(ctx.get("header"), "header"))
    ctx.set("found", value is not None)
    ctx.set("value", value or "")


@register("http_response_get_headers", "Get Headers", "Web/API/Response", "All headers of a response as a map.",
          [RESPONSE_IN, out("headers", "Headers", "String", "HashMap", description="Lower-case name to value.")])
def http_response_get_headers(ctx: NodeContext) -> None:
    ctx.set("headers", _as_response(ctx.get("response"))["headers"])


@register("http_response_get_status", "Get Status Code", "Web/API/Response", "The HTTP status code of a response.",
          [RESPONSE_IN, out("status_code", "Status Code", "Integer", description="For example 200 or 404.")])
def http_response_get_status(ctx: NodeContext) -> None:
    ctx.set("status_code", _as_response(ctx.get("response"))["status_code"])


@register("http_response_is_success", "Is Success", "Web/API/Response", "True when the status code is 2xx.",
          [RESPONSE_IN, out("is_success", "Is Success", "Boolean", description="200 to 299.")])
def http_response_is_success(ctx: NodeContext) -> None:
    ctx.set("is_success", 200 <= _as_response(ctx.get("response"))["status_code"] <= 299)


@register("http_response_to_bytes", "To Bytes", "Web/API/Response", "The body of a response as byte values.",
          [inp("exec_in", "", "Execution", description="Read the body."),
           RESPONSE_IN,
           out("exec_out", "Exec Out", "Execution", description="Fires after reading."),
           out("bytes", "Bytes", "Byte", "Array", description="The body; empty when there is none.")])
def http_response_to_bytes(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.set("bytes", _as_response(ctx.get("response")).get("body") or [])
    ctx.activate("exec_out")


@register("http_response_to_text", "To Text", "Web/API/Response",
          "The body of a response as text (UTF-8; undecodable bytes become U+FFFD).",
          [inp("exec_in", "", "Execution", description="Read the body."),
           RESPONSE_IN,
           out("exec_out", "Exec Out", "Execution", description="Fires after reading."),
           out("text", "Text", "String", description="The decoded body.")])
def http_response_to_text(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    body = _as_response(ctx.get("response")).get("body")
    if body is None:
        raise NodeError("input 'response' has no body")
    ctx.set("text", bytes(body).decode("utf-8", errors="replace"))
    ctx.activate("exec_out")
