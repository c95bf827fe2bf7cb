"""Retention: N days / N per feed with per-feed overrides, starred and digest-cited kept, images and
downloads removed with their article, removed entries never come back, compaction with sizes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from feedserver import feed_server  # noqa: F401 - fixture

from app.cli import main
from app.core import make_tidings
from app.models import Digest, DigestItem, Feed
from app.retention import Limits, limits_for
from tests.helpers import entry

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)


def rss(n: int) -> bytes:
    items = "".join(
        f"<item><guid>g-{i}</guid><title>Item {i}</title><link>https://example.org/p/{i}</link>"
        f"<pubDate>{(NOW - timedelta(days=i)).strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate>"
        f"<description>{'Body text. ' * 30}</description></item>" for i in range(n))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>F</title>'
            f"<link>https://example.org/</link>{items}</channel></rss>").encode()


@pytest.fixture
def t(tmp_path):
    clock = {"now": NOW}
    with make_tidings(tmp_path / "lib", clock=lambda: clock["now"]) as t:
        t.test_clock = clock
        yield t


def save(t, feed_id, days: list[int]):
    from app.models import ParsedFeed

    parsed = ParsedFeed(title="F", site_url=None,
                        entries=[entry(d, guid=f"g-{d}", published=NOW - timedelta(days=d)) for d in days])
    return t.store.save_entries(feed_id, parsed, now=NOW).new


def test_limits_for_prefers_the_feed_override():
    f = Feed(id=1, url="u", title="t")
    assert limits_for(f, 30, 0) == Limits(30, 0)
    assert limits_for(Feed(id=1, url="u", title="t", keep_days=0), 30, 100) == Limits(0, 100)  # forever, here
    assert limits_for(Feed(id=1, url="u", title="t", keep_count=5), 0, 100) == Limits(0, 5)
    assert not limits_for(f, 0, 0).active


def test_days_keep_starred_and_digest_cited(t):
    f = t.subscribe("https://a.example/feed")
    ids = save(t, f.id, [0, 1, 5, 10, 40, 50])  # days old
    t.set_starred(ids[4])  # 40 days, starred
    t.store.save_digest(Digest(date="2026-10-12", style="briefing", model=None, extractive=True, headline="h",
                               items=[DigestItem(section="lead", title="x", text="y", article_ids=[ids[5]], sources=["F"])],
                               closing=""))
    assert t.apply_retention().articles == 0  # off by default
    t.set_setting("retention_days", 7)
    preview = t.apply_retention(dry_run=True)
    assert preview.articles == 1 and preview.dry_run and len(t.articles()) == 6
    report = t.apply_retention()
    assert report.articles == 1 and "Removed 1 article from 1 feed" in report.describe()
    assert sorted(a.id for a in t.articles()) == sorted([ids[0], ids[1], ids[2], ids[4], ids[5]])


def test_per_feed_count_with_override(t):
    a = t.subscribe("https://a.example/feed")
    b = t.subscribe("https://b.example/feed")
    save(t, a.id, list(range(10)))
    save(t, b.id, list(range(10)))
    t.set_setting("retention_per_feed", 3)
    t.set_feed_extras(b.id, keep_count=0)  # b: no limit
    t.apply_retention()
    assert t.feed(a.id).unread == 3 and t.feed(b.id).unread == 10
    assert sorted(x.title for x in t.articles() if x.feed_id == a.id) == ["Post number 0", "Post number 1", "Post number 2"]
    t.set_feed_extras(b.id, keep_count=None, keep_days=2)  # b: Settings' count, its own 2 days
    t.apply_retention()
    assert t.feed(b.id).unread == 3  # 0, 1 and exactly 2 days old


def test_removed_entries_do_not_come_back_from_the_feed(t, feed_server):
    feed_server.route("/f.xml", body=rss(10))
    f = t.subscribe(feed_server.url("/f.xml"))
    assert t.sync().new == 10
    t.set_setting("retention_days", 3)
    assert t.apply_retention().articles == 6
    report = t.sync()
    assert report.new == 0 and len(t.articles()) == 4


def test_images_and_downloads_go_with_their_article(t):
    f = t.subscribe("https://a.example/feed")
    old, new = save(t, f.id, [30, 0])
    t.image_dir.mkdir(parents=True, exist_ok=True)
    (t.image_dir / "only-old.png").write_bytes(b"x" * 100)
    (t.image_dir / "shared.png").write_bytes(b"y" * 100)
    t.store.record_images(old, {"https://i/only-old.png": ("only-old.png", "image/png", 100, None),
                                "https://i/shared.png": ("shared.png", "image/png", 100, None)}, now=NOW)
    t.store.record_images(new, {}, ["https://i/shared.png"], now=NOW)
    t.download_dir.mkdir(parents=True)
    episode = t.download_dir / "episode.mp3"
    episode.write_bytes(b"z" * 1000)
    t.store._db.execute("INSERT INTO downloads (article_id, url, path, received, total, state, updated) "
                        "VALUES (?, 'https://a/e.mp3', ?, 1000, 1000, 'done', 'x')", (old, str(episode)))
    t.set_setting("retention_days", 7)
    report = t.apply_retention()
    assert (report.articles, report.images, report.downloads, report.bytes_freed) == (1, 1, 1, 1100)
    assert not (t.image_dir / "only-old.png").exists() and (t.image_dir / "shared.png").exists()
    assert not episode.exists()
    assert t.article(new).images == {"https://i/shared.png": "shared.png"}


def test_compact_shrinks_the_library_and_reports_sizes(t):
    f = t.subscribe("https://a.example/feed")
    from app.models import ParsedFeed

    big = ParsedFeed(title="F", site_url=None, entries=[
        entry(i, guid=f"g{i}", published=NOW - timedelta(days=i % 60), body="<p>" + "words and more words " * 400 + "</p>")
        for i in range(600)])
    t.store.save_entries(f.id, big, now=NOW)
    t.update_search()
    t.set_setting("retention_days", 5)
    assert t.apply_retention().articles > 400
    before, after = t.compact()
    assert after.library < before.library * 0.5, (before, after)
    assert t.search("words") and len(t.search("words")) == len(t.articles())


def test_cli_retention_and_clean(tmp_path, capsys):
    d = ["--data-dir", str(tmp_path / "lib")]
    with make_tidings(tmp_path / "lib") as t:
        f = t.subscribe("https://a.example/feed")
        now = datetime.now(timezone.utc)
        from app.models import ParsedFeed

        t.store.save_entries(f.id, ParsedFeed(title="F", site_url=None, entries=[
            entry(i, guid=f"g{i}", published=now - timedelta(days=i)) for i in range(10)]), now=now)
    assert main([*d, "retention", "--days", "5"]) == 0
    out = capsys.readouterr().out
    assert "Keep: 5 days, any number per feed" in out and "Now: library" in out
    assert main([*d, "retention", "--feed", str(f.id), "--per-feed", "2"]) == 0
    assert "newest 2" in capsys.readouterr().out
    assert main([*d, "clean", "--dry-run"]) == 0
    assert "Would remove 8 articles from 1 feed" in capsys.readouterr().out
    assert main([*d, "clean"]) == 0
    out = capsys.readouterr().out
    assert "Removed 8 articles" in out and "Compacted:" in out and "before" in out
    assert main([*d, "retention", "--days", "default"]) == 2
    assert main([*d, "retention", "--feed", str(f.id), "--days", "default", "--per-feed", "default"]) == 0
    assert "Keep: 5 days" in capsys.readouterr().out


def test_daily_retention_runs_once_a_day_and_only_with_limits(t):
    f = t.subscribe("https://a.example/feed")
    save(t, f.id, [0, 10, 20])
    assert t.apply_retention_daily() is None  # no limits
    t.set_setting("retention_days", 5)
    assert t.apply_retention_daily().articles == 2
    save(t, f.id, [30])  # a new old entry (another guid) the same day
    assert t.apply_retention_daily() is None  # already ran today
    t.test_clock["now"] = NOW + timedelta(days=1)
    assert t.apply_retention_daily().articles == 1


def test_the_daily_run_asks_the_store_whether_any_feed_has_limits(tmp_path):
    """(after every sync: a yes/no query, not the whole feed list)"""
    from app.core import make_tidings

    t = make_tidings(tmp_path / "lib")
    f = t.subscribe("http://127.0.0.1:9/a.xml", title="A")
    assert not t.store.has_keep_limits() and t.apply_retention_daily() is None
    t.store.update_feed(f.id, keep_count=5)
    assert t.store.has_keep_limits()
    assert t.apply_retention_daily() is not None  # it ran (nothing to remove yet)
    assert t.apply_retention_daily() is None  # once a day
    t.close()
