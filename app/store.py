"""The local SQLite store: one file, WAL, one connection per thread, short write transactions.

Nothing here does network I/O, and no transaction is held open across it: callers fetch,
then hand finished results to one short `with self._write():` block.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from app import schema
from app.errors import DiskFull, NotFound, StoreCorrupt, StoreError, StoreLocked
from app.html import image_urls
from app.models import (
    Account,
    AccountChange,
    Article,
    ArticleQuery,
    ArticleRow,
    Digest,
    DigestItem,
    Enclosure,
    Feed,
    ParsedFeed,
    RemoteFeed,
    untitled_title,
)

from app.sync import decide
from app.sync.decide import TEASER_CHARS  # noqa: F401 - where callers used to find it
BATCH = 500  # ids per IN (...) query


def to_db(d: datetime | None) -> str | None:
    """Datetimes are stored as fixed-width UTC ISO strings, so they sort as text."""
    if d is None:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return d.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_db(s: str | None) -> datetime | None:
    if not s:
        return None
    # fromisoformat reads to_db's format (with its "Z") ~20x faster than strptime: it shows when
    # 5,000 feeds are listed (two dates each) or thousands of rows are.
    return datetime.fromisoformat(s)


# The feeds table's columns a Feed is made of, in the order _feed reads them.
_FEED_COLUMNS = ("id", "url", "title", "user_title", "site_url", "folder", "unread", "last_error", "error_count",
                 "last_success", "fetch_full_text", "fetch_images", "etag", "last_modified", "next_attempt", "icon",
                 "icon_checked", "icon_source", "account_id", "remote_id", "notify", "always_translate",
                 "keep_days", "keep_count")
_FEED_FIELDS = tuple(f.name for f in fields(Feed))


@dataclass
class SaveResult:
    new: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)


class Store:
    digest_save_wait = 30.0  # seconds a finished digest waits for a busy library (save_digest)

    def __init__(self, path: str | Path, *, busy_timeout: float = 10.0, read_only: bool | None = None):
        """`read_only`: None (default) opens read-only by itself when the library cannot be written
        (a read-only folder, file or disk): reading works, every write raises StoreError saying so."""
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._ro_uri: str | None = None
        self.read_only = bool(read_only) if read_only is not None else _looks_read_only(self.path)
        if not self.read_only:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = self._db
                # WAL once, at creation; it persists in the file.
                if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    db.execute("PRAGMA journal_mode = WAL")
                schema.migrate(db)
                return
            except (OSError, sqlite3.DatabaseError) as e:
                if read_only is not None or not self.path.is_file() or not _is_read_only_error(e):
                    if isinstance(e, sqlite3.DatabaseError):
                        raise _translate(e) from e
                    raise StoreError(f"Tidings cannot create its library in {self.path.parent} "
                                     f"({e.strerror or e}).", "Pick a folder you can write to with --data-dir.") from e
                self.close()
                self.read_only = True
        self._open_read_only()

    def _open_read_only(self) -> None:
        """Open the existing library for reading only: `mode=ro`, else (the folder is read-only and the
        WAL's shared-memory file cannot be made) `immutable=1`, which reads the file as it is."""
        if not self.path.is_file():
            raise StoreError(f"There is no library at {self.path}, and the folder is read-only.",
                             "Pick a folder you can write to with --data-dir.")
        from urllib.parse import quote

        base = "file:" + quote(str(self.path.resolve()))
        last: Exception | None = None
        for uri in (base + "?mode=ro", base + "?immutable=1"):
            self._ro_uri = uri
            try:
                db = self._db
                version = db.execute("PRAGMA user_version").fetchone()[0]
                db.execute("SELECT count(*) FROM feeds").fetchone()
            except (StoreError, sqlite3.DatabaseError) as e:
                last = e
                self.close()
                continue
            if version != schema.LATEST:
                raise StoreError(f"The library at {self.path} is read-only and was written by "
                                 f"{'an older' if version < schema.LATEST else 'a newer'} Tidings (schema {version}).",
                                 "Open it once where it can be written, or with the matching Tidings.")
            return
        if isinstance(last, sqlite3.DatabaseError):
            raise _translate(last) from last
        raise last  # type: ignore[misc]

    # --- connections and transactions --------------------------------------------------------

    @property
    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                if self._ro_uri:
                    db = sqlite3.connect(self._ro_uri, uri=True, isolation_level=None, check_same_thread=False,
                                         timeout=self.busy_timeout)
                else:
                    db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                         timeout=self.busy_timeout)
                db.row_factory = sqlite3.Row
                db.execute("PRAGMA foreign_keys = ON")
                if not self._ro_uri:
                    db.execute("PRAGMA synchronous = NORMAL")  # safe in WAL: a crash loses at most the last commits
            except sqlite3.DatabaseError as e:
                raise _translate(e) from e
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    def close(self) -> None:
        with self._lock:
            for db in self._connections:
                try:
                    db.close()
                except sqlite3.Error:
                    pass
            self._connections.clear()
        self._local = threading.local()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise StoreError(f"The library is read-only ({self.path.parent}): Tidings can show it but not change it.",
                             "Make the folder and its files writable (or copy them somewhere writable, "
                             "then use --data-dir), and try again.")
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as e:
            raise _translate(e) from e
        try:
            yield db
            db.execute("COMMIT")
        except BaseException as e:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if isinstance(e, sqlite3.DatabaseError):
                raise _translate(e) from e
            raise

    def _read(self, sql: str, params: Sequence = ()) -> list[sqlite3.Row]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as e:
            raise _translate(e) from e

    # --- feeds ---------------------------------------------------------------------------------

    _FEED_SQL = "SELECT " + ", ".join("f." + c for c in _FEED_COLUMNS) + " FROM feeds f"  # f.unread: triggers

    def add_feed(self, url: str, *, now: datetime, title: str = "", folder: str | None = None,
                 site_url: str | None = None, fetch_full_text: bool = True,
                 fetch_images: bool = True) -> tuple[int, bool]:
        """Add a feed; return (id, created). An existing URL keeps its feed and its options
        (and gets the folder if it had none)."""
        with self._write() as db:
            row = db.execute("SELECT id, folder FROM feeds WHERE url = ?", (url,)).fetchone()
            if row:
                if folder and not row["folder"]:
                    db.execute("UPDATE feeds SET folder = ? WHERE id = ?", (folder, row["id"]))
                return row["id"], False
            cur = db.execute(
                """INSERT INTO feeds (url, title, folder, site_url, added, fetch_full_text, fetch_images)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (url, title or "", folder or None, site_url, to_db(now), int(fetch_full_text), int(fetch_images)),
            )
            return cur.lastrowid, True

    def feeds(self) -> list[Feed]:
        rows = self._read(self._FEED_SQL + " ORDER BY coalesce(f.folder, ''), lower(coalesce(f.user_title, nullif(f.title, ''), f.url))")
        return [_feed(r) for r in rows]

    def feed_count(self) -> int:
        return self._read("SELECT count(*) FROM feeds")[0][0]

    def has_keep_limits(self) -> bool:
        """Does any feed keep only so many days or articles (its own retention override)?"""
        return bool(self._read("SELECT 1 FROM feeds WHERE keep_days OR keep_count LIMIT 1"))

    def feed(self, feed_id: int) -> Feed:
        rows = self._read(self._FEED_SQL + " WHERE f.id = ?", (feed_id,))
        if not rows:
            raise NotFound(f"There is no feed {feed_id}.")
        return _feed(rows[0])

    def update_feed(self, feed_id: int, **fields) -> None:
        allowed = {"user_title", "folder", "fetch_full_text", "fetch_images", "url",
                   "notify", "always_translate", "keep_days", "keep_count"}  # the last four: issue 11
        bad = set(fields) - allowed
        if bad:
            raise ValueError(f"cannot update {bad}")
        if not fields:
            return
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self._write() as db:
            cur = db.execute(f"UPDATE feeds SET {sets} WHERE id = ?", (*fields.values(), feed_id))
            if cur.rowcount == 0:
                raise NotFound(f"There is no feed {feed_id}.")

    def delete_feed(self, feed_id: int) -> None:
        with self._write() as db:
            if db.execute("DELETE FROM feeds WHERE id = ?", (feed_id,)).rowcount == 0:
                raise NotFound(f"There is no feed {feed_id}.")

    def feeds_to_sync(self, feed_ids: Iterable[int] | None, now: datetime, *, honour_backoff: bool = True) -> list[Feed]:
        """Feeds asked for by id (always), or every feed not waiting out a back-off. Without
        `honour_backoff` (a person pressed Sync) only a server's own Retry-After still holds."""
        feeds = self.feeds()
        if feed_ids is not None:
            wanted = set(feed_ids)
            return [f for f in feeds if f.id in wanted]
        if not honour_backoff:
            waiting = {r[0] for r in self._read("SELECT id FROM feeds WHERE retry_after > ?", (to_db(now),))}
            return [f for f in feeds if f.id not in waiting]
        return [f for f in feeds if f.next_attempt is None or f.next_attempt <= now]

    # --- fetch outcomes (called by sync, one short transaction each) --------------------------

    def record_fetch_ok(self, feed_id: int, *, now: datetime, etag: str | None, last_modified: str | None,
                        new_url: str | None = None, notice: str | None = None) -> None:
        """A good fetch. `notice`: what the reader should know about it (e.g. entries left out), shown
        as the feed's last error but without any back-off."""
        with self._write() as db:
            db.execute(
                """UPDATE feeds SET etag = ?, last_modified = ?, last_success = ?, last_attempt = ?,
                       last_error = ?, error_count = 0, next_attempt = NULL, retry_after = NULL WHERE id = ?""",
                (etag, last_modified, to_db(now), to_db(now), notice, feed_id),
            )
            if new_url:
                # A permanent redirect: remember the new address, unless another feed already has it.
                db.execute(
                    "UPDATE feeds SET url = ? WHERE id = ? AND NOT EXISTS (SELECT 1 FROM feeds WHERE url = ?)",
                    (new_url, feed_id, new_url),
                )

    def record_not_modified(self, ids: Sequence[int], *, now: datetime) -> None:
        """Feeds that answered 304: fine, nothing new. Many at once in one transaction (a warm
        sync of 500 feeds spent most of its store time committing these one by one)."""
        with self._write() as db:
            db.executemany(
                """UPDATE feeds SET last_success = ?, last_attempt = ?, last_error = NULL, error_count = 0,
                       next_attempt = NULL, retry_after = NULL WHERE id = ?""",
                [(to_db(now), to_db(now), i) for i in ids],
            )

    def feeds_with_offline_work(self, now: datetime | None = None) -> set[int]:
        """Feeds with articles whose page or images are still to be fetched (two partial-index scans);
        with `now`, only work that is not waiting out a back-off (app.sync.decide.retry_at)."""
        if now is None:
            rows = self._read("""SELECT feed_id FROM articles WHERE needs_fulltext
                                 UNION SELECT feed_id FROM articles WHERE needs_images""")
        else:
            stamp = to_db(now)
            rows = self._read("""SELECT feed_id FROM articles WHERE needs_fulltext AND coalesce(fulltext_next, '') <= ?
                                 UNION SELECT feed_id FROM articles WHERE needs_images AND coalesce(images_next, '') <= ?""",
                              (stamp, stamp))
        return {r[0] for r in rows}

    def record_fetch_error(self, feed_id: int, message: str, *, now: datetime,
                           retry_at: datetime | None = None) -> None:
        """Store the error on the feed and back off: 15 min, doubling per failure, at most a day."""
        with self._write() as db:
            row = db.execute("SELECT error_count FROM feeds WHERE id = ?", (feed_id,)).fetchone()
            if row is None:
                return
            count = row["error_count"] + 1
            backoff = now + timedelta(minutes=min(15 * 2 ** (count - 1), 24 * 60))
            next_attempt = max(retry_at, backoff) if retry_at else backoff
            db.execute(
                """UPDATE feeds SET last_error = ?, error_count = ?, last_attempt = ?, next_attempt = ?,
                       retry_after = ? WHERE id = ?""",
                (message, count, to_db(now), to_db(next_attempt), to_db(retry_at), feed_id),
            )

    # --- saving entries ------------------------------------------------------------------------

    def save_entries(self, feed_id: int, parsed: ParsedFeed, *, now: datetime) -> SaveResult:
        """Insert new entries and update changed ones, in one transaction. Read/starred state is never
        touched. Only writes: what is new or changed, and each entry's flags, are decided by
        app.sync.decide, with the text and hash the parser computed."""
        result = SaveResult()
        with self._write() as db:
            feed = db.execute(
                "SELECT title, site_url, fetch_full_text, fetch_images, added FROM feeds WHERE id = ?", (feed_id,)
            ).fetchone()
            if feed is None:
                return result  # unsubscribed while we were fetching
            update = decide.feed_update(parsed, feed["title"], feed["site_url"])
            if update is not None:
                db.execute("UPDATE feeds SET title = ?, site_url = ? WHERE id = ?", (*update, feed_id))
            existing: dict[str, tuple[int, str]] = {}
            guids = list({e.guid: None for e in parsed.entries})
            for chunk in _chunks(guids, BATCH):
                for r in db.execute(
                    f"SELECT id, guid, content_hash FROM articles WHERE feed_id = ? AND guid IN ({_qs(chunk)})",
                    (feed_id, *chunk),
                ):
                    existing[r["guid"]] = (r["id"], r["content_hash"])
            stamp = to_db(now)
            added = from_db(feed["added"])
            undated_news = to_db(added + NEWS_UNDATED_AFTER)  # first seen after this: news (if undated)
            entries = self._unretired(db, feed_id, parsed.entries, existing)  # retention: removed stay removed
            inserted: list = []  # (id, entry, text) of new articles, for the rules
            for p in decide.plan_entries(entries, existing, fetch_full_text=bool(feed["fetch_full_text"]),
                                         fetch_images=bool(feed["fetch_images"])):
                e = p.entry
                published = to_db(e.published)
                if p.is_new:
                    cur = db.execute(
                        """INSERT INTO articles (feed_id, guid, url, title, authors, published, updated,
                               first_seen, sort_date, summary, content_html, text, content_hash,
                               needs_fulltext, needs_images, news)
                           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                        (feed_id, e.guid, e.url, e.title, e.authors, published, to_db(e.updated), stamp,
                         published or stamp, e.summary, e.content_html, p.text, p.content_hash,
                         int(p.needs_fulltext), int(p.needs_images), int(news_flag(e.published, now, added))),
                    )
                    article_id = cur.lastrowid
                    result.new.append(article_id)
                    inserted.append((article_id, e, p.text))
                else:
                    article_id = p.article_id
                    # Changed content updates in place. Keep extracted text unless we will fetch it again.
                    db.execute(
                        """UPDATE articles SET url = ?, title = ?, authors = ?, published = ?, updated = ?,
                               sort_date = coalesce(?, first_seen), summary = ?, content_html = ?,
                               text = CASE WHEN extracted_html IS NOT NULL AND ? = 0 THEN text ELSE ? END,
                               content_hash = ?, needs_fulltext = ?, needs_images = ?,
                               news = CASE WHEN ? IS NOT NULL THEN first_seen <= ? ELSE first_seen > ? END
                           WHERE id = ?""",
                        (e.url, e.title, e.authors, published, to_db(e.updated), published, e.summary,
                         e.content_html, int(p.needs_fulltext), p.text, p.content_hash, int(p.needs_fulltext),
                         int(p.needs_images), published,
                         to_db(e.published + NEWS_LAG) if e.published else None, undated_news, article_id),
                    )
                    result.updated.append(article_id)
                if e.enclosures:
                    db.executemany(
                        "INSERT OR IGNORE INTO enclosures (article_id, url, type, length) VALUES (?, ?, ?, ?)",
                        [(article_id, x.url, x.type, x.length) for x in e.enclosures],
                    )
            self.rule_engine.on_insert(db, feed_id, inserted, stamp)  # issue 11: rules, in this transaction
        return result

    # --- offline work: full text and images ------------------------------------------------------

    def pending_fulltext(self, feed_ids: Iterable[int] | None = None, limit: int = 1000, *,
                         now: datetime | None = None) -> list[tuple[int, str]]:
        """(article id, page address) of articles whose page is still to be fetched; with `now`, only
        those not waiting out a back-off."""
        sql = "SELECT id, url FROM articles WHERE needs_fulltext"
        params: list = []
        if now is not None:
            sql += " AND coalesce(fulltext_next, '') <= ?"
            params.append(to_db(now))
        if feed_ids is not None:
            ids = list(feed_ids)
            sql += f" AND feed_id IN ({_qs(ids)})"
            params += ids
        return [(r["id"], r["url"]) for r in self._read(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))]

    def set_fulltext(self, article_id: int, text: str | None, html: str | None) -> None:
        """Store a page's extracted text (None: extraction failed; we keep the feed's text)."""
        with self._write() as db:
            if text:
                db.execute(
                    """UPDATE articles SET text = ?, extracted_html = ?, needs_fulltext = 0, fulltext_next = NULL,
                           fulltext_error = NULL,
                           needs_images = CASE WHEN ? LIKE '%<img%' THEN
                               (SELECT fetch_images FROM feeds WHERE feeds.id = articles.feed_id)
                               ELSE needs_images END
                       WHERE id = ?""",
                    (text, html, html or "", article_id),
                )
            else:
                db.execute("UPDATE articles SET needs_fulltext = 0, fulltext_next = NULL WHERE id = ?", (article_id,))

    def pending_images(self, feed_ids: Iterable[int] | None = None, limit: int = 1000, *,
                       now: datetime | None = None) -> list[tuple[int, list[str]]]:
        """(article id, image URLs it shows) for articles whose images are not cached yet; with `now`,
        only those not waiting out a failed image's back-off."""
        sql = "SELECT id, content_html, summary, extracted_html FROM articles WHERE needs_images"
        params: list = []
        if now is not None:
            sql += " AND coalesce(images_next, '') <= ?"
            params.append(to_db(now))
        if feed_ids is not None:
            ids = list(feed_ids)
            sql += f" AND feed_id IN ({_qs(ids)})"
            params += ids
        out = []
        for r in self._read(sql + " ORDER BY id DESC LIMIT ?", (*params, limit)):
            urls = image_urls((r["extracted_html"] or "") + (r["content_html"] or r["summary"] or ""))
            out.append((r["id"], urls))
        return out

    def cached_images(self, urls: Sequence[str], *, now: datetime | None = None) -> dict[str, str | None]:
        """Which of `urls` the cache knows: url -> relative path (None: it failed before). With `now`,
        a failed image due for another try is left out (so it is fetched again)."""
        out: dict[str, str | None] = {}
        stamp = to_db(now) if now is not None else None
        for chunk in _chunks(list(urls), BATCH):
            for r in self._read(f"SELECT url, path, next_attempt FROM images WHERE url IN ({_qs(chunk)})", chunk):
                if stamp is not None and r["path"] is None and r["next_attempt"] and r["next_attempt"] <= stamp:
                    continue
                out[r["url"]] = r["path"]
        return out

    def record_images(self, article_id: int,
                      fetched: dict[str, tuple],
                      cached: Sequence[str] = (), *, now: datetime) -> None:
        """One transaction for an article's images, so a kill never leaves it half done:
        `fetched` maps newly downloaded URLs to (relative path or None, content type, size, error[,
        may_pass]); `cached` are URLs the cache already had. A failure that may pass (`may_pass`
        true: the network, a server error) is tried again later (app.sync.decide.retry_at); the
        article stays pending until then, else it is marked done. An article deleted meanwhile
        (unsubscribed mid-sync) is skipped, its downloads still cached."""
        with self._write() as db:
            rows = []
            for u, (p, t, s, err, *rest) in fetched.items():
                attempts, next_attempt = 1, None
                if p is None and rest and rest[0]:
                    old = db.execute("SELECT attempts FROM images WHERE url = ? AND path IS NULL", (u,)).fetchone()
                    attempts = (old["attempts"] + 1) if old else 1
                    next_attempt = decide.retry_at(attempts, now)
                rows.append((u, p, t, s, err, to_db(now), attempts, to_db(next_attempt)))
            db.executemany(
                """INSERT OR REPLACE INTO images (url, path, type, size, error, fetched, attempts, next_attempt)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""", rows)
            db.executemany(
                """INSERT OR IGNORE INTO article_images (article_id, url)
                   SELECT id, ? FROM articles WHERE id = ?""",
                [(u, article_id) for u in [*fetched, *cached]],
            )
            retry = db.execute(
                """SELECT min(i.next_attempt) FROM article_images ai JOIN images i ON i.url = ai.url
                   WHERE ai.article_id = ? AND i.path IS NULL AND i.next_attempt IS NOT NULL""", (article_id,),
            ).fetchone()[0]
            db.execute("UPDATE articles SET needs_images = ?, images_next = ? WHERE id = ?",
                       (int(retry is not None), retry, article_id))

    # --- the reader's core (issue 10): pages that failed, feed icons -----------------------------

    def record_fulltext_failure(self, article_id: int, reason: str, *, permanent: bool, now: datetime) -> None:
        """The article's page could not be fetched or read: try again later (growing waits), or give
        up and keep `reason` on the article for the reader (app.sync.decide.retry_at)."""
        with self._write() as db:
            row = db.execute("SELECT fulltext_attempts FROM articles WHERE id = ?", (article_id,)).fetchone()
            if row is None:
                return  # unsubscribed meanwhile
            attempts = row["fulltext_attempts"] + 1
            next_attempt = decide.retry_at(attempts, now, permanent=permanent)
            if next_attempt is None:
                db.execute("""UPDATE articles SET needs_fulltext = 0, fulltext_attempts = ?, fulltext_next = NULL,
                                  fulltext_error = ? WHERE id = ?""",
                           (attempts, decide.gave_up(reason, attempts, permanent), article_id))
            else:
                db.execute("UPDATE articles SET fulltext_attempts = ?, fulltext_next = ? WHERE id = ?",
                           (attempts, to_db(next_attempt), article_id))

    def record_icons_looked_for(self, feed_ids: Sequence[int], *, now: datetime) -> None:
        """Feeds whose icon was looked for without an answer (the run's time for icons ran out)."""
        with self._write() as db:
            db.executemany("UPDATE feeds SET icon_checked = ? WHERE id = ?", [(to_db(now), i) for i in feed_ids])

    def record_icon(self, feed_id: int, path: str | None, source: str | None = None, *, now: datetime) -> None:
        """The feed's icon was looked for: `path` (relative to the image dir) when one was cached, from
        the address `source`; a failed look keeps the icon it had."""
        with self._write() as db:
            db.execute("""UPDATE feeds SET icon = coalesce(?, icon), icon_source = coalesce(?, icon_source),
                              icon_checked = ? WHERE id = ?""",
                       (path, source if path else None, to_db(now), feed_id))

    # --- reading articles ---------------------------------------------------------------------------

    def article(self, article_id: int) -> Article:
        rows = self._read(_ARTICLE_SQL + " WHERE a.id = ?", (article_id,))
        if not rows:
            raise NotFound(f"There is no article {article_id}.")
        return self._with_extras([_article(rows[0])])[0]

    def articles_by_id(self, ids: Sequence[int]) -> list[Article]:
        found: dict[int, Article] = {}
        for chunk in _chunks(list(ids), BATCH):
            for r in self._read(_ARTICLE_SQL + f" WHERE a.id IN ({_qs(chunk)})", chunk):
                found[r["id"]] = _article(r)
        return self._with_extras([found[i] for i in ids if i in found])

    def _with_extras(self, articles: list[Article]) -> list[Article]:
        """Attach enclosures and cached image paths (two queries for the whole batch)."""
        if not articles:
            return articles
        ids = [a.id for a in articles]
        encl: dict[int, list[Enclosure]] = {}
        imgs: dict[int, dict[str, str]] = {}
        for chunk in _chunks(ids, BATCH):
            for r in self._read(f"SELECT * FROM enclosures WHERE article_id IN ({_qs(chunk)})", chunk):
                encl.setdefault(r["article_id"], []).append(Enclosure(r["url"], r["type"], r["length"]))
            for r in self._read(
                f"""SELECT ai.article_id, i.url, i.path FROM article_images ai JOIN images i ON i.url = ai.url
                    WHERE i.path IS NOT NULL AND ai.article_id IN ({_qs(chunk)})""",
                chunk,
            ):
                imgs.setdefault(r["article_id"], {})[r["url"]] = r["path"]

        return [replace(a, enclosures=tuple(encl.get(a.id, ())), images=imgs.get(a.id, {})) for a in articles]

    def article_ids(self, q: ArticleQuery) -> list[int]:
        # A whole list (no limit) drops the few hidden ids afterwards: a set lookup per id is cheaper
        # than NOT IN per row (that cost 90 -> 107 ms for 60k unread ids with 1,500 hidden). Issue 11.
        after = not q.hidden and not q.limit
        where, params = _where(q, exclude_hidden=not after)
        sql = f"SELECT a.id FROM articles a {where} ORDER BY a.sort_date {'DESC' if q.newest_first else 'ASC'}, a.id {'DESC' if q.newest_first else 'ASC'}"
        if q.limit:
            sql += f" LIMIT {int(q.limit)}"
        # The ids as one comma-separated string (SQLite keeps the subquery's order), read by numpy:
        # ~3x faster than a row per id for a big view (1M ids: ~0.5 s instead of ~1.3 s here), and
        # SQLite works without the GIL meanwhile.
        joined = self._read(f"SELECT group_concat(id) FROM ({sql})", params)[0][0]
        if not joined:
            return []
        if len(joined) < 100_000:  # up to ~15k ids: not worth importing numpy for
            ids = list(map(int, joined.split(",")))
        else:
            import numpy as np

            ids = np.fromstring(joined, dtype=np.int64, sep=",").tolist()
        if after:
            hidden = self._hidden_ids(q.feed_id)
            if hidden:
                ids = [i for i in ids if i not in hidden]
        return ids

    def article_rows(self, ids: Sequence[int]) -> list[ArticleRow]:
        """List-view rows for `ids`, in the order given (missing ids are skipped)."""
        found: dict[int, ArticleRow] = {}
        for chunk in _chunks(list(ids), BATCH):
            for r in self._read(
                f"""SELECT a.id, a.feed_id, coalesce(f.user_title, nullif(f.title, ''), f.url) AS feed_title,
                           a.title, CASE WHEN a.title = '' THEN substr(a.text, 1, 400) END AS opening,
                           a.sort_date, a.read, a.starred
                    FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE a.id IN ({_qs(chunk)})""",
                chunk,
            ):
                found[r["id"]] = ArticleRow(r["id"], r["feed_id"], r["feed_title"],
                                            r["title"] or untitled_title(r["opening"] or ""),
                                            from_db(r["sort_date"]), bool(r["read"]), bool(r["starred"]))
        return [found[i] for i in ids if i in found]

    def articles_between(self, start: datetime, end: datetime, folders: Sequence[str] | None = None,
                         *, by: str = "date") -> list[Article]:
        """The news of [start, end), oldest first (the digest's articles; see NEWS_SQL).

        ``by="date"``: dated (published, else first seen) in the range, as the *Today* view lists.
        ``by="first_seen"``: first seen in the range (*since the last digest*: what arrived since).
        Either way an archive is left out: an item published long before it was first seen, or an
        undated one that came with the feed's first sync."""
        column = "sort_date" if by == "date" else "first_seen"
        sql = _ARTICLE_SQL + f" WHERE a.{column} >= ? AND a.{column} < ? AND {NEWS_SQL} AND a.hidden = 0 AND a.no_digest = 0"
        params: list = [to_db(start), to_db(end)]
        if folders:
            sql += " AND (" + " OR ".join("f.folder = ? OR f.folder LIKE ?" for _ in folders) + ")"
            for name in folders:
                params += [name, name + "/%"]
        rows = self._read(sql + " ORDER BY a.sort_date, a.id", params)
        return self._with_extras([_article(r) for r in rows])

    def reading_signals(self, since: datetime) -> tuple[dict[int, float], list[str]]:
        """How much the person reads and stars each feed's articles first seen since ``since``
        ({feed id: 0..1}: read share, a star counting three reads), and the titles they starred."""
        feeds = {}
        for r in self._read("""SELECT feed_id, count(*) AS n, sum(read) AS r, sum(starred) AS s FROM articles
                               WHERE first_seen >= ? GROUP BY feed_id""", (to_db(since),)):
            if r["n"]:
                feeds[r["feed_id"]] = min(1.0, ((r["r"] or 0) + 3 * (r["s"] or 0)) / r["n"])
        titles = [r[0] for r in self._read(
            "SELECT title FROM articles WHERE starred = 1 AND first_seen >= ? ORDER BY id DESC LIMIT 200",
            (to_db(since),))]
        return feeds, titles

    def counts(self, today_start: datetime, today_end: datetime | None = None) -> dict:
        # Per feed: kept by triggers, which skip hidden articles (counting walked every unread index
        # entry: ~50 ms at 1M articles). Today: the partial index articles_news_by_date covers it
        # (sort_date range, read); the few hidden ones (a rule's action) come off by the hidden index
        # (INDEXED BY: left to itself the planner walks every unread row of the day instead).
        per_feed = {row[0]: row[1] for row in self._read("SELECT id, unread FROM feeds WHERE unread > 0")}
        # ("+a.read": not by articles_by_read_date, which would read each row's `news` from its overflow pages)
        start, end = to_db(today_start), to_db(today_end or datetime.max.replace(tzinfo=timezone.utc))
        today = self._read(f"""SELECT (SELECT count(*) FROM articles a
                                       WHERE +a.read = 0 AND a.sort_date >= ? AND a.sort_date < ? AND {NEWS_SQL})
                                    - (SELECT count(*) FROM articles a INDEXED BY articles_hidden
                                       WHERE a.hidden = 1 AND a.read = 0
                                       AND a.sort_date >= ? AND a.sort_date < ? AND {NEWS_SQL})""",
                           (start, end, start, end))
        starred = self._read("""SELECT (SELECT count(*) FROM articles WHERE starred = 1)
                                       - (SELECT count(*) FROM articles INDEXED BY articles_hidden WHERE hidden = 1 AND starred = 1)""")
        return {"unread": sum(per_feed.values()), "starred": starred[0][0], "today": today[0][0], "feeds": per_feed}

    # --- read / starred -------------------------------------------------------------------------------

    def mark_read(self, ids: Sequence[int], read: bool = True) -> int:
        n = 0
        with self._write() as db:
            for chunk in _chunks(list(ids), BATCH):
                n += db.execute(f"UPDATE articles SET read = ? WHERE read != ? AND id IN ({_qs(chunk)})",
                                (int(read), int(read), *chunk)).rowcount
        return n

    def mark_query_read(self, q: ArticleQuery) -> int:
        # read = 0 inside the subquery, so a feed's unread come from its index, not from every unread row
        where, params = _where(replace(q, unread=True))
        with self._write() as db:
            sub = f"SELECT a.id FROM articles a {where}"
            return db.execute(f"UPDATE articles SET read = 1 WHERE id IN ({sub})", params).rowcount

    def set_starred(self, article_id: int, starred: bool) -> None:
        self.set_starred_many([article_id], starred)

    def set_starred_many(self, ids: Sequence[int], starred: bool) -> int:
        """Star (or unstar) all of `ids` in one transaction: NotFound, and nothing changed, if any is missing."""
        ids = list(dict.fromkeys(ids))
        n = 0
        with self._write() as db:
            for chunk in _chunks(ids, BATCH):
                found = {r[0] for r in db.execute(f"SELECT id FROM articles WHERE id IN ({_qs(chunk)})", chunk)}
                missing = [i for i in chunk if i not in found]
                if missing:
                    raise NotFound(f"There is no article {missing[0]}" + (f" (nor {len(missing) - 1} more)"
                                   if len(missing) > 1 else "") + "; nothing was changed.")
                n += db.execute(f"UPDATE articles SET starred = ? WHERE id IN ({_qs(chunk)})",
                                (int(starred), *chunk)).rowcount
        return n

    # --- search ---------------------------------------------------------------------------------------

    SEARCH_MERGE_PAGES = 200  # FTS5 'merge' work after each update_search that indexed something

    def update_search(self, batch: int = 2000) -> int:
        """Bring the full-text index up to date with the articles; return how many rows were indexed.
        Runs in batches of short transactions, so it can be interrupted and resumed. Each batch adds
        an index segment; a bounded FTS5 'merge' afterwards keeps their number down (fewer segments
        to read per query) without the cost of a full `optimize_search`."""
        done = 0
        while True:
            with self._write() as db:
                queue = db.execute(
                    "SELECT article_id, old_title, old_authors, old_text FROM search_queue LIMIT ?", (batch,)
                ).fetchall()
                if not queue:
                    if done:
                        db.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('merge', ?)",
                                   (self.SEARCH_MERGE_PAGES,))
                    return done
                stale = [(q["article_id"], q["old_title"], q["old_authors"], q["old_text"]) for q in queue
                         if q["old_title"] is not None]
                if stale:
                    db.executemany(
                        "INSERT INTO articles_fts (articles_fts, rowid, title, authors, text) VALUES ('delete', ?, ?, ?, ?)",
                        stale,
                    )
                ids = [q["article_id"] for q in queue]
                db.execute(
                    f"""INSERT INTO articles_fts (rowid, title, authors, text)
                        SELECT id, title, authors, text FROM articles WHERE id IN ({_qs(ids)})""",
                    ids,
                )
                db.execute(f"DELETE FROM search_queue WHERE article_id IN ({_qs(ids)})", ids)
                done += len(ids)

    def optimize_search(self) -> None:
        """Merge the full-text index into one segment (FTS5 'optimize'): searches that match many
        articles get faster (at 1M articles a common word with a rare one: ~6 -> ~2 ms; a common
        prefix ~150 -> ~100 ms). It rewrites the whole index (~15 s at 1M articles, one
        transaction): for maintenance, off the GUI thread, not for every sync."""
        with self._write() as db:
            db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('optimize')")

    def search_backlog(self) -> int:
        return self._read("SELECT count(*) FROM search_queue")[0][0]

    def search(self, text: str, limit: int = 500) -> list[int]:
        """Article ids matching `text` (every word, prefix match on the last), newest first.

        Newest first, as readers list results, also lets FTS5 stop at `limit`: ranking every
        match by bm25 took 100-140 ms for a common word over 100k articles, this takes <= 10 ms."""
        match = fts_query(text)
        if not match:
            return []
        if not self.read_only:
            self._drain_search_queue()
        rows = self._read(
            "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
            (match, limit),
        )
        ids = [r[0] for r in rows]
        queued = self._search_queued(text, limit)  # what is not indexed yet (read-only, or busy)
        if queued:
            ids = sorted(set(ids) | set(queued), reverse=True)[:limit]
        return ids

    def _drain_search_queue(self) -> None:
        """Index the queue if the library can be written right now; never wait long for the lock
        (another process may be syncing): search then falls back to _search_queued."""
        db = self._db
        try:
            db.execute("PRAGMA busy_timeout = 200")
            self.update_search()
        except (StoreLocked, StoreError):
            pass
        finally:
            try:
                db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            except sqlite3.Error:
                pass

    def _search_queued(self, text: str, limit: int, max_rows: int = 20000) -> list[int]:
        """Articles still in the search queue (not indexed) whose title, authors or text hold every
        word: a plain scan, bounded by the queue (empty after any sync that could write)."""
        import re

        words = re.findall(r"\w+", text, flags=re.UNICODE)
        if not words or not self._read("SELECT 1 FROM search_queue LIMIT 1"):
            return []
        cond = " AND ".join("(a.title || ' ' || a.authors || ' ' || a.text) LIKE ? ESCAPE '\\'" for _ in words)
        like = ["%" + w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for w in words]
        rows = self._read(f"""SELECT a.id FROM articles a WHERE a.id IN (SELECT article_id FROM search_queue LIMIT ?)
                              AND {cond} ORDER BY a.id DESC LIMIT ?""", (max_rows, *like, limit))
        return [r[0] for r in rows]

    # --- settings, cache ------------------------------------------------------------------------------

    def get_setting(self, key: str, default=None):
        rows = self._read("SELECT value FROM settings WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else default

    def set_setting(self, key: str, value) -> None:
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def cache_get(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM cache WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def cache_put(self, key: str, value: str) -> None:
        """Remember `value`; a library busy in another process (or read-only) just skips it: a
        cache must never cost the work it caches (e.g. a digest the model is writing)."""
        if self.read_only:
            return
        try:
            with self._write() as db:
                db.execute("INSERT OR REPLACE INTO cache (key, value, created) VALUES (?, ?, ?)",
                           (key, value, to_db(datetime.now(timezone.utc))))
        except StoreLocked:
            pass

    # --- digests ------------------------------------------------------------------------------------

    def save_digest(self, d: Digest) -> int:
        """Store a finished digest. A library busy in another process is waited for (up to
        `digest_save_wait` seconds); if it stays busy, or is read-only, the digest is kept in
        DATA_DIR/unsaved/ as JSON and the StoreError raised carries it (`.digest`, `.unsaved_path`),
        so what the model wrote is never lost."""
        deadline = time.monotonic() + self.digest_save_wait
        while True:
            try:
                return self._save_digest(d)
            except StoreLocked as e:
                if time.monotonic() < deadline:
                    time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))
                    continue
                raise self._keep_unsaved(d, e) from e
            except StoreError as e:
                if isinstance(e, (DiskFull, StoreCorrupt)) or self.read_only:
                    raise self._keep_unsaved(d, e) from e
                raise

    def _keep_unsaved(self, d: Digest, e: StoreError) -> StoreError:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        folder = self.path.parent / "unsaved"
        path = folder / f"digest-{d.date}-{stamp}.json"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(d.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
            where = f"It was kept in {path}."
        except OSError as oe:
            path = None
            where = f"It could not be kept in a file either ({oe.strerror or oe})."
        err = type(e)(f"The digest was written but could not be saved in the library: {e} {where}",
                      "The digest is printed below; sync or close the other Tidings, then run the digest again "
                      "(its stories come from the cache, so it is quick).")
        err.digest = d  # type: ignore[attr-defined]
        err.unsaved_path = path  # type: ignore[attr-defined]
        return err

    def _save_digest(self, d: Digest) -> int:
        created = d.created or datetime.now(timezone.utc)
        body = json.dumps(d.to_json())
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO digests (date, created, style, model, extractive, body) VALUES (?, ?, ?, ?, ?, ?)",
                (d.date, to_db(created), d.style, d.model, int(d.extractive), body),
            )
            ids = sorted({i for item in d.items for i in item.article_ids})
            db.executemany(
                "INSERT OR IGNORE INTO digest_sources (digest_id, article_id) SELECT ?, id FROM articles WHERE id = ?",
                [(cur.lastrowid, i) for i in ids],
            )
            return cur.lastrowid

    def list_digests(self) -> list[Digest]:
        return [_digest(r) for r in self._read("SELECT * FROM digests ORDER BY date DESC, created DESC")]

    def get_digest(self, digest_id: int) -> Digest:
        rows = self._read("SELECT * FROM digests WHERE id = ?", (digest_id,))
        if not rows:
            raise NotFound(f"There is no digest {digest_id}.")
        return _digest(rows[0])

    def last_digest(self) -> Digest | None:
        rows = self._read("SELECT * FROM digests ORDER BY created DESC LIMIT 1")
        return _digest(rows[0]) if rows else None

    # --- server accounts (app/accounts/) ---------------------------------------------------------
    # An account's feeds carry account_id and remote_id; its articles remote_id. Local changes to
    # them are queued in account_changes by the schema's triggers, in the same transaction as the
    # change. What the mirror itself writes (the server's state) must not be queued back: each
    # mirror transaction drops the rows its own writes queued (`_mirror`).

    _ACCOUNT_SQL = """
        SELECT a.*, (SELECT count(*) FROM feeds f WHERE f.account_id = a.id) AS n_feeds,
               (SELECT count(*) FROM account_changes c WHERE c.account_id = a.id AND c.error IS NULL) AS n_pending,
               (SELECT count(*) FROM account_changes c WHERE c.account_id = a.id AND c.error IS NOT NULL) AS n_rejected
        FROM accounts a
    """

    def add_account(self, kind: str, name: str, server: str, username: str, *, now: datetime) -> int:
        with self._write() as db:
            if db.execute("SELECT 1 FROM accounts WHERE kind = ? AND server = ? AND username = ?",
                          (kind, server, username)).fetchone():
                raise ValueError("exists")
            return db.execute("INSERT INTO accounts (kind, name, server, username, added) VALUES (?, ?, ?, ?, ?)",
                              (kind, name, server, username, to_db(now))).lastrowid

    def accounts(self) -> list[Account]:
        return [_account(r) for r in self._read(self._ACCOUNT_SQL + " ORDER BY lower(a.name), a.id")]

    def account(self, account_id: int) -> Account:
        rows = self._read(self._ACCOUNT_SQL + " WHERE a.id = ?", (account_id,))
        if not rows:
            raise NotFound(f"There is no account {account_id}.", "`tidings account list` shows the accounts.")
        return _account(rows[0])

    def remove_account(self, account_id: int) -> None:
        """The account, its feeds and their articles, and its queue; nothing is sent to the server."""
        with self._write() as db:
            db.execute("DELETE FROM account_changes WHERE account_id = ?", (account_id,))
            db.execute("UPDATE feeds SET remote_id = NULL WHERE account_id = ?", (account_id,))  # no unsubscribes
            if db.execute("DELETE FROM accounts WHERE id = ?", (account_id,)).rowcount == 0:
                raise NotFound(f"There is no account {account_id}.")

    def account_state(self, account_id: int) -> dict:
        rows = self._read("SELECT state FROM accounts WHERE id = ?", (account_id,))
        return json.loads(rows[0][0]) if rows else {}

    def record_account_sync(self, account_id: int, *, now: datetime, state: dict | None = None,
                            error: str | None = None) -> None:
        with self._write() as db:
            if state is not None:
                db.execute("UPDATE accounts SET state = ? WHERE id = ?", (json.dumps(state), account_id))
            if error is None:
                db.execute("UPDATE accounts SET last_sync = ?, last_error = NULL WHERE id = ?", (to_db(now), account_id))
            else:
                db.execute("UPDATE accounts SET last_error = ? WHERE id = ?", (error, account_id))

    def account_subscribe(self, account_id: int, url: str, *, now: datetime, title: str = "",
                          folder: str | None = None, fetch_full_text: bool = True, fetch_images: bool = True) -> int:
        """A feed subscribed here for an account: stored at once, queued for the server (a trigger)."""
        with self._write() as db:
            stored = account_feed_url(url, account_id)
            row = db.execute("SELECT id FROM feeds WHERE url = ?", (stored,)).fetchone()
            if row:
                return row["id"]
            return db.execute(
                """INSERT INTO feeds (url, title, folder, added, fetch_full_text, fetch_images, account_id)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (stored, title, folder or None, to_db(now), int(fetch_full_text), int(fetch_images), account_id),
            ).lastrowid

    def account_changes(self, account_id: int, *, rejected: bool | None = False, limit: int = 5000) -> list[AccountChange]:
        """Queued changes in order: those still to send (default), the refused ones (True), or all (None)."""
        sql = "SELECT * FROM account_changes WHERE account_id = ?"
        if rejected is not None:
            sql += " AND error IS " + ("NOT NULL" if rejected else "NULL")
        return [AccountChange(r["id"], r["account_id"], r["action"], r["remote_id"], r["feed_id"], r["url"],
                              r["folder"], r["error"])
                for r in self._read(sql + f" ORDER BY id LIMIT {int(limit)}", (account_id,))]

    def account_changes_sent(self, ids: Sequence[int]) -> None:
        with self._write() as db:
            for chunk in _chunks(list(ids), BATCH):
                db.execute(f"DELETE FROM account_changes WHERE id IN ({_qs(chunk)})", chunk)

    def account_changes_rejected(self, ids: Sequence[int], message: str) -> None:
        with self._write() as db:
            for chunk in _chunks(list(ids), BATCH):
                db.execute(f"UPDATE account_changes SET error = ? WHERE id IN ({_qs(chunk)})", (message, *chunk))

    def account_changes_retry(self, account_id: int, ids: Sequence[int] | None = None) -> int:
        """Refused changes back in the queue (all of the account's, or `ids`)."""
        with self._write() as db:
            if ids is None:
                return db.execute("UPDATE account_changes SET error = NULL WHERE account_id = ? AND error IS NOT NULL",
                                  (account_id,)).rowcount
            return sum(db.execute(f"UPDATE account_changes SET error = NULL WHERE account_id = ? AND id IN ({_qs(c)})",
                                  (account_id, *c)).rowcount for c in _chunks(list(ids), BATCH))

    def account_changes_drop(self, account_id: int, ids: Sequence[int]) -> int:
        with self._write() as db:
            return sum(db.execute(f"DELETE FROM account_changes WHERE account_id = ? AND id IN ({_qs(c)})",
                                  (account_id, *c)).rowcount for c in _chunks(list(ids), BATCH))

    @contextmanager
    def _mirror(self) -> Iterator[sqlite3.Connection]:
        """A write transaction applying the server's state: the changes its writes queue are dropped."""
        with self._write() as db:
            mark = db.execute("SELECT coalesce(max(id), 0) FROM account_changes").fetchone()[0]
            yield db
            db.execute("DELETE FROM account_changes WHERE id > ?", (mark,))

    def account_feed_ids(self, account_id: int) -> dict[str, int]:
        """{remote feed id: local feed id} of an account's feeds known on the server."""
        return {r[0]: r[1] for r in self._read(
            "SELECT remote_id, id FROM feeds WHERE account_id = ? AND remote_id IS NOT NULL", (account_id,))}

    def mirror_account_feeds(self, account_id: int, remote: Sequence[RemoteFeed], *, now: datetime,
                             fetch_full_text: bool = True, fetch_images: bool = True) -> dict[str, int]:
        """Make the account's feeds what the server lists: new ones added, titles and folders
        updated (a feed with a move still queued keeps its folder), ones gone from the server removed
        with their articles (a subscription still queued here is kept). A pending subscription the
        server now lists gets its remote id. Returns {remote id: local id}."""
        with self._mirror() as db:
            rows = db.execute("SELECT id, url, remote_id, title, folder FROM feeds WHERE account_id = ?",
                              (account_id,)).fetchall()
            by_remote = {r["remote_id"]: r for r in rows if r["remote_id"] is not None}
            pending_by_url = {feed_url_of(r["url"]): r for r in rows if r["remote_id"] is None}
            moving = {r[0] for r in db.execute("SELECT feed_id FROM account_changes WHERE account_id = ? "
                                               "AND action = 'move'", (account_id,))}
            out: dict[str, int] = {}
            for f in remote:
                row = by_remote.get(f.remote_id)
                if row is None and f.url in pending_by_url:
                    row = pending_by_url.pop(f.url)
                    db.execute("UPDATE feeds SET remote_id = ? WHERE id = ?", (f.remote_id, row["id"]))
                if row is None:
                    stored = account_feed_url(f.url, account_id)
                    clash = db.execute("SELECT id FROM feeds WHERE url = ?", (stored,)).fetchone()
                    if clash:  # the server lists one address twice: keep the first
                        continue
                    out[f.remote_id] = db.execute(
                        """INSERT INTO feeds (url, title, folder, site_url, added, fetch_full_text, fetch_images,
                               account_id, remote_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                        (stored, f.title, f.folder or None, f.site_url, to_db(now), int(fetch_full_text),
                         int(fetch_images), account_id, f.remote_id)).lastrowid
                    continue
                out[f.remote_id] = row["id"]
                folder = row["folder"] if row["id"] in moving else (f.folder or None)
                db.execute("UPDATE feeds SET title = ?, folder = ?, site_url = coalesce(?, site_url) WHERE id = ?",
                           (f.title or row["title"], folder, f.site_url, row["id"]))
            listed = {f.remote_id for f in remote}
            gone = [r["id"] for rid, r in by_remote.items() if rid not in listed]
            for chunk in _chunks(gone, BATCH):  # the unsubscribes this queues are dropped by _mirror
                db.execute(f"DELETE FROM feeds WHERE id IN ({_qs(chunk)})", chunk)
            return out

    def mirror_account_flags(self, items: Sequence[tuple[int, str, bool | None, bool | None]],
                             account_id: int) -> int:
        """After `save_entries` stored a server's items (guid = remote id): set their remote ids and
        the server's read/starred, from (feed id, remote id, read, starred); None leaves a flag as it
        is. An article with a change still queued keeps its own state (the README's conflict rule:
        a change made here and not yet sent wins)."""
        n = 0
        with self._mirror() as db:
            waiting = self._articles_with_queued_changes(db, account_id)
            for feed_id, rid, read, starred in items:
                sets, params = ["remote_id = ?"], [rid]
                if rid not in waiting:
                    for column, value in (("read", read), ("starred", starred)):
                        if value is not None:
                            sets.append(f"{column} = ?")
                            params.append(int(value))
                n += db.execute(f"UPDATE articles SET {', '.join(sets)} WHERE feed_id = ? AND guid = ?",
                                (*params, feed_id, rid)).rowcount
        return n

    def mirror_account_state(self, account_id: int, unread: set[str] | None, starred: set[str] | None) -> tuple[int, int]:
        """The server's whole unread and starred sets: every article of the account follows them
        (unless a change of its own is still queued). None: that set was not fetched. Returns how many
        articles changed (read, starred)."""
        changed = [0, 0]
        with self._mirror() as db:
            waiting = self._articles_with_queued_changes(db, account_id)
            rows = db.execute("""SELECT a.id, a.remote_id, a.read, a.starred FROM articles a JOIN feeds f ON f.id = a.feed_id
                                 WHERE f.account_id = ? AND a.remote_id IS NOT NULL""", (account_id,)).fetchall()
            to_read: dict[int, list[int]] = {0: [], 1: []}
            to_star: dict[int, list[int]] = {0: [], 1: []}
            for r in rows:
                if r["remote_id"] in waiting:
                    continue
                if unread is not None:
                    want = 0 if r["remote_id"] in unread else 1
                    if r["read"] != want:
                        to_read[want].append(r["id"])
                if starred is not None:
                    want = 1 if r["remote_id"] in starred else 0
                    if r["starred"] != want:
                        to_star[want].append(r["id"])
            for i, (column, plan) in enumerate((("read", to_read), ("starred", to_star))):
                for value, ids in plan.items():
                    for chunk in _chunks(ids, BATCH):
                        changed[i] += db.execute(f"UPDATE articles SET {column} = ? WHERE id IN ({_qs(chunk)})",
                                                 (value, *chunk)).rowcount
        return changed[0], changed[1]

    def account_article_ids(self, account_id: int, remote_ids: Sequence[str]) -> dict[str, int]:
        """{remote id: article id} for those of `remote_ids` the account's articles have."""
        out: dict[str, int] = {}
        for chunk in _chunks(list(remote_ids), BATCH):
            for r in self._read(f"""SELECT a.remote_id, a.id FROM articles a JOIN feeds f ON f.id = a.feed_id
                                    WHERE f.account_id = ? AND a.remote_id IN ({_qs(chunk)})""", (account_id, *chunk)):
                out[r[0]] = r[1]
        return out

    @staticmethod
    def _articles_with_queued_changes(db: sqlite3.Connection, account_id: int) -> set[str]:
        return {r[0] for r in db.execute("""SELECT remote_id FROM account_changes WHERE account_id = ?
                   AND action IN ('read', 'unread', 'star', 'unstar')""", (account_id,))}
    # --- issue 11: rules, hidden articles, retention, notifications, downloads ------------------------

    @property
    def rule_engine(self):
        engine = getattr(self, "_rule_engine", None)
        if engine is None:
            from app.rules import RuleEngine

            engine = self._rule_engine = RuleEngine()
        return engine

    def _unretired(self, db: sqlite3.Connection, feed_id: int, entries: list, existing: dict) -> list:
        """`entries` without those retention removed (their guids are kept in retired_guids)."""
        fresh = [e.guid for e in entries if e.guid not in existing]
        if not fresh or db.execute("SELECT 1 FROM retired_guids WHERE feed_id = ? LIMIT 1", (feed_id,)).fetchone() is None:
            return entries
        retired: set[str] = set()
        for chunk in _chunks(fresh, BATCH):
            retired.update(r[0] for r in db.execute(
                f"SELECT guid FROM retired_guids WHERE feed_id = ? AND guid IN ({_qs(chunk)})", (feed_id, *chunk)))
        return [e for e in entries if e.guid not in retired] if retired else entries

    def rules(self) -> list:
        """Every rule, in order, including disabled ones (one stored before a check got stricter is skipped)."""
        from app.rules import load_rules

        try:
            return load_rules(self._db)
        except sqlite3.DatabaseError as e:
            raise _translate(e) from e

    def add_rule(self, rule, *, now: datetime) -> int:
        spec = {k: v for k, v in rule.to_json().items() if k not in ("id", "enabled")}
        with self._write() as db:
            pos = db.execute("SELECT coalesce(max(position), 0) + 1 FROM rules").fetchone()[0]
            _bump_rules_version(db)
            return db.execute("INSERT INTO rules (position, enabled, spec, created, updated) VALUES (?, ?, ?, ?, ?)",
                              (pos, int(rule.enabled), json.dumps(spec), to_db(now), to_db(now))).lastrowid

    def update_rule(self, rule, *, now: datetime) -> None:
        spec = {k: v for k, v in rule.to_json().items() if k not in ("id", "enabled")}
        with self._write() as db:
            if db.execute("UPDATE rules SET enabled = ?, spec = ?, updated = ? WHERE id = ?",
                          (int(rule.enabled), json.dumps(spec), to_db(now), rule.id)).rowcount == 0:
                raise NotFound(f"There is no rule {rule.id}.")
            _bump_rules_version(db)

    def delete_rule(self, rule_id: int) -> None:
        with self._write() as db:
            if db.execute("DELETE FROM rules WHERE id = ?", (rule_id,)).rowcount == 0:
                raise NotFound(f"There is no rule {rule_id}.")
            _bump_rules_version(db)

    def rule_candidates(self, feed_ids: Sequence[int], after_id: int, limit: int) -> list[sqlite3.Row]:
        """A batch of existing articles for rules to look at (id order, from `after_id`)."""
        return self._read(
            f"""SELECT a.id, a.feed_id, a.title, a.authors, a.text, a.url, a.read, a.starred, a.hidden, a.no_digest
                FROM articles a WHERE a.id > ? AND a.feed_id IN ({_qs(feed_ids) or 'NULL'})
                ORDER BY a.id LIMIT ?""", (after_id, *feed_ids, limit))

    def set_flags(self, column: str, ids: Sequence[int], value: bool = True) -> int:
        """Set read, starred, hidden or no_digest on many articles in one short transaction."""
        if column not in ("read", "starred", "hidden", "no_digest"):
            raise ValueError(column)
        n = 0
        with self._write() as db:
            for chunk in _chunks(list(ids), BATCH):
                n += db.execute(f"UPDATE articles SET {column} = ? WHERE {column} != ? AND id IN ({_qs(chunk)})",
                                (int(value), int(value), *chunk)).rowcount
        return n

    def retention_candidates(self, feed_id: int, cutoff: datetime | None, keep: int | None) -> list[int]:
        """Articles of a feed retention may remove: older than `cutoff` or beyond the newest `keep`,
        never starred nor cited by a digest."""
        if cutoff is None and not keep:
            return []
        tests, params = [], [feed_id]
        if cutoff is not None:
            tests.append("a.sort_date < ?")
            params.append(to_db(cutoff))
        if keep:
            tests.append("a.id NOT IN (SELECT id FROM articles WHERE feed_id = ? ORDER BY sort_date DESC, id DESC LIMIT ?)")
            params += [feed_id, keep]
        return [r[0] for r in self._read(
            f"""SELECT a.id FROM articles a WHERE a.feed_id = ? AND a.starred = 0
                AND NOT EXISTS (SELECT 1 FROM digest_sources d WHERE d.article_id = a.id)
                AND ({' OR '.join(tests)}) ORDER BY a.id""", params)]

    def retire_articles(self, ids: Sequence[int], *, now: datetime) -> tuple[int, list[str], list[str]]:
        """Delete articles in one transaction, remembering their guids so the feed cannot bring them
        back; return (deleted, image files no article shows any more, download files). The files
        are the caller's to delete after this commits (a crash then leaves files, never dangling rows)."""
        ids = list(ids)
        images: list[str] = []
        downloads: list[str] = []
        with self._write() as db:
            qs = _qs(ids)
            db.execute(f"""INSERT OR IGNORE INTO retired_guids (feed_id, guid, retired)
                           SELECT feed_id, guid, ? FROM articles WHERE id IN ({qs})""", (to_db(now), *ids))
            downloads = [r[0] for r in db.execute(
                f"SELECT path FROM downloads WHERE path IS NOT NULL AND article_id IN ({qs})", ids)]
            urls = [r[0] for r in db.execute(f"SELECT DISTINCT url FROM article_images WHERE article_id IN ({qs})", ids)]
            n = db.execute(f"DELETE FROM articles WHERE id IN ({qs})", ids).rowcount
            for chunk in _chunks(urls, BATCH):
                orphans = db.execute(
                    f"""SELECT url, path FROM images WHERE url IN ({_qs(chunk)})
                        AND NOT EXISTS (SELECT 1 FROM article_images ai WHERE ai.url = images.url)""", chunk).fetchall()
                db.executemany("DELETE FROM images WHERE url = ?", [(r[0],) for r in orphans])
                images += [r[1] for r in orphans if r[1]]
        return n, images, downloads

    def optimize_search(self) -> None:
        """Merge the full-text index's segments (after many deletes)."""
        with self._write() as db:
            db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('optimize')")

    def vacuum(self) -> None:
        """Give freed pages back to the disk: checkpoint the WAL, then VACUUM (no transaction may be
        open; another connection writing makes it wait up to the busy timeout, then StoreLocked)."""
        if self.read_only:
            raise StoreError("The library is read-only: it cannot be compacted.")
        db = self._db
        try:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.DatabaseError as e:
            raise _translate(e) from e

    def take_notify_queue(self, limit: int = 1000) -> list:
        """The queued articles to announce (app.notify.Pending), removed from the queue in the same
        transaction, so two windows never announce one article twice. Hidden ones are dropped."""
        from app.notify import Pending

        with self._write() as db:
            rows = db.execute(
                """SELECT q.article_id, q.reason, a.feed_id, coalesce(f.user_title, nullif(f.title, ''), f.url) AS ft,
                          f.folder, f.notify, a.title, a.hidden
                   FROM notify_queue q JOIN articles a ON a.id = q.article_id JOIN feeds f ON f.id = a.feed_id
                   ORDER BY q.article_id DESC LIMIT ?""", (limit,)).fetchall()
            db.execute("DELETE FROM notify_queue WHERE article_id IN (SELECT article_id FROM notify_queue "
                       "ORDER BY article_id DESC LIMIT ?)", (limit,))
        return [Pending(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6]) for r in rows if not r["hidden"]]

    def media_rows(self, article_ids: Sequence[int]) -> list[sqlite3.Row]:
        """Enclosures of `article_ids` with their download and played state (Podcasts)."""
        out: list[sqlite3.Row] = []
        for chunk in _chunks(list(article_ids), BATCH):
            out += self._read(
                f"""SELECT e.article_id, e.url, e.type, e.length, coalesce(d.state, 'none') AS state,
                           coalesce(d.received, 0) AS received, d.total, d.path, coalesce(d.played, 0) AS played, d.error
                    FROM enclosures e LEFT JOIN downloads d ON d.article_id = e.article_id AND d.url = e.url
                    WHERE e.article_id IN ({_qs(chunk)}) ORDER BY e.article_id, e.rowid""", chunk)
        return out

    def record_download(self, article_id: int, url: str, *, now: datetime, **fields) -> None:
        """Upsert a download's state (path, received, total, state, error, played): one short write."""
        allowed = {"path", "received", "total", "state", "error", "played"}
        if set(fields) - allowed:
            raise ValueError(set(fields) - allowed)
        with self._write() as db:
            if not db.execute("SELECT 1 FROM articles WHERE id = ?", (article_id,)).fetchone():
                raise NotFound(f"There is no article {article_id}.")
            db.execute("INSERT OR IGNORE INTO downloads (article_id, url, updated) VALUES (?, ?, ?)",
                       (article_id, url, to_db(now)))
            if fields:
                sets = ", ".join(f"{k} = ?" for k in fields)
                db.execute(f"UPDATE downloads SET {sets}, updated = ? WHERE article_id = ? AND url = ?",
                           (*fields.values(), to_db(now), article_id, url))

    def visible(self, ids: Sequence[int]) -> list[int]:
        """`ids` without hidden articles (search results), in the order given."""
        hidden = self._hidden_ids()
        return [i for i in ids if i not in hidden] if hidden else list(ids)

    def _hidden_ids(self, feed_id: int | None = None) -> set[int]:
        if feed_id is not None:
            return {r[0] for r in self._read("SELECT id FROM articles WHERE hidden = 1 AND feed_id = ?", (feed_id,))}
        return {r[0] for r in self._read("SELECT id FROM articles WHERE hidden = 1")}


# --- helpers ---------------------------------------------------------------------------------------

# What counts as news of a day (the digest and the *Today* view share it): not an item published
# more than NEWS_LAG_DAYS before Tidings first saw it (an archive that arrives with a new
# subscription), nor an undated item first seen within minutes of its feed being added (the same).
# Decided when an article is written (news_flag, the `news` column); NEWS_SQL is how queries ask,
# in the form the partial index articles_news_by_date needs ("a.news = 1").
NEWS_LAG_DAYS = 2
NEWS_LAG = timedelta(days=NEWS_LAG_DAYS)
NEWS_UNDATED_AFTER = timedelta(minutes=10)
NEWS_SQL = "a.news = 1"


def news_flag(published: datetime | None, first_seen: datetime, feed_added: datetime) -> bool:
    """Is an article news (True) or part of an archive (False)? See NEWS_LAG_DAYS."""
    if published is not None and published.tzinfo is None:
        published = published.replace(tzinfo=timezone.utc)
    if first_seen.tzinfo is None:
        first_seen = first_seen.replace(tzinfo=timezone.utc)
    if published is not None:
        return first_seen - published <= NEWS_LAG
    return first_seen - feed_added > NEWS_UNDATED_AFTER


# Enclosures a player plays (the Podcasts view): by type, else by the file's extension.
MEDIA_SQL = ("(type LIKE 'audio/%' OR type LIKE 'video/%' OR ((type IS NULL OR type = '' OR type = "
             "'application/octet-stream') AND (url LIKE '%.mp3%' OR url LIKE '%.m4a%' OR url LIKE '%.ogg%' OR "
             "url LIKE '%.opus%' OR url LIKE '%.mp4%' OR url LIKE '%.webm%' OR url LIKE '%.mov%')))")

_ARTICLE_SQL = """
    SELECT a.*, coalesce(f.user_title, nullif(f.title, ''), f.url) AS feed_title
    FROM articles a JOIN feeds f ON f.id = a.feed_id
"""


def _where(q: ArticleQuery, *, exclude_hidden: bool = True) -> tuple[str, list]:
    clauses: list[str] = []
    params: list = []
    if q.feed_id is not None:
        clauses.append("a.feed_id = ?")
        params.append(q.feed_id)
    if q.folder is not None:
        clauses.append("a.feed_id IN (SELECT id FROM feeds WHERE folder = ? OR folder LIKE ?)")
        params += [q.folder, q.folder + "/%"]
    if q.unread:
        clauses.append("a.read = 0")
    if q.starred:
        clauses.append("a.starred = 1")
    if q.since is not None:
        clauses.append("a.sort_date >= ?")
        params.append(to_db(q.since))
    if q.until is not None:
        clauses.append("a.sort_date < ?")
        params.append(to_db(q.until))
    if q.news:
        clauses.append(NEWS_SQL)
    # Hidden articles (a rule's action) show only in the Hidden view. Excluding the few hidden ids
    # (a partial index) keeps the covering indexes above usable, where "a.hidden = 0" would read rows.
    if q.hidden:
        clauses.append("a.hidden = 1")
    elif not exclude_hidden:
        pass  # the caller drops them (Store.article_ids)
    elif q.feed_id is not None:  # only this feed's hidden ids (the partial index leads with feed_id)
        clauses.append("a.id NOT IN (SELECT id FROM articles WHERE hidden = 1 AND feed_id = ?)")
        params.append(q.feed_id)
    else:
        clauses.append("a.id NOT IN (SELECT id FROM articles WHERE hidden = 1)")
    if q.podcasts:
        clauses.append(f"a.id IN (SELECT article_id FROM enclosures WHERE {MEDIA_SQL})")
    if q.ids is not None:
        ids = list(q.ids)
        clauses.append(f"a.id IN ({_qs(ids) or 'NULL'})")
        params += ids
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def fts_query(text: str) -> str:
    """A person's search words as a safe FTS5 query: every word required, the last one as a prefix."""
    import re

    words = re.findall(r"\w+", text, flags=re.UNICODE)
    if not words:
        return ""
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)




def _feed(r: Sequence) -> Feed:
    """A Feed from a row of `Store._FEED_SQL`. Made without the frozen dataclass's __init__ (which
    sets each of its 23 fields through object.__setattr__): listing 5,000 feeds took 81 ms of
    Python with the GIL held, the window's repaints waiting on it after every sync; now ~15 ms.
    The values are those __init__ would store (a test compares the two)."""
    (fid, url, title, user_title, site_url, folder, unread, last_error, error_count, last_success, full_text,
     images, etag, last_modified, next_attempt, icon, icon_checked, icon_source, account_id, remote_id, notify,
     translate, keep_days, keep_count) = r
    feed = _new_object(Feed)
    feed.__dict__.update(zip(_FEED_FIELDS, (
        fid,
        feed_url_of(url) if account_id else url,  # account feeds: the url column holds a per-account marker
        user_title or title or feed_url_of(url),
        site_url, folder, unread, last_error, error_count, from_db(last_success), bool(full_text), bool(images),
        etag, last_modified, from_db(next_attempt), icon, from_db(icon_checked), icon_source, account_id,
        remote_id, bool(notify), bool(translate), keep_days, keep_count,
    )))
    return feed


_new_object = object.__new__


def _article(r: sqlite3.Row) -> Article:
    return Article(
        id=r["id"],
        feed_id=r["feed_id"],
        feed_title=r["feed_title"],
        guid=r["guid"],
        url=r["url"],
        title=r["title"],
        authors=r["authors"],
        published=from_db(r["published"]),
        updated=from_db(r["updated"]),
        first_seen=from_db(r["first_seen"]),
        summary=r["summary"],
        content_html=r["extracted_html"] or r["content_html"],
        text=r["text"],
        read=bool(r["read"]),
        starred=bool(r["starred"]),
        fulltext_error=r["fulltext_error"] if not r["extracted_html"] else None,
    )


def _digest(r: sqlite3.Row) -> Digest:
    body = json.loads(r["body"])
    items = [DigestItem(**{k: v for k, v in i.items() if k in DigestItem.__dataclass_fields__}) for i in body["items"]]
    return Digest(
        id=r["id"], date=r["date"], style=r["style"], model=r["model"], extractive=bool(r["extractive"]),
        headline=body.get("headline", ""), items=items, closing=body.get("closing", ""),
        created=from_db(r["created"]), notice=body.get("notice"), opening=body.get("opening", ""),
        shape=body.get("shape", "briefing"), labels=body.get("labels") or {}, layout=body.get("layout") or {},
    )



def account_feed_url(url: str, account_id: int) -> str:
    """How an account feed's address is stored: feeds.url is unique, and the same feed may be in the
    local library and in accounts, so each account's copy carries a marker that `feed_url_of` drops."""
    return f"{url}#tidings-account-{account_id}"


def feed_url_of(stored: str) -> str:
    """A feed address as stored (feeds.url) -> the address itself (without the account marker)."""
    head, sep, tail = stored.rpartition("#tidings-account-")
    return head if sep and tail.isdigit() else stored


def _account(r: sqlite3.Row) -> Account:
    return Account(r["id"], r["kind"], r["name"], r["server"], r["username"], from_db(r["last_sync"]),
                   r["last_error"], r["n_feeds"], r["n_pending"], r["n_rejected"])
def _bump_rules_version(db: sqlite3.Connection) -> None:
    """Every rules change bumps this, in its transaction: compiled rules (in any process) rebuild."""
    db.execute("""INSERT INTO settings (key, value) VALUES ('rules_version', '1')
                  ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1""")


def _qs(items: Sequence) -> str:
    return ", ".join("?" * len(items))


def _chunks(items: list, n: int) -> Iterator[list]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _looks_read_only(path: Path) -> bool:
    """Is the library (or, when it does not exist yet, its folder) read-only for us?"""
    if path.exists():
        return not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK)
    parent = path.parent
    return parent.is_dir() and not os.access(parent, os.W_OK)


def _is_read_only_error(e: BaseException) -> bool:
    msg = str(e).lower()
    return isinstance(e, PermissionError) or "readonly" in msg or "read-only" in msg or "unable to open" in msg


def _translate(e: sqlite3.DatabaseError) -> StoreError:
    msg = str(e).lower()
    if "locked" in msg or "busy" in msg:
        return StoreLocked("The library is busy: another Tidings is writing to it.")
    if "full" in msg:
        return DiskFull("The disk is full: Tidings could not save.")
    if "not a database" in msg or "malformed" in msg or "corrupt" in msg:
        return StoreCorrupt(f"The library file is damaged or not a Tidings library ({e}).")
    return StoreError(f"The library could not be read or written ({e}).",
                      "This looks like a bug; details are in the log.")
