"""The parse process (app.sync.workers): the same stored result as the parse thread, typed errors
that cross the process boundary intact, and a sync that survives its worker being killed."""

from __future__ import annotations

import copy
import os
import pickle
import signal
import sqlite3
import sys
from datetime import datetime, timezone

import pytest
from feedserver import CORPUS, feed_server  # noqa: F401 - fixture

from app import errors
from app.store import Store
from app.sync import workers
from app.sync import parse as P
from app.sync import Syncer

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)
FILES = sorted(p for p in CORPUS.iterdir() if p.suffix in (".rss", ".atom", ".xml", ".json", ".html"))


@pytest.fixture
def parse_process(monkeypatch):
    """A fresh parse process per test (and none left behind)."""
    workers.parse_process.shutdown()
    monkeypatch.setattr(workers.parse_process, "failures", 0)
    yield workers.parse_process
    workers.parse_process.shutdown()


def serve_corpus(server, copies: int = 1) -> list[str]:
    paths = []
    for k in range(copies):
        for f in FILES:
            path = f"/{k}/{f.name}"
            server.file(path, f, etag=True)
            paths.append(path)
    return paths


def sync(tmp_path, name, server, paths, mode, monkeypatch, **run_kw):
    monkeypatch.setenv(workers.PARSE_PROCESS_ENV, mode)
    store = Store(tmp_path / f"{name}.sqlite")
    for p in paths:
        store.add_feed(server.url(p), now=T0)
    report = Syncer(store, clock=lambda: T0, extras=False, read_timeout=5, deadline=20).run(**run_kw)
    store.close()
    return report, tmp_path / f"{name}.sqlite"


def stored(db) -> dict:
    """Everything sync stores, keyed by feed URL and guid (row ids depend on finishing order)."""
    con = sqlite3.connect(db)
    try:
        feeds = con.execute("""SELECT url, title, site_url, last_error, error_count, etag FROM feeds
                               ORDER BY url""").fetchall()
        articles = con.execute("""
            SELECT f.url, a.guid, a.url, a.title, a.authors, a.published, a.updated, a.first_seen, a.sort_date,
                   a.summary, a.content_html, a.text, a.content_hash, a.needs_fulltext, a.needs_images
            FROM articles a JOIN feeds f ON f.id = a.feed_id ORDER BY f.url, a.guid""").fetchall()
        enclosures = con.execute("""
            SELECT f.url, a.guid, e.url, e.type, e.length FROM enclosures e JOIN articles a ON a.id = e.article_id
            JOIN feeds f ON f.id = a.feed_id ORDER BY 1, 2, 3""").fetchall()
        return {"feeds": feeds, "articles": articles, "enclosures": enclosures}
    finally:
        con.close()


def test_process_path_stores_exactly_what_the_thread_path_stores(tmp_path, feed_server, parse_process, monkeypatch):
    paths = serve_corpus(feed_server)
    thread_report, thread_db = sync(tmp_path, "thread", feed_server, paths, "never", monkeypatch)
    process_report, process_db = sync(tmp_path, "process", feed_server, paths, "always", monkeypatch)
    assert thread_report.parsed_in_process == 0
    # Every feed that parsed did so in the process (what failed there raised NotAFeed across it).
    assert process_report.parsed_in_process == sum(r.status == "updated" for r in process_report.results)
    assert process_report.parsed_in_process >= len(FILES) - 4  # the corpus's feeds, not its HTML pages
    a, b = stored(thread_db), stored(process_db)
    assert len(a["articles"]) > 300
    assert any(r[3] for r in a["feeds"])  # some errors (the HTML pages), stored the same way
    assert a == b


def test_typed_errors_cross_the_process_boundary(parse_process, monkeypatch):
    # Every FeedError keeps its type, message and hint through pickling (class hints and custom ones).
    for cls in (errors.FeedGone, errors.FetchFailed, errors.RateLimited, errors.TooLarge, errors.NotAFeed):
        for e in (cls("Plain words."), cls("Plain words.", "A custom hint.")):
            back = pickle.loads(pickle.dumps(e))
            assert type(back) is cls and str(back) == str(e) and back.hint == e.hint and back.explain() == e.explain()
    # And through the real process: NotAFeed with the parser's message and the class's hint.
    monkeypatch.setenv(workers.PARSE_PROCESS_ENV, "always")
    pool = parse_process.get(1)
    assert pool is not None
    for body, match in ((b"<!doctype html><html><body>hi</body></html>", "HTML page"),
                        (b"", "empty response"),
                        (b'{"items": [', "JSON is malformed")):
        with pytest.raises(errors.NotAFeed) as got:
            pool.submit(P.parse_feed, body, "https://example.org/", None).result(timeout=60)
        with pytest.raises(errors.NotAFeed) as here:
            P.parse_feed(body, "https://example.org/", None)
        assert match in str(got.value)
        assert str(got.value) == str(here.value) and got.value.hint == here.value.hint == errors.NotAFeed.hint
    assert parse_process.pid() != os.getpid()


def test_sync_in_process_mode_reports_not_a_feed_like_the_thread(tmp_path, feed_server, parse_process, monkeypatch):
    feed_server.route("/page", body=b"<!doctype html><html><body>hi</body></html>", content_type="text/html")
    report, db = sync(tmp_path, "p", feed_server, ["/page"], "always", monkeypatch)
    (r,) = report.results
    assert r.status == "error" and r.error_kind == "NotAFeed" and "HTML page" in r.error
    assert stored(db)["feeds"][0][3] == r.error


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_killed_parse_process_costs_no_feed(tmp_path, feed_server, parse_process, monkeypatch):
    paths = serve_corpus(feed_server, copies=4)
    _, expected_db = sync(tmp_path, "thread", feed_server, paths, "never", monkeypatch)
    kills = []

    def kill_worker(result, done, total):
        # Twice during the run: the worker dies with parses queued or running; the sync goes on.
        if done in (5, 40):
            pid = parse_process.pid()
            if pid is not None and pid != os.getpid():
                os.kill(pid, signal.SIGKILL)
                kills.append(pid)

    report, db = sync(tmp_path, "process", feed_server, paths, "always", monkeypatch, on_progress=kill_worker)
    assert len(kills) == 2 and kills[0] != kills[1]  # killed, restarted, killed again
    assert parse_process.failures >= 1
    assert not report.cancelled and len(report.results) == len(paths)
    assert 0 < report.parsed_in_process < len(paths)  # some parsed in the process, the rest in the thread
    assert stored(db) == stored(expected_db)  # nothing lost, nothing different


def test_auto_mode_keeps_small_syncs_in_the_thread(tmp_path, feed_server, parse_process, monkeypatch):
    paths = [p for p in serve_corpus(feed_server) if p.endswith((".rss", ".atom"))][: workers.PROCESS_MIN_BODIES - 1]
    report, _ = sync(tmp_path, "small", feed_server, paths, "auto", monkeypatch)
    assert report.parsed_in_process == 0 and not report.failed
    assert parse_process.pid() is None  # no process started for it


def test_prepared_entries_store_like_unprepared_ones(tmp_path):
    """The parser's text and hash are exactly what save_entries computes without them."""
    docs = [f for f in FILES if f.suffix != ".html" and f.name != "ScriptingNews.json"]
    a, b = Store(tmp_path / "a.sqlite"), Store(tmp_path / "b.sqlite")
    for f in docs:
        parsed = P.parse_feed(f.read_bytes(), "https://example.org/feed")
        assert all(e.text is not None and e.content_hash for e in parsed.entries)
        bare = copy.deepcopy(parsed)
        for e in bare.entries:
            e.text = e.content_hash = None
        for store, p in ((a, parsed), (b, bare)):
            fid, _ = store.add_feed(f"https://example.org/{f.name}", now=T0)
            store.save_entries(fid, p, now=T0)
    a.close()
    b.close()
    assert stored(tmp_path / "a.sqlite") == stored(tmp_path / "b.sqlite")
    assert len(stored(tmp_path / "a.sqlite")["articles"]) > 300


ORPHAN_CHILD = """
import os, sys, time
sys.path.insert(0, {repo!r})
os.environ["TIDINGS_PARSE_PROCESS"] = "always"
from app.sync import workers
pool = workers.parse_process.get(1)
pool.submit(workers.parse_feed, workers._WARM_UP_FEED, "http://localhost/").result(timeout=60)
print(workers.parse_process.pid(), flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_the_parse_process_ends_when_the_app_is_killed(tmp_path):
    import subprocess
    import time
    from pathlib import Path

    repo = str(Path(__file__).resolve().parents[1])
    app = subprocess.Popen([sys.executable, "-c", ORPHAN_CHILD.format(repo=repo)], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(app.stdout.readline())
        assert worker not in (app.pid, os.getpid())
        os.kill(worker, 0)  # running
        os.kill(app.pid, signal.SIGKILL)
        app.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(worker, 0)
            except ProcessLookupError:
                return  # gone with the app
            try:  # reaped by init; if it is a zombie of ours, this reaps it
                os.waitpid(worker, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.05)
        os.kill(worker, signal.SIGKILL)
        pytest.fail("the parse process outlived the killed app")
    finally:
        if app.poll() is None:
            app.kill()
