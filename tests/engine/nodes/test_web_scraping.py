"""Web/Scraping: the link crawler against a small local site."""

from __future__ import annotations

import pytest

from engine_testkit import BoardBuilder
from http_testkit import LOCAL, QuietHandler, serve

PAGES = {
    "/": '<html><body><a href="/a">A</a> <a href="b">B</a> <a href="#top">top</a> <a href="mailto:x@y.z">m</a>'
         '<a href="javascript:void(0)">j</a> <a href="http://localhost:9/out">out</a> <a href="tel:123">t</a>'
         '<a>no href</a></body></html>',
    "/a": '<p><a href="/c">C</a><a href="/">home</a><a href="http://[::1">broken</a></p>',
    "/c": '<a href="/d?x=1">D</a>',
}


class Site(QuietHandler):
    """Serves PAGES as HTML; /b is plain text (not crawled); everything else is 404."""

    requested: list[str] = []

    def do_GET(self):
        Site.requested.append(self.path)
        if self.path in PAGES:
            self.reply(200, PAGES[self.path].encode(), "text/html; charset=utf-8")
        elif self.path == "/b":
            self.reply(200, b'<a href="/never">x</a>', "text/plain")
        else:
            self.reply(404, b"", "text/html")


@pytest.fixture(scope="module")
def site():
    with serve(Site) as url:
        yield url


def crawl(start: str, policy=LOCAL, **inputs):
    b = BoardBuilder()
    begin = b.add("events_simple")
    node = b.add("web_scrape_extract_links", starting_page=start, offset_ms=0, **inputs)
    ret = b.add("events_generic_return_result")
    b.chain(begin, node, ret)
    b.connect(node, "links", ret, "response")
    return b.run(begin, egress=policy)


def test_depth_one_collects_links_of_the_starting_page(site):
    """Depth 1 fetches only the starting page; anchors, mailto: and javascript: links are left out, the
    rest resolved against the page and returned sorted."""
    Site.requested.clear()
    result = crawl(site + "/")
    assert result.status == "completed", result.error
    assert result.result == sorted([site + "/a", site + "/b", "http://localhost:9/out", "tel:123"])
    assert Site.requested == ["/"]


def test_deeper_crawl_follows_html_pages_only(site):
    """Depth 3 follows links breadth first: /a and its /c; /b is not HTML so its links are not read;
    an unreachable host is skipped; each page is fetched once and the starting page is not a result."""
    Site.requested.clear()
    result = crawl(site + "/", depth=3)
    assert result.status == "completed", result.error
    assert set(result.result) == {site + "/a", site + "/b", site + "/c", site + "/d?x=1",
                                  "http://localhost:9/out", "tel:123"}  # not the starting page itself
    assert sorted(Site.requested) == ["/", "/a", "/b", "/c"]


def test_same_domain_keeps_the_host(site):
    """With Same Domain on, links to other hosts (and non-http links) are neither collected nor followed."""
    result = crawl(site + "/", same_domain=True, depth=2)
    assert result.result == sorted([site + "/a", site + "/b", site + "/c"])


def test_depth_zero_fetches_nothing(site):
    """Depth 0 (and negative depths) fetch nothing and give no links."""
    Site.requested.clear()
    assert crawl(site + "/", depth=-3).result == []
    assert Site.requested == []


@pytest.mark.parametrize("start,message", [("not a url", "input 'starting_page' must be an absolute http"),
                                           ("ftp://example.com/", "input 'starting_page' must be an absolute http"),
                                           ("http://[::1", "input 'starting_page' must be an absolute http"),
                                           ("http://127.0.0.1:9/", "HTTP request to")])
def test_bad_or_unreachable_starting_page_fails(start, message):
    """An invalid starting URL, or one that cannot be fetched, fails the node (it is not an empty result)."""
    result = crawl(start)
    assert result.reason == "node_error" and message in result.error["message"], result.error


def test_crawl_goes_through_the_egress_policy(site):
    """The default policy refuses the local site, and the node says so."""
    result = crawl(site + "/", policy=None)
    assert result.reason == "node_error" and "egress refused" in result.error["message"]


def test_bad_pin_types(site):
    """Wrong pin types fail naming the pin."""
    result = crawl(site + "/", depth="2")
    assert result.reason == "node_error" and "input 'depth'" in result.error["message"]
