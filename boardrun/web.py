"""Request and response helpers shared by every view.

Views take a werkzeug/flask `Request` plus the path parameters from the routes table
and return a werkzeug `Response`; these helpers keep that short and uniform.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from typing import Any, Iterable

from werkzeug.wrappers import Request, Response

from boardrun.config import get_settings
from boardrun.errors import BadRequest, PayloadTooLarge, Unprocessable, UnsupportedMediaType


def iso_time(value: datetime | None) -> str | None:
    """Every timestamp the API renders: RFC 3339 in UTC with milliseconds (…T12:00:00.000Z)."""
    if value is None:
        return None
    value = value.astimezone(timezone.utc)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(data, separators=(",", ":"), default=str),
        status=status,
        headers=headers,
        mimetype="application/json",
    )


def client_address(request: Request) -> str:
    """The caller's IP address. Behind TRUSTED_PROXY_HOPS proxies that each append to
    X-Forwarded-For, it is the entry the farthest trusted proxy added (entries to its
    left are the client's to forge); without trusted proxies, the socket's peer."""
    hops = get_settings().auth.trusted_proxy_hops
    if hops > 0:
        forwarded = [a.strip() for a in ",".join(request.headers.getlist("X-Forwarded-For")).split(",") if a.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.remote_addr or "unknown"


def no_content(headers: dict[str, str] | None = None) -> Response:
    return Response(status=204, headers=headers)


def read_body(request: Request, limit: int | None = None) -> bytes:
    """The raw body, refusing more than `limit` bytes (413) without reading it all."""
    limit = limit if limit is not None else get_settings().server.max_body_bytes
    length = request.content_length
    if length is not None and length > limit:
        _drain(request, length)
        raise PayloadTooLarge(f"request body is {length} bytes; the limit is {limit}")
    try:
        data = request.stream.read(limit + 1)
    except Exception as exc:
        # Reading the input stream fails only on what the client sent: a malformed
        # chunked encoding (gunicorn's InvalidChunkSize, a ParseException), a body
        # shorter than its Content-Length when the client hangs up (NoMoreData,
        # werkzeug's ClientDisconnected), a reset connection (OSError).
        raise BadRequest(f"could not read the request body: {exc or type(exc).__name__}") from None
    if len(data) > limit:
        _drain(request, None)
        raise PayloadTooLarge(f"request body exceeds the limit of {limit} bytes")
    return data


# Reading (and dropping) a moderately oversized body lets the client receive the 413
# instead of a reset connection; beyond this the connection is simply closed.
_DRAIN_MAX = 32 * 1024 * 1024


def _drain(request: Request, length: int | None) -> None:
    if length is not None and length > _DRAIN_MAX:
        return
    remaining = _DRAIN_MAX
    while remaining > 0:
        try:
            chunk = request.stream.read(min(65536, remaining))
        except Exception:  # as in read_body: the client's side broke
            return  # the 413 stands; the connection closes
        if not chunk:
            return
        remaining -= len(chunk)


# Deeper documents are refused (400) before anything walks them: json.loads itself
# raises RecursionError near the interpreter's limit, and jsonschema, json.dumps and the
# engine recurse too, so a body that only just parses could still fail later.
MAX_JSON_DEPTH = 64


def loads_json(raw: bytes | str, *, what: str = "JSON body") -> Any:
    """json.loads for untrusted input: BadRequest (400) for malformed JSON, including
    documents nested too deeply to parse or deeper than MAX_JSON_DEPTH."""
    try:
        data = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise BadRequest(f"{what} is nested too deeply (the limit is {MAX_JSON_DEPTH} levels)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"malformed {what}: {exc}") from None
    if json_depth(data) > MAX_JSON_DEPTH:
        raise BadRequest(f"{what} is nested too deeply (the limit is {MAX_JSON_DEPTH} levels)")
    return data


def _refuse_constant(name: str) -> Any:
    # NaN, Infinity and -Infinity are no JSON (RFC 8259) though json.loads takes them:
    # PostgreSQL's json type refuses them, so a job whose payload held one was left
    # queued for ever, and they would come back out as invalid JSON.
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    # 1e999 is valid JSON syntax, but Python reads it as infinity, which is no JSON
    # value on the way out and which PostgreSQL's json type refuses.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is not a finite number")
    return value


def json_depth(data: Any) -> int:
    """How deeply arrays and objects nest in `data` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def json_body(request: Request, schema: dict | None = None, *, limit: int | None = None) -> Any:
    """Parse a JSON body: 415 for another media type, 413 over the limit, 400 if
    malformed or nested deeper than MAX_JSON_DEPTH, 422 naming every field that
    breaks `schema`."""
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaType(
            f"expected Content-Type application/json, got {mimetype or 'none'}"
        )
    data = loads_json(read_body(request, limit))
    problems = text_problems(data)
    if schema is not None:
        problems += schema_problems(data, schema)
    if problems:
        raise Unprocessable(
            "; ".join(f"{p['field'] or '(body)'}: {p['message']}" for p in problems),
            details=problems,
        )
    return data


# Text no store can keep: PostgreSQL refuses NUL in text (a 500 on any column it
# reached), and a lone UTF-16 surrogate (legal as a \ud800 escape in JSON) cannot be
# encoded as UTF-8 at all, so no database, file or response could hold it.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def text_problems(data: Any) -> list[dict[str, str]]:
    """One {"field", "message"} per string (object key or value) holding U+0000 or a
    lone surrogate, with the field's path as schema_problems gives it."""
    problems, stack = [], [(data, [])]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            match = _UNSTORABLE.search(value)
            if match:
                what = "U+0000 (NUL)" if match.group() == "\x00" else "an unpaired UTF-16 surrogate"
                problems.append({"field": "/".join(path), "message": f"contains {what}, which cannot be stored"})
        elif isinstance(value, dict):
            for key, child in value.items():
                if _UNSTORABLE.search(key):
                    shown = _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", key)
                    problems.append({"field": "/".join(path + [shown]), "message": "the field name contains U+0000 or an unpaired surrogate"})
                else:
                    stack.append((child, path + [key]))
        elif isinstance(value, list):
            stack.extend((child, path + [str(i)]) for i, child in enumerate(value))
    return sorted(problems, key=lambda p: p["field"])


def validate(data: Any, schema: dict) -> None:
    """422 listing every violation of a JSON Schema, each with the field's path."""
    problems = schema_problems(data, schema)
    if problems:
        raise Unprocessable(
            "; ".join(f"{p['field'] or '(body)'}: {p['message']}" for p in problems),
            details=problems,
        )


def schema_problems(data: Any, schema: dict, registry: Any = None) -> list[dict[str, str]]:
    """`registry` (a `referencing.Registry`) resolves the schema's references to other documents."""
    from jsonschema import Draft202012Validator  # imported on first use: keeps cold starts short

    validator = _validators.get(id(schema))
    if validator is None:
        extra = {"registry": registry} if registry is not None else {}
        validator = _validators[id(schema)] = Draft202012Validator(schema, **extra)
    problems = []
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = [str(p) for p in err.absolute_path]
        if err.validator == "required":
            # jsonschema reports the missing property on the parent; name the field itself.
            missing = err.message.split("'")[1] if "'" in err.message else ""
            path.append(missing)
        elif err.validator == "additionalProperties":
            extra = _extra_properties(err.instance, err.schema)
            for name in extra:
                problems.append({"field": "/".join(path + [name]), "message": "unknown field"})
            continue
        problems.append({"field": "/".join(path), "message": _secret_safe_message(err) if _is_secret(err) else err.message})
    return problems


def _is_secret(err) -> bool:
    """A violation inside a property marked writeOnly (a password, a token)."""
    return isinstance(err.schema, dict) and bool(err.schema.get("writeOnly"))


def _secret_safe_message(err) -> str:
    # jsonschema's own messages quote the value ("'hunter2' is too short"): say what is
    # wrong without it.
    rule, limit = err.validator, err.validator_value
    if rule == "minLength":
        return f"must be at least {limit} characters long"
    if rule == "maxLength":
        return f"must be at most {limit} characters long"
    if rule == "type":
        return f"must be of type {limit}"
    return f"does not satisfy {rule}"


def _extra_properties(instance: Any, schema: dict) -> Iterable[str]:
    allowed = set(schema.get("properties", {}))
    return sorted(k for k in instance if k not in allowed) if isinstance(instance, dict) else []


_validators: dict[int, Any] = {}


def query_int(request: Request, name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Unprocessable(f"{name} must be an integer", details=[{"field": name, "message": "not an integer"}]) from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise Unprocessable(f"{name} must be {bound}", details=[{"field": name, "message": f"must be {bound}"}])
    return value
