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


def install_power_features(window, *, timers: bool = True) -> None:
    window.act_rules = QAction("Rules…", window)
    window.act_rules.setStatusTip("Mark read, star, hide, keep out of the digest or notify by keyword or pattern")
    window.act_rules.triggered.connect(lambda *_: open_rules_dialog(window))
    feeds = _menu(window, "Feeds")
    feeds.addSeparator()
    feeds.addAction(window.act_rules)

    from ui.translate_pane import TranslateController

    window.translator = TranslateController(window)
    article_menu = _menu(window, "Article")
    article_menu.addSeparator()
    article_menu.addAction(window.translator.action)
    window.act_unhide = QAction("Unhide", window)
    window.act_unhide.setStatusTip("Show the article again in its feed (it is in the Hidden view because a rule hid it)")
    window.act_unhide.triggered.connect(lambda *_: unhide_current(window))
    article_menu.addAction(window.act_unhide)

    _add_podcast_bar(window)

    from ui.notifications import NotificationCenter

    window.notifications = NotificationCenter(window, timers=timers)

    window.act_cleanup = QAction("Clean up library…", window)
    window.act_cleanup.setStatusTip("Remove old articles as the retention settings say, and compact the library")
    window.act_cleanup.triggered.connect(lambda *_: open_cleanup_dialog(window))
    file_menu = _menu(window, "File")
    settings = next((a for a in file_menu.actions() if a is getattr(window, "act_settings", None)), None)
    file_menu.insertAction(settings, window.act_cleanup) if settings else file_menu.addAction(window.act_cleanup)


def _add_podcast_bar(window) -> None:
    """The podcast bar goes above the reading pane, in its column."""
    from ui.podcast_bar import PodcastBar

    window.podcast_bar = PodcastBar(window)
    window.reading_column.layout().insertWidget(0, window.podcast_bar)


def unhide_current(window) -> None:
    a = window.reader.article
    if a is None:
        return

    def done(_):
        window.refresh_feeds()
        if window.current_key:
            window.open_view(window.current_key, keep_article=window.current_key != "smart:hidden")

    window.tasks.run(lambda: window.t.unhide([a.id]), on_done=done, serial=True, context="unhiding the article")


def after_sync(window) -> None:
    """Hooked at the end of a sync: announce what arrived, and let retention go once a day."""
    window.notifications.sync_done()

    def retire():
        return window.t.apply_retention_daily()

    def done(report):
        if report is not None and report.articles:
            window.status_label.setText(window.status_label.text() + " " + report.describe())
            window.refresh_feeds()

    window.tasks.run(retire, on_done=done, serial=True, context="removing old articles")


def article_shown(window, a) -> None:
    """Hooked where the window shows an article: translation and the podcast bar follow it."""
    window.translator.article_shown(a)
    window.podcast_bar.article_shown(a)


def add_power_menu_items(window, menu, key: str) -> None:
    """The sources pane's context menu: notify, always translate and retention per feed; notify per folder."""
    kind, _, value = key.partition(":")
    if kind == "feed":
        fid = int(value)
        f = window.sources.feed(fid)
        # before "Unsubscribe…", which stays last
        last = next((a for a in menu.actions() if a.text().startswith("Unsubscribe")), None)
        items = []
        for label, option in (("Notify me of new articles", "notify"), ("Always translate", "always_translate")):
            act = QAction(label, menu)
            act.setCheckable(True)
            act.setChecked(bool(f and getattr(f, option)))
            act.toggled.connect(lambda on, option=option: _set_extra(window, fid, **{option: on}))
            items.append(act)
        keep = QAction("Keep articles…", menu)
        keep.triggered.connect(lambda *_: prompt_keep(window, fid))
        items.append(keep)
        sep = QAction(menu)
        sep.setSeparator(True)
        items.append(sep)
        if last is not None:
            menu.insertActions(last, items)
        else:
            menu.addActions(items)
    elif kind == "folder":
        folders = list(window.prefs.get("notify_folders") or window.t.setting("notify_folders") or [])
        act = menu.addAction("Notify me of new articles in this folder")
        act.setCheckable(True)
        act.setChecked(value in folders)
        act.toggled.connect(lambda on: _set_notify_folder(window, value, on))


def _set_extra(window, fid: int, **kw) -> None:
    window.tasks.run(lambda: window.t.set_feed_extras(fid, **kw), on_done=lambda _: window.refresh_feeds(),
                     serial=True, context="changing the feed's options")


def _set_notify_folder(window, folder: str, on: bool) -> None:
    def save():
        folders = [f for f in (window.t.setting("notify_folders") or []) if f != folder] + ([folder] if on else [])
        window.t.set_setting("notify_folders", folders)
        return folders

    window.tasks.run(save, on_done=lambda folders: window.prefs.__setitem__("notify_folders", folders),
                     serial=True, context="changing the folder's notifications")


def prompt_keep(window, fid: int):
    from ui.keep_dialog import KeepDialog

    dlg = KeepDialog(window.sources.feed(fid), window)
    dlg.accepted.connect(lambda: _set_extra(window, fid, **dlg.values()))
    dlg.open()
    window.keep_dlg = dlg
    return dlg


def open_cleanup_dialog(window):
    from ui.cleanup_dialog import CleanupDialog

    dlg = CleanupDialog(window.t, window.tasks, window)
    dlg.open()
    window.cleanup_dlg = dlg
    return dlg


def open_rules_dialog(window):
    from ui.rules_dialog import RulesDialog

    feeds = [(f.id, f.title) for f in window.sources_model.feeds]
    dlg = RulesDialog(window.t, window.tasks, feeds, window.sources.folders(), window)

    def changed():
        window.refresh_feeds()
        if window.current_key:
            window.open_view(window.current_key, keep_article=True)

    dlg.rules_changed.connect(changed)
    dlg.open()
    window.rules_dlg = dlg
    return dlg
