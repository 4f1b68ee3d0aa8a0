"""Utils/Array: making, reading and changing arrays (changes always produce a new array)."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from ...coerce import as_int, as_list, as_str, value_key
from ...errors import NodeError
from ...registry import PinDef, inp, out, register
from ._collections import (EXEC_IN, EXEC_OUT, VAR_REF, check_index, check_length, index, shallow_copy, variable,
                           writable)

if TYPE_CHECKING:
    from ...runtime import NodeContext


@register("make_array", "Make Array", "Utils/Array", "Produces an empty array.",
          [out("array_out", "Array", "Generic", "Array", description="An empty array.")])
def make_array(ctx: NodeContext) -> None:
    ctx.set("array_out", [])


@register("array_get", "Get Element", "Utils/Array", "Picks the element at a position of an array, if it exists.",
          [inp("array_in", "Array", "Generic", "Array", description="The array."),
           inp("index", "Index", "Integer", description="Position, from 0."),
           out("element", "Element", "Generic", description="The element, or null."),
           out("success", "Success", "Boolean", description="Whether the position exists.")])
def array_get(ctx: NodeContext) -> None:
    items = ctx.get("array_in")
    index = as_int(ctx.get("index"), "index")
    if isinstance(items, list) and 0 <= index < len(items):
        ctx.set("element", items[index])
        ctx.set("success", True)
    else:
        ctx.set("element", None)
        ctx.set("success", False)


@register("array_push", "Push", "Utils/Array", "Appends a value to a copy of an array.",
          [inp("exec_in", "In", "Execution", description="Append."),
           inp("array_in", "Array", "Generic", "Array", options={"enforce_generic_value_type": True},
               description="The array to start from; it is not changed."),
           inp("value", "Value", "Generic", description="What to append."),
           out("exec_out", "Out", "Execution", description="Fires after appending."),
           out("array_out", "Array", "Generic", "Array", options={"enforce_generic_value_type": True},
               description="The longer copy.")])
def array_push(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    items = as_list(ctx.get("array_in"), "array_in")
    ctx.set("array_out", [*items, ctx.get("value")])
    ctx.activate("exec_out")


@register("array_length", "Array Length", "Utils/Array", "Counts the elements of an array (0 for anything else).",
          [inp("array", "Array", "Generic", "Array", description="The array."),
           out("length", "Length", "Integer", description="Number of elements.")])
def array_length(ctx: NodeContext) -> None:
    items = ctx.get("array")
    ctx.set("length", len(items) if isinstance(items, list) else 0)


# -- changing arrays: every node works on a copy, the input stays as it is -------------------
_ENFORCE = {"enforce_generic_value_type": True}


def _array_in(description: str, enforce: bool = False) -> PinDef:
    return inp("array_in", "Array", "Generic", "Array", options=_ENFORCE if enforce else None,
               description=description)


def _array_out(description: str, enforce: bool = False) -> PinDef:
    return out("array_out", "Array", "Generic", "Array", options=_ENFORCE if enforce else None,
               description=description)


@register("array_clear", "Clear Array", "Utils/Array", "Produces an empty array of the same kind as its input.",
          [EXEC_IN, _array_in("The array to empty; it is not changed."),
           EXEC_OUT, _array_out("An empty array.")])
def array_clear(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.set("array_out", [])
    ctx.activate("exec_out")


@register("array_extend", "Extend", "Utils/Array", "Appends all elements of a second array to a copy of the first.",
          [EXEC_IN, _array_in("The array to start from; it is not changed.", enforce=True),
           inp("values", "Values", "Generic", "Array", description="The elements to append, in order."),
           EXEC_OUT, _array_out("The longer copy.", enforce=True)])
def array_extend(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.set("array_out", _concatenated(ctx, "values"))
    ctx.activate("exec_out")


def _concatenated(ctx: NodeContext, extra_pin: str) -> list[Any]:
    items = as_list(ctx.get("array_in"), "array_in")
    extra = as_list(ctx.get(extra_pin), extra_pin)
    check_length(ctx, len(items) + len(extra))
    return [*items, *extra]


def _without_fields(items: list[Any], fields: list[str]) -> tuple[list[Any], int]:
    """Copies of the objects in ``items`` lacking ``fields``; other elements are kept as they are."""
    removed = 0
    result = []
    for item in items:
        if isinstance(item, dict) and any(field in item for field in fields):
            kept = {key: value for key, value in item.items() if key not in fields}
            removed += len(item) - len(kept)
            item = kept
        result.append(item)
    return result, removed


@register("array_filter_field", "Filter Array Field", "Utils/Array",
          "Drops one field from every object of an array; elements without it stay as they are.",
          [EXEC_IN, inp("array_in", "Array", "Struct", "Array", description="Array of objects; it is not changed."),
           inp("field", "Field", "String", description="Name of the field to drop."),
           EXEC_OUT, out("array_out", "Array", "Struct", "Array", description="The objects without that field."),
           out("removed_count", "Removed Count", "Integer", description="How many objects had the field.")])
def array_filter_field(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    items = as_list(ctx.get("array_in"), "array_in")
    field = as_str(ctx.get("field"), "field")
    result, removed = _without_fields(items, [field])
    ctx.set("array_out", result)
    ctx.set("removed_count", removed)
    ctx.activate("exec_out")


@register("array_filter_fields", "Filter Array Fields", "Utils/Array",
          "Drops several fields from every object of an array; other elements stay as they are.",
          [EXEC_IN, inp("array_in", "Array", "Struct", "Array", description="Array of objects; it is not changed."),
           inp("fields", "Fields", "String", "Array", description="Names of the fields to drop."),
           EXEC_OUT, out("array_out", "Array", "Struct", "Array", description="The objects without those fields."),
           out("removed_count", "Removed Count", "Integer", description="How many fields were dropped in total.")])
def array_filter_fields(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    items = as_list(ctx.get("array_in"), "array_in")
    fields = [as_str(name, "fields") for name in as_list(ctx.get("fields"), "fields")]
    result, removed = _without_fields(items, list(dict.fromkeys(fields)))
    ctx.set("array_out", result)
    ctx.set("removed_count", removed)
    ctx.activate("exec_out")


def _position(items: list[Any], wanted: Any) -> int:
    key = value_key(wanted)
    for position, item in enumerate(items):
        if value_key(item) == key:
            return position
    return -1


@register("array_find_item", "Find Item", "Utils/Array", "Finds where a value first occurs in an array.",
          [EXEC_IN, inp("array_in", "Array", "Generic", "Array", description="The array to search."),
           inp("item", "Item", "Generic", description="The value to look for (compared as JSON)."),
           EXEC_OUT, out("index", "Index", "Integer", description="Its first position from 0, or -1."),
           out("found", "Found", "Boolean", description="Whether the value occurs.")])
def array_find_item(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    position = _position(as_list(ctx.get("array_in"), "array_in"), ctx.get("item"))
    ctx.set("index", position)
    ctx.set("found", position >= 0)
    ctx.activate("exec_out")


@register("array_includes", "Includes", "Utils/Array", "Checks whether an array holds a value.",
          [inp("array_in", "Array", "Generic", "Array", description="The array to search."),
           inp("value", "Value", "Generic", description="The value to look for (compared as JSON)."),
           out("includes", "Includes?", "Boolean", description="Whether the value occurs.")])
def array_includes(ctx: NodeContext) -> None:
    ctx.set("includes", _position(as_list(ctx.get("array_in"), "array_in"), ctx.get("value")) >= 0)


@register("array_pop", "Pop", "Utils/Array", "Takes the last element off a copy of an array; fails on an empty one.",
          [EXEC_IN, _array_in("The array; it is not changed."),
           EXEC_OUT, _array_out("The copy without its last element."),
           out("value", "Value", "Generic", description="The element taken off.")])
def array_pop(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    items = as_list(ctx.get("array_in"), "array_in")
    if not items:
        raise NodeError("input 'array_in' is empty: there is nothing to pop")
    ctx.set("array_out", items[:-1])
    ctx.set("value", items[-1])
    ctx.activate("exec_out")


@register("array_remove_index", "Remove Index", "Utils/Array",
          "Removes the element at a position from a copy of an array.",
          [EXEC_IN, _array_in("The array; it is not changed."),
           inp("index", "Index", "Integer", description="Position to remove, from 0."),
           EXEC_OUT, _array_out("The copy without that element.")])
def array_remove_index(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    items = as_list(ctx.get("array_in"), "array_in")
    position = index(ctx)
    check_index(position, len(items))
    ctx.set("array_out", items[:position] + items[position + 1:])
    ctx.activate("exec_out")


@register("array_set_index", "Set Index", "Utils/Array", "Replaces the element at a position in a copy of an array.",
          [EXEC_IN, _array_in("The array; it is not changed."),
           inp("index", "Index", "Integer", description="Position to replace, from 0."),
           inp("value", "Value", "Generic", description="The new element."),
           EXEC_OUT, _array_out("The copy with the new element.")])
def array_set_index(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    items = as_list(ctx.get("array_in"), "array_in")
    position = index(ctx)
    check_index(position, len(items))
    result = items.copy()
    result[position] = ctx.get("value")
    ctx.set("array_out", result)
    ctx.activate("exec_out")


@register("array_shuffle", "Shuffle", "Utils/Array", "Gives the elements of an array in a random order.",
          [_array_in("The array; it is not changed.", enforce=True),
           _array_out("A shuffled copy.", enforce=True)])
def array_shuffle(ctx: NodeContext) -> None:
    result = as_list(ctx.get("array_in"), "array_in").copy()
    random.shuffle(result)
    ctx.set("array_out", result)


@register("construct_array", "Construct Array", "Utils/Array",
          "Builds an array from its element inputs, in pin order (the editor adds more element pins).",
          [inp("element", "Element", "Generic", description="An element of the array."),
           inp("element", "Element", "Generic", description="An element of the array."),
           out("array_out", "Array", "Generic", "Array", description="The elements as an array.")],
          repeatable={"element"})
def construct_array(ctx: NodeContext) -> None:
    ctx.set("array_out", list(ctx.get_each("element")))


# -- Utils/Array/Batch ----------------------------------------------------------------------
@register("array_batch_push", "Batch Push", "Utils/Array/Batch", "Appends several values to a copy of an array at once.",
          [EXEC_IN, _array_in("The array to start from; it is not changed.", enforce=True),
           inp("items", "Items", "Generic", "Array", description="The values to append, in order."),
           EXEC_OUT, _array_out("The longer copy.", enforce=True)])
def array_batch_push(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.set("array_out", _concatenated(ctx, "items"))
    ctx.activate("exec_out")


def _indices(ctx: NodeContext, length: int) -> list[int]:
    positions = []
    for position in as_list(ctx.get("indices"), "indices"):
        position = as_int(position, "indices")
        if position < 0:
            raise NodeError(f"input 'indices' holds {position}: positions must not be negative")
        check_index(position, length, "indices")
        positions.append(position)
    return positions


@register("array_batch_remove", "Batch Remove", "Utils/Array/Batch",
          "Removes the elements at several positions from a copy of an array; repeated positions count once.",
          [EXEC_IN, _array_in("The array; it is not changed.", enforce=True),
           inp("indices", "Indices", "Integer", "Array", description="Positions to remove, from 0."),
           EXEC_OUT, _array_out("The copy without those elements.", enforce=True),
           out("removed", "Removed", "Generic", "Array", description="The removed elements, by ascending position.")])
def array_batch_remove(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    items = as_list(ctx.get("array_in"), "array_in")
    doomed = set(_indices(ctx, len(items)))
    ctx.set("array_out", [item for position, item in enumerate(items) if position not in doomed])
    ctx.set("removed", [items[position] for position in sorted(doomed)])
    ctx.activate("exec_out")


@register("array_batch_set", "Batch Set", "Utils/Array/Batch",
          "Replaces the elements at several positions of a copy of an array; later pairs win.",
          [EXEC_IN, _array_in("The array; it is not changed.", enforce=True),
           inp("indices", "Indices", "Integer", "Array", description="Positions to replace, from 0."),
           inp("values", "Values", "Generic", "Array", description="The new elements, one per position."),
           EXEC_OUT, _array_out("The copy with the new elements.", enforce=True)])
def array_batch_set(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    result = as_list(ctx.get("array_in"), "array_in").copy()
    positions = _indices(ctx, len(result))
    values = as_list(ctx.get("values"), "values")
    if len(positions) != len(values):
        raise NodeError(f"inputs 'indices' and 'values' must be equally long, got {len(positions)} "
                        f"and {len(values)}")
    for position, value in zip(positions, values):
        result[position] = value
    ctx.set("array_out", result)
    ctx.activate("exec_out")


# -- Utils/Array/By Reference: change an array variable --------------------------------------
def _array_variable(ctx: NodeContext, null_is_empty: bool) -> tuple[str, list[Any]]:
    var_id, value = variable(ctx)
    if value is None and null_is_empty:
        return var_id, []
    if type(value) is not list:
        raise NodeError(f"variable '{var_id}' does not hold an array")
    return var_id, value


@register("array_clear_ref", "Clear (By Ref)", "Utils/Array/By Reference", "Empties an array variable.",
          [EXEC_IN, VAR_REF, EXEC_OUT])
def array_clear_ref(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    var_id, items = _array_variable(ctx, null_is_empty=True)
    if items:  # an unset variable stays unset, as in Flow-Like
        ctx.own_variable(var_id, [])
    ctx.activate("exec_out")


@register("array_extend_ref", "Extend (By Ref)", "Utils/Array/By Reference",
          "Appends several values to an array variable (an unset variable becomes an array).",
          [EXEC_IN, VAR_REF, inp("values", "Values", "Generic", "Array", description="The values to append, in order."),
           EXEC_OUT])
def array_extend_ref(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    var_id, items = _array_variable(ctx, null_is_empty=True)
    extra = as_list(ctx.get("values"), "values")
    check_length(ctx, len(items) + len(extra))
    writable(ctx, var_id, items, shallow_copy)[0].extend(extra)
    ctx.activate("exec_out")


@register("array_pop_ref", "Pop (By Ref)", "Utils/Array/By Reference",
          "Takes the last element off an array variable; fails when it is empty.",
          [EXEC_IN, VAR_REF, EXEC_OUT, out("value", "Value", "Generic", description="The element taken off.")])
def array_pop_ref(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    var_id, items = _array_variable(ctx, null_is_empty=False)
    if not items:
        raise NodeError(f"variable '{var_id}' holds an empty array: there is nothing to pop")
    ctx.set("value", writable(ctx, var_id, items, shallow_copy)[0].pop())
    ctx.activate("exec_out")


@register("array_push_ref", "Push (By Ref)", "Utils/Array/By Reference",
          "Appends a value to an array variable (an unset variable becomes an array).",
          [EXEC_IN, VAR_REF, inp("value", "Value", "Generic", description="What to append."), EXEC_OUT])
def array_push_ref(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    var_id, items = _array_variable(ctx, null_is_empty=True)
    check_length(ctx, len(items) + 1)
    writable(ctx, var_id, items, shallow_copy)[0].append(ctx.get("value"))
    ctx.activate("exec_out")


@register("array_remove_index_ref", "Remove Index (By Ref)", "Utils/Array/By Reference",
          "Removes the element at a position of an array variable.",
          [EXEC_IN, VAR_REF, inp("index", "Index", "Integer", description="Position to remove, from 0."),
           EXEC_OUT, out("value", "Value", "Generic", description="The removed element.")])
def array_remove_index_ref(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    var_id, items = _array_variable(ctx, null_is_empty=False)
    position = index(ctx)
    check_index(position, len(items))
    ctx.set("value", writable(ctx, var_id, items, shallow_copy)[0].pop(position))
    ctx.activate("exec_out")


@register("array_set_index_ref", "Set Index (By Ref)", "Utils/Array/By Reference",
          "Replaces the element at a position of an array variable.",
          [EXEC_IN, VAR_REF, inp("index", "Index", "Integer", description="Position to replace, from 0."),
           inp("value", "Value", "Generic", description="The new element."), EXEC_OUT])
def array_set_index_ref(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    var_id, items = _array_variable(ctx, null_is_empty=False)
    position = index(ctx)
    check_index(position, len(items))
    value = ctx.get("value")
    writable(ctx, var_id, items, shallow_copy)[0][position] = value
    ctx.activate("exec_out")
