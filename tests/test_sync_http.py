"""Sync over real HTTP on 127.0.0.1: conditional GET, gzip, redirects, errors, Retry-After,
back-off, timeouts, caps, hostile responses, progress, cancel, concurrency."""

from __future__ import annotations

import gzip
import socket
import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from feedserver import CORPUS, FeedServer, Reply, Request, feed_server  # noqa: F401 - fixture

from app.core import make_tidings
from app.models import ArticleQuery
from app.store import Store
from app.sync import Syncer

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)


def rss(n: int, *, tag: str = "x", teaser: bool = False, extra: str = "") -> bytes:
    items = "".join(
        f"<item><guid>{tag}-{i}</guid><title>{tag} item {i}</title><link>https://example.org/{tag}/{i}</link>"
        f"<pubDate>Sat, 21 Nov 2026 0{i % 10}:00:00 GMT</pubDate>"
        f"<description>{'Short.' if teaser else 'Body text of the item. ' * 40}</description>{extra}</item>"
        for i in range(n)
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {tag}</title>'
            f"<link>https://example.org/</link>{items}</channel></rss>").encode()


class Env:
    def __init__(self, tmp_path, server: FeedServer):
        self.tmp = tmp_path
        self.server = server
        self.store = Store(tmp_path / "t.sqlite")
        self.now = T0
        self.opts = dict(connect_timeout=2.0, read_timeout=2.0, deadline=5.0)

    def clock(self) -> datetime:
        return self.now

    def add(self, path_or_url: str, **route) -> int:
        url = path_or_url if "://" in path_or_url else self.server.url(path_or_url)
        if route:
            self.server.route(path_or_url, **route)
        return self.store.add_feed(url, now=self.now)[0]

    def syncer(self, **kw) -> Syncer:
        return Syncer(self.store, clock=self.clock, image_dir=self.tmp / "images", **{**self.opts, **kw})

    def sync(self, feed_ids=None, **kw):
        run_kw = {k: kw.pop(k) for k in ("on_progress", "cancel") if k in kw}
        return self.syncer(**kw).run(feed_ids, **run_kw)

    def feed(self, fid):
        return self.store.feed(fid)

    def count(self, fid=None) -> int:
        return len(self.store.article_ids(ArticleQuery(feed_id=fid)))


@pytest.fixture
def env(tmp_path, feed_server):
    e = Env(tmp_path, feed_server)
    yield e
    e.store.close()


def test_conditional_get_costs_one_304(env):
    fid = env.add("/f.xml", body=rss(5), etag=True, last_modified=True)
    r1 = env.sync()
    assert [(r.status, r.new) for r in r1.results] == [("updated", 5)]
    assert env.feed(fid).etag and env.feed(fid).last_modified
    r2 = env.sync()
    assert [r.status for r in r2.results] == ["not_modified"]
    req = env.server.last("/f.xml")
    assert req.headers.get("If-None-Match") == env.feed(fid).etag
    assert req.headers.get("If-Modified-Since") == "Sat, 01 Nov 2025 10:00:00 GMT"
    assert env.server.hits("/f.xml") == 2 and env.count(fid) == 5


def test_gzip_and_changed_feed_updates(env):
    fid = env.add("/g.xml", body=rss(3), gzip=True)
    assert env.sync().results[0].new == 3
    assert "gzip" in env.server.last("/g.xml").headers["Accept-Encoding"]
    env.server.route("/g.xml", body=rss(6), gzip=True)
    r = env.sync().results[0]
    assert (r.status, r.new, r.updated) == ("updated", 3, 0)
    assert env.count(fid) == 6


def test_permanent_redirect_updates_the_feed_url(env):
    env.server.route("/new.xml", body=rss(2))
    fid = env.add("/old.xml", status=301, location="/mid.xml", content_type=None)
    env.server.redirect("/mid.xml", "/new.xml", status=308)
    r = env.sync().results[0]
    assert r.status == "updated" and r.new == 2
    assert env.feed(fid).url == env.server.url("/new.xml")


def test_temporary_redirect_keeps_the_feed_url(env):
    env.server.route("/new.xml", body=rss(2))
    env.server.redirect("/tmp.xml", "/new.xml", status=302)
    fid = env.add("/old.xml", status=301, location="/tmp.xml", content_type=None)
    assert env.sync().results[0].status == "updated"
    assert env.feed(fid).url == env.server.url("/old.xml")


def test_redirect_loop_and_too_many_redirects(env):
    env.server.redirect("/a", "/b")
    env.server.redirect("/b", "/a")
    loop = env.add("/a")
    for i in range(8):
        env.server.redirect(f"/r{i}", f"/r{i + 1}", status=302)
    chain = env.add("/r0")
    good = env.add("/ok.xml", body=rss(1))
    by_id = {r.feed_id: r for r in env.sync().results}
    assert "loop" in by_id[loop].error and by_id[loop].error_kind == "FetchFailed"
    assert "redirected more than 5 times" in by_id[chain].error
    assert by_id[good].status == "updated"


@pytest.mark.parametrize("status,kind,words", [
    (404, "FeedGone", "The feed was not found (HTTP 404)."),
    (410, "FeedGone", "The feed is gone (HTTP 410)."),
    (500, "FetchFailed", "The server had an error (HTTP 500)."),
    (503, "FetchFailed", "The server had an error (HTTP 503)."),
    (403, "FetchFailed", "The site refused access to the feed (HTTP 403)."),
    (418, "FetchFailed", "The site answered with an error (HTTP 418)."),
])
def test_http_errors_are_recorded_in_plain_words(env, status, kind, words):
    fid = env.add("/e.xml", status=status, body=b"nope", content_type="text/plain")
    r = env.sync().results[0]
    assert (r.status, r.error_kind, r.error) == ("error", kind, words)
    f = env.feed(fid)
    assert f.last_error == words and f.error_count == 1
    assert f.next_attempt == T0 + timedelta(minutes=15)


def test_retry_after_seconds_and_http_date(env):
    a = env.add("/busy", status=429, retry_after="7200", body=b"", content_type="text/plain")
    when = T0 + timedelta(hours=3)
    b = env.add("/down", status=503, retry_after=when.strftime("%a, %d %b %Y %H:%M:%S GMT"),
                 body=b"", content_type="text/plain")
    by_id = {r.feed_id: r for r in env.sync().results}
    assert by_id[a].error_kind == by_id[b].error_kind == "RateLimited"
    assert env.feed(a).next_attempt == T0 + timedelta(seconds=7200)
    assert env.feed(b).next_attempt == when
    assert "wait" in by_id[a].error


def test_failed_feed_backs_off_then_retries_and_recovers(env):
    fid = env.add("/flaky.xml", status=500, body=b"", content_type="text/plain")
    ok = env.add("/ok.xml", body=rss(2))
    assert {r.feed_id: r.status for r in env.sync().results} == {fid: "error", ok: "updated"}
    env.server.route("/flaky.xml", body=rss(3))
    env.now = T0 + timedelta(minutes=5)
    assert [r.feed_id for r in env.sync().results] == [ok]  # still backing off
    env.now = T0 + timedelta(minutes=16)
    r = {r.feed_id: r for r in env.sync().results}
    assert r[fid].status == "updated" and r[fid].new == 3
    f = env.feed(fid)
    assert f.last_error is None and f.error_count == 0 and f.next_attempt is None
    # Asked for by id, a backing-off feed is fetched anyway (the person pressed "sync this feed").
    env.server.route("/flaky.xml", status=500, body=b"")
    env.sync()
    env.server.route("/flaky.xml", body=rss(3))
    assert env.sync([fid]).results[0].status == "updated"


def test_hanging_server_times_out(env):
    fid = env.add("/hang", hang=True)
    ok = env.add("/ok.xml", body=rss(1))
    t = time.monotonic()
    res = {r.feed_id: r for r in env.sync(read_timeout=0.5).results}
    assert time.monotonic() - t < 10  # the server never answers: any bound proves the timeout (CI may be slow)
    assert res[fid].error == "127.0.0.1 stopped responding (timed out)."
    assert res[ok].status == "updated"


def test_trickling_endless_response_hits_the_deadline(env):
    fid = env.add("/drip", body=b"<rss><channel>", endless=b"<item>x</item>", trickle=(14, 0.05))
    t = time.monotonic()
    r = env.sync(deadline=1.0).results[0]
    assert time.monotonic() - t < 10  # endless: any bound proves the deadline
    assert r.error == "127.0.0.1 took too long to send the feed (over 1 s)."
    assert env.feed(fid).error_count == 1


def test_endless_fast_response_hits_the_size_cap(env):
    env.add("/flood", body=b"<rss><channel>", endless=b"<item><title>x</title></item>" * 1000)
    r = env.sync(feed_max_bytes=2 * 1024 * 1024).results[0]
    assert (r.error_kind, r.error) == ("TooLarge", "The response was larger than 2 MB.")


def test_huge_declared_response_is_refused_early(env):
    env.add("/huge.xml", body=rss(1) + b" " * (11 * 1024 * 1024))
    r = env.sync().results[0]
    assert (r.error_kind, r.error) == ("TooLarge", "The response was larger than 10 MB.")


def test_gzip_bomb_counts_decompressed_bytes(env):
    bomb = gzip.compress(b"<rss><channel><title>" + b" " * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 200_000
    env.add("/bomb.xml", body=bomb, headers={"Content-Encoding": "gzip"})
    t = time.monotonic()
    r = env.sync().results[0]
    assert time.monotonic() - t < 15
    assert (r.error_kind, r.error) == ("TooLarge", "The response was larger than 10 MB.")


def test_damaged_gzip_is_a_clear_error(env):
    env.add("/bad.gz", body=b"\x1f\x8b\x08\x00garbage-not-deflate" * 10, headers={"Content-Encoding": "gzip"})
    r = env.sync().results[0]
    assert r.status == "error" and "compressed response was damaged" in r.error


def test_connection_refused_and_dns_failure(env):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    refused = env.add(f"http://127.0.0.1:{port}/feed.xml")
    nxdomain = env.add("http://does-not-exist.invalid/feed.xml")
    res = {r.feed_id: r for r in env.sync().results}
    assert res[refused].error == "Could not connect to 127.0.0.1: connection refused."
    assert res[nxdomain].error == "Could not find the server does-not-exist.invalid (DNS lookup failed)."


def test_not_a_feed_and_malformed_give_per_feed_errors(env):
    html = env.add("/page.html", body=(CORPUS / "coco.html").read_bytes(), content_type="text/html")
    junk = env.add("/junk.xml", body=b"<?xml version='1.0'?><nothing-here/>")
    binary = env.add("/bin", body=bytes(range(256)) * 10, content_type="application/octet-stream")
    good = env.add("/good.xml", body=rss(4))
    res = {r.feed_id: r for r in env.sync().results}
    assert res[html].error == "Not a feed: the address returned an HTML page."
    assert res[junk].error_kind == res[binary].error_kind == "NotAFeed"
    assert res[good].status == "updated" and res[good].new == 4
    assert env.feed(html).last_error == "Not a feed: the address returned an HTML page."


def test_corpus_over_http_then_full_refetch_adds_no_duplicates(env):
    ids = {}
    for p in sorted(CORPUS.iterdir()):
        if p.suffix in (".rss", ".atom", ".xml", ".json") and p.name != "ScriptingNews.json":
            ids[p.name] = env.add("/" + p.name)
            env.server.file("/" + p.name, p)  # no ETag: every sync downloads it again
    first = env.sync(extras=False)  # their pages and images are on the internet; see test_sync_extras
    assert all(r.status == "updated" for r in first.results), [r.error for r in first.failed]
    total = env.count()
    assert total == first.new > 300
    second = env.sync(extras=False)
    assert second.new == 0 and env.count() == total
    assert env.count(ids["rose.json"]) == 84


def test_progress_once_per_feed_in_the_calling_thread(env):
    for i in range(7):
        env.add(f"/p{i}.xml", body=rss(2, tag=f"p{i}"), delay=0.02 * i)
    env.add("/broken.xml", status=500, body=b"")
    seen = []
    report = env.sync(on_progress=lambda r, done, total: seen.append((r.feed_id, done, total, threading.get_ident())))
    assert [s[1] for s in seen] == list(range(1, 9)) and {s[2] for s in seen} == {8}
    assert {s[3] for s in seen} == {threading.get_ident()}
    assert sorted(s[0] for s in seen) == sorted(r.feed_id for r in report.results)
    assert len(report.failed) == 1 and report.new == 14


def test_cancel_stops_promptly_and_the_next_sync_finishes(env):
    for i in range(30):
        env.add(f"/slow{i}.xml", body=rss(3, tag=f"s{i}"), delay=1.5)  # uncancelled: 30 / 4 * 1.5 = 11 s
    cancel = threading.Event()
    seen = []

    def progress(r, done, total):
        seen.append(r)
        cancel.set()

    t = time.monotonic()
    report = env.sync(on_progress=progress, cancel=cancel, concurrency=4, per_host=4)
    assert time.monotonic() - t < 7
    assert report.cancelled
    statuses = [r.status for r in report.results]
    assert len(statuses) == 30 and statuses.count("cancelled") >= 20
    db = sqlite3.connect(env.tmp / "t.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    report2 = env.sync()
    assert not report2.cancelled and not report2.failed
    assert env.count() == 90


def test_bounded_concurrency_overall_and_per_host(env):
    active = {"now": 0, "max": 0}
    lock = threading.Lock()

    def slow(req: Request) -> Reply:
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.15)
        with lock:
            active["now"] -= 1
        return Reply(body=rss(1, tag=req.path.strip("/").replace(".", "")))

    for i in range(12):
        env.add(f"/c{i}.xml", handler=slow)
    env.sync(per_host=2, concurrency=8)
    assert active["max"] == 2  # all on one host (127.0.0.1)
    active["max"] = 0
    env.sync(per_host=10, concurrency=3)
    assert active["max"] == 3


def test_json_feed_with_charset_and_sync_transport(env, tmp_path):
    body = (CORPUS / "curt.json").read_bytes()
    fid = env.add("/feed.json", body=body, content_type="application/feed+json; charset=utf-8")
    assert env.sync().results[0].new == 26
    # An injected httpx transport (sync or async) is used instead of the network.
    mock = httpx.MockTransport(lambda request: httpx.Response(200, content=rss(2, tag="m"),
                                                              headers={"Content-Type": "application/rss+xml"}))
    store = Store(tmp_path / "m.sqlite")
    store.add_feed("https://nowhere.example/feed", now=T0)
    r = Syncer(store, transport=mock, clock=lambda: T0, image_dir=tmp_path / "img").run()
    assert r.results[0].new == 2
    store.close()
    assert env.count(fid) == 26


def test_facade_sync_and_add_feed(tmp_path, feed_server):
    feed_server.file("/manton.rss", CORPUS / "manton.rss", etag=True)
    with make_tidings(tmp_path / "data", clock=lambda: T0) as t:
        t.set_setting("full_text", False)
        feed = t.add_feed(feed_server.url("/manton.rss"))
        assert feed.title == "Manton Reece"
        report = t.sync()
        assert report.new == 10 and not report.failed
        assert t.counts()["unread"] == 10


def test_truncated_response_and_tls_to_a_plain_server(env):
    body = rss(3)
    env.add("/cut.xml", body=body[:200], content_length=False, headers={"Content-Length": str(len(body))})
    tls = env.add(env.server.url("/ok.xml").replace("http://", "https://"))
    env.server.route("/ok.xml", body=rss(1))
    res = {r.feed_id: r for r in env.sync().results}
    cut = [r for fid, r in res.items() if fid != tls][0]
    assert cut.error == "127.0.0.1 broke off the connection while sending the feed."
    assert res[tls].error == "Could not make a secure connection to 127.0.0.1: the secure connection failed."


def test_unusual_encodings_and_a_feed_in_a_redirect_to_another_host(env):
    latin = ('<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel><title>Caf\xe9</title>'
             '<item><guid>1</guid><title>Cr\xe8me</title></item></channel></rss>').encode("latin-1")
    fid = env.add("/latin.xml", body=latin, content_type="text/xml")
    # 127.0.0.1 and localhost are different hosts to the per-host limits; redirects may cross hosts.
    other = env.server.url("/latin.xml").replace("127.0.0.1", "localhost")
    moved = env.add("/moved.xml", status=302, location=other, content_type=None)
    res = {r.feed_id: r for r in env.sync().results}
    assert res[fid].new == 1 and res[moved].new == 1
    titles = {a.title for a in env.store.articles_by_id(env.store.article_ids(ArticleQuery()))}
    assert titles == {"Crème"}


def test_self_signed_certificate_is_refused(env, tmp_path):
    import shutil
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    with FeedServer(certfile=cert, keyfile=key) as tls:
        tls.route("/f.xml", body=rss(1))
        env.add(tls.url("/f.xml"))
        r = env.sync().results[0]
    assert r.error == "Could not make a secure connection to 127.0.0.1: the certificate is not valid."


def test_decoder_handles_deflate_variants_and_bounds_output():
    import zlib

    from app.errors import TooLarge
    from app.sync.fetch import _Decoder

    data = rss(20)

    def run(encoding, blob, limit=10 * 1024 * 1024, step=1000):
        d = _Decoder(encoding, limit, "the feed")
        out = b"".join(d.feed(blob[i:i + step]) for i in range(0, len(blob), step))
        return out + d.flush()

    raw = zlib.compressobj(wbits=-15)
    assert run("deflate", zlib.compress(data)) == data
    assert run("deflate", raw.compress(data) + raw.flush()) == data
    assert run("gzip", gzip.compress(data[:500]) + gzip.compress(data[500:])) == data  # two members
    assert run("x-gzip, identity", gzip.compress(data)) == data
    with pytest.raises(TooLarge):
        run("gzip", gzip.compress(b"\0" * 5_000_000), limit=1_000_000)
    with pytest.raises(TooLarge):
        run(None, b"x" * 2_000_001, limit=2_000_000)
    assert run(None, b"x" * 2_000_000, limit=2_000_000) == b"x" * 2_000_000


def test_the_deadline_covers_a_whole_redirect_chain(env):
    for i in range(4):
        env.server.route(f"/hop{i}", status=302, location=f"/hop{i + 1}", content_type=None, delay=1.5)
    env.server.route("/hop4", body=rss(1), delay=1.5)
    env.add("/hop0")
    t = time.monotonic()
    r = env.sync(deadline=1.0).results[0]
    assert time.monotonic() - t < 6  # the chain takes 7.5 s; per-hop timeouts alone would allow it
    assert r.error == "127.0.0.1 took too long to send the feed (over 1 s)."


def test_feed_removed_while_it_is_fetched(env):
    def delete_then_answer(req):
        side = Store(env.tmp / "t.sqlite")
        side.delete_feed(fid)
        side.close()
        return Reply(body=rss(3))

    fid = env.add("/bye.xml", handler=delete_then_answer)
    ok = env.add("/ok.xml", body=rss(2, tag="ok"))
    res = {r.feed_id: r for r in env.sync().results}
    assert res[ok].new == 2 and res[fid].new == 0
    assert [f.id for f in env.store.feeds()] == [ok] and env.count() == 2
