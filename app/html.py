"""HTML from feeds and pages: sanitise once on the way in, turn into plain text for search and digests.

Sanitising uses nh3 (the Ammonia sanitiser): no scripts, styles, forms, frames or event handlers;
only http(s)/mailto links. What the reader may *load* (images from the local cache only) is decided
again at render time in the UI.
"""

from __future__ import annotations

import html as _html
import re
from urllib.parse import urljoin, urlsplit

import nh3

from app import urls as _urls
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
# Elements whose content browsers never show (iframe and noembed content is a fallback for browsers
# without frames): dropped with their content. Other unknown elements lose their tags, keep their text.
_POLICY["clean_content_tags"] = {"script", "style", "iframe", "noembed", "noframes", "title"}
# Built once: nh3.clean() converts its set arguments on every call, which made sanitising ~2x slower.
_CLEANER = nh3.Cleaner(**_POLICY)


# Text with none of these comes out of nh3 as it went in (no markup or entity, no CR, no-break space
# or BOM, which html5ever rewrites); the tests compare the two.
_NEEDS_CLEANER = re.compile(r"[<>&\r\xa0\ufeff]")


def sanitize(fragment: str | None, base_url: str | None = None) -> str:
    """Return `fragment` with everything unsafe removed and relative links made absolute.
    The input is made valid Unicode and bounded in size and nesting depth first
    (app.normalise.bound_html): nh3's cost grows faster than quadratically with depth."""
    if not fragment:
        return ""
    fragment = bound_html(_valid_text(fragment))
    if _NEEDS_CLEANER.search(fragment) is None:
        return fragment  # plain text (many a feed's summary): what nh3 would give back, without the call
    if base_url:
        # After nh3, whose output is regular (lower-case attributes, double quotes, `"` escaped
        # inside values): one C-speed scan finds the relative href/src values, where before it a
        # Python pass over every attribute of the raw markup cost as much as nh3 itself.
        return _drop_empty(_absolutize_clean(_CLEANER.clean(close_raw_text(fragment, base_url)), base_url))
    return _drop_empty(_CLEANER.clean(close_raw_text(fragment)))


def _sanitize_reference(fragment: str | None, base_url: str | None = None) -> str:
    """The plain definition `sanitize` must equal (tests compare them): regex link pass, nh3.clean."""
    if not fragment:
        return ""
    if base_url:
        fragment = _absolutize_reference(fragment, base_url)
    return _drop_empty(nh3.clean(close_raw_text(fragment), **_POLICY))


# Empty paragraphs and runs of line breaks (Blogger's "</p><p> </p><p> </p>" around an embed, or
# "<br><br><br><br>") show as a screenful of nothing; on the sanitiser's own output (well-formed,
# so a regex is safe), only when a cheap look finds one.
_EMPTY = re.compile(r"<p>(?:\s|&nbsp;|\xa0|<br>)*</p>|(?:<br>){3,}")


def _drop_empty(html: str) -> str:
    if "<p></p>" not in html and "<p> " not in html and "<p>&nbsp;" not in html and "<br><br><br>" not in html:
        return html
    return _EMPTY.sub(lambda m: "" if m.group(0).startswith("<p>") else "<br><br>", html)


# --- raw-text elements --------------------------------------------------------------------------------

# An HTML parser reads the content of these as text up to their end tag. Written self-closed
# (`<iframe ... />`: fine in XHTML, which feeds often are, meaningless in HTML) or never closed, one
# swallows the rest of the entry, which the sanitiser then shows as markup-looking text
# ("</p><p> </p><iframe allowFullScreen='true' ..." on screen). So before sanitising: such an
# element is closed where it starts; <noscript> is unwrapped (the reader runs no scripts, so its
# content is what to show); <plaintext> (no end tag exists) loses its tag; an iframe with an
# http(s) address leaves a link to what it embedded (the reader cannot show frames).
_RAW_TEXT_NAMES = ("iframe", "noembed", "noframes", "noscript", "xmp", "textarea", "title", "style", "script",
                   "plaintext")
_RAW_OPEN = re.compile(r"<(%s)(?=[\s/>])" % "|".join(_RAW_TEXT_NAMES))
# The rest of a start tag, to its ">": a quoted attribute value may hold ">". Possessive: linear.
_TAG_REST = re.compile(r"""(?:[^>"'=]++|=\s*+"[^"]*+"|=\s*+'[^']*+'|=|["'])*+>""")
_SRC_ATTR = re.compile(r"""\ssrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I)


def _end_tag(low: str, name: str, start: int, last: int) -> tuple[int, int] | None:
    """(start, end) of the first `</name` end tag at or after `start`; `last`: where the last one is."""
    while start <= last:
        i = low.find("</" + name, start)
        if i < 0:
            return None
        j = i + 2 + len(name)
        if j >= len(low) or low[j] in " \t\n\r\f/>":
            k = low.find(">", j)
            return i, (len(low) if k < 0 else k + 1)
        start = j
    return None


def _embed_link(tag: str, base_url: str | None) -> str:
    m = _SRC_ATTR.search(tag)
    if not m:
        return ""
    src = _html.unescape(next(g for g in m.groups() if g is not None)).strip()
    url = _urls.valid(urljoin(base_url, src) if base_url else src)
    if not url:
        return ""
    host = _html.escape(urlsplit(url).hostname or url)
    return f'<p><a href="{_html.escape(url, quote=True)}">Open the embedded content ({host})</a></p>'


def close_raw_text(fragment: str, base_url: str | None = None) -> str:
    """`fragment` with self-closed or unclosed raw-text elements closed (see above); `base_url`
    resolves a relative embedded address (links are made absolute after this). Linear time:
    each end tag is looked for once, and a tag after the last end tag of its name is known unclosed."""
    low = fragment.lower()
    if len(low) != len(fragment) or _RAW_OPEN.search(low) is None:  # one regex pass: ~3x cheaper than ten `in`s
        return fragment  # (a lower case of another length cannot happen in tags: nothing to fix there)
    last = {n: low.rfind("</" + n) for n in _RAW_TEXT_NAMES}
    out: list[str] = []
    pos = 0
    i = 0
    while True:
        m = _RAW_OPEN.search(low, i)
        if m is None:
            break
        name = m.group(1)
        rest = _TAG_REST.match(low, m.end())
        if rest is None:
            break  # the tag never ends: the sanitiser drops it with what follows
        tag_end = rest.end()
        tag = fragment[m.start():tag_end]
        self_closed = tag.endswith("/>")
        close = None if self_closed else _end_tag(low, name, tag_end, last[name])
        out.append(fragment[pos:m.start()])
        if name == "plaintext":
            pos = i = tag_end  # dropped: what follows is ordinary markup
        elif name == "noscript":
            pos = i = tag_end
            if close is not None:  # unwrapped: its content is parsed as markup, its end tag removed
                out.append(fragment[tag_end:close[0]])
                pos = i = close[1]
        elif close is None:  # self-closed or never closed: close it here, keep what follows as markup
            out.append((tag[:-2].rstrip() + ">" if self_closed else tag) + f"</{name}>")
            if name == "iframe":
                out.append(_embed_link(tag, base_url))
            pos = i = tag_end
        else:  # well-formed: left as it is, skipped whole
            out.append(fragment[m.start():close[1]])
            if name == "iframe":
                out.append(_embed_link(tag, base_url))
            pos = i = close[1]
    if not out:
        return fragment
    out.append(fragment[pos:])
    return "".join(out)


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
