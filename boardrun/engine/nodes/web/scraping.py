"""Web scraping: a breadth-first link crawler, fetching through the egress policy.

HTML is parsed with BeautifulSoup (Python's built-in parser backend), imported on first use.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit, urlunsplit

from ... import http_egress
from ...coerce import as_bool, as_int, as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


MAX_DEPTH = 40
# A crawl is bounded by the run's deadline; these also bound its memory and its load on others.
MAX_PAGES = 1_000
MAX_LINKS = 100_000
_SKIPPED_PREFIXES = ("#", "mailto:", "javascript:")


def _page_links(html: bytes, page_url: str) -> list[str]:
    from bs4 import BeautifulSoup

    links = []
    for anchor in BeautifulSoup(html, "html.parser").find_all("a", href=True):
        href = anchor["href"].strip()
        if href.startswith(_SKIPPED_PREFIXES):
            continue
        try:
            parts = urlsplit(urljoin(page_url, href))
        except ValueError:  # an href that is not a URL (e.g. an unclosed IPv6 bracket)
            continue
        if parts.scheme in ("http", "https") and not parts.path:
            parts = parts._replace(path="/")  # one spelling per page: 'http://a.example' is 'http://a.example/'
        links.append(urlunsplit(parts))
    return links


def _fetch_html(ctx: NodeContext, url: str) -> bytes | None:
    """The page's body if it is HTML; None for anything else (the page is then not crawled)."""
    reply = http_egress.send(ctx.egress, "GET", url, {"Accept": "text/html"}, None, ctx.time_left())
    if not reply.headers.get("content-type", "").startswith("text/html"):
        return None
    return reply.body


@register("web_scrape_extract_links", "Extract Links", "Web/Scraping",
          "Crawls from a page, following links breadth first up to a depth, and collects every link found.",
          [inp("exec_in", "Input", "Execution", description="Start crawling."),
           inp("starting_page", "Starting Page", "String", description="Absolute http or https URL."),
           inp("same_domain", "Same Domain", "Boolean", default=False,
               description="Only collect and follow links to the page's own host."),
           inp("offset_ms", "Delay (ms)", "Integer", default=1000, description="Pause before each page request."),
           inp("depth", "Depth", "Integer", default=1,
               description="1: links of the starting page; 2: also links of those pages; ... (at most 40)."),
           out("exec_out", "", "Execution", description="Fires when the crawl is done."),
           out("links", "Links", "String", "HashSet", description="Every distinct link found, sorted.")])
def web_scrape_extract_links(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    start = as_str(ctx.get("starting_page"), "starting_page")
    same_domain = as_bool(ctx.get("same_domain"), "same_domain")
    delay = max(0, as_int(ctx.get("offset_ms"), "offset_ms")) / 1000.0
    depth = min(max(0, as_int(ctx.get("depth"), "depth")), MAX_DEPTH)
    try:
        parts = urlsplit(start)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise NodeError(f"input 'starting_page' must be an absolute http or https URL, got '{start}'")

    visited = {start}
    links: set[str] = set()
    queue = deque([(start, depth)])
    pages = 0
    while queue and pages < MAX_PAGES and len(links) < MAX_LINKS:
        url, remaining = queue.popleft()
        if remaining == 0 or urlsplit(url).scheme not in ("http", "https"):
            continue
        ctx.sleep(delay)
        pages += 1
        try:
            html = _fetch_html(ctx, url)
        except NodeError as exc:
            if url == start:
                raise  # the starting page must be reachable; an unreachable link further on is skipped
            ctx.log("Debug", f"skipped {url}: {exc}")
            continue
        if html is None:
            continue
        host = urlsplit(url).hostname
        for link in _page_links(html, url):
            if link in visited:
                continue
            visited.add(link)
            if not same_domain or urlsplit(link).hostname == host:
                links.add(link)
                queue.append((link, remaining - 1))
    if queue and (pages >= MAX_PAGES or len(links) >= MAX_LINKS):
        ctx.log("Warn", f"crawl stopped after {pages} pages and {len(links)} links (the limits)")
    ctx.set("links", sorted(links))
    ctx.activate("exec_out")
