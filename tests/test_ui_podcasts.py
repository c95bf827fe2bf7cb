"""The Podcasts view, the podcast bar (play, download with progress, played), and issue 11's
Settings rows, through real widgets offscreen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from feedserver import feed_server  # noqa: F401 - fixture

from app.models import Enclosure, ParsedEntry, ParsedFeed
from conftest import UI_NOW, fill_store
from test_downloads import EPISODE, ranged

pytestmark = pytest.mark.timeout(60)


def idle(qtbot, w):
    qtbot.waitUntil(lambda: w.tasks.active == 0, timeout=10000)


def add_episodes(t, url):
    f = t.subscribe("http://127.0.0.1:9/pod.xml", title="Night Shift Podcast")
    entries = [ParsedEntry(guid=f"ep{i}", url=f"https://pod.example/{i}", title=f"Episode {i}", authors="",
                           published=UI_NOW - timedelta(days=i), updated=None, summary="<p>Show notes.</p>",
                           content_html="", enclosures=[Enclosure(url, "audio/mpeg", len(EPISODE))]) for i in range(3)]
    return t.store.save_entries(f.id, ParsedFeed("Night Shift Podcast", None, entries), now=UI_NOW).new


def test_podcasts_view_and_bar(qtbot, ui_tidings, open_window, feed_server):
    feed_server.route("/ep.mp3", handler=ranged(EPISODE))
    fill_store(ui_tidings, {("Text only", None): 2})
    ids = add_episodes(ui_tidings, feed_server.url("/ep.mp3"))
    w = open_window()
    w.select_source("smart:podcasts")
    idle(qtbot, w)
    assert w.articles_model.rowCount() == 3 and "Podcasts" in w.view_title.text()
    w.show_article_by_id(ids[0])
    idle(qtbot, w)
    bar = w.podcast_bar
    assert bar.isVisible() and bar.label.text().startswith("Audio · 1000.0 KB")
    assert bar.download_button.isVisible() and not bar.delete_button.isVisible()

    bar.play_button.click()
    idle(qtbot, w)
    assert w.opened_urls == [feed_server.url("/ep.mp3")]  # not downloaded: the web address
    assert "played" in bar.label.text() and ui_tidings.article(ids[0]).read

    bar.download_button.click()
    idle(qtbot, w)
    assert "downloaded" in bar.label.text() and bar.delete_button.isVisible()
    assert not bar.download_button.isVisible()
    bar.play_button.click()
    idle(qtbot, w)
    assert w.opened_urls[-1].startswith("file://") and w.opened_urls[-1].endswith("-ep.mp3")
    bar.played_button.click()
    idle(qtbot, w)
    assert "played" not in bar.label.text()
    bar.delete_button.click()
    idle(qtbot, w)
    assert bar.download_button.isVisible() and ui_tidings.media(ids[0])[0].state == "none"

    # An article without audio hides the bar.
    w.show_article_by_id([i for i in ui_tidings.article_ids() if i not in ids][0])
    idle(qtbot, w)
    assert not bar.isVisible()


def test_settings_rows_round_trip(qtbot, ui_tidings, open_window):
    w = open_window()
    dlg = w.settings_dialog()
    p = dlg.power
    assert p.language.currentIndex() == 0 and dlg.values()["translate_language"] is None
    p.language.setCurrentIndex(p.language.findData("German"))
    p.timed.setChecked(True)
    from PySide6.QtCore import QTime

    p.at.setTime(QTime(6, 45))
    p.max_mb.setValue(120)
    v = dlg.values()
    assert (v["translate_language"], v["summarise_at"], v["download_max_mb"], v["notify_enabled"]) == \
        ("German", "06:45", 120, True)
    dlg.accept()
    idle(qtbot, w)
    assert ui_tidings.setting("translate_language") == "German" and ui_tidings.setting("summarise_at") == "06:45"
    again = w.settings_dialog()
    assert again.power.language.currentText() == "German" and again.power.timed.isChecked()
    again.reject()
