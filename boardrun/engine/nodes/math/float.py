"""Math/Float: floating-point arithmetic."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ...coerce import as_float
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


@register("float_add", "+", "Math/Float", "Adds two numbers as floating point.",
          [inp("float1", "Float 1", "Float", description="Left operand."),
           inp("float2", "Float 2", "Float", description="Right operand."),
           out("sum", "Sum", "Float", description="The sum (null if it is not finite).")])
def float_add(ctx: NodeContext) -> None:
    total = as_float(ctx.get("float1"), "float1") + as_float(ctx.get("float2"), "float2")
    ctx.set("sum", total if math.isfinite(total) else None)
