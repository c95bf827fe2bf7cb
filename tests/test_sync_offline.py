"""Offline, pages and images that cannot be fetched, feed icons: against real loopback servers
(stopped ones for "offline"), a real SQLite store, a clock the test moves."""

from __future__ import annotations

import base64
import time
from datetime import datetime, timedelta, timezone

import pytest
from feedserver import FeedServer, Reply, feed_server  # noqa: F401 - fixture

from app.errors import BadAddress, FeedGone, FetchFailed, RateLimited, TooLarge
from app.models import ArticleQuery, FeedResult, SyncReport
from app.store import Store
from app.sync import Syncer, decide

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
ICO = b"\x00\x00\x01\x00\x01\x00\x10\x10" + b"\x00" * 60


def rss(base: str, items: str = "", *, title: str = "F", image: str = "") -> str:
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title><link>{base}/</link>'
            f"{image}{items}</channel></rss>")


def teaser(base: str, i: int, path: str) -> str:
    return (f"<item><guid>t{i}</guid><title>Story {i}</title><link>{base}{path}</link>"
            f"<description>Short teaser {i}.</description></item>")


class Clock:
    def __init__(self, t: datetime = T0):
        self.t = t

    def __call__(self) -> datetime:
        return self.t


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "t.sqlite")
    yield s
    s.close()


def sync(store, tmp_path, clock, **kw):
    return Syncer(store, clock=clock, image_dir=tmp_path / "images", connect_timeout=2, read_timeout=2,
                  deadline=5, **kw).run()


# --- offline ---------------------------------------------------------------------------------------

def test_offline_no_feed_gets_an_error_or_a_back_off_and_the_report_says_so_once(store, tmp_path):
    clock = Clock()
    server = FeedServer().start()
    base = server.base
    server.route("/a.xml", body=rss(base, teaser(base, 1, "/p1")))
    server.route("/p1", status=503, content_type="text/plain")  # a page left to try again later
    port = base.rsplit(":", 1)[1]
    urls = [f"http://127.0.0.1:{port}/a.xml", f"http://localhost:{port}/a.xml"]
    ids = [store.add_feed(u, now=T0)[0] for u in urls]
    first = sync(store, tmp_path, clock)
    assert not first.offline and not first.failed
    attempts = store._db.execute("SELECT sum(fulltext_attempts) FROM articles").fetchone()[0]
    server.stop()  # the network is gone: nothing listens on that port any more

    clock.t = T0 + timedelta(hours=2)
    report = sync(store, tmp_path, clock)
    assert report.offline
    assert [r.status for r in report.results] == ["offline"] * 2 and report.failed == []
    assert report.summary() == "You are offline; 2 feeds will be fetched when you are back."
    for f in store.feeds():
        assert f.last_error is None and f.error_count == 0 and f.next_attempt is None
    assert {f.id for f in store.feeds_to_sync(None, clock())} == set(ids)  # a timed sync tries them all again
    # their pending pages were not tried either (no attempt counted against them)
    assert store._db.execute("SELECT sum(fulltext_attempts) FROM articles").fetchone()[0] == attempts


def test_one_unreachable_host_while_online_is_an_error_on_that_feed(store, tmp_path, feed_server):
    base = feed_server.base
    feed_server.route("/ok.xml", body=rss(base))
    dead = FeedServer().start()
    dead_url = dead.url("/gone.xml")
    dead.stop()
    ok = store.add_feed(feed_server.url("/ok.xml"), now=T0)[0]
    bad = store.add_feed(dead_url, now=T0)[0]
    report = sync(store, tmp_path, Clock())
    assert not report.offline
    assert {r.feed_id: r.status for r in report.results} == {ok: "updated", bad: "error"}
    assert "refused" in store.feed(bad).last_error and store.feed(bad).next_attempt is not None
    assert report.summary() == ("Sync finished: 0 new articles, 1 feed failed (marked ⚠ in the list; "
                                "hover for the reason).")


def test_a_single_host_down_is_not_called_offline(store, tmp_path):
    dead = FeedServer().start()
    urls = [dead.url("/a.xml"), dead.url("/b.xml")]
    dead.stop()
    for u in urls:
        store.add_feed(u, now=T0)
    report = sync(store, tmp_path, Clock())
    assert not report.offline and len(report.failed) == 2
    assert all(f.error_count == 1 for f in store.feeds())


def test_summary_words():
    r = SyncReport(results=[FeedResult(1, "u", "t", "updated", new=1)])
    assert r.summary() == "Sync finished: 1 new article."
    r.cancelled = True
    assert r.summary() == "Sync cancelled: 1 new article."
    off = SyncReport(results=[FeedResult(1, "u", "t", "offline")], offline=True)
    assert off.summary() == "You are offline; 1 feed will be fetched when you are back."


# --- pages and images that cannot be fetched -------------------------------------------------------

def test_an_unreachable_page_waits_longer_each_time_then_is_given_up_with_its_reason(store, tmp_path, feed_server):
    base = feed_server.base
    feed_server.route("/f.xml", body=rss(base, teaser(base, 1, "/page")), etag=True)
    feed_server.route("/page", status=503, content_type="text/plain")
    fid = store.add_feed(feed_server.url("/f.xml"), now=T0)[0]
    clock = Clock()
    hits = []
    # every few minutes for a day and a half, as a timed sync would
    for minutes in (0, 5, 30, 61, 90, 61 + 241, 61 + 241 + 30, 61 + 241 + 961, 61 + 241 + 961 + 60, 60 * 36):
        clock.t = T0 + timedelta(minutes=minutes)
        sync(store, tmp_path, clock)
        hits.append(feed_server.hits("/page"))
    assert hits == [1, 1, 1, 2, 2, 3, 3, 4, 4, 4]  # after 1 h, 4 h, 16 h; given up after the 4th try
    [a] = store.articles_by_id(store.article_ids(ArticleQuery(feed_id=fid)))
    assert a.fulltext_error == "The server had an error (HTTP 503). (tried 4 times)"
    assert a.text == "Short teaser 1."  # the feed's own text stays
    assert store.pending_fulltext([fid]) == []


def test_a_page_that_is_gone_is_given_up_at_once_and_says_why(store, tmp_path, feed_server):
    base = feed_server.base
    feed_server.route("/f.xml", body=rss(base, teaser(base, 1, "/missing")))
    fid = store.add_feed(feed_server.url("/f.xml"), now=T0)[0]
    sync(store, tmp_path, Clock())
    sync(store, tmp_path, Clock(T0 + timedelta(days=2)))
    assert feed_server.hits("/missing") == 1
    [a] = store.articles_by_id(store.article_ids(ArticleQuery(feed_id=fid)))
    assert a.fulltext_error == "The page was not found (HTTP 404)."


def test_a_warm_sync_does_not_wait_on_pages_that_are_backing_off(store, tmp_path, feed_server):
    base = feed_server.base
    items = "".join(teaser(base, i, "/hang") for i in range(3))
    feed_server.route("/f.xml", body=rss(base, items), etag=True)
    feed_server.route("/hang", hang=True)
    store.add_feed(feed_server.url("/f.xml"), now=T0)
    first = Syncer(store, clock=Clock(), image_dir=tmp_path / "i", read_timeout=0.5, deadline=1).run()
    hits = feed_server.hits("/hang")
    assert hits >= 1
    warm = Syncer(store, clock=Clock(T0 + timedelta(minutes=10)), image_dir=tmp_path / "i", read_timeout=0.5,
                  deadline=1).run()
    assert feed_server.hits("/hang") == hits  # not asked again within the hour
    assert warm.results[0].status == "not_modified"
    assert warm.seconds < first.seconds, (first.seconds, warm.seconds)  # no 0.5 s read timeout waited out


def test_an_image_that_fails_for_now_is_tried_again_later_then_cached(store, tmp_path, feed_server):
    base = feed_server.base
    body = "<p>" + "Long enough text for no page fetch. " * 30 + f'</p><img src="{base}/pic.png">'
    feed_server.route("/f.xml", body=rss(base, f"<item><guid>1</guid><title>P</title><link>{base}/1</link>"
                                                f"<description><![CDATA[{body}]]></description></item>"))
    feed_server.route("/pic.png", status=502, content_type="text/plain")
    fid = store.add_feed(feed_server.url("/f.xml"), now=T0)[0]
    sync(store, tmp_path, Clock())
    sync(store, tmp_path, Clock(T0 + timedelta(minutes=20)))
    assert feed_server.hits("/pic.png") == 1
    assert store.pending_images([fid]) and not store.pending_images([fid], now=T0 + timedelta(minutes=20))
    feed_server.route("/pic.png", body=PNG, content_type="image/png")
    sync(store, tmp_path, Clock(T0 + timedelta(hours=1, minutes=1)))
    assert feed_server.hits("/pic.png") == 2
    [a] = store.articles_by_id(store.article_ids(ArticleQuery(feed_id=fid)))
    assert list(a.images) == [f"{base}/pic.png"]
    assert store.pending_images([fid]) == []


def test_an_image_that_is_gone_is_not_asked_for_again(store, tmp_path, feed_server):
    base = feed_server.base
    body = "<p>" + "Long enough text for no page fetch. " * 30 + '</p><img src="/nope.png">'
    feed_server.route("/f.xml", body=rss(base, f"<item><guid>1</guid><title>P</title><link>{base}/1</link>"
                                                f"<description><![CDATA[{body}]]></description></item>"))
    fid = store.add_feed(feed_server.url("/f.xml"), now=T0)[0]
    for days in (0, 1, 3):
        sync(store, tmp_path, Clock(T0 + timedelta(days=days)))
    assert feed_server.hits("/nope.png") == 1 and store.pending_images([fid]) == []


def test_retry_decisions_are_pure():
    assert [decide.retry_at(n, T0) for n in (1, 2, 3, 4)] == [
        T0 + timedelta(hours=1), T0 + timedelta(hours=4), T0 + timedelta(hours=16), None]
    assert decide.retry_at(1, T0, permanent=True) is None
    e503 = FetchFailed("x", answered=True)
    e503.status = 503
    e403 = FetchFailed("x", answered=True)
    e403.status = 403
    assert decide.is_permanent(FeedGone("x")) and decide.is_permanent(TooLarge("x"))
    assert decide.is_permanent(BadAddress("x")) and decide.is_permanent(e403)
    assert not decide.is_permanent(e503) and not decide.is_permanent(FetchFailed("timed out"))
    assert not decide.is_permanent(RateLimited("x"))
    assert decide.is_offline(False, ["a", "b"]) and not decide.is_offline(True, ["a", "b"])
    assert not decide.is_offline(False, ["a", "a"])
    assert decide.icon_due(None, T0) and not decide.icon_due(T0, T0 + timedelta(days=6))
    assert decide.icon_due(T0, T0 + timedelta(days=7))
    assert decide.icon_due(T0, T0 + timedelta(days=1), have_icon=False)


# --- feed icons ------------------------------------------------------------------------------------

def icon_feed(feed_server, **kw) -> int:
    base = feed_server.base
    feed_server.route("/f.xml", body=rss(base, **kw))
    return feed_server, base


def test_the_feeds_own_icon_is_cached_and_recorded(store, tmp_path, feed_server):
    base = feed_server.base
    feed_server.route("/f.xml", body=rss(base, image=f"<image><url>{base}/logo.png</url><title>F</title>"
                                                     f"<link>{base}/</link></image>"))
    feed_server.route("/logo.png", body=PNG, content_type="image/png")
    fid = store.add_feed(feed_server.url("/f.xml"), now=T0)[0]
    sync(store, tmp_path, Clock())
    icon = store.feed(fid).icon
    assert icon and icon.startswith("icons/") and icon.endswith(".png")
    assert (tmp_path / "images" / icon).read_bytes() == PNG
    assert feed_server.hits("/") == 0 and feed_server.hits("/favicon.ico") == 0


def test_the_sites_link_rel_icon_then_favicon_ico(store, tmp_path, feed_server):
    base = feed_server.base
    feed_server.route("/f.xml", body=rss(base))
    feed_server.route("/", body='<html><head><link rel="stylesheet" href="/s.css">'
                                "<link rel='shortcut icon' href='/static/fav.ico'></head><body>x</body></html>",
                      content_type="text/html")
    feed_server.route("/static/fav.ico", body=ICO, content_type="application/octet-stream")  # type often wrong
    fid = store.add_feed(feed_server.url("/f.xml"), now=T0)[0]
    sync(store, tmp_path, Clock())
    assert store.feed(fid).icon.endswith(".ico") and feed_server.hits("/favicon.ico") == 0

    feed_server.route("/g.xml", body=rss(base).replace(f"<link>{base}/</link>", f"<link>{base}/blog</link>"))
    feed_server.route("/blog", body="<html><head></head><body>no icon here</body></html>", content_type="text/html")
    feed_server.route("/favicon.ico", body=PNG, content_type="image/x-icon")  # a PNG named .ico: the bytes decide
    gid = store.add_feed(feed_server.url("/g.xml"), now=T0)[0]
    sync(store, tmp_path, Clock(), )
    assert store.feed(gid).icon.endswith(".png"), [r.path for r in feed_server.requests]


@pytest.mark.parametrize("what,reply", [
    ("too large", Reply(body=PNG + b"\x00" * 300_000, content_type="image/png")),
    ("an HTML page", Reply(body="<html>not an icon</html>", content_type="image/png")),
    ("SVG", Reply(body='<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
                  content_type="image/svg+xml")),
    ("a hang", Reply(hang=True)),
])
def test_a_bad_icon_is_not_kept_and_never_fails_the_feed(store, tmp_path, feed_server, what, reply):
    base = feed_server.base
    feed_server.route("/f.xml", body=rss(base, teaser(base, 1, "/p"), image=f"<image><url>{base}/i.png</url></image>"))
    feed_server.route("/i.png", reply)
    feed_server.route("/favicon.ico", reply)
    fid = store.add_feed(feed_server.url("/f.xml"), now=T0)[0]
    report = Syncer(store, clock=Clock(), image_dir=tmp_path / "images", read_timeout=0.5, deadline=1).run()
    assert report.results[0].status == "updated" and report.results[0].new == 1, what
    f = store.feed(fid)
    assert f.icon is None and f.last_error is None and f.icon_checked == T0


def test_icons_are_refreshed_weekly_not_every_sync(store, tmp_path, feed_server):
    base = feed_server.base
    feed_server.route("/f.xml", body=rss(base, image=f"<image><url>{base}/logo.png</url></image>"), etag=True)
    feed_server.route("/logo.png", body=PNG, content_type="image/png")
    fid = store.add_feed(feed_server.url("/f.xml"), now=T0)[0]
    for days in (0, 1, 6):
        sync(store, tmp_path, Clock(T0 + timedelta(days=days)))
    assert feed_server.hits("/logo.png") == 1
    feed_server.route("/logo.png", status=500, content_type="text/plain")  # a failed refresh keeps the icon
    sync(store, tmp_path, Clock(T0 + timedelta(days=8)))
    assert feed_server.hits("/logo.png") == 2 and store.feed(fid).icon is not None


def test_an_icon_resolves_through_the_facade(tmp_path, feed_server):
    from app.core import make_tidings

    base = feed_server.base
    feed_server.route("/f.xml", body=rss(base, image=f"<image><url>{base}/logo.png</url></image>"))
    feed_server.route("/logo.png", body=PNG, content_type="image/png")
    with make_tidings(tmp_path / "data") as t:
        f = t.subscribe(feed_server.url("/f.xml"))
        t.sync()
        icon = t.feed(f.id).icon
        assert t.image_path(icon).read_bytes() == PNG


def test_icons_come_after_the_feeds_and_within_a_time_budget(store, tmp_path, feed_server, monkeypatch):
    from app.sync import engine

    monkeypatch.setattr(engine, "ICON_BUDGET", 1.0)
    base = feed_server.base
    feed_server.route("/f.xml", body=rss(base, image=f"<image><url>{base}/slow.png</url></image>"))
    feed_server.route("/slow.png", hang=True)
    fid = store.add_feed(feed_server.url("/f.xml"), now=T0)[0]
    progress = []
    started = time.monotonic()
    report = Syncer(store, clock=Clock(), image_dir=tmp_path / "images", read_timeout=30, deadline=60).run(
        on_progress=lambda r, done, total: progress.append(time.monotonic() - started))
    took = time.monotonic() - started
    assert report.results[0].status == "updated" and progress[0] < 1.0  # the feed did not wait for its icon
    assert took < 5, took  # the icon's 30 s read timeout was cut short by the budget
    assert store.feed(fid).icon_checked == T0 and store.feed(fid).icon is None  # a day later it is looked for again
    started = time.monotonic()
    Syncer(store, clock=Clock(T0 + timedelta(hours=1)), image_dir=tmp_path / "images", read_timeout=30).run()
    assert time.monotonic() - started < 1.0  # the next sync does not spend the budget on it again


def test_icons_start_once_every_feed_is_downloaded_and_overlap_the_parsing(store, tmp_path, feed_server,
                                                                            monkeypatch):
    """A first sync of many feeds downloads them in a second and parses for several more: the icons
    are fetched meanwhile, but never before the last feed download is done (no slot taken from a feed)."""
    from app.sync import engine

    base = feed_server.base
    for name in ("a", "b", "c"):
        feed_server.route(f"/{name}.xml", body=rss(base, image=f"<image><url>{base}/{name}.png</url></image>"),
                          delay=0.5 if name == "c" else 0)  # c comes last, after a and b are stored
        feed_server.route(f"/{name}.png", body=PNG, content_type="image/png")
    ids = [store.add_feed(feed_server.url(f"/{n}.xml"), now=T0)[0] for n in ("a", "b", "c")]
    real_parse = engine.parse_feed
    c_parsed = []

    def parse_feed(body, url, content_type=None):  # the last feed's parse is slow
        if url.endswith("/c.xml"):
            time.sleep(1.0)
            c_parsed.append(time.monotonic())
        return real_parse(body, url, content_type)

    monkeypatch.setattr(engine, "parse_feed", parse_feed)
    monkeypatch.setenv("TIDINGS_PARSE_PROCESS", "never")
    feed_server.requests.clear()
    report = Syncer(store, clock=Clock(), image_dir=tmp_path / "images").run()
    assert all(r.status == "updated" for r in report.results)
    paths = [r.path for r in feed_server.requests]
    last_feed = max(i for i, p in enumerate(paths) if p.endswith(".xml"))
    first_icon = min(i for i, p in enumerate(paths) if p.endswith(".png"))
    assert first_icon > last_feed, paths  # after every download ...
    times = {r.path: r.time for r in feed_server.requests}
    assert times["/a.png"] < c_parsed[0]  # ... but while the slow feed was still being parsed
    assert all(store.feed(i).icon for i in ids)


def test_the_cli_says_offline_in_one_line(tmp_path, capsys):
    from app.cli import main
    from app.core import make_tidings

    dead = FeedServer().start()
    port = dead.base.rsplit(":", 1)[1]
    dead.stop()
    with make_tidings(tmp_path / "d") as t:
        t.subscribe(f"http://127.0.0.1:{port}/a.xml")
        t.subscribe(f"http://localhost:{port}/b.xml")
    assert main(["--data-dir", str(tmp_path / "d"), "sync"]) == 0
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == "You are offline; 2 feeds will be fetched when you are back."


def test_a_library_from_before_upgrades_with_its_data(tmp_path):
    import sqlite3

    from app import schema

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    for statement in schema._statements(schema.MIGRATIONS[1]):
        db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO feeds (url, title, added) VALUES ('https://a.example/f', 'A', '2026-01-01T00:00:00Z')")
    db.execute("INSERT INTO images (url, path, error, fetched) VALUES ('https://a.example/x.png', NULL, 'gone', "
               "'2026-01-01T00:00:00Z')")
    db.commit()
    db.close()
    store = Store(path)
    try:
        [f] = store.feeds()
        assert f.title == "A" and f.icon is None and f.icon_checked is None
        # an image that failed before keeps failing quietly: not asked for again
        assert store.cached_images(["https://a.example/x.png"], now=T0) == {"https://a.example/x.png": None}
    finally:
        store.close()
