"""Notifications: notify_user and notify_project_user emit 'notification' run events."""

from __future__ import annotations

import pytest

from engine_testkit import BoardBuilder


def notify(node: str, **inputs):
    """events_simple -> node -> return its 'success'; returns (result, notification events)."""
    b = BoardBuilder()
    start = b.add("events_simple")
    target = b.add(node, node_id="notifier", **inputs)
    ret = b.add("events_generic_return_result")
    b.chain(start, target, ret)
    b.connect(target, "success", ret, "response")
    events = []
    result = b.run(start, on_event=events.append)
    return result, [e for e in events if e.kind == "notification"], events


def test_notify_user_emits_the_notification():
    """notify_user emits one notification event with the given fields (empty ones left out) and succeeds."""
    result, notes, _ = notify("notify_user", title="Build done", description="All green", link="https://ci.example/1",
                              show_desktop=False)
    assert result.result is True
    assert len(notes) == 1 and notes[0].message == "Build done" and notes[0].node_id == "notifier"
    assert notes[0].data == {"title": "Build done", "description": "All green", "link": "https://ci.example/1",
                             "show_desktop": False, "source_node_id": "notifier"}


def test_notify_user_defaults():
    """With the defaults the title is 'Notification' and a desktop notification is asked for."""
    _, notes, _ = notify("notify_user")
    assert notes[0].data == {"title": "Notification", "show_desktop": True, "source_node_id": "notifier"}


def test_notify_project_user_targets_the_member():
    """notify_project_user names its recipient and never asks for a desktop notification."""
    result, notes, _ = notify("notify_project_user", user_sub="user-42", title="Review", icon="bell")
    assert result.result is True
    assert notes[0].data == {"title": "Review", "icon": "bell", "show_desktop": False, "target_user_sub": "user-42",
                             "source_node_id": "notifier"}


def test_notify_project_user_without_user_reports_false():
    """Without a user id nothing is sent: Success is false and an Error line is logged (as in Flow-Like)."""
    result, notes, events = notify("notify_project_user", user_sub="  ")
    assert (result.status, result.result, notes) == ("completed", False, [])
    assert any(e.kind == "log" and e.level == "Error" and "user_sub" in e.message for e in events)


@pytest.mark.parametrize("node,inputs,pin", [("notify_user", {"title": 5}, "title"),
                                             ("notify_user", {"show_desktop": "yes"}, "show_desktop"),
                                             ("notify_user", {"link": None}, "link"),
                                             ("notify_project_user", {"user_sub": ["u"]}, "user_sub")])
def test_bad_inputs_fail_naming_the_pin(node, inputs, pin):
    """Wrongly typed inputs fail the node naming the pin, and nothing is sent."""
    result, notes, _ = notify(node, **inputs)
    assert result.reason == "node_error" and f"input '{pin}'" in result.error["message"] and notes == []
