"""The main window driven like a person would: click a feed, read with the keyboard, star, mark
all read, search. Real widgets, offscreen, a real SQLite store in a temp dir."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QUrl

from conftest import fill_store
from ui.models import ArticleListModel

pytestmark = pytest.mark.timeout(60)


def idle(qtbot, w):
    qtbot.waitUntil(lambda: w.tasks.active == 0, timeout=5000)


def click_source(qtbot, w, key):
    idx = w.sources_model.key_index(key)
    assert idx.isValid(), key
    rect = w.sources.visualRect(idx)
    qtbot.mouseClick(w.sources.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    idle(qtbot, w)


def key(qtbot, w, k, mod=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(w.articles, k, mod)
    idle(qtbot, w)


def unread_shown(w, key):
    return w.sources_model._counts[key].text()


def test_click_a_feed_then_read_with_the_keyboard(qtbot, ui_tidings, open_window):
    ids = fill_store(ui_tidings, {("Alpha News", "News"): 5, ("Beta Blog", None): 3})
    ui_tidings.set_setting("mark_read_delay_seconds", 0)
    w = open_window()
    beta = f"feed:{ids['Beta Blog']}"
    assert unread_shown(w, beta) == "3"
    assert unread_shown(w, "folder:News") == "5"
    assert unread_shown(w, "smart:unread") == "8"

    click_source(qtbot, w, beta)
    assert w.current_key == beta
    assert w.articles_model.rowCount() == 3
    assert "Beta Blog" in w.view_title.text()
    assert w.reader.article is None

    w.articles.setFocus()
    key(qtbot, w, Qt.Key.Key_J)
    assert w.current_row() == 0
    assert w.reader.article.title == "Beta Blog story 0"
    # delay 0: opening marks it read, in the store and in the counts
    qtbot.waitUntil(lambda: unread_shown(w, beta) == "2", timeout=3000)
    assert ui_tidings.article(w.reader.article.id).read

    key(qtbot, w, Qt.Key.Key_J)
    assert w.reader.article.title == "Beta Blog story 1"
    key(qtbot, w, Qt.Key.Key_K)
    assert w.reader.article.title == "Beta Blog story 0"

    # m: back to unread; bold again in the list
    key(qtbot, w, Qt.Key.Key_M)
    aid = w.reader.article.id
    assert not ui_tidings.article(aid).read
    font = w.articles_model.data(w.articles_model.index(0, ArticleListModel.TITLE), Qt.ItemDataRole.FontRole)
    assert font is not None and font.bold()

    # s: star; the star shows in the list and in the Starred count
    key(qtbot, w, Qt.Key.Key_S)
    assert ui_tidings.article(aid).starred
    assert w.articles_model.data(w.articles_model.index(0, ArticleListModel.STAR)) == "★"
    qtbot.waitUntil(lambda: unread_shown(w, "smart:starred") == "1", timeout=3000)
    key(qtbot, w, Qt.Key.Key_S)
    assert not ui_tidings.article(aid).starred

    # o and Enter open the original in the system browser
    key(qtbot, w, Qt.Key.Key_O)
    key(qtbot, w, Qt.Key.Key_Return)
    assert w.opened_urls == ["https://example.org/beta-blog/0"] * 2


def test_next_unread_skips_read_and_moves_on_to_the_next_feed(qtbot, ui_tidings, open_window):
    ids = fill_store(ui_tidings, {("Alpha News", None): 3, ("Beta Blog", None): 2})
    ui_tidings.set_setting("mark_read_delay_seconds", -1)
    alpha = ids["Alpha News"]
    a_ids = ui_tidings.article_ids(__import__("app.models", fromlist=["ArticleQuery"]).ArticleQuery(feed_id=alpha))
    ui_tidings.mark_read([a_ids[1]])
    w = open_window()
    click_source(qtbot, w, f"feed:{alpha}")
    w.articles.setFocus()
    key(qtbot, w, Qt.Key.Key_N)
    assert w.reader.article.id == a_ids[0]
    key(qtbot, w, Qt.Key.Key_N)
    assert w.reader.article.id == a_ids[2]  # a_ids[1] is read: skipped
    key(qtbot, w, Qt.Key.Key_N)  # none left here: the next feed with unread articles
    qtbot.waitUntil(lambda: w.current_key == f"feed:{ids['Beta Blog']}" and w.reader.article is not None
                    and w.reader.article.feed_id == ids["Beta Blog"], timeout=3000)


def test_space_pages_down_then_goes_to_the_next_unread(qtbot, ui_tidings, open_window):
    fill_store(ui_tidings, {("Alpha News", None): 3})
    ui_tidings.set_setting("mark_read_delay_seconds", -1)
    w = open_window()
    w.resize(900, 400)
    click_source(qtbot, w, "smart:unread")
    w.articles.setFocus()
    key(qtbot, w, Qt.Key.Key_J)
    first = w.reader.article.id
    bar = w.reader.verticalScrollBar()
    assert bar.maximum() > 0, "the test article must be longer than the pane"
    key(qtbot, w, Qt.Key.Key_Space)
    assert w.reader.article.id == first and bar.value() > 0
    for _ in range(50):
        if w.reader.article.id != first:
            break
        key(qtbot, w, Qt.Key.Key_Space)
    assert w.reader.article.id != first
    assert w.current_row() == 1


def test_shift_a_marks_the_view_read_and_counts_follow(qtbot, ui_tidings, open_window):
    ids = fill_store(ui_tidings, {("Alpha News", "News"): 4, ("Beta Blog", None): 2})
    w = open_window()
    alpha = f"feed:{ids['Alpha News']}"
    click_source(qtbot, w, alpha)
    w.articles.setFocus()
    key(qtbot, w, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: unread_shown(w, alpha) == "" and unread_shown(w, "smart:unread") == "2", timeout=3000)
    assert unread_shown(w, "folder:News") == ""
    assert ui_tidings.counts()["feeds"].get(ids["Alpha News"], 0) == 0
    font = w.articles_model.data(w.articles_model.index(0, ArticleListModel.TITLE), Qt.ItemDataRole.FontRole)
    assert font is None  # no longer bold
    assert "(2) Tidings" == w.windowTitle()  # Qt adds no second " — Tidings" to it


def test_search_shows_results_as_a_view(qtbot, ui_tidings, open_window):
    from app.models import ParsedEntry, ParsedFeed
    from conftest import UI_NOW

    ids = fill_store(ui_tidings, {("Alpha News", None): 5})
    ui_tidings.store.save_entries(ids["Alpha News"], ParsedFeed("Alpha News", None, [ParsedEntry(
        guid="zebra", url="https://example.org/zebra", title="Zebras cross the road", authors="",
        published=UI_NOW, updated=None, summary="<p>Stripes everywhere.</p>", content_html="")]), now=UI_NOW)
    w = open_window()
    click_source(qtbot, w, f"feed:{ids['Alpha News']}")
    w.articles.setFocus()
    qtbot.keyClick(w.articles, Qt.Key.Key_Slash)
    assert w.search.hasFocus()
    qtbot.keyClicks(w.search, "zebra")
    qtbot.keyClick(w.search, Qt.Key.Key_Return)
    idle(qtbot, w)
    assert w.current_key == "search:zebra"
    assert w.articles_model.rowCount() == 1
    assert w.reader.article.title == "Zebras cross the road"
    assert "Search" in w.view_title.text() and "1 article" in w.view_title.text()
    # clearing the search goes back to where we were
    w.search.clear()
    idle(qtbot, w)
    assert w.current_key == f"feed:{ids['Alpha News']}"
    assert w.articles_model.rowCount() == 6


def test_smart_views_today_starred_unread(qtbot, ui_tidings, open_window):
    from app.models import ArticleQuery

    ids = fill_store(ui_tidings, {("Alpha News", None): 40})  # one per hour: some are from yesterday
    some = ui_tidings.article_ids(ArticleQuery(feed_id=ids["Alpha News"]))[:3]
    ui_tidings.set_starred(some[0], True)
    ui_tidings.mark_read(some[1:])
    w = open_window()
    click_source(qtbot, w, "smart:starred")
    assert w.articles_model.ids == [some[0]]
    click_source(qtbot, w, "smart:unread")
    assert w.articles_model.rowCount() == 38
    click_source(qtbot, w, "smart:today")
    today = len(ui_tidings.article_ids(ui_tidings.today_query()))
    assert 0 < today < 40
    assert w.articles_model.rowCount() == today


def test_a_failing_feed_shows_its_error(qtbot, ui_tidings, open_window):
    from conftest import UI_NOW

    ids = fill_store(ui_tidings, {("Alpha News", None): 1, ("Gone Feed", None): 1})
    ui_tidings.store.record_fetch_error(ids["Gone Feed"], "The feed is gone (HTTP 410).", now=UI_NOW)
    w = open_window()
    item = w.sources_model._items[f"feed:{ids['Gone Feed']}"]
    assert "The feed is gone (HTTP 410)." in item.toolTip()
    ok = w.sources_model._items[f"feed:{ids['Alpha News']}"]
    assert "gone" not in ok.toolTip()
    assert item.icon().cacheKey() != ok.icon().cacheKey()


def test_errors_are_shown_in_plain_words(qtbot, ui_tidings, open_window, caplog):
    from app.errors import StoreLocked

    w = open_window()

    def locked():
        raise StoreLocked("The library is busy: another Tidings is writing to it.")

    w.tasks.run(locked, context="saving")
    idle(qtbot, w)
    assert w.message_bar.isVisible()
    assert w.message_bar.message == "The library is busy: another Tidings is writing to it."
    assert "Another Tidings window" in w.message_bar.hint

    w.tasks.run(lambda: 1 / 0, context="counting sheep")
    idle(qtbot, w)
    assert w.message_bar.message == "Something went wrong while counting sheep."
    assert any("counting sheep" in r.getMessage() and r.exc_info for r in caplog.records)


def test_feed_menu_actions_rename_move_unsubscribe(qtbot, ui_tidings, open_window, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    ids = fill_store(ui_tidings, {("Alpha News", None): 2, ("Beta Blog", None): 1})
    w = open_window()
    fid = ids["Alpha News"]
    w.feeds.rename_feed(fid, "Alpha Daily")
    w.feeds.move_feed(fid, "Reading/Daily")
    idle(qtbot, w)
    qtbot.waitUntil(lambda: w.tasks.active == 0 and "folder:Reading/Daily" in w.sources_model.keys(), timeout=3000)
    assert w.sources_model._items[f"feed:{fid}"].text() == "Alpha Daily"
    assert ui_tidings.feed(fid).folder == "Reading/Daily"

    # the context menu has the actions
    idx = w.sources_model.key_index(f"feed:{fid}")
    w.sources._menu(w.sources.visualRect(idx).center())
    labels = [a.text() for a in w.context_menu.actions() if a.text()]
    assert labels == ["Mark all read", "Sync this feed", "Rename…", "Move to folder…", "Edit address…",
                      "Fetch full text for offline reading", "Download images for offline reading",
                      "Notify me of new articles", "Always translate", "Keep articles…", "Unsubscribe…"]
    full_text = next(a for a in w.context_menu.actions() if a.text().startswith("Fetch full text"))
    assert full_text.isCheckable() and full_text.isChecked()
    full_text.toggle()  # switch offline full text off for this feed only
    qtbot.waitUntil(lambda: not ui_tidings.feed(fid).fetch_full_text, timeout=3000)
    assert ui_tidings.feed(fid).fetch_images and ui_tidings.feed(ids["Beta Blog"]).fetch_full_text
    w.context_menu.close()

    # unsubscribe asks first: "Cancel" keeps the feed
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Cancel))
    w.feeds.prompt_unsubscribe(fid)
    idle(qtbot, w)
    assert ui_tidings.feed(fid)
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    w.feeds.prompt_unsubscribe(fid)
    qtbot.waitUntil(lambda: f"feed:{fid}" not in w.sources_model.keys(), timeout=3000)
    assert [f.id for f in ui_tidings.feeds()] == [ids["Beta Blog"]]


def test_window_remembers_geometry_splitters_and_selection(qtbot, ui_tidings, open_window):
    ids = fill_store(ui_tidings, {("Alpha News", None): 3, ("Beta Blog", None): 3})
    ui_tidings.set_setting("mark_read_delay_seconds", -1)
    w = open_window()
    beta = f"feed:{ids['Beta Blog']}"
    click_source(qtbot, w, beta)
    w.articles.setFocus()
    key(qtbot, w, Qt.Key.Key_J)
    key(qtbot, w, Qt.Key.Key_J)
    chosen = w.reader.article.id
    w.resize(760, 520)  # inside the offscreen screen (800x600), so restoreGeometry need not clamp
    qtbot.waitUntil(lambda: w.width() == 760)
    w.splitter.setSizes([150, 250, 300])
    sizes = w.splitter.sizes()
    size = w.size()
    w.close()

    w2 = open_window()
    qtbot.waitUntil(lambda: w2.reader.article is not None, timeout=3000)
    assert w2.current_key == beta
    assert w2.reader.article.id == chosen
    assert w2.current_row() == 1
    assert w2.size() == size
    assert w2.splitter.sizes() == sizes


def test_settings_dialog_changes_settings(qtbot, ui_tidings, open_window):
    w = open_window()
    dlg = w.settings_dialog()
    dlg.font_size.setValue(15)
    dlg.interval.setValue(0)
    dlg.delay.setValue(-1)
    dlg.accept()
    idle(qtbot, w)
    assert ui_tidings.setting("font_size") == 15
    assert ui_tidings.setting("sync_interval_minutes") == 0
    assert ui_tidings.setting("mark_read_delay_seconds") == -1
    assert w.reader.document().defaultFont().pointSize() == 15
    assert not w._sync_timer.isActive()
    w.apply_settings({**w.prefs, "sync_interval_minutes": 15})
    assert w._sync_timer.isActive() and w._sync_timer.interval() == 15 * 60_000


def test_list_model_is_lazy(qtbot, ui_tidings, open_window):
    fill_store(ui_tidings, {("Alpha News", None): 1500}, html=False)
    w = open_window()
    click_source(qtbot, w, "smart:unread")
    assert w.articles_model.rowCount() == 1500
    # only the blocks on screen were read (one or two of 200 rows), not 1500 rows
    w.articles.viewport().repaint()
    qtbot.waitUntil(lambda: w.articles_model.fetches >= 1, timeout=3000)
    assert w.articles_model.fetches <= 2
    assert len(w.articles_model._rows) <= 400


def test_external_and_internal_links(qtbot, ui_tidings, open_window):
    fill_store(ui_tidings, {("Alpha News", None): 2})
    w = open_window()
    ids = ui_tidings.article_ids()
    w.reader.anchorClicked.emit(QUrl("https://example.org/elsewhere"))
    assert w.opened_urls == ["https://example.org/elsewhere"]
    w.reader.anchorClicked.emit(QUrl(f"tidings://article/{ids[1]}"))
    assert w.reader.article.id == ids[1]
    w.reader.anchorClicked.emit(QUrl(f"tidings:article/{ids[0]}"))
    assert w.reader.article.id == ids[0]
    w.reader.anchorClicked.emit(QUrl("file:///etc/passwd"))
    w.reader.anchorClicked.emit(QUrl("javascript:alert(1)"))
    assert w.opened_urls == ["https://example.org/elsewhere"]


def test_opening_a_failed_feed_says_what_to_do(qtbot, ui_tidings, open_window):
    from conftest import UI_NOW

    ids = fill_store(ui_tidings, {("Alpha News", None): 1, ("Gone Feed", None): 1})
    ui_tidings.store.record_fetch_error(ids["Gone Feed"], "The feed was not found (HTTP 404).", now=UI_NOW)
    w = open_window()
    click_source(qtbot, w, f"feed:{ids['Gone Feed']}")
    assert w.message_bar.isVisible()
    assert "HTTP 404" in w.message_bar.message and "unsubscribe" in w.message_bar.hint
    click_source(qtbot, w, f"feed:{ids['Alpha News']}")
    assert not w.message_bar.isVisible()


def test_a_failed_write_is_undone_on_screen_and_explained(qtbot, ui_tidings, open_window, monkeypatch):
    from app.errors import DiskFull

    fill_store(ui_tidings, {("Alpha News", None): 2})
    ui_tidings.set_setting("mark_read_delay_seconds", -1)
    w = open_window()
    click_source(qtbot, w, "smart:unread")
    w.articles.setFocus()
    key(qtbot, w, Qt.Key.Key_J)

    def full(*a, **k):
        raise DiskFull("The disk is full: Tidings could not save.")

    monkeypatch.setattr(ui_tidings, "mark_read", full)
    monkeypatch.setattr(ui_tidings, "set_starred", full)
    key(qtbot, w, Qt.Key.Key_M)
    key(qtbot, w, Qt.Key.Key_S)
    row = w.articles_model.article_row(0)
    assert not row.read and not row.starred  # the list shows what is really stored
    assert w.message_bar.message == "The disk is full: Tidings could not save."
    assert "Free some disk space" in w.message_bar.hint


def test_dark_theme_and_tray_badge(qtbot, ui_tidings, open_window):
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    from ui.mainwindow import badged_icon
    from ui.theme import apply_theme

    w = open_window()
    try:
        w.apply_settings({**w.prefs, "theme": "dark"})
        assert QApplication.palette().color(QPalette.ColorRole.Base).lightness() < 80
    finally:
        apply_theme(QApplication.instance(), "system")
    assert QApplication.palette().color(QPalette.ColorRole.Base).lightness() > 150
    plain, badged = badged_icon(0).pixmap(64, 64).toImage(), badged_icon(42).pixmap(64, 64).toImage()
    assert plain.pixel(48, 48) != badged.pixel(48, 48)


def test_import_and_export_opml(qtbot, ui_tidings, open_window, tmp_path):
    opml = tmp_path / "subs.opml"
    opml.write_text("""<?xml version="1.0"?><opml version="2.0"><head/><body>
      <outline text="Reading"><outline type="rss" text="One" xmlUrl="http://127.0.0.1:9/one.xml"/>
        <outline text="Deep"><outline type="rss" text="Two" xmlUrl="http://127.0.0.1:9/two.xml"/></outline>
      </outline></body></opml>""")
    w = open_window()
    w.start_sync = lambda *a, **k: None  # nothing to fetch from: the port is closed
    w.feeds.import_opml(str(opml))
    qtbot.waitUntil(lambda: "folder:Reading/Deep" in w.sources_model.keys(), timeout=3000)
    assert "Imported 2 new feeds" in w.status_label.text()
    out = tmp_path / "out.opml"
    w.feeds.export_opml(str(out))
    idle(qtbot, w)
    text = out.read_text()
    assert "http://127.0.0.1:9/one.xml" in text and "http://127.0.0.1:9/two.xml" in text and "Deep" in text


def test_space_works_while_reading_in_the_article_pane(qtbot, ui_tidings, open_window):
    fill_store(ui_tidings, {("Alpha News", None): 2})
    ui_tidings.set_setting("mark_read_delay_seconds", -1)
    w = open_window()
    w.resize(800, 360)
    click_source(qtbot, w, "smart:unread")
    w.articles.setFocus()
    key(qtbot, w, Qt.Key.Key_J)
    w.reader.setFocus()
    qtbot.keyClick(w.reader, Qt.Key.Key_Space)
    assert w.reader.verticalScrollBar().value() > 0
    qtbot.keyClick(w.reader, Qt.Key.Key_J)
    assert w.current_row() == 1


def test_row_cache_stays_bounded(qtbot):
    from datetime import datetime, timezone

    from app.models import ArticleRow

    def rows(ids):
        return [ArticleRow(i, 1, "F", f"t{i}", datetime(2026, 1, 1, tzinfo=timezone.utc), False, False) for i in ids]

    m = ArticleListModel(rows)
    m.set_ids(range(100_000))
    for r in range(0, 100_000, 150):
        assert m.article_row(r).id == r
    assert len(m._rows) <= ArticleListModel.MAX_BLOCKS * ArticleListModel.BLOCK
    assert m.article_row(99_999).title == "t99999"
