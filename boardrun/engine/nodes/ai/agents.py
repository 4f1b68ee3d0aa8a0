"""AI/Agents: agents whose tools are board functions (Flow-Like's function references).

An agent calls its model with the referenced functions as tools; each tool call runs that function's
chain (its event node's outputs take the call's arguments, as a delegated call in Flow-Like), and
what the chain returns (Return Generic Result) goes back to the model as the tool's result. This
repeats until the model answers without tool calls or the agent's maximum number of turns is reached.
Agents may also get SQL tools over DataFusion sessions of the run and the tools of MCP servers.
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any, Iterator

from ...ai import providers, shapes
from ...coerce import as_bool, as_int, as_str
from ...errors import NodeError
from ...registry import inp, out, register
from .generative import ENFORCE, _chat

if TYPE_CHECKING:
    from ...model import Node
    from ...runtime import NodeContext

Body = Iterator[list[Any]]
DEFAULT_MAX_CONTEXT_TOKENS = 32_000
_SCHEMA_TYPES = {"String": "string", "PathBuf": "string", "Date": "string", "Integer": "number", "Float": "number",
                 "Byte": "number", "Boolean": "boolean", "Struct": "object", "Generic": "object"}


def _agent_in(name: str = "agent_in") -> Any:
    return inp(name, "Agent", "Struct", options=ENFORCE, description="The agent.")


AGENT_OUT = out("agent_out", "Agent", "Struct", options=ENFORCE, description="The agent.")


def _agent(value: Any, pin: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not isinstance(value.get("model"), dict):
        raise NodeError(f"input '{pin}' must be an Agent (from Agent from Model)")
    if type(value.get("max_iterations")) is not int or value["max_iterations"] < 1:
        raise NodeError(f"input '{pin}': 'max_iterations' must be a positive integer")
    if not isinstance(value.get("function_refs", {}), dict):
        raise NodeError(f"input '{pin}': 'function_refs' must be an object")
    return copy.deepcopy(value)


def new_agent(model: dict[str, Any], max_iterations: int) -> dict[str, Any]:
    name = providers._field(model, "meta", "en", "name")
    return {"model": model, "model_display_name": name if isinstance(name, str) else None,
            "max_iterations": max_iterations, "tools": [], "function_refs": {}, "mcp_servers": [],
            "thinking_enabled": False, "datafusion_contexts": [], "infinite_context": False,
            "context_management_mode": "Truncate", "max_context_tokens": None}


def _iterations(ctx: NodeContext, pin: str = "max_iter") -> int:
    value = as_int(ctx.get(pin), pin)
    if value < 1:
        raise NodeError(f"input '{pin}' must be at least 1, got {value}")
    return value


@register("agent_from_model", "Agent from Model", "AI/Agents/Builder",
          "An agent backed by the given model, allowed a number of model turns (tool rounds).",
          [inp("model", "Model", "Struct", options=ENFORCE, description="The model Bit."),
           inp("max_iter", "Max Iterations", "Integer", default=15, description="Most model turns per invocation."),
           inp("infinite_context", "Infinite Context", "Boolean", default=False,
               description="Keep the history within Max Context Tokens by dropping the oldest messages."),
           inp("context_mode", "Context Mode", "String", default="summarize",
               options={"valid_values": ["summarize", "truncate"]}, description="How to shorten the history."),
           inp("max_context_tokens", "Max Context Tokens", "Integer", description="The history's token budget."),
           AGENT_OUT])
def agent_from_model(ctx: NodeContext) -> None:
    model = ctx.get("model")
    if not isinstance(model, dict):
        raise NodeError("input 'model' must be a model Bit")
    agent = new_agent(model, _iterations(ctx))
    if as_bool(ctx.get("infinite_context"), "infinite_context"):
        mode = as_str(ctx.get("context_mode"), "context_mode").lower()
        agent["infinite_context"] = True
        agent["context_management_mode"] = "Summarize" if mode in ("summarize", "summary") else "Truncate"
        tokens = as_int(ctx.get("max_context_tokens"), "max_context_tokens") if ctx.has_input("max_context_tokens") else 0
        agent["max_context_tokens"] = tokens if tokens > 0 else DEFAULT_MAX_CONTEXT_TOKENS
    ctx.set("agent_out", agent)


@register("agent_set_system_prompt", "Set Agent System Prompt", "AI/Agents/Builder",
          "Sets the instructions the agent puts first in every conversation.",
          [_agent_in(), inp("system_prompt", "System Prompt", "String", default="", description="The instructions."),
           AGENT_OUT])
def agent_set_system_prompt(ctx: NodeContext) -> None:
    agent = _agent(ctx.get("agent_in"), "agent_in")
    agent["system_prompt"] = as_str(ctx.get("system_prompt"), "system_prompt")
    ctx.set("agent_out", agent)


@register("agent_register_thinking", "Register Thinking Tool", "AI/Agents/Builder",
          "Gives the agent a 'think' tool: a place to reason step by step between tool calls.",
          [_agent_in(), AGENT_OUT])
def agent_register_thinking(ctx: NodeContext) -> None:
    agent = _agent(ctx.get("agent_in"), "agent_in")
    agent["thinking_enabled"] = True
    ctx.set("agent_out", agent)


THINK_TOOL = {"type": "function", "function": {
    "name": "think", "description": "Think about the task step by step before acting; the thought is kept, "
                                    "nothing else happens.",
    "parameters": {"type": "object", "required": ["thought"], "properties": {"thought": {"type": "string"}}}}}


@register("agent_register_function_tools", "Register Function Tools", "AI/Agents/Builder",
          "Gives the agent the board functions this node references as tools.",
          [_agent_in(), AGENT_OUT])
def agent_register_function_tools(ctx: NodeContext) -> None:
    agent = _agent(ctx.get("agent_in"), "agent_in")
    for node in ctx.referenced_functions():
        agent["function_refs"][node.id] = node.name
    ctx.set("agent_out", agent)


def _optional(ctx: NodeContext, pin: str) -> Any:
    """An input Flow-Like reads as optional: None when it has no value and no default."""
    try:
        return ctx.get(pin)
    except NodeError:
        return None


@register("add_datafusion_to_agent", "Add DataFusion", "AI/Agents/Builder",
          "Gives the agent SQL tools (list_tables, describe_table, execute_sql) over a DataFusion session, "
          "and describes its data in the system prompt.",
          [inp("exec_in", "Add", "Execution", description="Add the session."),
           inp("agent", "Agent", "Struct", schema="Agent", description="The agent."),
           inp("session", "Session", "Struct", schema="DataFusionSession", description="The DataFusion session."),
           inp("description", "Description", "String", description="What the data is (optional)."),
           inp("table_descriptions", "Table Descriptions", "Struct", schema="HashMap",
               description="Table name -> what the table holds (optional)."),
           inp("example_queries", "Example Queries", "Generic", description="SQL queries that work well (optional)."),
           inp("discover_schemas", "Discover Schemas", "Boolean", default=True,
               description="Put every table's columns into the prompt."),
           out("exec_out", "Done", "Execution", description="Fires once added."),
           out("agent_out", "Agent", "Struct", schema="Agent", description="The agent.")])
def add_datafusion_to_agent(ctx: NodeContext) -> None:
    from ..data import datafusion as df

    ctx.deactivate("exec_out")
    agent = _agent(ctx.get("agent"), "agent")
    sess_ref = ctx.get("session")
    sess = df.session(ctx)  # a session of this run: fails now rather than at the first tool call
    description = _optional(ctx, "description")
    if description is not None and not isinstance(description, str):
        raise NodeError("input 'description' must be a string")
    tables = _optional(ctx, "table_descriptions") or {}
    if not isinstance(tables, dict) or not all(isinstance(v, str) for v in tables.values()):
        raise NodeError("input 'table_descriptions' must map table names to description strings")
    examples = _optional(ctx, "example_queries")
    examples = [] if examples is None else [examples] if isinstance(examples, str) else examples
    if not isinstance(examples, list) or not all(isinstance(q, str) for q in examples):
        raise NodeError("input 'example_queries' must be a list of SQL strings")
    schemas = {}
    if as_bool(ctx.get("discover_schemas"), "discover_schemas"):
        for table in df.list_tables(sess):
            fields = df.table_schema(sess, table["name"], "session")
            schemas[table["name"]] = ", ".join(f"{f.name}: {f.type}" for f in fields)
    agent.setdefault("datafusion_contexts", []).append({
        "session_cache_key": sess_ref["cache_key"], "description": description or None,
        "table_descriptions": dict(tables), "example_queries": list(examples), "table_schemas": schemas})
    ctx.set("agent_out", agent)
    ctx.activate("exec_out")


MCP_TOOL_PIN_PREFIX = "mcp_tool_"


@register("agent_register_mcp_tools", "Register MCP Tools", "AI/Agents/Builder",
          "Gives the agent the tools of an MCP server (Streamable HTTP): all of them, or in Manual mode those "
          "whose 'mcp_tool_…' switches on this node are on.",
          [_agent_in(), inp("uri", "MCP Server URI", "String", description="The server's Streamable HTTP endpoint."),
           inp("mode", "Mode", "String", default="Automatic", options={"valid_values": ["Automatic", "Manual"]},
               description="Automatic: every tool; Manual: the tools switched on."),
           AGENT_OUT])
def agent_register_mcp_tools(ctx: NodeContext) -> None:
    agent = _agent(ctx.get("agent_in"), "agent_in")
    uri = as_str(_optional(ctx, "uri") or "", "uri").strip()
    if not uri:
        raise NodeError("input 'uri' must be the MCP server's URL")
    server: dict[str, Any] = {"uri": uri}
    if as_str(ctx.get("mode"), "mode").lower() == "manual":
        # The editor adds one Boolean input per tool of the server, named after the tool.
        names = ctx.input_friendly_names()
        server["tool_filter"] = sorted(names[pin] for pin in names
                                       if pin.startswith(MCP_TOOL_PIN_PREFIX) and _optional(ctx, pin) is True)
    agent.setdefault("mcp_servers", []).append(server)
    ctx.set("agent_out", agent)


# -- running an agent -----------------------------------------------------------------------------

def tool_name(node: Node) -> str:
    """The name a function is offered to the model under: its friendly name in snake case."""
    return (node.friendly_name or node.name).lower().replace(" ", "_").replace("-", "_")


def function_tool(node: Node) -> dict[str, Any]:
    """An OpenAI function tool for a function node: its data outputs are the parameters."""
    properties: dict[str, Any] = {}
    payload = None
    for pin in node.pins.values():
        if pin.pin_type != "Output" or pin.data_type == "Execution" or pin.name.startswith("auto_handle_error"):
            continue
        kind = _SCHEMA_TYPES.get(pin.data_type, "string")
        schema: dict[str, Any] = {"type": kind}
        if pin.value_type in ("Array", "HashSet"):
            schema = {"type": "array", "items": schema}
        elif pin.value_type == "HashMap":
            schema = {"type": "object"}
        if pin.name == "payload":
            payload = schema
        else:
            properties[pin.name] = schema
    if not properties and payload is not None:
        properties["payload"] = payload
    function: dict[str, Any] = {"name": tool_name(node), "parameters": {"type": "object", "properties": properties}}
    if node.description:
        function["description"] = node.description
    return {"type": "function", "function": function}


def _functions(ctx: NodeContext, refs: dict[str, Any]) -> dict[str, Node]:
    """Tool name (and node name) -> function node, for the agent's function references."""
    board_nodes = {node.id: node for node in ctx.referenced_functions(list(refs))}
    found: dict[str, Node] = {}
    for node in board_nodes.values():
        found[tool_name(node)] = node
        found.setdefault(node.name, node)
    return found


def _fit(messages: list[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    """The system messages plus the newest messages that fit ``budget`` tokens (about 4 characters
    a token), never starting on a tool result whose call was dropped."""
    system = [m for m in messages if m.get("role") == "system"]
    rest = [m for m in messages if m.get("role") != "system"]
    used = sum(len(json.dumps(m)) for m in system) // 4
    kept: list[dict[str, Any]] = []
    for message in reversed(rest):
        cost = len(json.dumps(message)) // 4 + 1
        if kept and used + cost > budget:
            break
        kept.append(message)
        used += cost
    kept.reverse()
    while len(kept) > 1 and kept[0].get("role") == "tool":
        kept.pop(0)
    return system + kept


def _tool_result(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _sql_tools(count: int) -> list[dict[str, Any]]:
    """The SQL tools an agent with DataFusion sessions gets (the names Flow-Like's prompt promises)."""
    source = {"data_source": {"type": "integer", "minimum": 1, "maximum": count,
                              "description": "Which data source (1 to %d)." % count}} if count > 1 else {}
    required = ["data_source"] if count > 1 else []

    def tool(name: str, description: str, params: dict[str, Any], needed: list[str]) -> dict[str, Any]:
        return {"type": "function", "function": {"name": name, "description": description, "parameters": {
            "type": "object", "required": [*required, *needed], "properties": {**source, **params}}}}

    return [tool("list_tables", "List the tables you can query.", {}, []),
            tool("describe_table", "The columns of a table and their types.",
                 {"table_name": {"type": "string"}}, ["table_name"]),
            tool("execute_sql", "Run one SQL SELECT query; the rows come back as a Markdown table.",
                 {"query": {"type": "string"}}, ["query"])]


def _data_prompt(contexts: list[dict[str, Any]]) -> str:
    """What the system prompt says about the agent's DataFusion data (as Flow-Like adds it)."""
    lines = ["", "", "## Data Analysis Capabilities", "",
             "You can query data with SQL: use the `list_tables`, `describe_table` and `execute_sql` tools.", ""]
    for number, context in enumerate(contexts, 1):
        if len(contexts) > 1:
            lines.append(f"### Data Source {number}")
        if context.get("description"):
            lines += [f"**Data Context:** {context['description']}", ""]
        schemas = context.get("table_schemas") or {}
        if schemas:
            lines.append("**Available Tables:**")
            for name, schema in schemas.items():
                about = (context.get("table_descriptions") or {}).get(name)
                lines += [f"- `{name}`: {about}" if about else f"- `{name}`", f"  Schema: {schema}"]
            lines.append("")
        if context.get("example_queries"):
            lines += ["**Example Queries:**", "```sql", *context["example_queries"], "```", ""]
    lines += ["Start with `list_tables`, look at a table with `describe_table` before querying it, use LIMIT, "
              "and prefer aggregates to raw rows."]
    return "\n".join(lines)


class _Builtins:
    """The agent's tools that are not board functions: SQL over its DataFusion sessions and the
    tools of its MCP servers (connected for this invocation, closed at its end)."""

    def __init__(self, ctx: NodeContext, agent: dict[str, Any]) -> None:
        self.ctx = ctx
        self.tools: list[dict[str, Any]] = []
        self.mcp: dict[str, Any] = {}
        self.connections: list[Any] = []
        self.sessions = []
        contexts = agent.get("datafusion_contexts") or []
        if contexts:
            from ..data import datafusion as df

            for position, context in enumerate(contexts):
                if not isinstance(context, dict) or not isinstance(context.get("session_cache_key"), str):
                    raise NodeError(f"the agent's datafusion_contexts[{position}] has no 'session_cache_key'")
                self.sessions.append(ctx.resources.get(df.KIND, {"cache_key": context["session_cache_key"]},
                                                       key="cache_key"))
            self.tools += _sql_tools(len(contexts))
        try:
            for position, server in enumerate(agent.get("mcp_servers") or []):
                self._add_server(server, position)
        except BaseException:
            self.close()
            raise

    def _add_server(self, server: Any, position: int) -> None:
        from ...ai import mcp

        if not isinstance(server, dict) or not isinstance(server.get("uri"), str):
            raise NodeError(f"the agent's mcp_servers[{position}] has no 'uri'")
        wanted = server.get("tool_filter")
        if wanted is not None and not (isinstance(wanted, list) and all(isinstance(n, str) for n in wanted)):
            raise NodeError(f"the agent's mcp_servers[{position}].tool_filter must be a list of tool names")
        connection = mcp.connect(self.ctx, server["uri"])
        self.connections.append(connection)
        offered = [t for t in mcp.list_tools(self.ctx, connection)
                   if wanted is None or t["function"]["name"] in wanted]
        if not offered:
            self.ctx.log("Warn", f"MCP server {server['uri']} offers no (selected) tools")
        for tool in offered:
            name = tool["function"]["name"]
            if name in self.mcp:
                self.ctx.log("Warn", f"MCP tool '{name}' is offered twice; the later server's is used")
                self.tools = [t for t in self.tools if t["function"]["name"] != name]
            self.mcp[name] = connection
            self.tools.append(tool)

    def handles(self, name: str) -> bool:
        return name in self.mcp or (bool(self.sessions) and name in ("list_tables", "describe_table", "execute_sql"))

    def call(self, name: str, arguments: dict[str, Any]) -> str:
        """The tool's answer for the model; a failure is answered as an error the model can act on."""
        from ...ai import mcp

        if name in self.mcp:
            return mcp.call_tool(self.ctx, self.mcp[name], name, arguments)
        from ..data import datafusion as df

        try:
            source = arguments.get("data_source", 1) if len(self.sessions) > 1 else 1
            if type(source) is not int or not 1 <= source <= len(self.sessions):
                return f"error: 'data_source' must be a number from 1 to {len(self.sessions)}"
            sess = self.sessions[source - 1]
            if name == "list_tables":
                return df.tables_summary([t["name"] for t in df.list_tables(sess)])
            if name == "describe_table":
                return df.describe_table(sess, arguments.get("table_name"))
            query = arguments.get("query")
            if not isinstance(query, str):
                return "error: 'query' must be an SQL string"
            self.ctx.log("Debug", f"agent runs SQL: {query}")
            return df.sql_report(self.ctx, sess, query)[0]
        except NodeError as exc:
            return f"error: {exc}"

    def close(self) -> None:
        for connection in self.connections:
            self.ctx.resources.release(connection.ref_id)
        self.connections.clear()


def run_agent(ctx: NodeContext, agent: dict[str, Any], hist: dict[str, Any], stream_chunks: bool) -> Body:
    """The agent loop (a generator node's body): returns (Response, History)."""
    target = providers.resolve(ctx, agent["model"])
    functions = _functions(ctx, agent.get("function_refs") or {})
    builtins = _Builtins(ctx, agent)
    try:
        return (yield from _loop(ctx, agent, hist, stream_chunks, target, functions, builtins))
    finally:
        builtins.close()


def _loop(ctx: NodeContext, agent: dict[str, Any], hist: dict[str, Any], stream_chunks: bool, target: Any,
          functions: dict[str, Node], builtins: _Builtins) -> Body:
    unique = {node.id: node for node in functions.values()}
    tools = [*agent.get("tools", []), *(function_tool(node) for node in unique.values()), *builtins.tools]
    if agent.get("thinking_enabled"):
        tools.append(THINK_TOOL)
    prompt = agent.get("system_prompt")
    if agent.get("datafusion_contexts"):
        index = shapes.system_index(hist)
        base = prompt or (shapes.message_text(hist["messages"][index]) if index is not None else "")
        prompt = base + _data_prompt(agent["datafusion_contexts"])
    if prompt:
        shapes.set_system_prompt(hist, prompt)
    if tools:
        hist["tools"] = tools
        hist.setdefault("tool_choice", "auto")
    hist["stream"] = stream_chunks
    body = ctx.targets("on_stream") if stream_chunks else []
    for _turn in range(agent["max_iterations"]):
        if agent.get("infinite_context"):
            hist["messages"] = _fit(hist["messages"], agent.get("max_context_tokens") or DEFAULT_MAX_CONTEXT_TOKENS)
        response = shapes.new_response()
        for chunk in _chat(ctx, target, hist):
            shapes.push_chunk(response, chunk)
            if body and chunk["choices"]:
                ctx.set("chunk", chunk)
                ctx.activate("on_stream")
                yield body
        ctx.deactivate("on_stream")
        message = shapes.last_message(response) or {}
        calls = [c for c in message.get("tool_calls") or [] if c.get("function", {}).get("name")]
        hist["messages"].append(shapes.history_message_from_response(response))
        if not calls:
            return response, hist
        for call in calls:
            result = yield from _call_tool(ctx, functions, call, bool(agent.get("thinking_enabled")), builtins)
            hist["messages"].append({"role": "tool", "content": [{"type": "text", "text": result}],
                                     "tool_call_id": call.get("id", "")})
    raise NodeError(f"the agent used all {agent['max_iterations']} of its turns without a final answer")


def _call_tool(ctx: NodeContext, functions: dict[str, Node], call: dict[str, Any],
               thinking: bool, builtins: _Builtins) -> Iterator[list[Any]]:
    """Run one tool call; returns the text sent back to the model (errors too, so it can recover)."""
    name = call["function"]["name"]
    node = functions.get(name)
    if name == "think" and node is None and thinking:  # the thinking tool only echoes the thought
        try:
            thought = json.loads(call["function"].get("arguments") or "{}").get("thought", "")
        except (ValueError, AttributeError):
            thought = ""
        return f"<think>{thought if isinstance(thought, str) else ''}</think>"
    if node is None and not builtins.handles(name):
        ctx.log("Warn", f"the model called unknown tool '{name}'")
        return f"error: there is no tool named '{name}'"
    raw = call["function"].get("arguments") or "{}"
    try:
        arguments = json.loads(raw)
    except ValueError:
        arguments = None
    if not isinstance(arguments, dict):
        return f"error: the arguments of '{name}' must be a JSON object"
    ctx.log("Debug", f"calling tool '{name}'")
    if node is None:
        return builtins.call(name, arguments)
    targets = ctx.start_call(node.id, arguments)
    try:
        if targets:
            yield targets
    finally:
        returned, value = ctx.finish_call()
    return _tool_result(value) if returned else "Tool executed successfully"


_STREAM_OUTS = [out("on_stream", "On Stream", "Execution", description="Runs once per streamed chunk."),
                out("chunk", "Chunk", "Struct", options=ENFORCE, description="The current chunk."),
                out("exec_done", "Done", "Execution", description="Fires with the final answer."),
                out("response", "Response", "Struct", options=ENFORCE, description="The final response."),
                out("history_out", "History Out", "Struct", options=ENFORCE,
                    description="The history with every turn and tool result.")]


def _history_in() -> Any:
    return inp("history", "History", "Struct", options=ENFORCE, description="The conversation.")


@register("agent_invoke", "Invoke Agent", "AI/Agents",
          "Runs the agent on the history: tool calls run their board functions until the model answers.",
          [inp("exec_in", "Input", "Execution", description="Run the agent."), _agent_in("agent"), _history_in(),
           out("exec_out", "Done", "Execution", description="Fires with the final answer."),
           out("response", "Response", "Struct", options=ENFORCE, description="The final response."),
           out("history_out", "History Out", "Struct", options=ENFORCE,
               description="The history with every turn and tool result.")],
          long_running=True)
def agent_invoke(ctx: NodeContext) -> Body:
    ctx.deactivate("exec_out")
    agent = _agent(ctx.get("agent"), "agent")
    response, hist = yield from run_agent(ctx, agent, shapes.history(ctx.get("history")), False)
    ctx.set("response", response)
    ctx.set("history_out", hist)
    ctx.activate("exec_out")


@register("agent_stream_invoke", "Stream Invoke Agent", "AI/Agents",
          "Runs the agent like Invoke Agent, streaming every model turn through 'On Stream'.",
          [inp("exec_in", "Input", "Execution", description="Run the agent."), _agent_in("agent"), _history_in(),
           *_STREAM_OUTS],
          long_running=True)
def agent_stream_invoke(ctx: NodeContext) -> Body:
    ctx.deactivate("exec_done")
    agent = _agent(ctx.get("agent"), "agent")
    response, hist = yield from run_agent(ctx, agent, shapes.history(ctx.get("history")), True)
    ctx.set("response", response)
    ctx.set("history_out", hist)
    ctx.activate("exec_done")


@register("simple_agent", "Simple Agent", "AI/Agents",
          "An agent in one node: the model, the history and the board functions this node references as tools.",
          [inp("exec_in", "Input", "Execution", description="Run the agent."),
           inp("model", "Model", "Struct", options=ENFORCE, description="The model Bit."), _history_in(),
           inp("max_iter", "Iter", "Integer", default=15, description="Most model turns."),
           inp("infinite_context", "Infinite Context", "Boolean", default=False,
               description="Keep the history within Max Tokens by dropping the oldest messages."),
           inp("max_context_tokens", "Max Tokens", "Integer", default=32000, description="The history's token budget."),
           inp("context_mode", "Context Mode", "String", default="truncate", description="How to shorten the history."),
           *_STREAM_OUTS],
          long_running=True)
def simple_agent(ctx: NodeContext) -> Body:
    ctx.deactivate("exec_done")
    model = ctx.get("model")
    if not isinstance(model, dict):
        raise NodeError("input 'model' must be a model Bit")
    agent = new_agent(model, _iterations(ctx))
    if as_bool(ctx.get("infinite_context"), "infinite_context"):
        agent["infinite_context"] = True
        agent["max_context_tokens"] = max(1, as_int(ctx.get("max_context_tokens"), "max_context_tokens"))
    for node in ctx.referenced_functions():
        agent["function_refs"][node.id] = node.name
    response, hist = yield from run_agent(ctx, agent, shapes.history(ctx.get("history")), True)
    ctx.set("response", response)
    ctx.set("history_out", hist)
    ctx.activate("exec_done")
