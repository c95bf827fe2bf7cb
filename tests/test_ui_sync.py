"""Sync and Add feed from the window, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from feedserver import CORPUS, FeedServer

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def server():
    with FeedServer() as s:
        yield s


@pytest.fixture
def window(open_window):
    return open_window


def rss(title: str, n: int, base: str) -> str:
    items = "".join(
        f"<item><title>{title} item {i}</title><link>{base}/{i}</link><guid>{base}/{i}</guid>"
        f"<pubDate>Sat, 21 Nov 2026 0{i % 9}:00:00 GMT</pubDate>"
        f"<description>&lt;p&gt;{'Words of the item. ' * 50}&lt;/p&gt;</description></item>"
        for i in range(n))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>{base}</link><description>x</description>{items}</channel></rss>")


def test_sync_shows_progress_and_the_counts_change(qtbot, ui_tidings, window, server):
    for k in range(6):
        server.route(f"/f{k}.xml", body=rss(f"Feed {k}", 3 + k, server.url(f"/p{k}")), delay=0.05)
    server.route("/gone.xml", status=410)
    ui_tidings.set_setting("full_text", False)
    ui_tidings.set_setting("images", False)
    for k in range(6):
        ui_tidings.subscribe(server.url(f"/f{k}.xml"), title=f"Feed {k}")
    gone = ui_tidings.subscribe(server.url("/gone.xml"), title="Gone")
    w = window()
    assert w.sources_model._counts["smart:unread"].text() == ""

    w.articles.setFocus()
    qtbot.keyClick(w.articles, Qt.Key.Key_R)  # r: sync
    assert w.progress.isVisible() and w.cancel_button.isVisible()
    assert not w.act_sync.isEnabled()
    qtbot.waitUntil(lambda: w._sync_task is None, timeout=30000)
    qtbot.waitUntil(lambda: w.tasks.active == 0, timeout=5000)

    # one progress step per feed, counting up to the total
    assert [e[1] for e in w.sync_events] == list(range(1, 8))
    assert all(e[2] == 7 for e in w.sync_events)
    assert not w.progress.isVisible()
    total = sum(3 + k for k in range(6))
    assert w.sources_model._counts["smart:unread"].text() == str(total)
    assert w.windowTitle() == f"({total}) Tidings"
    assert "failed" in w.status_label.text()
    # the gone feed shows its error
    tip = w.sources_model._items[f"feed:{gone.id}"].toolTip()
    assert "410" in tip or "gone" in tip.lower()
    assert ui_tidings.feed(gone.id).last_error


def test_cancel_stops_a_sync(qtbot, ui_tidings, window, server):
    for k in range(12):
        server.route(f"/s{k}.xml", body=rss(f"Slow {k}", 2, server.url(f"/q{k}")), delay=0.6)
    ui_tidings.set_setting("full_text", False)
    for k in range(12):
        ui_tidings.subscribe(server.url(f"/s{k}.xml"), title=f"Slow {k}")
    w = window()
    w.start_sync()
    qtbot.waitUntil(lambda: len(getattr(w, "sync_events", [])) >= 1, timeout=15000)
    qtbot.mouseClick(w.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w._sync_task is None, timeout=20000)
    assert w.last_sync_report is not None and w.last_sync_report.cancelled
    assert "cancelled" in w.status_label.text().lower()
    assert w.act_sync.isEnabled()


def test_add_a_feed_from_a_site_url(qtbot, ui_tidings, window, server):
    server.file("/feed.rss", CORPUS / "manton.rss")
    server.route("/", content_type="text/html; charset=utf-8", body=(
        "<html><head><title>Manton's site</title>"
        '<link rel="alternate" type="application/rss+xml" title="Manton Reece" href="/feed.rss">'
        "</head><body>Hello</body></html>"))
    ui_tidings.set_setting("full_text", False)
    ui_tidings.set_setting("images", False)
    w = window()
    dlg = w.feeds.add_feed_dialog()
    qtbot.keyClicks(dlg.url, server.url("/"))
    dlg.folder.setEditText("Blogs")
    qtbot.mouseClick(dlg.find_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.results.count() > 0, timeout=15000)
    assert server.url("/feed.rss") in dlg.results.item(0).text()
    assert "Found 1 feed" in dlg.status.text()
    qtbot.mouseClick(dlg.subscribe_button, Qt.MouseButton.LeftButton)
    # subscribed, then synced: the feed and its unread count appear under its folder
    qtbot.waitUntil(lambda: any(f.url == server.url("/feed.rss") for f in ui_tidings.feeds()), timeout=5000)
    feed = next(f for f in ui_tidings.feeds() if f.url == server.url("/feed.rss"))
    assert feed.folder == "Blogs"
    qtbot.waitUntil(lambda: w._sync_task is None and w.tasks.active == 0
                    and w.sources_model.unread(f"feed:{feed.id}") > 0, timeout=30000)
    assert w.sources_model.unread("folder:Blogs") == ui_tidings.feed(feed.id).unread > 0


def test_add_feed_explains_a_site_without_a_feed(qtbot, ui_tidings, window, server):
    server.route("/plain", content_type="text/html", body="<html><head><title>No feeds</title></head></html>")
    w = window()
    dlg = w.feeds.add_feed_dialog(server.url("/plain"))
    dlg.find()
    qtbot.waitUntil(lambda: dlg.find_button.isEnabled(), timeout=15000)
    assert dlg.results.count() == 0
    assert "RSS or Atom link" in dlg.status.text()  # NoFeedFound's hint, in plain words
    assert not w.message_bar.isVisible()
    dlg.reject()


def test_a_sync_asked_for_while_one_runs_follows_it(qtbot, ui_tidings, window, server):
    for k in range(3):
        server.route(f"/busy{k}.xml", body=rss(f"Busy {k}", 2, server.url(f"/b{k}")), delay=0.5)
    server.route("/late.xml", body=rss("Late", 4, server.url("/late")))
    ui_tidings.set_setting("full_text", False)
    busy = [ui_tidings.subscribe(server.url(f"/busy{k}.xml"), title=f"Busy {k}").id for k in range(3)]
    w = window()
    w.start_sync(busy)
    assert w._sync_task is not None
    late = ui_tidings.subscribe(server.url("/late.xml"), title="Late")
    w.start_sync([late.id])  # e.g. a feed added while the first sync runs: not dropped
    w.start_sync(auto=True)  # a timed sync that finds the window busy is skipped, not queued
    assert w._queued_syncs == [[late.id]]
    qtbot.waitUntil(lambda: ui_tidings.feed(late.id).unread == 4, timeout=20000)
    qtbot.waitUntil(lambda: w._sync_task is None and not w._queued_syncs, timeout=10000)
    assert server.hits("/late.xml") == 1
