"""Utils/Math/Vector nodes: component-wise arithmetic, dot/cross products, cosine similarity, normalisation."""

from __future__ import annotations

import math

import pytest

from engine_testkit import run_pure, value_of


@pytest.mark.parametrize("node,output,inputs,expected", [
    ("float_vector_addition", "result_vector", {"vector1": [1, 2.5], "vector2": [3, -1]}, [4.0, 1.5]),
    ("float_vector_subtraction", "result_vector", {"vector1": [1, 2.5], "vector2": [3, -1]}, [-2.0, 3.5]),
    ("float_vector_multiplication", "result_vector", {"vector1": [1, 2.5], "vector2": [3, -1]}, [3.0, -2.5]),
    ("float_vector_multiplication", "result_vector", {"vector1": [1e200], "vector2": [1e200]}, [None]),
    ("float_vector_addition", "result_vector", {"vector1": [], "vector2": []}, []),
    ("float_vector_dot_product", "result", {"vector1": [1, 2, 3], "vector2": [4, -5, 6]}, 12.0),
    ("float_vector_dot_product", "result", {"vector1": [], "vector2": []}, 0.0),
    ("float_vector_cross_product", "result_vector", {"vector1": [1, 0, 0], "vector2": [0, 1, 0]}, [0.0, 0.0, 1.0]),
    ("float_vector_cross_product", "result_vector", {"vector1": [2, 3, 4], "vector2": [5, 6, 7]}, [-3.0, 6.0, -3.0]),
    ("float_vector_cross_product", "result_vector", {"vector1": [1, 2], "vector2": [3, 4]}, [-2.0]),
    ("float_vector_cosine_similarity", "similarity", {"vector1": [1, 0], "vector2": [0, 2]}, 0.0),
    ("float_vector_cosine_similarity", "similarity", {"vector1": [1, 1], "vector2": [-2, -2]}, -1.0),
    ("float_vector_normalize", "normalized_vector", {"vector": [3, 4]}, [0.6, 0.8]),
    ("float_vector_normalize", "normalized_vector", {"vector": []}, []),
])
def test_vector_operations(node, output, inputs, expected):
    """Each vector node computes the textbook result; non-finite components become null."""
    got = value_of(run_pure(node, output, **inputs))
    if isinstance(expected, float):
        assert math.isclose(got, expected, rel_tol=1e-12, abs_tol=1e-12)
    else:
        assert got == pytest.approx(expected) if None not in expected else got == expected


@pytest.mark.parametrize("node,output,inputs,message", [
    ("float_vector_addition", "result_vector", {"vector1": [1], "vector2": [1, 2]}, "must have the same length"),
    ("float_vector_dot_product", "result", {"vector1": [1, "2"], "vector2": [1, 2]}, "input 'vector1[1]' must be a number"),
    ("float_vector_subtraction", "result_vector", {"vector1": 3, "vector2": [1]}, "input 'vector1' must be an array"),
    ("float_vector_cross_product", "result_vector", {"vector1": [1, 2, 3, 4], "vector2": [1, 2, 3, 4]}, "length 2 or 3"),
    ("float_vector_cosine_similarity", "similarity", {"vector1": [0, 0], "vector2": [1, 2]}, "undefined"),
    ("float_vector_normalize", "normalized_vector", {"vector": [0, 0]}, "all-zero vector"),
])
def test_vector_bad_inputs_fail_the_node(node, output, inputs, message):
    """Mismatched lengths, non-numbers, wrong shapes and undefined results fail with a clear message."""
    result = run_pure(node, output, **inputs)
    assert result.reason == "node_error" and message in result.error["message"], result.error
