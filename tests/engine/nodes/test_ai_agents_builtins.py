"""AI/Agents builder tools beyond board functions: SQL over a DataFusion session of the run, and the
tools of a real MCP server (the official SDK's server over Streamable HTTP on 127.0.0.1), driven by a
real OpenAI-protocol server."""

from __future__ import annotations

import socket
import threading
import time

import pytest

import ai_testkit
import openai_stub
from boardrun.engine.http_egress import EgressPolicy
from boardrun.engine.limits import CancelToken
from engine_testkit import BoardBuilder, failure_of, value_of

ai = ai_testkit.ai  # the shared fixture, used by name
stub = ai_testkit.stub  # the shared fixture, used by name

TOOLS_BIT = {"id": "local:tools", "type": "Llm", "parameters": {"provider": {"provider_name": "local", "model_id": "tools"}}}
PEOPLE = {"headers": ["name", "age"], "rows": [["Ann", 31], ["Bob", 45]], "source": None}
LOCAL = EgressPolicy(allow_private=True)
SLOW_CALLED = threading.Event()  # set by the server's 'slow' tool when a call reaches it


@pytest.fixture(scope="module")
def mcp_server():
    """A real MCP server (official SDK) with 'add' and 'shout' tools, and a 'slow' tool that never answers."""
    import uvicorn
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("calc")
    release = threading.Event()

    @server.tool(description="Add two numbers")
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool(description="Upper-case a text")
    def shout(text: str) -> str:
        return text.upper()

    @server.tool(description="A long text")
    def big() -> str:
        return "x" * 50_000

    @server.tool(description="Waits until the test ends")
    async def slow() -> str:
        import anyio

        SLOW_CALLED.set()
        while not release.is_set():
            await anyio.sleep(0.05)
        return "late"

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    web = uvicorn.Server(uvicorn.Config(server.streamable_http_app(), log_level="warning"))
    thread = threading.Thread(target=web.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not web.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    release.set()
    web.should_exit = True
    thread.join(10)


def _agent_board(question: str, builder: str, **inputs) -> tuple[BoardBuilder, str, str]:
    """start -> [session + table] -> agent builder -> Invoke Agent -> history out; returns (board, start, builder id)."""
    b = BoardBuilder()
    start = b.add("events_simple")
    agent = b.add("agent_from_model", model=TOOLS_BIT, max_iter=4)
    last = start
    if builder == "add_datafusion_to_agent":
        session = b.add("df_create_session", session_name="s")
        table = b.add("df_register_csv_table", table=PEOPLE, table_name="people")
        b.connect(session, "session", table, "session")
        node = b.add(builder, **inputs)
        b.connect(agent, "agent_out", node, "agent")
        b.connect(session, "session", node, "session")
        b.chain(start, session, table, node)
        last, agent_out = node, (node, "agent_out")
    else:
        node = b.add(builder, **inputs)
        b.connect(agent, "agent_out", node, "agent_in")
        agent_out = (node, "agent_out")
    hist = b.add("ai_generative_history_from_string", message=question)
    run = b.add("agent_invoke")
    b.connect(last, "exec_out", run, "exec_in")
    b.connect(*agent_out, run, "agent")
    b.connect(hist, "history", run, "history")
    ret = b.add("events_generic_return_result")
    b.connect(run, "exec_out", ret, "exec_in")
    b.connect(run, "history_out", ret, "response")
    return b, start, node


def test_datafusion_agent_runs_sql_on_the_session(ai):
    """The agent gets list_tables/describe_table/execute_sql; the model's execute_sql runs on the session and
    the rows go back as Markdown. The system prompt describes the data, with the discovered schema."""
    b, start, _ = _agent_board("call execute_sql", "add_datafusion_to_agent", description="Staff records",
                               table_descriptions={"people": "one row per person"},
                               example_queries=["SELECT count(*) FROM people"])
    messages = value_of(b.run(start))["messages"]
    assert messages[-1]["content"][0]["text"] == "Tool said: Query returned 1 rows:\n\n| name |\n| --- |\n| Bob |\n"
    first = ai.chat_requests("tools")[0]["body"]
    assert [t["function"]["name"] for t in first["tools"]] == ["list_tables", "describe_table", "execute_sql"]
    prompt = first["messages"][0]["content"]
    assert first["messages"][0]["role"] == "system" and "**Data Context:** Staff records" in prompt
    assert "- `people`: one row per person\n  Schema: name: string, age: int64" in prompt
    assert "```sql\nSELECT count(*) FROM people\n```" in prompt


@pytest.mark.parametrize("question, answer", [
    ("call list_tables", "Tool said: Available tables: people"),
    ("call describe_table", "Tool said: Schema for table 'people':\n  - name (string)\n  - age (int64)\n"),
])
def test_datafusion_agent_lists_and_describes(ai, question, answer):
    b, start, _ = _agent_board(question, "add_datafusion_to_agent", discover_schemas=False)
    assert value_of(b.run(start))["messages"][-1]["content"][0]["text"] == answer
    assert "Schema:" not in ai.chat_requests("tools")[0]["body"]["messages"][0]["content"]


def test_datafusion_sql_errors_go_back_to_the_model(ai, monkeypatch):
    """A failing query is the tool's answer (the model can correct it), not a failed run."""
    monkeypatch.setitem(openai_stub.TOOL_ARGUMENTS, "execute_sql", {"query": "SELECT nope FROM people"})
    b, start, _ = _agent_board("call execute_sql", "add_datafusion_to_agent")
    text = value_of(b.run(start))["messages"][-1]["content"][0]["text"]
    assert text.startswith("Tool said: error: DataFusion: the query failed:") and "nope" in text


def test_datafusion_needs_a_session_of_this_run(ai):
    b = BoardBuilder()
    start = b.add("events_simple")
    agent = b.add("agent_from_model", model=TOOLS_BIT)
    node = b.add("add_datafusion_to_agent", session={"cache_key": "datafusion session_gone"})
    b.connect(agent, "agent_out", node, "agent")
    b.chain(start, node)
    failure_of(b.run(start), "no open datafusion session connection with id")


def test_mcp_tools_are_called_on_the_server(ai, mcp_server):
    """Automatic mode offers every tool of the server; the model's call runs there and its text comes back."""
    b, start, _ = _agent_board("call add", "agent_register_mcp_tools", uri=mcp_server)
    messages = value_of(b.run(start, egress=LOCAL))["messages"]
    assert messages[-1]["content"][0]["text"] == "Tool said: 5"
    first = ai.chat_requests("tools")[0]["body"]
    assert [t["function"]["name"] for t in first["tools"]] == ["add", "shout", "big", "slow"]
    assert first["tools"][0]["function"]["description"] == "Add two numbers"
    assert first["tools"][0]["function"]["parameters"]["required"] == ["a", "b"]


def test_mcp_manual_mode_offers_the_switched_on_tools(ai, mcp_server, monkeypatch):
    """Manual mode: the editor's mcp_tool_* Boolean pins (named after the tools) pick the tools."""
    monkeypatch.setitem(openai_stub.TOOL_ARGUMENTS, "shout", {"text": "hey"})
    b, start, node = _agent_board("call shout", "agent_register_mcp_tools", uri=mcp_server, mode="Manual")
    for index, (tool, on) in enumerate([("add", False), ("shout", True), ("big", False), ("slow", False)]):
        b.add_pin(node, f"mcp_tool_{index}_{tool}", "Input", "Boolean", default=on)
        b.nodes[node]["pins"][b.pin_id(node, f"mcp_tool_{index}_{tool}")]["friendly_name"] = tool
    messages = value_of(b.run(start, egress=LOCAL))["messages"]
    assert messages[-1]["content"][0]["text"] == "Tool said: HEY"
    assert [t["function"]["name"] for t in ai.chat_requests("tools")[0]["body"]["tools"]] == ["shout"]


def test_mcp_tool_errors_go_back_to_the_model(ai, mcp_server, monkeypatch):
    monkeypatch.setitem(openai_stub.TOOL_ARGUMENTS, "add", {"a": "x"})
    b, start, _ = _agent_board("call add", "agent_register_mcp_tools", uri=mcp_server)
    text = value_of(b.run(start, egress=LOCAL))["messages"][-1]["content"][0]["text"]
    assert text.startswith("Tool said: error: Error executing tool add")


def test_mcp_server_on_a_private_address_is_refused_by_default(ai, mcp_server):
    b, start, _ = _agent_board("call add", "agent_register_mcp_tools", uri=mcp_server)
    failure_of(b.run(start), "egress refused: host '127.0.0.1' resolves to non-public address")


def test_mcp_answers_are_capped_at_the_egress_size_limit(ai, mcp_server):
    b, start, _ = _agent_board("call big", "agent_register_mcp_tools", uri=mcp_server)
    small = EgressPolicy(allow_private=True, max_response_bytes=20_000)
    failure_of(b.run(start, egress=small), "exceeds the limit of 20000 bytes")


def test_mcp_server_down_fails_the_node(ai):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    b, start, _ = _agent_board("call add", "agent_register_mcp_tools", uri=f"http://127.0.0.1:{port}/mcp")
    failure_of(b.run(start, egress=LOCAL), f"MCP server http://127.0.0.1:{port}/mcp: the connection failed")


@pytest.mark.parametrize("uri, message", [("", "input 'uri' must be the MCP server's URL"),
                                          ("ftp://example.com/mcp", "must be an absolute http or https URL")])
def test_bad_mcp_uris(ai, uri, message):
    b, start, _ = _agent_board("call add", "agent_register_mcp_tools", uri=uri)
    failure_of(b.run(start), message)


def test_slow_mcp_tool_times_out_and_cancel_stops_it(ai, mcp_server):
    """A tool that never answers ends at the egress timeout; a cancel ends the wait at once."""
    b, start, _ = _agent_board("call slow", "agent_register_mcp_tools", uri=mcp_server)
    quick = EgressPolicy(allow_private=True, timeout_seconds=3.0)  # room to connect on a busy machine
    failure_of(b.run(start, egress=quick), "did not answer the call of 'slow' within 3 s")
    SLOW_CALLED.clear()
    cancel = CancelToken()
    result = {}
    runner = threading.Thread(target=lambda: result.update(r=b.run(start, egress=LOCAL, cancel=cancel)))
    runner.start()
    assert SLOW_CALLED.wait(30)
    cancel.cancel()
    runner.join(30)
    assert not runner.is_alive() and result["r"].status == "cancelled", result["r"]
