"""Add by site URL: is the address a feed? Else the feeds a page advertises with
<link rel="alternate">; else the common feed paths on the site."""

from __future__ import annotations

import asyncio
import threading
from urllib.parse import urlsplit

from app import urls
from app.errors import FeedError, FetchFailed, NoFeedFound, NotAFeed
from app.sync.fetch import FEED_ACCEPT, Fetcher
from app.sync.parse import feed_title, plain, sniff

FEED_TYPES = {
    "application/rss+xml", "application/atom+xml", "application/feed+json", "application/json",
    "application/rdf+xml", "application/x-rss+xml", "application/x-atom+xml", "text/xml", "application/xml",
}
COMMON_PATHS = ("/feed", "/rss", "/atom.xml", "/feed.xml", "/index.xml", "/rss.xml", "/feed.json")


def discover(url: str, transport=None, *, timeout: float = 20.0) -> list[tuple[str, str]]:
    """[(feed_url, title)], best first. Raises NoFeedFound, or FetchFailed when the site cannot be reached."""
    coro = _discover(normalize(url), transport, timeout)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    # Called from inside a running loop: run ours in a helper thread.
    box: dict = {}

    def runner():
        try:
            box["v"] = asyncio.run(coro)
        except BaseException as e:  # noqa: BLE001 - re-raised below
            box["e"] = e

    t = threading.Thread(target=runner, daemon=True)
    t.start()
    t.join()
    if "e" in box:
        raise box["e"]
    return box["v"]


def normalize(url: str) -> str:
    """feed://host/x and feed:https://host/x (old browser links) -> http(s) URLs."""
    url = url.strip()
    low = url.lower()
    if low.startswith("feed:"):
        rest = url[5:]
        if rest.lower().startswith(("http://", "https://")):
            return rest
        return "http:" + rest if rest.startswith("//") else "http://" + rest
    return url


async def _discover(url: str, transport, timeout: float) -> list[tuple[str, str]]:
    async with Fetcher(transport, concurrency=8, per_host=4, read_timeout=timeout, deadline=2 * timeout) as f:
        page_error: FeedError | None = None
        try:
            resp = await f.get(url, accept=FEED_ACCEPT + ", text/html;q=0.7")
        except FetchFailed as e:
            if not e.answered:
                raise  # cannot reach the site at all: say so, not "no feed"
            page_error = e
            resp = None
        except FeedError as e:
            page_error = e
            resp = None
        found: list[tuple[str, str]] = []
        if resp is not None:
            base = resp.url
            kind = sniff(resp.body, resp.content_type)
            if kind in ("xml", "json", "unknown"):
                try:
                    title = await asyncio.to_thread(feed_title, resp.body, base, resp.content_type)
                    feed_url = resp.permanent_url or url
                    return [(feed_url, title or feed_url)]
                except NotAFeed:
                    pass
            if kind in ("html", "unknown", "xml"):
                found = alternates(resp.body, base)
            if found:
                return found
        origin = _origin(resp.url if resp is not None else url)
        if origin:
            candidates = [origin + p for p in COMMON_PATHS]
            results = await asyncio.gather(*(_try_feed(f, c) for c in candidates))
            seen = set()
            for r in results:
                if r and r[0] not in seen:
                    seen.add(r[0])
                    found.append(r)
        if found:
            return found
        why = f" {page_error}" if page_error else ""
        raise NoFeedFound(f"No feed found at {url}.{why}")


async def _try_feed(f: Fetcher, url: str) -> tuple[str, str] | None:
    try:
        resp = await f.get(url)
        title = await asyncio.to_thread(feed_title, resp.body, resp.url, resp.content_type)
    except FeedError:
        return None
    feed_url = resp.permanent_url or url
    return feed_url, title or feed_url


def _origin(url: str) -> str | None:
    try:
        p = urlsplit(url)
    except ValueError:
        return None
    if p.scheme in ("http", "https") and p.netloc:
        return f"{p.scheme}://{p.netloc}"
    return None


def alternates(body: bytes, base_url: str) -> list[tuple[str, str]]:
    """Feeds a page advertises with <link rel="alternate" type="...feed type...">, in page order."""
    from lxml import etree, html

    try:
        parser = html.HTMLParser(no_network=True, remove_comments=True, remove_pis=True)
        doc = html.document_fromstring(body[:2_000_000], parser=parser)
    except (etree.ParserError, ValueError, etree.XMLSyntaxError):
        return []
    base_el = doc.find(".//base[@href]")
    base = (urls.join(base_url, base_el.get("href")) if base_el is not None else None) or base_url
    page_title = plain(doc.findtext(".//title") or "")
    out: list[tuple[str, str]] = []
    seen = set()
    for link in doc.iter("link", "a"):
        rel = (link.get("rel") or "").lower().split()
        ctype = (link.get("type") or "").split(";")[0].strip().lower()
        href = (link.get("href") or "").strip()
        if "alternate" not in rel or ctype not in FEED_TYPES or not href:
            continue
        feed_url = urls.join(base, href)  # a malformed link is skipped, not a crash
        if not feed_url or feed_url in seen:
            continue
        seen.add(feed_url)
        out.append((feed_url, plain(link.get("title")) or page_title or feed_url))
    return out
