"""The one module that touches the CloudEvents SDK (1.x, pinned by functions-framework).

Everything else uses `Event` below. A move to the 2.x SDK changes this file only.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

from cloudevents.conversion import to_binary
from cloudevents.exceptions import GenericException
from cloudevents.http import CloudEvent, from_http

from boardrun.web import MAX_JSON_DEPTH, json_depth, text_problems

_TOO_DEEP = f"event data is nested too deeply (the limit is {MAX_JSON_DEPTH} levels)"
_CORE = {"id", "source", "type", "specversion", "time", "subject", "datacontenttype", "dataschema", "data"}


class EventParseError(ValueError):
    """The request is not a valid CloudEvent (binary or structured mode)."""


@dataclass(frozen=True)
class Event:
    type: str
    source: str
    data: Any = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    time: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())
    subject: str | None = None
    extensions: dict[str, str] = field(default_factory=dict)  # lowercase a-z0-9 names

    def with_extensions(self, **ext: str) -> "Event":
        return Event(self.type, self.source, self.data, self.id, self.time, self.subject, {**self.extensions, **ext})


def parse(headers: Mapping[str, str], body: bytes) -> Event:
    """Binary mode (ce-* headers) or structured mode (application/cloudevents+json)."""
    try:
        ce = from_http(dict(headers), body)
    except RecursionError:  # a structured-mode body nested too deeply for json.loads
        raise EventParseError(_TOO_DEEP) from None
    except (GenericException, ValueError, TypeError) as exc:
        raise EventParseError(f"not a CloudEvent: {exc}") from None
    attrs = ce.get_attributes()
    data = ce.get_data()
    if isinstance(data, (bytes, bytearray)):
        try:
            data = json.loads(data) if data else None
        except RecursionError:
            raise EventParseError(_TOO_DEEP) from None
        except ValueError:
            raise EventParseError("event data is not JSON") from None
    if json_depth(data) > MAX_JSON_DEPTH:
        raise EventParseError(_TOO_DEEP)
    event = Event(
        type=str(attrs["type"]),
        source=str(attrs["source"]),
        data=data,
        id=str(attrs["id"]),
        time=str(attrs.get("time") or ""),
        subject=attrs.get("subject"),
        extensions={k: str(v) for k, v in attrs.items() if k not in _CORE},
    )
    _check_storable(event)
    return event


# The longest attribute values the dispatcher can store (its columns: id and type 128,
# source 256 less the "dead-letter:" prefix dead letters are deduplicated under, job id
# 64, Knative's error code 16 and destination 512); anything longer is no event of ours
# or Knative's, and would otherwise fail the insert with a 500 that the broker retries.
_MAX_LENGTH = {"id": 128, "type": 128, "source": 244, "subject": 256, "jobid": 64, "knativeerrorcode": 16}
_MAX_OTHER = 512


def _check_storable(event: Event) -> None:
    attrs = {"id": event.id, "type": event.type, "source": event.source, "subject": event.subject or "", **event.extensions}
    for name, value in attrs.items():
        if len(value) > _MAX_LENGTH.get(name, _MAX_OTHER):
            raise EventParseError(f"attribute {name} is longer than {_MAX_LENGTH.get(name, _MAX_OTHER)} characters")
    problems = text_problems({"attributes": attrs, "data": event.data})
    if problems:
        raise EventParseError("; ".join(f"{p['field']}: {p['message']}" for p in problems))
    try:
        json.dumps(event.data, allow_nan=False)
    except ValueError:  # NaN or ±Infinity: no JSON, and PostgreSQL's json refuses them
        raise EventParseError("event data holds NaN or Infinity, which is not JSON") from None


def to_http_binary(event: Event) -> tuple[dict[str, str], bytes]:
    """Binary-mode HTTP headers and body, data as application/json."""
    attributes: dict[str, Any] = {
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "specversion": "1.0",
        "time": event.time,
        "datacontenttype": "application/json",
        **event.extensions,
    }
    if event.subject:
        attributes["subject"] = event.subject
    headers, body = to_binary(CloudEvent(attributes, event.data))
    return dict(headers), body if isinstance(body, bytes) else str(body).encode()
