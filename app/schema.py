"""The whole schema, in one place, as numbered migrations on `PRAGMA user_version`.

Each migration runs in its own transaction, followed by a foreign-key check. Never edit a
migration that has shipped: add the next number instead.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE feeds (
        id              INTEGER PRIMARY KEY,
        url             TEXT NOT NULL UNIQUE,
        title           TEXT NOT NULL DEFAULT '',   -- as the feed names itself
        user_title      TEXT,                        -- as the person renamed it
        site_url        TEXT,
        folder          TEXT,                        -- nested folders joined with '/'
        etag            TEXT,
        last_modified   TEXT,
        last_success    TEXT,
        last_attempt    TEXT,
        last_error      TEXT,
        error_count     INTEGER NOT NULL DEFAULT 0,
        next_attempt    TEXT,                        -- back-off and Retry-After: timed syncs wait for it
        retry_after     TEXT,                        -- the server's own Retry-After: every sync waits for it
        fetch_full_text INTEGER NOT NULL DEFAULT 1,
        fetch_images    INTEGER NOT NULL DEFAULT 1,
        added           TEXT NOT NULL
    );

    CREATE TABLE articles (
        id            INTEGER PRIMARY KEY,
        feed_id       INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
        guid          TEXT NOT NULL,
        url           TEXT,
        title         TEXT NOT NULL DEFAULT '',
        authors       TEXT NOT NULL DEFAULT '',
        published     TEXT,
        updated       TEXT,
        first_seen    TEXT NOT NULL,
        sort_date     TEXT NOT NULL,                  -- published, else first_seen (ISO, UTC)
        summary       TEXT NOT NULL DEFAULT '',
        content_html  TEXT NOT NULL DEFAULT '',
        text          TEXT NOT NULL DEFAULT '',       -- plain text: extracted full text, else of content
        extracted_html TEXT,                          -- the article page's main text as HTML, when fetched
        content_hash  TEXT NOT NULL,                  -- to notice changed content
        read          INTEGER NOT NULL DEFAULT 0,
        starred       INTEGER NOT NULL DEFAULT 0,
        -- offline work still to do: 1 = pending, 0 = done or not wanted
        needs_fulltext INTEGER NOT NULL DEFAULT 0,
        needs_images   INTEGER NOT NULL DEFAULT 0,
        UNIQUE (feed_id, guid)
    );
    CREATE INDEX articles_by_feed ON articles (feed_id, sort_date DESC, id DESC);  -- a feed's articles
    CREATE INDEX articles_by_feed_read ON articles (feed_id, read, sort_date DESC, id DESC);  -- a feed's unread, counts
    CREATE INDEX articles_by_date ON articles (sort_date DESC, id DESC);  -- all articles, Today
    CREATE INDEX articles_by_first_seen ON articles (first_seen);  -- the digest's day (with articles_by_date)
    CREATE INDEX articles_by_read_date ON articles (read, sort_date DESC, id DESC);  -- "All unread", "Today"
    CREATE INDEX articles_starred ON articles (starred) WHERE starred = 1;  -- queries must say "= 1" to use it
    CREATE INDEX articles_pending_fulltext ON articles (feed_id) WHERE needs_fulltext;
    CREATE INDEX articles_pending_images ON articles (feed_id) WHERE needs_images;

    CREATE TABLE enclosures (
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        url        TEXT NOT NULL,
        type       TEXT,
        length     INTEGER,
        PRIMARY KEY (article_id, url)
    );

    -- The image cache: one row per remote image; `path` is relative to the cache dir.
    CREATE TABLE images (
        url     TEXT PRIMARY KEY,
        path    TEXT,
        type    TEXT,
        size    INTEGER,
        error   TEXT,
        fetched TEXT NOT NULL
    );
    CREATE TABLE article_images (
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        url        TEXT NOT NULL,
        PRIMARY KEY (article_id, url)
    );

    -- Full-text search, external content over articles. Kept up to date from `search_queue`
    -- in batches (Store.update_search): per-row FTS maintenance inside sync made writes ~20x slower.
    CREATE VIRTUAL TABLE articles_fts USING fts5 (
        title, authors, text,
        content = 'articles', content_rowid = 'id',
        tokenize = 'porter unicode61 remove_diacritics 1'
    );
    -- Articles whose indexed values are stale. `old_*` hold what the index holds now (NULL: not indexed).
    CREATE TABLE search_queue (
        article_id  INTEGER PRIMARY KEY,
        old_title   TEXT,
        old_authors TEXT,
        old_text    TEXT
    );
    CREATE TRIGGER articles_search_insert AFTER INSERT ON articles BEGIN
        INSERT OR IGNORE INTO search_queue (article_id) VALUES (new.id);
    END;
    CREATE TRIGGER articles_search_update AFTER UPDATE OF title, authors, text ON articles BEGIN
        INSERT OR IGNORE INTO search_queue (article_id, old_title, old_authors, old_text)
            SELECT old.id, old.title, old.authors, old.text
            WHERE NOT EXISTS (SELECT 1 FROM search_queue WHERE article_id = old.id);
    END;
    CREATE TRIGGER articles_search_delete AFTER DELETE ON articles BEGIN
        -- indexed already: remove from the index now; queued with no index entry: just dequeue
        INSERT INTO articles_fts (articles_fts, rowid, title, authors, text)
            SELECT 'delete', old.id,
                   coalesce(q.old_title, old.title), coalesce(q.old_authors, old.authors),
                   coalesce(q.old_text, old.text)
            FROM (SELECT 1) LEFT JOIN search_queue q ON q.article_id = old.id
            WHERE q.article_id IS NULL OR q.old_title IS NOT NULL;
        DELETE FROM search_queue WHERE article_id = old.id;
    END;

    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL          -- JSON
    );

    -- Small content-addressed cache (e.g. per-story summaries keyed by model+prompt+content).
    CREATE TABLE cache (
        key     TEXT PRIMARY KEY,
        value   TEXT NOT NULL,
        created TEXT NOT NULL
    );

    CREATE TABLE digests (
        id        INTEGER PRIMARY KEY,
        date      TEXT NOT NULL,         -- the local day it covers, YYYY-MM-DD
        created   TEXT NOT NULL,
        style     TEXT NOT NULL,
        model     TEXT,
        extractive INTEGER NOT NULL,
        body      TEXT NOT NULL          -- the Digest as JSON
    );
    CREATE TABLE digest_sources (
        digest_id  INTEGER NOT NULL REFERENCES digests(id) ON DELETE CASCADE,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        PRIMARY KEY (digest_id, article_id)
    );
    """,
    # At scale (1M articles, 5,000 feeds): unread counts kept per feed by triggers instead of counted
    # (counting walked every unread index entry: ~50 ms at 1M), and "news, not an archive" decided
    # once when an article is written (store.news_flag) instead of per row with julianday() and a
    # join on feeds (which made the Today count 3x slower), with a small covering index for Today.
    2: """
    ALTER TABLE feeds ADD COLUMN unread INTEGER NOT NULL DEFAULT 0;  -- its articles with read = 0
    UPDATE feeds SET unread = (SELECT count(*) FROM articles a WHERE a.feed_id = feeds.id AND a.read = 0);
    CREATE TRIGGER articles_unread_insert AFTER INSERT ON articles WHEN new.read = 0 BEGIN
        UPDATE feeds SET unread = unread + 1 WHERE id = new.feed_id;
    END;
    CREATE TRIGGER articles_unread_update AFTER UPDATE OF read ON articles WHEN old.read != new.read BEGIN
        UPDATE feeds SET unread = unread + (CASE WHEN new.read = 0 THEN 1 ELSE -1 END) WHERE id = new.feed_id;
    END;
    CREATE TRIGGER articles_unread_delete AFTER DELETE ON articles WHEN old.read = 0 BEGIN
        UPDATE feeds SET unread = unread - 1 WHERE id = old.feed_id;
    END;

    -- 1: news of its day; 0: an archive (published over 2 days before first seen, or undated and
    -- first seen within 10 minutes of its feed being added). The definition: store.news_flag.
    ALTER TABLE articles ADD COLUMN news INTEGER NOT NULL DEFAULT 1;
    UPDATE articles SET news = (CASE WHEN published IS NOT NULL
            THEN julianday(first_seen) - julianday(published) <= 2
            ELSE julianday(first_seen) - julianday((SELECT added FROM feeds f WHERE f.id = articles.feed_id)) > 10.0 / 1440
        END);
    -- Today and its count: queries must say "a.news = 1" to use it
    CREATE INDEX articles_news_by_date ON articles (sort_date DESC, id DESC, read) WHERE news = 1;
    """,
    # The reader's core (issue 10): article pages and images that could not be fetched wait before
    # they are tried again, and are given up after a few tries (app.sync.decide.retry_at); feed icons.
    3: """
    ALTER TABLE articles ADD COLUMN fulltext_attempts INTEGER NOT NULL DEFAULT 0;  -- failed tries of its page
    ALTER TABLE articles ADD COLUMN fulltext_next TEXT;     -- do not ask for its page before this
    ALTER TABLE articles ADD COLUMN fulltext_error TEXT;    -- why it has no full text, once given up (plain words)
    ALTER TABLE articles ADD COLUMN images_next TEXT;       -- an image of it failed for now: look again after this
    ALTER TABLE images ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;  -- tries, for a failed image
    ALTER TABLE images ADD COLUMN next_attempt TEXT;        -- a failed image to try again after this (NULL: done)
    ALTER TABLE feeds ADD COLUMN icon TEXT;                 -- the feed's icon in the image cache (relative path)
    ALTER TABLE feeds ADD COLUMN icon_checked TEXT;         -- when its icon was last looked for
    ALTER TABLE feeds ADD COLUMN icon_source TEXT;          -- the address the icon came from (asked first next time)
    """,
    # Server accounts (app/accounts/): Tiny Tiny RSS, Google Reader API. An account's feeds and
    # articles carry its id and their ids on the server; local changes to them wait in
    # `account_changes`, written by the triggers below in the same transaction as the change.
    4: """
    CREATE TABLE accounts (
        id        INTEGER PRIMARY KEY,
        kind      TEXT NOT NULL,                 -- 'ttrss' | 'greader' (app.accounts.KINDS)
        name      TEXT NOT NULL,
        server    TEXT NOT NULL,                 -- base URL; the password lives in the OS keyring
        username  TEXT NOT NULL,
        state     TEXT NOT NULL DEFAULT '{}',    -- JSON: the protocol's sync cursors
        last_sync TEXT,
        last_error TEXT,
        added     TEXT NOT NULL,
        UNIQUE (kind, server, username)
    );
    ALTER TABLE feeds ADD COLUMN account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE;
    ALTER TABLE feeds ADD COLUMN remote_id TEXT;     -- NULL on an account feed: subscribed here, not yet there
    ALTER TABLE articles ADD COLUMN remote_id TEXT;  -- the server's item id (Google Reader: the long form)
    CREATE UNIQUE INDEX feeds_by_remote ON feeds (account_id, remote_id) WHERE account_id IS NOT NULL;
    CREATE INDEX articles_by_remote ON articles (remote_id) WHERE remote_id IS NOT NULL;

    -- Local changes still to send, in order (id). `error`: the server refused it, in its words;
    -- kept (and shown) until the person retries or drops it.
    CREATE TABLE account_changes (
        id         INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        action     TEXT NOT NULL,     -- read | unread | star | unstar | subscribe | unsubscribe | move
        remote_id  TEXT,              -- the article's, or the feed's, id on the server
        feed_id    INTEGER,           -- subscribe / move: the local feed (no foreign key: it may be gone)
        url        TEXT,              -- subscribe: the feed's address
        folder     TEXT,              -- subscribe / move: the folder ('' none)
        created    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        error      TEXT
    );
    CREATE INDEX account_changes_by_account ON account_changes (account_id, id);

    CREATE TRIGGER account_article_read AFTER UPDATE OF read ON articles
        WHEN new.remote_id IS NOT NULL AND old.read != new.read BEGIN
        INSERT INTO account_changes (account_id, action, remote_id)
            SELECT account_id, CASE WHEN new.read THEN 'read' ELSE 'unread' END, new.remote_id
            FROM feeds WHERE id = new.feed_id AND account_id IS NOT NULL;
    END;
    CREATE TRIGGER account_article_star AFTER UPDATE OF starred ON articles
        WHEN new.remote_id IS NOT NULL AND old.starred != new.starred BEGIN
        INSERT INTO account_changes (account_id, action, remote_id)
            SELECT account_id, CASE WHEN new.starred THEN 'star' ELSE 'unstar' END, new.remote_id
            FROM feeds WHERE id = new.feed_id AND account_id IS NOT NULL;
    END;
    CREATE TRIGGER account_feed_subscribe AFTER INSERT ON feeds
        WHEN new.account_id IS NOT NULL AND new.remote_id IS NULL BEGIN
        INSERT INTO account_changes (account_id, action, feed_id, url, folder)
            VALUES (new.account_id, 'subscribe', new.id, new.url, coalesce(new.folder, ''));
    END;
    CREATE TRIGGER account_feed_move AFTER UPDATE OF folder ON feeds
        WHEN new.account_id IS NOT NULL AND old.folder IS NOT new.folder BEGIN
        INSERT INTO account_changes (account_id, action, remote_id, feed_id, folder)
            VALUES (new.account_id, 'move', new.remote_id, new.id, coalesce(new.folder, ''));
    END;
    CREATE TRIGGER account_feed_unsubscribe AFTER DELETE ON feeds
        WHEN old.account_id IS NOT NULL AND old.remote_id IS NOT NULL BEGIN
        INSERT INTO account_changes (account_id, action, remote_id, feed_id, url)
            VALUES (old.account_id, 'unsubscribe', old.remote_id, old.id, old.url);
    END;
    -- unsubscribed before the server heard of it: nothing to send, not even the subscription
    CREATE TRIGGER account_feed_unsubscribe_pending AFTER DELETE ON feeds
        WHEN old.account_id IS NOT NULL AND old.remote_id IS NULL BEGIN
        DELETE FROM account_changes WHERE feed_id = old.id AND action IN ('subscribe', 'move');
    END;
    """,
    # Rules, retention, notifications, podcasts, translation (issue 11).
    5: """
    -- Rule actions on articles. Hidden articles stay in the store but show only in the Hidden view;
    -- no_digest keeps an article out of the digest.
    ALTER TABLE articles ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE articles ADD COLUMN no_digest INTEGER NOT NULL DEFAULT 0;
    -- Few rows, covering: unread and starred counts subtract the hidden ones per feed from it and
    -- views exclude its ids, so migration 1's indexes stay as they are. Queries must say "hidden = 1".
    CREATE INDEX articles_hidden ON articles (feed_id, read, starred) WHERE hidden = 1;

    ALTER TABLE feeds ADD COLUMN notify INTEGER NOT NULL DEFAULT 0;            -- desktop notification for new articles
    ALTER TABLE feeds ADD COLUMN always_translate INTEGER NOT NULL DEFAULT 0;  -- translate on open
    ALTER TABLE feeds ADD COLUMN keep_days INTEGER;                            -- retention override (NULL: Settings, 0: forever)
    ALTER TABLE feeds ADD COLUMN keep_count INTEGER;                           -- retention override (NULL: Settings, 0: no limit)

    -- Rules, in the order they are listed; `spec` is the rule as JSON (app/rules.py).
    CREATE TABLE rules (
        id       INTEGER PRIMARY KEY,
        position INTEGER NOT NULL DEFAULT 0,
        enabled  INTEGER NOT NULL DEFAULT 1,
        spec     TEXT NOT NULL,
        created  TEXT NOT NULL,
        updated  TEXT NOT NULL
    );

    -- Entries retention removed: a feed that still lists them must not bring them back as new.
    CREATE TABLE retired_guids (
        feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
        guid    TEXT NOT NULL,
        retired TEXT NOT NULL,
        PRIMARY KEY (feed_id, guid)
    ) WITHOUT ROWID;

    -- New articles waiting to be announced (a notify feed/folder, or a rule's notify action).
    CREATE TABLE notify_queue (
        article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
        reason     TEXT NOT NULL,     -- the rule's name, or '' for a notify feed/folder
        queued     TEXT NOT NULL
    );

    -- Retention keeps digest-cited articles and removes images no article shows any more: both
    -- look up by the second column of a primary key (and deleting an article checks digest_sources).
    CREATE INDEX digest_sources_by_article ON digest_sources (article_id);
    CREATE INDEX article_images_by_url ON article_images (url);

    -- Podcast and video enclosures: downloads (resumable) and played state.
    CREATE TABLE downloads (
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        url        TEXT NOT NULL,
        path       TEXT,                -- the file (absolute: the downloads folder is a setting)
        received   INTEGER NOT NULL DEFAULT 0,
        total      INTEGER,
        state      TEXT NOT NULL DEFAULT 'none',   -- none | partial | done | failed
        error      TEXT,
        played     INTEGER NOT NULL DEFAULT 0,
        updated    TEXT NOT NULL,
        PRIMARY KEY (article_id, url)
    );

    -- A hidden article is out of every unread count: the per-feed counters of migration 2 skip it.
    DROP TRIGGER articles_unread_insert;
    DROP TRIGGER articles_unread_update;
    DROP TRIGGER articles_unread_delete;
    CREATE TRIGGER articles_unread_insert AFTER INSERT ON articles WHEN new.read = 0 AND new.hidden = 0 BEGIN
        UPDATE feeds SET unread = unread + 1 WHERE id = new.feed_id;
    END;
    CREATE TRIGGER articles_unread_update AFTER UPDATE OF read, hidden ON articles
        WHEN (old.read = 0 AND old.hidden = 0) != (new.read = 0 AND new.hidden = 0) BEGIN
        UPDATE feeds SET unread = unread + (CASE WHEN new.read = 0 AND new.hidden = 0 THEN 1 ELSE -1 END)
            WHERE id = new.feed_id;
    END;
    CREATE TRIGGER articles_unread_delete AFTER DELETE ON articles WHEN old.read = 0 AND old.hidden = 0 BEGIN
        UPDATE feeds SET unread = unread - 1 WHERE id = old.feed_id;
    END;
    """,
}

LATEST = max(MIGRATIONS)


def migrate(db: sqlite3.Connection) -> None:
    """Bring `db` to the latest version; each step is one transaction."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > LATEST:
        from app.errors import StoreCorrupt

        raise StoreCorrupt(
            f"This library was written by a newer Tidings (schema {version}, this one knows {LATEST}).",
            "Update Tidings to open it.",
        )
    for number in range(version + 1, LATEST + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(MIGRATIONS[number]):
                db.execute(statement)
            problems = db.execute("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise RuntimeError(f"migration {number} broke foreign keys: {problems[:5]}")
            db.execute(f"PRAGMA user_version = {number}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


def _statements(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit our transaction)."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
