"""The content hash of a feed entry: how the store notices changed content.

One definition, used by the parser (which computes it with the entry, possibly in a parse process)
and by the store (for entries handed to it without one). Changing it makes every stored article
look changed once (one rewrite at the next sync), so change it only on purpose.
"""

from __future__ import annotations

import hashlib


def content_hash(*parts) -> str:
    # One update over the parts joined: the same digest as updating part by part (each part, then a
    # NUL), in one call instead of two per part.
    joined = "\x00".join([str(p if p is not None else "") for p in parts]) + "\x00" if parts else ""
    return hashlib.blake2b(joined.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def entry_hash(e) -> str:
    """The hash of a ParsedEntry's stored fields."""
    return content_hash(e.title, e.url, e.authors, e.summary, e.content_html, e.published, e.updated)
