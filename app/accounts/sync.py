"""One account's sync, the same for every protocol: send the queue, then mirror the server.

1. Send the local changes queued in the store, in order: runs of read/star changes go as batches
   (per article and flag only the last change counts), subscribe / unsubscribe / move one by one.
   A change the server refuses is marked with its words and kept; when the server stops answering
   the rest stays queued for the next sync.
2. Mirror the feed list and folders.
3. Fetch the ids of the unread, the starred and the newly arrived items, then the items this
   library lacks, a batch at a time (progress: done / total), each batch stored as it comes, so a
   sync cut short resumes where it stopped.
4. Make every article's read and starred state the server's, except an article with a change of
   its own still queued: an unsent change made here wins (the README's conflict rule).

Each store write is one short transaction; none is held across a request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from app import html
from app.accounts.base import AccountClient
from app.errors import AccountError, ChangeRefused, NotFound, ServerRefused
from app.models import Account, AccountChange, AccountProgress, AccountSyncReport, ParsedEntry, ParsedFeed
from app.store import feed_url_of
from app.sync.parse import prepare

log = logging.getLogger(__name__)
ARTICLE_ACTIONS = {"read", "unread", "star", "unstar"}
Progress = Callable[[AccountProgress], None]


def sync_account(store, account: Account, client: AccountClient, *, clock: Callable[[], datetime],
                 on_progress: Progress | None = None, cancel: threading.Event | None = None,
                 fetch_full_text: bool = True, fetch_images: bool = True) -> AccountSyncReport:
    """Raises AccountError (WrongPassword, ServerUnreachable, ...) after recording it on the account."""
    started = time.monotonic()
    report = AccountSyncReport(account.id)
    cancel = cancel or threading.Event()

    def progress(stage, done=0, total=None, message=""):
        if on_progress is not None:
            on_progress(AccountProgress(account.id, stage, done, total, message))

    try:
        progress("login", message=f"Signing in to {account.server}")
        client.login()
        progress("sending", message="Sending changes made here")
        send_queue(store, account.id, client, report, cancel)
        if cancel.is_set():
            report.cancelled = True
            return report
        progress("folders", message="Reading the subscriptions")
        remote_feeds = client.feeds()
        mapping = store.mirror_account_feeds(account.id, remote_feeds, now=clock(),
                                             fetch_full_text=fetch_full_text, fetch_images=fetch_images)
        report.feeds = len(remote_feeds)
        progress("state", message="Reading what is unread and starred")
        state_before = store.account_state(account.id)
        client.begin(state_before)
        listing = "unread"
        client.on_listing = lambda n: progress("state", n, None, f"Listed {n:,} {listing} articles")
        unread = client.unread_ids()
        listing = "starred"
        starred = client.starred_ids()
        listing = "new"
        new, state = client.new_ids(state_before)
        client.on_listing = None
        wanted = unread | starred | new
        missing = sorted(wanted - set(store.account_article_ids(account.id, list(wanted))), key=_newest_first)
        progress("articles", 0, len(missing), f"Fetching {len(missing)} articles")
        done = 0
        for batch in client.items(missing):
            report.new += store_items(store, account.id, batch, mapping, now=clock())
            done += len(batch)
            progress("articles", min(done, len(missing)), len(missing), f"Fetched {done} of {len(missing)} articles")
            if cancel.is_set():
                report.cancelled = True
                return report
        report.read_changed, report.star_changed = store.mirror_account_state(account.id, unread, starred)
        store.record_account_sync(account.id, now=clock(), state=state)
        progress("done", report.new, report.new, "Up to date")
        return report
    except (KeyError, TypeError, AttributeError, ValueError) as e:  # an answer of a shape nobody expected
        log.exception("account %s: an unexpected answer from %s", account.id, account.server)
        err = ServerRefused(f"{account.server} answered in a way Tidings does not understand ({type(e).__name__}).",
                            "Check that the address and server type are right; details are in the log.")
        report.error = str(err)
        store.record_account_sync(account.id, now=clock(), error=str(err))
        raise err from e
    except AccountError as e:
        report.error = str(e)
        store.record_account_sync(account.id, now=clock(), error=str(e))
        raise
    finally:
        report.requests = client.requests
        report.seconds = time.monotonic() - started


def _newest_first(remote_id: str):
    """Ids in the order to fetch: numeric ones (tt-rss, short Google Reader form) highest first."""
    tail = remote_id.rsplit("/", 1)[-1]
    try:
        return -int(tail, 16) if "/" in remote_id else -int(tail)
    except ValueError:
        return 0


# --- 1. the queue ----------------------------------------------------------------------------------


def segments(changes: Iterable[AccountChange]) -> list[list[AccountChange]]:
    """The queue cut into what is sent together: a run of article changes, or one feed change."""
    out: list[list[AccountChange]] = []
    for c in changes:
        if c.action in ARTICLE_ACTIONS and out and out[-1][0].action in ARTICLE_ACTIONS:
            out[-1].append(c)
        else:
            out.append([c])
    return out


def collapse(run: list[AccountChange]) -> dict[str, list[str]]:
    """{action: remote ids} for a run of article changes: per article and flag, its last change."""
    last: dict[tuple[str, str], str] = {}
    for c in run:
        flag = "read" if c.action in ("read", "unread") else "star"
        last[(c.remote_id, flag)] = c.action
    out: dict[str, list[str]] = {}
    for (rid, _), action in last.items():
        out.setdefault(action, []).append(rid)
    return out


def send_queue(store, account_id: int, client: AccountClient, report: AccountSyncReport,
               cancel: threading.Event) -> None:
    while not cancel.is_set():
        changes = store.account_changes(account_id)
        if not changes:
            return
        for seg in segments(changes):
            if cancel.is_set():
                return
            try:
                if seg[0].action in ARTICLE_ACTIONS:
                    for action, ids in collapse(seg).items():
                        if action in ("read", "unread"):
                            client.set_read(ids, action == "read")
                        else:
                            client.set_starred(ids, action == "star")
                else:
                    _send_feed_change(store, client, seg[0])
            except ChangeRefused as e:
                store.account_changes_rejected([c.id for c in seg], e.explain())
                report.rejected += len(seg)
                continue
            store.account_changes_sent([c.id for c in seg])
            report.sent += len(seg)


def _send_feed_change(store, client: AccountClient, c: AccountChange) -> None:
    if c.action == "subscribe":
        client.subscribe(feed_url_of(c.url or ""), c.folder or None)
    elif c.action == "unsubscribe":
        if c.remote_id:
            client.unsubscribe(c.remote_id)
    elif c.action == "move":
        remote_id = c.remote_id
        if remote_id is None:  # moved before the server listed it: its id may be known by now
            try:
                remote_id = store.feed(c.feed_id).remote_id
            except NotFound:
                return  # unsubscribed meanwhile
        if remote_id is None:
            raise ChangeRefused("The feed is not on the server yet, so it cannot be moved there.",
                                "Sync once more after the subscription went through, then retry.")
        client.move(remote_id, c.folder or None)


# --- 3. storing items ------------------------------------------------------------------------------


def store_items(store, account_id: int, items, mapping: dict[str, int], *, now: datetime) -> int:
    """Store a batch of server items as articles of their feeds (guid = remote id), with the
    server's flags. Items of feeds the server no longer lists are left out. Returns how many."""
    by_feed: dict[int, list] = {}
    for it in items:
        feed_id = mapping.get(it.feed_remote_id)
        if feed_id is not None:
            by_feed.setdefault(feed_id, []).append(it)
    stored = 0
    for feed_id, batch in by_feed.items():
        entries = [ParsedEntry(guid=it.remote_id, url=it.url, title=it.title, authors=it.authors,
                               published=it.published, updated=None, summary="",
                               content_html=html.sanitize(it.content_html, it.url)) for it in batch]
        parsed = prepare(ParsedFeed(title="", site_url=None, entries=entries))
        for e, it in zip(parsed.entries, batch):
            e.guid = it.remote_id  # prepare() may not touch the id the server's state is keyed on
        store.save_entries(feed_id, parsed, now=now)
        stored += store.mirror_account_flags([(feed_id, it.remote_id, it.read, it.starred) for it in batch], account_id)
    return stored
