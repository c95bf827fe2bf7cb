"""Notifications, decided in the core: which new articles to announce (queued in the store's insert
transaction by app.rules.RuleEngine: feeds and folders marked "notify", rules with the notify
action) and how to batch them ("5 new in Security"). The front end only shows what
`Tidings.take_notifications` returns; clicking one opens `article_ids[0]`.

Also the timed *Summarise today*: `summarise_due` decides, the UI runs the digest in the background.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time


@dataclass(frozen=True)
class Pending:
    """A queued article, as the store hands it over."""
    article_id: int
    reason: str  # a rule's name, or "" for a notify feed or folder
    feed_id: int
    feed_title: str
    folder: str | None
    feed_notify: bool
    title: str


@dataclass(frozen=True)
class Notification:
    title: str  # "5 new in Security"
    body: str  # the first titles
    article_ids: tuple[int, ...]  # newest first; a click opens the first
    feed_id: int | None = None  # when they are all from one feed (a click opens it there)
    kind: str = "articles"  # "articles" | "digest"
    digest_id: int | None = None

    def to_json(self) -> dict:
        return {"title": self.title, "body": self.body, "article_ids": list(self.article_ids),
                "feed_id": self.feed_id, "kind": self.kind, "digest_id": self.digest_id}


MAX_TITLES = 3
MAX_NOTIFICATIONS = 5  # more groups than this become one "N new articles" notification


def group_of(p: Pending, notify_folders: Sequence[str]) -> str:
    """What a pending article is announced under: its rule, else its feed (marked notify), else
    the deepest notify folder holding it."""
    if p.reason:
        return p.reason
    if p.feed_notify or not p.folder:
        return p.feed_title
    inside = [f for f in notify_folders if p.folder == f or p.folder.startswith(f + "/")]
    return max(inside, key=len).rpartition("/")[2] if inside else p.feed_title


def batch(pending: Sequence[Pending], notify_folders: Sequence[str] = ()) -> list[Notification]:
    """One notification per group, newest articles first; too many groups collapse into one."""
    groups: dict[str, list[Pending]] = {}
    for p in sorted(pending, key=lambda p: -p.article_id):
        groups.setdefault(group_of(p, notify_folders), []).append(p)
    if len(groups) > MAX_NOTIFICATIONS:
        everything = [p for g in groups.values() for p in g]
        return [_one(f"{len(everything)} new articles", everything, extra=f" in {len(groups)} groups")]
    return [_one(name, items) for name, items in groups.items()]


def _one(name: str, items: list[Pending], extra: str = "") -> Notification:
    titles = [p.title or "(untitled)" for p in items[:MAX_TITLES]]
    more = len(items) - len(titles)
    body = "\n".join(titles) + (f"\n…and {more} more" if more > 0 else "")
    if len(items) == 1:
        title = items[0].feed_title if name == items[0].feed_title else f"{name}: {items[0].feed_title}"
    elif extra:
        title = name + extra
    else:
        title = f"{len(items)} new in {name}"
    feeds = {p.feed_id for p in items}
    return Notification(title=title, body=body, article_ids=tuple(p.article_id for p in items),
                        feed_id=feeds.pop() if len(feeds) == 1 else None)


def parse_time(value: str | None) -> time | None:
    """'07:30' -> time(7, 30); None/'' -> None; anything else: ValueError with the reason."""
    if not value:
        return None
    try:
        hh, mm = value.strip().split(":")
        return time(int(hh), int(mm))
    except (ValueError, TypeError):
        raise ValueError(f"{value!r} is not a time of day like 07:30") from None


def summarise_due(now_local: datetime, at: str | None, last_run: str | None) -> bool:
    """Is the timed *Summarise today* due: past its time today, and not run today yet?"""
    when = parse_time(at)
    if when is None:
        return False
    today: date = now_local.date()
    return now_local.time() >= when and last_run != today.isoformat()


def digest_ready(digest_id: int, headline: str, stories: int) -> Notification:
    return Notification(title="Today's digest is ready", body=f"{headline}\n{stories} stories" if headline else
                        f"{stories} stories", article_ids=(), kind="digest", digest_id=digest_id)
