"""Utils/Markdown: converting HTML to Markdown."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...coerce import as_list, as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


@register("utils_md_html_to_md", "HTML to Markdown", "Utils/Markdown",
          "Converts HTML to Markdown, dropping the listed elements together with their content.",
          [inp("exec_in", "Input", "Execution", description="Convert."),
           inp("html", "Html", "String", description="The HTML."),
           inp("skipped_tags", "Tags", "String", "Array", default=["script", "style", "iframe"],
               description="Elements to leave out entirely, by tag name."),
           out("exec_out", "Output", "Execution", description="Fires after converting."),
           out("markdown", "Markdown", "String", description="The Markdown text.")])
def utils_md_html_to_md(ctx: NodeContext) -> None:
    from bs4 import BeautifulSoup
    from markdownify import MarkdownConverter

    ctx.deactivate("exec_out")
    html = as_str(ctx.get("html"), "html")
    skipped = [as_str(tag, "skipped_tags").lower() for tag in as_list(ctx.get("skipped_tags"), "skipped_tags")]
    soup = BeautifulSoup(html, "html.parser")
    for element in soup.find_all(skipped) if skipped else ():
        element.decompose()
    # Flow-Like's converter (htmd) writes ATX headings, '*' bullets and fenced code blocks.
    converter = MarkdownConverter(heading_style="ATX", bullets="*", code_language="", escape_misc=False)
    try:
        markdown = converter.convert_soup(soup)
    except RecursionError:
        raise NodeError("input 'html' is nested too deeply to convert") from None
    ctx.set("markdown", markdown.strip())
    ctx.activate("exec_out")
