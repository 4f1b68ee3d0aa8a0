"""Helpers shared by the array, map and set nodes (this module registers no nodes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ...coerce import as_int, as_str
from ...errors import NodeError
from ...registry import inp, out

if TYPE_CHECKING:
    from ...runtime import NodeContext

EXEC_IN = inp("exec_in", "In", "Execution", description="Runs the node.")
EXEC_OUT = out("exec_out", "Out", "Execution", description="Fires once the node is done.")
VAR_REF = inp("var_ref", "Variable Reference", "String", description="Id of the board variable to change.")


def variable(ctx: NodeContext) -> tuple[str, Any]:
    """The id and current value of the variable named by the 'var_ref' input (for inspection only)."""
    var_id = as_str(ctx.get("var_ref"), "var_ref")
    if var_id not in ctx.variables:
        raise NodeError(f"the board has no variable with id '{var_id}'")
    return var_id, ctx.variables[var_id]


def writable(ctx: NodeContext, var_id: str, value: Any,
             prepare: Callable[[Any], tuple[Any, Any]]) -> tuple[Any, Any]:
    """A container the By Reference node may change in place, stored in the variable, and its extra.

    In Boardrun values are shared, not cloned on read (Flow-Like clones), so the variable's value
    may also be held by pins, structs or the board's defaults. The first change therefore works
    on ``prepare(value)`` (a copy and its extra data), which the run then owns; later changes of
    the same variable edit that copy in place until a node reads the variable out
    (see NodeContext.own_variable). A loop of pushes thus costs O(1) per push, not a copy each.
    """
    entry = ctx.owned_variable(var_id)
    if entry is not None:
        return entry
    fresh, extra = prepare(value)
    ctx.own_variable(var_id, fresh, extra)
    return fresh, extra


def shallow_copy(value: Any) -> tuple[Any, None]:
    return value.copy(), None


def index(ctx: NodeContext, pin: str = "index") -> int:
    """A position input: a non-negative integer (Flow-Like reads it as an unsigned number)."""
    position = as_int(ctx.get(pin), pin)
    if position < 0:
        raise NodeError(f"input '{pin}' must not be negative, got {position}")
    return position


def check_index(position: int, length: int, pin: str = "index") -> None:
    if position >= length:
        raise NodeError(f"input '{pin}' is {position}, out of bounds for an array of length {length}")


def check_length(ctx: NodeContext, length: int) -> None:
    """Fail instead of building an array longer than the run's limit."""
    if length > ctx.limits.max_array_length:
        raise NodeError(f"the result would have {length} elements, more than the limit of "
                        f"{ctx.limits.max_array_length}")
