"""Small builders shared by the core tests (no network)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.models import Enclosure, ParsedEntry, ParsedFeed

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)


def entry(i: int, *, title: str | None = None, body: str | None = None, published: datetime | None = None,
          url: str | None = "auto", **kw) -> ParsedEntry:
    return ParsedEntry(
        guid=kw.pop("guid", f"guid-{i}"),
        url=f"https://example.org/post/{i}" if url == "auto" else url,
        title=title if title is not None else f"Post number {i}",
        authors=kw.pop("authors", "Ada Writer"),
        published=published or (T0 - timedelta(hours=i)),
        updated=None,
        summary=kw.pop("summary", f"<p>Summary of post {i}.</p>"),
        content_html=body if body is not None else f"<p>{'Full body text of the post. ' * 40}({i})</p>",
        enclosures=kw.pop("enclosures", []),
    )


def feed(n: int, title: str = "Example feed", **kw) -> ParsedFeed:
    return ParsedFeed(title=title, site_url="https://example.org/", entries=[entry(i, **kw) for i in range(n)])


__all__ = ["T0", "entry", "feed", "Enclosure"]
