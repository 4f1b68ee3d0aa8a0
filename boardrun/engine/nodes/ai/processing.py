"""AI/Processing: keyword extraction and PII masking by a model (forced native tool calls)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...coerce import as_int, as_str
from ...errors import NodeError
from ...registry import inp, out, register
from .generative import MODEL_IN, _exec_in, _exec_out, _forced_call, _one_shot

if TYPE_CHECKING:
    from ...runtime import NodeContext


def _strings(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise NodeError(f"the model's {what} are not a list of strings")
    return value


@register("ai_processing_ai_keyword_extraction", "AI Keywords", "AI/Processing",
          "Has the model pick the most relevant keywords and key phrases of a text.",
          [_exec_in(), MODEL_IN, inp("text", "Text", "String", default="", description="The text."),
           inp("max_keywords", "Max Keywords", "Integer", default=10, description="At most this many (1 to 100)."),
           inp("context", "Context", "String", default="", description="Extra instructions (optional)."),
           _exec_out(), out("keywords", "Keywords", "String", "HashSet", description="The keywords, each once.")],
          long_running=True)
def ai_processing_ai_keyword_extraction(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    text = as_str(ctx.get("text"), "text")
    limit = min(100, max(1, as_int(ctx.get("max_keywords"), "max_keywords")))
    extra = as_str(ctx.get("context"), "context").strip()
    system = (f"List up to {limit} keywords or short key phrases that best describe the user's text: key "
              "concepts, domain terms and named entities. Answer only by calling 'submit_keywords'.")
    if extra:
        system += f"\n\nAlso: {extra}"
    tool = {"type": "function", "function": {"name": "submit_keywords", "description": "Submit the keywords.",
                                             "parameters": {"type": "object", "required": ["keywords"], "properties": {
                                                 "keywords": {"type": "array", "items": {"type": "string"}}}}}}
    keywords = _strings(_forced_call(ctx, _one_shot(system, text), tool).get("keywords"), "keywords")
    unique = list(dict.fromkeys(k.strip() for k in keywords if k.strip()))
    ctx.set("keywords", unique[:limit])
    ctx.activate("exec_out")


_SENSITIVITY = {
    "low": "Report only direct identifiers: names, e-mail addresses, phone numbers, government and account numbers.",
    "medium": "Report direct identifiers and addresses, dates of birth, IP addresses and other personal details.",
    "high": "Report everything that could identify a person, directly or combined with other details.",
}


@register("processing_pii_mask_ai", "PII Mask (AI)", "AI/Processing",
          "Has the model find personal data in a text, then replaces every occurrence with the mask text.",
          [_exec_in(), MODEL_IN, inp("text", "Text", "String", default="", description="The text."),
           inp("mask_text", "Mask Text", "String", default="[REDACTED]", description="What replaces the personal data."),
           inp("additional_context", "Context", "String", default="", description="Extra instructions (optional)."),
           inp("sensitivity", "Sensitivity", "String", default="medium", options={"valid_values": ["low", "medium", "high"]},
               description="How much counts as personal data."),
           _exec_out(), out("masked_text", "Masked Text", "String", description="The text with the data masked."),
           out("detection_count", "Detection Count", "Integer", description="How many findings were masked."),
           out("detections", "Detections", "Struct", description="The findings: pii_type, original, context.")],
          long_running=True)
def processing_pii_mask_ai(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    text = as_str(ctx.get("text"), "text")
    mask = as_str(ctx.get("mask_text"), "mask_text")
    level = as_str(ctx.get("sensitivity"), "sensitivity")
    if level not in _SENSITIVITY:
        raise NodeError(f"input 'sensitivity' must be low, medium or high, got {level!r}")
    system = ("Find the personal data (PII) in the user's text and answer only by calling 'report_pii', quoting "
              f"each finding exactly as it appears. {_SENSITIVITY[level]}")
    extra = as_str(ctx.get("additional_context"), "additional_context").strip()
    if extra:
        system += f"\n\nAlso: {extra}"
    tool = {"type": "function", "function": {"name": "report_pii", "description": "Report the personal data found.",
                                             "parameters": {"type": "object", "required": ["detections"], "properties": {
                                                 "detections": {"type": "array", "items": {
                                                     "type": "object", "required": ["pii_type", "original"],
                                                     "properties": {"pii_type": {"type": "string"},
                                                                    "original": {"type": "string"},
                                                                    "context": {"type": "string"}}}}}}}}
    found = _forced_call(ctx, _one_shot(system, text), tool).get("detections")
    if not isinstance(found, list) or not all(
            isinstance(d, dict) and isinstance(d.get("pii_type"), str) and isinstance(d.get("original"), str)
            for d in found):
        raise NodeError("the model's PII findings are not a list of {pii_type, original}")
    # Only what really occurs in the text counts; the masking is done here, not by the model.
    detections = [{"pii_type": d["pii_type"], "original": d["original"],
                   "context": d.get("context") if isinstance(d.get("context"), str) else None}
                  for d in found if d["original"] and d["original"] in text]
    masked = text
    for original in sorted({d["original"] for d in detections}, key=len, reverse=True):
        masked = masked.replace(original, mask)
    ctx.set("masked_text", masked)
    ctx.set("detection_count", len(detections))
    ctx.set("detections", detections)
    ctx.activate("exec_out")
