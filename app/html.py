"""HTML from feeds and pages: sanitise once on the way in, turn into plain text for search and digests.

Sanitising uses nh3 (the Ammonia sanitiser): no scripts, styles, forms, frames or event handlers;
only http(s)/mailto links. What the reader may *load* (images from the local cache only) is decided
again at render time in the UI.
"""

from __future__ import annotations

import html as _html
import re

import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "details", "dfn",
    "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong",
    "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "time": {"datetime"},
    "q": {"cite"},
    "blockquote": {"cite"},
}


def sanitize(fragment: str, base_url: str | None = None) -> str:
    """Return `fragment` with everything unsafe removed and relative links made absolute."""
    if not fragment:
        return ""
    if base_url:
        fragment = _absolutize(fragment, base_url)
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


_URL_ATTR = re.compile(r"""(\s(?:href|src)\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def _absolutize(fragment: str, base_url: str) -> str:
    from urllib.parse import urljoin

    def fix(m: re.Match) -> str:
        url = _html.unescape(m.group(3)).strip()
        if not url or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url) or url.startswith("#"):
            return m.group(0)
        return f"{m.group(1)}{m.group(2)}{_html.escape(urljoin(base_url, url), quote=True)}{m.group(2)}"

    return _URL_ATTR.sub(fix, fragment)


_BLOCK_END = re.compile(r"<\s*(?:br\s*/?|/p|/div|/li|/h[1-6]|/blockquote|/tr|/pre|/figure)\s*>", re.I)
_TAG = re.compile(r"<[^>]*>")



def html_to_text(fragment: str) -> str:
    """Plain text of sanitised HTML: paragraphs become blank-line separated. Fast (regex, no DOM):
    it runs for every stored article, inside sync."""
    if not fragment:
        return ""
    text = _BLOCK_END.sub("\n\n", fragment)
    text = _TAG.sub("", text)
    text = _html.unescape(text)
    out: list[str] = []
    for line in text.split("\n"):
        # str.split() collapses whitespace (incl. no-break spaces) in C: 10x faster than a regex here.
        # Most lines need nothing: printable (so no whitespace but " "), no "  ", no space at either end.
        if not (line.isprintable() and "  " not in line and line[:1] != " " and line[-1:] != " "):
            line = " ".join(line.split())
        if line:
            out.append(line)
        elif out and out[-1]:
            out.append("")
    return "\n".join(out).strip()


_IMG_SRC = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*(["'])(.*?)\1""", re.I | re.S)


def image_urls(fragment: str) -> list[str]:
    """The http(s) image URLs an HTML fragment shows, in order, without duplicates."""
    seen: dict[str, None] = {}
    for m in _IMG_SRC.finditer(fragment or ""):
        url = _html.unescape(m.group(2)).strip()
        if url.startswith(("http://", "https://")):
            seen.setdefault(url, None)
    return list(seen)


_LEADING_HEADING = re.compile(
    r"^\s*(?:<(?:div|article|section|header)\b[^>]*>\s*)*(<h([1-3])\b[^>]*>(.*?)</h\2\s*>)", re.I | re.S)


def drop_leading_title(fragment: str, title: str) -> str:
    """Remove a heading at the very start of `fragment` that repeats `title` (extracted pages
    usually begin with the article's own <h1>, which the reader already shows)."""
    m = _LEADING_HEADING.match(fragment or "")
    if not m or not title:
        return fragment
    if " ".join(html_to_text(m.group(3)).split()).casefold() != " ".join(title.split()).casefold():
        return fragment
    return fragment[: m.start(1)] + fragment[m.end(1) :]
