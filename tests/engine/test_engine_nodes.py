"""Behaviour of every node, including its error paths."""

from __future__ import annotations

import re

import pytest

from engine_testkit import UNSET, BoardBuilder, run_pure


def _ok(result):
    assert result.status == "completed", result
    return result.result


def _fails(result, text: str):
    assert (result.status, result.reason) == ("failed", "node_error"), result
    assert text in result.error["message"], result.error
    return result.error


def exec_node(node_name: str, output: str, **inputs):
    """Run start -> node -> return(output) and give the RunResult."""
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add(node_name, **inputs)
    ret = b.add("events_generic_return_result")
    b.connect(start, "exec_out", node, "exec_in")
    b.connect(node, "exec_out", ret, "exec_in")
    b.connect(node, output, ret, "response")
    return b.run(start)


def exec_only(node_name: str, **inputs):
    """Run start -> node and give the RunResult."""
    b = BoardBuilder()
    start = b.add("events_simple")
    b.chain(start, b.add(node_name, **inputs))
    return b.run(start)


# -- events -------------------------------------------------------------------------------
def test_events_simple_ignores_payload():
    """events_simple fires exec_out regardless of the payload."""
    b = BoardBuilder()
    start = b.add("events_simple")
    ret = b.add("events_generic_return_result", response="ran")
    b.chain(start, ret)
    assert _ok(b.run(start, {"x": 1})) == "ran"


def test_events_generic_maps_extra_outputs_and_rest():
    """events_generic fills user outputs by exact or normalised key and leaves the rest in payload."""
    b = BoardBuilder()
    start = b.add("events_generic")
    b.add_pin(start, "user_name", "Output", "String")
    b.add_pin(start, "count", "Output", "Integer")
    make = b.add("struct_make")
    s1, s2, s3 = b.add("struct_set", field="name"), b.add("struct_set", field="count"), b.add("struct_set", field="rest")
    ret = b.add("events_generic_return_result")
    b.chain(start, s1, s2, s3)
    b.connect(s3, "exec_out", ret, "exec_in")
    b.connect(make, "struct", s1, "struct_in")
    b.connect(s1, "struct_out", s2, "struct_in")
    b.connect(s2, "struct_out", s3, "struct_in")
    b.connect(start, "user_name", s1, "value")
    b.connect(start, "count", s2, "value")
    b.connect(start, "payload", s3, "value")
    b.connect(s3, "struct_out", ret, "response")
    result = _ok(b.run(start, {"UserName": "ada", "count": 3, "other": True}))
    assert result == {"name": "ada", "count": 3, "rest": {"other": True}}


def test_events_generic_non_object_payload_passes_through():
    """A non-object payload goes to 'payload' unchanged."""
    b = BoardBuilder()
    start = b.add("events_generic")
    ret = b.add("events_generic_return_result")
    b.chain(start, ret)
    b.connect(start, "payload", ret, "response")
    assert _ok(b.run(start, [1, "two"])) == [1, "two"]


def test_events_generic_without_payload_fails():
    """events_generic fails when the run has no payload."""
    b = BoardBuilder()
    start = b.add("events_generic")
    _fails(b.run(start, None), "payload")


# -- variables ------------------------------------------------------------------------------
def test_variable_get_unknown_id_fails():
    """variable_get with an id that is not a board variable fails its consumer."""
    b = BoardBuilder()
    start = b.add("events_simple")
    get = b.add("variable_get", var_ref="nope")
    ret = b.add("events_generic_return_result")
    b.chain(start, ret)
    b.connect(get, "value_ref", ret, "response")
    err = _fails(b.run(start), "no variable with id 'nope'")
    assert err["node_id"] == get


def test_variable_set_unknown_id_fails():
    """variable_set with an unknown id fails."""
    _fails(exec_node("variable_set", "value_ref", var_ref="nope", value_in=1), "no variable")


# -- logging ----------------------------------------------------------------------------------
@pytest.mark.parametrize("node_name,level,toast_level", [("log_info", "Info", "info"), ("log_warning", "Warn", "warning"),
                                                         ("log_error", "Error", "error")])
def test_log_nodes_write_level_and_toast(node_name, level, toast_level):
    """Log nodes emit a log line at their level, a toast when asked, JSON text for non-strings."""
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add(node_name, message={"a": [1, 2]}, toast=True)
    b.chain(start, node)
    events = []
    result = b.run(start, on_event=events.append)
    assert result.status == "completed"  # log_error does not fail the run
    logs = [e for e in events if e.kind == "log"]
    toasts = [e for e in events if e.kind == "toast"]
    assert [(e.level, e.message) for e in logs] == [(level, '{"a":[1,2]}')]
    assert [t.data for t in toasts] == [{"message": '{"a":[1,2]}', "level": toast_level}]


def test_log_below_board_level_is_dropped():
    """A log line below the board's log_level produces no log event."""
    b = BoardBuilder(log_level="Warn")
    start = b.add("events_simple")
    info, warn = b.add("log_info", message="quiet"), b.add("log_warning", message="loud")
    b.chain(start, info, warn)
    events = []
    b.run(start, on_event=events.append)
    assert [e.message for e in events if e.kind == "log"] == ["loud"]


def test_log_toast_must_be_boolean():
    """A non-boolean 'toast' input fails the log node."""
    _fails(exec_only("log_info", toast="yes"), "'toast' must be a boolean")


def test_progress_events():
    """log_progress clamps and omits negative progress; log_progress_done reports completion."""
    b = BoardBuilder()
    start = b.add("events_simple")
    p1, p2 = b.add("log_progress", progress=150), b.add("log_progress", id="x", progress=-1)
    done, fail = b.add("log_progress_done"), b.add("log_progress_done", success=False, message="bad")
    b.chain(start, p1, p2, done, fail)
    events = []
    assert b.run(start, on_event=events.append).status == "completed"
    assert [e.data for e in events if e.kind == "progress"] == [
        {"id": "progress-1", "message": "Processing...", "progress": 100, "done": False, "success": False},
        {"id": "x", "message": "Processing...", "done": False, "success": False},
        {"id": "progress-1", "message": "Done!", "progress": 100, "done": True, "success": True},
        {"id": "progress-1", "message": "bad", "done": True, "success": False},
    ]


def test_progress_must_be_integer():
    """log_progress fails for a non-integer progress value."""
    _fails(exec_only("log_progress", progress=1.5), "'progress' must be a 64-bit integer")


# -- conversions --------------------------------------------------------------------------------
def test_val_from_string_parses_and_sorts_keys():
    """val_from_string parses JSON and orders object keys alphabetically at every level."""
    result = _ok(run_pure("val_from_string", "value_ref", string='{"b": 1, "a": {"d": 2, "c": 3}}'))
    assert list(result) == ["a", "b"] and list(result["a"]) == ["c", "d"]


def test_val_from_string_invalid_json_fails():
    """Invalid JSON text fails val_from_string."""
    _fails(run_pure("val_from_string", "value_ref", string="{nope"), "not valid JSON")


@pytest.mark.parametrize("value,pretty,expected", [
    ("text", True, "text"), (True, True, "true"), (3, True, "3"), (2.5, False, "2.5"), (None, True, "null"),
    ({"b": 1, "a": [1]}, False, '{"a":[1],"b":1}'), ({"b": 1, "a": 2}, True, '{\n  "a": 2,\n  "b": 1\n}'),
])
def test_val_to_string(value, pretty, expected):
    """val_to_string keeps strings, spells scalars and writes sorted JSON, pretty or compact."""
    assert _ok(run_pure("val_to_string", "string", value=value, pretty=pretty)) == expected


def test_val_to_string_pretty_must_be_boolean():
    """A non-boolean 'pretty' fails val_to_string."""
    _fails(run_pure("val_to_string", "string", value=1, pretty="no"), "'pretty' must be a boolean")


# -- structs --------------------------------------------------------------------------------------
def test_struct_make_is_empty_object():
    """struct_make outputs {}."""
    assert _ok(run_pure("struct_make", "struct")) == {}


@pytest.mark.parametrize("field,value,found", [
    ("items[1].name", "b", True), ("", {"items": [{"name": "a"}, {"name": "b"}], "n": None}, True),
    ("n", None, True), ("items[5]", None, False), ("missing.x", None, False), ("items[x][0].name", "a", True),
])
def test_struct_get_paths(field, value, found):
    """struct_get resolves dotted/indexed paths and reports found without failing."""
    data = {"items": [{"name": "a"}, {"name": "b"}], "n": None}
    assert _ok(run_pure("struct_get", "value", struct=data, field=field)) == value
    assert _ok(run_pure("struct_get", "found", struct=data, field=field)) is found


def test_struct_set_creates_levels_and_copies():
    """struct_set writes into a copy, creating missing objects; the source variable is unchanged."""
    b = BoardBuilder()
    var = b.variable("obj", {"list": [1, 2]})
    start = b.add("events_simple")
    get = b.add("variable_get", var_ref=var)
    setter = b.add("struct_set", field="a.b", value=7)
    setter2 = b.add("struct_set", field="list[1]", value="x")
    make = b.add("make_array")
    push = b.add("array_push")
    ret = b.add("events_generic_return_result")
    b.chain(start, setter, setter2, push)
    b.connect(push, "exec_out", ret, "exec_in")
    b.connect(get, "value_ref", setter, "struct_in")
    b.connect(setter, "struct_out", setter2, "struct_in")
    b.connect(make, "array_out", push, "array_in")
    b.connect(setter2, "struct_out", push, "value")
    get2 = b.add("variable_get", var_ref=var)
    push2 = b.add("array_push")
    b.connect(push, "array_out", push2, "array_in")
    b.connect(get2, "value_ref", push2, "value")
    b.connect(push, "exec_out", push2, "exec_in")  # replaces ret wiring below
    b.nodes[push]["pins"][b.pin_id(push, "exec_out", "Output")]["connected_to"] = [b.pin_id(push2, "exec_in", "Input")]
    b.nodes[ret]["pins"][b.pin_id(ret, "exec_in", "Input")]["depends_on"] = []
    b.connect(push2, "exec_out", ret, "exec_in")
    b.connect(push2, "array_out", ret, "response")
    assert _ok(b.run(start)) == [{"a": {"b": 7}, "list": [1, "x"]}, {"list": [1, 2]}]


@pytest.mark.parametrize("struct,field,message", [
    ({"a": 1}, "a.b", "needs an object"), ({"a": [1]}, "a[3]", "past the end"), ({"a": {}}, "a[0]", "needs an array"),
])
def test_struct_set_errors(struct, field, message):
    """struct_set fails when the path steps into a scalar, past an array end, or indexes an object."""
    _fails(exec_node("struct_set", "struct_out", struct_in=struct, field=field, value=1), message)


def test_struct_set_empty_path_replaces_value():
    """An empty path makes the value itself the output."""
    assert _ok(exec_node("struct_set", "struct_out", struct_in={"a": 1}, field="", value=[9])) == [9]


# -- arrays ----------------------------------------------------------------------------------------
def test_make_array_and_length():
    """make_array gives []; array_length counts elements and gives 0 for non-arrays."""
    assert _ok(run_pure("make_array", "array_out")) == []
    assert _ok(run_pure("array_length", "length", array=[1, 2, 3])) == 3
    assert _ok(run_pure("array_length", "length", array={"a": 1})) == 0


@pytest.mark.parametrize("index,element,success", [(1, "b", True), (2, None, False), (-1, None, False)])
def test_array_get(index, element, success):
    """array_get returns the element when the index is in range, otherwise null and success false."""
    assert _ok(run_pure("array_get", "element", array_in=["a", "b"], index=index)) == element
    assert _ok(run_pure("array_get", "success", array_in=["a", "b"], index=index)) is success


def test_array_get_index_must_be_integer():
    """A float index fails array_get."""
    _fails(run_pure("array_get", "element", array_in=[1], index=0.0), "'index' must be a 64-bit integer")


def test_array_push_appends_and_rejects_non_array():
    """array_push appends to a copy; a non-array input fails."""
    assert _ok(exec_node("array_push", "array_out", array_in=[1], value=2)) == [1, 2]
    _fails(exec_node("array_push", "array_out", array_in={"a": 1}, value=2), "'array_in' must be an array")


# -- strings -------------------------------------------------------------------------------------
def test_string_format_fills_placeholders():
    """string_format replaces each placeholder with its pin's value (JSON for non-strings)."""
    b = BoardBuilder()
    start = b.add("events_simple")
    fmt = b.add("string_format", format_string="Hi {name}, {name}! {data}")
    b.add_pin(fmt, "name", "Input", "Generic", default="Ada")
    b.add_pin(fmt, "data", "Input", "Generic", default=[1])
    ret = b.add("events_generic_return_result")
    b.chain(start, ret)
    b.connect(fmt, "formatted_string", ret, "response")
    assert _ok(b.run(start)) == "Hi Ada, Ada! [\n  1\n]"


def test_string_format_missing_pin_fails():
    """A placeholder without a pin of that name fails string_format."""
    _fails(run_pure("string_format", "formatted_string", format_string="{ghost}"), "'{ghost}' has no input pin")


def test_string_render_template_renders_with_pins():
    """string_render_template renders Jinja with values from pins, without HTML escaping."""
    b = BoardBuilder()
    start = b.add("events_simple")
    tpl = b.add("string_render_template", template="{% for i in items %}<{{ i }}>{% endfor %} {{ who.name }}")
    b.add_pin(tpl, "items", "Input", "Generic", default=[1, 2])
    b.add_pin(tpl, "who", "Input", "Generic", default={"name": "Ada"})
    ret = b.add("events_generic_return_result")
    b.chain(start, ret)
    b.connect(tpl, "rendered", ret, "response")
    assert _ok(b.run(start)) == "<1><2> Ada"


@pytest.mark.parametrize("template,message", [("{{ ghost }}", "'ghost' has no input pin"),
                                              ("{% for %}", "template error"),
                                              ("{{ ''.__class__.__mro__ }}", "template error")])
def test_string_render_template_errors(template, message):
    """Missing variables, syntax errors and sandbox violations fail the node."""
    _fails(run_pure("string_render_template", "rendered", template=template), message)


@pytest.mark.parametrize("string,substring,expected", [("hello", "ell", True), ("hello", "ELL", False),
                                                       ("x", "", True), (5, "5", False)])
def test_string_contains(string, substring, expected):
    """string_contains is a case-sensitive substring test; a non-string haystack gives false."""
    assert _ok(run_pure("string_contains", "contains", string=string, substring=substring)) is expected


def test_string_contains_substring_must_be_string():
    """A non-string substring fails string_contains."""
    _fails(run_pure("string_contains", "contains", string="a", substring=1), "'substring' must be a string")


def test_equal_string_with_added_pin():
    """equal_string compares all 'string' pins, including ones added in the editor."""
    b = BoardBuilder()
    start = b.add("events_simple")
    eq = b.add("equal_string")
    b.set_default(eq, "string", "a", 0)
    b.set_default(eq, "string", "a", 1)
    ret = b.add("events_generic_return_result")
    b.chain(start, ret)
    b.connect(eq, "equal", ret, "response")
    assert _ok(b.run(start)) is True
    b.add_pin(eq, "string", "Input", "String", default="b")
    assert _ok(b.run(start)) is False


def test_equal_string_non_string_fails():
    """A non-string input fails equal_string."""
    b = BoardBuilder()
    start = b.add("events_simple")
    eq = b.add("equal_string", string="a")
    b.set_default(eq, "string", 1, nth=1)
    ret = b.add("events_generic_return_result")
    b.chain(start, ret)
    b.connect(eq, "equal", ret, "response")
    _fails(b.run(start), "must be a string")


# -- math and logic --------------------------------------------------------------------------------
@pytest.mark.parametrize("node_name,output,expected", [("int_add", "sum", 7), ("int_subtract", "difference", 3),
                                                       ("int_less_than", "less_than", False), ("int_equal", "equal", False)])
def test_int_nodes(node_name, output, expected):
    """Integer nodes compute with two integers."""
    assert _ok(run_pure(node_name, output, integer1=5, integer2=2)) == expected


@pytest.mark.parametrize("node_name,output", [("int_add", "sum"), ("int_subtract", "difference"),
                                              ("int_less_than", "less_than"), ("int_equal", "equal")])
def test_int_nodes_reject_floats_and_missing(node_name, output):
    """Integer nodes fail for 1.0 and for an unconnected input without default."""
    _fails(run_pure(node_name, output, integer1=1.0, integer2=2), "64-bit integer")
    _fails(run_pure(node_name, output, integer1=1), "no default value")


def test_int_add_overflow_fails():
    """An i64 overflow fails int_add instead of producing a larger integer."""
    _fails(run_pure("int_add", "sum", integer1=2**63 - 1, integer2=1), "overflows")


def test_float_add_accepts_integers():
    """float_add adds integers and floats as floats."""
    result = _ok(run_pure("float_add", "sum", float1=1, float2=0.5))
    assert result == 1.5 and isinstance(result, float)
    _fails(run_pure("float_add", "sum", float1="1", float2=0.5), "must be a number")


@pytest.mark.parametrize("node_name,a,b,expected", [("bool_and", True, True, True), ("bool_and", True, False, False),
                                                    ("bool_or", False, False, False), ("bool_or", False, True, True)])
def test_bool_binary(node_name, a, b, expected):
    """bool_and/bool_or combine their inputs."""
    builder = BoardBuilder()
    start = builder.add("events_simple")
    node = builder.add(node_name)
    builder.set_default(node, "boolean", a, 0)
    builder.set_default(node, "boolean", b, 1)
    ret = builder.add("events_generic_return_result")
    builder.chain(start, ret)
    builder.connect(node, "result", ret, "response")
    assert _ok(builder.run(start)) is expected


def test_bool_short_circuit_and_type_errors():
    """bool_and stops at the first false (a later bad input is not read); bad first input fails."""
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add("bool_and")
    b.set_default(node, "boolean", False, 0)
    b.set_default(node, "boolean", "junk", 1)
    ret = b.add("events_generic_return_result")
    b.chain(start, ret)
    b.connect(node, "result", ret, "response")
    assert _ok(b.run(start)) is False
    b.set_default(node, "boolean", "junk", 0)
    _fails(b.run(start), "must be a boolean")


def test_bool_not_default_true():
    """bool_not of its default (false) is true; a non-boolean fails."""
    assert _ok(run_pure("bool_not", "result")) is True
    _fails(run_pure("bool_not", "result", boolean=0), "must be a boolean")


def test_datetime_now_is_rfc3339_utc():
    """utils_datetime_now outputs an RFC 3339 UTC timestamp ending in Z."""
    value = _ok(exec_node("utils_datetime_now", "date"))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", value)


# -- control nodes with errors ------------------------------------------------------------------------
def test_branch_condition_must_be_boolean():
    """control_branch fails for a non-boolean condition."""
    b = BoardBuilder()
    start = b.add("events_simple")
    br = b.add("control_branch", condition="yes")
    b.chain(start, br)
    _fails(b.run(start), "'condition' must be a boolean")


def test_for_each_needs_array():
    """control_for_each fails when 'array' is not an array."""
    b = BoardBuilder()
    start = b.add("events_simple")
    loop = b.add("control_for_each", array={"a": 1})
    b.chain(start, loop)
    _fails(b.run(start), "'array' must be an array")


def test_while_negative_max_fails():
    """control_while_loop rejects a negative max_iter."""
    b = BoardBuilder()
    start = b.add("events_simple")
    loop = b.add("control_while_loop", condition=True, max_iter=-1)
    b.chain(start, loop)
    _fails(b.run(start), "must not be negative")


def test_delay_rejects_non_number_and_zero_is_instant():
    """delay fails for a non-number and continues at once for negative time."""
    b = BoardBuilder()
    start = b.add("events_simple")
    d = b.add("delay", time=-5)
    ret = b.add("events_generic_return_result", response="after")
    b.chain(start, d, ret)
    assert _ok(b.run(start)) == "after"
    b.set_default(d, "time", "soon")
    _fails(b.run(start), "'time' must be a number")


def test_reroute_passes_data_and_execution():
    """reroute forwards a value when pure and fires onward when its pins are Execution."""
    assert _ok(run_pure("reroute", "route_out", route_in={"x": 1})) == {"x": 1}
    b = BoardBuilder()
    start = b.add("events_simple")
    rr = b.add("reroute")
    for pin in b.nodes[rr]["pins"].values():
        pin["data_type"] = "Execution"
    ret = b.add("events_generic_return_result", response="through")
    b.connect(start, "exec_out", rr, "route_in")
    b.connect(rr, "route_out", ret, "exec_in")
    assert _ok(b.run(start)) == "through"


def test_unconnected_input_without_default_fails():
    """Reading an unconnected input that has no default fails the node."""
    b = BoardBuilder()
    start = b.add("events_simple")
    ret = b.add("events_generic_return_result")
    b.chain(start, ret)
    _fails(b.run(start), "'response' is not connected and has no default")


def test_unset_default_helper_removes_default():
    """The test helper can clear a default (guards the helper used above)."""
    b = BoardBuilder()
    node = b.add("control_branch")
    b.set_default(node, "condition", UNSET)
    assert b.pins(node, "condition", "Input")[0]["default_value"] is None
