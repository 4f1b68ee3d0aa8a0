"""Log lines cannot be forged: untrusted text in a record is escaped."""

import io
import json
import logging

from boardrun.logs import configure_logging


def _capture() -> io.StringIO:
    stream = io.StringIO()
    configure_logging("INFO")
    logging.getLogger().handlers[0].setStream(stream)
    return stream


def test_newlines_in_logged_values_are_escaped():
    """A value with CR/LF or another control character stays on its record's line."""
    stream = _capture()
    logging.getLogger("t").warning("refused %s", "e1\n2026-01-01 00:00:00,000 INFO boardrun.access [x] GET /admin 200\r\x1b[2J")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].endswith("refused e1\\n2026-01-01 00:00:00,000 INFO boardrun.access [x] GET /admin 200\\r\\x1b[2J")


def test_tracebacks_keep_their_lines():
    """Exception text is ours, not the caller's: it keeps its lines (only the message is escaped)."""
    stream = _capture()
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("t").exception("failed %s", "a\nb")
    text = stream.getvalue()
    assert "failed a\\nb" in text and "Traceback (most recent call last):\n" in text


def test_a_structured_event_with_a_newline_in_its_id_forges_no_log_line(env):
    """Regression: POST /events of a structured CloudEvent whose id held a newline logged
    a second, forged line."""
    from tests.conftest import function_client

    client = function_client("dispatcher")  # first: the function configures logging when loaded
    stream = _capture()
    event = {"specversion": "1.0", "id": "e1\nFORGED LINE", "source": "/s", "type": "com.example.other", "data": {}}
    r = client.post("/events", data=json.dumps(event), content_type="application/cloudevents+json")
    assert r.status_code == 422
    assert not any(line.startswith("FORGED") for line in stream.getvalue().splitlines())
    assert "e1\\nFORGED LINE" in stream.getvalue()
