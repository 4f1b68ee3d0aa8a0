"""The CloudEvents adapter reads both HTTP modes and writes binary mode with JSON data."""

import json
import re

import pytest

from boardrun.eventing.cloudevents_adapter import Event, EventParseError, parse, to_http_binary


def test_binary_round_trip_keeps_attributes_and_extensions():
    """An event written in binary mode parses back to the same type, source, id, data and extensions."""
    event = Event("dev.boardrun.job.submitted", "/boardrun/jobs", {"job_id": "job-1"}, subject="job-1", extensions={"jobid": "job-1"})
    headers, body = to_http_binary(event)
    assert headers["content-type"] == "application/json" and headers["ce-specversion"] == "1.0"
    back = parse(headers, body)
    assert (back.type, back.source, back.id, back.subject, back.data) == (event.type, event.source, event.id, "job-1", {"job_id": "job-1"})
    assert back.extensions == {"jobid": "job-1"}


def test_structured_mode_is_parsed():
    """A structured-mode event (application/cloudevents+json) is understood too."""
    body = json.dumps({"specversion": "1.0", "id": "e1", "source": "/s", "type": "t", "data": {"a": 1}, "appid": "app-1"})
    event = parse({"content-type": "application/cloudevents+json"}, body.encode())
    assert (event.id, event.data, event.extensions) == ("e1", {"a": 1}, {"appid": "app-1"})


@pytest.mark.parametrize(
    "headers, body",
    [
        ({"content-type": "application/json"}, b'{"plain": "json"}'),
        ({"ce-specversion": "1.0", "ce-type": "t", "ce-source": "/s", "content-type": "application/json"}, b"{}"),
        ({"content-type": "application/cloudevents+json"}, b"{not json"),
    ],
)
def test_non_events_are_refused(headers, body):
    """Plain JSON, a binary event without an id, and broken JSON are not CloudEvents."""
    with pytest.raises(EventParseError):
        parse(headers, body)


@pytest.mark.parametrize(
    "headers, body",
    [
        ({"content-type": "application/cloudevents+json"}, b"[" * 100_000 + b"]" * 100_000),
        ({"content-type": "application/cloudevents+json"}, b'{"specversion":"1.0","id":"e1","source":"/s","type":"t","data":' + b"[" * 2_000 + b"]" * 2_000 + b"}"),
        ({"ce-specversion": "1.0", "ce-id": "e1", "ce-type": "t", "ce-source": "/s", "content-type": "application/json"}, b"[" * 100_000 + b"]" * 100_000),
        ({"ce-specversion": "1.0", "ce-id": "e1", "ce-type": "t", "ce-source": "/s", "content-type": "application/json"}, b"[" * 100 + b"]" * 100),
    ],
    ids=["structured-100k", "structured-data-2k", "binary-data-100k", "binary-data-over-limit"],
)
def test_deeply_nested_events_are_refused_not_crashing(headers, body):
    """Regression: deeply nested JSON made /events and /events/dead-letter answer 500
    (RecursionError escaped from the SDK's json.loads), which the broker retries forever."""
    with pytest.raises(EventParseError, match="nested too deeply|recursion depth"):  # binary mode: the SDK wraps it
        parse(headers, body)


def _structured(**attrs) -> bytes:
    return json.dumps({"specversion": "1.0", "id": "e1", "source": "/s", "type": "t", "data": {}, **attrs}).encode()


@pytest.mark.parametrize(
    "attrs, message",
    [
        ({"id": "e\ud800"}, "unpaired UTF-16 surrogate"),
        ({"id": "e\x00"}, "U+0000"),
        ({"source": "/s\x00"}, "U+0000"),
        ({"jobid": "job-\x00"}, "U+0000"),
        ({"data": {"job_id": "a\x00"}}, "data/job_id: contains U+0000"),
        ({"id": "e" * 129}, "id is longer than 128"),
        ({"source": "s" * 245}, "source is longer than 244"),
        ({"type": "t" * 129}, "type is longer than 128"),
        ({"jobid": "j" * 65}, "jobid is longer than 64"),
        ({"knativeerrorcode": "5" * 17}, "knativeerrorcode is longer than 16"),
    ],
)
def test_events_the_dispatcher_cannot_store_are_refused(attrs, message):
    """Regression: /events/dead-letter answered 500 (and the broker retried) for an id
    with a lone surrogate, and on PostgreSQL for U+0000 or an id of 5000 characters."""
    with pytest.raises(EventParseError, match=re.escape(message)):
        parse({"content-type": "application/cloudevents+json"}, _structured(**attrs))


def test_long_but_storable_events_still_parse():
    event = parse({"content-type": "application/cloudevents+json"}, _structured(id="e" * 128, source="s" * 244, jobid="j" * 64))
    assert (len(event.id), len(event.source), len(event.extensions["jobid"])) == (128, 244, 64)


@pytest.mark.parametrize("data", [b'{"x": NaN}', b'[Infinity]'])
def test_nan_in_event_data_is_refused(data):
    """Regression: an event whose data held NaN could not be stored on PostgreSQL (500, retried)."""
    with pytest.raises(EventParseError, match="NaN or Infinity"):
        parse({"ce-specversion": "1.0", "ce-id": "e1", "ce-type": "t", "ce-source": "/s", "content-type": "application/json"}, data)
    body = b'{"specversion":"1.0","id":"e1","source":"/s","type":"t","data":' + data + b"}"
    with pytest.raises(EventParseError, match="NaN or Infinity"):
        parse({"content-type": "application/cloudevents+json"}, body)
