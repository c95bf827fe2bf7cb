"""A sync SIGKILLed at any moment leaves the store consistent, and the next sync completes the job."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from feedserver import feed_server  # noqa: F401 - fixture
from test_sync_extras import PNG, page

from app.models import ArticleQuery
from app.store import Store
from app.sync import Syncer

REPO = Path(__file__).resolve().parents[1]
FEEDS, ENTRIES = 10, 8
CHILD = """
import sys
sys.path.insert(0, {repo!r})
from app.store import Store
from app.sync import Syncer
store = Store({db!r})
print("START", flush=True)
report = Syncer(store, image_dir={images!r}, read_timeout=5, deadline=10).run()
print("DONE", report.new, flush=True)
"""

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")


def serve(server) -> None:
    base = server.base
    for f in range(FEEDS):
        items = "".join(
            f"<item><guid>f{f}-{i}</guid><title>F{f} story {i}</title><link>{base}/s/{f}/{i}</link>"
            f"<description>Teaser {f}/{i}.</description></item>" for i in range(ENTRIES))
        server.route(f"/feed{f}.xml", body=f'<rss version="2.0"><channel><title>Feed {f}</title>{items}</channel></rss>',
                     etag=True, delay=0.05 * (f % 4))
        for i in range(ENTRIES):
            server.route(f"/s/{f}/{i}", body=page(f * 100 + i, img=f"/i/{f}/{i}.png"),
                         content_type="text/html", delay=0.03)
            server.route(f"/i/{f}/{i}.png", body=PNG, content_type="image/png", delay=0.02)


def integrity(db: Path) -> str:
    con = sqlite3.connect(db)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def test_sigkill_at_many_points_then_a_clean_sync_finishes(tmp_path, feed_server):
    serve(feed_server)
    db = tmp_path / "t.sqlite"
    images = tmp_path / "images"
    store = Store(db)
    now = datetime.now(timezone.utc)
    for f in range(FEEDS):
        store.add_feed(feed_server.url(f"/feed{f}.xml"), now=now)
    store.close()
    script = CHILD.format(repo=str(REPO), db=str(db), images=str(images))
    progress = []
    for delay in (0.15, 0.35, 0.6, 0.9, 1.3, 1.8):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "START"  # imports done, store open: the sync starts now
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert integrity(db) == "ok"
        con = sqlite3.connect(db)
        progress.append(con.execute(
            "SELECT count(*), sum(needs_fulltext), sum(needs_images) FROM articles").fetchone())
        con.close()
    # The kills landed at different stages: some runs had stored articles with work still pending.
    assert any(n and (ft or im) for n, ft, im in progress), progress

    store = Store(db)
    report = Syncer(store, image_dir=images, read_timeout=5, deadline=10).run()
    assert not report.failed and not report.cancelled
    ids = store.article_ids(ArticleQuery())
    assert len(ids) == FEEDS * ENTRIES  # no duplicates, nothing missing
    assert store.pending_fulltext(None) == [] and store.pending_images(None) == []
    for a in store.articles_by_id(ids):
        assert "Paragraph 5 of story" in a.text, a.title
        assert len(a.images) == 1 and (images / next(iter(a.images.values()))).read_bytes() == PNG
    store.update_search()
    assert len(store.search("Paragraph")) == FEEDS * ENTRIES
    store.close()
    assert integrity(db) == "ok"
