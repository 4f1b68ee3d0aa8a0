"""Bit: loading model descriptors by id and branching on their type."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...ai import providers
from ...coerce import as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext

# Flow-Like's BitTypes and the Switch on Bit output each one continues on, in pin order.
BIT_TYPES = {"Llm": ("llm", "LLM"), "Vlm": ("vlm", "VLM"), "Embedding": ("embedding", "Embedding"),
             "ImageEmbedding": ("image_embedding", "Image Embedding"), "File": ("file", "File"),
             "Media": ("media", "Media"), "Template": ("template", "Template"), "Tokenizer": ("tokenizer", "Tokenizer"),
             "TokenizerConfig": ("tokenizer_config", "Tokenizer Config"),
             "SpecialTokensMap": ("special_tokens_map", "Special Tokens Map"), "Config": ("config", "Config"),
             "Course": ("course", "Course"), "PreprocessorConfig": ("preprocessor_config", "Preprocessor Config"),
             "Projection": ("projection", "Projection"), "Project": ("project", "Project"), "Board": ("board", "Board"),
             "ObjectDetection": ("object_detection", "Object Detection"), "Other": ("other", "Other")}


def _bit(ctx: NodeContext) -> dict[str, Any]:
    bit = ctx.get("bit")
    if not isinstance(bit, dict) or not isinstance(bit.get("id"), str):
        raise NodeError("input 'bit' must be a Bit (an object with an 'id')")
    return bit


def _type_of(bit: dict[str, Any]) -> str:
    kind = bit.get("type", "Other")  # Flow-Like reads a Bit without a type as Other
    if kind not in BIT_TYPES:
        raise NodeError(f"the Bit '{bit['id']}' has an unknown type {kind!r}")
    return kind


@register("bit_from_string", "Load Bit", "Bit",
          "Looks up a configured model's Bit by its id ('provider:model', or just the model id).",
          [inp("exec_in", "Input", "Execution", description="Look the Bit up."),
           out("exec_out", "Output", "Execution", description="Fires when the Bit was found."),
           inp("bit_id", "Bit ID", "String", description="The Bit's id."),
           out("output_bit", "Bit", "Struct", description="The Bit.")])
def bit_from_string(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    bit_id = as_str(ctx.get("bit_id"), "bit_id")
    bits = providers.all_model_bits()
    found = next((bit for _, bit in bits if bit["id"] == bit_id), None)
    if found is None:
        matches = [bit for model, bit in bits if model.id == bit_id]
        if len(matches) > 1:
            raise NodeError(f"Bit id '{bit_id}' is served by several providers; name one as 'provider:{bit_id}'")
        found = matches[0] if matches else None
    if found is None:
        raise NodeError(f"no configured model has the Bit id '{bit_id}'")
    ctx.set("output_bit", found)
    ctx.activate("exec_out")


@register("is_bit_of_type", "Is Bit of Type", "Bit", "Continues on 'Yes' when the Bit has the given type, else on 'No'.",
          [inp("exec_in", "Input", "Execution", description="Check the Bit."),
           inp("bit", "Bit", "Struct", description="The Bit."),
           inp("bit_type", "Bit Type", "String", options={"valid_values": [t for t in BIT_TYPES if t != "ObjectDetection"]},
               description="The type to test for."),
           out("bit_out", "Bit", "Struct", description="The Bit, passed through."),
           out("yes", "Yes", "Execution", description="The Bit has the type."),
           out("no", "No", "Execution", description="It has another type.")])
def is_bit_of_type(ctx: NodeContext) -> None:
    ctx.deactivate("yes")
    ctx.deactivate("no")
    bit = _bit(ctx)
    wanted = as_str(ctx.get("bit_type"), "bit_type")
    if wanted not in BIT_TYPES:
        raise NodeError(f"input 'bit_type': unknown Bit type {wanted!r}")
    ctx.set("bit_out", bit)
    ctx.activate("yes" if _type_of(bit) == wanted else "no")


@register("switch_on_bit", "Switch on Bit", "Bit", "Continues on the output named after the Bit's type.",
          [inp("exec_in", "Input", "Execution", description="Look at the Bit."),
           inp("bit", "Bit", "Struct", options={"enforce_schema": True}, description="The Bit."),
           *(out(name, friendly, "Execution", description=f"The Bit is of type {kind}.")
             for kind, (name, friendly) in BIT_TYPES.items()),
           out("bit_out", "Bit", "Struct", description="The Bit, passed through.")])
def switch_on_bit(ctx: NodeContext) -> None:
    for name, _ in BIT_TYPES.values():
        ctx.deactivate(name)
    bit = _bit(ctx)
    ctx.set("bit_out", bit)
    ctx.activate(BIT_TYPES[_type_of(bit)][0])
