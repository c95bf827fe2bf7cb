"""Add by site URL: the URL itself, <link rel="alternate">, common paths, and NoFeedFound."""

from __future__ import annotations

import pytest
from feedserver import CORPUS, feed_server  # noqa: F401 - fixture

from app.errors import FetchFailed, NoFeedFound
from app.sync.discover import alternates, discover


def test_a_feed_url_is_itself(feed_server):
    feed_server.file("/manton.rss", CORPUS / "manton.rss")
    assert discover(feed_server.url("/manton.rss")) == [(feed_server.url("/manton.rss"), "Manton Reece")]
    feed_server.file("/feed.json", CORPUS / "curt.json")
    assert discover(feed_server.url("/feed.json")) == [(feed_server.url("/feed.json"), "curtclifton.net")]


def test_a_permanently_moved_feed_gives_its_new_address(feed_server):
    feed_server.file("/new.rss", CORPUS / "manton.rss")
    feed_server.redirect("/old.rss", "/new.rss", status=301)
    assert discover(feed_server.url("/old.rss"))[0][0] == feed_server.url("/new.rss")


def test_page_alternates_in_page_order_resolved_against_the_page(feed_server):
    feed_server.file("/2017/coco.html", CORPUS / "coco.html")  # relative hrefs: /feed/all/, /feed/best-of/
    found = discover(feed_server.url("/2017/coco.html"))
    assert found == [(feed_server.url("/feed/all/"), "The Atlantic"),
                     (feed_server.url("/feed/best-of/"), "Best of The Atlantic")]


def test_youtube_page_alternate():
    body = (CORPUS / "YouTubeTheVolvoRocks.html").read_bytes()
    found = alternates(body, "https://www.youtube.com/user/TheVolvorocks")
    assert found == [("https://www.youtube.com/feeds/videos.xml?channel_id=UCct7QF2jcWRY6dhXWMSq9LQ", "RSS")]


def test_base_href_and_json_feed_links():
    body = b"""<html><head><title>My &amp; Site</title><base href="https://cdn.example/sub/">
    <link rel="alternate" type="application/feed+json" href="feed.json">
    <link rel="Alternate" type="application/atom+xml" title="Atom" href="https://example.com/atom">
    <link rel="alternate" type="text/html" href="/other.html">
    <link rel="stylesheet" type="application/rss+xml" href="/nope"></head></html>"""
    assert alternates(body, "https://example.com/") == [
        ("https://cdn.example/sub/feed.json", "My & Site"), ("https://example.com/atom", "Atom")]


def test_common_paths_as_fallback(feed_server):
    feed_server.route("/", body=b"<html><head><title>No links</title></head><body>hi</body></html>",
                      content_type="text/html")
    feed_server.file("/index.xml", CORPUS / "rubenerd.rss")
    feed_server.file("/feed.json", CORPUS / "pxlnv.json")
    found = discover(feed_server.url("/"))
    assert found == [(feed_server.url("/index.xml"), "Rubenerd"), (feed_server.url("/feed.json"), "Pixel Envy")]


def test_no_feed_found(feed_server):
    feed_server.route("/", body=b"<html><body>nothing</body></html>", content_type="text/html")
    with pytest.raises(NoFeedFound, match="No feed found"):
        discover(feed_server.url("/"))
    with pytest.raises(NoFeedFound, match="HTTP 404"):
        discover(feed_server.url("/missing"))


def test_unreachable_site_says_so(feed_server):
    with pytest.raises(FetchFailed, match="Could not find the server"):
        discover("http://no-such-site.invalid/")


def test_feed_scheme_urls(feed_server):
    from app.sync.discover import normalize

    assert normalize(" feed://example.com/rss ") == "http://example.com/rss"
    assert normalize("feed:https://example.com/rss") == "https://example.com/rss"
    feed_server.file("/rss", CORPUS / "manton.rss")
    url = feed_server.url("/rss")
    assert discover(url.replace("http://", "feed://"))[0] == (url, "Manton Reece")
