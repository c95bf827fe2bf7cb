"""OPML import and export. Nested outlines become folder paths ("News/Tech").

Import is tolerant of what real exporters write: `text` without `title`, `xmlUrl` in any case,
duplicates, categories-only outlines. The XML parser never resolves entities or reaches the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from lxml import etree

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


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True,
                          load_dtd=False, remove_comments=True)


def parse_opml(data: bytes) -> list[OpmlFeed]:
    # libxml2 expands internal entities in attribute values even with resolve_entities=False,
    # and OPML has no use for a DTD: refuse entity declarations outright (billion laughs, XXE).
    if b"<!ENTITY" in data[:65536].upper():
        raise BadOpml("This OPML file declares XML entities, which OPML never needs; it was not imported.")
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as e:
        raise BadOpml(f"This is not a readable OPML file ({e}).") from e
    if root is None or etree.QName(root).localname.lower() != "opml":
        raise BadOpml("This is not an OPML file.")
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
            url = attr(child, "xmlUrl")
            label = attr(child, "title") or attr(child, "text")
            if url:
                if url not in out:  # duplicates: the first occurrence wins
                    out[url] = OpmlFeed(url, label, "/".join(path) or None, attr(child, "htmlUrl") or None)
                walk(child, path)  # some exporters nest under a feed; keep the folder of the parent
            else:
                walk(child, path + [label.replace("/", "∕")] if label else path)

    walk(body, [])
    return list(out.values())


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
