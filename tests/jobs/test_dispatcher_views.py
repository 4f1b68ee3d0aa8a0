"""The dispatcher's HTTP face refuses what it cannot store with a 4xx (no retry), never a 5xx."""

import json

import pytest

from tests.conftest import function_client


@pytest.mark.parametrize("path", ["/events", "/events/dead-letter"])
@pytest.mark.parametrize(
    "attrs",
    [{"id": "e\ud800"}, {"id": "e\x00"}, {"id": "e" * 5000, "source": "s" * 5000}, {"jobid": "j\x00"}],
    ids=["surrogate-id", "nul-id", "long-attributes", "nul-jobid"],
)
def test_unstorable_events_are_400_on_every_backend(env, path, attrs):
    """Regression: these dead letters were a 500 (a lone surrogate everywhere, NUL and
    over-long attributes on PostgreSQL), which the broker keeps retrying."""
    body = json.dumps({"specversion": "1.0", "id": "e1", "source": "/s", "type": "dev.boardrun.job.submitted", "data": {}, **attrs})
    r = function_client("dispatcher").post(path, data=body, content_type="application/cloudevents+json")
    assert r.status_code == 400, r.get_data(as_text=True)
    assert r.get_json()["error"]["code"] == "not_a_cloudevent"
