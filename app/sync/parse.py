"""Feed bytes -> ParsedFeed: RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and JSON Feed 1.0/1.1.

Speed and tolerance, measured (see scripts/bench_sync.py): feedparser with its defaults reads
~2-3 MB/s here, mostly in its own HTML sanitising and relative-URI resolving. So:

- well-formed XML takes the fast path: fastfeedparser (lxml) for the structure, then
  `app.html.sanitize` (a prebuilt nh3 Cleaner and a cheap relative-link pass);
- XML that is not well-formed (or that the fast path cannot read) falls back to feedparser with
  its own sanitising and URI resolving off (we sanitise), keeping its tolerance for broken feeds;
- JSON Feed is parsed here with `json` (the format is small).

XML safety: any internal DTD subset (entity declarations: billion laughs, external entities) is cut
out before either parser sees the bytes, and lxml runs with resolve_entities=False, no_network=True.
Both paths have tests with billion-laughs and XXE documents.
"""

from __future__ import annotations

import hashlib
import html as _html
import json
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from app import normalise, urls
from app.html import html_to_text, sanitize
from app.errors import NotAFeed
from app.hashing import entry_hash
from app.models import Enclosure, ParsedEntry, ParsedFeed

# A feed is cut by bytes: its entries are kept, in feed order (newest first in nearly every feed),
# until their markup passes ENTRIES_MAX_BYTES; MAX_ENTRIES is only a guard on time (fastfeedparser
# spends ~1 ms guessing a date from the guid of each undated entry). A cut feed says so
# (ParsedFeed.notice, shown on the feed).
ENTRIES_MAX_BYTES = 8 * 1024 * 1024
MAX_ENTRIES = 5000
TOLERANT_MAX_BYTES = 1024 * 1024  # malformed XML above this is not handed to feedparser (slow on junk)
# Memory bounds, checked before any tree is built (a 9 MB feed of 3 million unclosed tags made
# expat's element stack ~400 MB and lxml's recovering tree ~1 GB): feeds are shallow and have far
# fewer elements than this.
MAX_XML_DEPTH = 512
MAX_XML_ELEMENTS = 400_000
MAX_UNCLOSED_TAGS = 50_000  # in XML that is not well-formed (the parsers would keep each one open)

_TAG = re.compile(r"<[^>]*>")
_WS = re.compile(r"\s+")


def plain(text: str | None) -> str:
    """A title or name as plain text: tags dropped, entities decoded, whitespace collapsed."""
    if not text:
        return ""
    if "<" in text:
        text = _TAG.sub("", text)
    if "&" in text:
        text = _html.unescape(text)
    return normalise.line(text)


# --- dates ------------------------------------------------------------------------------------------


def parse_date(value) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        d = value
    elif hasattr(value, "tm_year"):  # time.struct_time (feedparser, UTC)
        try:
            d = datetime(*value[:6], tzinfo=timezone.utc)
        except (ValueError, TypeError):
            return None
    else:
        s = str(value).strip()
        d = None
        try:
            d = datetime.fromisoformat(s.replace("Z", "+00:00") if s.endswith("Z") else s)
        except ValueError:
            try:
                d = parsedate_to_datetime(s)
            except (TypeError, ValueError, IndexError):
                d = None
            if d is None:
                try:
                    from feedparser.datetimes import _parse_date

                    t = _parse_date(s)
                    d = datetime(*t[:6], tzinfo=timezone.utc) if t else None
                except Exception:  # noqa: BLE001 - a date we cannot read is just no date
                    d = None
    if d is None:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    try:
        d = d.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None
    if not (1970 <= d.year <= 2200):
        return None
    return d


# --- guid -------------------------------------------------------------------------------------------


def derive_guid(guid: str | None, link: str | None, title: str, published: datetime | None,
                summary: str) -> str:
    """The feed's id; else the entry link (both parsers agree on that); else a hash of what is there."""
    guid = normalise.text(guid).strip()
    if guid:
        return guid[:2000]
    if link:
        return link[:2000]
    h = hashlib.sha256()
    for part in (title, published.isoformat() if published else "", summary[:2000]):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return "tidings:" + h.hexdigest()[:32]


# --- detection ----------------------------------------------------------------------------------------

_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*(?:<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])",
                         re.I | re.S)
_FEED_ROOT = re.compile(rb"<(?:[\w.-]+:)?(?:rss|feed|RDF|channel)[\s>/]")
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)
_DOCTYPE_SUBSET = re.compile(rb"<!DOCTYPE[^\[>]*\[.*?\]\s*>", re.S | re.I)
_DOCTYPE_ANY = re.compile(rb"<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>", re.S | re.I)
_XML_DECL_ENC = re.compile(rb"^<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


def sniff(body: bytes, content_type: str | None) -> str:
    """'json' | 'xml' | 'html' | 'empty' | 'unknown'."""
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        return "empty"
    if head[:1] in (b"{", b"["):
        return "json"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "xml"  # UTF-16 with a BOM
    if head[:1] == b"<":
        if _HTML_START.match(head) and not _FEED_ROOT.search(body[:4096]):
            return "html"
        return "xml"
    ct = (content_type or "").lower()
    if "json" in ct:
        return "json"
    return "unknown"


def defuse_xml(body: bytes) -> bytes:
    """Cut out DTD internal subsets when they declare entities (billion laughs, XXE)."""
    if _ENTITY_DECL.search(body):
        body = _DOCTYPE_SUBSET.sub(b"", body)
        if _ENTITY_DECL.search(body):  # an unterminated or odd DOCTYPE: remove every DOCTYPE-ish thing
            body = _DOCTYPE_ANY.sub(b"", body)
            body = re.sub(rb"<!ENTITY[^>]*>", b"", body, flags=re.I)
    return body


def charset_of(content_type: str | None) -> str | None:
    """The charset a Content-Type header names, lower-cased, or None."""
    m = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._-]+)", content_type or "", re.I)
    return m.group(1).lower() if m else None


def _transcode_for_http_charset(body: bytes, content_type: str | None) -> bytes:
    """When HTTP names a charset and the document itself names none (no BOM, no XML declaration
    encoding), decode with the HTTP charset and hand the parser UTF-8."""
    charset = charset_of(content_type)
    if not charset or charset.replace("-", "").replace("_", "") in ("utf8", "usascii", "ascii"):
        return body
    if body.startswith(_BOMS) or _XML_DECL_ENC.match(body.lstrip()):
        return body
    try:
        text = body.decode(charset)
    except (LookupError, UnicodeDecodeError):
        return body
    return text.encode("utf-8")


class _TooBig(Exception):
    pass


def _well_formed(body: bytes) -> bool:
    """Is this well-formed XML? expat, counting elements only: ~2x faster than building an lxml
    tree. It never loads external entities, and has billion-laughs protection (expat >= 2.4);
    entity declarations are cut out before this anyway (defuse_xml). Raises NotAFeed when the
    document is deeper than MAX_XML_DEPTH or has more than MAX_XML_ELEMENTS elements."""
    import pyexpat

    parser = pyexpat.ParserCreate()
    depth = 0
    count = 0

    def start(_name, _attrs) -> None:
        nonlocal depth, count
        depth += 1
        count += 1
        if depth > MAX_XML_DEPTH or count > MAX_XML_ELEMENTS:
            raise _TooBig

    def end(_name) -> None:
        nonlocal depth
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(body, True)
    except _TooBig:
        what = (f"nested deeper than {MAX_XML_DEPTH} levels" if depth > MAX_XML_DEPTH
                else f"made of more than {MAX_XML_ELEMENTS:,} XML elements")
        raise NotAFeed(f"Not a feed Tidings can read: the document is {what}, far beyond any feed.") from None
    except pyexpat.ExpatError as e:
        if "encoding" in str(e):  # expat knows few multi-byte encodings (gb2312, shift_jis...): ask libxml2
            return _well_formed_lxml(body)
        return False
    except (ValueError, LookupError):  # "multi-byte encodings are not supported"
        return _well_formed_lxml(body)
    return True


def _well_formed_lxml(body: bytes) -> bool:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             recover=False, collect_ids=False)
    try:
        return etree.fromstring(body, parser) is not None
    except (etree.XMLSyntaxError, ValueError):
        return False


# --- the entry point ------------------------------------------------------------------------------


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse feed bytes fetched from `url`. Raises NotAFeed with a plain-words reason.
    Each entry comes with its plain text and content hash (`prepare`)."""
    return prepare(_parse(body, url, content_type))


def feed_title(body: bytes, url: str, content_type: str | None = None) -> str:
    """Just the title, for discovery: raises NotAFeed like parse_feed, skips the per-entry prep."""
    return _parse(body, url, content_type).title


def prepare(parsed: ParsedFeed) -> ParsedFeed:
    """Normalise what the feed gave (app.normalise: valid Unicode, single-line titles and authors
    without controls or bidi overrides, clamped numbers, valid URLs), cap the entries by bytes, and
    fill each entry's derived fields the store needs: the plain text of its body and its content
    hash. CPU work that belongs with parsing (it runs where parsing runs: the parse thread or the
    parse process), so the store thread only writes."""
    parsed.title = normalise.line(parsed.title, 500)
    parsed.site_url = urls.valid(parsed.site_url) if parsed.site_url else None
    parsed.icon_url = urls.valid(parsed.icon_url) if parsed.icon_url else None
    _cap_entries(parsed)
    for e in parsed.entries:
        e.guid = normalise.text(e.guid)[:2000] or derive_guid(None, e.url, e.title, e.published, e.summary)
        e.url = urls.valid(e.url) if e.url else None
        e.title = normalise.line(e.title, 2000)
        e.authors = normalise.authors(e.authors, 500)
        e.summary = normalise.text(e.summary)
        e.content_html = normalise.text(e.content_html)
        if e.text is None:
            e.text = html_to_text(e.content_html or e.summary)
        if e.content_hash is None:
            e.content_hash = entry_hash(e)
    return parsed


def _cap_entries(parsed: ParsedFeed) -> None:
    """Keep the entries, in feed order, until their HTML passes ENTRIES_MAX_BYTES (or MAX_ENTRIES);
    say so on the feed when some are left out."""
    total = parsed.total_entries or len(parsed.entries)
    size = 0
    keep = len(parsed.entries)
    for i, e in enumerate(parsed.entries):
        size += len(e.summary) + len(e.content_html) + len(e.title) + 200
        if size > ENTRIES_MAX_BYTES or i >= MAX_ENTRIES:
            keep = i
            break
    if keep < len(parsed.entries):
        del parsed.entries[keep:]
    if len(parsed.entries) < total and not parsed.notice:
        parsed.notice = (f"Only the first {len(parsed.entries):,} of its {total:,} entries were kept: the feed "
                         f"is larger than Tidings stores at once ({ENTRIES_MAX_BYTES // (1024 * 1024)} MB or "
                         f"{MAX_ENTRIES:,} entries). The rest were left out.")


def _parse(body: bytes, url: str, content_type: str | None) -> ParsedFeed:
    kind = sniff(body, content_type)
    if kind == "empty":
        raise NotAFeed("Not a feed: the address returned an empty response.")
    if kind == "html":
        raise NotAFeed("Not a feed: the address returned an HTML page.")
    if kind == "json":
        return parse_json_feed(body, url, content_type)
    body = defuse_xml(body)
    body = _transcode_for_http_charset(body, content_type)
    body, total = _cut_entries(body)
    well_formed = kind == "xml" and _well_formed(body)
    if not well_formed:
        _refuse_unclosed(body)
    big = len(body) > TOLERANT_MAX_BYTES
    if well_formed or big:
        # Malformed but big: lxml's recovering parser (linear time) instead of feedparser's loose
        # one, which takes ~5 s per MB of pathological markup (e.g. 3 million unclosed tags).
        try:
            parsed = _parse_fast(body, url)
        except Exception:  # noqa: BLE001 - the tolerant path decides
            parsed = None
        if parsed is not None:
            parsed.total_entries = total
            return parsed
        if big and not well_formed:
            raise NotAFeed(f"Not a feed: the XML is malformed, and too large to repair "
                           f"(over {TOLERANT_MAX_BYTES // (1024 * 1024)} MB).")
    parsed = _parse_feedparser(body, url, content_type)
    parsed.total_entries = total
    return parsed


def _refuse_unclosed(body: bytes) -> None:
    """Malformed XML with a great many tags left open costs the repairing parsers memory per open
    tag (lxml's recovering tree: ~300 bytes each): refuse it instead (counted in C, linear)."""
    opened = body.count(b"<") - 2 * body.count(b"</") - body.count(b"/>") - body.count(b"<!") - body.count(b"<?")
    if opened > MAX_UNCLOSED_TAGS:
        raise NotAFeed(f"Not a feed: the XML is malformed, with some {opened:,} tags left open; "
                       "Tidings does not try to repair that much.")


_ROOT_CLOSERS = ((b"<rss", b"</channel></rss>"), (b"<feed", b"</feed>"))


def _cut_entries(body: bytes, max_bytes: int | None = None, limit: int | None = None) -> tuple[bytes, int | None]:
    """(body, items in the feed): a feed whose items pass `max_bytes` of markup or `limit` items is
    cut after the last item that fits, before parsing (the rest would cost time and be cut anyway;
    per-item work in the parsers can be ~1 ms, e.g. dates guessed from guids). The count is None
    when the feed was not cut."""
    max_bytes = ENTRIES_MAX_BYTES if max_bytes is None else max_bytes
    limit = MAX_ENTRIES if limit is None else limit
    for close in (b"</item>", b"</entry>"):
        count = body.count(close)
        if count == 0:
            continue
        first = body.find(close)
        if count <= limit and len(body) - first <= max_bytes:
            return body, None
        pos = -1
        kept = 0
        start_items = max(body.find(b"<item" if close == b"</item>" else b"<entry"), 0)  # bytes count from here
        while kept < limit:
            nxt = body.find(close, pos + 1)
            if nxt < 0 or (kept and nxt + len(close) - start_items > max_bytes):
                break
            pos = nxt
            kept += 1
        if kept >= count:
            return body, None
        head = body[: pos + len(close)]
        start = head[:4096]
        for opener, closer in _ROOT_CLOSERS:
            if opener in start:
                return head + closer, count
        return head, count
    return body, None


def _parse_fast(body: bytes, url: str) -> ParsedFeed | None:
    import fastfeedparser

    d = fastfeedparser.parse(body, include_tags=False, include_media=False)
    feed = d.get("feed") or {}
    site = _abs_link(feed.get("link"), url)
    entries = []
    for e in (d.get("entries") or [])[:MAX_ENTRIES]:
        link = _abs_link(e.get("link") or _alternate(e.get("links")), site or url)
        base = link or site or url
        summary = sanitize(e.get("description") or e.get("summary") or "", base)
        raw_published = e.get("published")
        if raw_published and _date_from_guid(e.get("id"), raw_published):
            raw_published = None  # fastfeedparser reads a date out of a guid like "1"; that is no date
        entries.append(_entry(e, link, base, _first_content(e, base), summary,
                              parse_date(raw_published), parse_date(e.get("updated"))))
    title = plain(feed.get("title"))
    if not entries and not title and not site:
        return None  # let feedparser have a go; it says why it cannot read it
    return ParsedFeed(title=title, site_url=site, entries=entries, icon_url=feed_icon(feed, site or url))


_MONTH = re.compile(r"(?i)jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun|today")


def _date_from_guid(guid, raw_published) -> bool:
    # A date read from a guid like "1" or "2024" falls on midnight; only then ask (the check can
    # cost ~1 ms: fastfeedparser tries dateutil and dateparser on the guid).
    if not isinstance(raw_published, str) or not raw_published.endswith("T00:00:00+00:00"):
        return False
    if not guid or not isinstance(guid, str) or len(guid) > 64 or guid.startswith(("http://", "https://")):
        return False
    if any(c.isalpha() for c in guid) and not _MONTH.search(guid):
        return False  # letters but no month name: not something a date parser reads as a date
    try:
        from fastfeedparser.main import _parse_date as ffp_date

        return ffp_date(guid) == raw_published
    except Exception:  # noqa: BLE001 - a private helper may change; then we just keep the date
        return False


# --- what both XML paths do with an entry (they must agree: a feed may switch paths between syncs) ---


def feed_icon(feed: dict, base: str) -> str | None:
    """The feed's own icon, absolute: Atom <icon> (small, square), else <logo>, else RSS <image>
    (fastfeedparser and feedparser both give these keys)."""
    for key in ("icon", "logo", "image"):
        v = feed.get(key)
        if isinstance(v, dict):
            v = v.get("url") or v.get("href")
        if isinstance(v, str) and v.strip():
            return _abs_link(v.strip(), base)
    return None


def _first_content(e, base: str) -> str:
    """The entry's first non-empty content, sanitised."""
    for c in e.get("content") or []:
        value = c.get("value") or ""
        if value:
            cbase = _abs_link(c.get("base"), base) if c.get("base") else base
            html = _body_html(value, (c.get("type") or "").lower(), cbase)
            if html:
                return html
    return ""


def _entry(e, link: str | None, base: str, content_html: str, summary: str,
           published: datetime | None, updated: datetime | None) -> ParsedEntry:
    if summary and content_html and summary == content_html:
        summary = ""  # a summary that repeats the content adds nothing
    title = plain(e.get("title"))
    return ParsedEntry(
        guid=derive_guid(e.get("id"), link, title, published or updated, content_html or summary),
        url=link, title=title, authors=_authors(e), published=published or updated, updated=updated,
        summary=summary, content_html=content_html,
        enclosures=_enclosures(e.get("enclosures"), base),
    )


def _body_html(value: str, ctype: str, base: str) -> str:
    if ctype in ("text", "text/plain"):
        return "<p>" + _html.escape(value).replace("\n\n", "</p><p>") + "</p>"
    return sanitize(value, base)


def _alternate(links) -> str | None:
    for link in links or []:
        if isinstance(link, dict) and link.get("href") and link.get("rel", "alternate") == "alternate" \
                and (link.get("type") or "text/html").startswith(("text/html", "application/xhtml")):
            return link["href"]
    return None


def _abs_link(link, base: str | None) -> str | None:
    """A link from the feed made absolute and validated (app.urls); None when it is not usable."""
    return urls.join(base, link)


def _authors(e) -> str:
    names = []
    for a in e.get("authors") or []:
        if isinstance(a, dict):
            n = a.get("name") or a.get("email")
            if n:
                names.append(plain(n))
    if not names:
        detail = e.get("author_detail")
        if isinstance(detail, dict) and detail.get("name"):
            names.append(plain(detail["name"]))
        elif e.get("author"):
            names.append(plain(e.get("author")))
    return ", ".join(dict.fromkeys(n for n in names if n))[:500]


def _enclosures(items, base: str) -> list[Enclosure]:
    out = []
    for x in items or []:
        if not isinstance(x, dict):
            continue
        href = _abs_link(x.get("url") or x.get("href"), base)
        if not href:
            continue
        length = normalise.clamp_int(x.get("length"))  # it must fit SQLite's 64-bit INTEGER
        ctype = normalise.line(x.get("type") if isinstance(x.get("type"), str) else "", 200)
        out.append(Enclosure(url=href, type=ctype or None, length=length))
    return list({e.url: e for e in out}.values())


_CHARREF = re.compile(rb"&#([xX][0-9a-fA-F]{1,8}|[0-9]{1,10});")


def _drop_bad_charrefs(body: bytes) -> bytes:
    """Character references to NUL, surrogates or beyond Unicode (malformed XML only: expat refuses
    them) would reach feedparser's decoder as text that cannot be encoded: drop them."""
    def fix(m: re.Match) -> bytes:
        ref = m.group(1)
        n = int(ref[1:], 16) if ref[:1] in (b"x", b"X") else int(ref)
        return b"" if n == 0 or 0xD800 <= n <= 0xDFFF or n > 0x10FFFF else m.group(0)

    return _CHARREF.sub(fix, body) if b"&#" in body else body


def _parse_feedparser(body: bytes, url: str, content_type: str | None) -> ParsedFeed:
    import feedparser

    body = _drop_bad_charrefs(body)

    headers = {}  # no content-location: feedparser would resolve guids like "1" against it
    if content_type:
        headers["content-type"] = content_type
    try:
        d = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False, response_headers=headers)
    except Exception as e:  # noqa: BLE001 - feedparser should not raise; if it does, the feed is unreadable
        raise NotAFeed(f"Not a feed: the document could not be read ({type(e).__name__}).") from e
    feed = d.get("feed") or {}
    if not d.get("entries") and not feed.get("title") and not d.get("version"):
        exc = d.get("bozo_exception")
        if exc is not None and d.get("bozo"):
            raise NotAFeed(f"Not a feed: the XML is malformed ({_short(exc)}).")
        raise NotAFeed("Not a feed: the address returned something that is not RSS, Atom or JSON Feed.")
    site = _abs_link(feed.get("link"), url)
    entries = []
    for e in (d.get("entries") or [])[:MAX_ENTRIES]:
        link = _abs_link(e.get("link"), site or url)
        base = link or site or url
        sd = e.get("summary_detail") or {}
        summary_raw = e.get("summary") or ""
        summary = _body_html(summary_raw, (sd.get("type") or "text/html").lower(), base) if summary_raw else ""
        published = parse_date(e.get("published_parsed")) or parse_date(e.get("published"))
        # dict.get: FeedParserDict.get("updated*") maps to "published*" with a DeprecationWarning
        updated = parse_date(dict.get(e, "updated_parsed")) or parse_date(dict.get(e, "updated"))
        entries.append(_entry(e, link, base, _first_content(e, base), summary, published, updated))
    return ParsedFeed(title=plain(feed.get("title")), site_url=site, entries=entries,
                      icon_url=feed_icon(feed, site or url))


def _short(exc) -> str:
    msg = str(exc) or type(exc).__name__
    return msg[:200]


# --- JSON Feed ---------------------------------------------------------------------------------------


def parse_json_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    charset = charset_of(content_type) or "utf-8"
    try:
        text = body.decode(charset if not body.startswith(b"\xef\xbb\xbf") else "utf-8-sig")
    except (LookupError, UnicodeDecodeError):
        text = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(text, parse_int=_json_int)  # huge integers clamp instead of failing the feed
    except (ValueError, RecursionError) as e:
        raise NotAFeed(f"Not a feed: the JSON is malformed ({_short(e)}).") from e
    if not isinstance(data, dict) or not (
        str(data.get("version", "")).startswith("https://jsonfeed.org/version/")
        or isinstance(data.get("items"), list)
    ):
        raise NotAFeed("Not a feed: the address returned JSON that is not a JSON Feed.")
    site = _abs_link(_s(data.get("home_page_url")), url)
    feed_authors = _json_authors(data)
    entries = []
    items = data.get("items") if isinstance(data.get("items"), list) else []
    for item in items[:MAX_ENTRIES + 1]:
        if not isinstance(item, dict):
            continue
        link = _abs_link(_s(item.get("url")), site or url) or _abs_link(_s(item.get("external_url")), site or url)
        base = link or site or url
        if _s(item.get("content_html")):
            content_html = sanitize(_s(item.get("content_html")), base)
        elif _s(item.get("content_text")):
            content_html = _body_html(_s(item.get("content_text")), "text", base)
        else:
            content_html = ""
        summary = _html.escape(_s(item.get("summary"))) if _s(item.get("summary")) else ""
        image = _abs_link(_s(item.get("image")), base)
        if image and image not in content_html:
            content_html = f'<p><img src="{_html.escape(image, quote=True)}"></p>' + content_html
        title = plain(_s(item.get("title")))
        published = parse_date(_s(item.get("date_published")))
        updated = parse_date(_s(item.get("date_modified")))
        raw_id = item.get("id")
        guid = normalise.text(str(raw_id)) if isinstance(raw_id, (str, int, float)) and not isinstance(raw_id, bool) else ""
        encl = []
        for a in item.get("attachments") or []:
            if isinstance(a, dict):
                encl.append({"url": _s(a.get("url")), "type": _s(a.get("mime_type")),
                             "length": a.get("size_in_bytes")})
        entries.append(ParsedEntry(
            guid=derive_guid(guid, link, title, published or updated, content_html or summary),
            url=link, title=title, authors=_json_authors(item) or feed_authors,
            published=published or updated, updated=updated,
            summary=summary, content_html=content_html, enclosures=_enclosures(encl, base),
        ))
    return ParsedFeed(title=plain(_s(data.get("title"))), site_url=site, entries=entries, total_entries=len(items),
                      icon_url=_abs_link(_s(data.get("favicon")) or _s(data.get("icon")), site or url))


def _json_int(s: str) -> int:
    if len(s) > 19:  # beyond 64 bits (and Python refuses to read over 4300 digits)
        return normalise.SQLITE_MIN_INT if s.startswith("-") else normalise.SQLITE_MAX_INT
    return normalise.clamp_int(s, normalise.SQLITE_MIN_INT)


def _s(v) -> str:
    return normalise.text(v) if isinstance(v, str) else ""  # JSON may carry lone surrogates ("\ud800")


def _json_authors(obj: dict) -> str:
    names = []
    authors = obj.get("authors")
    if isinstance(authors, list):
        names = [plain(_s(a.get("name"))) for a in authors if isinstance(a, dict)]
    author = obj.get("author")
    if not any(names) and isinstance(author, dict):
        names = [plain(_s(author.get("name")))]
    return ", ".join(dict.fromkeys(n for n in names if n))[:500]
