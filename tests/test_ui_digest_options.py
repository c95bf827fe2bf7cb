"""Summarise today from the window: the digest settings, the Summarise drop-down (shape, day,
since-last, folders), the reading pane for each shape, and pulling missing models."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt

from app.errors import ModelMissing, OllamaUnavailable
from app.models import Digest, DigestItem
from conftest import UI_NOW, fill_store

pytestmark = pytest.mark.timeout(60)


def idle(qtbot, w):
    qtbot.waitUntil(lambda: w.tasks.active == 0, timeout=5000)


def _notice(error):
    return SimpleNamespace(kind="notice", message=str(error), error=error, index=None, part=None, text="",
                           done=0, total=0, item=None, items=[], digest=None)


def _digest(style="briefing", **kw):
    item = DigestItem(section="lead", title="Council approves the bridge", text="The council voted 7 to 2.",
                      article_ids=[1], sources=["Alpha News"])
    return Digest(date="2026-11-21", style=style, model=None, extractive=True, headline="A bridge", items=[item],
                  closing="That is all.", **kw)


def test_settings_round_trip_the_digest_fields(qtbot, ui_tidings, open_window):
    w = open_window()
    dlg = w.settings_dialog()
    idle(qtbot, w)  # styles (and, if Ollama answers, models) were listed in the background
    assert dlg.host.placeholderText() == "127.0.0.1:11434"
    assert dlg.embed_model.currentText() == "all-minilm" and dlg.personal.isChecked()
    labels = [dlg.style_box.itemText(i) for i in range(dlg.style_box.count())]
    assert labels[:3] == ["Briefing", "Narrative letter", "Analyst brief"]

    ok = dlg.buttons.button(dlg.buttons.StandardButton.Ok)
    for bad in ("not a host!", "http://", "host:99999", "ftp://host:1"):
        dlg.host.setText(bad)
        assert not ok.isEnabled() and dlg.host_error.isVisibleTo(dlg), bad
    for good in ("", "localhost", "10.0.0.5:11434", "http://box.lan:11434", "https://ollama.example.org:443"):
        dlg.host.setText(good)
        assert ok.isEnabled() and not dlg.host_error.isVisibleTo(dlg), good

    dlg.host.setText("http://box.lan:11434/")
    dlg.model.setCurrentText("qwen2.5:1.5b")
    dlg.embed_model.setCurrentText("nomic-embed-text")
    dlg.style_box.setCurrentIndex(dlg.style_box.findData("analyst"))
    dlg.personal.setChecked(False)
    dlg.accept()
    idle(qtbot, w)
    assert ui_tidings.setting("ollama_host") == "http://box.lan:11434"
    assert ui_tidings.setting("ollama_model") == "qwen2.5:1.5b"
    assert ui_tidings.setting("embed_model") == "nomic-embed-text"
    assert ui_tidings.setting("digest_style") == "analyst"
    assert ui_tidings.setting("digest_personal") is False

    dlg2 = w.settings_dialog()  # shown again as saved
    idle(qtbot, w)
    assert dlg2.host.text() == "http://box.lan:11434"
    assert dlg2.model.currentText() == "qwen2.5:1.5b"
    assert dlg2.embed_model.currentText() == "nomic-embed-text"
    assert dlg2.style_box.currentData() == "analyst" and dlg2.style_box.currentText() == "Analyst brief"
    assert not dlg2.personal.isChecked()
    dlg2.reject()

    w2 = open_window()  # and by a new window, from the store
    d3 = w2.settings_dialog()
    idle(qtbot, w2)
    assert d3.host.text() == "http://box.lan:11434" and not d3.personal.isChecked()
    assert d3.embed_model.currentText() == "nomic-embed-text"
    # an empty address / model goes back to the defaults
    d3.host.setText("")
    d3.model.setCurrentText("")
    d3.accept()
    idle(qtbot, w2)
    assert ui_tidings.setting("ollama_host") is None and ui_tidings.setting("ollama_model") is None


def test_analyst_brief_from_the_summarise_menu(qtbot, tmp_path):
    from app.core import make_tidings
    from app.llm import LLMClient
    from support.ollama_standin import OllamaStandIn
    from ui.mainwindow import MainWindow

    with OllamaStandIn(models={"tiny:latest": 8192}) as standin:
        t = make_tidings(tmp_path / "lib", clock=lambda: UI_NOW, llm=LLMClient(standin.url, timeout=5))
        try:
            fill_store(t, {("Alpha News", None): 2, ("Beta Blog", None): 1}, now=UI_NOW)
            seen = []
            real = t.digest
            t.digest = lambda *a, **kw: (seen.append(kw), real(*a, **kw))[1]
            w = MainWindow(t, timers=False, remember=False)
            qtbot.addWidget(w)
            w.show()
            qtbot.waitUntil(lambda: w.feeds_loaded and w.tasks.active == 0, timeout=5000)
            menu = w.summarise_menu
            assert w.summarise_button.menu() is menu and w.summarise_button.defaultAction() is w.act_summarise
            texts = [a.text() for a in menu.style_actions.values()]
            assert texts[:3] == ["Briefing", "Narrative letter", "Analyst brief"]
            next(a for a in menu.style_actions.values() if a.text() == "Analyst brief").trigger()
            assert not w.act_summarise.isEnabled()
            assert not any(a.isEnabled() for a in menu.style_actions.values())  # one digest at a time
            qtbot.waitUntil(lambda: w._digest_task is None, timeout=30000)
            assert seen[0]["style"] == "analyst" and not seen[0]["since_last"]
            d = w.digest_panel.digest
            assert d.style == "analyst" and d.shape == "analyst" and d.items
            qtbot.waitUntil(lambda: w.shown_digest is not None and w.shown_digest.id == d.id, timeout=5000)
            assert w.act_summarise.isEnabled()
            w.close()
        finally:
            t.close()


def test_day_since_last_and_folders_reach_the_facade(qtbot, ui_tidings, open_window, monkeypatch):
    fill_store(ui_tidings, {("Alpha News", "News"): 2, ("Beta Blog", "Tech/AI"): 1, ("Gamma", None): 1})
    calls = []

    def digest(*args, **kw):
        calls.append(kw)
        return _digest()

    monkeypatch.setattr(ui_tidings, "digest", digest)
    w = open_window()
    menu = w.summarise_menu

    w.act_summarise.trigger()  # defaults: today, every folder, the style from Settings
    qtbot.waitUntil(lambda: w._digest_task is None, timeout=5000)
    assert calls[-1]["style"] == "briefing" and calls[-1]["since_last"] is False
    assert "date" not in calls[-1] and "folders" not in calls[-1]

    # the folders the sources pane knows, checkable
    menu.refresh_folders()
    rows = {menu.folder_list.item(i).text(): menu.folder_list.item(i) for i in range(menu.folder_list.count())}
    assert list(rows) == ["News", "Tech", "Tech/AI"] and menu.all_folders.isChecked()
    rows["News"].setCheckState(Qt.CheckState.Checked)
    rows["Tech/AI"].setCheckState(Qt.CheckState.Checked)
    assert not menu.all_folders.isChecked()
    menu.date_edit.setDate(menu.date_edit.date().addDays(-1))  # the date picker: yesterday
    assert w.act_summarise.text() == "Summarise yesterday (2 folders)"
    menu.style_actions["narrative"].trigger()
    qtbot.waitUntil(lambda: w._digest_task is None, timeout=5000)
    assert calls[-1]["date"] == "2026-11-20" and calls[-1]["folders"] == ["News", "Tech/AI"]
    assert calls[-1]["style"] == "narrative" and calls[-1]["since_last"] is False

    menu.since_last.setChecked(True)  # "since the last digest" instead of a day
    assert not menu.date_edit.isEnabled()
    assert w.act_summarise.text().startswith("Summarise since the last digest")
    w.act_summarise.trigger()
    qtbot.waitUntil(lambda: w._digest_task is None, timeout=5000)
    assert calls[-1]["since_last"] is True and "date" not in calls[-1]
    assert calls[-1]["folders"] == ["News", "Tech/AI"]

    menu.set_day(date(2026, 11, 19))  # choosing a day turns since-last off
    menu.all_folders.setChecked(True)  # back to every folder
    assert not menu.since_last.isChecked()
    assert all(menu.folder_list.item(i).checkState() == Qt.CheckState.Unchecked
               for i in range(menu.folder_list.count()))
    w.act_summarise.trigger()
    qtbot.waitUntil(lambda: w._digest_task is None, timeout=5000)
    assert calls[-1]["date"] == "2026-11-19" and calls[-1]["since_last"] is False and "folders" not in calls[-1]
    menu.reset_day()
    assert w.act_summarise.text() == "Summarise today"
    assert menu.choices() == {"date": None, "since_last": False, "folders": None}


def test_the_reading_pane_shows_each_shape(qtbot, ui_tidings, open_window):
    w = open_window()
    analyst = _digest(
        "analyst", shape="analyst", opening="A day of infrastructure decisions.",
        labels={"lead": "The lead", "also": "Also on the desk", "why_now": "Why this matters now",
                "takeaway": "Key takeaway", "deep_dive": "Deep dive", "quote": "In their words"},
        layout={"lead": ["why_now", "summary", "quote", "takeaway", "deep_dive"],
                "also": ["why_now", "summary", "quote", "takeaway"], "brief": ["line"]})
    analyst.items[0].parts = {"why_now": "Construction starts in spring.", "quote": "We finally have a bridge",
                              "takeaway": "The bridge is funded.", "deep_dive": "The vote ended a decade of debate."}
    w._show_digest(analyst)
    text = w.reader.toPlainText()
    for s in ("Why this matters now", "Key takeaway", "Deep dive", "Construction starts in spring.",
              "We finally have a bridge", "The bridge is funded.", "A day of infrastructure decisions.", "The lead"):
        assert s in text, s
    assert "Today's lead" not in text
    assert w.shown_digest is analyst and w.act_export_digest.isEnabled()

    narrative = _digest("narrative", shape="narrative", opening="Good morning.",
                        labels={"lead": "", "also": "", "brief": "Also noted"},
                        layout={"lead": ["prose"], "also": ["prose"], "brief": ["line"]})
    w._show_digest(narrative)
    text = w.reader.toPlainText()
    assert "Good morning." in text and "Council approves the bridge" in text and "The council voted 7 to 2." in text
    assert "Today's lead" not in text and "Also today" not in text
    assert "tidings://article/1" in w.reader.toHtml()


def _fake_digest_with_notices(t, monkeypatch, *errors):
    def digest(*args, on_event=None, **kw):
        for e in errors:
            on_event(_notice(e))
        return _digest()

    monkeypatch.setattr(t, "digest", digest)


def test_missing_chat_and_embedding_models_are_pulled_in_one_go(qtbot, tmp_path, monkeypatch):
    from app.core import make_tidings
    from app.llm import LLMClient
    from support.ollama_standin import OllamaStandIn
    from ui.mainwindow import MainWindow

    with OllamaStandIn(models={}) as standin:
        standin.pullable["llama3.2:latest"] = 8192
        standin.pullable["all-minilm:latest"] = 256
        standin.embedding_models.add("all-minilm:latest")
        t = make_tidings(tmp_path / "lib", clock=lambda: UI_NOW, llm=LLMClient(standin.url, timeout=5))
        try:
            fill_store(t, {("Alpha News", None): 1}, now=UI_NOW)
            _fake_digest_with_notices(t, monkeypatch, ModelMissing("llama3.2"), ModelMissing("all-minilm"),
                                      ModelMissing("all-minilm:latest"))
            w = MainWindow(t, timers=False, remember=False)
            qtbot.addWidget(w)
            w.show()
            qtbot.waitUntil(lambda: w.feeds_loaded and w.tasks.active == 0, timeout=5000)
            w.summarise_today()
            qtbot.waitUntil(lambda: w._digest_task is None, timeout=10000)
            panel = w.digest_panel
            assert panel.missing_model == "llama3.2" and panel.missing_embed_model == "all-minilm"
            bar = w.message_bar
            assert bar.isVisible() and bar.action.text() == "Download both"
            assert "llama3.2" in bar.message and "all-minilm" in bar.message
            qtbot.mouseClick(bar.action, Qt.MouseButton.LeftButton)
            assert w.progress.isVisible() and not w.act_summarise.isEnabled()
            qtbot.waitUntil(lambda: w._digest_task is None, timeout=15000)
            assert "are installed" in w.status_label.text()
            installed = ",".join(t.llm_models())
            assert "llama3.2" in installed and "all-minilm" in installed
            pulls = [b.get("model") or b.get("name") for p, b in standin.requests if p == "/api/pull"]
            assert pulls == ["llama3.2", "all-minilm"]
            assert w.act_summarise.isEnabled()

            # only the embedding model missing: its own offer
            _fake_digest_with_notices(t, monkeypatch, ModelMissing("nomic-embed-text"))
            w.prefs["embed_model"] = "nomic-embed-text"
            w.summarise_today()
            qtbot.waitUntil(lambda: w._digest_task is None, timeout=10000)
            assert w.digest_panel.missing_model is None
            assert bar.action.text() == "Download model" and "embedding model" in bar.message
            w.close()
        finally:
            t.close()


def test_ollama_not_answering_leads_to_the_address_field(qtbot, ui_tidings, open_window, monkeypatch):
    fill_store(ui_tidings, {("Alpha News", None): 1})
    _fake_digest_with_notices(ui_tidings, monkeypatch, OllamaUnavailable("Ollama is not running."))
    w = open_window()
    w.summarise_today()
    qtbot.waitUntil(lambda: w._digest_task is None, timeout=5000)
    bar = w.message_bar
    assert bar.isVisible() and bar.action.text() == "Settings…" and "Settings" in bar.hint
    bar.action.click()
    dlg = w.settings_dlg
    assert dlg.isVisible()
    qtbot.waitUntil(lambda: dlg.host.hasFocus(), timeout=3000)
    dlg.host.setText("192.168.1.20:11434")
    dlg.accept()
    idle(qtbot, w)
    assert ui_tidings.setting("ollama_host") == "192.168.1.20:11434"
