"""Data from the network, normalised once on the way in (pure functions, no I/O).

    text(s)          valid Unicode: lone surrogates and NULs removed (SQLite, nh3 and UTF-8 need it)
    line(s, limit)   a single-line field (title, author, type): text(), control and bidi-override
                     characters removed, whitespace collapsed, cut to `limit`
    authors(s)       an entry's byline: line(), each name once ("A, a, A" -> "A"), e-mail forms
                     ("a@b.org (Ann)", "Ann <a@b.org>") reduced to the name
    clamp_int(v)     an int that fits SQLite's 64-bit INTEGER, or None
    header_token(v)  an ETag-like header value safe to store and send back (visible ASCII), or None
    http_date(v)     a Last-Modified value safe to send back (ASCII, a readable date), or None
    bound_html(s)    HTML cut to a size and a nesting depth the sanitiser handles in linear time
    printable(s)     text safe to print on a terminal (the CLI): no escapes, no bidi overrides

Every parser path calls these, so the store, the UI and the CLI only ever see normalised values.
"""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime

SQLITE_MAX_INT = 2**63 - 1
SQLITE_MIN_INT = -(2**63)

_SURROGATE_OR_NUL = re.compile("[\ud800-\udfff\x00]")
# C0 controls but tab/newline, DEL, C1 controls, and the bidi embeddings/overrides/isolates that
# can reorder what a terminal or a list shows (U+202A-202E, U+2066-2069), plus line/paragraph
# separators that break a single line.
_LINE_BAD = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]")
_WS = re.compile(r"\s+")


def text(s: str | None) -> str:
    """`s` as valid Unicode text: lone surrogates (from JSON escapes like "\\ud800", or numeric
    character references) and NULs removed. O(1) for ASCII strings."""
    if not s:
        return ""
    if not isinstance(s, str):
        s = str(s)
    if s.isascii():  # O(1) in CPython; an ASCII string holds no surrogates
        return s.replace("\x00", "") if "\x00" in s else s
    return _SURROGATE_OR_NUL.sub("", s)


def line(s: str | None, limit: int | None = None) -> str:
    """A single-line field as plain words: text(), controls and bidi overrides dropped, whitespace
    (newlines included) collapsed to single spaces, cut to `limit` characters."""
    s = text(s)
    if not s:
        return ""
    if _LINE_BAD.search(s):
        s = _LINE_BAD.sub(" ", s)
    s = _WS.sub(" ", s).strip()
    return s[:limit] if limit is not None else s


_MAIL_NAME = re.compile(r"^\S+@\S+\s*\((.+)\)$|^(.+?)\s*<\S+@\S+>$")


def authors(s: str | None, limit: int = 500) -> str:
    """A byline: the names, comma-separated, each once (case and spacing ignored), in order. Feeds
    name one author in several places (RSS <author> and <dc:creator>, JSON Feed author and authors)
    and readers showed "Rosemary Orchard, Rosemary Orchard". A name with a comma ("Smith, John")
    survives: only whole repeats are dropped."""
    s = line(s)
    if not s:
        return ""
    seen: dict[str, str] = {}
    for name in s.split(","):
        name = name.strip()
        m = _MAIL_NAME.match(name)
        if m:
            name = (m.group(1) or m.group(2)).strip()
        if name:
            seen.setdefault(" ".join(name.casefold().split()), name)
    return ", ".join(seen.values())[:limit]


def clamp_int(v, lo: int = 0, hi: int = SQLITE_MAX_INT) -> int | None:
    """An int within [lo, hi] (default: what SQLite stores), from an int or a string of digits;
    None when it is not a number. Out-of-range values are clamped, not refused."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return None
        v = int(v)
    elif not isinstance(v, int):
        s = str(v).strip()
        if not s or len(s) > 4000:
            return None
        try:
            v = int(s)
        except ValueError:
            return None
    return max(lo, min(hi, v))


def header_token(v: str | None, limit: int = 1024) -> str | None:
    """A header value to store and send back (ETag): visible ASCII and spaces only, not too long.
    Anything else (non-ASCII, controls) is dropped: stored, it would make every later request
    for the feed fail before it leaves the machine."""
    if not v or not isinstance(v, str):
        return None
    v = v.strip()
    if not v or len(v) > limit or not v.isascii() or not v.isprintable():
        return None
    return v


def http_date(v: str | None) -> str | None:
    """A Last-Modified value to send back as If-Modified-Since: a readable HTTP date in ASCII."""
    v = header_token(v, limit=100)
    if v is None:
        return None
    try:
        if parsedate_to_datetime(v) is None:
            return None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return v


# --- HTML bounds (before the sanitiser) ------------------------------------------------------------

HTML_MAX_CHARS = 2 * 1024 * 1024  # one entry's HTML; more is cut (at a tag boundary)
HTML_MAX_DEPTH = 200  # deeper elements lose their tags (their text stays): html5ever is superlinear beyond

_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)[^>]*?(/?)>")
# Elements that never nest (void), or whose end tag is implied by the next sibling: they never
# deepen the tree the sanitiser builds, so they are not counted.
_FLAT = frozenset(
    "area base br col embed hr img input link meta param source track wbr "
    "p li dt dd option optgroup tr td th thead tbody tfoot colgroup caption rp rt".split()
)


def bound_html(s: str, max_chars: int = HTML_MAX_CHARS, max_depth: int = HTML_MAX_DEPTH) -> str:
    """`s` cut to `max_chars` and to `max_depth` levels of nesting, in linear time. Sanitising
    200,000 nested <div>s took minutes (the cost grows faster than the square of the depth);
    tags deeper than `max_depth` are dropped, their text kept."""
    if len(s) > max_chars:
        cut = s.rfind("<", 0, max_chars)
        s = s[: cut if cut > max_chars // 2 else max_chars]
    if s.count("<") <= max_depth:
        return s  # cannot be deeper than that
    stack: list[str] = []
    dropped: dict[str, int] = {}
    out: list[str] = []
    pos = 0
    changed = False
    # Only up to the last ">": past it no tag can end, and each failed match would scan to the end
    # (quadratic: 20,000 "<iframe src=\"" with no ">" took minutes).
    for m in _TAG.finditer(s, 0, s.rfind(">") + 1):
        name = m.group(2).lower()
        if name in _FLAT or m.group(3):
            continue
        if not m.group(1):  # opening tag
            if len(stack) < max_depth:
                stack.append(name)
                continue
            dropped[name] = dropped.get(name, 0) + 1
        else:  # closing tag
            if stack and stack[-1] == name:
                stack.pop()
                continue
            if not dropped.get(name):
                if name in stack:  # closes an outer element and, implicitly, what is inside it
                    del stack[len(stack) - 1 - stack[::-1].index(name):]
                continue
            dropped[name] -= 1
        out.append(s[pos:m.start()])
        pos = m.end()
        changed = True
    if not changed:
        return s
    out.append(s[pos:])
    return "".join(out)


# --- terminal output ------------------------------------------------------------------------------

_TERMINAL_BAD = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(s: str | None) -> str:
    """`s` safe to write to a terminal: escape sequences (ESC, CSI, OSC: they can retitle or clear
    a terminal, or plant links) and bidi overrides become spaces; tabs and newlines stay."""
    if not s:
        return ""
    s = str(s)
    if s.isascii() and s.isprintable():
        return s
    return _TERMINAL_BAD.sub(" ", s)
