"""The store on a real SQLite file: identity, updates in place, state kept, search, counts."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import timedelta

import pytest

from app import make_tidings
from app.errors import NotFound, StoreCorrupt
from app.models import ArticleQuery, Digest, DigestItem
from app.store import Store
from tests.helpers import T0, Enclosure, entry, feed


@pytest.fixture
def t(tmp_path):
    with make_tidings(tmp_path, clock=lambda: T0) as t:
        yield t


def test_new_store_is_wal_with_schema_version(tmp_path):
    Store(tmp_path / "s.sqlite").close()
    db = sqlite3.connect(tmp_path / "s.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] >= 1
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_store_from_the_future_is_refused(tmp_path):
    Store(tmp_path / "s.sqlite").close()
    db = sqlite3.connect(tmp_path / "s.sqlite")
    db.execute("PRAGMA user_version = 999")
    db.close()
    with pytest.raises(StoreCorrupt):
        Store(tmp_path / "s.sqlite")


def test_not_a_database_is_a_clear_error(tmp_path):
    (tmp_path / "tidings.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreCorrupt):
        make_tidings(tmp_path)


def test_resync_never_duplicates_and_keeps_read_and_starred(t):
    f = t.subscribe("https://example.org/feed")
    first = t.store.save_entries(f.id, feed(5), now=T0)
    assert len(first.new) == 5
    t.mark_read(first.new[:2])
    t.set_starred(first.new[0])

    again = t.store.save_entries(f.id, feed(5), now=T0 + timedelta(hours=1))
    assert again.new == [] and again.updated == []
    assert len(t.article_ids()) == 5
    a = t.article(first.new[0])
    assert a.read and a.starred
    assert t.feed(f.id).unread == 3


def test_changed_content_updates_in_place(t):
    f = t.subscribe("https://example.org/feed")
    ids = t.store.save_entries(f.id, feed(3), now=T0).new
    t.mark_read([ids[1]])
    changed = feed(3)
    changed.entries[1] = entry(1, title="Post number 1 (corrected)")
    res = t.store.save_entries(f.id, changed, now=T0 + timedelta(hours=2))
    assert res.updated == [ids[1]] and res.new == []
    a = t.article(ids[1])
    assert a.title == "Post number 1 (corrected)"
    assert a.read  # state survives an update
    assert a.first_seen == T0


def test_same_guid_twice_in_one_feed_is_stored_once(t):
    f = t.subscribe("https://example.org/feed")
    pf = feed(2)
    pf.entries.append(entry(0, title="duplicate guid"))
    assert len(t.store.save_entries(f.id, pf, now=T0).new) == 2


def test_enclosures_and_plain_text(t):
    f = t.subscribe("https://example.org/feed")
    pf = feed(1, enclosures=[Enclosure("https://example.org/ep1.mp3", "audio/mpeg", 1234)])
    [aid] = t.store.save_entries(f.id, pf, now=T0).new
    a = t.article(aid)
    assert a.enclosures == (Enclosure("https://example.org/ep1.mp3", "audio/mpeg", 1234),)
    assert a.text.startswith("Full body text of the post.")
    assert "<p>" not in a.text


def test_teasers_are_queued_for_full_text_unless_the_feed_opts_out(t):
    f = t.subscribe("https://example.org/feed")
    g = t.subscribe("https://example.org/other")
    t.set_feed_options(g.id, fetch_full_text=False)
    teaser = feed(2, body="<p>Just a teaser.</p>")
    t.store.save_entries(f.id, teaser, now=T0)
    t.store.save_entries(g.id, teaser, now=T0)
    pending = t.store.pending_fulltext()
    assert sorted(url for _, url in pending) == ["https://example.org/post/0", "https://example.org/post/1"]
    assert all(t.article(i).feed_id == f.id for i, _ in pending)
    aid = pending[0][0]
    t.store.set_fulltext(aid, "The whole story, extracted.", "<p>The whole story, extracted.</p>")
    assert t.article(aid).text == "The whole story, extracted."
    assert t.article(aid).content_html == "<p>The whole story, extracted.</p>"
    assert aid not in [i for i, _ in t.store.pending_fulltext()]


def test_search_follows_inserts_updates_and_deletes(t):
    f = t.subscribe("https://example.org/feed")
    ids = t.store.save_entries(f.id, feed(3), now=T0).new
    assert set(t.search("post number")) == set(ids)
    changed = feed(3)
    changed.entries[2] = entry(2, title="Zebras crossing the river")
    t.store.save_entries(f.id, changed, now=T0)
    assert t.search("zebra") == [ids[2]]
    assert ids[2] not in t.search("number")
    assert t.search('"unbalanced AND (') == []  # user input never reaches FTS syntax
    t.remove_feed(f.id)
    assert t.search("post") == [] and t.search("zebras") == []
    assert t.store.search_backlog() == 0


def test_search_matches_authors_and_accents(t):
    f = t.subscribe("https://example.org/feed")
    pf = feed(1, authors="José Ramírez")
    [aid] = t.store.save_entries(f.id, pf, now=T0).new
    assert t.search("ramirez") == [aid]


def test_queries_views_and_counts(t):
    f = t.subscribe("https://example.org/a", folder="News/Tech")
    g = t.subscribe("https://example.org/b", folder="News")
    a_ids = t.store.save_entries(f.id, feed(4), now=T0).new
    b_ids = t.store.save_entries(g.id, feed(2, title="B"), now=T0).new
    t.mark_read(a_ids[:1])
    t.set_starred(b_ids[0])
    assert t.article_ids(ArticleQuery(feed_id=f.id, unread=True)) == a_ids[1:]
    assert set(t.article_ids(ArticleQuery(folder="News"))) == set(a_ids + b_ids)
    assert set(t.article_ids(ArticleQuery(folder="News/Tech"))) == set(a_ids)
    assert t.article_ids(ArticleQuery(starred=True)) == [b_ids[0]]
    counts = t.counts()
    assert counts["feeds"] == {f.id: 3, g.id: 2} and counts["unread"] == 5 and counts["starred"] == 1
    # newest first
    rows = t.article_rows(t.article_ids(ArticleQuery(feed_id=f.id)))
    assert [r.date for r in rows] == sorted((r.date for r in rows), reverse=True)
    assert t.mark_all_read(ArticleQuery(folder="News/Tech")) == 3
    assert t.counts()["unread"] == 2
    assert t.folders() == ["News", "News/Tech"]


def test_fetch_errors_back_off_and_clear(t):
    f = t.subscribe("https://example.org/feed")
    t.store.record_fetch_error(f.id, "The feed is gone (HTTP 410).", now=T0)
    got = t.feed(f.id)
    assert got.last_error == "The feed is gone (HTTP 410)." and got.error_count == 1
    assert got.next_attempt == T0 + timedelta(minutes=15)
    assert t.store.feeds_to_sync(None, T0) == []
    assert [x.id for x in t.store.feeds_to_sync([f.id], T0)] == [f.id]  # asked for: always
    t.store.record_fetch_error(f.id, "again", now=T0)
    assert t.feed(f.id).next_attempt == T0 + timedelta(minutes=30)
    t.store.record_fetch_error(f.id, "slow down", now=T0, retry_at=T0 + timedelta(hours=5))
    assert t.feed(f.id).next_attempt == T0 + timedelta(hours=5)
    t.store.record_fetch_ok(f.id, now=T0, etag='"e1"', last_modified=None, new_url="https://example.org/new")
    ok = t.feed(f.id)
    assert ok.last_error is None and ok.error_count == 0 and ok.etag == '"e1"' and ok.url == "https://example.org/new"


def test_permanent_redirect_onto_an_existing_feed_keeps_both(t):
    f = t.subscribe("https://example.org/a")
    g = t.subscribe("https://example.org/b")
    t.store.record_fetch_ok(f.id, now=T0, etag=None, last_modified=None, new_url=g.url)
    assert t.feed(f.id).url == "https://example.org/a"


def test_feed_management(t):
    f = t.subscribe("https://example.org/feed", title="Original")
    assert t.subscribe("https://example.org/feed").id == f.id  # subscribing twice is one feed
    t.rename_feed(f.id, "Renamed")
    t.move_feed(f.id, "/Reading/")
    got = t.feed(f.id)
    assert got.title == "Renamed" and got.folder == "Reading"
    t.store.save_entries(f.id, feed(1, title="Site title"), now=T0)
    assert t.feed(f.id).title == "Renamed"  # the person's name wins over the feed's
    t.remove_feed(f.id)
    with pytest.raises(NotFound):
        t.feed(f.id)
    with pytest.raises(NotFound):
        t.set_starred(12345)


def test_articles_between_is_by_first_seen_or_published(t):
    f = t.subscribe("https://example.org/feed", folder="World")
    g = t.subscribe("https://example.org/g", folder="Other")
    old = entry(1, published=T0 - timedelta(days=3))
    new = entry(2, published=T0 + timedelta(hours=1))
    pf = feed(0)
    pf.entries = [old, new]
    ids = t.store.save_entries(f.id, pf, now=T0 - timedelta(days=3)).new
    t.store.save_entries(g.id, feed(1), now=T0)
    got = t.store.articles_between(T0, T0 + timedelta(days=1), folders=["World"])
    assert [a.id for a in got] == [ids[1]]


def test_digests_settings_and_cache_round_trip(t):
    f = t.subscribe("https://example.org/feed")
    ids = t.store.save_entries(f.id, feed(2), now=T0).new
    d = Digest(date="2026-11-20", style="briefing", model=None, extractive=True, headline="H",
               items=[DigestItem("lead", "T", "Text.", ids, ["Example feed"])], closing="Bye")
    did = t.store.save_digest(d)
    back = t.store.get_digest(did)
    assert back.items[0].article_ids == ids and back.extractive and back.headline == "H"
    assert t.store.last_digest().id == did
    t.set_setting("theme", "dark")
    assert t.setting("theme") == "dark"
    assert t.setting("sync_interval_minutes") == 30  # default
    t.store.cache_put("k", "v")
    assert t.store.cache_get("k") == "v" and t.store.cache_get("missing") is None


def test_image_path_refuses_paths_outside_the_cache(t):
    with pytest.raises(NotFound):
        t.image_path("../tidings.sqlite")
    assert t.image_path("ab/abc.png").is_relative_to(t.image_dir)


def test_parallel_threads_each_get_a_connection(t):
    import threading

    f = t.subscribe("https://example.org/feed")
    errors = []

    def work(k):
        try:
            pf = feed(20)
            for e in pf.entries:
                e.guid = f"{k}-{e.guid}"
            t.store.save_entries(f.id, pf, now=T0)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert len(t.article_ids()) == 80


def test_replace_keeps_article_frozen(t):
    f = t.subscribe("https://example.org/feed")
    [aid] = t.store.save_entries(f.id, feed(1), now=T0).new
    a = t.article(aid)
    with pytest.raises(Exception):
        a.title = "x"  # type: ignore[misc]
    assert replace(a, title="y").title == "y"


def test_disk_full_is_typed_and_loses_nothing(tmp_path):
    from app.errors import DiskFull

    store = Store(tmp_path / "s.sqlite")
    fid, _ = store.add_feed("https://example.org/feed", now=T0)
    store.save_entries(fid, feed(2), now=T0)
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages + 2}")  # the disk "fills up"
    with pytest.raises(DiskFull):
        store.save_entries(fid, feed(200), now=T0)
    assert len(store.article_ids(ArticleQuery())) == 2  # the failed batch rolled back whole
    assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_store_held_by_another_process_is_reported_as_locked(tmp_path):
    from app.errors import StoreLocked

    Store(tmp_path / "s.sqlite").close()
    other = sqlite3.connect(tmp_path / "s.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another Tidings in the middle of a long write
    try:
        store = Store(tmp_path / "s.sqlite", busy_timeout=0.2)
        with pytest.raises(StoreLocked) as e:
            store.add_feed("https://example.org/feed", now=T0)
        assert "another Tidings" in str(e.value)
    finally:
        other.execute("ROLLBACK")
    assert store.add_feed("https://example.org/feed", now=T0)[1]


def test_new_feeds_take_the_offline_settings_and_existing_ones_keep_theirs(t):
    from tests.test_core_opml import MESSY

    t.set_setting("full_text", False)
    t.import_opml(MESSY)
    f = t.subscribe("https://example.org/new")
    assert not f.fetch_full_text and f.fetch_images
    assert all(not x.fetch_full_text for x in t.feeds())
    t.set_feed_options(f.id, fetch_full_text=True)
    assert t.subscribe("https://example.org/new").fetch_full_text  # subscribing again changes nothing


def test_untitled_posts_are_listed_by_their_opening_words(t):
    f = t.subscribe("https://example.org/micro")
    pf = feed(0)
    pf.entries = [entry(1, title="", body="<p>Just shipped a   new version of the app. " + "More words here. " * 20 + "</p>")]
    [aid] = t.store.save_entries(f.id, pf, now=T0).new
    [row] = t.article_rows([aid])
    assert row.title.startswith("Just shipped a new version of the app.") and row.title.endswith("…")
    assert len(row.title) <= 101
    assert t.article(aid).display_title == row.title
    assert t.article(aid).title == ""  # stored as the feed gave it (the JSON says so too)
