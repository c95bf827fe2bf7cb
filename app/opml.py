"""OPML import and export. Nested outlines become folder paths ("News/Tech").

Import is tolerant of what real exporters write: `text` without `title`, `xmlUrl` in any case,
duplicates, categories-only outlines, a stray `&`. It is never silent about what it cannot read:
entity declarations (in any encoding, anywhere in the file) and nesting deeper than the parser's
limit are errors, never expanded or dropped. The XML parser never reaches the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from lxml import etree

from app import normalise, urls
from app.errors import TidingsError
from app.models import Feed


@dataclass(frozen=True)
class OpmlFeed:
    url: str
    title: str
    folder: str | None
    site_url: str | None


class BadOpml(TidingsError):
    hint = "Export the file again from your old reader, and check it is an OPML file."


# Strict first: libxml2's recovering mode silently drops what it cannot read (an OPML nested deeper
# than its depth limit came back empty: "Imported 0"). Never entities, network or huge trees.
_STRICT = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False,
                          load_dtd=False, remove_comments=True)
_TOLERANT = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True,
                            load_dtd=False, remove_comments=True)
MAX_DEPTH = 256  # libxml2's own limit without huge_tree

_ENTITY = re.compile(r"<!\s*ENTITY", re.I)
_DECL_ENC = re.compile(rb"""^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _texts(data: bytes) -> list[str]:
    """The document as text in every encoding it may be in (its BOM, its declaration, UTF-16/32
    without a BOM, and bytes as Latin-1), so an entity declaration cannot hide from the check."""
    out = []
    encodings = []
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
                     (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            encodings.append(enc)
            break
    m = _DECL_ENC.match(data.lstrip())
    if m:
        encodings.append(m.group(1).decode("ascii"))
    encodings += ["utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "latin-1"]
    for enc in dict.fromkeys(encodings):
        try:
            out.append(data.decode(enc, errors="ignore"))
        except LookupError:
            continue
    return out


def _declares_entities(data: bytes) -> bool:
    return any(_ENTITY.search(t) for t in _texts(data))  # anything else: the parsed DTD is checked too


def parse_opml(data: bytes) -> list[OpmlFeed]:
    """The feeds in an OPML document. BadOpml (plain words) when it is not one we can read whole:
    entity declarations (OPML never needs them; they are never expanded), nesting deeper than
    MAX_DEPTH, or not OPML at all. Outlines whose address is not a valid http(s) URL are skipped."""
    if _declares_entities(data):
        raise BadOpml("This OPML file declares XML entities, which OPML never needs; it was not imported.")
    try:
        root = etree.fromstring(data, _STRICT)
    except etree.XMLSyntaxError as e:
        msg = str(e)
        low = msg.lower()
        if "depth" in low:
            raise BadOpml(f"This OPML file is nested deeper than {MAX_DEPTH} levels, more than Tidings reads; "
                          "nothing was imported.") from e
        if "entity" in low and ("loop" in low or "amplification" in low or "declared" in low and "<!" in msg):
            raise BadOpml("This OPML file uses XML entities, which OPML never needs; it was not imported.") from e
        try:
            root = etree.fromstring(data, _TOLERANT)  # real exporters write small mistakes (a bare &)
        except etree.XMLSyntaxError as e2:
            raise BadOpml(f"This is not a readable OPML file ({e2}).") from e2
    except ValueError as e:  # e.g. a str with an encoding declaration, or bytes lxml refuses
        raise BadOpml(f"This is not a readable OPML file ({e}).") from e
    if root is None or not isinstance(root.tag, str) or etree.QName(root).localname.lower() != "opml":
        raise BadOpml("This is not an OPML file.")
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise BadOpml("This OPML file declares XML entities, which OPML never needs; it was not imported.")
    body = next((c for c in root if isinstance(c.tag, str) and etree.QName(c).localname.lower() == "body"), None)
    if body is None:
        return []
    out: dict[str, OpmlFeed] = {}

    def attr(el, name: str) -> str:
        for k, v in el.attrib.items():
            if k.lower() == name.lower():
                return (v or "").strip()
        return ""

    def walk(el, path: list[str]) -> None:
        for child in el:
            if not isinstance(child.tag, str) or etree.QName(child).localname.lower() != "outline":
                continue
            raw = attr(child, "xmlUrl")
            url = urls.valid(_feed_scheme(raw)) if raw else None
            label = normalise.line(attr(child, "title") or attr(child, "text"), 500)
            if raw:
                if url and url not in out:  # duplicates: the first occurrence wins; bad addresses are skipped
                    out[url] = OpmlFeed(url, label, "/".join(path) or None, urls.valid(attr(child, "htmlUrl")))
                walk(child, path)  # some exporters nest under a feed; keep the folder of the parent
            else:
                walk(child, path + [label.replace("/", "∕")] if label else path)

    walk(body, [])
    return list(out.values())


def _feed_scheme(url: str) -> str:
    """feed://host/x and feed:https://host/x (old browser links) as http(s)."""
    url = url.strip()
    if url.lower().startswith("feed:"):
        rest = url[5:]
        if rest.lower().startswith(("http://", "https://")):
            return rest
        return "http:" + rest if rest.startswith("//") else "http://" + rest
    return url


def build_opml(feeds: list[Feed]) -> str:
    """An OPML 2.0 document with folders as nested outlines; import(export(x)) == x."""
    tree: dict = {}
    for f in feeds:
        node = tree
        for part in (f.folder.split("/") if f.folder else []):
            node = node.setdefault(("folder", part), {})
        node.setdefault(("feeds", None), []).append(f)

    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<opml version="2.0">',
             "  <head><title>Tidings subscriptions</title></head>", "  <body>"]

    def emit(node: dict, depth: int) -> None:
        pad = "  " * depth
        for f in node.get(("feeds", None), []):
            extra = f" htmlUrl={quoteattr(f.site_url)}" if f.site_url else ""
            lines.append(f'{pad}<outline type="rss" text={quoteattr(f.title)} title={quoteattr(f.title)} '
                         f"xmlUrl={quoteattr(f.url)}{extra}/>")
        for key in sorted((k for k in node if k[0] == "folder"), key=lambda k: k[1].lower()):
            lines.append(f"{pad}<outline text={quoteattr(key[1])} title={quoteattr(key[1])}>")
            emit(node[key], depth + 1)
            lines.append(f"{pad}</outline>")

    emit(tree, 2)
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)
