"""Offline extras, per feed, after its entries are stored: the article page's main text for
teaser entries (trafilatura, with the page's figures and captions put back: keep_figures), the
images an article shows, and the feed's icon, into a local cache.

Network work runs on the event loop (same client, caps and timeouts as feeds); CPU work
(extraction) and store writes run in the sync's single worker thread.
"""

from __future__ import annotations

import hashlib
import html as _html
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

from app import urls
from app.errors import FeedError
from app.html import html_to_text, sanitize
from app.sync.fetch import IMAGE_ACCEPT, IMAGE_MAX_BYTES, PAGE_ACCEPT, PAGE_MAX_BYTES, Fetcher
from app.sync.parse import charset_of

log = logging.getLogger(__name__)

from app.sync.decide import MAX_IMAGES_PER_ARTICLE, is_permanent  # noqa: E402,F401 - decided there

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
    if b"<figure" in body or b"<FIGURE" in body:
        html = keep_figures(html, source, url)
    clean = sanitize(html, url)
    text = html_to_text(clean)
    if not text.strip():
        return None
    return text, clean


# --- figures: trafilatura keeps a figure's image at best, never its caption -------------------------

MAX_FIGURES = 60
_BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "dd", "dt")
_LAZY_SRC = ("src", "data-src", "data-lazy-src", "data-original", "data-srcset", "srcset")


def _words(el) -> str:
    return " ".join("".join(el.itertext()).split())


def _figures(source: str | bytes, url: str) -> list[tuple[list[str], str, str, str]]:
    """The page's image figures, in order: (image addresses, alt text, caption, anchor). `anchor`:
    the end of the text just before the figure, to find its place in the extracted text."""
    import lxml.html

    doc = lxml.html.document_fromstring(source)
    out = []
    last = ""
    for el in doc.iter(*_BLOCKS, "figure"):
        if el.tag != "figure":
            if next(el.iterancestors("figure"), None) is None:
                last = _words(el) or last
            continue
        img = next(el.iter("img"), None)
        if img is None:
            continue
        srcs = []
        for attr in _LAZY_SRC:
            v = (img.get(attr) or "").strip()
            v = v.split(",")[0].split()[0] if v and attr.endswith("srcset") else v
            good = urls.join(url, v) if v else None
            if good and good not in srcs:
                srcs.append(good)
        cap = el.find(".//figcaption")
        caption = _words(cap)[:1000] if cap is not None else ""
        if srcs:
            out.append((srcs, img.get("alt") or "", caption, last[-80:]))
        if len(out) >= MAX_FIGURES:
            break
    return out


def keep_figures(html: str, source: str | bytes, url: str) -> str:
    """trafilatura's HTML with the page's figures restored: an image it kept gets its <figcaption>
    back; an image it dropped is put back after the paragraph it followed on the page (when that
    paragraph is in the extract). Anything unexpected leaves the extract as it was."""
    import lxml.html
    from lxml import etree

    try:
        figures = _figures(source, url)
        if not figures:
            return html
        tree = lxml.html.document_fromstring(html)
        body = tree.find("body")
        if body is None:
            return html
        text = _words(body)
        by_src = {}
        for img in body.iter("img"):
            src = urls.join(url, (img.get("src") or "").strip())
            if src:
                by_src.setdefault(src, img)
        blocks = [(b, _words(b)) for b in body.iter(*_BLOCKS)]  # once: a figure looks its anchor up here
        changed = False
        for srcs, alt, caption, anchor in figures:
            img = next((by_src[s] for s in srcs if s in by_src), None)
            if img is not None and next(img.iterancestors("figure"), None) is not None:
                continue
            fig = etree.Element("figure")
            if img is not None:  # kept by trafilatura: wrap it where it is
                parent = img.getparent()
                if parent.tag == "p" and not _words(parent) and len(parent) == 1:
                    img, parent = parent, parent.getparent()  # a <p> holding only the image: replaced
                tail, img.tail = img.tail, None
                parent.replace(img, fig)
                fig.append(img if img.tag == "img" else img[0])
                fig.tail = tail
            else:  # dropped: back after the block it followed, if that block is in the extract
                if not anchor:
                    continue
                after = next((b for b, words in blocks if words.endswith(anchor)), None)
                if after is None:
                    continue
                while after.getparent() is not body:
                    after = after.getparent()
                etree.SubElement(fig, "img", src=srcs[0], alt=alt)
                after.addnext(fig)
            if caption and caption not in text:
                etree.SubElement(fig, "figcaption").text = caption
            changed = True
        return etree.tostring(body, encoding="unicode", method="html") if changed else html
    except Exception:  # noqa: BLE001 - the extract without figures is still the article
        log.debug("restoring figures failed on %s", url, exc_info=True)
        return html


async def fetch_page(fetcher: Fetcher, url: str) -> tuple[bytes, str, str | None]:
    """(body, final url, content type) of an HTML page. Raises a FeedError saying why not;
    app.sync.decide.is_permanent tells whether asking again later may help."""
    resp = await fetcher.get(url, max_bytes=PAGE_MAX_BYTES, accept=PAGE_ACCEPT, what="page",
                             content_types=("text/html", "application/xhtml"))
    return resp.body, resp.url, resp.content_type or ""


def image_relpath(url: str, ext: str) -> str:
    h = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{h[:2]}/{h}.{ext}"


async def fetch_image(fetcher: Fetcher, url: str,
                      image_dir: Path) -> tuple[str | None, str | None, int | None, str | None, bool]:
    """Download one image into the cache: (relpath, type, size, error, may_pass). `may_pass`: the
    failure may pass (the network, a server error): worth another try later."""
    if urls.valid(url) is None:  # checked here too: a bad address costs this image only
        return None, None, None, "The image address is not a valid http(s) address.", False
    try:
        resp = await fetcher.get(url, max_bytes=IMAGE_MAX_BYTES, accept=IMAGE_ACCEPT, what="image",
                                 content_types=("image/",))
    except FeedError as e:
        return None, None, None, str(e), not is_permanent(e)
    ctype = (resp.content_type or "").split(";")[0].strip().lower()
    ext = IMAGE_TYPES.get(ctype)
    if ext is None:
        return None, ctype, len(resp.body), f"Image type {ctype or 'unknown'} is not cached.", False
    if not resp.body:
        return None, ctype, 0, "The image was empty.", False
    rel = image_relpath(url, ext)
    error = _save(image_dir / rel, resp.body)
    if error:
        return None, ctype, len(resp.body), f"Could not save the image ({error}).", True
    return rel, ctype, len(resp.body), None, False


def _save(path: Path, body: bytes) -> str | None:
    """Write `body` to `path` atomically (a killed sync leaves at most a .part file, never a torn
    image); the OS's reason when it could not."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(tmp, "wb") as f:
            f.write(body)
        os.replace(tmp, path)
    except OSError as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        return e.strerror or str(e)
    return None


# --- feed icons ------------------------------------------------------------------------------------

ICON_MAX_BYTES = 256 * 1024  # favicons are a few KB; an apple-touch-icon some tens
ICON_PAGE_MAX_BYTES = 2 * 1024 * 1024  # the site's home page, read for its <link rel="icon">
ICON_ACCEPT = "image/png, image/x-icon, image/vnd.microsoft.icon, image/gif, image/jpeg, image/webp, image/*;q=0.8"
# What an icon file starts with: a server's Content-Type for /favicon.ico is often wrong (text/plain,
# application/octet-stream), so the bytes decide. No SVG (it can carry scripts).
_ICON_MAGIC = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\x00\x00\x01\x00", "ico"), (b"GIF87a", "gif"), (b"GIF89a", "gif"),
               (b"\xff\xd8\xff", "jpg"), (b"BM", "bmp"))
_LINK_TAG = re.compile(rb"<link\b[^>]{0,2000}>", re.I)
_REL = re.compile(rb"""\brel\s*=\s*["']?([^"'>]*)""", re.I)
_HREF = re.compile(rb"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I)


def icon_type(body: bytes) -> str | None:
    """The file extension of an icon, from its first bytes; None when it is no image we cache."""
    for magic, ext in _ICON_MAGIC:
        if body.startswith(magic):
            return ext
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "webp"
    return None


def icon_links(page: bytes, base: str) -> list[str]:
    """The icons a page's <head> names (rel="icon", "shortcut icon", "apple-touch-icon"), absolute,
    smallest kind first. Only the first 256 KB are looked at (the head is at the top)."""
    head = page[:256 * 1024]
    end = head.lower().find(b"</head")
    if end > 0:
        head = head[:end]
    found: list[tuple[int, str]] = []
    for m in _LINK_TAG.finditer(head):
        tag = m.group(0)
        rel = _REL.search(tag)
        href = _HREF.search(tag)
        if not rel or not href:
            continue
        kinds = rel.group(1).decode("latin-1").lower().split()
        if "icon" not in kinds and "apple-touch-icon" not in kinds:
            continue
        raw = next(g for g in href.groups() if g is not None).decode("utf-8", "replace")
        url = urls.join(base, _html.unescape(raw).strip())
        if url:
            found.append((0 if "icon" in kinds else 1, url))
    return list(dict.fromkeys(u for _, u in sorted(found, key=lambda x: x[0])))


async def _icon_at(fetcher: Fetcher, url: str, image_dir: Path) -> str | None:
    """Cache the icon at `url`: its relative path, or None (any failure: an icon is never worth one)."""
    try:
        resp = await fetcher.get(url, max_bytes=ICON_MAX_BYTES, accept=ICON_ACCEPT, what="icon")
    except FeedError:
        return None
    ext = icon_type(resp.body)
    if ext is None:
        return None
    rel = "icons/" + image_relpath(url, ext)
    return None if _save(image_dir / rel, resp.body) else rel


async def fetch_icon(fetcher: Fetcher, known: Sequence[str | None], site_url: str | None, feed_url: str,
                     image_dir: Path) -> tuple[str, str] | None:
    """The feed's icon into the cache: (its path relative to `image_dir`, the address it came from),
    or None. Tried in order: the `known` addresses (the feed's own icon: Atom icon/logo, RSS image,
    JSON Feed favicon/icon; where the last one came from), the site's <link rel="icon">, and
    /favicon.ico at the site's root."""
    for url in dict.fromkeys(u for u in known if u and urls.valid(u)):
        got = await _icon_at(fetcher, url, image_dir)
        if got:
            return got, url
    site = urls.valid(site_url) if site_url else None
    site = site or urls.join(feed_url, "/")
    if not site:
        return None
    try:
        page = await fetcher.get(site, max_bytes=ICON_PAGE_MAX_BYTES, accept=PAGE_ACCEPT, what="page",
                                 content_types=("text/html", "application/xhtml"))
        candidates = icon_links(page.body, page.url)[:3]
    except FeedError:
        candidates = []
    for url in [*candidates, urls.join(site, "/favicon.ico")]:
        if url:
            got = await _icon_at(fetcher, url, image_dir)
            if got:
                return got, url
    return None
