"""The main window: layout, actions, saved state and the wiring between the panes.

    sources (ui/sources.py) | article list (ui/articles.py) | reading pane (ui/reading.py)
    job bar (ui/jobs.py) in the status bar: every long job's progress and Cancel

It talks to Tidings only through the facade. Anything that may wait (the network, big queries,
writes that could queue behind a sync) goes through `ui.tasks.Tasks`; the GUI thread reads only
small things itself (a page of 200 list rows, one article). Facade writes return `Changes`, and
`apply_changes` hands each pane only what concerns it.
"""

from __future__ import annotations

import ui.pyside_hooks  # noqa: F401 - first: PySide6 then stops reading the source of every module imported

import logging
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, QSize, Qt, QTimer, QUrl, Slot
from PySide6.QtGui import QAction, QActionGroup, QDesktopServices, QFont, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QSplitter,
    QSystemTrayIcon,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import TidingsError
from app.models import Changes
from app.resources import resource_path
from ui.accounts import AccountsSection
from ui.articles import ArticleListPane
from ui.dialogs import MessageBar, SettingsDialog
from ui.feeds import FeedActions
from ui.jobs import JobBar
from ui.reading import Place, ReadingPane
from ui.sources import SourcesPane
from ui.power import after_sync, article_shown, install_power_features
from ui.power_settings import POWER_UI_SETTINGS
from ui.tasks import Tasks
from ui.view import View

log = logging.getLogger(__name__)

UI_SETTINGS = ("sync_interval_minutes", "full_text", "images", "mark_read_delay_seconds", "theme", "font_size",
               "digest_style", "ollama_model", "ollama_host", "embed_model", "digest_personal") + POWER_UI_SETTINGS
UNREAD = View.smart("unread")
DIGESTS = View.smart("digests")


def app_icon() -> QIcon:
    icon = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256):
        p = resource_path("icons", f"tidings-{size}.png")
        if p.exists():
            icon.addFile(str(p), QSize(size, size))
    return icon


def badged_icon(n: int) -> QIcon:
    """The app icon with the unread count in a corner (for the tray)."""
    from PySide6.QtGui import QColor, QPainter, QPixmap

    pm = app_icon().pixmap(64, 64)
    if n <= 0 or pm.isNull():
        return QIcon(pm)
    pm = QPixmap(pm)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    text = str(n) if n < 1000 else f"{n // 1000}k"
    font = QFont()
    font.setPixelSize(26)
    font.setBold(True)
    p.setFont(font)
    w = max(34, p.fontMetrics().horizontalAdvance(text) + 12)
    p.setBrush(QColor("#d9534f"))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawRoundedRect(64 - w, 30, w, 34, 17, 17)
    p.setPen(QColor("white"))
    p.drawText(64 - w, 30, w, 34, Qt.AlignmentFlag.AlignCenter, text)
    p.end()
    return QIcon(pm)


class _MouseHistory(QObject):
    """The mouse's back and forward buttons, anywhere in the window."""

    def __init__(self, window):
        super().__init__(window)
        self.w = window

    def eventFilter(self, obj, ev):  # noqa: N802 - Qt override
        if ev.type() == QEvent.Type.MouseButtonPress:
            if ev.button() == Qt.MouseButton.BackButton:
                self.w.go_back()
                return True
            if ev.button() == Qt.MouseButton.ForwardButton:
                self.w.go_forward()
                return True
        return False


_heap_settled: set[str] = set()


def settle_heap() -> None:
    """Start-up done (then: the first sync done): what exists now (modules, classes, the panes'
    models) lives as long as the window, so the garbage collector stops scanning it (gc.freeze).
    Each full collection walked all of it with the GIL held: 33-79 ms pauses, ten in a sync of
    5,000 feeds, each one a stall of the window. Twice per session at most; cycles made later are
    collected as before."""
    import gc

    stage = "synced" if "started" in _heap_settled else "started"
    if stage in _heap_settled:
        return
    _heap_settled.add(stage)
    gc.freeze()


class MainWindow(QMainWindow):
    def __init__(self, tidings, *, remember: bool = True, tasks: Tasks | None = None, timers: bool = True):
        super().__init__()
        self.t = tidings
        tidings.sync_in_process = True  # a big sync in its own process: none of its work holds our GIL
        self.tasks = tasks or Tasks(self)
        self.tasks.error.connect(self.show_error)
        self.remember = remember
        self.qsettings = QSettings(str(Path(tidings.data_dir) / "ui.ini"), QSettings.Format.IniFormat)
        self.prefs = {k: tidings.setting(k) for k in UI_SETTINGS}
        self.open_external = QDesktopServices.openUrl  # tests replace this
        self.view: View | None = None
        self._previous_view: View | None = None
        self._counts_task = None
        self._counts_again = False
        self._read_target: int | None = None
        self.undo_stack: list[tuple[str, tuple[int, ...], bool]] = []  # (what, ids, the read state set)
        self.last_sync_report = None
        self.feeds_loaded = False
        self._initial_view: View | None = None
        self._initial_article: int | None = None
        self.setWindowTitle("Tidings")
        self.setWindowIcon(app_icon())
        self._build()
        self._build_actions()
        self.reader.set_font_size(int(self.prefs.get("font_size") or 11))
        self._read_timer = QTimer(self, singleShot=True)
        self._read_timer.timeout.connect(self._mark_current_read)
        self._counts_timer = QTimer(self, singleShot=True, interval=400)
        self._counts_timer.timeout.connect(self.refresh_counts)
        self._sync_timer = QTimer(self)
        self._sync_timer.timeout.connect(lambda: self.start_sync(auto=True))
        if timers:
            self._apply_sync_interval()
        self._tray = None
        if timers and QSystemTrayIcon.isSystemTrayAvailable():
            self._tray = QSystemTrayIcon(app_icon(), self)
            self._tray.setToolTip("Tidings")
            self._tray.activated.connect(lambda *_: self.bring_forward())
            self._tray.show()
        self._mouse = _MouseHistory(self)  # on the panes only: an app-wide Python filter sees every event
        for widget in (self, self.sources.viewport(), self.articles.viewport(), self.digest_list.viewport(),
                       self.reader.viewport(), self.middle.title, self.message_bar, self.toolbar):
            widget.installEventFilter(self._mouse)
        install_power_features(self, timers=timers)  # rules, retention, translation, notifications, podcasts
        self.resize(1200, 760)
        if remember:
            self._restore_state()
        hints = QApplication.styleHints()
        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.connect(self._scheme_changed)
        self._early_view: View | None = None  # the initial view, listed while the feeds load
        self._early_listed: tuple | None = None  # its ids, if they came before the feeds
        self._open_early()
        self.refresh_feeds(initial=True)

    # --- layout ----------------------------------------------------------------------------------------

    def _build(self) -> None:
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.message_bar = MessageBar()
        outer.addWidget(self.message_bar)

        self.feeds = FeedActions(self)
        self.sources = SourcesPane(self.feeds, icon_path=self.t.image_path)
        self.sources.view_chosen.connect(self._view_chosen)
        self.sources.view_reselected.connect(self._view_reselected)
        self.middle = ArticleListPane(self.t, self.tasks, self)
        self.middle.article_chosen.connect(lambda aid: self.show_article_by_id(aid, from_list=True))
        self.middle.digest_chosen.connect(self._open_digest)
        self.middle.listed.connect(self._listed)
        self.middle.star_clicked.connect(lambda aid: self.toggle_star(aid))
        self.reader = ReadingPane(self.t, current_view=lambda: str(self.view) if self.view else "")
        self.reader.open_external = lambda url: self.open_external(url)
        self.reader.article_link.connect(self.show_article_by_id)
        self.reader.go.connect(self._go_to)
        self.reader.history_changed.connect(self._update_history_actions)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.sources)
        self.splitter.addWidget(self.middle)
        # the reading pane's column: bars about the article shown (the podcast bar, ui.power) go above it
        self.reading_column = QWidget()
        column = QVBoxLayout(self.reading_column)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.reader, 1)
        self.splitter.addWidget(self.reading_column)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setStretchFactor(2, 4)
        # feed names are what people scan on the left, titles in the middle: room for both
        self.splitter.setSizes([230, 520, 530])
        self.splitter.setChildrenCollapsible(False)
        self._split_chosen = False  # until the person drags a divider (or ui.ini has one), panes follow the width
        self.splitter.splitterMoved.connect(self._splitter_dragged)
        self.sources.setMinimumWidth(150)
        self.middle.setMinimumWidth(240)
        self.reader.setMinimumWidth(260)
        outer.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        self.jobs = JobBar()
        self.jobs.busy_changed.connect(lambda _: self._update_busy())
        self.jobs.idle.connect(self._start_queued_sync)
        self.statusBar().addWidget(self.jobs, 1)

    # the panes' parts, by the names tests, benchmarks and the screenshot tool use
    @property
    def articles(self):
        return self.middle.table

    @property
    def articles_model(self):
        return self.middle.model

    @property
    def sources_model(self):
        return self.sources.model_

    @property
    def view_title(self):
        return self.middle.title

    @property
    def digest_list(self):
        return self.middle.digest_list

    @property
    def _load_gen(self) -> int:
        return self.middle.load_gen

    @property
    def current_key(self) -> str | None:
        return str(self.view) if self.view is not None else None

    @property
    def status_label(self):
        return self.jobs.status_label

    @property
    def progress(self):
        return self.jobs.progress

    @property
    def cancel_button(self):
        return self.jobs.cancel_button

    @property
    def _sync_task(self):
        return self.jobs.task_of("sync")

    @property
    def _digest_task(self):
        return self.jobs.task_of("digest", "download")

    @property
    def _queued_syncs(self):
        return self.jobs.queued_syncs

    @property
    def shown_digest(self):
        return self.reader.digest

    @property
    def context_menu(self):
        return self.sources.context_menu

    def _action(self, text: str, slot, shortcut=None, tip: str | None = None) -> QAction:
        a = QAction(text, self)
        if shortcut:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            seqs = []
            for k in keys:  # a standard key may be one of the others here (Back is Alt+Left): once each
                for seq in (QKeySequence.keyBindings(k) if isinstance(k, QKeySequence.StandardKey) else [QKeySequence(k)]):
                    if not seq.isEmpty() and seq not in seqs:
                        seqs.append(seq)
            a.setShortcuts(seqs)
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            a.setToolTip(tip)
            a.setStatusTip(tip)
        a.triggered.connect(lambda *_: slot())
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        A = self._action
        K = QKeySequence.StandardKey
        self.act_sync = A("Sync", self.start_sync, "R", "Fetch new articles from every feed (R)")
        self.act_cancel = A("Cancel sync", self.cancel_sync, None, "Stop syncing")
        self.act_cancel.setEnabled(False)
        self.act_summarise = A("Summarise today", self.summarise_today, None)
        self.act_add = A("Add feed…", lambda: self.feeds.add_feed_dialog(), K.New, "Subscribe to a site or feed")
        self.act_new_folder = A("New folder…", lambda: self.feeds.prompt_new_folder(None))
        self.act_import = A("Import OPML…", lambda: self.feeds.import_opml_dialog())
        self.act_export = A("Export OPML…", lambda: self.feeds.export_opml_dialog())
        self.act_export_digest = A("Export digest…", self.export_digest_dialog, None,
                                   "Save the digest on screen as a web page or Markdown")
        self.act_export_digest.setEnabled(False)
        self.act_settings = A("Settings…", self.settings_dialog, K.Preferences)
        self.act_quit = A("Quit", self.close, K.Quit)
        self.act_mark_all = A("Mark all read", self.mark_all_read, "Shift+A",
                              "Mark every article in this view as read (Shift+A)")
        self.act_undo = A("Undo", self.undo, K.Undo, "Undo the last mark read or unread (Ctrl+Z)")
        self.act_undo.setEnabled(False)
        self.act_back = A("Back", self.go_back, ["Alt+Left", "Backspace", K.Back],
                          "Back to what you read before (Alt+Left, Backspace)")
        self.act_forward = A("Forward", self.go_forward, ["Alt+Right", "Shift+Backspace", K.Forward],
                             "Forward again (Alt+Right)")
        self.act_next = A("Next article", lambda: self.move(1), "J")
        self.act_prev = A("Previous article", lambda: self.move(-1), "K")
        self.act_next_unread = A("Next unread", self.next_unread, "N")
        self.act_space = A("Page down / next unread", self.space, "Space")
        self.act_toggle_read = A("Toggle read", self.toggle_read, "M")
        self.act_star = A("Star", self.toggle_star, "S")
        self.act_open = A("Open original", self.open_original, "O", "Open the article's page in your browser (O)")
        self.act_copy_link = A("Copy link", self.copy_link, None)
        self.act_newest = A("Newest first", lambda: self.middle.set_newest_first(True))
        self.act_oldest = A("Oldest first", lambda: self.middle.set_newest_first(False))
        order = QActionGroup(self)  # one of the two, also when the Date header turned it round
        order.setExclusive(True)
        for act, on in ((self.act_newest, True), (self.act_oldest, False)):
            act.setCheckable(True)
            act.setChecked(on)
            order.addAction(act)
        self.middle.sort_changed.connect(lambda newest: (self.act_newest if newest else self.act_oldest).setChecked(True))
        self.act_hide_read = A("Hide read articles", lambda: self.set_hide_read(self.act_hide_read.isChecked()),
                               "Shift+H", "List only unread articles (Shift+H)")
        self.act_hide_read.setCheckable(True)
        self.act_shortcuts = A("Keyboard shortcuts", self.show_shortcuts, ["?", "Shift+?", "F1"])
        self.act_about = A("About Tidings", self.show_about)
        # Enter opens the original only from the list or the article (the search field needs its Enter)
        for widget in (self.articles, self.reader):
            for k in ("Return", "Enter"):
                sc = QShortcut(QKeySequence(k), widget, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
                sc.activated.connect(self.open_original)
        self.act_search = A("Search", self.focus_search, ["/", K.Find])
        self._update_summarise()

        menu = self.menuBar()
        m = menu.addMenu("&File")
        for a in (self.act_add, self.act_new_folder, self.act_import, self.act_export, self.act_export_digest, None,
                  self.act_settings, None, self.act_quit):
            m.addSeparator() if a is None else m.addAction(a)
        m = menu.addMenu("&Edit")
        for a in (self.act_undo, None, self.act_search):
            m.addSeparator() if a is None else m.addAction(a)
        m = menu.addMenu("&View")
        for a in (self.act_back, self.act_forward, None, self.act_newest, self.act_oldest, self.act_hide_read):
            m.addSeparator() if a is None else m.addAction(a)
        m = menu.addMenu("&Feeds")
        for a in (self.act_sync, self.act_cancel, None, self.act_mark_all, None, self.act_summarise):
            m.addSeparator() if a is None else m.addAction(a)
        from ui.digest import SummariseMenu

        self.summarise_menu = SummariseMenu(self)
        self.summarise_menu.choices_changed.connect(self._update_summarise)
        m.addMenu(self.summarise_menu)
        m = menu.addMenu("&Article")
        for a in (self.act_next, self.act_prev, self.act_next_unread, self.act_space, None, self.act_toggle_read,
                  self.act_star, self.act_open, self.act_copy_link):
            m.addSeparator() if a is None else m.addAction(a)
        m = menu.addMenu("&Help")
        m.addAction(self.act_shortcuts)
        m.addAction(self.act_about)

        tb = QToolBar("Main")
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.act_back.setText("◀ Back")
        self.act_forward.setText("Forward ▶")
        for a in (self.act_back, self.act_forward):
            tb.addAction(a)
        tb.addSeparator()
        for a in (self.act_sync, self.act_cancel, self.act_mark_all, self.act_add):
            tb.addAction(a)
        self.summarise_button = QToolButton()  # the action, plus a drop-down with the shapes, day and folders
        self.summarise_button.setObjectName("summariseButton")
        self.summarise_button.setDefaultAction(self.act_summarise)
        self.summarise_button.setMenu(self.summarise_menu)
        self.summarise_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.summarise_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        tb.addWidget(self.summarise_button)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        tb.addWidget(spacer)
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Search  (/)")
        self.search.setClearButtonEnabled(True)
        self.search.returnPressed.connect(lambda: self.run_search(self.search.text()))
        self.search.textChanged.connect(lambda s: None if s else self._leave_search())
        esc = QShortcut(QKeySequence("Escape"), self.search, context=Qt.ShortcutContext.WidgetShortcut)
        esc.activated.connect(self.escape_search)
        tb.addWidget(self.search)
        self.addToolBar(tb)
        self.toolbar = tb
        self._update_history_actions()

    def _update_busy(self) -> None:
        syncing = self._sync_task is not None
        self.act_cancel.setEnabled(syncing)
        self.act_sync.setEnabled(not syncing)
        self._update_summarise()

    def _update_summarise(self) -> None:
        self.act_summarise.setEnabled(not self.jobs.busy if hasattr(self, "jobs") else True)
        menu = getattr(self, "summarise_menu", None)
        if menu is not None:
            menu.update_enabled(self.act_summarise.isEnabled())
            self.act_summarise.setText(menu.action_text())
        self.act_summarise.setToolTip("Write a cited summary of the day's articles with your local model "
                                      "(the arrow: choose the shape, the day and the folders)")

    def _update_history_actions(self) -> None:
        self.act_back.setEnabled(self.reader.can_go_back())
        self.act_forward.setEnabled(self.reader.can_go_forward())

    # --- state that outlives the window ---------------------------------------------------------

    def _restore_state(self) -> None:
        s = self.qsettings
        geo = s.value("window/geometry")
        if isinstance(geo, QByteArray) and not geo.isEmpty():
            self.restoreGeometry(geo)
        state = s.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        split = s.value("window/splitter")
        if isinstance(split, QByteArray) and not split.isEmpty():
            self.splitter.restoreState(split)
            self._split_chosen = True
        self._initial_view = View.parse(s.value("selection/key") or None)
        art = s.value("selection/article")
        try:
            self._initial_article = int(art) if art not in (None, "") else None
        except (TypeError, ValueError):
            self._initial_article = None
        oldest = s.value("list/oldest_first")
        if oldest in (True, "true", "1"):
            self.middle.newest_first = False
            self.act_oldest.setChecked(True)
            self.act_newest.setChecked(False)
            self.middle._show_sort_indicator()
        if s.value("list/hide_read") in (True, "true", "1"):
            self.middle.hide_read = True
            self.act_hide_read.setChecked(True)

    def save_state(self) -> None:
        if not self.remember:
            return
        s = self.qsettings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/splitter", self.splitter.saveState())
        if self.view is not None and not self.view.is_search:
            s.setValue("selection/key", str(self.view))
        a = self.reader.article
        s.setValue("selection/article", a.id if a else "")
        s.setValue("list/oldest_first", not self.middle.newest_first)
        s.setValue("list/hide_read", self.middle.hide_read)
        s.sync()

    def _splitter_dragged(self, *_) -> None:
        if not getattr(self, "_splitting", False):
            self._split_chosen = True

    def resizeEvent(self, event):  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self._split_chosen:
            return
        # feed names on the left (a fifth, at least 200 px: at 170 an 800 px window cut them to
        # five letters; at most 260), then titles and the article about evenly
        width = self.width()
        left = max(200, min(260, int(width * 0.18)))
        middle = int((width - left) * (0.5 if width < 1000 else 0.47))
        self._splitting = True
        try:
            self.splitter.setSizes([left, middle, width - left - middle])
        finally:
            self._splitting = False

    def closeEvent(self, event):  # noqa: N802 - Qt override
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Save the window's state and stop background work (closing, or the app quitting)."""
        if getattr(self, "_shut_down", False):
            return
        self._shut_down = True
        self.save_state()
        self._read_timer.stop()
        self._sync_timer.stop()
        self.tasks.shutdown()
        if self._tray:
            self._tray.hide()

    def bring_forward(self) -> None:
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    # --- errors and help ----------------------------------------------------------------------------------

    @Slot(str, str, bool)
    def show_error(self, message: str, hint: str = "", bug: bool = False) -> None:
        self.message_bar.show_message(message, hint, "error")

    def show_info(self, message: str, hint: str = "") -> None:
        self.message_bar.show_message(message, hint, "info")

    def show_shortcuts(self):
        from ui.dialogs import ShortcutSheet

        self.shortcut_sheet = ShortcutSheet(self)
        self.shortcut_sheet.open()
        return self.shortcut_sheet

    def show_about(self):
        from app import __version__

        box = QMessageBox(QMessageBox.Icon.NoIcon, "About Tidings",
                          f"<b>Tidings {__version__}</b><br>A feed reader that syncs for offline reading and "
                          "writes a cited daily digest with a local Ollama model.<br><br>"
                          f"Your library: {self.t.data_dir}", QMessageBox.StandardButton.Ok, self)
        box.setIconPixmap(app_icon().pixmap(64, 64))
        box.open()
        self.about_box = box
        return box

    # --- theme -----------------------------------------------------------------------------------------

    @Slot()
    def _scheme_changed(self, *_) -> None:
        """The system went light or dark: Qt changed the palette; the panes and the page follow."""
        if (self.prefs.get("theme") or "system") == "system":
            from ui.theme import repolish

            repolish(QApplication.instance())
            self.sources.refresh_palette()
            self.reader.rerender()

    def apply_theme(self, theme: str) -> None:
        """Light, dark or the system's, now: every pane, header and dialog, and the page being read."""
        from ui.theme import apply_theme

        apply_theme(QApplication.instance(), theme)
        self.sources.refresh_palette()
        self.reader.rerender()

    # --- sources (left) ---------------------------------------------------------------------------------

    def refresh_feeds(self, initial: bool = False) -> None:
        """Feeds and counts again, in the background; of loads that overlap only the newest is shown
        (two quick writes, e.g. rename then move, must not end on the first one's feeds)."""
        self._feeds_gen = gen = getattr(self, "_feeds_gen", 0) + 1

        def load():
            return self.t.feeds(), self.t.counts()

        def done(fc):
            if gen == self._feeds_gen or initial:
                self._feeds_loaded(*fc, initial=initial)

        self.tasks.run(load, on_done=done, context="loading your feeds")

    def _open_early(self) -> None:
        """List the view the window will most likely open (the remembered one, else All unread)
        while the feeds load and the sources tree builds: at 1M articles its ids take ~0.4 s. A
        feed's label needs the feed list, so a feed waits; so does a view the feeds rule out."""
        view = self._initial_view or UNREAD
        if not view.is_feed and not view.is_search:
            self._early_view = view
            self.open_view(view, select=self._initial_article)

    def _feeds_loaded(self, feeds, counts, initial: bool = False) -> None:
        self.sources.set_feeds(feeds, counts, select=None if initial else self.view)
        view = self.view
        if initial:
            view = self._initial_view
            if view is None or not self.sources.has(view):
                view = UNREAD if counts.get("unread") or not feeds else View.feed(feeds[0].id)
            self.sources.select(view)
        self._counts_changed(counts)
        self.feeds_loaded = True
        if initial:
            settle_heap()
        if initial and view != self._early_view:
            self.open_view(view, select=self._initial_article)
        elif initial and self._early_listed is not None:
            self._listed(*self._early_listed)  # its placeholder depends on the feeds
        elif self.view is not None and self.view.lists_articles:
            self.middle.set_label(self.view_label(self.view))  # a rename shows in the list header at once

    def refresh_counts(self) -> None:
        """Re-read unread counts in the background; asks made while one is running coalesce."""
        if self._counts_task is not None:
            self._counts_again = True
            return

        def done(counts):
            self._counts_task = None
            self._counts_changed(counts)
            if self._counts_again:
                self._counts_again = False
                self.refresh_counts()

        def failed(e):
            self._counts_task = None
            return False

        self._counts_task = self.tasks.run(self.t.counts, on_done=done, on_error=failed, context="counting unread articles")

    def _counts_changed(self, counts: dict) -> None:
        self.sources.set_counts(counts)
        n = counts.get("unread", 0)
        # Qt adds " — Tidings" (the display name) to a title that does not end with it: "(48) Tidings"
        # reads as one title, not "Tidings (48) — Tidings"
        self.setWindowTitle(f"({n}) Tidings" if n else "Tidings")
        if self._tray:
            self._tray.setToolTip(f"Tidings — {n} unread" if n else "Tidings — all read")
            self._tray.setIcon(badged_icon(n))

    def _view_chosen(self, view: View) -> None:
        if view != self.view:
            self.open_view(view)

    def _view_reselected(self, view: View) -> None:
        """Digests clicked again while one of its articles is open: back to the digest."""
        if view == self.view and view.is_digests and self.reader.digest is None:
            item = self.digest_list.currentItem()
            from ui.models import ID_ROLE

            if item is not None and item.data(ID_ROLE) is not None:
                self._open_digest(item.data(ID_ROLE))

    def select_source(self, key: View | str, select: int | str | None = None) -> bool:
        """Select a row of the left pane (a View, or its key such as "feed:3") and open that view
        once, selecting `select` in it (as open_view takes it). False when there is no such row."""
        view = View.parse(key)
        if view is None or not self.sources.select(view):
            return False
        if self.view != view or select is not None:
            self.open_view(view, select=select)
        return True

    def view_label(self, view: View | str) -> str:
        view = View.parse(view) or UNREAD
        return self.sources.label(view)

    def apply_changes(self, changes: Changes | None) -> None:
        """Each pane takes what concerns it from what a write changed."""
        if changes is None:
            return
        if changes.articles and (changes.read is not None or changes.starred is not None):
            flags = {k: v for k, v in (("read", changes.read), ("starred", changes.starred)) if v is not None}
            self._show_flags(list(changes.articles), **flags)
        if changes.feeds:
            self.refresh_feeds()  # its counts come with it
        elif changes.counts:
            self.refresh_counts()

    # --- the article list (middle) ------------------------------------------------------------------

    def open_view(self, key: View | str, select: int | str | None = None, keep_article: bool = False) -> None:
        """Show the articles of a view. Ids are queried in the background; a newer request wins."""
        view = View.parse(key) or UNREAD
        self._leave_article()
        self.view = view
        if not view.is_digests:
            self.act_export_digest.setEnabled(False)
        self._explain_feed_error(view)
        keep = self.reader.article.id if (keep_article and self.reader.article) else None
        self.middle.open(view, label=self.view_label(view), select=select, keep=keep_article, keep_id=keep)

    def _listed(self, view: View, ids: list) -> None:
        if view != self.view:
            return
        if not self.feeds_loaded:  # listed early (_open_early): told again once the feeds are in
            self._early_listed = (view, ids)
            return
        if view.is_digests:
            if not ids:
                self.reader.show_placeholder("No digests yet.")
            return
        if self.middle.current_row() >= 0:
            return
        if self.middle.kept and self.reader.article is not None:
            return  # keep reading what is open even if it left this view (e.g. it is now read)
        if not self.sources.feeds:
            self.reader.show_placeholder("No feeds yet. Add one with “Add feed” (Ctrl+N), or import your "
                                         "subscriptions from another reader (File ▸ Import OPML).")
        else:
            self.reader.show_placeholder("Nothing to read here." if not ids else "Select an article to read it.")

    def _explain_feed_error(self, view: View) -> None:
        f = self.sources.feed(view.feed_id) if view.is_feed else None
        if f is not None and f.last_error:
            self.message_bar.show_message(
                f"“{f.title}” could not be synced: {f.last_error}",
                "Tidings will try again at the next sync. If the site moved its feed, give its new address "
                "(right-click the feed ▸ Edit address), or unsubscribe.", "error")
            self._feed_error_shown = True
        elif getattr(self, "_feed_error_shown", False):
            self.message_bar.hide()
            self._feed_error_shown = False

    def current_row(self) -> int:
        return self.middle.current_row()

    def current_article_id(self) -> int | None:
        a = self.reader.article
        return a.id if a else None

    def show_article_by_id(self, article_id: int, from_list: bool = False) -> None:
        if self.current_article_id() == article_id and from_list:
            return
        self._leave_article()
        try:
            a = self.t.article(article_id)  # one row and its extras: ~1 ms
        except TidingsError as e:
            self.show_error(str(e), e.hint)
            return
        self.reader.show_article(a)
        article_shown(self, a)  # issue 11: translation ("always translate") and the podcast bar follow it
        if not from_list:
            self.middle.select_id(article_id)
        if not a.read:
            delay = self.prefs.get("mark_read_delay_seconds")
            delay = 1.0 if delay is None else float(delay)
            self._read_target = a.id
            if delay == 0:
                self._mark_current_read()
            elif delay > 0:
                self._read_timer.start(int(delay * 1000))
            else:
                self._read_target = None

    def _leave_article(self) -> None:
        """Moving on before the mark-read delay is over: the article was read all the same (as in
        NetNewsWire, where selecting is reading); M before moving on keeps it unread."""
        if self._read_timer.isActive():
            self._read_timer.stop()
            self._mark_current_read()

    def _mark_current_read(self) -> None:
        a = self.reader.article
        if a is None or self._read_target != a.id:
            return
        self._read_target = None
        self.set_read([a.id], True)

    # --- reading actions -----------------------------------------------------------------------------

    def _show_flags(self, ids: list[int], **flags) -> None:
        """Show read/starred changes at once (list rows and the open article), before they are saved."""
        if len(ids) > 50:
            self.articles_model.update_rows(ids, **flags)
        else:
            for i in ids:
                self.articles_model.update_row(i, **flags)
        a = self.reader.article
        if a is not None and a.id in ids:
            self.reader.article = replace(a, **flags)

    def set_read(self, ids: list[int], read: bool, undo: bool = False) -> None:
        ids = list(ids)
        if not ids:
            return
        self._show_flags(ids, read=read)
        if undo:
            n = len(ids)
            self._push_undo(f"marked {n} article{'s' if n != 1 else ''} {'read' if read else 'unread'}", ids, read)

        def failed(e):  # not saved: show the truth again, and say why
            self._show_flags(ids, read=not read)
            self.refresh_counts()
            return False

        self.tasks.run(lambda: self.t.mark_read(ids, read), on_done=self.apply_changes,
                       on_error=failed, serial=True, context="saving read state")

    def _push_undo(self, what: str, ids, read: bool) -> None:
        self.undo_stack.append((what, tuple(ids), read))
        del self.undo_stack[:-50]
        self.act_undo.setEnabled(True)
        self.act_undo.setText(f"Undo {what.split(' ', 1)[0].replace('marked', 'mark')} "
                              f"{'read' if read else 'unread'}")

    def undo(self) -> None:
        """Ctrl+Z: put back the read state the last mark read / unread / all read changed."""
        if not self.undo_stack:
            return
        what, ids, read = self.undo_stack.pop()
        self.act_undo.setEnabled(bool(self.undo_stack))
        self.act_undo.setText("Undo")
        self._read_timer.stop()
        self._read_target = None
        self.set_read(list(ids), not read)
        self.status_label.setText(f"Undone: {what}.")

    def move(self, step: int) -> None:
        self.middle.move(step)

    def _find_unread(self, start: int, step: int = 1) -> int:
        return self.middle.find_unread(start, step, skip=self.current_article_id())

    def next_unread(self) -> None:
        row = self._find_unread(self.current_row() + 1)
        if row >= 0:
            self.middle.select_row(row)
            return
        # nothing left here: go on to the next feed with unread articles
        feeds = [v for v in self.sources_model.views() if v.is_feed]
        cur = self.view if self.view in feeds else None
        order = feeds[feeds.index(cur) + 1:] + feeds[:feeds.index(cur)] if cur else feeds
        for v in order:
            if self.sources_model.unread(v) > 0:
                self.select_source(v, select="first_unread")
                return
        self.status_label.setText("No unread articles left.")

    def space(self) -> None:
        if self.reader.article is not None and self.reader.page_down():
            return
        self.next_unread()

    def _row_flags(self, aid: int):
        row = self.articles_model.article_row(self.articles_model.row_of(aid))
        return row

    def toggle_read(self) -> None:
        a = self.reader.article
        if a is None:
            return
        row = self._row_flags(a.id)
        read = row.read if row is not None else a.read
        self._read_timer.stop()
        self._read_target = None
        self.set_read([a.id], not read, undo=True)

    def toggle_star(self, aid: int | None = None) -> None:
        a = self.reader.article
        aid = aid if aid is not None else (a.id if a else None)
        if aid is None:
            return
        row = self._row_flags(aid)
        starred = not (row.starred if row is not None else (a.starred if a and a.id == aid else False))
        self.set_star(aid, starred)

    def set_star(self, aid: int, starred: bool) -> None:
        self._show_flags([aid], starred=starred)

        def failed(e):
            self._show_flags([aid], starred=not starred)
            return False

        self.tasks.run(lambda: self.t.set_starred(aid, starred), on_done=self.apply_changes,
                       on_error=failed, serial=True, context="starring")
        self.status_label.setText("Starred." if starred else "Unstarred.")

    def _article_url(self, aid: int | None) -> str | None:
        a = self.reader.article
        if aid is None or (a is not None and a.id == aid):
            return a.url if a else None
        try:
            return self.t.article(aid).url
        except TidingsError:
            return None

    def open_original(self, aid: int | None = None) -> None:
        url = self._article_url(aid)
        if not url or not url.startswith(("http://", "https://")):
            return
        if self.open_external(QUrl(url)) is False:  # no browser, or it would not start
            self.show_error("Tidings could not open a web browser for this article.",
                            f"Install a browser (or set one as the default), or copy the link: {url}")
            QApplication.clipboard().setText(url)

    def copy_link(self, aid: int | None = None) -> None:
        url = self._article_url(aid)
        if url:
            QApplication.clipboard().setText(url)
            self.status_label.setText("Copied the link.")

    def set_hide_read(self, on: bool) -> None:
        self.act_hide_read.setChecked(on)
        self.middle.set_hide_read(on)

    def mark_all_read(self, key: View | str | None = None) -> None:
        view = View.parse(key) or self.view
        if view is None or view.is_digests:
            return
        q = self.middle.query if view == self.view else view.query(self.t)
        if q is None:
            return
        q = replace(q, unread=True, limit=None)
        if view == self.view:
            self.articles_model.set_all_read()
            self._read_timer.stop()
        label = self.view_label(view)

        def done(changes: Changes):
            n = changes.count
            self.status_label.setText(f"Marked {n} article{'s' if n != 1 else ''} read. (Ctrl+Z to undo)")
            if changes.articles:
                self.undo_stack.append((f"marked all of {label} read", changes.articles, True))
                self.act_undo.setEnabled(True)
                self.act_undo.setText("Undo mark all read")
            self.apply_changes(replace(changes, articles=()))  # the list already shows them read

        self.tasks.run(lambda: self.t.mark_all_read(q), on_done=done, serial=True, context="marking articles read")

    # --- history -----------------------------------------------------------------------------------

    def go_back(self) -> None:
        self.reader.back()

    def go_forward(self) -> None:
        self.reader.forward()

    def _go_to(self, place: Place) -> None:
        """Back/Forward: the place's view in the list, and its article or digest in the reading pane."""
        view = View.parse(place.view)
        if view is not None and view != self.view:
            if view.is_search:
                self.search.blockSignals(True)
                self.search.setText(str(view.id))
                self.search.blockSignals(False)
                self.sources.clear_current()
            else:
                self.sources.select(view)
            self._read_timer.stop()
            self.view = view
            keep = place.article
            self.middle.open(view, label=self.view_label(view),
                             select=place.digest if view.is_digests else keep, keep=True)
            if view.is_digests and place.article is None:
                return  # the digest list selects the digest, which opens it at its scroll
        if place.digest is not None and place.article is None:
            if view is not None and view.is_digests and self.middle.view == view:
                self._select_digest_row(place.digest)
            self._open_digest(place.digest)
        elif place.article is not None:
            self._read_timer.stop()
            try:
                a = self.t.article(place.article)
            except TidingsError as e:
                self.show_error(str(e), e.hint)
                return
            self.reader.show_article(a)
            self.middle.select_id(a.id)

    def _select_digest_row(self, did: int) -> None:
        lst = self.digest_list
        from ui.models import ID_ROLE

        for i in range(lst.count()):
            if lst.item(i).data(ID_ROLE) == did:
                lst.blockSignals(True)
                lst.setCurrentRow(i)
                lst.blockSignals(False)

    # --- search ----------------------------------------------------------------------------------------

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def run_search(self, text: str) -> None:
        text = text.strip()
        if not text:
            self._leave_search()
            return
        if self.view is None or not self.view.is_search:
            self._previous_view = self.view
        self.sources.clear_current()
        self.open_view(View.search(text), select="first")
        self.articles.setFocus()

    def escape_search(self) -> None:
        """Escape in the search field: clear it, back to the view before the search, focus the list."""
        self.search.clear()  # textChanged "" leaves the search
        self._leave_search()
        self.articles.setFocus()

    def _leave_search(self) -> None:
        if self.view is not None and self.view.is_search:
            self.select_source(self._previous_view or UNREAD)

    # --- sync ------------------------------------------------------------------------------------------

    def start_sync(self, feed_ids: list[int] | None = None, auto: bool = False) -> None:
        if self.jobs.busy:
            if not auto:  # a person's request (or a new feed's) waits its turn; a timed one is skipped
                self.jobs.queue_sync(feed_ids)
            return
        self.sync_events: list[tuple[str, int, int]] = []

        def cancel():
            task.cancel.set()

        job = self.jobs.begin("sync", "Syncing…", cancel=cancel, unit="feeds",
                              cancel_tip="Stop syncing; what was fetched so far is kept.",
                              cancel_text="Cancelling… (what was fetched is kept)")

        def work(task):
            return self.t.sync(feed_ids, on_progress=task.progress, cancel=task.cancel, automatic=auto)

        task = self.tasks.run(work, on_done=self._sync_done, on_error=self._sync_failed,
                              on_progress=self._sync_progress, pass_task=True, context="syncing")
        job.task = task
        self._update_busy()

    def _start_queued_sync(self) -> None:
        """Run the syncs asked for while the window was busy, as one: all feeds if any asked for all."""
        ok, feeds = self.jobs.take_queued_sync()
        if ok:
            self.start_sync(feeds)

    def _sync_progress(self, result, done: int, total: int) -> None:
        self.sync_events.append((result.status, done, total))
        what = {"updated": f"{result.new} new" if result.new else "up to date", "not_modified": "up to date",
                "error": "failed", "cancelled": "cancelled"}.get(result.status, result.status)
        self.jobs.set_progress(done, total, f"Syncing {done} of {total}: {result.title or result.url} — {what}")
        if result.new and not self._counts_timer.isActive():
            self._counts_timer.start()

    def _sync_done(self, report) -> None:
        self.last_sync_report = report
        settle_heap()  # (once per session: what the first sync imported)
        self._counts_timer.stop()  # refresh_feeds reads the counts anyway
        self.refresh_feeds()
        if self.view is not None and self.view.lists_articles:
            self.middle.reload()
        self.jobs.end(report.summary())
        after_sync(self)  # notifications ("5 new in Security"), retention once a day (ui.power)

    def _sync_failed(self, e: BaseException) -> bool:
        self.jobs.end("Sync stopped.")
        return False  # let the helper explain it

    def cancel_sync(self) -> None:
        if self._sync_task is not None:
            self.jobs.cancel()

    def _apply_sync_interval(self) -> None:
        minutes = int(self.prefs.get("sync_interval_minutes") or 0)
        if minutes > 0:
            self._sync_timer.start(minutes * 60_000)
        else:
            self._sync_timer.stop()

    # --- settings ---------------------------------------------------------------------------------------

    def settings_dialog(self, focus_host: bool = False) -> SettingsDialog:
        dlg = SettingsDialog(self.prefs, self, styles=self.summarise_menu.styles)
        dlg.accepted.connect(lambda: self.apply_settings(dlg.values()))
        dlg.accounts = AccountsSection(self.t, self.tasks, dlg)  # Settings → Accounts (ui/accounts.py)
        dlg.form.insertRow(dlg.form.rowCount() - 1, dlg.accounts)
        dlg.accounts.changed.connect(self.refresh_feeds)
        # styles are files, models need Ollama (slow or absent): ask in the background, ignore "not running"
        self.tasks.run(self.t.digest_styles, on_done=dlg.set_styles, on_error=lambda e: isinstance(e, TidingsError),
                       context="listing digest styles")
        self.tasks.run(self.t.llm_models, on_done=dlg.set_models, on_error=lambda e: isinstance(e, TidingsError),
                       context="listing Ollama models")
        dlg.open()
        if focus_host:
            dlg.focus_host()
        self.settings_dlg = dlg
        return dlg

    def apply_settings(self, values: dict) -> None:
        changed = {k: v for k, v in values.items() if self.prefs.get(k) != v}
        self.prefs.update(values)

        def save():
            for k, v in changed.items():
                self.t.set_setting(k, v)

        self.tasks.run(save, serial=True, context="saving settings")
        if "theme" in changed:
            self.apply_theme(values["theme"])
        if "font_size" in changed:
            self.reader.set_font_size(values["font_size"])
            self.reader.rerender()
        if "sync_interval_minutes" in changed:
            self._apply_sync_interval()
        if "digest_style" in changed:
            self.summarise_menu._fill_styles()

    # --- digests ---------------------------------------------------------------------------------------

    def load_digests(self, select: int | None = None) -> None:
        self.middle.load_digests(select)

    def _open_digest(self, did: int) -> None:
        def done(d):
            if self.view is None or self.view.is_digests:  # else the person moved on while it loaded
                self._show_digest(d)

        self.tasks.run(lambda: self.t.get_digest(did), on_done=done, context="opening the digest")

    def _show_digest(self, d) -> None:
        """Show a stored digest in the reading pane (File ▸ Export digest saves it)."""
        self.act_export_digest.setEnabled(d is not None)
        if d is not None:
            self._leave_article()
            self.reader.show_digest(d)

    def export_digest_dialog(self) -> None:
        d = self.shown_digest
        if d is None:
            return
        html_filter, md_filter = "Web page, works offline (*.html)", "Markdown (*.md)"
        path, chosen = QFileDialog.getSaveFileName(self, "Export digest", f"tidings-digest-{d.date}.html",
                                                   f"{html_filter};;{md_filter}")
        if path:
            self.export_digest(d, path, markdown=chosen == md_filter or path.lower().endswith(".md"))

    def export_digest(self, d, path: str, markdown: bool = False) -> None:
        def work():
            Path(path).write_text(self.t.digest_markdown(d) if markdown else self.t.digest_html(d), encoding="utf-8")
            return path

        self.tasks.run(work, on_done=lambda p: self.status_label.setText(f"Saved the digest to {p}."),
                       context="exporting the digest")

    def pull_model(self, name: str | list[str]) -> None:
        """Download one Ollama model or several, as one job in the job bar."""
        from ui.digest import pull_models

        pull_models(self.t, self.tasks, self.jobs, name)

    def summarise_today(self, style: str | None = None) -> None:
        """Write a digest: `style` (default: Settings'), with the day and folders chosen in the
        Summarise menu."""
        if self.jobs.busy:
            return
        from ui.digest import DigestPanel

        panel = DigestPanel(self.t, self.tasks, self.jobs, self.reader, self.prefs, self)
        panel.finished.connect(self._digest_finished)
        self.digest_panel = panel
        panel.start(style=style, **self.summarise_menu.choices())

    def _digest_finished(self, digest) -> None:
        """A digest is written: list it and open it; then offer what fixes what went wrong."""
        self.digest_panel.offer(self.message_bar, pull_model=self.pull_model,
                                open_settings=lambda: self.settings_dialog(focus_host=True))
        if digest is not None:
            self.select_source(DIGESTS, select=digest.id)
