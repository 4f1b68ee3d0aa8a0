"""Events/Chat: the chat start event and the push nodes (engine chat events and the run's answer)."""

from __future__ import annotations

from typing import Any

import pytest

from engine_testkit import BoardBuilder, run_pure

CHAT = {"chat_id": "c1", "messages": [{"role": "user", "content": "hello"}], "tools": ["search"],
        "local_session": {"turn": 1}, "user": {"sub": "u1", "name": "Ann", "bot": False}}


def _chat_board(*steps: tuple[str, dict[str, Any]]) -> tuple[BoardBuilder, str]:
    b = BoardBuilder()
    start = b.add("events_chat")
    last = start
    for name, inputs in steps:
        node = b.add(name, **inputs)
        b.connect(last, "exec_out", node, "exec_in")
        last = node
    return b, start


@pytest.mark.parametrize(("pin", "expected"), [
    ("history", {"model": "", "messages": CHAT["messages"], "preset": None, "stream": True}),
    ("local_session", {"turn": 1}), ("global_session", {}), ("tools", ["search"]), ("actions", []),
    ("attachments", []), ("user", CHAT["user"]),
])
def test_chat_event_reads_the_conversation(pin, expected):
    """The chat payload becomes Flow-Like's outputs: a History, sessions, tools, actions, user."""
    b = BoardBuilder()
    start = b.add("events_chat")
    ret = b.add("events_generic_return_result")
    b.connect(start, "exec_out", ret, "exec_in")
    b.connect(start, pin, ret, "response")
    assert b.run(start, CHAT).result == expected


def test_push_nodes_stream_chat_events_and_make_the_answer():
    """Steps, text, chunks, a response and the local session are pushed as chat events in Flow-Like's
    types, and the run answers with the gathered chat response."""
    b, start = _chat_board(
        ("events_chat_push_step", {"title": "Search", "description": "looking"}),
        ("events_chat_push_text_to_step", {"text": "found"}),
        ("events_chat_push_text_to_step", {"text": "two"}),
        ("events_chat_push_response_chunk", {"chunk": {"id": "", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}}),
        ("events_chat_push_local_session", {"local_session": {"turn": 2}}),
        ("events_chat_push_attachment", {"attachment": "https://example.com/a.pdf"}),
    )
    events: list[Any] = []
    result = b.run(start, CHAT, on_event=events.append)
    assert result.status == "completed", result.error
    chat = [e.data for e in events if e.kind == "chat"]
    assert [c["type"] for c in chat] == ["chat_stream_partial"] * 4 + ["chat_local_session", "chat_stream_partial"]
    assert chat[0]["payload"]["plan"] == {"plan": [[1, "Search: looking"]], "current_step": 1, "current_message": ""}
    assert chat[2]["payload"]["plan"]["current_message"] == "found two"
    assert chat[3]["payload"]["chunk"]["choices"][0]["delta"]["content"] == "Hi"
    answer = result.result
    assert answer["response"]["choices"][0]["message"]["content"] == "Hi"
    assert answer["local_session"] == {"turn": 2} and answer["attachments"] == ["https://example.com/a.pdf"]


def test_push_response_replaces_the_answer_and_remove_step_edits_the_plan():
    """Push Response sends the whole response (chat_stream); Remove Step drops a step from the plan."""
    response = {"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Done",
                                                                            "tool_calls": []}}],
                "usage": {"completion_tokens": 0, "prompt_tokens": 0, "total_tokens": 0, "cost": None}}
    b, start = _chat_board(("events_chat_push_step", {"title": "A", "description": "a"}),
                           ("events_chat_remove_step", {"step_id": 1}),
                           ("events_chat_push_response", {"response": response}))
    events: list[Any] = []
    result = b.run(start, CHAT, on_event=events.append)
    chat = [e.data for e in events if e.kind == "chat"]
    assert chat[1]["payload"]["plan"]["plan"] == []
    assert chat[2]["type"] == "chat_stream" and chat[2]["payload"]["response"] == response
    assert result.result["response"] == response


def test_returned_result_wins_over_the_chat_answer():
    """A chat board that returns a value explicitly answers with that value."""
    b, start = _chat_board(("events_generic_return_result", {"response": "explicit"}))
    assert b.run(start, CHAT).result == "explicit"


@pytest.mark.parametrize(("payload", "message"), [
    (None, "needs a payload"), ({"messages": "x"}, "'messages' list"), ({"messages": [], "tools": [1]}, "'tools'"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "role"), ({"messages": [], "user": "x"}, "'user'"),
])
def test_chat_event_refuses_bad_payloads(payload, message):
    """A payload that is not a Chat fails the start node naming the problem."""
    b, start = _chat_board()
    result = b.run(start, payload)
    assert result.reason == "node_error" and message in result.error["message"]


@pytest.mark.parametrize(("node", "inputs"), [
    ("events_chat_push_response", {"response": {"x": 1}}), ("events_chat_push_response_chunk", {"chunk": "x"}),
    ("events_chat_push_local_session", {"local_session": [1]}), ("events_chat_push_attachment", {"attachment": 3}),
    ("events_chat_remove_step", {"step_id": -1}),
])
def test_push_nodes_refuse_bad_input(node, inputs):
    """Push nodes fail on values of the wrong shape."""
    b, start = _chat_board((node, inputs))
    assert b.run(start, CHAT).reason == "node_error"


def test_signed_url_attachments():
    """From Signed URL makes a URL attachment; To Signed URL gives it back, and fails softly for objects."""
    url = "https://files.example.com/a.pdf?sig=1"
    assert run_pure("events_chat_attachment_from_signed_url", "attachment", signed_url=url).result == url
    assert run_pure("events_chat_attachment_to_signed_url", "signed_url", attachment=url).result == url
    rich = {"url": url, "name": "a.pdf"}
    assert run_pure("events_chat_attachment_to_signed_url", "success", attachment=rich).result is False
    assert run_pure("events_chat_attachment_to_signed_url", "signed_url", attachment=7).reason == "node_error"
