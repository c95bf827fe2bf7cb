"""The window split into its panes, and what a daily reader expects of it: history, live theme
switching, undo, menus, drag and drop, sorting, hiding read articles. Real widgets, offscreen,
a real SQLite store in a temp dir."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDropEvent, QPalette
from PySide6.QtWidgets import QApplication

from app.models import ArticleQuery, Changes, Digest, DigestItem, FeedResult, SyncReport
from conftest import UI_NOW, fill_store
from ui.models import ArticleListModel
from ui.view import View

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parent.parent


def idle(qtbot, w):
    qtbot.waitUntil(lambda: w.tasks.active == 0, timeout=5000)


def open_feed(qtbot, w, view):
    assert w.select_source(view)
    idle(qtbot, w)


def titles(w):
    m = w.articles_model
    return [m.article_row(r).title for r in range(m.rowCount())]


# --- the typed View and the facade's Changes ------------------------------------------------------


def test_view_parses_prints_labels_and_queries_itself(ui_tidings):
    for key in ("smart:today", "smart:unread", "smart:starred", "smart:digests", "feed:3", "folder:News/Tech",
                "search:zebra crossing"):
        assert str(View.parse(key)) == key
    assert View.parse("feed:3") == View.feed(3) and View.feed(3).feed_id == 3
    for bad in ("feed:x", "smart:nope", "nothing", "", None, "folder:"):
        assert View.parse(bad) is None
    assert View.folder("News/Tech").label() == "Tech"
    assert View.feed(3).label({3: "Alpha"}) == "Alpha"
    assert View.search("x").label() == "Search “x”"
    assert View.feed(3).query(ui_tidings) == ArticleQuery(feed_id=3)
    assert View.folder("News").query(ui_tidings, newest_first=False) == ArticleQuery(folder="News", newest_first=False)
    assert View.smart("unread").query(ui_tidings).unread
    assert View.smart("starred").query(ui_tidings) == ArticleQuery(starred=True)
    assert View.smart("digests").query(ui_tidings) is None
    assert View.smart("today").query(ui_tidings).news


def test_facade_writes_say_what_changed(ui_tidings):
    t = ui_tidings
    ids = fill_store(t, {("Alpha News", "News"): 3, ("Beta Blog", None): 2})
    a = t.article_ids(ArticleQuery(feed_id=ids["Alpha News"]))
    c = t.mark_read(a[:2])
    assert c.articles == tuple(a[:2]) and c.read is True and c.counts and not c.feeds and c.count == 2
    assert c == 2 and f"{c}" == "2"  # still reads as the count it used to return
    c = t.mark_all_read(ArticleQuery(folder="News"))
    assert c.articles == (a[2],) and c.count == 1  # only what it marked: undo puts back exactly those
    assert t.set_starred(a[0]).starred is True
    c = t.rename_feed(ids["Beta Blog"], "Beta")
    assert c.feeds and not c.articles
    c = t.rename_folder("News", "Press/News")
    assert c.count == 1 and t.feed(ids["Alpha News"]).folder == "Press/News"
    t.remove_folder("Press")
    assert t.feed(ids["Alpha News"]).folder == "News"  # up to where the folder was
    t.set_feed_url(ids["Beta Blog"], "example.org/beta.xml")
    assert t.feed(ids["Beta Blog"]).url == "https://example.org/beta.xml"
    from app.errors import BadAddress

    with pytest.raises(BadAddress):
        t.set_feed_url(ids["Beta Blog"], t.feed(ids["Alpha News"]).url)
    with pytest.raises(BadAddress):
        t.set_feed_url(ids["Beta Blog"], "ftp://example.org/x")


def test_sync_report_summary_is_plain_words():
    ok = FeedResult(feed_id=1, url="u", title="A", status="updated", new=3)
    bad = FeedResult(feed_id=2, url="v", title="B", status="error", error="x")
    assert SyncReport([ok]).summary() == "Sync finished: 3 new articles."
    assert "1 feed failed" in SyncReport([ok, bad]).summary()
    assert SyncReport([ok], cancelled=True).summary().startswith("Sync cancelled")


def test_the_launcher_hands_commands_to_the_cli_without_qt(tmp_path):
    code = ("import sys, ui.launch\n"
            f"rc = ui.launch.main(['--data-dir', {str(tmp_path / 'd')!r}, 'feeds'])\n"
            "assert rc == 0, rc\n"
            "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt imported'\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    # the core alone says what it cannot do, instead of reaching up into ui/
    r = subprocess.run([sys.executable, "-m", "app.cli", "--data-dir", str(tmp_path / "d"), "selftest"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "desktop app" in r.stderr


# --- history ------------------------------------------------------------------------------------------


def test_back_and_forward_across_articles_and_views_keep_the_scroll(qtbot, ui_tidings, open_window):
    ids = fill_store(ui_tidings, {("Alpha News", None): 3, ("Beta Blog", None): 2})
    ui_tidings.set_setting("mark_read_delay_seconds", -1)
    w = open_window()
    w.resize(900, 500)
    alpha, beta = View.feed(ids["Alpha News"]), View.feed(ids["Beta Blog"])
    open_feed(qtbot, w, alpha)
    w.middle.select_row(0)
    first = w.reader.article.id
    bar = w.reader.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 50)
    bar.setValue(bar.maximum() // 2)
    scrolled = bar.value()
    w.middle.select_row(1)
    open_feed(qtbot, w, beta)
    w.middle.select_row(0)
    third = w.reader.article.id
    assert w.act_back.isEnabled() and not w.act_forward.isEnabled()

    w.articles.setFocus()
    qtbot.keyClick(w.articles, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    idle(qtbot, w)
    assert w.current_key == str(alpha) and w.reader.article.title == "Alpha News story 1"
    qtbot.keyClick(w.articles, Qt.Key.Key_Backspace)
    idle(qtbot, w)
    assert w.reader.article.id == first and w.current_row() == 0
    qtbot.waitUntil(lambda: bar.value() == scrolled, timeout=2000)  # where the person was
    assert not w.act_back.isEnabled() and w.act_forward.isEnabled()
    qtbot.keyClick(w.articles, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    qtbot.keyClick(w.articles, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    idle(qtbot, w)
    assert w.reader.article.id == third and w.current_key == str(beta)
    # the mouse's back button, anywhere in the window
    qtbot.mouseClick(w.reader.viewport(), Qt.MouseButton.BackButton)
    idle(qtbot, w)
    assert w.reader.article.title == "Alpha News story 1"


def test_a_digest_citation_opens_the_article_and_back_returns_to_the_digest_scroll(qtbot, ui_tidings, open_window):
    ids = fill_store(ui_tidings, {("Alpha News", None): 3})
    ui_tidings.set_setting("mark_read_delay_seconds", -1)
    aid = ui_tidings.article_ids(ArticleQuery(feed_id=ids["Alpha News"]))[0]
    items = [DigestItem(section="lead" if i == 0 else "also", title=f"Story {i}",
                        text="A long paragraph about what happened. " * 30, article_ids=[aid], sources=["Alpha News"])
             for i in range(8)]
    d = Digest(date="2026-11-21", style="briefing", model=None, extractive=True, headline="A day", items=items,
               closing="That is all.")
    ui_tidings.store.save_digest(d)
    w = open_window()
    w.resize(900, 500)
    open_feed(qtbot, w, View.smart("digests"))
    qtbot.waitUntil(lambda: w.shown_digest is not None, timeout=3000)
    bar = w.reader.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 100)
    bar.setValue(bar.maximum() // 2)
    at = bar.value()
    w.reader.article_link.emit(aid)  # what clicking a citation does
    assert w.reader.article is not None and w.reader.article.id == aid
    w.go_back()
    idle(qtbot, w)
    assert w.shown_digest is not None and w.reader.article is None
    qtbot.waitUntil(lambda: bar.value() == at, timeout=2000)
    w.go_forward()
    idle(qtbot, w)
    assert w.reader.article.id == aid
    # clicking the digest in the list, or Digests in the sources, opens it again where it was left
    lst = w.digest_list
    qtbot.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=lst.visualItemRect(lst.item(0)).center())
    idle(qtbot, w)
    assert w.shown_digest is not None and w.reader.article is None
    qtbot.waitUntil(lambda: bar.value() == at, timeout=2000)
    w.reader.article_link.emit(aid)
    rect = w.sources.visualRect(w.sources_model.key_index(View.smart("digests")))
    qtbot.mouseClick(w.sources.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    idle(qtbot, w)
    assert w.shown_digest is not None and w.reader.article is None
    qtbot.waitUntil(lambda: bar.value() == at, timeout=2000)


# --- theme --------------------------------------------------------------------------------------------


def test_dark_and_light_switch_live_in_every_pane(qtbot, ui_tidings, open_window):
    from ui.theme import apply_theme, load_stylesheet

    app = QApplication.instance()
    load_stylesheet(app)
    ids = fill_store(ui_tidings, {("Alpha News", None): 2})
    ui_tidings.set_setting("mark_read_delay_seconds", -1)
    w = open_window()
    try:
        w.apply_settings({**w.prefs, "theme": "light"})
        open_feed(qtbot, w, View.feed(ids["Alpha News"]))
        w.middle.select_row(0)
        dlg = w.settings_dialog()

        def colours():
            role = QPalette.ColorRole
            return {
                "sources": w.sources.viewport().palette().color(role.Base).lightness(),
                "articles": w.articles.viewport().palette().color(role.Base).lightness(),
                "header": w.articles.horizontalHeader().palette().color(role.Button).lightness(),
                "header text": w.articles.horizontalHeader().palette().color(role.ButtonText).lightness(),
                "reader": w.reader.viewport().palette().color(role.Base).lightness(),
                "window": w.palette().color(role.Window).lightness(),
                "dialog": dlg.palette().color(role.Window).lightness(),
            }

        light = colours()
        light_html = w.reader.toHtml()
        w.apply_settings({**w.prefs, "theme": "dark"})
        dark = colours()
        for pane in ("sources", "articles", "header", "reader", "window", "dialog"):
            assert dark[pane] < 100 < light[pane], (pane, light[pane], dark[pane])
        assert dark["header text"] > 150 > light["header text"]  # readable on its dark header
        assert w.reader.toHtml() != light_html and "Alpha News story 0" in w.reader.toPlainText()
        count = w.sources_model._counts[str(View.feed(ids["Alpha News"]))]
        assert count.foreground().color().lightness() < 200 and count.foreground().color().lightness() > 60
        w.apply_settings({**w.prefs, "theme": "light"})
        assert colours()["reader"] > 150
        dlg.reject()
    finally:
        apply_theme(app, "system")
        app.setStyleSheet("")


# --- the list -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(1280, 800), (800, 500)])
def test_titles_get_the_room_at_the_default_size_and_small(qtbot, ui_tidings, open_window, size):
    fill_store(ui_tidings, {("Alpha News", None): 3, ("Beta Blog", None): 3})
    w = open_window()
    w.resize(*size)
    qtbot.waitUntil(lambda: w.width() == size[0])
    open_feed(qtbot, w, View.smart("unread"))
    qtbot.wait(50)
    title = w.articles.horizontalHeader().sectionSize(ArticleListModel.TITLE)
    chars = title / w.articles.fontMetrics().averageCharWidth()
    assert chars >= (40 if size[0] >= 1280 else 24), (size, title, chars)


def test_date_header_and_menu_sort_newest_or_oldest(qtbot, ui_tidings, open_window):
    ids = fill_store(ui_tidings, {("Alpha News", None): 3})
    w = open_window()
    open_feed(qtbot, w, View.feed(ids["Alpha News"]))
    assert titles(w)[0] == "Alpha News story 0"
    header = w.articles.horizontalHeader()
    x = header.sectionViewportPosition(ArticleListModel.DATE) + 5
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))
    idle(qtbot, w)
    assert titles(w) == ["Alpha News story 2", "Alpha News story 1", "Alpha News story 0"]
    assert header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder
    assert w.act_oldest.isChecked() and not w.act_newest.isChecked()  # the View menu says so too
    w.act_newest.trigger()
    idle(qtbot, w)
    assert titles(w)[0] == "Alpha News story 0" and w.act_newest.isChecked()
    w.act_newest.trigger()  # choosing the order already chosen keeps it
    idle(qtbot, w)
    assert w.act_newest.isChecked() and titles(w)[0] == "Alpha News story 0"


def test_hide_read_lists_only_unread(qtbot, ui_tidings, open_window):
    ids = fill_store(ui_tidings, {("Alpha News", None): 3})
    a = ui_tidings.article_ids(ArticleQuery(feed_id=ids["Alpha News"]))
    ui_tidings.mark_read(a[:1])
    w = open_window()
    open_feed(qtbot, w, View.feed(ids["Alpha News"]))
    assert len(titles(w)) == 3
    w.set_hide_read(True)
    idle(qtbot, w)
    assert titles(w) == ["Alpha News story 1", "Alpha News story 2"]
    assert "unread" in w.view_title.text()
    w.set_hide_read(False)
    idle(qtbot, w)
    assert len(titles(w)) == 3


def test_list_header_follows_a_rename(qtbot, ui_tidings, open_window):
    ids = fill_store(ui_tidings, {("Alpha News", None): 2})
    w = open_window()
    open_feed(qtbot, w, View.feed(ids["Alpha News"]))
    assert w.view_title.text().startswith("Alpha News — 2")
    w.feeds.rename_feed(ids["Alpha News"], "Alpha Daily")
    qtbot.waitUntil(lambda: w.view_title.text().startswith("Alpha Daily — 2"), timeout=3000)


def test_undo_mark_read_and_mark_all_read(qtbot, ui_tidings, open_window):
    ids = fill_store(ui_tidings, {("Alpha News", None): 3, ("Beta Blog", None): 2})
    ui_tidings.set_setting("mark_read_delay_seconds", -1)
    w = open_window()
    alpha = View.feed(ids["Alpha News"])
    open_feed(qtbot, w, alpha)
    w.middle.select_row(0)
    w.articles.setFocus()
    qtbot.keyClick(w.articles, Qt.Key.Key_M)
    idle(qtbot, w)
    assert ui_tidings.counts()["unread"] == 4
    qtbot.keyClick(w.articles, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    idle(qtbot, w)
    assert ui_tidings.counts()["unread"] == 5
    qtbot.keyClick(w.articles, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)
    idle(qtbot, w)
    assert ui_tidings.counts()["feeds"].get(ids["Alpha News"], 0) == 0 and "Ctrl+Z" in w.status_label.text()
    qtbot.keyClick(w.articles, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    idle(qtbot, w)
    assert ui_tidings.counts()["unread"] == 5
    qtbot.waitUntil(lambda: w.sources_model._counts[str(alpha)].text() == "3", timeout=3000)
    font = w.articles_model.data(w.articles_model.index(2, ArticleListModel.TITLE), Qt.ItemDataRole.FontRole)
    assert font is not None and font.bold()
    assert not w.act_undo.isEnabled()


def test_moving_on_within_the_delay_marks_the_article_read(qtbot, ui_tidings, open_window):
    ids = fill_store(ui_tidings, {("Alpha News", None): 3})
    ui_tidings.set_setting("mark_read_delay_seconds", 30)
    w = open_window()
    open_feed(qtbot, w, View.feed(ids["Alpha News"]))
    w.middle.select_row(0)
    first = w.reader.article.id
    assert not ui_tidings.article(first).read
    w.middle.select_row(1)  # on to the next one within the 30 s
    idle(qtbot, w)
    assert ui_tidings.article(first).read
    second = w.reader.article.id
    qtbot.keyClick(w.articles, Qt.Key.Key_M)  # M: read now...
    idle(qtbot, w)
    assert ui_tidings.article(second).read
    qtbot.keyClick(w.articles, Qt.Key.Key_M)  # ...M again: unread, and it stays so...
    idle(qtbot, w)
    w.middle.select_row(2)  # ...also when moving on
    idle(qtbot, w)
    assert not ui_tidings.article(second).read


def test_article_menu_open_copy_mark_above_below_star(qtbot, ui_tidings, open_window):
    ids = fill_store(ui_tidings, {("Alpha News", None): 4})
    ui_tidings.set_setting("mark_read_delay_seconds", -1)
    w = open_window()
    open_feed(qtbot, w, View.feed(ids["Alpha News"]))
    menu = w.middle.menu_for(1)
    acts = {a.text(): a for a in menu.actions() if a.text()}
    assert list(acts) == ["Open original", "Copy link", "Mark as read", "Star", "Mark above as read",
                          "Mark below as read", "Mark above as unread", "Mark below as unread"]
    acts["Mark below as read"].trigger()
    idle(qtbot, w)
    m = w.articles_model
    assert [m.article_row(r).read for r in range(4)] == [False, False, True, True]
    assert ui_tidings.counts()["unread"] == 2
    acts["Star"].trigger()
    idle(qtbot, w)
    assert ui_tidings.article(m.id_at(1)).starred
    acts["Copy link"].trigger()
    assert QApplication.clipboard().text() == "https://example.org/alpha-news/1"
    acts["Open original"].trigger()
    assert w.opened_urls == ["https://example.org/alpha-news/1"]
    w.middle.menu_for(0).actions()[0].menu()  # (no submenu: flat, as in NetNewsWire)
    assert not [a for a in w.middle.menu_for(0).actions() if a.text() == "Mark above as read"][0].isEnabled()


def test_open_original_without_a_browser_says_so(qtbot, ui_tidings, open_window):
    ids = fill_store(ui_tidings, {("Alpha News", None): 1})
    ui_tidings.set_setting("mark_read_delay_seconds", -1)
    w = open_window()
    w.open_external = lambda url: False  # what QDesktopServices.openUrl returns with no browser
    open_feed(qtbot, w, View.feed(ids["Alpha News"]))
    w.middle.select_row(0)
    w.open_original()
    assert w.message_bar.isVisible() and "browser" in w.message_bar.message
    assert QApplication.clipboard().text() == "https://example.org/alpha-news/0"


# --- feeds and folders ----------------------------------------------------------------------------------


def test_folder_menu_new_rename_delete_sync_mark_read(qtbot, ui_tidings, open_window, monkeypatch):
    from PySide6.QtWidgets import QInputDialog, QMessageBox

    ids = fill_store(ui_tidings, {("Alpha News", "News"): 2, ("Beta Blog", None): 2})
    w = open_window()
    menu = w.sources.menu_for(View.folder("News"))
    labels = [a.text() for a in menu.actions() if a.text()]
    assert labels == ["Mark all read", "Sync this folder", "New folder inside…", "Rename folder…", "Delete folder…",
                      "Notify me of new articles in this folder"]
    synced = []
    monkeypatch.setattr(w, "start_sync", lambda feed_ids=None, auto=False: synced.append(feed_ids))
    next(a for a in menu.actions() if a.text() == "Sync this folder").trigger()
    assert synced == [[ids["Alpha News"]]]

    open_feed(qtbot, w, View.folder("News"))
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("World", True))
    w.feeds.prompt_rename_folder("News")
    qtbot.waitUntil(lambda: "folder:World" in w.sources_model.keys() and w.tasks.active == 0, timeout=3000)
    assert ui_tidings.feed(ids["Alpha News"]).folder == "World"
    assert w.current_key == "folder:World" and w.articles_model.rowCount() == 2  # still reading it
    assert w.view_title.text().startswith("World — 2")

    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Blogs", True))
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: ("Beta Blog", True))
    w.feeds.prompt_new_folder(None)
    qtbot.waitUntil(lambda: "folder:Blogs" in w.sources_model.keys() and w.tasks.active == 0, timeout=3000)
    assert ui_tidings.feed(ids["Beta Blog"]).folder == "Blogs"

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    w.feeds.prompt_delete_folder("World")
    qtbot.waitUntil(lambda: "folder:World" not in w.sources_model.keys() and w.tasks.active == 0, timeout=3000)
    assert ui_tidings.feed(ids["Alpha News"]).folder is None and ids["Alpha News"] in [f.id for f in ui_tidings.feeds()]

    next(a for a in w.sources.menu_for(View.folder("Blogs")).actions() if a.text() == "Mark all read").trigger()
    idle(qtbot, w)
    assert ui_tidings.counts()["feeds"].get(ids["Beta Blog"], 0) == 0


def test_drag_a_feed_onto_a_folder(qtbot, ui_tidings, open_window):
    ids = fill_store(ui_tidings, {("Alpha News", "News"): 1, ("Beta Blog", None): 1})
    w = open_window()
    src = w.sources
    beta_idx = w.sources_model.key_index(View.feed(ids["Beta Blog"]))
    mime = w.sources_model.mimeData([beta_idx])
    target = src.visualRect(w.sources_model.key_index(View.folder("News"))).center()

    def drop(data, pos):
        ev = QDropEvent(QPointF(pos), Qt.DropAction.MoveAction, data, Qt.MouseButton.LeftButton,
                        Qt.KeyboardModifier.NoModifier)
        src.dropEvent(ev)

    drop(mime, target)
    qtbot.waitUntil(lambda: ui_tidings.feed(ids["Beta Blog"]).folder == "News" and w.tasks.active == 0, timeout=3000)
    # onto All unread: out of every folder; something that is not a feed: nothing happens
    drop(QMimeData(), target)
    unread = src.visualRect(w.sources_model.key_index(View.smart("unread"))).center()
    drop(w.sources_model.mimeData([w.sources_model.key_index(View.feed(ids["Beta Blog"]))]), unread)
    qtbot.waitUntil(lambda: ui_tidings.feed(ids["Beta Blog"]).folder is None and w.tasks.active == 0, timeout=3000)


def test_edit_a_feeds_address(qtbot, ui_tidings, open_window, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    ids = fill_store(ui_tidings, {("Alpha News", None): 1})
    w = open_window()
    synced = []
    monkeypatch.setattr(w, "start_sync", lambda feed_ids=None, auto=False: synced.append(feed_ids))
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("https://example.org/new.xml", True))
    w.feeds.prompt_edit_url(ids["Alpha News"])
    qtbot.waitUntil(lambda: w.tasks.active == 0 and bool(synced), timeout=3000)
    assert ui_tidings.feed(ids["Alpha News"]).url == "https://example.org/new.xml" and synced == [[ids["Alpha News"]]]
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("ftp://nope", True))
    w.feeds.prompt_edit_url(ids["Alpha News"])
    idle(qtbot, w)
    assert w.message_bar.isVisible() and "http" in w.message_bar.hint


def test_a_feeds_favicon_shows_in_the_sources(qtbot, ui_tidings, open_window):
    from dataclasses import replace

    from PySide6.QtGui import QColor, QImage

    ids = fill_store(ui_tidings, {("Alpha News", None): 1})
    w = open_window()
    (ui_tidings.image_dir / "icons").mkdir(parents=True, exist_ok=True)
    img = QImage(16, 16, QImage.Format.Format_RGB32)
    img.fill(QColor("#ff0000"))
    img.save(str(ui_tidings.image_dir / "icons" / "alpha.png"))
    feeds = [replace(f, icon="icons/alpha.png") for f in ui_tidings.feeds()]
    w.sources.set_feeds(feeds, ui_tidings.counts(), select=None)
    item = w.sources_model._items[str(View.feed(ids["Alpha News"]))]
    pix = item.icon().pixmap(16, 16).toImage()
    assert QColor(pix.pixel(8, 8)).red() > 200 and QColor(pix.pixel(8, 8)).green() < 50


# --- search, Add feed, help ------------------------------------------------------------------------------


def test_escape_leaves_search(qtbot, ui_tidings, open_window):
    ids = fill_store(ui_tidings, {("Alpha News", None): 2})
    ui_tidings.update_search()
    w = open_window()
    open_feed(qtbot, w, View.feed(ids["Alpha News"]))
    w.focus_search()
    qtbot.keyClicks(w.search, "story")
    qtbot.keyClick(w.search, Qt.Key.Key_Return)
    idle(qtbot, w)
    assert w.current_key == "search:story"
    w.focus_search()
    qtbot.keyClick(w.search, Qt.Key.Key_End)
    qtbot.keyClick(w.search, Qt.Key.Key_Backspace)  # Backspace edits the search; it is Back elsewhere
    assert w.search.text() == "stor" and w.current_key == "search:story"
    qtbot.keyClick(w.search, Qt.Key.Key_Escape)
    idle(qtbot, w)
    assert w.current_key == str(View.feed(ids["Alpha News"])) and w.search.text() == ""


def test_enter_in_add_feed_subscribes_once_feeds_are_found(qtbot, ui_tidings, open_window):
    w = open_window()
    dlg = w.feeds.add_feed_dialog("https://example.org/feed.xml")
    found = []
    dlg.find = lambda: found.append(dlg.url.text())  # no network here: say what discovery would
    qtbot.keyClick(dlg.url, Qt.Key.Key_Return)
    assert found == ["https://example.org/feed.xml"]
    dlg._found([("https://example.org/feed.xml", "Example")])
    asked = []
    dlg.subscribe_requested.connect(lambda url, title, folder: asked.append((url, title)))
    qtbot.keyClick(dlg.url, Qt.Key.Key_Return)
    assert asked == [("https://example.org/feed.xml", "Example")]


def test_shortcut_sheet_and_about(qtbot, ui_tidings, open_window):
    w = open_window()
    w.articles.setFocus()
    qtbot.keyClick(w.articles, Qt.Key.Key_Question, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: getattr(w, "shortcut_sheet", None) is not None and w.shortcut_sheet.isVisible(),
                    timeout=2000)
    rows = dict((text, keys) for keys, text in w.shortcut_sheet.rows)
    for what in ("Next article", "Back", "Forward", "Undo", "Mark all read", "Sync", "Search"):
        assert what in rows, what
    assert "Alt+Left" in rows["Back"]
    w.shortcut_sheet.reject()
    box = w.show_about()
    assert "Tidings" in box.text()
    box.reject()


def test_byline_is_not_the_feed_name_twice(qtbot, ui_tidings, open_window):
    from app.models import ParsedEntry, ParsedFeed

    feed = ui_tidings.subscribe("http://127.0.0.1:9/r.xml", title="Rosemary Orchard")
    ui_tidings.store.save_entries(feed.id, ParsedFeed("Rosemary Orchard", None, [ParsedEntry(
        guid="1", url="https://example.org/1", title="Hello", authors="Rosemary Orchard", published=UI_NOW,
        updated=None, summary="<p>Hi.</p>", content_html="<p>Hi.</p>")]), now=UI_NOW)
    w = open_window()
    a = ui_tidings.article(ui_tidings.article_ids()[0])
    w.reader.show_article(a)
    text = w.reader.toPlainText()
    assert text.count("Rosemary Orchard") == 1, text


def test_job_bar_queues_syncs_asked_for_while_a_digest_is_written(qtbot, ui_tidings, open_window):
    w = open_window()
    job = w.jobs.begin("digest", "Writing…", cancel=lambda: None, unit="stories")
    assert w.jobs.busy and not w.act_summarise.isEnabled() and w.cancel_button.isVisible()
    w.start_sync([3])
    w.start_sync(auto=True)  # a timed one is skipped, not queued
    assert w._queued_syncs == [[3]]
    assert w.jobs.queue_label.isVisible() and "1 more sync" in w.jobs.queue_label.text()
    started = []
    w.start_sync = lambda feed_ids=None, auto=False: started.append(feed_ids)
    w.jobs.end("Done.")
    assert started == [[3]] and not w.progress.isVisible() and w.status_label.text() == "Done."
    assert not w.jobs.queue_label.isVisible()
    assert job.kind == "digest"


def test_every_paragraph_has_the_same_spacing(qtbot, ui_tidings, open_window):
    from app.models import ParsedEntry, ParsedFeed

    feed = ui_tidings.subscribe("http://127.0.0.1:9/p.xml", title="Spacing feed")
    body = "".join(f"<p>Paragraph {i}. " + "Words that wrap over a few lines. " * 8 + "</p>" for i in range(3))
    ui_tidings.store.save_entries(feed.id, ParsedFeed("Spacing feed", None, [ParsedEntry(
        guid="1", url="https://example.org/1", title="Spacing", authors="", published=UI_NOW, updated=None,
        summary="", content_html=body)]), now=UI_NOW)
    w = open_window()
    w.reader.show_article(ui_tidings.article(ui_tidings.article_ids()[0]))
    doc = w.reader.document()
    formats = []
    block = doc.begin()
    while block.isValid():
        if block.text().startswith("Paragraph"):
            f = block.blockFormat()
            formats.append((f.lineHeight(), f.lineHeightType(), f.topMargin(), f.bottomMargin()))
        block = block.next()
    assert len(formats) == 3 and len(set(formats)) == 1, formats
    assert formats[0][0] > 100  # a little more air than the default between lines


# --- a big view lists its first page first (issue 12) ----------------------------------------------


def test_a_big_view_lists_its_first_page_then_the_rest_keeping_the_selection(qtbot, ui_tidings, open_window,
                                                                              monkeypatch):
    import threading

    import ui.articles

    monkeypatch.setattr(ui.articles, "FIRST_PAGE", 4)
    ids = fill_store(ui_tidings, {("Alpha News", None): 8, ("Beta Blog", None): 3})
    w = open_window()
    calls, rest = [], threading.Event()
    real = ui_tidings.article_ids

    def article_ids(q=None):
        calls.append(q.limit)
        if q.limit is None:
            rest.wait(5)  # the whole list is slow to come (1M ids: ~0.3 s)
        return real(q)

    monkeypatch.setattr(ui_tidings, "article_ids", article_ids)
    shown = []
    w.middle.listed.connect(lambda view, got: shown.append(len(got)))
    w.open_view(View.smart("unread"))
    qtbot.waitUntil(lambda: w.articles_model.rowCount() == 4, timeout=5000)
    assert titles(w)[:2] == ["Alpha News story 0", "Beta Blog story 0"]  # the first page, on screen
    assert shown == [] and w.view_title.text().endswith("…")  # the count is not known yet
    w.middle.select_row(1)  # chosen while the rest is still coming
    chosen = w.middle.current_id()
    rest.set()
    idle(qtbot, w)
    assert calls == [4, None]
    assert w.articles_model.rowCount() == 11
    assert w.middle.current_id() == chosen  # appended: the selection stayed
    assert shown == [11] and "11 articles" in w.view_title.text()
    calls.clear()
    open_feed(qtbot, w, View.feed(ids["Beta Blog"]))  # a small view: one query
    assert calls == [4] and w.articles_model.rowCount() == 3


def test_a_view_that_changed_between_its_two_queries_is_listed_anew(qtbot, ui_tidings, open_window, monkeypatch):
    import ui.articles

    monkeypatch.setattr(ui.articles, "FIRST_PAGE", 3)
    ids = fill_store(ui_tidings, {("Alpha News", None): 8})
    w = open_window()
    real = ui_tidings.article_ids
    every = real(ArticleQuery(feed_id=ids["Alpha News"]))

    def article_ids(q=None):
        got = real(q)
        return got if q.limit else got[::-1]  # the whole list came back in another order

    monkeypatch.setattr(ui_tidings, "article_ids", article_ids)
    open_feed(qtbot, w, View.feed(ids["Alpha News"]))
    assert w.articles_model.ids == every[::-1] and w.articles_model.rowCount() == 8


def test_the_window_freezes_what_start_up_made_out_of_the_collectors_way(qtbot, ui_tidings, open_window):
    import gc

    import ui.mainwindow

    fill_store(ui_tidings, {("Alpha News", None): 1})
    ui.mainwindow._heap_settled.discard("started")
    gc.unfreeze()
    w = open_window()
    qtbot.waitUntil(lambda: w.feeds_loaded, timeout=5000)
    assert gc.get_freeze_count() > 0 and "started" in ui.mainwindow._heap_settled
    gc.unfreeze()


def test_pyside_does_not_read_the_source_of_every_module_imported_after_it():
    """(ui/pyside_hooks.py: a start-up cost; if PySide renames its hook, this says so)"""
    import types

    from shibokensupport import feature

    import ui.mainwindow  # noqa: F401

    assert feature._mod_uses_pyside(types.ModuleType("anything")) is False
