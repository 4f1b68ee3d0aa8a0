"""Utils/Markdown: HTML to Markdown, with skipped elements removed together with their content."""

from __future__ import annotations

from engine_testkit import BoardBuilder

PAGE = ("<html><head><style>p { color: red }</style><script>alert('x')</script></head><body>"
        "<h1>Title</h1><p>Hello <b>bold</b> and <a href='https://example.com'>a link</a>.</p>"
        "<ul><li>one</li><li>two</li></ul><pre><code>x = 1</code></pre><iframe>framed</iframe>"
        "<nav>menu</nav></body></html>")


def convert(**inputs):
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add("utils_md_html_to_md", **inputs)
    ret = b.add("events_generic_return_result")
    b.chain(start, node, ret)
    b.connect(node, "markdown", ret, "response")
    return b.run(start)


def test_html_to_markdown_with_default_skips():
    """Headings, emphasis, links, lists and code convert; script, style and iframe content is dropped."""
    result = convert(html=PAGE)
    assert result.status == "completed", result
    assert result.result == ("# Title\n\nHello **bold** and [a link](https://example.com).\n\n* one\n* two\n\n"
                             "```\nx = 1\n```\n\nmenu")


def test_html_to_markdown_with_custom_skips():
    """The skipped tag list replaces the default (names in any case): nav is dropped, iframe text is kept."""
    result = convert(html=PAGE, skipped_tags=["NAV"])
    assert result.status == "completed", result
    assert "menu" not in result.result and result.result.endswith("framed")


def test_html_to_markdown_rejects_bad_inputs():
    """A non-string html or a tag list with non-strings fails the node, naming the pin."""
    assert "input 'html' must be a string" in convert(html=3).error["message"]
    assert "input 'skipped_tags' must be a string" in convert(html="<p>x</p>", skipped_tags=[1]).error["message"]
