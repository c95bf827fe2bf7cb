"""The app around the window: main(), one window per library, the screenshot, Summarise today."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from conftest import UI_NOW, fill_store
from ui.main import ask_running_instance, listen, main, server_name
from ui.screenshot import render_main_window

pytestmark = pytest.mark.timeout(60)


def test_main_opens_the_window_and_returns_the_exit_code(qapp, tmp_path):
    seen = {}

    def check_then_quit():
        windows = [w for w in QApplication.topLevelWidgets() if w.objectName() == "" and w.isVisible()
                   and type(w).__name__ == "MainWindow"]
        seen["windows"] = len(windows)
        seen["title"] = windows[0].windowTitle() if windows else None
        QApplication.instance().exit(3)

    QTimer.singleShot(800, check_then_quit)
    try:
        rc = main(["tidings"], data_dir=tmp_path / "lib")
    finally:
        qapp.setStyleSheet("")
    assert rc == 3
    assert seen == {"windows": 1, "title": "Tidings"}
    assert (tmp_path / "lib" / "tidings.sqlite").exists()
    assert (tmp_path / "lib" / "ui.ini").exists()  # geometry etc. live in the data dir, not ~/.config


def test_a_second_launch_brings_the_first_forward(qtbot, tmp_path):
    raised = []
    name = server_name(tmp_path / "lib")
    assert name == server_name(tmp_path / "lib" / ".." / "lib")  # same library, same name
    assert name != server_name(tmp_path / "other")
    server = listen(name, lambda: raised.append(True))
    try:
        # main() over the same library must not open a second window: it knocks and exits 0
        assert main(["tidings"], data_dir=tmp_path / "lib") == 0
        qtbot.waitUntil(lambda: raised == [True], timeout=3000)
        assert not (tmp_path / "lib" / "ui.ini").exists()
    finally:
        server.close()
    assert not ask_running_instance(name, timeout_ms=200)


def test_screenshot_renders_the_first_feed_and_article(qapp, ui_tidings, tmp_path):
    ids = fill_store(ui_tidings, {("Zed Feed", None): 2, ("Alpha News", "News"): 3})
    ui_tidings.set_setting("mark_read_delay_seconds", 0)
    out = tmp_path / "shot.png"
    render_main_window(ui_tidings, out, size=(1000, 640))
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1000, 640)
    # a window, not a blank image: many distinct colours
    colours = {img.pixel(x, y) for x in range(0, 1000, 7) for y in range(0, 640, 7)}
    assert len(colours) > 20
    # nothing changed in the store: the opened article is still unread
    assert ui_tidings.counts()["unread"] == 5
    assert not (ui_tidings.data_dir / "ui.ini").exists()
    assert ids


def test_screenshot_selects_the_first_feed_shown(qapp, ui_tidings, tmp_path, monkeypatch):
    import ui.mainwindow as mw

    fill_store(ui_tidings, {("Zed Feed", None): 2, ("Alpha News", "News"): 3})
    seen = {}
    real_close = mw.MainWindow.closeEvent

    def spy(self, event):
        seen["key"] = self.current_key
        seen["article"] = self.reader.article.title if self.reader.article else None
        seen["row"] = self.current_row()
        real_close(self, event)

    monkeypatch.setattr(mw.MainWindow, "closeEvent", spy)
    render_main_window(ui_tidings, tmp_path / "s.png")
    alpha = next(f for f in ui_tidings.feeds() if f.title == "Alpha News")
    assert seen == {"key": f"feed:{alpha.id}", "article": "Alpha News story 0", "row": 0}


def test_summarise_today_streams_into_the_reader(qtbot, tmp_path):
    from app.core import make_tidings
    from app.llm import LLMClient
    from support.ollama_standin import OllamaStandIn
    from ui.mainwindow import MainWindow

    with OllamaStandIn(models={"tiny:latest": 8192}) as standin:
        t = make_tidings(tmp_path / "lib", clock=lambda: UI_NOW, llm=LLMClient(standin.url, timeout=5))
        try:
            fill_store(t, {("Alpha News", None): 3, ("Beta Blog", None): 2}, now=UI_NOW)
            w = MainWindow(t, timers=False)
            qtbot.addWidget(w)
            w.show()
            qtbot.waitUntil(lambda: w.feeds_loaded and w.tasks.active == 0, timeout=5000)
            assert w.act_summarise.isEnabled()
            w.act_summarise.trigger()
            assert not w.act_summarise.isEnabled() and w.cancel_button.isVisible()
            qtbot.waitUntil(lambda: w._digest_task is None, timeout=30000)
            panel = w.digest_panel
            assert panel.digest is not None and panel.digest.items
            assert {"plan", "progress", "item", "done"} <= set(panel.events)
            assert "text" in panel.events  # the model's words streamed in
            # the Digests view lists it and shows it, with links to the cited articles
            qtbot.waitUntil(lambda: w.current_key == "smart:digests" and w.digest_list.count() == 1
                            and "tidings://article/" in w.reader.toHtml(), timeout=5000)
            assert panel.digest.items[0].title in w.reader.toPlainText()
            # File > Export digest saves the one on screen, as a page that works offline or as Markdown
            qtbot.waitUntil(lambda: w.shown_digest is not None, timeout=5000)  # the stored one, not the draft
            assert w.act_export_digest.isEnabled()
            w.export_digest(w.shown_digest, str(tmp_path / "d.html"))
            w.export_digest(w.shown_digest, str(tmp_path / "d.md"), markdown=True)
            qtbot.waitUntil(lambda: (tmp_path / "d.html").exists() and (tmp_path / "d.md").exists(), timeout=5000)
            assert panel.digest.items[0].title in (tmp_path / "d.html").read_text(encoding="utf-8")
            assert (tmp_path / "d.md").read_text(encoding="utf-8").startswith("# ")
            first = panel.digest.items[0].article_ids[0]
            from PySide6.QtCore import QUrl

            w.reader.anchorClicked.emit(QUrl(f"tidings://article/{first}"))
            assert w.reader.article is not None and w.reader.article.id == first
            assert w.act_summarise.isEnabled()
            w.select_source("smart:unread")
            assert not w.act_export_digest.isEnabled()  # no digest on screen
            w.close()
        finally:
            t.close()


def test_a_missing_model_is_offered_for_download(qtbot, tmp_path):
    from app.core import make_tidings
    from app.llm import LLMClient
    from support.ollama_standin import OllamaStandIn
    from ui.mainwindow import MainWindow

    with OllamaStandIn(models={}) as standin:
        standin.pullable["llama3.2:latest"] = 8192
        t = make_tidings(tmp_path / "lib", clock=lambda: UI_NOW, llm=LLMClient(standin.url, timeout=5))
        try:
            fill_store(t, {("Alpha News", None): 2}, now=UI_NOW)
            w = MainWindow(t, timers=False)
            qtbot.addWidget(w)
            w.show()
            qtbot.waitUntil(lambda: w.feeds_loaded and w.tasks.active == 0, timeout=5000)
            w.summarise_today()
            qtbot.waitUntil(lambda: w._digest_task is None, timeout=30000)
            assert w.digest_panel.digest.extractive  # written anyway, from the articles' sentences
            assert "not installed" in w.digest_panel.digest.notice or "No model" in w.digest_panel.digest.notice
            bar = w.message_bar
            assert bar.isVisible() and bar.action.isVisible() and bar.action.text() == "Download model"
            qtbot.mouseClick(bar.action, Qt.MouseButton.LeftButton)
            assert w.progress.isVisible() and not w.act_summarise.isEnabled()
            qtbot.waitUntil(lambda: w._digest_task is None, timeout=15000)
            assert "installed" in w.status_label.text()
            assert "llama3.2" in ",".join(t.llm_models())
            assert w.act_summarise.isEnabled()
            w.close()
        finally:
            t.close()


def test_a_damaged_library_is_explained_not_a_crash(qapp, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "tidings.sqlite").write_bytes(b"this is not a database" * 100)
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(lambda parent, title, text: shown.append((title, text))))
    assert main(["tidings"], data_dir=lib) == 1
    assert shown and "cannot open your library" in shown[0][0]
    assert "backup" in shown[0][1]  # StoreCorrupt's hint: what to do
