"""Render the main window over a store, offscreen, to a PNG (`tidings screenshot FILE.png`)."""

from __future__ import annotations

import os
from pathlib import Path


def ensure_app():
    """The QApplication, made offscreen unless a platform was asked for explicitly."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        _quiet_platform_noise()
        app = QApplication(["tidings-screenshot"])
    return app


def _quiet_platform_noise() -> None:
    """The offscreen plugin warns "does not support propagateSizeHints()" for every window; that
    is expected there and only clutters the CLI's stderr. Other Qt messages still go to stderr."""
    import sys

    from PySide6.QtCore import qInstallMessageHandler

    def handler(mode, context, message):
        if "propagateSizeHints" not in message:
            sys.stderr.write(message + "\n")

    qInstallMessageHandler(handler)


def first_feed_key(model) -> str | None:
    """The first feed in the left pane's display order (depth first)."""
    from ui.models import KEY_ROLE
    from ui.view import View

    def walk(parent):
        for r in range(model.rowCount(parent)):
            idx = model.index(r, 0, parent)
            key = idx.data(KEY_ROLE)
            if key and View.parse(key).is_feed:
                return key
            found = walk(idx)
            if found:
                return found
        return None

    from PySide6.QtCore import QModelIndex

    return walk(QModelIndex())


def render_main_window(tidings, path, size=(1280, 800)) -> None:
    """Show the main window over `tidings` (first feed and its first article selected) and save a PNG.
    Nothing in the store changes: the opened article is not marked read."""
    app = ensure_app()
    from ui.mainwindow import MainWindow
    from ui.theme import apply_theme, load_stylesheet

    apply_theme(app, tidings.setting("theme") or "system")
    load_stylesheet(app)
    w = MainWindow(tidings, remember=False, timers=False)
    w.prefs["mark_read_delay_seconds"] = -1
    try:
        w.resize(int(size[0]), int(size[1]))
        w.show()
        w.tasks.wait_idle(30)
        key = first_feed_key(w.sources_model)
        if key:
            w.select_source(key, select="first")
            w.tasks.wait_idle(30)
        for _ in range(5):
            app.processEvents()
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        if not w.grab().save(str(path), "PNG"):
            raise OSError(f"Could not write {path}.")
    finally:
        w.close()
        w.deleteLater()
        app.processEvents()
