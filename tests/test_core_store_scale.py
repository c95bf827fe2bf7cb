"""What the store precomputes for speed at scale (schema migration 2) must give the same answers as
computing it per query: a feed's unread count (kept by triggers) and "news, not an archive" (the
`news` column) against the definitions they replaced, on a real SQLite file."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import timedelta

import pytest

from app import make_tidings, schema
from app.models import ArticleQuery
from app.store import Store, to_db
from tests.helpers import T0, entry, feed

# The per-row definition the `news` column replaced (julianday arithmetic and a join on feeds).
OLD_NEWS_SQL = ("(CASE WHEN a.published IS NOT NULL THEN julianday(a.first_seen) - julianday(a.published) <= 2"
                " ELSE julianday(a.first_seen) - julianday(f.added) > 10.0 / 1440 END)")


def reference(db, start, end, column="sort_date", unread=False):
    rows = db.execute(f"""SELECT a.id FROM articles a JOIN feeds f ON f.id = a.feed_id
                          WHERE a.{column} >= ? AND a.{column} < ? AND {OLD_NEWS_SQL}
                          {'AND a.read = 0' if unread else ''} ORDER BY a.sort_date, a.id""",
                      (to_db(start), to_db(end))).fetchall()
    return [r[0] for r in rows]


def unread_reference(db):
    return {r[0]: r[1] for r in db.execute(
        "SELECT feed_id, count(*) FROM articles WHERE read = 0 GROUP BY feed_id").fetchall()}


def fill(t):
    """Archives and news, dated and undated, first seen at the subscription and later; some
    entries change their date on a later sync (news <-> archive)."""
    added = T0 - timedelta(days=5)
    f = t.store.add_feed("https://example.org/a", now=added)[0]
    g = t.store.add_feed("https://example.org/b", now=added)[0]
    first = [entry(i, published=added - timedelta(days=i % 4, hours=i)) for i in range(8)]  # archive, mostly
    undated = [replace(entry(100 + i), published=None) for i in range(3)]
    t.store.save_entries(f, replace(feed(0), entries=first + undated), now=added + timedelta(minutes=1))
    later_undated = [replace(entry(200 + i), published=None) for i in range(3)]
    fresh = [entry(300 + i, published=T0 - timedelta(hours=3 * i)) for i in range(6)]
    t.store.save_entries(g, replace(feed(0), entries=undated + later_undated + fresh), now=T0)
    # a later sync: an archived entry is re-dated to just before it was first seen (now news), a
    # fresh one back-dated far into the past (now an archive), an undated one gets a date
    changed = [replace(first[5], published=added, content_html="<p>changed</p>"),
               replace(fresh[1], published=T0 - timedelta(days=30), content_html="<p>changed</p>"),
               replace(later_undated[0], published=T0 - timedelta(days=9), content_html="<p>changed</p>")]
    out = t.store.save_entries(f, replace(feed(0), entries=[changed[0]]), now=T0 + timedelta(hours=2))
    assert out.updated
    out = t.store.save_entries(g, replace(feed(0), entries=changed[1:]), now=T0 + timedelta(hours=2))
    assert len(out.updated) == 2
    return f, g


@pytest.fixture
def t(tmp_path):
    with make_tidings(tmp_path, clock=lambda: T0) as t:
        yield t


def check_same(t):
    db = t.store._db
    for start, end in ((T0 - timedelta(days=40), T0 + timedelta(days=2)), (T0 - timedelta(days=5), T0),
                       (T0 - timedelta(hours=10), T0 + timedelta(hours=3))):
        want = reference(db, start, end)
        assert [a.id for a in t.store.articles_between(start, end)] == want
        assert t.store.article_ids(ArticleQuery(since=start, until=end, news=True, newest_first=False)) == want
        assert [a.id for a in t.store.articles_between(start, end, by="first_seen")] == \
            reference(db, start, end, "first_seen")
        assert t.store.counts(start, end)["today"] == len(reference(db, start, end, unread=True))
    assert t.store.counts(T0)["feeds"] == unread_reference(db)
    assert {f.id: f.unread for f in t.feeds() if f.unread} == unread_reference(db)


def test_news_and_unread_counts_match_the_per_row_definitions(t):
    f, g = fill(t)
    db = t.store._db
    everything = reference(db, T0 - timedelta(days=400), T0 + timedelta(days=1))
    assert 0 < len(everything) < db.execute("SELECT count(*) FROM articles").fetchone()[0]  # both kinds
    check_same(t)
    ids = t.article_ids()
    t.mark_read(ids[::2])
    check_same(t)
    t.mark_read(ids[:3], False)
    t.mark_feed_read(g)
    check_same(t)
    with t.store._write() as wdb:  # articles deleted one by one (as retention does)
        wdb.execute("DELETE FROM articles WHERE id IN (SELECT id FROM articles WHERE read = 0 LIMIT 3)"
                    " OR id IN (SELECT id FROM articles WHERE read = 1 LIMIT 2)")
    check_same(t)
    t.remove_feed(f)
    check_same(t)
    assert t.counts()["feeds"] == {}


def test_migration_fills_news_and_unread_for_an_existing_library(tmp_path):
    """A library written at schema 1 (before the columns existed) gets the same answers once opened."""
    with make_tidings(tmp_path / "new", clock=lambda: T0) as t:
        fill(t)
        t.mark_read(t.article_ids()[1::3])
        db = t.store._db
        rows = db.execute("SELECT * FROM articles ORDER BY id").fetchall()
        feeds = db.execute("SELECT * FROM feeds ORDER BY id").fetchall()
    old = sqlite3.connect(tmp_path / "old.sqlite")
    for statement in schema._statements(schema.MIGRATIONS[1]):
        old.execute(statement)
    old.execute("PRAGMA user_version = 1")
    cols1 = [r[1] for r in old.execute("PRAGMA table_info(feeds)")]
    old.executemany(f"INSERT INTO feeds ({', '.join(cols1)}) VALUES ({', '.join('?' * len(cols1))})",
                    [tuple(r[c] for c in cols1) for r in feeds])
    cols = [r[1] for r in old.execute("PRAGMA table_info(articles)")]
    old.executemany(f"INSERT INTO articles ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    [tuple(r[c] for c in cols) for r in rows])
    old.commit()
    old.close()
    store = Store(tmp_path / "old.sqlite")
    try:
        db = store._db
        assert [tuple(r) for r in db.execute("SELECT id, news FROM articles ORDER BY id")] == \
            [(r["id"], r["news"]) for r in rows]
        assert {r[0]: r[1] for r in db.execute("SELECT id, unread FROM feeds WHERE unread > 0")} == \
            unread_reference(db)
    finally:
        store.close()


def test_search_index_merge_and_optimize_keep_the_same_answers(t):
    f = t.store.add_feed("https://example.org/s", now=T0)[0]
    for k in range(4):  # several update_search runs: several index segments, merged as they come
        entries = [replace(entry(i, body=f"<p>batch{k} common words here</p>"), guid=f"{k}-{i}") for i in range(30)]
        t.store.save_entries(f, replace(feed(0), entries=entries), now=T0 + timedelta(minutes=k))
        assert t.update_search() > 0
    before = (t.search("common"), t.search("batch2"), t.search("batc"))
    assert len(before[0]) == 120 and len(before[1]) == 30 and len(before[2]) == 120
    t.store.optimize_search()
    assert (t.search("common"), t.search("batch2"), t.search("batc")) == before
    assert t.store._db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')") is not None


def test_a_listed_feed_is_the_feed_its_dataclass_would_make(tmp_path):
    """(Store._feed skips the frozen dataclass's __init__ for speed: the result must not differ)"""
    import dataclasses
    from datetime import datetime, timezone

    from app.models import Feed
    from app.store import Store

    s = Store(tmp_path / "t.sqlite")
    now = datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)
    fid, _ = s.add_feed("https://example.org/f.xml", now=now, title="Feed", folder="News", fetch_images=False)
    s.update_feed(fid, user_title="Mine", notify=1, keep_days=30)
    s.record_fetch_ok(fid, now=now, etag='"e1"', last_modified="Sat, 21 Nov 2026 08:00:00 GMT")
    f = s.feed(fid)
    made = Feed(**{k.name: getattr(f, k.name) for k in dataclasses.fields(Feed)})
    assert f == made and hash(f) == hash(made) and repr(f) == repr(made)
    assert (f.title, f.folder, f.fetch_images, f.notify, f.keep_days, f.etag, f.last_success) == \
        ("Mine", "News", False, True, 30, '"e1"', now)
    assert s.feeds() == [f]
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.title = "changed"
    s.close()
