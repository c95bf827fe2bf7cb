"""The Rules dialog and the Hidden view, driven through real widgets offscreen."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from conftest import fill_store

pytestmark = pytest.mark.timeout(60)


def idle(qtbot, w):
    qtbot.waitUntil(lambda: w.tasks.active == 0, timeout=5000)


def test_rules_dialog_refuses_a_bad_pattern_then_saves_previews_and_applies(qtbot, ui_tidings, open_window):
    ids = fill_store(ui_tidings, {("Alpha News", "News"): 4, ("Beta Blog", None): 3})
    w = open_window()
    w.act_rules.trigger()
    dlg = w.rules_dlg
    idle(qtbot, w)
    qtbot.keyClicks(dlg.name, "No Beta")
    row = dlg.rows[0]
    row.field.setCurrentIndex(row.field.findData("title"))
    row.kind.setCurrentIndex(row.kind.findData("regex"))
    qtbot.keyClicks(row.value, "(beta")
    dlg.actions_boxes["hide"].setChecked(True)
    assert "cannot be used" in dlg.error.text() and "missing )" in dlg.error.text()
    assert not dlg.save_button.isEnabled()
    row.value.setText(r"^beta blog story [0-1]\b")
    assert dlg.error.text() == "" and dlg.save_button.isEnabled()

    dlg.preview_button.click()
    idle(qtbot, w)
    assert dlg.preview.text() == "Stored articles: 2 articles match (hide: 2)"
    qtbot.mouseClick(dlg.save_button, Qt.MouseButton.LeftButton)
    idle(qtbot, w)
    [rule] = ui_tidings.rules()
    assert rule.name == "No Beta" and rule.actions == ("hide",) and dlg.list.count() == 1
    assert len(ui_tidings.hidden_ids()) == 0  # saving applies to new articles only

    dlg.apply_button.click()
    idle(qtbot, w)
    assert dlg.preview.text().startswith("Applied. 2 articles match")
    qtbot.waitUntil(lambda: w.sources_model._counts[f"feed:{ids['Beta Blog']}"].text() == "1", timeout=3000)
    assert w.sources_model._counts["smart:unread"].text() == "5"

    # The Hidden view lists them; the feed's own view does not.
    w.select_source(f"feed:{ids['Beta Blog']}")
    idle(qtbot, w)
    assert w.articles_model.rowCount() == 1
    w.select_source("smart:hidden")
    idle(qtbot, w)
    assert w.articles_model.rowCount() == 2
    assert "Hidden" in w.view_title.text()

    # Turning the rule off in the list is saved.
    dlg.list.item(0).setCheckState(Qt.CheckState.Unchecked)
    idle(qtbot, w)
    assert ui_tidings.rules()[0].enabled is False
    dlg.list.setCurrentRow(0)
    assert dlg.name.text() == "No Beta" and dlg.rows[0].value.text().startswith("^beta")
    dlg.delete_rule()
    idle(qtbot, w)
    assert ui_tidings.rules() == [] and dlg.list.count() == 0


def test_rule_scope_lists_feeds_and_folders(qtbot, ui_tidings, open_window):
    ids = fill_store(ui_tidings, {("Alpha News", "News/World"): 2})
    w = open_window()
    w.act_rules.trigger()
    dlg = w.rules_dlg
    labels = [dlg.scope.itemText(i) for i in range(dlg.scope.count())]
    assert labels == ["Every feed", "Folder: News", "Folder: News/World", "Feed: Alpha News"]
    dlg.scope.setCurrentIndex(3)
    dlg.name.setText("x")
    dlg.rows[0].value.setText("story")
    dlg.actions_boxes["star"].setChecked(True)
    assert dlg.current().scope == "feed" and dlg.current().feed_id == ids["Alpha News"]


def test_unhide_from_the_hidden_view(qtbot, ui_tidings, open_window):
    ids = fill_store(ui_tidings, {("Alpha News", None): 3})
    hidden = ui_tidings.article_ids()[0]
    ui_tidings.store.set_flags("hidden", [hidden])
    ui_tidings.set_setting("mark_read_delay_seconds", -1)  # opening it must not count as reading it here
    w = open_window()
    assert w.sources_model._counts[f"feed:{ids['Alpha News']}"].text() == "2"
    w.select_source("smart:hidden")
    idle(qtbot, w)
    assert w.articles_model.rowCount() == 1
    w.show_article_by_id(hidden)
    w.act_unhide.trigger()
    idle(qtbot, w)
    assert w.articles_model.rowCount() == 0 and ui_tidings.hidden_ids() == []
    qtbot.waitUntil(lambda: w.sources_model._counts[f"feed:{ids['Alpha News']}"].text() == "3", timeout=3000)


def test_opml_export_and_import_in_the_app_carry_the_rules(qtbot, ui_tidings, open_window, tmp_path):
    from app.core import make_tidings
    from app.rules import Condition, Rule

    fill_store(ui_tidings, {("Alpha News", None): 1})
    ui_tidings.add_rule(Rule("r", (Condition("title", "keyword", "x"),), ("star",)))
    w = open_window()
    w.feeds.export_opml(str(tmp_path / "feeds.opml"))
    idle(qtbot, w)
    assert (tmp_path / "feeds.rules.json").is_file()
    with make_tidings(tmp_path / "other") as other:
        assert other.import_opml(str(tmp_path / "feeds.opml")) == 1
        assert [r.name for r in other.rules()] == ["r"]
