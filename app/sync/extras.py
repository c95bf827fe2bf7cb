"""Offline extras, per feed, after its entries are stored: the article page's main text for
teaser entries (trafilatura), and the images an article shows, into a local cache.

Network work runs on the event loop (same client, caps and timeouts as feeds); CPU work
(extraction) and store writes run in the sync's single worker thread.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from app import urls
from app.errors import BadAddress, FeedError, FeedGone, FetchFailed, TooLarge
from app.html import html_to_text, sanitize
from app.sync.fetch import IMAGE_ACCEPT, IMAGE_MAX_BYTES, PAGE_ACCEPT, PAGE_MAX_BYTES, Fetcher
from app.sync.parse import charset_of

log = logging.getLogger(__name__)

from app.sync.decide import MAX_IMAGES_PER_ARTICLE  # noqa: E402,F401 - decided there

# Image types we cache, with their file extension. No SVG: it can carry scripts.
IMAGE_TYPES = {
    "image/jpeg": "jpg", "image/jpg": "jpg", "image/pjpeg": "jpg", "image/png": "png", "image/gif": "gif",
    "image/webp": "webp", "image/avif": "avif", "image/bmp": "bmp", "image/x-icon": "ico",
    "image/vnd.microsoft.icon": "ico", "image/apng": "png",
}


EXTRACT_MAX_BYTES = 1024 * 1024  # trafilatura takes ~2.5 s per MB of dense text: bound the worst case


def _strip_blocks(body: bytes, tags: tuple[bytes, ...] = (b"script", b"style", b"svg")) -> bytes:
    """Drop <script>, <style> and <svg> elements (linear time, unlike a regex on hostile input)."""
    for tag in tags:
        low = body.lower()
        out, pos = [], 0
        while True:
            start = low.find(b"<" + tag, pos)
            if start < 0:
                break
            close = low.find(b"</" + tag, start)
            if close < 0:
                break
            end = low.find(b">", close)
            end = len(body) if end < 0 else end + 1
            out.append(body[pos:start])
            pos = end
        if out:
            out.append(body[pos:])
            body = b"".join(out)
    return body


def extract(body: bytes, url: str, content_type: str | None) -> tuple[str, str] | None:
    """(plain text, sanitised HTML) of a page's main text, or None."""
    import trafilatura

    if len(body) > EXTRACT_MAX_BYTES:
        body = _strip_blocks(body)  # pages are big mostly by inline scripts, styles and SVG
        body = body[:EXTRACT_MAX_BYTES]
    source: str | bytes = body
    charset = charset_of(content_type)
    if charset:
        try:
            source = body.decode(charset, errors="replace")
        except LookupError:
            source = body
    try:
        html = trafilatura.extract(source, url=url, output_format="html", include_images=True,
                                   include_links=True, include_comments=False, fast=True)
    except Exception:  # noqa: BLE001 - a page trafilatura cannot read is just a page without text
        log.debug("trafilatura failed on %s", url, exc_info=True)
        return None
    if not html:
        return None
    clean = sanitize(html, url)
    text = html_to_text(clean)
    if not text.strip():
        return None
    return text, clean


async def fetch_page(fetcher: Fetcher, url: str) -> tuple[bytes, str, str | None] | None:
    """(body, final url, content type) of an HTML page; None if it is not HTML or not there.
    Raises FeedError only for failures worth retrying at the next sync (network, timeouts)."""
    try:
        resp = await fetcher.get(url, max_bytes=PAGE_MAX_BYTES, accept=PAGE_ACCEPT, what="page",
                                 content_types=("text/html", "application/xhtml"))
    except (FeedGone, TooLarge, BadAddress):
        return None
    except FetchFailed as e:
        if e.answered:
            return None  # the site answered (an error, not a page): no point asking again
        raise  # the network failed: the page stays pending for the next sync
    return resp.body, resp.url, resp.content_type or ""


def image_relpath(url: str, ext: str) -> str:
    h = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{h[:2]}/{h}.{ext}"


async def fetch_image(fetcher: Fetcher, url: str, image_dir: Path) -> tuple[str | None, str | None, int | None, str | None]:
    """Download one image into the cache: (relpath, type, size, error)."""
    if urls.valid(url) is None:  # checked here too: a bad address costs this image only
        return None, None, None, "The image address is not a valid http(s) address."
    try:
        resp = await fetcher.get(url, max_bytes=IMAGE_MAX_BYTES, accept=IMAGE_ACCEPT, what="image",
                                 content_types=("image/",))
    except FeedError as e:
        return None, None, None, str(e)
    ctype = (resp.content_type or "").split(";")[0].strip().lower()
    ext = IMAGE_TYPES.get(ctype)
    if ext is None:
        return None, ctype, len(resp.body), f"Image type {ctype or 'unknown'} is not cached."
    if not resp.body:
        return None, ctype, 0, "The image was empty."
    rel = image_relpath(url, ext)
    path = image_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(tmp, "wb") as f:
            f.write(resp.body)
        os.replace(tmp, path)  # atomic: a killed sync leaves at most a .part file, never a torn image
    except OSError as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        return None, ctype, len(resp.body), f"Could not save the image ({e.strerror or e})."
    return rel, ctype, len(resp.body), None
