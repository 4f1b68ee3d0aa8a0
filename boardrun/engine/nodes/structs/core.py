"""Structs: making JSON objects."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...registry import out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


@register("struct_make", "Make Struct", "Structs", "Produces an empty object to add fields to.",
          [out("struct", "Struct", "Struct", description="An empty object.")])
def struct_make(ctx: NodeContext) -> None:
    ctx.set("struct", {})
