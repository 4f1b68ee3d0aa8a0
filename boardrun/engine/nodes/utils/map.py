"""Utils/Map: maps from string keys to values, carried as JSON objects.

Flow-Like's HashMap pins hold serde_json objects, which keep insertion order; so do these nodes.
An unset (null) map reads as an empty map, as in Flow-Like; any other non-object fails the node.
Changing nodes produce a new map: the input stays as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...coerce import as_map, as_str
from ...errors import NodeError
from ...registry import inp, out, register
from ._collections import EXEC_IN, EXEC_OUT, VAR_REF, shallow_copy, variable, writable

if TYPE_CHECKING:
    from ...runtime import NodeContext


def _map_in(ctx: NodeContext) -> dict[str, Any]:
    value = ctx.get("map_in")
    return {} if value is None else as_map(value, "map_in")


_MAP_IN = inp("map_in", "Map", "Generic", "HashMap", description="The map; it is not changed.")
_KEY = inp("key", "Key", "String", description="The key.")


@register("make_map", "Make Map", "Utils/Map", "Produces an empty map.",
          [out("map_out", "Map", "Generic", "HashMap", description="An empty map.")])
def make_map(ctx: NodeContext) -> None:
    ctx.set("map_out", {})


@register("map_clear", "Clear Map", "Utils/Map", "Produces an empty map of the same kind as its input.",
          [EXEC_IN, _MAP_IN, EXEC_OUT, out("map_out", "Emptied", "Generic", "HashMap", description="An empty map.")])
def map_clear(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.set("map_out", {})
    ctx.activate("exec_out")


@register("map_get", "Get Value", "Utils/Map", "Looks a key up in a map.",
          [_MAP_IN, _KEY,
           out("value", "Value", "Generic", description="The value stored under the key, or null."),
           out("found", "Found", "Boolean", description="Whether the map has the key.")])
def map_get(ctx: NodeContext) -> None:
    entries = _map_in(ctx)
    key = as_str(ctx.get("key"), "key")
    ctx.set("value", entries.get(key))
    ctx.set("found", key in entries)


@register("map_has_key", "Has Key", "Utils/Map", "Checks whether a map has a key.",
          [_MAP_IN, _KEY, out("has_key", "Has Key", "Boolean", description="Whether the key is present.")])
def map_has_key(ctx: NodeContext) -> None:
    ctx.set("has_key", as_str(ctx.get("key"), "key") in _map_in(ctx))


@register("map_keys", "Keys", "Utils/Map", "Lists the keys of a map in insertion order.",
          [_MAP_IN, out("keys", "Keys", "Generic", "Array", description="The keys.")])
def map_keys(ctx: NodeContext) -> None:
    ctx.set("keys", list(_map_in(ctx)))


@register("map_values", "Values", "Utils/Map", "Lists the values of a map in insertion order.",
          [_MAP_IN, out("values", "Values", "Generic", "Array", description="The values.")])
def map_values(ctx: NodeContext) -> None:
    ctx.set("values", list(_map_in(ctx).values()))


@register("map_size", "Size", "Utils/Map", "Counts the entries of a map.",
          [_MAP_IN, out("size", "Size", "Integer", description="Number of keys.")])
def map_size(ctx: NodeContext) -> None:
    ctx.set("size", len(_map_in(ctx)))


@register("map_remove", "Remove Key", "Utils/Map", "Removes a key from a copy of a map.",
          [EXEC_IN, _MAP_IN, inp("key", "Key", "String", description="The key to remove."),
           EXEC_OUT, out("map_out", "Map", "Generic", "HashMap", description="The copy without the key."),
           out("value", "Value", "Generic", description="The removed value, or null if the key was absent."),
           out("was_present", "Was Present", "Boolean", description="Whether the map had the key.")])
def map_remove(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    entries = _map_in(ctx)
    key = as_str(ctx.get("key"), "key")
    ctx.set("map_out", {k: v for k, v in entries.items() if k != key})
    ctx.set("value", entries.get(key))
    ctx.set("was_present", key in entries)
    ctx.activate("exec_out")


@register("map_set", "Set Value", "Utils/Map", "Stores a value under a key in a copy of a map.",
          [EXEC_IN, _MAP_IN, inp("key", "Key", "String", description="The key to store under."),
           inp("value", "Value", "Generic", description="The value to store."),
           EXEC_OUT, out("map_out", "Map", "Generic", "HashMap", description="The copy with the value."),
           out("replaced", "Replaced", "Boolean", description="Whether the key already had a value.")])
def map_set(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    entries = _map_in(ctx)
    key = as_str(ctx.get("key"), "key")
    ctx.set("map_out", {**entries, key: ctx.get("value")})
    ctx.set("replaced", key in entries)
    ctx.activate("exec_out")


# -- Utils/Map/By Reference: change a map variable ----------------------------------------
def _map_variable(ctx: NodeContext) -> tuple[str, dict[str, Any] | None]:
    var_id, value = variable(ctx)
    if value is not None and type(value) is not dict:
        raise NodeError(f"variable '{var_id}' does not hold a map")
    return var_id, value


@register("map_clear_ref", "Clear (By Ref)", "Utils/Map/By Reference", "Empties a map variable.",
          [EXEC_IN, VAR_REF, EXEC_OUT])
def map_clear_ref(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    var_id, entries = _map_variable(ctx)
    if entries:  # an unset variable stays unset, as in Flow-Like
        ctx.own_variable(var_id, {})
    ctx.activate("exec_out")


@register("map_remove_ref", "Remove Key (By Ref)", "Utils/Map/By Reference", "Removes a key from a map variable.",
          [EXEC_IN, VAR_REF, inp("key", "Key", "String", description="The key to remove."), EXEC_OUT,
           out("value", "Value", "Generic", description="The removed value, or null if the key was absent."),
           out("was_present", "Was Present", "Boolean", description="Whether the map had the key.")])
def map_remove_ref(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    var_id, entries = _map_variable(ctx)
    key = as_str(ctx.get("key"), "key")
    present = entries is not None and key in entries
    ctx.set("value", writable(ctx, var_id, entries, shallow_copy)[0].pop(key) if present else None)
    ctx.set("was_present", present)
    ctx.activate("exec_out")


@register("map_set_ref", "Set Value (By Ref)", "Utils/Map/By Reference",
          "Stores a value under a key of a map variable (an unset variable becomes a map).",
          [EXEC_IN, VAR_REF, inp("key", "Key", "String", description="The key to store under."),
           inp("value", "Value", "Generic", description="The value to store."), EXEC_OUT])
def map_set_ref(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    var_id, entries = _map_variable(ctx)
    key = as_str(ctx.get("key"), "key")
    value = ctx.get("value")
    writable(ctx, var_id, entries or {}, shallow_copy)[0][key] = value
    ctx.activate("exec_out")
