"""HTML from feeds and pages: sanitise once on the way in, turn into plain text for search and digests.

Sanitising uses nh3 (the Ammonia sanitiser): no scripts, styles, forms, frames or event handlers;
only http(s)/mailto links. What the reader may *load* (images from the local cache only) is decided
again at render time in the UI.
"""

from __future__ import annotations

import html as _html
import re
from urllib.parse import urljoin

import nh3

from app.normalise import bound_html, text as _valid_text

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


# The sanitising policy, in one place: nh3 (Ammonia) with these settings.
_POLICY = dict(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer",
    strip_comments=True,
)
# Built once: nh3.clean() converts its set arguments on every call, which made sanitising ~2x slower.
_CLEANER = nh3.Cleaner(**_POLICY)


def sanitize(fragment: str | None, base_url: str | None = None) -> str:
    """Return `fragment` with everything unsafe removed and relative links made absolute.
    The input is made valid Unicode and bounded in size and nesting depth first
    (app.normalise.bound_html): nh3's cost grows faster than quadratically with depth."""
    if not fragment:
        return ""
    fragment = bound_html(_valid_text(fragment))
    if base_url:
        # After nh3, whose output is regular (lower-case attributes, double quotes, `"` escaped
        # inside values): one C-speed scan finds the relative href/src values, where before it a
        # Python pass over every attribute of the raw markup cost as much as nh3 itself.
        return _absolutize_clean(_CLEANER.clean(fragment), base_url)
    return _CLEANER.clean(fragment)


def _sanitize_reference(fragment: str | None, base_url: str | None = None) -> str:
    """The plain definition `sanitize` must equal (tests compare them): regex link pass, nh3.clean."""
    if not fragment:
        return ""
    if base_url:
        fragment = _absolutize_reference(fragment, base_url)
    return nh3.clean(fragment, **_POLICY)


# --- making links absolute --------------------------------------------------------------------------

_URL_ATTR = re.compile(r"""(\s(?:href|src)\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def _absolutize_reference(fragment: str, base_url: str) -> str:
    def fix(m: re.Match) -> str:
        url = _html.unescape(m.group(3)).strip()
        if not url or _HAS_SCHEME.match(url) or url.startswith("#"):
            return m.group(0)
        return f"{m.group(1)}{m.group(2)}{_html.escape(urljoin(base_url, url), quote=True)}{m.group(2)}"

    return _URL_ATTR.sub(fix, fragment)


_HAS_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_ODD_NETLOC = re.compile(r"[?#@\\;\[\]\s]")


def _origin(base_url: str) -> str | None:
    """scheme://netloc of an http(s) URL, as urljoin would keep it; None when unsure (then urljoin)."""
    i = base_url.find("://")
    if i not in (4, 5) or base_url[:i] not in ("http", "https"):
        return None
    j = base_url.find("/", i + 3)
    netloc = base_url[i + 3:] if j < 0 else base_url[i + 3:j]
    if not netloc or _ODD_NETLOC.search(netloc):
        return None
    return base_url[:i + 3] + netloc


# A root-relative path urljoin leaves as it is: no "//" start, no dot segments, no query or fragment.
_PLAIN_PATH = re.compile(r"/(?!/)[^?#;\\.]*(?:\.(?!\.?(?:/|$))[^?#;\\.]*)*$")
_ESCAPE_NEEDED = re.compile(r"[&<>\"'\xa0]")


# In nh3's output only <a href> and <img src> carry these, always as ` name="value"` (the reference's
# pattern, `\s(?:href|src)\s*=\s*(["'])(.*?)\1`, in the form nh3 writes it); absolute http(s) values skipped.
# One pattern per attribute: a literal start lets `re` skip ahead at C speed (an alternation, or a
# leading \s, makes it try every position).
_CLEAN_URL_ATTRS = (re.compile(r' href="(?!https?://)([^"]*)"'), re.compile(r' src="(?!https?://)([^"]*)"'))


def _attr_escape(value: str) -> str:
    """An attribute value as nh3 (html5ever) serialises it."""
    if "&" in value:
        value = value.replace("&", "&amp;")
    if '"' in value:
        value = value.replace('"', "&quot;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    if "\xa0" in value:
        value = value.replace("\xa0", "&nbsp;")
    return value


def _absolutize_clean(cleaned: str, base_url: str) -> str:
    """Relative href/src values of sanitised HTML made absolute against `base_url`, as
    _absolutize_reference does before sanitising (the tests compare the two)."""
    origin = _origin(base_url)

    def fix(m: re.Match) -> str:  # `prefix`: the attribute being scanned (the loop below)
        raw = m.group(1)
        url = _html.unescape(raw).strip() if "&" in raw else raw.strip()
        if not url or _HAS_SCHEME.match(url) or url.startswith("#"):
            return m.group(0)
        if origin and url[0] == "/" and _PLAIN_PATH.match(url):
            joined = origin + url  # what urljoin gives, without its ~10 us
        else:
            joined = urljoin(base_url, url)
        return prefix + (_attr_escape(joined) if _ESCAPE_NEEDED.search(joined) else joined) + '"'

    for prefix, pattern in zip((' href="', ' src="'), _CLEAN_URL_ATTRS):
        if prefix in cleaned:
            cleaned = pattern.sub(fix, cleaned)
    return cleaned


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
