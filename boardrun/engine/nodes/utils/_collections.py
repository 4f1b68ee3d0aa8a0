"""Helpers shared by the array, map and set nodes (this module registers no nodes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...coerce import as_int, as_str
from ...errors import NodeError
from ...registry import inp, out

if TYPE_CHECKING:
    from ...runtime import NodeContext

EXEC_IN = inp("exec_in", "In", "Execution", description="Runs the node.")
EXEC_OUT = out("exec_out", "Out", "Execution", description="Fires once the node is done.")
VAR_REF = inp("var_ref", "Variable Reference", "String", description="Id of the board variable to change.")


def variable(ctx: NodeContext) -> tuple[str, Any]:
    """The id and current value of the variable named by the 'var_ref' input.

    The By Reference nodes store a changed copy back into the variable instead of editing the
    value in place: in Boardrun pins and variables share values (nothing is cloned on read), so an
    in-place edit would also change what other nodes, earlier runs' defaults or earlier outputs
    hold. Flow-Like clones on every read, which makes its in-place edit safe there.
    """
    var_id = as_str(ctx.get("var_ref"), "var_ref")
    if var_id not in ctx.variables:
        raise NodeError(f"the board has no variable with id '{var_id}'")
    return var_id, ctx.variables[var_id]


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
