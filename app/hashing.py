"""The content hash of a feed entry: how the store notices changed content.

One definition, used by the parser (which computes it with the entry, possibly in a parse process)
and by the store (for entries handed to it without one). Changing it makes every stored article
look changed once (one rewrite at the next sync), so change it only on purpose.
"""

from __future__ import annotations

import hashlib


def content_hash(*parts) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(str(p if p is not None else "").encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def entry_hash(e) -> str:
    """The hash of a ParsedEntry's stored fields."""
    return content_hash(e.title, e.url, e.authors, e.summary, e.content_html, e.published, e.updated)
