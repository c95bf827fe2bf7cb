"""Server accounts against a REAL Tiny Tiny RSS (tests/support/ttrss_server.py): Postgres and
tt-rss's API on loopback. Skipped, with the reason, only where those packages are not installed."""

from __future__ import annotations

import sqlite3

import pytest

from app.errors import ApiDisabled, ServerUnreachable, WrongPassword
from app.models import ArticleQuery
from tests.support.accounts import MemoryKeyring, open_tidings
from tests.support.ttrss_server import ttrss, ttrss_server  # noqa: F401 - fixtures


@pytest.fixture
def keyring():
    return MemoryKeyring()


@pytest.fixture
def t(tmp_path, keyring):
    with open_tidings(tmp_path / "lib", keyring) as t:
        yield t


def add(t, ttrss):
    return t.add_account("ttrss", ttrss.url, ttrss.user, ttrss.password)


def by_remote(t, account_id):
    return {a.guid: a for a in t.articles() if t.feed(a.feed_id).account_id == account_id}


def test_first_sync_mirrors_feeds_folders_articles_and_flags(t, ttrss):
    news = ttrss.add_feed("https://example.org/news.xml", "News Daily", category="News")
    blog = ttrss.add_feed("https://example.org/blog.xml", "A Blog")
    ids = ttrss.add_entries(news, 5)
    old = ttrss.add_entries(blog, 2, unread=False, prefix="Old")
    ttrss.set_flags(old[0], marked=True)  # a read, starred article: mirrored too
    ttrss.set_flags(ids[1], unread=False)  # read elsewhere: not unread, not starred: not fetched at first

    a = add(t, ttrss)
    seen = []
    report = t.sync_account(a.id, on_progress=seen.append, extras=False)

    assert report.error is None and report.feeds == 2 and report.new == 5  # 4 unread + 1 starred
    feeds = {f.title: f for f in t.feeds()}
    assert feeds["News Daily"].folder == "News" and feeds["A Blog"].folder is None
    assert feeds["News Daily"].url == "https://example.org/news.xml" and feeds["News Daily"].account_id == a.id
    arts = by_remote(t, a.id)
    assert set(arts) == {str(i) for i in ids if i != ids[1]} | {str(old[0])}
    assert arts[str(old[0])].starred and arts[str(old[0])].read
    assert not arts[str(ids[0])].read and arts[str(ids[0])].text.startswith("Body of")
    # views, counts and search treat them as any article
    assert t.counts()["unread"] == 4 and t.counts()["starred"] == 1
    t.update_search()
    assert t.search("Body") and set(t.search("Story")) <= {x.id for x in arts.values()}
    stages = [p.stage for p in seen]
    assert stages[0] == "login" and stages[-1] == "done" and "articles" in stages
    last_articles = [p for p in seen if p.stage == "articles"][-1]
    assert last_articles.done == last_articles.total == 5


def test_read_and_star_here_reach_the_server_in_batches(t, ttrss):
    feed = ttrss.add_feed("https://example.org/a.xml", "A")
    ids = ttrss.add_entries(feed, 450)
    a = add(t, ttrss)
    t.sync_account(a.id, extras=False)
    arts = by_remote(t, a.id)
    t.mark_feed_read(arts[str(ids[0])].feed_id)  # 450 read marks
    t.star([arts[str(ids[3])].id])
    assert t.account(a.id).pending == 451

    report = t.sync_account(a.id, extras=False)
    assert report.sent == 451 and t.account(a.id).pending == 0
    assert ttrss.flags(ids[0]) == (False, False) and ttrss.flags(ids[3]) == (False, True)
    assert ttrss.psql("SELECT count(*) FROM ttrss_user_entries WHERE unread") == "0"
    # 450 read marks went as 3 updateArticle calls (200 ids each), not 450
    assert report.requests < 80


def test_read_and_star_on_the_server_reach_here(t, ttrss):
    feed = ttrss.add_feed("https://example.org/a.xml", "A")
    ids = ttrss.add_entries(feed, 3)
    a = add(t, ttrss)
    t.sync_account(a.id, extras=False)
    ttrss.set_flags(ids[0], unread=False)
    ttrss.set_flags(ids[1], marked=True)
    new = ttrss.add_entries(feed, 1, prefix="Later")

    report = t.sync_account(a.id, extras=False)
    arts = by_remote(t, a.id)
    assert arts[str(ids[0])].read and arts[str(ids[1])].starred and not arts[str(ids[2])].read
    assert str(new[0]) in arts and report.new == 1
    assert report.read_changed == 1 and report.star_changed == 1
    assert t.account(a.id).pending == 0  # what the server said is not sent back


def test_conflict_an_unsent_change_here_wins(t, ttrss):
    """Both sides changed one article: here read (offline, not yet sent), there starred and kept
    unread. The change made here wins for what it changed; the server's star is kept too."""
    feed = ttrss.add_feed("https://example.org/a.xml", "A")
    ids = ttrss.add_entries(feed, 2)
    a = add(t, ttrss)
    t.sync_account(a.id, extras=False)
    arts = by_remote(t, a.id)
    t.mark_read([arts[str(ids[0])].id])  # here: read
    ttrss.set_flags(ids[0], unread=True, marked=True)  # there: unread (again) and starred
    ttrss.set_flags(ids[1], unread=False)  # there only: read

    t.sync_account(a.id, extras=False)
    arts = by_remote(t, a.id)
    assert arts[str(ids[0])].read and arts[str(ids[0])].starred
    assert ttrss.flags(ids[0]) == (False, True)
    assert arts[str(ids[1])].read


def test_offline_queue_survives_a_restart_and_a_server_that_is_down(tmp_path, keyring, ttrss):
    feed = ttrss.add_feed("https://example.org/a.xml", "A")
    ids = ttrss.add_entries(feed, 3)
    with open_tidings(tmp_path / "lib", keyring) as t:
        a = add(t, ttrss)
        t.sync_account(a.id, extras=False)
        ttrss.stop_php()  # offline from here
        arts = by_remote(t, a.id)
        t.mark_read([arts[str(ids[0])].id])
        t.star([arts[str(ids[1])].id])
        with pytest.raises(ServerUnreachable) as e:
            t.sync_account(a.id, extras=False)
        assert "cannot reach" in str(e.value) and ttrss.password not in e.value.explain()
        assert t.account(a.id).pending == 2 and "cannot reach" in t.account(a.id).last_error
    ttrss.start_php()
    with open_tidings(tmp_path / "lib", keyring) as t:  # a restart: the queue is in the library file
        assert t.account(a.id).pending == 2
        report = t.sync_account(a.id, extras=False)
        assert report.sent == 2 and t.account(a.id).last_error is None
    assert ttrss.flags(ids[0]) == (False, False) and ttrss.flags(ids[1]) == (True, True)


def test_server_down_mid_sync_keeps_what_came_and_resumes(t, ttrss):
    feed = ttrss.add_feed("https://example.org/a.xml", "A")
    ttrss.add_entries(feed, 1)
    a = add(t, ttrss)
    t.sync_account(a.id, extras=False)
    ttrss.add_entries(feed, 500, prefix="Later")  # a later sync: ids since the cursor, then getArticle

    def stop_after_first_batch(p):
        if p.stage == "articles" and p.done:
            ttrss.stop_php()

    with pytest.raises(ServerUnreachable):
        t.sync_account(a.id, on_progress=stop_after_first_batch, extras=False)
    got = len(t.article_ids(ArticleQuery()))
    assert 1 < got < 501
    ttrss.start_php()
    report = t.sync_account(a.id, extras=False)
    assert report.new == 501 - got and len(t.article_ids(ArticleQuery())) == 501


def test_server_down_during_the_first_listing(t, ttrss):
    """The first sync lists the unread with their content, 200 a page; the server goes away after
    the first page: the sync says so, and the next one starts over and completes."""
    feed = ttrss.add_feed("https://example.org/a.xml", "A")
    ttrss.add_entries(feed, 450)
    a = add(t, ttrss)
    listed = []

    def stop_after_first_page(p):
        if p.stage == "state" and p.done:
            listed.append(p.done)
            ttrss.stop_php()

    with pytest.raises(ServerUnreachable):
        t.sync_account(a.id, on_progress=stop_after_first_page, extras=False)
    assert listed == [200] and "cannot reach" in t.account(a.id).last_error
    ttrss.start_php()
    report = t.sync_account(a.id, extras=False)
    assert report.new == 450 and report.requests < 15  # 3 pages with content, no getArticle


def test_wrong_password_and_disabled_api_are_said_plainly(t, ttrss):
    with pytest.raises(WrongPassword) as e:
        t.add_account("ttrss", ttrss.url, ttrss.user, "not-the-password")
    assert "password" in str(e.value) and "not-the-password" not in e.value.explain()
    assert t.accounts() == []
    ttrss.enable_api(False)
    with pytest.raises(ApiDisabled) as e:
        t.add_account("ttrss", ttrss.url, ttrss.user, ttrss.password)
    assert "API" in str(e.value) and "Enable API" in e.value.hint
    ttrss.enable_api(True)
    a = add(t, ttrss)
    # the password changes on the server: the sync says so, the account and queue stay
    ttrss.psql("UPDATE ttrss_users SET pwd_hash = 'SHA1:0000000000000000000000000000000000000000'")
    with pytest.raises(WrongPassword):
        t.sync_account(a.id, extras=False)
    assert "refused" in t.account(a.id).last_error


def test_subscribe_unsubscribe_and_move(t, ttrss):
    keep = ttrss.add_feed("https://example.org/keep.xml", "Keep", category="News")
    drop = ttrss.add_feed("https://example.org/drop.xml", "Drop")
    a = add(t, ttrss)
    t.sync_account(a.id, extras=False)
    feeds = {f.title: f for f in t.feeds()}

    t.remove_feed(feeds["Drop"].id)  # unsubscribe here
    t.move_feed(feeds["Keep"].id, "Elsewhere")  # tt-rss's API cannot move: refused, in plain words, kept
    # tt-rss refuses feeds on 127.x / odd ports, so a subscription the test could serve is refused too
    t.account_subscribe(a.id, "http://127.0.0.1:9/feed.xml", folder="News")
    report = t.sync_account(a.id, extras=False)

    assert report.sent == 1 and report.rejected == 2
    assert [f["id"] for f in ttrss.feeds()] == [keep]
    rejected = t.account_changes(a.id, rejected=True)
    assert {c.action for c in rejected} == {"move", "subscribe"}
    move = next(c for c in rejected if c.action == "move")
    assert "cannot move" in move.error and "Preferences" in move.error
    assert "would not subscribe" in next(c for c in rejected if c.action == "subscribe").error
    # kept: the folder stays as moved here, the refused subscription stays listed, until dropped
    feeds = {f.title or f.url: f for f in t.feeds()}
    assert feeds["Keep"].folder == "Elsewhere"
    assert any(f.url == "http://127.0.0.1:9/feed.xml" and f.remote_id is None for f in t.feeds())
    assert t.drop_account_changes(a.id, [move.id]) == 1
    t.sync_account(a.id, extras=False)
    assert {f.title: f for f in t.feeds()}["Keep"].folder == "News"  # dropped: the server's folder again
    assert drop not in [f["id"] for f in ttrss.feeds()]


@pytest.fixture
def feed_on_port_80():
    """A feed tt-rss agrees to fetch: it refuses 127.x and ports other than 80/443, but not
    http://0.0.0.0/ (which Linux connects to loopback). Needs port 80: skipped where it cannot bind."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Port Eighty</title>'
            b'<link>http://0.0.0.0/</link><item><title>One</title><guid>p80-1</guid></item></channel></rss>')

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    try:
        httpd = ThreadingHTTPServer(("127.0.0.1", 80), Handler)
    except OSError as e:
        pytest.skip(f"a feed tt-rss will subscribe to needs port 80 on this machine ({e.strerror})")
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield "http://0.0.0.0/tidings-port-80.xml"
    httpd.shutdown()
    httpd.server_close()


def test_subscribe_here_reaches_the_server_and_comes_back_with_its_id(t, ttrss, feed_on_port_80):
    ttrss.add_category("Tech")
    a = add(t, ttrss)
    feed = t.account_subscribe(a.id, feed_on_port_80, folder="Tech")
    assert feed.remote_id is None and t.account(a.id).pending == 1
    report = t.sync_account(a.id, extras=False)
    assert report.sent == 1 and report.rejected == 0
    [remote] = ttrss.feeds()
    assert remote["url"] == feed_on_port_80 and remote["category"] == "Tech"
    [mine] = t.feeds()
    assert mine.id == feed.id and mine.remote_id == str(remote["id"]) and mine.folder == "Tech"


def test_no_password_in_the_library_file(tmp_path, keyring, ttrss):
    with open_tidings(tmp_path / "lib", keyring) as t:
        a = add(t, ttrss)
        t.sync_account(a.id, extras=False)
    raw = (tmp_path / "lib" / "tidings.sqlite").read_bytes()
    for f in (tmp_path / "lib").iterdir():
        assert ttrss.password.encode() not in f.read_bytes(), f
    assert ttrss.password.encode() not in raw
    assert list(keyring.secrets.values()) == [ttrss.password]
    db = sqlite3.connect(tmp_path / "lib" / "tidings.sqlite")
    assert db.execute("SELECT count(*) FROM accounts").fetchone()[0] == 1


def test_remove_account_forgets_it_and_tells_the_server_nothing(t, ttrss, keyring):
    feed = ttrss.add_feed("https://example.org/a.xml", "A")
    ttrss.add_entries(feed, 2)
    a = add(t, ttrss)
    t.sync_account(a.id, extras=False)
    t.remove_account(a.id)
    assert t.accounts() == [] and t.feeds() == [] and keyring.secrets == {}
    assert len(ttrss.feeds()) == 1
