"""Utils/Hash nodes: BLAKE3 of the value's serde_json text, and the seeded 64-bit hash standing in for aHash."""

from __future__ import annotations

import hashlib

import blake3
import pytest

from engine_testkit import BoardBuilder, value_of


def run_hash(node_name: str, **inputs):
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add(node_name, **inputs)
    ret = b.add("events_generic_return_result")
    b.chain(start, node, ret)
    b.connect(node, "hash", ret, "response")
    return b.run(start)


@pytest.mark.parametrize("value,text", [({"b": 1, "a": [1.0, "x"]}, '{"b":1,"a":[1.0,"x"]}'), ("abc", '"abc"'),
                                        (None, "null"), (1e16, "1e16")])
def test_blake3_hashes_the_compact_json_text(value, text):
    """The digest is BLAKE3 over serde_json's compact text, keys in their own order, as hex."""
    assert value_of(run_hash("utils_hash_blake3", input=value)) == blake3.blake3(text.encode()).hexdigest()


def test_blake3_needs_an_input():
    """An unset input fails the node, naming the pin."""
    result = run_hash("utils_hash_blake3")
    assert result.reason == "node_error" and "input 'input'" in result.error["message"]


def test_ahash_is_repeatable_per_seed_and_unsigned_64_bit():
    """The same seed gives the same hash, another seed a different one; values are unsigned 64-bit."""
    first = value_of(run_hash("utils_hash_ahash", input={"a": 1}, seed=7))
    assert first == value_of(run_hash("utils_hash_ahash", input={"a": 1}, seed=7))
    assert first != value_of(run_hash("utils_hash_ahash", input={"a": 1}, seed=8))
    assert first != value_of(run_hash("utils_hash_ahash", input={"a": 2}, seed=7))
    key = (7).to_bytes(8, "little")
    assert first == int.from_bytes(hashlib.blake2b(b'{"a":1}', digest_size=8, key=key).digest(), "little")
    assert 0 <= value_of(run_hash("utils_hash_ahash", input="x", seed=-1)) < 2**64


def test_ahash_without_consistency_uses_a_random_key():
    """consistent=false gives different hashes for the same input."""
    draws = {value_of(run_hash("utils_hash_ahash", input="same", consistent=False)) for _ in range(5)}
    assert len(draws) == 5


@pytest.mark.parametrize("inputs,message", [({"input": 1, "seed": 1.5}, "'seed' must be a 64-bit integer"),
                                            ({"input": 1, "consistent": "yes"}, "'consistent' must be a boolean")])
def test_ahash_rejects_bad_settings(inputs, message):
    """A non-integer seed or non-boolean consistent flag fails the node."""
    result = run_hash("utils_hash_ahash", **inputs)
    assert result.reason == "node_error" and message in result.error["message"]


@pytest.mark.parametrize("node_name", ["utils_hash_blake3", "utils_hash_ahash"])
def test_hashes_reject_text_that_is_not_unicode(node_name):
    """An unpaired surrogate in a string fails the node instead of raising an encoding error."""
    result = run_hash(node_name, input={"a": "\ud800"})
    assert result.reason == "node_error" and "unpaired UTF-16 surrogate" in result.error["message"]
