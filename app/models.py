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
    icon: str | None = None  # the feed's icon, relative to the image dir (Tidings.image_path), when cached
    icon_checked: datetime | None = None  # when the icon was last looked for (refreshed weekly)
    icon_source: str | None = None  # the address the icon came from
    account_id: int | None = None  # a server account's feed (app/accounts/); None: the local library
    remote_id: str | None = None  # its id on that server (None: subscribed here, not yet sent)
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
            "icon": self.icon,
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
    # Why the article page's full text is not there, once Tidings gave up on it (plain words, a
    # sentence: the reader shows "Full text unavailable: <this>"); None otherwise.
    fulltext_error: str | None = None

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
            "fulltext_error": self.fulltext_error,
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
    icon_url: str | None = None  # the feed's own icon: Atom icon/logo, RSS image, JSON Feed favicon/icon


@dataclass
class FeedResult:
    """What one feed's sync came to; the UI's progress bar and the CLI's stderr show these."""

    feed_id: int
    url: str
    title: str
    status: str  # "updated" | "not_modified" | "error" | "cancelled" | "offline" (not reached: no error kept)
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
    # No server answered and several could not be reached at all: the machine is offline. Those feeds
    # have status "offline", no error and no back-off: the next sync fetches them (app.sync.decide.is_offline).
    offline: bool = False

    @property
    def new(self) -> int:
        return sum(r.new for r in self.results)

    @property
    def failed(self) -> list[FeedResult]:
        return [r for r in self.results if r.status == "error"]

    @property
    def waiting(self) -> list[FeedResult]:
        """Feeds not fetched because the machine is offline."""
        return [r for r in self.results if r.status == "offline"]

    def summary(self) -> str:
        """The result in plain words, as the window's status line and the CLI show it."""
        if self.offline:
            n = len(self.waiting)
            return f"You are offline; {n} feed{'s' if n != 1 else ''} will be fetched when you are back."
        failed = self.failed
        parts = [f"{self.new} new article{'s' if self.new != 1 else ''}"]
        if failed:
            parts.append(f"{len(failed)} feed{'s' if len(failed) != 1 else ''} failed (marked ⚠ in the list; "
                         "hover for the reason)")
        prefix = "Sync cancelled" if self.cancelled else "Sync finished"
        return f"{prefix}: " + ", ".join(parts) + "."


@dataclass(frozen=True)
class Changes:
    """What a facade write changed (Anki's OpChanges), so each pane reloads only what concerns it.

    `articles`: the articles whose read/starred state changed (the ids asked for, for a flag
    write; every one it marked, for a mark-all-read, so it can be undone); `feeds`: the feed list
    (titles, folders, addresses, options) changed; `counts`: unread/starred counts changed.
    `count` is how many rows the write changed, what the old int return said (it still compares
    and formats as that number, for callers written against it)."""

    count: int = 0
    articles: tuple[int, ...] = ()
    read: bool | None = None  # the read state `articles` now have, when the write set one
    starred: bool | None = None
    feeds: bool = False
    counts: bool = False

    def __eq__(self, other):
        if isinstance(other, int) and not isinstance(other, bool):
            return self.count == other
        if isinstance(other, Changes):
            return (self.count, self.articles, self.read, self.starred, self.feeds, self.counts) == \
                (other.count, other.articles, other.read, other.starred, other.feeds, other.counts)
        return NotImplemented

    def __hash__(self):
        return hash((self.count, self.articles, self.feeds, self.counts))

    def __int__(self) -> int:
        return self.count

    __index__ = __int__

    def __format__(self, spec: str) -> str:
        return format(self.count, spec)


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


# --- server accounts (app/accounts/) -----------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """A server account: its feeds, folders, read and starred state live on the server."""

    id: int
    kind: str  # "ttrss" | "greader"
    name: str
    server: str
    username: str
    last_sync: datetime | None = None
    last_error: str | None = None  # plain words, from the last sync that failed
    feeds: int = 0
    pending: int = 0  # local changes waiting to be sent
    rejected: int = 0  # ... that the server refused (shown, kept until retried or dropped)

    def to_json(self) -> dict:
        return {"id": self.id, "kind": self.kind, "name": self.name, "server": self.server,
                "username": self.username, "feeds": self.feeds, "pending": self.pending,
                "rejected": self.rejected, "last_error": self.last_error,
                "last_sync": self.last_sync.isoformat() if self.last_sync else None}


@dataclass(frozen=True)
class AccountChange:
    """One queued local change (the store's `account_changes` row)."""

    id: int
    account_id: int
    action: str  # read | unread | star | unstar | subscribe | unsubscribe | move
    remote_id: str | None = None
    feed_id: int | None = None
    url: str | None = None
    folder: str | None = None
    error: str | None = None


@dataclass
class RemoteFeed:
    """A subscription as a server lists it."""

    remote_id: str
    url: str
    title: str = ""
    site_url: str | None = None
    folder: str | None = None


@dataclass
class RemoteItem:
    """An article as a server hands it out (HTML not yet sanitised)."""

    remote_id: str
    feed_remote_id: str
    url: str | None
    title: str
    authors: str
    published: datetime | None
    content_html: str
    read: bool
    starred: bool


@dataclass
class AccountProgress:
    """How far an account's sync has come: for the progress bar and the CLI."""

    account_id: int
    stage: str  # "login" | "sending" | "folders" | "articles" | "state" | "done"
    done: int = 0
    total: int | None = None  # None: not known (yet)
    message: str = ""


@dataclass
class AccountSyncReport:
    """What one account's sync did."""

    account_id: int
    sent: int = 0  # queued changes the server took
    rejected: int = 0  # ... and refused (kept in the queue, with the server's words)
    feeds: int = 0  # subscriptions the server lists
    new: int = 0  # articles fetched from the server
    read_changed: int = 0  # articles whose read state followed the server's
    star_changed: int = 0
    requests: int = 0  # HTTP requests sent
    seconds: float = 0.0
    cancelled: bool = False
    error: str | None = None  # the sync failed: what the person is told (the queue is kept)

    def to_json(self) -> dict:
        return dict(self.__dict__)
