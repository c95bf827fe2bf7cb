"""Plain data the facade hands out. No behaviour beyond small derived views."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone


@dataclass(frozen=True)
class Feed:
    id: int
    url: str
    title: str
    site_url: str | None = None
    folder: str | None = None  # folder path, nested folders joined with "/"
    unread: int = 0
    last_error: str | None = None
    error_count: int = 0
    last_success: datetime | None = None
    fetch_full_text: bool = True
    fetch_images: bool = True
    etag: str | None = None
    last_modified: str | None = None
    next_attempt: datetime | None = None  # back-off / Retry-After: do not fetch before this
    notify: bool = False  # a desktop notification for its new articles
    always_translate: bool = False  # translate its articles when they are opened
    keep_days: int | None = None  # retention override (None: Settings, 0: forever)
    keep_count: int | None = None  # retention override (None: Settings, 0: no limit)

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "url": self.url,
            "site_url": self.site_url,
            "folder": self.folder,
            "unread": self.unread,
            "last_error": self.last_error,
        }


@dataclass(frozen=True)
class Enclosure:
    url: str
    type: str | None = None
    length: int | None = None


@dataclass(frozen=True)
class Article:
    id: int
    feed_id: int
    feed_title: str
    guid: str
    url: str | None
    title: str
    authors: str
    published: datetime | None  # UTC, aware
    updated: datetime | None
    first_seen: datetime
    summary: str  # sanitised HTML
    content_html: str  # sanitised HTML
    text: str  # extracted full text (plain), "" when none
    read: bool
    starred: bool
    images: dict[str, str] = field(default_factory=dict)  # remote URL -> local cache path
    enclosures: tuple[Enclosure, ...] = ()

    @property
    def date(self) -> datetime:
        return self.published or self.first_seen

    @property
    def display_title(self) -> str:
        """The title, or for untitled posts (micro-blogs, some JSON Feeds) their opening words."""
        return self.title or untitled_title(self.text)

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "feed_id": self.feed_id,
            "feed_title": self.feed_title,
            "title": self.title,
            "url": self.url,
            "authors": self.authors,
            "published": iso(self.published),
            "updated": iso(self.updated),
            "first_seen": iso(self.first_seen),
            "summary": self.summary,
            "content_html": self.content_html,
            "text": self.text,
            "read": self.read,
            "starred": self.starred,
            "images": sorted(set(self.images.values())),
            "enclosures": [e.__dict__ for e in self.enclosures],
        }


@dataclass(frozen=True)
class ArticleRow:
    """What a list view needs: small, cheap to fetch many of."""

    id: int
    feed_id: int
    feed_title: str
    title: str
    date: datetime
    read: bool
    starred: bool


@dataclass(frozen=True)
class ArticleQuery:
    """Which articles a view shows. Empty query: all articles, newest first."""

    feed_id: int | None = None
    folder: str | None = None  # a folder and its subfolders
    unread: bool = False
    starred: bool = False
    since: datetime | None = None  # dated (published, else first seen) at/after this instant
    until: datetime | None = None  # ... and before this instant
    news: bool = False  # only news, not an archive that came with a subscription (store.NEWS_SQL)
    ids: tuple[int, ...] | None = None  # e.g. search results
    hidden: bool = False  # the Hidden view: only the articles a rule hid (otherwise they are left out)
    podcasts: bool = False  # the Podcasts view: articles with an audio or video enclosure
    limit: int | None = None
    newest_first: bool = True


# --- what the sync pipeline hands the store -------------------------------------------


@dataclass
class ParsedEntry:
    guid: str  # never empty: derived from link/title/date when the feed gives none
    url: str | None
    title: str
    authors: str
    published: datetime | None
    updated: datetime | None
    summary: str  # sanitised HTML
    content_html: str  # sanitised HTML
    enclosures: list[Enclosure] = field(default_factory=list)
    # Derived, filled by the parser (app.sync.parse.prepare) so this CPU work happens where parsing
    # does: html_to_text(content_html or summary) and app.hashing.entry_hash. None: the store
    # computes them. Whoever changes a field after parsing must reset these to None.
    text: str | None = None
    content_hash: str | None = None


@dataclass
class ParsedFeed:
    title: str
    site_url: str | None
    entries: list[ParsedEntry]
    total_entries: int | None = None  # entries the feed had, when more than `entries` (cut by size)
    notice: str | None = None  # what the reader should know about this fetch (e.g. entries left out)


@dataclass
class FeedResult:
    """What one feed's sync came to; the UI's progress bar and the CLI's stderr show these."""

    feed_id: int
    url: str
    title: str
    status: str  # "updated" | "not_modified" | "error" | "cancelled"
    new: int = 0
    updated: int = 0
    error: str | None = None  # plain words, as stored on the feed
    error_kind: str | None = None  # the app.errors class name
    fulltext: int = 0  # article pages fetched and extracted for offline reading (sync's extras)
    images: int = 0  # images downloaded into the local cache


@dataclass
class SyncReport:
    results: list[FeedResult] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0
    parsed_in_process: int = 0  # feeds parsed in the parse process, not the parse thread (app.sync.engine)

    @property
    def new(self) -> int:
        return sum(r.new for r in self.results)

    @property
    def failed(self) -> list[FeedResult]:
        return [r for r in self.results if r.status == "error"]


# --- digests ---------------------------------------------------------------------------


@dataclass
class DigestItem:
    """One story of a digest. ``text`` is its main text (the summary, the narrative's prose, or an
    *In brief* line); ``parts`` the style's other per-story parts in the order the style declares
    them (e.g. "why_now", "quote", "takeaway", "deep_dive"; see app.digest.styles), each plain text."""

    section: str  # "lead" | "also" | "brief"
    title: str
    text: str
    article_ids: list[int]
    sources: list[str]  # feed titles, in article order
    url: str | None = None  # the first cited article's original link
    why: str | None = None  # "why it matters", for the lead (also in ``parts`` as "why")
    parts: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "section": self.section,
            "title": self.title,
            "text": self.text,
            "article_ids": list(self.article_ids),
            "sources": list(self.sources),
            "url": self.url,
            "why": self.why,
            "parts": dict(self.parts),
        }


@dataclass
class Digest:
    """A written digest. ``shape`` names its layout ("briefing", "narrative", "analyst", or a
    person's own style's), ``layout`` the parts each section's stories have, in order, and
    ``labels`` the headings it was written with, so it renders the same after its style changes."""

    date: str  # YYYY-MM-DD (local day)
    style: str
    model: str | None  # None when extractive
    extractive: bool
    headline: str
    items: list[DigestItem]
    closing: str
    id: int | None = None
    created: datetime | None = None
    notice: str | None = None  # e.g. "Ollama is not running: this digest is extractive."
    opening: str = ""  # the narrative's opening / the analyst's editorial paragraph
    shape: str = "briefing"
    labels: dict[str, str] = field(default_factory=dict)
    layout: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "date": self.date,
            "style": self.style,
            "shape": self.shape,
            "model": self.model,
            "extractive": self.extractive,
            "headline": self.headline,
            "opening": self.opening,
            "items": [i.to_json() for i in self.items],
            "closing": self.closing,
            "notice": self.notice,
            "labels": dict(self.labels),
            "layout": {k: list(v) for k, v in self.layout.items()},
        }


def untitled_title(text: str, limit: int = 100) -> str:
    """What readers show for a post without a title: its opening words, cut at a word."""
    words = " ".join((text or "").split())
    if len(words) <= limit:
        return words
    return words[:limit].rsplit(" ", 1)[0] + "…"


def utc_now() -> datetime:
    """The default clock (collaborators take a clock so tests can swap it)."""
    return datetime.now(timezone.utc)


def iso(d: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as the CLI's JSON promises."""
    if d is None:
        return None
    return d.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
