"""Notifications: queued in the insert transaction, batched in the core, shown through a tray
stand-in, clicking opens the article; the timed Summarise today."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from PySide6.QtCore import QObject, Signal
from feedserver import feed_server  # noqa: F401 - fixture

from app.cli import main
from app.core import make_tidings
from app.models import ParsedFeed
from app.notify import Pending, batch, summarise_due
from app.rules import Condition, Rule
from conftest import fill_store
from tests.helpers import entry

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)


def p(i, reason="", feed="Krebs", folder="Security", notify=False, title=None):
    return Pending(i, reason, hash(feed) % 100, feed, folder, notify, title or f"Story {i}")


def test_batch_groups_by_rule_feed_and_folder():
    notes = batch([p(i) for i in range(1, 6)], ["Security"])
    assert [(n.title, n.article_ids[0]) for n in notes] == [("5 new in Security", 5)]
    assert notes[0].body == "Story 5\nStory 4\nStory 3\n…and 2 more"
    notes = batch([p(1, notify=True), p(2, reason="Breaches", feed="Ars"), p(3, reason="Breaches", feed="Krebs")], [])
    assert sorted(n.title for n in notes) == ["2 new in Breaches", "Krebs"]
    single = next(n for n in notes if n.title == "Krebs")
    assert single.body == "Story 1" and single.feed_id is not None
    nested = batch([p(1, folder="Security/Patches")], ["Security", "Security/Patches"])
    assert nested[0].title == "Patches: Krebs"
    many = batch([p(i, reason=f"r{i}") for i in range(8)], [])
    assert len(many) == 1 and many[0].title == "8 new articles in 8 groups"


def test_summarise_due():
    local = datetime(2026, 11, 21, 7, 45)
    assert summarise_due(local, "07:30", None)
    assert not summarise_due(local, "07:30", "2026-11-21")
    assert not summarise_due(local, "08:00", None)
    assert not summarise_due(local, None, None)
    with pytest.raises(ValueError, match="not a time"):
        summarise_due(local, "7.30", None)


def rss(titles):
    items = "".join(f"<item><guid>{t}</guid><title>{t}</title><link>https://e.org/{i}</link>"
                    f"<description>Text about {t}.</description></item>" for i, t in enumerate(titles))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Krebs</title><link>https://e.org/</link>'
            f"{items}</channel></rss>").encode()


def test_sync_queues_for_notify_folder_and_rule_not_on_first_fetch(tmp_path, feed_server):
    with make_tidings(tmp_path / "lib") as t:
        feed_server.route("/a.xml", body=rss(["Old one"]))
        feed_server.route("/b.xml", body=rss(["Quiet"]))
        a = t.subscribe(feed_server.url("/a.xml"), folder="Security")
        t.subscribe(feed_server.url("/b.xml"), folder="Other")
        t.set_folder_notify("Security")
        t.add_rule(Rule("Breaches", (Condition("title", "keyword", "breach"),), ("notify",)))
        t.sync()
        assert t.take_notifications() == []  # a new subscription's archive is not news
        feed_server.route("/a.xml", body=rss(["Old one", "Patch Tuesday", "Zero day"]))
        feed_server.route("/b.xml", body=rss(["Quiet", "Big breach at a bank", "Cats"]))
        t.sync()
        notes = t.take_notifications()
        assert sorted((n.title, len(n.article_ids)) for n in notes) == [("2 new in Security", 2),
                                                                         ("Breaches: Krebs", 1)]
        assert t.take_notifications() == []  # handed out once
        t.set_setting("notify_enabled", False)
        feed_server.route("/a.xml", body=rss(["Old one", "Patch Tuesday", "Zero day", "More"]))
        t.sync()
        assert t.take_notifications() == []
        with pytest.raises(Exception, match="no folder"):
            t.set_folder_notify("Nope")


class RecordingNotifier(QObject):
    """The tray stand-in: records what would be shown; `click` acts as a person clicking it."""
    clicked = Signal(object)

    def __init__(self):
        super().__init__()
        self.shown = []

    def show(self, n):
        self.shown.append(n)

    def click(self, i=-1):
        self.clicked.emit(self.shown[i])


def test_window_shows_batched_notifications_and_click_opens_the_article(qtbot, ui_tidings, open_window):
    ids = fill_store(ui_tidings, {("Krebs", "Security"): 1, ("Ars", None): 1})
    for fid in ids.values():
        ui_tidings.store.record_fetch_ok(fid, now=NOW, etag=None, last_modified=None)
    ui_tidings.set_folder_notify("Security")
    w = open_window()
    rec = RecordingNotifier()
    w.notifications.set_notifier(rec)
    more = ParsedFeed("Krebs", None, [entry(10 + i, guid=f"n{i}", title=f"Breach {i}", published=NOW) for i in range(5)])
    new = ui_tidings.store.save_entries(ids["Krebs"], more, now=NOW).new
    other = ParsedFeed("Ars", None, [entry(30, guid="x", title="Not announced", published=NOW)])
    ui_tidings.store.save_entries(ids["Ars"], other, now=NOW)
    w.notifications.sync_done()
    qtbot.waitUntil(lambda: bool(rec.shown), timeout=5000)
    [n] = rec.shown
    assert n.title == "5 new in Security" and n.body.startswith("Breach 4\nBreach 3\nBreach 2")
    rec.click()
    qtbot.waitUntil(lambda: w.reader.article is not None and w.tasks.active == 0, timeout=5000)
    assert w.reader.article.id == max(new) and w.current_key == f"feed:{ids['Krebs']}"


def test_timed_summarise_today_runs_in_the_background_and_notifies(qtbot, ui_tidings, open_window):
    fill_store(ui_tidings, {("Krebs", "Security"): 2})
    w = open_window()
    rec = RecordingNotifier()
    w.notifications.set_notifier(rec)
    local = ui_tidings.now().astimezone()
    ui_tidings.set_setting("summarise_at", f"{max(0, local.hour - 1):02d}:00")
    ui_tidings._llm = __import__("app.llm", fromlist=["x"]).LLMClient("127.0.0.1:9", timeout=1)  # no Ollama: extractive
    w.notifications.check_schedule()
    qtbot.waitUntil(lambda: bool(rec.shown), timeout=15000)
    assert rec.shown[0].kind == "digest" and rec.shown[0].title == "Today's digest is ready"
    assert ui_tidings.setting("summarise_last_run") == local.date().isoformat()
    w.notifications.check_schedule()  # once a day
    qtbot.wait(300)
    assert len(rec.shown) == 1
    rec.click()
    qtbot.waitUntil(lambda: w.current_key == "smart:digests", timeout=3000)


def test_cli_notify(tmp_path, capsys):
    d = ["--data-dir", str(tmp_path / "lib")]
    with make_tidings(tmp_path / "lib") as t:
        f = t.subscribe("https://a.example/feed", folder="Security")
        t.store.save_entries(f.id, ParsedFeed("F", None, [entry(1)]), now=NOW)
        t.store.record_fetch_ok(f.id, now=NOW, etag=None, last_modified=None)
    assert main([*d, "notify", "feed", str(f.id), "on"]) == 0
    assert main([*d, "notify", "folder", "Security", "on"]) == 0
    assert main([*d, "notify", "summarise-at", "7:30"]) == 0
    assert main([*d, "notify", "summarise-at", "soon"]) == 2
    capsys.readouterr()
    assert main([*d, "notify", "list"]) == 0
    out = capsys.readouterr().out
    assert "folder       Security" in out and "Summarise today: at 7:30" in out
    with make_tidings(tmp_path / "lib") as t:
        t.store.save_entries(f.id, ParsedFeed("F", None, [entry(2, guid="new", title="Fresh")]), now=NOW)
    assert main([*d, "notify", "pending"]) == 0
    assert capsys.readouterr().out == "F\n  Fresh\n"  # the feed (marked notify) and the title
    assert main([*d, "notify", "pending", "--json"]) == 0
    assert capsys.readouterr().out.strip() == "[]"


def test_toast_fallback_shows_and_opens(qtbot, ui_tidings, open_window):
    from ui.notifications import ToastNotifier

    ids = fill_store(ui_tidings, {("Krebs", "Security"): 2})
    w = open_window()
    toast = ToastNotifier(w)
    w.notifications.set_notifier(toast)
    aid = ui_tidings.article_ids()[0]
    from app.notify import Notification

    w.notifications.show_all([Notification("2 new in Security", "A\nB", (aid,), ids["Krebs"])])
    assert toast.toast.isVisible() and toast.toast.title.text() == "2 new in Security"
    from PySide6.QtCore import Qt

    qtbot.mouseClick(toast.toast, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.reader.article is not None and w.reader.article.id == aid, timeout=5000)
    assert not toast.toast.isVisible()
