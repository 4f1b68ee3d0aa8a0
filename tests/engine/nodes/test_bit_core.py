"""Bit nodes: loading configured model Bits by id and branching on a Bit's type."""

from __future__ import annotations

import pytest

from ai_testkit import configure
from engine_testkit import BoardBuilder
from openai_stub import OpenAIStub


@pytest.fixture
def ai(monkeypatch):
    # Only the configuration matters here: nothing is called, so no server needs to run.
    stub = OpenAIStub()
    configure(monkeypatch, stub)
    yield stub
    stub.server_close()


def _load(bit_id: str):
    b = BoardBuilder()
    start = b.add("events_simple")
    load = b.add("bit_from_string", bit_id=bit_id)
    ret = b.add("events_generic_return_result")
    b.chain(start, load)
    b.connect(load, "exec_out", ret, "exec_in")
    b.connect(load, "output_bit", ret, "response")
    return b.run(start)


def test_load_bit_by_full_id_and_by_model_id(ai):
    """'provider:model' and a model id served by one provider both find the Bit."""
    assert _load("local:coder").result["id"] == "local:coder"
    embedder = _load("embedder").result
    assert embedder["type"] == "Embedding" and embedder["parameters"]["provider"]["model_id"] == "embedder"


def test_load_bit_unknown_id_fails(ai):
    """An id no configured model has fails naming it."""
    result = _load("local:nope")
    assert result.reason == "node_error" and "'local:nope'" in result.error["message"]


def _switch(bit):
    b = BoardBuilder()
    start = b.add("events_simple")
    switch = b.add("switch_on_bit", bit=bit)
    b.chain(start, switch)
    for name in ("llm", "vlm", "embedding", "other"):
        ret = b.add("events_generic_return_result", response=name)
        b.connect(switch, name, ret, "exec_in")
    return b.run(start)


@pytest.mark.parametrize(("bit", "expected"), [
    ({"id": "a", "type": "Llm"}, "llm"), ({"id": "a", "type": "Vlm"}, "vlm"),
    ({"id": "a", "type": "Embedding"}, "embedding"), ({"id": "a"}, "other"),
])
def test_switch_on_bit_follows_the_type(bit, expected):
    """Switch on Bit continues on the output of the Bit's type (a Bit without one is Other)."""
    assert _switch(bit).result == expected


def test_switch_on_bit_refuses_non_bits():
    """A value that is not a Bit, or has an unknown type, fails the node."""
    assert _switch("x").reason == "node_error"
    assert "unknown type" in _switch({"id": "a", "type": "Robot"}).error["message"]


@pytest.mark.parametrize(("bit_type", "expected"), [("Llm", "yes"), ("Embedding", "no")])
def test_is_bit_of_type(bit_type, expected):
    """Is Bit of Type continues on Yes or No and passes the Bit through."""
    b = BoardBuilder()
    start = b.add("events_simple")
    check = b.add("is_bit_of_type", bit={"id": "a", "type": "Llm"}, bit_type=bit_type)
    b.chain(start, check)
    for name in ("yes", "no"):
        ret = b.add("events_generic_return_result", response=name)
        b.connect(check, name, ret, "exec_in")
    assert b.run(start).result == expected


def test_is_bit_of_type_refuses_an_unknown_type():
    """An unknown type name is a node error (Flow-Like only logs it and goes on 'No')."""
    b = BoardBuilder()
    start = b.add("events_simple")
    check = b.add("is_bit_of_type", bit={"id": "a", "type": "Llm"}, bit_type="Robot")
    b.chain(start, check)
    result = b.run(start)
    assert result.reason == "node_error" and "Robot" in result.error["message"]
