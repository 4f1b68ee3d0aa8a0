"""AI/Agents: tool calls run board functions and their results go back to the model (real server)."""

from __future__ import annotations

from typing import Any

import pytest

import ai_testkit
from ai_testkit import logged
from engine_testkit import BoardBuilder

ai = ai_testkit.ai  # the shared fixture, used by name
stub = ai_testkit.stub  # the shared fixture, used by name

TOOLS_BIT = {"id": "local:tools", "type": "Llm", "parameters": {"provider": {"provider_name": "local", "model_id": "tools"}}}


def _function(b: BoardBuilder) -> str:
    """A board function 'Get Weather' (an events_generic with a 'city' output) returning the city."""
    fn = b.add("events_generic", node_id="weather")
    b.nodes[fn]["friendly_name"] = "Get Weather"
    b.nodes[fn]["description"] = "The weather in a city."
    b.add_pin(fn, "city", "Output", "String")
    ret = b.add("events_generic_return_result")
    b.connect(fn, "exec_out", ret, "exec_in")
    b.connect(fn, "city", ret, "response")
    return fn


def _refs(b: BoardBuilder, node: str, *functions: str) -> None:
    b.nodes[node]["fn_refs"] = {"fn_refs": list(functions), "can_reference_fns": True, "can_be_referenced_by_fns": False}


def _agent_board(invoke_node: str = "agent_invoke", max_iter: int = 5) -> tuple[BoardBuilder, str]:
    b = BoardBuilder()
    start = b.add("events_simple")
    fn = _function(b)
    agent = b.add("agent_from_model", model=TOOLS_BIT, max_iter=max_iter)
    prompt = b.add("agent_set_system_prompt", system_prompt="use tools")
    b.connect(agent, "agent_out", prompt, "agent_in")
    tools = b.add("agent_register_function_tools")
    _refs(b, tools, fn)
    b.connect(prompt, "agent_out", tools, "agent_in")
    hist = b.add("ai_generative_history_from_string", message="weather?")
    run = b.add(invoke_node, node_id="agent")
    b.connect(start, "exec_out", run, "exec_in")
    b.connect(tools, "agent_out", run, "agent")
    b.connect(hist, "history", run, "history")
    ret = b.add("events_generic_return_result")
    done = "exec_out" if invoke_node == "agent_invoke" else "exec_done"
    b.connect(run, done, ret, "exec_in")
    b.connect(run, "history_out", ret, "response")
    return b, start


@pytest.mark.parametrize("node", ["agent_invoke", "agent_stream_invoke"])
def test_agent_runs_a_board_function_for_a_tool_call(ai, node):
    """The model asks for get_weather; the function chain runs with city=Paris and returns it; the model
    gets it as the tool result and answers. The history records every turn."""
    b, start = _agent_board(node)
    result = b.run(start)
    assert result.status == "completed", result.error
    messages = result.result["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert messages[2]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert messages[3]["content"] == [{"type": "text", "text": "Paris"}] and messages[3]["tool_call_id"] == "call-1"
    assert messages[4]["content"] == [{"type": "text", "text": "Tool said: Paris"}]
    first, second = ai.chat_requests("tools")
    assert first["body"]["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    assert second["body"]["messages"][3] == {"role": "tool", "content": "Paris", "tool_call_id": "call-1"}


def test_function_results_do_not_become_the_run_result(ai):
    """The function's Return Result answers the tool call; the run's own result is the agent's."""
    b, start = _agent_board()
    assert b.run(start).result["messages"][-1]["role"] == "assistant"


def test_agent_stops_after_its_maximum_turns(ai):
    """With one turn allowed, a tool-calling model never gets to answer: the node fails saying so."""
    b, start = _agent_board(max_iter=1)
    result = b.run(start)
    assert result.reason == "node_error" and "all 1 of its turns" in result.error["message"]


def test_simple_agent_streams_and_uses_its_own_function_references(ai):
    """Simple Agent takes the functions it references itself and streams every turn through On Stream."""
    b = BoardBuilder()
    start = b.add("events_simple")
    fn = _function(b)
    hist = b.add("ai_generative_history_from_string", message="weather?")
    agent = b.add("simple_agent", node_id="agent", model=TOOLS_BIT)
    _refs(b, agent, fn)
    b.connect(start, "exec_out", agent, "exec_in")
    b.connect(hist, "history", agent, "history")
    token = b.add("ai_generative_llm_response_chunk_get_token")
    b.connect(agent, "chunk", token, "chunk")
    log = b.add("log_info", node_id="tok")
    b.connect(agent, "on_stream", log, "exec_in")
    b.connect(token, "token", log, "message")
    ret = b.add("events_generic_return_result")
    b.connect(agent, "exec_done", ret, "exec_in")
    b.connect(agent, "response", ret, "response")
    events: list[Any] = []
    result = b.run(start, on_event=events.append)
    assert result.status == "completed", result.error
    assert result.result["choices"][0]["message"]["content"] == "Tool said: Paris"
    assert "".join(logged(events, "tok")) == "Tool said: Paris"
    assert all(r["body"]["stream"] for r in ai.chat_requests("tools"))


def test_reference_to_a_node_that_is_not_a_function_fails(ai):
    """A function reference naming a node that cannot be called fails the node."""
    b, start = _agent_board()
    tools = next(n for n, node in b.nodes.items() if node["name"] == "agent_register_function_tools")
    _refs(b, tools, "agent")
    result = b.run(start)
    assert result.reason == "node_error" and "is not a function node" in result.error["message"]


def test_agent_builders_refuse_bad_input():
    """An agent input that is not an Agent, or zero iterations, fails naming the pin."""
    b = BoardBuilder()
    start = b.add("events_simple")
    prompt = b.add("agent_set_system_prompt", agent_in={"x": 1})
    ret = b.add("events_generic_return_result")
    b.connect(start, "exec_out", ret, "exec_in")
    b.connect(prompt, "agent_out", ret, "response")
    assert "must be an Agent" in b.run(start).error["message"]
    b2 = BoardBuilder()
    s2 = b2.add("events_simple")
    agent = b2.add("agent_from_model", model=TOOLS_BIT, max_iter=0)
    r2 = b2.add("events_generic_return_result")
    b2.connect(s2, "exec_out", r2, "exec_in")
    b2.connect(agent, "agent_out", r2, "response")
    assert "max_iter" in b2.run(s2).error["message"]


def test_thinking_tool_echoes_the_thought_back(ai):
    """With Register Thinking Tool the agent offers 'think'; a call gets its thought back as the result."""
    b = BoardBuilder()
    start = b.add("events_simple")
    agent = b.add("agent_from_model", model=TOOLS_BIT)
    think = b.add("agent_register_thinking")
    b.connect(agent, "agent_out", think, "agent_in")
    hist = b.add("ai_generative_history_from_string", message="plan")
    run = b.add("agent_invoke")
    b.connect(start, "exec_out", run, "exec_in")
    b.connect(think, "agent_out", run, "agent")
    b.connect(hist, "history", run, "history")
    ret = b.add("events_generic_return_result")
    b.connect(run, "exec_out", ret, "exec_in")
    b.connect(run, "response", ret, "response")
    result = b.run(start)
    assert result.status == "completed", result.error
    assert result.result["choices"][0]["message"]["content"] == "Tool said: <think>check the map</think>"
    assert ai.chat_requests("tools")[0]["body"]["tools"][0]["function"]["name"] == "think"


def test_infinite_context_drops_the_oldest_messages(ai):
    """With Infinite Context, only the newest messages that fit Max Tokens are sent (system kept)."""
    messages = [{"role": "system", "content": "be brief"}] + [
        {"role": "user", "content": f"message {i} " + "x" * 200} for i in range(10)]
    b = BoardBuilder()
    start = b.add("events_simple")
    hist = b.add("ai_generative_from_messages", messages=messages)
    agent = b.add("simple_agent", model={**TOOLS_BIT, "parameters": {"provider": {"provider_name": "local",
                                                                                  "model_id": "coder"}}},
                  infinite_context=True, max_context_tokens=150)
    _refs(b, agent)
    b.connect(start, "exec_out", agent, "exec_in")
    b.connect(hist, "history", agent, "history")
    result = b.run(start)
    assert result.status == "completed", result.error
    sent = ai.chat_requests("coder")[0]["body"]["messages"]
    assert sent[0] == {"role": "system", "content": "be brief"}
    assert [m["content"].split(" ")[1] for m in sent[1:]] == ["8", "9"]
