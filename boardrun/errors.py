"""The one error envelope every endpoint answers with.

`{"error": {"code": "not_found", "message": "…", "details": …}}` plus the request id
header. Views raise these; the router renders them. Anything else that escapes a view
is a bug on our side and becomes a 500 with an error id that is logged, never a trace.
"""

from __future__ import annotations

from typing import Any


# The envelope's JSON Schema (the OpenAPI document's Error component).
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {
                    "type": "string",
                    "description": "machine-readable code, e.g. not_found, validation_failed, invalid_state",
                },
                "message": {"type": "string"},
                "id": {"type": "string", "description": "5xx only: the error id also sent as X-Error-Id"},
                "details": {
                    "description": "422: a list of {field, message}",
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
            "required": ["code", "message"],
        },
    },
    "required": ["error"],
}


class ApiError(Exception):
    status = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"

    def __init__(self, message: str = "authentication required", *, error: str = "invalid_token", **kw: Any):
        kw.setdefault("headers", {})["WWW-Authenticate"] = f'Bearer realm="boardrun", error="{error}"'
        super().__init__(message, **kw)


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class MethodNotAllowed(ApiError):
    status, code = 405, "method_not_allowed"


class Conflict(ApiError):
    status, code = 409, "conflict"


class PreconditionFailed(ApiError):
    status, code = 412, "precondition_failed"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


class Unprocessable(ApiError):
    """Schema violations; `details` is a list of {"field", "message"}, one per bad field."""

    status, code = 422, "validation_failed"


class TooManyRequests(ApiError):
    status, code = 429, "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, **kw: Any):
        kw.setdefault("headers", {})["Retry-After"] = str(max(1, int(retry_after)))
        super().__init__(message, **kw)


class BadGateway(ApiError):
    status, code = 502, "bad_gateway"


class ServiceUnavailable(ApiError):
    status, code = 503, "service_unavailable"
