"""Reading and writing board variables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...coerce import as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


def _variable_id(ctx: NodeContext) -> str:
    var_id = as_str(ctx.get("var_ref"), "var_ref")
    if var_id not in ctx.variables:
        raise NodeError(f"the board has no variable with id '{var_id}'")
    return var_id


@register("variable_get", "Get Variable", "Variable", "Outputs what a board variable holds at this moment.",
          [inp("var_ref", "Variable Reference", "String", description="Id of the variable to read."),
           out("value_ref", "Value", "Generic", description="The variable's value right now.")])
def variable_get(ctx: NodeContext) -> None:
    ctx.set("value_ref", ctx.read_variable(_variable_id(ctx)))


@register("variable_set", "Set Variable", "Variable", "Stores a new value in a board variable for the rest of the run.",
          [inp("exec_in", "Input", "Execution", description="Store the value."),
           inp("var_ref", "Variable Reference", "String", description="Id of the variable to change."),
           inp("value_in", "Value", "Generic", description="The value to store."),
           out("exec_out", "Output", "Execution", description="Fires after the value is stored."),
           out("value_ref", "New Value", "Generic", description="The value that was stored.")])
def variable_set(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    var_id = _variable_id(ctx)
    value = ctx.get("value_in")
    ctx.variables[var_id] = value
    ctx.set("value_ref", value)
    ctx.activate("exec_out")
