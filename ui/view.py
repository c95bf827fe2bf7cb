"""What the middle pane shows: a typed value instead of strings like "feed:3" parsed everywhere.

    View.parse("feed:3") == View.feed(3);  str(View.feed(3)) == "feed:3"
    View.folder("News/Tech").query(t) -> ArticleQuery(folder="News/Tech")

The printed form is what the sources model keys its rows by and what ui.ini remembers, so it
stays the one it always was ("smart:unread", "feed:3", "folder:News/Tech", "search:zebra").
"""

from __future__ import annotations

from dataclasses import dataclass

from app.models import ArticleQuery

SMART = ("today", "unread", "starred", "digests", "podcasts", "hidden")
SMART_LABELS = {"today": "Today", "unread": "All unread", "starred": "Starred", "digests": "Digests",
                "podcasts": "Podcasts", "hidden": "Hidden"}  # Podcasts: audio/video; Hidden: what rules hid


@dataclass(frozen=True)
class View:
    kind: str  # "today" | "unread" | "starred" | "digests" | "podcasts" | "hidden" | "folder" | "feed" | "search"
    id: int | str | None = None  # the feed id, the folder path, the search text

    # --- making one -------------------------------------------------------------------------------

    @classmethod
    def feed(cls, feed_id: int) -> "View":
        return cls("feed", int(feed_id))

    @classmethod
    def folder(cls, path: str) -> "View":
        return cls("folder", path)

    @classmethod
    def search(cls, text: str) -> "View":
        return cls("search", text)

    @classmethod
    def smart(cls, name: str) -> "View":
        if name not in SMART:
            raise ValueError(f"no smart view {name!r}")
        return cls(name)

    @classmethod
    def parse(cls, key: "str | View | None") -> "View | None":
        """The view a key names, or None for a key that names none (an old ui.ini, a typo)."""
        if key is None or isinstance(key, View):
            return key
        kind, sep, value = str(key).partition(":")
        if not sep:
            return None
        if kind == "smart":
            return cls(value) if value in SMART else None
        if kind == "feed":
            try:
                return cls.feed(int(value))
            except ValueError:
                return None
        if kind in ("folder", "search") and value:
            return cls(kind, value)
        return None

    def __str__(self) -> str:
        if self.kind in SMART:
            return f"smart:{self.kind}"
        return f"{self.kind}:{self.id}"

    # --- what it is -------------------------------------------------------------------------------

    @property
    def is_feed(self) -> bool:
        return self.kind == "feed"

    @property
    def is_folder(self) -> bool:
        return self.kind == "folder"

    @property
    def is_search(self) -> bool:
        return self.kind == "search"

    @property
    def is_digests(self) -> bool:
        return self.kind == "digests"

    @property
    def lists_articles(self) -> bool:
        return self.kind != "digests"

    @property
    def feed_id(self) -> int | None:
        return self.id if self.kind == "feed" else None  # type: ignore[return-value]

    def label(self, feed_titles: dict[int, str] | None = None) -> str:
        """What the list header calls it: 'All unread', a feed's title, a folder's last part, 'Search “x”'."""
        if self.kind in SMART:
            return SMART_LABELS[self.kind]
        if self.kind == "search":
            return f"Search “{self.id}”"
        if self.kind == "folder":
            return str(self.id).rpartition("/")[2]
        return (feed_titles or {}).get(self.id, "Feed")  # type: ignore[arg-type]

    def query(self, tidings, *, newest_first: bool = True, unread_only: bool = False,
              search_ids: tuple[int, ...] | None = None) -> ArticleQuery | None:
        """The articles it lists (None for Digests, and for a search before its results are in)."""
        kw = {"newest_first": newest_first, "unread": unread_only}
        if self.kind == "feed":
            return ArticleQuery(feed_id=self.id, **kw)  # type: ignore[arg-type]
        if self.kind == "folder":
            return ArticleQuery(folder=str(self.id), **kw)
        if self.kind == "today":
            return tidings.today_query(**kw)
        if self.kind == "starred":
            return ArticleQuery(starred=True, **kw)
        if self.kind == "unread":
            return ArticleQuery(**{**kw, "unread": True})
        if self.kind == "podcasts":
            return ArticleQuery(podcasts=True, **kw)
        if self.kind == "hidden":
            return ArticleQuery(hidden=True, **kw)
        if self.kind == "search":
            return ArticleQuery(ids=search_ids, **kw) if search_ids is not None else None
        return None
