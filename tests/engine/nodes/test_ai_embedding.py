"""AI/Embedding: Load Embedding Model, Embed Query, Embed Document and Embed Image against a real local server."""

from __future__ import annotations

import json

import pytest

import ai_testkit
from ai_testkit import configure, forget_requests
from engine_testkit import BoardBuilder

stub = ai_testkit.stub  # the shared fixture, used by name


@pytest.fixture
def ai(stub, monkeypatch):
    providers = [{"name": "local", "base_url": stub.base_url, "models": [
        {"id": "embedder", "type": "Embedding", "prefix": {"query": "query: ", "paragraph": "passage: "}},
        {"id": "broken", "type": "Embedding"}, {"id": "chat"}, {"id": "clip", "type": "ImageEmbedding"}]}]
    configure(monkeypatch, stub, AI_PROVIDERS=json.dumps(providers), AI_MAX_RETRIES="0")
    forget_requests(stub)
    return stub


def embed_board(node: str, bit_id: str, text: str = "banana") -> tuple[BoardBuilder, str]:
    b = BoardBuilder()
    start = b.add("events_simple")
    bit = b.add("bit_from_string", bit_id=bit_id)
    load = b.add("load_model")
    embed = b.add(node, query_string=text)
    b.chain(start, bit)
    b.connect(bit, "exec_out", load, "exec_in")
    b.connect(bit, "output_bit", load, "bit")
    b.connect(load, "exec_out", embed, "exec_in")
    b.connect(load, "model", embed, "model")
    ret = b.add("events_generic_return_result")
    b.connect(embed, "exec_out", ret, "exec_in")
    b.connect(embed, "vector", ret, "response")
    return b, start


@pytest.mark.parametrize(("node", "prefix"), [("embed_query", "query: "), ("embed_document", "passage: ")])
def test_embed_sends_the_prefixed_text_and_returns_the_vector(ai, node, prefix):
    """The text (with the model's query or document prefix) goes to /v1/embeddings; the vector comes back."""
    b, start = embed_board(node, "local:embedder")
    result = b.run(start)
    assert result.status == "completed", result.error
    sent = prefix + "banana"
    assert result.result == [float(len(sent)), float(sent.count("a")), 1.0]
    (request,) = [r for r in ai.requests if r["path"] == "/v1/embeddings"]
    assert request["body"]["input"] == [sent] and request["body"]["model"] == "embedder"


def test_load_model_refuses_chat_models(ai):
    """A chat model's Bit is not an embedding model."""
    b, start = embed_board("embed_query", "local:chat")
    result = b.run(start)
    assert result.reason == "node_error" and "is not an embedding model" in result.error["message"]


def test_embedding_failure_names_the_provider(ai):
    """A provider answering 500 fails the embed node naming it."""
    b, start = embed_board("embed_query", "local:broken")
    result = b.run(start)
    assert result.reason == "node_error" and "AI provider 'local' answered HTTP 500" in result.error["message"]


def test_embed_needs_a_model_loaded_in_this_run(ai):
    """A model reference that Load Embedding Model did not hand out in this run fails."""
    b = BoardBuilder()
    start = b.add("events_simple")
    embed = b.add("embed_query", query_string="x", model={"cache_key": "local:embedder", "model_type": "Embedding"})
    b.chain(start, embed)
    result = b.run(start)
    assert result.reason == "node_error" and "was not loaded in this run" in result.error["message"]


def embed_image_board(bit_id: str) -> tuple[BoardBuilder, str]:
    """A QR code image (a 'Write QR Code' node) embedded with the model ``bit_id``."""
    b = BoardBuilder()
    start = b.add("events_simple")
    image = b.add("write_qrcode", data="embed me", scale=1, margin=0)
    bit = b.add("bit_from_string", bit_id=bit_id)
    load = b.add("load_model")
    embed = b.add("embed_image")
    ret = b.add("events_generic_return_result")
    b.chain(start, image, bit)
    b.connect(bit, "exec_out", load, "exec_in")
    b.connect(bit, "output_bit", load, "bit")
    b.connect(load, "exec_out", embed, "exec_in")
    b.connect(load, "model", embed, "model")
    b.connect(image, "image_out", embed, "image")
    b.connect(embed, "exec_out", ret, "exec_in")
    b.connect(embed, "vector", ret, "response")
    return b, start


def test_embed_image_sends_the_image_as_a_png_data_url(ai):
    """The image goes to /v1/embeddings as an image_url part of a user message (the multimodal form of
    OpenAI-compatible servers), as a PNG data URL; the vector comes back."""
    import base64
    import io

    from PIL import Image

    b, start = embed_image_board("local:clip")
    result = b.run(start)
    assert result.status == "completed", result.error
    (request,) = [r for r in ai.requests if r["path"] == "/v1/embeddings"]
    body = request["body"]
    assert body["model"] == "clip" and "input" not in body
    (message,) = body["messages"]
    (part,) = message["content"]
    url = part["image_url"]["url"]
    assert message["role"] == "user" and url.startswith("data:image/png;base64,")
    assert Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).size == (21, 21)
    assert result.result == [float(len(url)), float(url.count("a")), 1.0]


def test_embed_image_needs_an_image_embedding_model(ai):
    """A text embedding model cannot embed an image; Load Embedding Model refuses a Bit whose type and
    configured model disagree; a missing image fails."""
    b, start = embed_image_board("local:embedder")
    result = b.run(start)
    assert result.reason == "node_error" and "is not an image embedding model" in result.error["message"]
    b = BoardBuilder()
    start = b.add("events_simple")
    load = b.add("load_model", bit={"id": "local:embedder", "type": "ImageEmbedding",
                                    "parameters": {"provider": {"provider_name": "local", "model_id": "embedder"}}})
    b.chain(start, load)
    result = b.run(start)
    assert result.reason == "node_error" and "is not an image embedding model" in result.error["message"]
    b = BoardBuilder()
    start = b.add("events_simple")
    embed = b.add("embed_image", image={"image_ref": "image_x"}, model={"cache_key": "local:clip"})
    b.chain(start, embed)
    result = b.run(start)
    assert result.reason == "node_error" and "no image 'image_x' in this run" in result.error["message"]
