"""AI/Embedding: loading an embedding model and embedding texts (and images) through the
provider's ``/v1/embeddings`` endpoint.

As in Flow-Like, Load Embedding Model hands out a small reference (``CachedEmbeddingModel``:
``cache_key``, ``model_type``) to a model kept for the run; the embed nodes look it up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ... import images
from ...ai import providers
from ...coerce import as_str
from ...errors import NodeError
from ...registry import inp, out, register
from .generative import ENFORCE

if TYPE_CHECKING:
    from ...runtime import NodeContext

_LOADED = "ai.embedding_models"


def loaded_model(ctx: NodeContext, value: Any, pin: str = "model") -> dict[str, Any]:
    """The Bit behind a CachedEmbeddingModel reference from Load Embedding Model."""
    key = value.get("cache_key") if isinstance(value, dict) else None
    if not isinstance(key, str):
        raise NodeError(f"input '{pin}' must be an embedding model from Load Embedding Model")
    bit = ctx.run_state.get(_LOADED, {}).get(key)
    if bit is None:
        raise NodeError(f"the embedding model '{key}' was not loaded in this run (use Load Embedding Model)")
    return bit


@register("load_model", "Load Embedding Model", "AI/Embedding",
          "Makes an embedding model Bit ready for Embed Query, Embed Document and Chunk Text.",
          [inp("exec_in", "Input", "Execution", description="Load the model."),
           inp("bit", "Model Bit", "Struct", options=ENFORCE, description="An embedding model's Bit."),
           out("exec_out", "Output", "Execution", description="Fires once the model is ready."),
           out("model", "Model", "Struct", description="The loaded model.")],
          long_running=True)
def load_model(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    bit = ctx.get("bit")
    if not isinstance(bit, dict) or not isinstance(bit.get("id"), str):
        raise NodeError("input 'bit' must be a Bit")
    if bit.get("type") not in ("Embedding", "ImageEmbedding"):
        raise NodeError(f"the Bit '{bit['id']}' is not an embedding model")
    # Fails now, naming the problem, if it cannot be served.
    providers.resolve(ctx, bit, "image_embedding" if bit["type"] == "ImageEmbedding" else "embedding")
    ctx.run_state.setdefault(_LOADED, {})[bit["id"]] = bit
    ctx.set("model", {"cache_key": bit["id"], "model_type": bit["type"]})
    ctx.activate("exec_out")


def _embed(ctx: NodeContext, kind: str) -> None:
    from ...ai import client

    ctx.deactivate("exec_out")
    text = as_str(ctx.get("query_string"), "query_string")
    bit = loaded_model(ctx, ctx.get("model"))
    prefix = providers._field(bit, "parameters", "prefix", kind)
    (vector,) = client.embed(ctx, providers.resolve(ctx, bit, "embedding"),
                             [(prefix if isinstance(prefix, str) else "") + text])
    ctx.set("vector", vector)
    ctx.activate("exec_out")


def _embed_pins() -> list[Any]:
    return [inp("exec_in", "Input", "Execution", description="Embed the text."),
            inp("query_string", "Query String", "String", description="The text."),
            inp("model", "Model", "Struct", options=ENFORCE, description="A model from Load Embedding Model."),
            out("exec_out", "Output", "Execution", description="Fires with the vector."),
            out("vector", "Vector", "Float", "Array", description="The embedding.")]


@register("embed_query", "Embed Query", "AI/Embedding",
          "The embedding of a search query (with the model's query prefix, if it has one).",
          _embed_pins(), long_running=True)
def embed_query(ctx: NodeContext) -> None:
    _embed(ctx, "query")


@register("embed_document", "Embed Document", "AI/Embedding",
          "The embedding of a text to be searched (with the model's document prefix, if it has one).",
          _embed_pins(), long_running=True)
def embed_document(ctx: NodeContext) -> None:
    _embed(ctx, "paragraph")


@register("embed_image", "Embed Image", "AI/Embedding",
          "The embedding of an image, from an image embedding model (sent as a PNG data URL).",
          [inp("exec_in", "Input", "Execution", description="Embed the image."),
           images.image_in("image"),
           inp("model", "Model", "Struct", options=ENFORCE,
               description="An image embedding model from Load Embedding Model."),
           out("exec_out", "Output", "Execution", description="Fires with the vector."),
           out("vector", "Vector", "Float", "Array", description="The embedding.")],
          long_running=True)
def embed_image(ctx: NodeContext) -> None:
    from ...ai import client

    ctx.deactivate("exec_out")
    image = images.get(ctx, ctx.get("image"), "image")
    bit = loaded_model(ctx, ctx.get("model"))
    if bit.get("type") != "ImageEmbedding":
        raise NodeError(f"the model '{bit['id']}' is not an image embedding model")
    url = images.data_url(image, "png")
    ctx.set("vector", client.embed_image(ctx, providers.resolve(ctx, bit, "image_embedding"), url))
    ctx.activate("exec_out")
