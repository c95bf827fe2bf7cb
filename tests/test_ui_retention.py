"""File > Clean up library… and a feed's own limits, through real widgets offscreen."""

from __future__ import annotations

import pytest

from conftest import fill_store

pytestmark = pytest.mark.timeout(60)


def idle(qtbot, w):
    qtbot.waitUntil(lambda: w.tasks.active == 0, timeout=10000)


def test_cleanup_dialog_previews_removes_and_shows_sizes(qtbot, ui_tidings, open_window):
    ids = fill_store(ui_tidings, {("Alpha News", "News"): 30, ("Beta Blog", None): 5})  # one story an hour
    ui_tidings.set_starred(ui_tidings.article_ids()[-1])  # the oldest: kept
    w = open_window()
    w.act_cleanup.trigger()
    dlg = w.cleanup_dlg
    idle(qtbot, w)
    assert dlg.preview.text().startswith("Nothing to remove")
    assert dlg.sizes.text().startswith("Now: ")
    dlg.per_feed.setValue(10)
    idle(qtbot, w)
    assert ui_tidings.setting("retention_per_feed") == 10
    assert dlg.preview.text() == "Would remove 19 articles from 1 feed."
    dlg.run_button.click()
    qtbot.waitUntil(lambda: hasattr(dlg, "last_result"), timeout=10000)
    idle(qtbot, w)
    assert dlg.preview.text() == "Removed 19 articles from 1 feed."
    assert "Before: " in dlg.sizes.text() and "After: " in dlg.sizes.text()
    assert w.sources_model._counts[f"feed:{ids['Alpha News']}"].text() == "11"  # 10 newest + the starred


def test_feed_context_menu_keep_articles_override(qtbot, ui_tidings, open_window):
    ids = fill_store(ui_tidings, {("Alpha News", "News"): 3})
    w = open_window()
    from ui.power import prompt_keep

    dlg = prompt_keep(w, ids["Alpha News"])
    dlg.own_days.setChecked(True)
    dlg.days.setValue(14)
    dlg.accept()
    idle(qtbot, w)
    f = ui_tidings.feed(ids["Alpha News"])
    assert (f.keep_days, f.keep_count) == (14, None)
    menu_texts = []
    from PySide6.QtWidgets import QMenu

    menu = QMenu()
    from ui.power import add_power_menu_items

    add_power_menu_items(w, menu, f"feed:{f.id}")
    menu_texts = [a.text() for a in menu.actions() if a.text()]
    assert menu_texts == ["Notify me of new articles", "Always translate", "Keep articles…"]
    menu.actions()[0].setChecked(True)
    idle(qtbot, w)
    assert ui_tidings.feed(f.id).notify


def test_a_sync_lets_retention_go_once_a_day(qtbot, ui_tidings, open_window):
    ids = fill_store(ui_tidings, {("Alpha News", None): 30})
    ui_tidings.set_setting("retention_per_feed", 5)
    w = open_window()
    from ui.power import after_sync

    after_sync(w)
    idle(qtbot, w)
    qtbot.waitUntil(lambda: w.sources_model._counts[f"feed:{ids['Alpha News']}"].text() == "5", timeout=5000)
    assert "Removed 25 articles" in w.status_label.text()
