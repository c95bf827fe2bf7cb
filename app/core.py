"""The facade: every front end (desktop UI, CLI, self-test) drives Tidings through `Tidings`.

It owns the store and the collaborators (HTTP transport, clock, LLM client), which callers may
inject so tests can swap them. Methods are synchronous; the UI calls the slow ones from its
background helper, never on the GUI thread.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

from dataclasses import replace

from app.errors import AccountError, BadAddress, FetchFailed, NotFound, WrongPassword
from app.models import (Account, AccountChange, AccountSyncReport, Article, ArticleQuery, ArticleRow, Changes,
                        Feed, FeedResult, SyncReport, utc_now)
from app.store import Store

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
_ACCOUNT_LOCKS_GUARD = threading.Lock()  # makes each Tidings' per-account sync locks

# Settings with their defaults; the UI's settings dialog edits these.
DEFAULT_SETTINGS = {
    "sync_interval_minutes": 30,  # 0: no timed sync
    "full_text": True,  # default for new feeds
    "images": True,
    "mark_read_delay_seconds": 1.0,  # -1: never mark read on open
    "theme": "system",  # system | light | dark
    "font_size": 11,
    "ollama_host": None,  # None: OLLAMA_HOST or http://127.0.0.1:11434
    "ollama_model": None,  # None: choose from the installed ones
    "digest_style": "briefing",
    "embed_model": "all-minilm",  # Ollama embedding model for story grouping
    "digest_personal": True,  # rank stories by what the person reads and stars
}


def default_data_dir() -> Path:
    env = os.environ.get("TIDINGS_DATA_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("Tidings", appauthor=False))



def make_tidings(data_dir: str | Path | None = None, *, transport=None, clock: Clock | None = None,
                 llm=None) -> "Tidings":
    return Tidings(Path(data_dir) if data_dir else default_data_dir(), transport=transport, clock=clock, llm=llm)


class Tidings:
    def __init__(self, data_dir: Path, *, transport=None, clock: Clock | None = None, llm=None):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.image_dir = self.data_dir / "images"
        self.store = Store(self.data_dir / "tidings.sqlite")
        self.transport = transport
        self.clock: Clock = clock or utc_now
        self._llm = llm

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Tidings":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- time -----------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock()

    def local_day_bounds(self, day=None) -> tuple[datetime, datetime]:
        """[start, end) in UTC of a local calendar day (default: today)."""
        local_now = self.now().astimezone()
        day = day or local_now.date()
        start = datetime.combine(day, time.min).astimezone()  # the system's local zone on that day
        end = datetime.combine(day + timedelta(days=1), time.min).astimezone()
        return start.astimezone(timezone.utc), end.astimezone(timezone.utc)

    # --- settings -------------------------------------------------------------------------------

    def setting(self, key: str, default=None):
        return self.store.get_setting(key, DEFAULT_SETTINGS.get(key) if default is None else default)

    def set_setting(self, key: str, value) -> None:
        self.store.set_setting(key, value)

    # --- feeds ----------------------------------------------------------------------------------

    def feeds(self) -> list[Feed]:
        return self.store.feeds()

    def feed(self, feed_id: int) -> Feed:
        return self.store.feed(feed_id)

    def discover(self, url: str) -> list[tuple[str, str]]:
        """Feeds a URL offers: itself if it is a feed, else the page's advertised feeds. Network I/O."""
        from app.sync.discover import discover

        url = url.strip()
        if "://" in url:
            return discover(url, transport=self.transport)
        # "example.com/feed" as people type it: https first, plain http if that cannot connect.
        try:
            return discover("https://" + url, transport=self.transport)
        except FetchFailed:
            return discover("http://" + url, transport=self.transport)

    def add_feed(self, url: str, folder: str | None = None, title: str | None = None) -> Feed:
        """Subscribe to a feed URL, or to the first feed a site page advertises. Network I/O (discovery)."""
        found = self.discover(url)
        feed_url, found_title = found[0]
        return self.subscribe(feed_url, folder=folder, title=title or found_title)

    def subscribe(self, feed_url: str, folder: str | None = None, title: str | None = None) -> Feed:
        """Subscribe to a known feed URL, no network (e.g. one picked from `discover`)."""
        feed_id, _ = self.store.add_feed(feed_url, title=title or "", folder=folder, **self._new_feed_defaults())
        return self.store.feed(feed_id)

    def _new_feed_defaults(self) -> dict:
        """What a newly subscribed feed starts with: now, and the offline-reading settings."""
        return {"now": self.now(), "fetch_full_text": bool(self.setting("full_text")),
                "fetch_images": bool(self.setting("images"))}

    def rename_feed(self, feed_id: int, title: str | None) -> Changes:
        self.store.update_feed(feed_id, user_title=(title or "").strip() or None)
        return Changes(count=1, feeds=True)

    def move_feed(self, feed_id: int, folder: str | None) -> Changes:
        self.store.update_feed(feed_id, folder=(folder or "").strip("/ ") or None)
        return Changes(count=1, feeds=True, counts=True)  # folder totals move with it

    def set_feed_url(self, feed_id: int, url: str) -> Changes:
        """A feed's new address (the site moved its feed); the next sync fetches it from there."""
        from app import urls

        url = (url or "").strip()
        if "://" not in url and url:
            url = "https://" + url
        url = urls.check(url)
        other = next((f for f in self.store.feeds() if f.url == url and f.id != feed_id), None)
        if other is not None:
            raise BadAddress(f"You already follow {url} (as “{other.title}”).",
                             hint="Unsubscribe from one of the two instead.")
        self.store.update_feed(feed_id, url=url)
        return Changes(count=1, feeds=True)

    def remove_feed(self, feed_id: int) -> Changes:
        self.store.delete_feed(feed_id)
        return Changes(count=1, feeds=True, counts=True)

    def set_feed_options(self, feed_id: int, fetch_full_text: bool | None = None,
                         fetch_images: bool | None = None) -> Changes:
        fields = {}
        if fetch_full_text is not None:
            fields["fetch_full_text"] = int(fetch_full_text)
        if fetch_images is not None:
            fields["fetch_images"] = int(fetch_images)
        self.store.update_feed(feed_id, **fields)
        return Changes(count=1 if fields else 0, feeds=bool(fields))

    def rename_folder(self, old: str, new: str) -> Changes:
        """Rename (or move, with "/") a folder: every feed in it and its subfolders follows."""
        old, new = old.strip("/ "), (new or "").strip("/ ")
        n = 0
        for f in self.store.feeds():
            if f.folder and (f.folder == old or f.folder.startswith(old + "/")):
                rest = f.folder[len(old):].strip("/")
                self.store.update_feed(f.id, folder="/".join(p for p in (new, rest) if p) or None)
                n += 1
        return Changes(count=n, feeds=bool(n), counts=bool(n))

    def remove_folder(self, name: str) -> Changes:
        """Delete a folder: its feeds (and its subfolders' feeds) move up to where it was."""
        name = name.strip("/ ")
        return self.rename_folder(name, name.rpartition("/")[0])

    def folders(self) -> list[str]:
        names = set()
        for f in self.feeds():
            if f.folder:
                parts = f.folder.split("/")
                for i in range(1, len(parts) + 1):
                    names.add("/".join(parts[:i]))
        return sorted(names, key=str.lower)

    def import_opml(self, source: str | Path | bytes) -> int:
        """Subscribe to every feed in an OPML file; return how many were new."""
        from app.opml import parse_opml

        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        added = 0
        for entry in parse_opml(data):
            _, created = self.store.add_feed(entry.url, title=entry.title, folder=entry.folder,
                                             site_url=entry.site_url, **self._new_feed_defaults())
            added += created
        if not isinstance(source, bytes):
            self.import_rules_beside(source)  # issue 11: rules exported beside the OPML
        return added

    def export_opml(self) -> str:
        from app.opml import build_opml

        return build_opml(self.feeds())

    # --- articles -------------------------------------------------------------------------------

    def today_query(self, **kw) -> ArticleQuery:
        """The *Today* view: the same articles as the day's digest (published today, not an archive)."""
        start, end = self.local_day_bounds()
        return ArticleQuery(since=start, until=end, news=True, **kw)

    def article_ids(self, query: ArticleQuery | None = None) -> list[int]:
        return self.store.article_ids(query or ArticleQuery())

    def article_rows(self, ids: Sequence[int]) -> list[ArticleRow]:
        return self.store.article_rows(ids)

    def articles(self, query: ArticleQuery | None = None) -> list[Article]:
        return self.articles_by_id(self.article_ids(query))

    def articles_by_id(self, ids: Sequence[int]) -> list[Article]:
        """Whole articles for `ids`, in that order (e.g. search results, newest first)."""
        return self.store.articles_by_id(ids)

    def article(self, article_id: int) -> Article:
        return self.store.article(article_id)

    def article_body_html(self, article: Article) -> str:
        """The article's body as the reading pane shows it: sanitised again at render time (whatever
        was stored), without the title the feed repeats at its top."""
        from app.html import drop_leading_title, sanitize

        return drop_leading_title(sanitize(article.content_html or article.summary or "", article.url), article.title)

    def image_path(self, relative: str) -> Path:
        """Absolute path of a cached image; refuses anything outside the image cache."""
        path = (self.image_dir / relative).resolve()
        if not path.is_relative_to(self.image_dir.resolve()):
            raise NotFound(f"{relative} is not in the image cache.")
        return path

    def search(self, text: str, limit: int = 500) -> list[int]:
        return self.store.visible(self.store.search(text, limit=limit))  # hidden articles: the Hidden view only

    def update_search(self) -> int:
        return self.store.update_search()

    def mark_read(self, ids: Sequence[int], read: bool = True) -> Changes:
        ids = tuple(ids)
        n = self.store.mark_read(ids, read)
        return Changes(count=n, articles=ids, read=read, counts=n > 0)

    def mark_feed_read(self, feed_id: int) -> Changes:
        self.store.feed(feed_id)  # NotFound for a wrong id
        return self.mark_all_read(ArticleQuery(feed_id=feed_id))

    def mark_all_read(self, query: ArticleQuery | None = None) -> Changes:
        """Mark a view read; the Changes list every article it marked, so the UI can undo it."""
        q = replace(query or ArticleQuery(), unread=True, limit=None)
        ids = tuple(self.store.article_ids(q))
        n = self.store.mark_read(ids, True) if ids else 0
        return Changes(count=n, articles=ids, read=True, counts=n > 0)

    def set_starred(self, article_id: int, starred: bool = True) -> Changes:
        self.store.set_starred(article_id, starred)
        return Changes(count=1, articles=(article_id,), starred=starred, counts=True)

    def star(self, ids: Sequence[int], starred: bool = True) -> Changes:
        """Star (or unstar) many articles at once, atomically: all of them, or none (NotFound)."""
        ids = tuple(ids)
        n = self.store.set_starred_many(ids, starred)
        return Changes(count=n, articles=ids, starred=starred, counts=n > 0)

    def counts(self) -> dict:
        """Unread per feed, and the smart views' counts: {"feeds": {id: n}, "unread", "today", "starred"}."""
        return self.store.counts(*self.local_day_bounds())

    # --- sync -----------------------------------------------------------------------------------

    def sync(self, feed_ids: Sequence[int] | None = None, *,
             on_progress: Callable[[FeedResult, int, int], None] | None = None,
             cancel: threading.Event | None = None, automatic: bool = False,
             on_account_progress: Callable | None = None) -> SyncReport:
        """Fetch, parse and store every feed (or just `feed_ids`), then the offline extras
        (full text, images). Per-feed failures are recorded on the feed, never raised.

        An `automatic` (timed) sync skips feeds backing off after errors; one a person asked for
        retries them, since the network may just be back. A server's Retry-After always holds.
        Server accounts (app/accounts/) sync first, each in its own failure boundary (its error is
        recorded on it); `on_account_progress(AccountProgress)` follows them."""
        if feed_ids is None and self.store.accounts():  # server accounts first; their extras come below
            self.sync_accounts(cancel=cancel, extras=False, on_progress=on_account_progress)  # AccountProgress
        if feed_ids is None and not automatic:
            feed_ids = [f.id for f in self.store.feeds_to_sync(None, self.now(), honour_backoff=False)]

        if self.sync_in_process and self.transport is None and self.clock is utc_now:
            from app.sync import process as sync_process

            n = len(feed_ids) if feed_ids is not None else self.store.feed_count()
            if sync_process.wanted(n):
                try:
                    return sync_process.run(self.store.path, self.image_dir, feed_ids, on_progress=on_progress,
                                            cancel=cancel)
                except sync_process.SyncProcessFailed as e:  # synced here instead; what it stored is kept
                    log.warning("syncing in this process: %s", e)
        from app.sync import Syncer  # (here: a sync in its own process needs none of the HTTP stack)

        syncer = Syncer(self.store, transport=self.transport, clock=self.clock, image_dir=self.image_dir)
        return syncer.run(feed_ids, on_progress=on_progress, cancel=cancel)

    # The desktop window sets this: a sync of many feeds then runs in a process of its own
    # (app/sync/process.py), so its work never holds the window's GIL. Tests and the CLI sync here.
    sync_in_process = False

    # --- server accounts (app/accounts/): Tiny Tiny RSS, Google Reader API --------------------------
    # An account's feeds are ordinary feeds with an account id: views, search and the digest treat
    # them like local ones, and move_feed / remove_feed / mark_read / star queue their change for the
    # server by themselves (the schema's triggers). Passwords live in the OS keyring (`credentials`).

    account_transport = None  # an httpx (sync) transport for the account clients; tests swap it

    @property
    def credentials(self):
        if getattr(self, "_credentials", None) is None:
            from app.accounts.credentials import CredentialStore

            self._credentials = CredentialStore(self.data_dir)
        return self._credentials

    @credentials.setter
    def credentials(self, value) -> None:
        self._credentials = value

    def accounts(self) -> list[Account]:
        return self.store.accounts()

    def account(self, account_id: int) -> Account:
        return self.store.account(account_id)

    def account_kinds(self) -> dict[str, str]:
        """{kind: what a person calls it}, for the Add account form and `account add --kind`."""
        from app.accounts import KINDS, client_class

        return {k: client_class(k).label for k in KINDS}

    def _account_client(self, kind: str, server: str, username: str, password: str):
        from app.accounts import client_class

        return client_class(kind)(server, username, password, transport=self.account_transport)

    def add_account(self, kind: str, server: str, username: str, password: str, *, name: str | None = None,
                    allow_password_file: bool = False, check: bool = True) -> Account:
        """Add a server account. `check`: sign in first (network), so a wrong password or a switched-off
        API is said now (WrongPassword, ApiDisabled, ServerUnreachable). The password goes to the OS
        keyring (NoKeyring without one, unless `allow_password_file`: a 0600 file beside the library)."""
        from app.accounts.credentials import key

        server = server.strip().rstrip("/")
        if "://" not in server:
            server = "https://" + server
        if check:
            with self._account_client(kind, server, username, password) as client:
                client.login()
        else:
            from app.accounts import client_class

            client_class(kind)  # ValueError for an unknown kind
        try:
            account_id = self.store.add_account(kind, name or f"{username}@{server.split('://', 1)[1]}", server,
                                                username, now=self.now())
        except ValueError:
            raise AccountError(f"There is already a {kind} account for {username} on {server}.",
                               "Sync it, or remove it first.") from None
        try:
            self.credentials.save(key(kind, server, username), password, allow_file=allow_password_file)
        except BaseException:
            self.store.remove_account(account_id)
            raise
        return self.store.account(account_id)

    def remove_account(self, account_id: int) -> None:
        """Forget an account here: its feeds and articles, its queue and its password. The server is not told."""
        from app.accounts.credentials import key

        a = self.store.account(account_id)
        self.store.remove_account(account_id)
        self.credentials.delete(key(a.kind, a.server, a.username))

    def sync_account(self, account_id: int, *, on_progress=None, cancel: threading.Event | None = None,
                     extras: bool = True) -> AccountSyncReport:
        """Send this account's queued changes, then mirror its server (app.accounts.sync); then fetch
        full text and images of its new articles (`extras`). Raises AccountError in plain words
        (recorded on the account too); the queue is never lost. Network I/O: call it off the GUI thread."""
        with self._account_lock(account_id):  # the window's Sync and Settings' "Sync now" may overlap
            return self._sync_account(account_id, on_progress=on_progress, cancel=cancel, extras=extras)

    def _account_lock(self, account_id: int) -> threading.Lock:
        with _ACCOUNT_LOCKS_GUARD:
            locks = self.__dict__.setdefault("_account_locks", {})
            return locks.setdefault(account_id, threading.Lock())

    def _sync_account(self, account_id: int, *, on_progress, cancel, extras: bool) -> AccountSyncReport:
        from app.accounts.credentials import key
        from app.accounts.sync import sync_account

        a = self.store.account(account_id)
        password = self.credentials.get(key(a.kind, a.server, a.username))
        if password is None:
            raise WrongPassword(f"Tidings has no password for {a.username} on {a.server} (the keyring lost it?).",
                                "Remove the account and add it again; its queued changes are sent then.")
        with self._account_client(a.kind, a.server, a.username, password) as client:
            report = sync_account(self.store, a, client, clock=self.clock, on_progress=on_progress, cancel=cancel,
                                  fetch_full_text=bool(self.setting("full_text")),
                                  fetch_images=bool(self.setting("images")))
        if extras and not report.cancelled:
            ids = [f.id for f in self.store.feeds() if f.account_id == account_id]
            if ids:
                from app.sync import Syncer

                Syncer(self.store, transport=self.transport, clock=self.clock,
                       image_dir=self.image_dir).run(ids, cancel=cancel)
        return report

    def sync_accounts(self, *, on_progress=None, cancel: threading.Event | None = None,
                      extras: bool = True) -> list[AccountSyncReport]:
        """Every account; one account's trouble is recorded on it (`report.error`), the others go on."""
        reports = []
        for a in self.store.accounts():
            if cancel is not None and cancel.is_set():
                break
            try:
                reports.append(self.sync_account(a.id, on_progress=on_progress, cancel=cancel, extras=extras))
            except AccountError as e:
                reports.append(AccountSyncReport(a.id, error=e.explain()))
        return reports

    def account_subscribe(self, account_id: int, url: str, *, folder: str | None = None,
                          title: str | None = None) -> Feed:
        """Subscribe an account to a feed address: stored here at once, sent at the next sync. No network."""
        from app.urls import valid

        self.store.account(account_id)  # NotFound
        clean = valid(url.strip())
        if not clean:
            raise BadAddress(f"“{url}” is not a feed address Tidings can use.")
        feed_id = self.store.account_subscribe(account_id, clean, now=self.now(), title=title or "",
                                               folder=(folder or "").strip("/ ") or None,
                                               fetch_full_text=bool(self.setting("full_text")),
                                               fetch_images=bool(self.setting("images")))
        return self.store.feed(feed_id)

    def account_changes(self, account_id: int, *, rejected: bool | None = None) -> list[AccountChange]:
        """The queue (None: all; True: what the server refused, with its words in `error`)."""
        return self.store.account_changes(account_id, rejected=rejected)

    def retry_account_changes(self, account_id: int, ids: Sequence[int] | None = None) -> int:
        return self.store.account_changes_retry(account_id, ids)

    def drop_account_changes(self, account_id: int, ids: Sequence[int]) -> int:
        return self.store.account_changes_drop(account_id, ids)

    # --- digest (app/digest/service.py does the work) -------------------------------------------

    @property
    def _digests(self):
        if getattr(self, "_digest_service", None) is None:
            from app.digest.service import DigestService

            self._digest_service = DigestService(self.store, self._llm, lambda: self.clock(), self.data_dir)
        return self._digest_service

    def digest(self, date=None, *, style=None, model=None, folders=None, since_last=False, extractive=False,
               on_event=None, cancel=None):
        """Write, store and return the digest of a local day (default today). Never fails for
        Ollama trouble: the digest is then extractive and `notice` says why. `on_event(DigestEvent)`
        streams text and progress from the calling thread; setting `cancel` stops the model."""
        return self._digests.digest(date, style=style, model=model, folders=folders, since_last=since_last,
                                    extractive=extractive, on_event=on_event, cancel=cancel)

    def digests(self):
        return self._digests.digests()

    def get_digest(self, digest_id: int):
        return self._digests.get_digest(digest_id)

    def digest_styles(self) -> list[str]:
        return self._digests.digest_styles()

    def digest_markdown(self, digest) -> str:
        return self._digests.digest_markdown(digest)

    def digest_html(self, digest) -> str:
        return self._digests.digest_html(digest)

    def digest_draft(self):
        """An empty DigestDraft: the UI applies the DigestEvents a `digest` run streams to it and
        shows it with `digest_view_html(draft, writing=True)` while the digest is being written."""
        from app.digest.render import DigestDraft

        return DigestDraft()

    def digest_date_label(self, day: str) -> str:
        """'Tuesday 21 November 2026' for a digest's YYYY-MM-DD day."""
        from app.digest.render import long_date

        return long_date(day)

    def digest_view_html(self, digest, *, link: str = "#0b57d0", muted: str = "#666666", writing: bool = False) -> str:
        """A digest (or a DigestDraft being written) as the reading pane shows it, in every shape."""
        from app.digest.render import to_view_html

        return to_view_html(digest, link=link, muted=muted, writing=writing)

    def llm_models(self) -> list[str]:
        return self._digests.llm_models()

    def pull_model(self, name: str, on_progress=None) -> None:
        self._digests.pull_model(name, on_progress)

    # --- issue 11: rules (app/rules.py) -------------------------------------------------------------

    def rules(self):
        return self.store.rules()

    def rule(self, rule_id: int):
        for r in self.store.rules():
            if r.id == rule_id:
                return r
        raise NotFound(f"There is no rule {rule_id}.")

    def add_rule(self, rule):
        """Store a new rule (checked: BadRule says why it cannot be used); it applies from the next sync."""
        from app.rules import validate

        validate(rule)
        if rule.scope == "feed":
            self.store.feed(rule.feed_id)  # NotFound for a wrong feed
        return self.rule(self.store.add_rule(rule, now=self.now()))

    def update_rule(self, rule) -> None:
        from app.rules import validate

        validate(rule)
        self.store.update_rule(rule, now=self.now())

    def remove_rule(self, rule_id: int) -> None:
        self.store.delete_rule(rule_id)

    def apply_rules(self, rule_ids=None, *, dry_run: bool = False, rules=None, cancel=None):
        """Apply rules (all enabled, or `rule_ids`, or unsaved `rules`) to the articles already stored.
        Returns RulesApplied: how many articles match, and how many each action changes (a preview
        when `dry_run`). Notify is for new articles only. Reads in batches, writes in short transactions."""
        from app.rules import ACTION_COLUMNS, RuleSet, RulesApplied, applies_to

        chosen = rules if rules is not None else [r for r in self.store.rules()
                                                  if r.enabled and (rule_ids is None or r.id in set(rule_ids))]
        if rule_ids is not None and rules is None:
            known = {r.id for r in self.store.rules()}
            missing = [i for i in rule_ids if i not in known]
            if missing:
                raise NotFound(f"There is no rule {missing[0]}.")
        report = RulesApplied()
        changes: dict[str, list[int]] = {}
        for feed in self.feeds():
            ruleset = RuleSet([r for r in chosen if applies_to(r, feed.id, feed.folder)])
            if not ruleset:
                continue
            after = 0
            while True:
                if cancel is not None and cancel.is_set():
                    return report
                rows = self.store.rule_candidates([feed.id], after, 2000)
                if not rows:
                    break
                after = rows[-1]["id"]
                for r in rows:
                    out = ruleset.evaluate({"title": r["title"], "author": r["authors"], "text": r["text"],
                                            "link": r["url"] or "", "feed": feed.title})
                    acts = out.actions & set(ACTION_COLUMNS)
                    if not out.actions:
                        continue
                    report.matched += 1
                    for a in acts:
                        if not r[ACTION_COLUMNS[a]]:
                            changes.setdefault(a, []).append(r["id"])
        report.changed = {a: len(ids) for a, ids in changes.items()}
        if not dry_run:
            for a, ids in changes.items():
                self.store.set_flags(ACTION_COLUMNS[a], ids, True)
        return report

    def hidden_ids(self) -> list[int]:
        return self.store.article_ids(ArticleQuery(hidden=True))

    def unhide(self, ids) -> int:
        return self.store.set_flags("hidden", ids, False)

    def export_rules(self) -> str:
        """Rules as JSON, with feed scopes by feed URL so they travel with the OPML."""
        import json

        urls = {f.id: f.url for f in self.feeds()}
        out = []
        for r in self.store.rules():
            d = r.to_json()
            d.pop("id", None)
            if r.scope == "feed":
                d["feed_url"] = urls.get(r.feed_id)
                d.pop("feed_id", None)
            out.append(d)
        return json.dumps({"tidings_rules": 1, "rules": out}, ensure_ascii=False, indent=1) + "\n"

    @staticmethod
    def rules_beside(opml: str | Path) -> Path:
        """The rules' side file of an OPML file: feeds.opml -> feeds.rules.json."""
        opml = Path(opml)
        return opml.with_name(opml.stem + ".rules.json")

    def export_rules_beside(self, opml: str | Path) -> Path | None:
        """Write the rules beside an exported OPML (when there are any); the side file's path."""
        if not self.store.rules():
            return None
        path = self.rules_beside(opml)
        path.write_text(self.export_rules(), encoding="utf-8")
        return path

    def import_rules_beside(self, opml: str | Path) -> int:
        path = self.rules_beside(opml)
        return self.import_rules(path.read_bytes()) if path.is_file() else 0

    def import_rules(self, data: str | bytes) -> int:
        """Add the rules of an export (feed scopes matched by URL). All are checked first: one bad
        rule (BadRule, with the reason) adds none. Returns how many were added."""
        import json

        from app.rules import BadRule, Rule

        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError) as e:
            raise BadRule(f"The rules file is not JSON ({e}).", "Give a file written by `tidings rules export`.") from None
        items = doc.get("rules") if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            raise BadRule("The rules file holds no list of rules.", "Give a file written by `tidings rules export`.")
        ids = {f.url: f.id for f in self.feeds()}
        rules = []
        for d in items:
            if isinstance(d, dict) and d.get("scope") == "feed" and "feed_url" in d:
                d = dict(d)
                if d["feed_url"] not in ids:
                    raise BadRule(f"Rule “{d.get('name')}” is for a feed you do not follow ({d['feed_url']}).",
                                  "Import the OPML first (it brings the feeds), then the rules.")
                d["feed_id"] = ids[d.pop("feed_url")]
            d = {k: v for k, v in d.items() if k != "id"} if isinstance(d, dict) else d
            rules.append(Rule.from_json(d))
        for r in rules:
            self.store.add_rule(r, now=self.now())
        return len(rules)

    # --- issue 11: per-feed options, retention and compaction (app/retention.py) -------------------

    def set_feed_extras(self, feed_id: int, *, notify: bool | None = None, always_translate: bool | None = None,
                        keep_days=..., keep_count=...) -> None:
        """Notify / always translate on a feed, and its retention override (None: follow Settings;
        0: keep forever / no limit; `...`: leave as is)."""
        fields = {}
        if notify is not None:
            fields["notify"] = int(notify)
        if always_translate is not None:
            fields["always_translate"] = int(always_translate)
        for name, value in (("keep_days", keep_days), ("keep_count", keep_count)):
            if value is not ...:
                if value is not None and (not isinstance(value, int) or value < 0):
                    raise ValueError(f"{name} must be a whole number of 0 or more, or None")
                fields[name] = value
        self.store.feed(feed_id)  # NotFound for a wrong id
        self.store.update_feed(feed_id, **fields)

    @property
    def download_dir(self) -> Path:
        chosen = self.setting("download_dir")
        return Path(chosen).expanduser() if chosen else self.data_dir / "downloads"

    def apply_retention(self, *, dry_run: bool = False, cancel=None):
        """Remove what the retention settings let go (never starred or digest-cited articles), with
        their images and downloads; a removed entry never comes back from its feed. RetentionReport."""
        from app.retention import run_retention

        return run_retention(self.store, self.feeds(), days=int(self.setting("retention_days") or 0),
                             per_feed=int(self.setting("retention_per_feed") or 0), now=self.now(),
                             image_dir=self.image_dir, dry_run=dry_run, cancel=cancel)

    def apply_retention_daily(self):
        """apply_retention at most once a local day (the app calls it after each sync); None when
        there are no limits or it already ran today. Compaction stays a choice (Clean up library)."""
        today = self.now().astimezone().date().isoformat()
        if self.setting("retention_last_run") == today:
            return None
        # (not by listing the feeds: 5,000 of them cost ~0.1 s of Python after every sync, with the
        # GIL, alongside the window's own refresh of the feed list: a 106 ms stall of the window)
        if not (self.setting("retention_days") or self.setting("retention_per_feed") or self.store.has_keep_limits()):
            return None
        report = self.apply_retention()
        self.set_setting("retention_last_run", today)
        return report

    def library_sizes(self):
        from app.retention import sizes

        return sizes(self.store.path, self.image_dir, self.download_dir)

    def compact(self):
        """Merge the search index and VACUUM the library; (sizes before, sizes after). Slow on a big
        library (seconds) and needs the library to itself: the UI runs it in the background."""
        before = self.library_sizes()
        self.store.update_search()
        self.store.optimize_search()
        self.store.vacuum()
        return before, self.library_sizes()

    # --- issue 11: local translation (app/translate.py) ---------------------------------------------

    def translation_language(self) -> str:
        from app.translate import language_name

        return language_name(self.setting("translate_language"))

    def _translator(self, language, model):
        """(client, model, language) ready to translate: OllamaUnavailable / ModelMissing if not."""
        from app.digest.service import is_embedding_model
        from app.translate import language_name

        client = self._digests.llm()
        installed = [m for m in client.list_models() if not is_embedding_model(m)]
        chosen = client.choose_model(model or self.setting("ollama_model"), installed)
        return client, chosen, language_name(language or self.setting("translate_language"))

    def _run_translation(self, paragraphs, language, model, on_event, cancel):
        from app.translate import translate

        client, chosen, lang = self._translator(language, model)
        return translate(paragraphs, language=lang, model=chosen, client=client, cache_get=self.store.cache_get,
                         cache_put=self.store.cache_put, on_event=on_event, cancel=cancel)

    def translate_article(self, article_id: int, *, language: str | None = None, model: str | None = None,
                          on_event=None, cancel=None):
        """The article's title and paragraphs in `language` (default Settings, else the system's), by
        the local model, streamed through `on_event(TranslationEvent)`, each paragraph cached.
        Translation.source[0] / paragraphs[0] are the title."""
        from app.html import html_to_text
        from app.translate import paragraphs_of_text

        a = self.article(article_id)
        body = paragraphs_of_text(a.text or html_to_text(a.content_html or a.summary))
        return self._run_translation([a.display_title or a.title or "(untitled)", *body], language, model,
                                     on_event, cancel)

    def translate_digest(self, digest_id: int, *, language: str | None = None, model: str | None = None,
                         on_event=None, cancel=None):
        """A stored digest's Markdown, paragraph by paragraph; headings and list marks are kept as they are."""
        import re

        text = self.digest_markdown(self.get_digest(digest_id))
        blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
        marks = [re.match(r"^(#+\s+|[-*]\s+|>\s+)?", b).group(0) or "" for b in blocks]
        bodies = [b[len(m):] for b, m in zip(blocks, marks)]
        result = self._run_translation(bodies, language, model, on_event, cancel)
        result.marks = marks  # type: ignore[attr-defined]
        return result


    # --- issue 11: notifications (app/notify.py) -----------------------------------------------------

    def take_notifications(self):
        """What to announce since the last call, batched ("5 new in Security"): new articles of
        feeds and folders marked notify, and rule matches with the notify action. Each article is
        handed out once. An empty list when notifications are off in Settings (the queue is dropped)."""
        from app.notify import batch

        pending = self.store.take_notify_queue()
        if not pending or not self.setting("notify_enabled"):
            return []
        return batch(pending, self.setting("notify_folders") or [])

    def set_folder_notify(self, folder: str, on: bool = True) -> None:
        folder = folder.strip("/ ")
        if folder not in self.folders():
            raise NotFound(f"There is no folder “{folder}”.")
        folders = [f for f in (self.setting("notify_folders") or []) if f != folder] + ([folder] if on else [])
        self.set_setting("notify_folders", folders)

    def summarise_due(self) -> bool:
        """Is the timed Summarise today (Settings' summarise_at, "HH:MM" local) due now?"""
        from app.notify import summarise_due

        return summarise_due(self.now().astimezone(), self.setting("summarise_at"), self.setting("summarise_last_run"))

    def run_scheduled_digest(self, cancel=None):
        """Write today's digest for the timer (once a day), and return its notification."""
        from app.notify import digest_ready

        self.set_setting("summarise_last_run", self.now().astimezone().date().isoformat())
        d = self.digest(cancel=cancel)
        return digest_ready(d.id, d.headline, len(d.items))


    # --- issue 11: podcasts and video (app/downloads.py) ---------------------------------------------

    def media(self, article_id: int):
        """The article's playable enclosures (audio, video) with download and played state."""
        from app.downloads import Media, is_media
        from app.models import Enclosure

        self.store.article(article_id)  # NotFound
        out = []
        for r in self.store.media_rows([article_id]):
            if is_media(Enclosure(r["url"], r["type"], r["length"])):
                out.append(Media(r["article_id"], r["url"], r["type"], r["length"], r["state"], r["received"],
                                 r["total"], r["path"], bool(r["played"]), r["error"]))
        return out

    def _one_media(self, article_id: int, url: str | None):
        items = self.media(article_id)
        if not items:
            raise NotFound(f"Article {article_id} has no audio or video.")
        if url is None:
            return items[0]
        for m in items:
            if m.url == url:
                return m
        raise NotFound(f"Article {article_id} has no enclosure {url}.")

    def download_media(self, article_id: int, url: str | None = None, *, on_progress=None, cancel=None):
        """Download an enclosure (default the article's first) into the downloads folder, resuming a
        partial one; refused over Settings' download_max_mb. Returns the Media, now downloaded."""
        from app.downloads import DownloadCancelled, download, file_name

        m = self._one_media(article_id, url)
        if m.downloaded:
            return m
        dest = self.download_dir / file_name(article_id, m.url)
        cap = int(float(self.setting("download_max_mb") or 500) * 1_000_000)
        self.store.record_download(article_id, m.url, now=self.now(), path=str(dest), state="partial", error=None)
        saved = {"t": 0.0}

        def progress(received, total):
            import time as _time

            if on_progress is not None:
                on_progress(received, total)
            if _time.monotonic() - saved["t"] > 2:  # a resumed download shows where it stopped
                saved["t"] = _time.monotonic()
                self.store.record_download(article_id, m.url, now=self.now(), received=received, total=total)

        try:
            size = download(m.url, dest, max_bytes=cap, transport=self.transport, on_progress=progress, cancel=cancel)
        except DownloadCancelled:
            part = dest.with_name(dest.name + ".part")
            self.store.record_download(article_id, m.url, now=self.now(), state="partial",
                                       received=part.stat().st_size if part.exists() else 0)
            raise
        except Exception as e:
            self.store.record_download(article_id, m.url, now=self.now(), state="failed", error=str(e))
            raise
        self.store.record_download(article_id, m.url, now=self.now(), state="done", received=size, total=size)
        return self._one_media(article_id, m.url)

    def play_target(self, article_id: int, url: str | None = None) -> str:
        """What the system player opens: the downloaded file if there is one, else the web address.
        Marks it played."""
        m = self._one_media(article_id, url)
        self.set_played(article_id, True, m.url)
        self.store.mark_read([article_id])  # a played episode is a read article: the Podcasts view shows it so
        return m.path if m.downloaded else m.url

    def set_played(self, article_id: int, played: bool = True, url: str | None = None) -> None:
        m = self._one_media(article_id, url)
        self.store.record_download(article_id, m.url, now=self.now(), played=int(played))

    def remove_download(self, article_id: int, url: str | None = None) -> None:
        m = self._one_media(article_id, url)
        if m.path:
            for p in (Path(m.path), Path(m.path + ".part")):
                p.unlink(missing_ok=True)
        self.store.record_download(article_id, m.url, now=self.now(), state="none", path=None, received=0, error=None)



# Issue 11's settings with their defaults (retention is off until the person sets a limit).
DEFAULT_SETTINGS.update({
    "retention_days": 0,  # 0: keep forever
    "retention_per_feed": 0,  # 0: no limit
    "translate_language": None,  # None: the system's language
    "notify_folders": [],  # folders whose new articles are announced
    "notify_enabled": True,
    "summarise_at": None,  # "HH:MM": write today's digest in the background then, and notify
    "download_dir": None,  # None: DATA_DIR/downloads
    "download_max_mb": 500,  # the largest enclosure Tidings downloads
})
