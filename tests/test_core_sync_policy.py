"""Which feeds a sync tries: timed syncs wait out back-off; a person's Sync retries every feed
(the network may just be back), but never before a server's own Retry-After."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app import make_tidings
from feedserver import CORPUS, feed_server  # noqa: F401  (pytest fixture)

NOW = datetime(2026, 11, 21, 7, 0, tzinfo=timezone.utc)


def test_manual_sync_retries_backed_off_feeds_but_honours_retry_after(tmp_path, feed_server):  # noqa: F811
    feed_server.file("/ok.rss", CORPUS / "manton.rss")
    feed_server.route("/busy", status=503, retry_after="7200")
    with make_tidings(tmp_path, clock=lambda: NOW) as t:
        ok = t.subscribe(feed_server.url("/ok.rss"))
        busy = t.subscribe(feed_server.url("/busy"))
        # the train: every feed failed a minute ago and is backing off
        t.store.record_fetch_error(ok.id, "Could not connect.", now=NOW - timedelta(minutes=1))

        timed = t.sync(automatic=True)
        assert [r.feed_id for r in timed.results] == [busy.id]  # ok is still backing off
        assert feed_server.hits("/ok.rss") == 0
        assert t.feed(busy.id).last_error  # 503 with Retry-After: stored as the feed's error

        manual = t.sync()  # a person pressed Sync
        assert [r.feed_id for r in manual.results] == [ok.id]  # busy asked for two hours' peace
        assert feed_server.hits("/ok.rss") == 1 and feed_server.hits("/busy") == 1
        assert t.feed(ok.id).last_error is None and t.feed(ok.id).unread > 0


def test_fetch_order_takes_a_few_hosts_at_a_time_round_robin():
    from types import SimpleNamespace

    from app.sync.decide import fetch_order

    feeds = [SimpleNamespace(url=f"https://h{i % 4}.example/{i}") for i in range(10)]
    order = [f.url for f in fetch_order(feeds, 2)]
    assert sorted(order) == sorted(f.url for f in feeds)  # every feed once
    hosts = [u.split("/")[2] for u in order]
    # h0 and h1 together (alternating), then h2 and h3
    assert hosts == ["h0.example", "h1.example"] * 3 + ["h2.example", "h3.example"] * 2
    assert fetch_order([], 10) == []
