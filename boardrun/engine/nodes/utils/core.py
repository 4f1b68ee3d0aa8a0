"""Utils: identifiers."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


@lru_cache(maxsize=1)
def _cuid_generator() -> Any:
    """One generator per process, built on first use (after the fork server has forked)."""
    from cuid2 import Cuid

    return Cuid(length=24)  # Flow-Like's create_id(): CUID2 of the default length


@register("cuid", "CUID v2", "Utils", "Generates a collision-resistant unique id (CUID2, 24 characters).",
          [inp("exec_in", "Input", "Execution", description="Generate."),
           out("exec_out", "Output", "Execution", description="Fires after generating."),
           out("cuid", "Cuid", "String", description="A new id: a lower-case letter, then letters and digits.")])
def cuid(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.set("cuid", _cuid_generator().generate())
    ctx.activate("exec_out")
