"""Utils/Math/Vector: element-wise arithmetic, products, similarity and normalisation of float arrays.

Components that are not finite become null, as Flow-Like's serde_json writes them. Where the
result is undefined (the direction of a zero vector), the node fails instead of returning nulls.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ...coerce import as_float, as_list
from ...errors import NodeError
from ...registry import PinDef, inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


def _vector(value: Any, pin: str) -> list[float]:
    return [as_float(x, f"{pin}[{k}]") for k, x in enumerate(as_list(value, pin))]


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b))


def _pair(ctx: NodeContext) -> tuple[list[float], list[float]]:
    a, b = _vector(ctx.get("vector1"), "vector1"), _vector(ctx.get("vector2"), "vector2")
    if len(a) != len(b):
        raise NodeError(f"inputs 'vector1' and 'vector2' must have the same length, got {len(a)} and {len(b)}")
    return a, b


def _pins(result: str, friendly: str, what: str, array: bool = True) -> list[PinDef]:
    return [inp("vector1", "Vector 1", "Float", "Array", description="First vector."),
            inp("vector2", "Vector 2", "Float", "Array", description="Second vector, same length."),
            out(result, friendly, "Float", "Array" if array else "Normal", description=what)]


@register("float_vector_addition", "Addition", "Utils/Math/Vector", "Adds two vectors component by component.",
          _pins("result_vector", "Result Vector", "The component-wise sum."))
def float_vector_addition(ctx: NodeContext) -> None:
    a, b = _pair(ctx)
    ctx.set("result_vector", [_finite(x + y) for x, y in zip(a, b)])


@register("float_vector_subtraction", "Subtraction", "Utils/Math/Vector",
          "Subtracts the second vector from the first, component by component.",
          _pins("result_vector", "Result Vector", "The component-wise difference."))
def float_vector_subtraction(ctx: NodeContext) -> None:
    a, b = _pair(ctx)
    ctx.set("result_vector", [_finite(x - y) for x, y in zip(a, b)])


@register("float_vector_multiplication", "Multiplication", "Utils/Math/Vector",
          "Multiplies two vectors component by component (Hadamard product).",
          _pins("result_vector", "Result Vector", "The component-wise product."))
def float_vector_multiplication(ctx: NodeContext) -> None:
    a, b = _pair(ctx)
    ctx.set("result_vector", [_finite(x * y) for x, y in zip(a, b)])


@register("float_vector_dot_product", "Dot Product", "Utils/Math/Vector", "Sum of the component-wise products.",
          _pins("result", "Result", "The dot product (0 for empty vectors).", array=False))
def float_vector_dot_product(ctx: NodeContext) -> None:
    a, b = _pair(ctx)
    ctx.set("result", _finite(float(_dot(a, b))))


@register("float_vector_cosine_similarity", "Cosine Similarity", "Utils/Math/Vector",
          "Cosine of the angle between two vectors, from -1 to 1.",
          _pins("similarity", "Similarity", "The cosine similarity.", array=False))
def float_vector_cosine_similarity(ctx: NodeContext) -> None:
    a, b = _pair(ctx)
    norms = math.hypot(*a) * math.hypot(*b)
    if norms == 0.0:
        raise NodeError("cosine similarity is undefined for an empty or all-zero vector")
    ctx.set("similarity", _finite(_dot(a, b) / norms))


@register("float_vector_cross_product", "Cross Product", "Utils/Math/Vector",
          "Cross product of two 3-vectors, or the scalar cross product of two 2-vectors (as a 1-element array).",
          _pins("result_vector", "Result Vector", "The cross product."))
def float_vector_cross_product(ctx: NodeContext) -> None:
    a, b = _pair(ctx)
    if len(a) == 2:
        result = [a[0] * b[1] - a[1] * b[0]]
    elif len(a) == 3:
        result = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
    else:
        raise NodeError(f"the cross product needs vectors of length 2 or 3, got {len(a)}")
    ctx.set("result_vector", [_finite(x) for x in result])


@register("float_vector_normalize", "Normalize", "Utils/Math/Vector", "Scales a vector to length 1.",
          [inp("vector", "Vector", "Float", "Array", description="The vector."),
           out("normalized_vector", "Normalized Vector", "Float", "Array",
               description="The unit vector in the same direction (empty for an empty vector).")])
def float_vector_normalize(ctx: NodeContext) -> None:
    vector = _vector(ctx.get("vector"), "vector")
    if not vector:
        ctx.set("normalized_vector", [])
        return
    length = math.hypot(*vector)
    if length == 0.0:
        raise NodeError("an all-zero vector has no direction to normalize to")
    ctx.set("normalized_vector", [_finite(x / length) for x in vector])
