"""Utils/Set: sets of JSON values, carried as JSON arrays without repeated elements.

Flow-Like serialises its HashSet pins as JSON arrays (in hash order); its By Reference set nodes
already treat a set variable as an array. Here a set keeps the order in which its elements were
first added, so results are deterministic. Elements are equal when they are equal as JSON
(:func:`boardrun.engine.coerce.value_key`). Changing nodes produce a new set.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Hashable

from ...coerce import as_list, as_set, value_key
from ...errors import NodeError
from ...registry import inp, out, register
from ._collections import EXEC_IN, EXEC_OUT, VAR_REF, variable, writable

if TYPE_CHECKING:
    from ...runtime import NodeContext

_SET_IN = inp("set_in", "Set", "Generic", "HashSet", description="The set; it is not changed.")
_SET_1 = inp("set_in_1", "Set 1", "Generic", "HashSet", description="The first set.")
_SET_2 = inp("set_in_2", "Set 2", "Generic", "HashSet", description="The second set.")
_VALUE = inp("value", "Value", "Generic", description="The element (compared as JSON).")


def _set(ctx: NodeContext, pin: str) -> list[Any]:
    return as_set(ctx.get(pin), pin)


def _keys(elements: list[Any]) -> set[Any]:
    return {value_key(element) for element in elements}


def _without(elements: list[Any], key: Any) -> list[Any]:
    return [element for element in elements if value_key(element) != key]


@register("make_set", "Make Set", "Utils/Set", "Produces an empty set.",
          [out("set_out", "Set", "Generic", "HashSet", description="An empty set.")])
def make_set(ctx: NodeContext) -> None:
    ctx.set("set_out", [])


@register("array_to_set", "Array to Set", "Utils/Set", "Turns an array into a set: repeated elements are dropped.",
          [inp("array_in", "Array", "Generic", "Array", description="The array."),
           out("set_out", "Set", "Generic", "HashSet", description="Its distinct elements, in first-seen order.")])
def array_to_set(ctx: NodeContext) -> None:
    ctx.set("set_out", as_set(as_list(ctx.get("array_in"), "array_in"), "array_in"))


@register("set_to_array", "Set to Array", "Utils/Set", "Gives the elements of a set as an array.",
          [inp("set_in", "Set", "Generic", "HashSet", description="The set."),
           out("array_out", "Array", "Generic", "Array", description="The elements.")])
def set_to_array(ctx: NodeContext) -> None:
    ctx.set("array_out", _set(ctx, "set_in"))


@register("set_get_size", "Get Size", "Utils/Set", "Counts the elements of a set.",
          [_SET_IN, out("size", "Size", "Integer", description="Number of distinct elements.")])
def set_get_size(ctx: NodeContext) -> None:
    ctx.set("size", len(_set(ctx, "set_in")))


@register("set_is_empty", "Is Empty", "Utils/Set", "Checks whether a set has no elements.",
          [_SET_IN, out("is_empty", "Is Empty?", "Boolean", description="Whether the set is empty.")])
def set_is_empty(ctx: NodeContext) -> None:
    ctx.set("is_empty", not _set(ctx, "set_in"))


@register("set_has", "Has Element", "Utils/Set", "Checks whether a set holds a value.",
          [_SET_IN, _VALUE, out("contains", "Contains?", "Boolean", description="Whether the value is in the set.")])
def set_has(ctx: NodeContext) -> None:
    ctx.set("contains", value_key(ctx.get("value")) in _keys(_set(ctx, "set_in")))


@register("set_is_subset", "Is Subset", "Utils/Set", "Checks whether every element of the first set is in the second.",
          [inp("set_in_1", "Set", "Generic", "HashSet", description="The smaller set."),
           inp("set_in_2", "Set", "Generic", "HashSet", description="The bigger set."),
           out("is_subset", "Is Subset?", "Boolean", description="Whether the first set lies within the second.")])
def set_is_subset(ctx: NodeContext) -> None:
    ctx.set("is_subset", _keys(_set(ctx, "set_in_1")) <= _keys(_set(ctx, "set_in_2")))


@register("set_is_superset", "Is Superset", "Utils/Set", "Checks whether the first set holds every element of the second.",
          [inp("set_in_1", "Set", "Generic", "HashSet", description="The bigger set."),
           inp("set_in_2", "Set", "Generic", "HashSet", description="The smaller set."),
           out("is_superset", "Is Superset?", "Boolean", description="Whether the first set covers the second.")])
def set_is_superset(ctx: NodeContext) -> None:
    ctx.set("is_superset", _keys(_set(ctx, "set_in_1")) >= _keys(_set(ctx, "set_in_2")))


@register("difference", "Difference", "Utils/Set", "Keeps the elements of the first set that are not in the second.",
          [EXEC_IN, _SET_1, _SET_2,
           out("set_out", "Difference", "Generic", "HashSet", description="First set minus second set."),
           EXEC_OUT])
def difference(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    first = _set(ctx, "set_in_1")
    excluded = _keys(_set(ctx, "set_in_2"))
    ctx.set("set_out", [element for element in first if value_key(element) not in excluded])
    ctx.activate("exec_out")


@register("union", "Union", "Utils/Set", "Combines two sets: the first set's elements, then the second's new ones.",
          [EXEC_IN, _SET_1, _SET_2, EXEC_OUT,
           out("set_out", "Set", "Generic", "HashSet", description="Every element of either set.")])
def union(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.set("set_out", as_set(_set(ctx, "set_in_1") + _set(ctx, "set_in_2"), "set_in_1"))
    ctx.activate("exec_out")


@register("is_mutual", "Is Mutual", "Utils/Set", "Checks whether two sets share at least one element.",
          [EXEC_IN, _SET_1, _SET_2,
           out("is_mutual", "Mutual?", "Boolean", description="Whether some element is in both sets."),
           EXEC_OUT])
def is_mutual(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.set("is_mutual", not _keys(_set(ctx, "set_in_1")).isdisjoint(_keys(_set(ctx, "set_in_2"))))
    ctx.activate("exec_out")


@register("insert", "Insert Element", "Utils/Set", "Adds a value to a copy of a set.",
          [EXEC_IN, _SET_IN, inp("value", "Value", "Generic", description="The element to add."),
           EXEC_OUT, out("set_out", "Set", "Generic", "HashSet", description="The copy with the element."),
           out("existed_before", "Existed Before?", "Boolean", description="Whether the set already held it.")])
def insert(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    elements = _set(ctx, "set_in")
    value = ctx.get("value")
    existed = value_key(value) in _keys(elements)
    ctx.set("set_out", elements if existed else [*elements, value])
    ctx.set("existed_before", existed)
    ctx.activate("exec_out")


@register("set_discard", "Discard", "Utils/Set", "Removes a value from a copy of a set, if it is there.",
          [EXEC_IN, _SET_IN, inp("value", "Value", "Generic", description="The element to remove."),
           EXEC_OUT, out("set_out", "Set", "Generic", "HashSet", description="The copy without the element."),
           out("has_removed", "Was Removed", "Boolean", description="Whether the set held it.")])
def set_discard(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    elements = _set(ctx, "set_in")
    kept = _without(elements, value_key(ctx.get("value")))
    ctx.set("set_out", kept)
    ctx.set("has_removed", len(kept) < len(elements))
    ctx.activate("exec_out")


@register("set_clear", "Clear set", "Utils/Set", "Produces an empty set of the same kind as its input.",
          [EXEC_IN, _SET_IN, EXEC_OUT, out("set_out", "Emptied", "Generic", "HashSet", description="An empty set.")])
def set_clear(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.set("set_out", [])
    ctx.activate("exec_out")


@register("set_pop", "Pop", "Utils/Set", "Removes an arbitrary (randomly chosen) element from a copy of a set.",
          [EXEC_IN, _SET_IN, EXEC_OUT,
           out("set_out", "Set", "Generic", "HashSet", description="The copy with one element fewer.")])
def set_pop(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    elements = _set(ctx, "set_in")
    if not elements:
        raise NodeError("input 'set_in' is an empty set: there is nothing to pop")
    gone = random.randrange(len(elements))
    ctx.set("set_out", elements[:gone] + elements[gone + 1:])
    ctx.activate("exec_out")


# -- Utils/Set/By Reference: change a set variable (an array, as in Flow-Like) ------------------
def _set_variable(ctx: NodeContext) -> tuple[str, list[Any] | None]:
    var_id, value = variable(ctx)
    if value is not None and type(value) is not list:
        raise NodeError(f"variable '{var_id}' does not hold a set")
    return var_id, value


def _owned_copy(elements: list[Any]) -> tuple[list[Any], set[Hashable]]:
    """The set's elements (repeats dropped) and, kept alongside while the run owns the copy,
    their keys, so that inserting into a set variable in a loop is not quadratic."""
    unique = as_set(elements, "var_ref")
    return unique, _keys(unique)


@register("set_clear_ref", "Clear (By Ref)", "Utils/Set/By Reference", "Empties a set variable.",
          [EXEC_IN, VAR_REF, EXEC_OUT])
def set_clear_ref(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    var_id, elements = _set_variable(ctx)
    if elements:  # an unset variable stays unset, as in Flow-Like
        ctx.own_variable(var_id, [], set())
    ctx.activate("exec_out")


@register("set_discard_ref", "Discard (By Ref)", "Utils/Set/By Reference", "Removes a value from a set variable.",
          [EXEC_IN, VAR_REF, inp("value", "Value", "Generic", description="The element to remove."), EXEC_OUT,
           out("was_present", "Was Present", "Boolean", description="Whether the set held it.")])
def set_discard_ref(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    var_id, elements = _set_variable(ctx)
    key = value_key(ctx.get("value"))
    present = False
    if elements is not None:
        owned, keys = writable(ctx, var_id, elements, _owned_copy)
        present = key in keys
        if present:
            keys.discard(key)
            owned[:] = _without(owned, key)
    ctx.set("was_present", present)
    ctx.activate("exec_out")


@register("set_insert_ref", "Insert (By Ref)", "Utils/Set/By Reference",
          "Adds a value to a set variable (an unset variable becomes a set).",
          [EXEC_IN, VAR_REF, inp("value", "Value", "Generic", description="The element to add."), EXEC_OUT,
           out("was_new", "Was New", "Boolean", description="Whether the set did not hold it yet.")])
def set_insert_ref(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    var_id, elements = _set_variable(ctx)
    value = ctx.get("value")
    key = value_key(value)
    owned, keys = writable(ctx, var_id, elements or [], _owned_copy)
    new = key not in keys
    if new:
        owned.append(value)
        keys.add(key)
    ctx.set("was_new", new)
    ctx.activate("exec_out")
