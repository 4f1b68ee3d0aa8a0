"""AI/Preprocessing: splitting text into chunks for embedding."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...coerce import as_bool, as_int, as_str
from ...errors import NodeError
from ...registry import inp, out, register
from .embedding import loaded_model
from .generative import ENFORCE

if TYPE_CHECKING:
    from ...runtime import NodeContext


@register("chunk_text_char", "Character Chunk Text", "AI/Preprocessing",
          "Splits text into chunks of at most 'Capacity' characters at the largest natural boundaries that fit "
          "(Markdown structure when 'Markdown' is on), neighbouring chunks sharing up to 'Overlap' characters.",
          [inp("exec_in", "Input", "Execution", description="Split the text."),
           inp("text", "Text", "String", description="The text to split."),
           inp("capacity", "Capacity", "Integer", default=512, description="Largest chunk, in characters."),
           inp("overlap", "Overlap", "Integer", default=20, description="Characters shared by neighbouring chunks."),
           inp("markdown", "Markdown", "Boolean", default=True, description="Split along Markdown structure."),
           out("exec_out", "Output", "Execution", description="Fires once the chunks are set."),
           out("chunks", "Chunks", "String", "Array", description="The chunks, in order.")],
          long_running=True)
def chunk_text_char(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    text = as_str(ctx.get("text"), "text")
    capacity = as_int(ctx.get("capacity"), "capacity")
    overlap = as_int(ctx.get("overlap"), "overlap")
    markdown = as_bool(ctx.get("markdown"), "markdown")
    if capacity < 1:
        raise NodeError("input 'capacity' must be at least 1")
    if not 0 <= overlap < capacity:
        raise NodeError(f"input 'overlap' must be at least 0 and below the capacity ({capacity}), got {overlap}")
    # The same splitter as Flow-Like's (the text-splitter crate, through its Python binding). Flow-Like
    # picks the Markdown splitter when 'Markdown' is off and the plain one when it is on; this follows the pin.
    from semantic_text_splitter import MarkdownSplitter, TextSplitter

    splitter = (MarkdownSplitter if markdown else TextSplitter)(capacity, overlap=overlap)
    ctx.set("chunks", splitter.chunks(text))
    ctx.activate("exec_out")


@register("chunk_text", "Chunk Text", "AI/Preprocessing",
          "Splits text into chunks of at most Capacity characters at the best boundaries (sections, "
          "paragraphs, sentences, words), neighbours sharing up to Overlap characters.",
          [inp("exec_in", "Input", "Execution", description="Split the text."),
           inp("text", "Text", "String", description="The text."),
           inp("model", "Model", "Struct", options=ENFORCE, description="A model from Load Embedding Model."),
           inp("capacity", "Capacity", "Integer", default=512, description="Most characters per chunk."),
           inp("overlap", "Overlap", "Integer", default=20, description="Characters neighbouring chunks share."),
           inp("markdown", "Markdown", "Boolean", default=True, description="Split along Markdown structure."),
           out("exec_out", "Output", "Execution", description="Fires with the chunks."),
           out("chunks", "Chunks", "String", "Array", description="The chunks, in order.")],
          long_running=True)
def chunk_text(ctx: NodeContext) -> None:
    # The same splitter Flow-Like uses (the text-splitter crate), through its Python binding.
    from semantic_text_splitter import MarkdownSplitter, TextSplitter

    ctx.deactivate("exec_out")
    text = as_str(ctx.get("text"), "text")
    loaded_model(ctx, ctx.get("model"))
    capacity = as_int(ctx.get("capacity"), "capacity")
    overlap = as_int(ctx.get("overlap"), "overlap")
    if capacity < 1:
        raise NodeError(f"input 'capacity' must be at least 1, got {capacity}")
    if not 0 <= overlap < capacity:
        raise NodeError(f"input 'overlap' must be from 0 to capacity - 1, got {overlap}")
    splitter = (MarkdownSplitter if as_bool(ctx.get("markdown"), "markdown") else TextSplitter)(capacity, overlap=overlap)
    ctx.set("chunks", list(splitter.chunks(text)))
    ctx.activate("exec_out")
