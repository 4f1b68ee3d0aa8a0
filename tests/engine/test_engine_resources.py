"""The per-run resource registry and the runtime hook that closes it when a run ends."""

from __future__ import annotations

import pytest

from boardrun.engine.errors import NodeError
from boardrun.engine.resources import RunResources


def test_close_all_closes_newest_first_and_swallows_errors():
    """close_all closes every resource in reverse order, even when one close raises."""
    closed = []
    resources = RunResources()

    def failing(_obj):
        closed.append("b")
        raise OSError("peer vanished")

    resources.add("tcp", "a", closed.append)
    resources.add("tcp", "b", failing)
    resources.add("udp", "c", closed.append)
    resources.close_all()
    assert closed == ["c", "b", "a"] and len(resources) == 0


def test_lookup_checks_kind_and_release_is_idempotent():
    """A reference of another kind or an unknown id is refused; releasing twice returns False."""
    resources = RunResources()
    ref_id = resources.add("tcp", object(), lambda _obj: None, reuse_key=("host", 1))
    assert resources.find("tcp", ("host", 1)) == ref_id
    with pytest.raises(NodeError, match="no open udp connection"):
        resources.get("udp", {"ref_id": ref_id})
    with pytest.raises(NodeError, match="expected an object with a 'ref_id'"):
        resources.get("tcp", "not a struct")
    assert resources.release(ref_id, "udp") is False
    assert resources.release(ref_id) is True and resources.release(ref_id) is False
    assert resources.find("tcp", ("host", 1)) is None and ref_id not in resources
