"""Text formatting, templates and comparisons."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from ...coerce import as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]+)\}")


def _display(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)


@register("string_format", "Format String", "Utils/String",
          "Fills '{name}' placeholders from inputs named after them (the editor adds one per placeholder).",
          [inp("format_string", "Input", "String", description="Text with {placeholders}."),
           out("formatted_string", "Formatted", "String", description="The filled-in text.")],
          extra_inputs=True)
def string_format(ctx: NodeContext) -> None:
    template = as_str(ctx.get("format_string"), "format_string")
    replacements = {}
    for name in dict.fromkeys(_PLACEHOLDER.findall(template)):
        if not ctx.has_input(name):
            raise NodeError(f"placeholder '{{{name}}}' has no input pin of that name")
        replacements[name] = _display(ctx.get(name))
    ctx.set("formatted_string", _PLACEHOLDER.sub(lambda m: replacements[m.group(1)], template))


@register("string_render_template", "Render Template", "Utils/String",
          "Renders a Jinja template; each template variable comes from an input of the same name.",
          [inp("template", "Template", "String", description="Jinja template text."),
           out("rendered", "Rendered", "String", description="The rendered text.")],
          extra_inputs=True)
def string_render_template(ctx: NodeContext) -> None:
    # Imported here to keep importing the engine cheap. The sandbox keeps board-authored
    # templates away from Python internals.
    from jinja2 import TemplateError, meta
    from jinja2.sandbox import SandboxedEnvironment

    source = as_str(ctx.get("template"), "template")
    env = SandboxedEnvironment(autoescape=False)
    try:
        names = meta.find_undeclared_variables(env.parse(source))
        context = {}
        for name in sorted(names):
            if not ctx.has_input(name):
                raise NodeError(f"template variable '{name}' has no input pin of that name")
            context[name] = ctx.get(name)
        rendered = env.from_string(source).render(context)
    except TemplateError as exc:
        raise NodeError(f"template error: {exc}") from None
    ctx.set("rendered", rendered)


@register("string_contains", "Contains", "Utils/String", "Checks whether a text contains another text.",
          [inp("string", "String", "String", description="The text to search."),
           inp("substring", "Substring", "String", description="The text to look for (case-sensitive)."),
           out("contains", "Contains?", "Boolean", description="Whether it was found.")])
def string_contains(ctx: NodeContext) -> None:
    haystack = ctx.get("string")
    needle = as_str(ctx.get("substring"), "substring")
    ctx.set("contains", isinstance(haystack, str) and needle in haystack)


@register("equal_string", "==", "Utils/String", "Checks whether all its texts are exactly the same.",
          [inp("string", "String", "String", description="A text to compare."),
           inp("string", "String", "String", description="A text to compare."),
           out("equal", "Is Equal?", "Boolean", description="Whether all texts are identical.")],
          repeatable={"string"})
def equal_string(ctx: NodeContext) -> None:
    texts = [as_str(value, "string") for value in ctx.get_each("string")]
    ctx.set("equal", all(text == texts[0] for text in texts))
