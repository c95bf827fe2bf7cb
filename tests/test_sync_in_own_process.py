"""A big sync in a process of its own (app/sync/process.py): what the window asks for. Real
loopback servers, a real library file, a real spawned process."""

from __future__ import annotations

import threading
import time

import pytest

from app.core import make_tidings
from app.errors import TidingsError
from app.sync import process as sync_process
from feedserver import FeedServer, feed_server  # noqa: F401 - a fixture

pytestmark = pytest.mark.timeout(120)


def rss(i: int, n: int = 3) -> str:
    items = "".join(f"<item><title>Story {j} of {i}</title><link>https://example.org/{i}/{j}</link>"
                    f"<guid>{i}-{j}</guid><pubDate>Sat, 21 Nov 2026 0{j % 9}:00:00 GMT</pubDate>"
                    f"<description>Body {j} of feed {i}.</description></item>" for j in range(n))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {i}</title>'
            f"<link>https://example.org/{i}/</link>{items}</channel></rss>")


@pytest.fixture
def library(tmp_path, feed_server, monkeypatch):
    monkeypatch.setattr(sync_process, "MIN_FEEDS", 5)
    t = make_tidings(tmp_path / "lib")
    for i in range(8):
        feed_server.route(f"/{i}.xml", body=rss(i))
        t.subscribe(feed_server.url(f"/{i}.xml"))
    t.sync_in_process = True
    yield t
    t.close()


def test_a_big_sync_runs_in_its_own_process_with_progress_and_report(library, monkeypatch):
    from app.sync.engine import Syncer

    def not_here(*a, **kw):
        raise AssertionError("synced in the window's process")

    monkeypatch.setattr(Syncer, "run", not_here)  # (the child process has the real one)
    done = []
    report = library.sync(on_progress=lambda r, d, total: done.append((d, total, r.status)))
    assert [d for d, _, _ in done] == list(range(1, 9)) and all(total == 8 for _, total, _ in done)
    assert {s for _, _, s in done} == {"updated"} and report.new == 24 and not report.failed
    assert len(library.article_ids()) == 24  # the window's own connection sees what the child wrote
    assert library.feeds()[0].title.startswith("Feed ")


def test_a_small_sync_and_tests_stay_in_the_calling_process(library, monkeypatch):
    called = []
    real = sync_process.run
    monkeypatch.setattr(sync_process, "run", lambda *a, **kw: called.append(1) or real(*a, **kw))
    library.sync([library.feeds()[0].id])  # one feed: not worth a process
    monkeypatch.setenv("TIDINGS_SYNC_PROCESS", "never")
    library.sync()
    assert called == [] and len(library.article_ids()) == 24


def test_cancel_reaches_the_sync_process(tmp_path, monkeypatch):
    monkeypatch.setattr(sync_process, "MIN_FEEDS", 5)
    with FeedServer() as server, make_tidings(tmp_path / "lib") as t:
        server.route("/ok.xml", body=rss(0))
        t.subscribe(server.url("/ok.xml"))
        for i in range(6):
            server.route(f"/slow{i}.xml", body=rss(i + 1), delay=60)  # the sync cannot end by itself soon
            t.subscribe(server.url(f"/slow{i}.xml"))
        t.sync_in_process = True
        cancel = threading.Event()
        started = time.monotonic()
        report = t.sync(on_progress=lambda r, *_: r.status == "updated" and cancel.set(), cancel=cancel)
        assert report.cancelled and time.monotonic() - started < 30, report.summary()
        assert [r.status for r in report.results].count("cancelled") >= 1
        assert len(t.article_ids()) == 3  # what was fetched is kept


def test_the_librarys_own_trouble_comes_back_typed(tmp_path):
    bad = tmp_path / "not-a-library"
    bad.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(TidingsError) as e:
        sync_process.run(bad, None, None)
    assert type(e.value).__name__ in ("StoreCorrupt", "StoreError") and str(e.value)


def test_no_process_means_the_sync_runs_here(library, monkeypatch):
    import multiprocessing.context

    def refuse(self):
        raise OSError("no processes in this sandbox")

    monkeypatch.setattr(multiprocessing.context.SpawnProcess, "start", refuse)
    report = library.sync()
    assert report.new == 24 and len(library.article_ids()) == 24
