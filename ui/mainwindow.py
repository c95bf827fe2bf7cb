"""The main window: sources on the left, the article list in the middle, the article on the right.

It talks to Tidings only through the facade. Anything that may wait (the network, big queries,
writes that could queue behind a sync) goes through `ui.tasks.Tasks`; the GUI thread reads only
small things itself (a page of 200 list rows, one article), as the issue's budget allows.
"""

from __future__ import annotations

import html
import logging
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QByteArray, QItemSelectionModel, QModelIndex, QSettings, QSize, Qt, QTimer, QUrl, Slot
from PySide6.QtGui import QAction, QDesktopServices, QFont, QFontMetrics, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFileDialog,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QSystemTrayIcon,
    QTableView,
    QToolBar,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.errors import TidingsError
from app.models import ArticleQuery
from app.resources import resource_path
from ui.dialogs import AddFeedDialog, MessageBar, SettingsDialog
from ui.models import ID_ROLE, KEY_ROLE, ArticleListModel, SourcesModel
from ui.reader import ArticleView
from ui.power import add_power_menu_items, after_sync, article_shown, install_power_features  # issue 11
from ui.smart_views import extra_query  # issue 11
from ui.tasks import Tasks

log = logging.getLogger(__name__)

UI_SETTINGS = ("sync_interval_minutes", "full_text", "images", "mark_read_delay_seconds", "theme", "font_size",
               "digest_style", "ollama_model", "ollama_host", "embed_model", "digest_personal")
from ui.power_settings import POWER_UI_SETTINGS  # noqa: E402 - issue 11
UI_SETTINGS += POWER_UI_SETTINGS  # issue 11


def app_icon() -> QIcon:
    icon = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256):
        p = resource_path("icons", f"tidings-{size}.png")
        if p.exists():
            icon.addFile(str(p), QSize(size, size))
    return icon


class _Cancelled(Exception):
    pass


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



class MainWindow(QMainWindow):
    def __init__(self, tidings, *, remember: bool = True, tasks: Tasks | None = None, timers: bool = True):
        super().__init__()
        self.t = tidings
        self.tasks = tasks or Tasks(self)
        self.tasks.error.connect(self.show_error)
        self.remember = remember
        self.qsettings = QSettings(str(Path(tidings.data_dir) / "ui.ini"), QSettings.Format.IniFormat)
        self.prefs = {k: tidings.setting(k) for k in UI_SETTINGS}
        self.open_external = QDesktopServices.openUrl  # tests replace this
        self.current_key: str | None = None
        self.current_query: ArticleQuery | None = None
        self._load_gen = 0
        self._pending_select: int | str | None = None  # article id, or "first_unread"/"first"
        self._restoring = False
        self._counts_task = None
        self._counts_again = False
        self._sync_task = None
        self._digest_task = None
        self._queued_syncs: list[list[int] | None] = []  # start_sync calls that came while busy
        self.shown_digest = None  # the stored digest on screen (what File > Export digest saves)
        self._active_progress_cancel = None  # what Cancel stops while a digest is being written
        self.last_sync_report = None
        self._previous_key: str | None = None
        self.feeds_loaded = False
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
        self.resize(1200, 760)
        if remember:
            self._restore_state()
        hints = QApplication.styleHints()
        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.connect(self._scheme_changed)
        install_power_features(self, timers=timers)  # issue 11: rules, retention, translation, notifications, podcasts
        self.refresh_feeds(initial=True)

    @Slot()
    def _scheme_changed(self, *_) -> None:
        if self.reader.article is not None:
            self.reader.show_article(self.reader.article)

    # --- layout ----------------------------------------------------------------------------------------

    def _build(self) -> None:
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.message_bar = MessageBar()
        outer.addWidget(self.message_bar)

        self.sources_model = SourcesModel(self)
        self.sources = QTreeView()
        self.sources.setIndentation(14)
        self.sources.setObjectName("sources")
        self.sources.setModel(self.sources_model)
        self.sources.setHeaderHidden(True)
        self.sources.setUniformRowHeights(True)
        self.sources.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.sources.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.sources.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.sources.customContextMenuRequested.connect(self._sources_menu)
        self.sources.selectionModel().currentRowChanged.connect(self._on_source_changed)
        self.sources.setAccessibleName("Feeds and folders")

        self.articles_model = ArticleListModel(self.t.article_rows, self, now=self.t.now)
        self.articles = QTableView()
        self.articles.setObjectName("articles")
        self.articles.setModel(self.articles_model)
        self.articles.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.articles.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.articles.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.articles.setShowGrid(False)
        self.articles.setWordWrap(False)
        self.articles.setAlternatingRowColors(False)
        self.articles.setTabKeyNavigation(False)
        self.articles.setAccessibleName("Articles")
        vh = self.articles.verticalHeader()
        vh.hide()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # uniform rows: never measure 100k rows
        vh.setDefaultSectionSize(self.fontMetrics().height() + 10)
        hh = self.articles.horizontalHeader()
        hh.setSectionResizeMode(ArticleListModel.STAR, QHeaderView.ResizeMode.Fixed)
        hh.setSectionResizeMode(ArticleListModel.TITLE, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(ArticleListModel.SOURCE, QHeaderView.ResizeMode.Interactive)
        hh.setSectionResizeMode(ArticleListModel.DATE, QHeaderView.ResizeMode.Fixed)
        hh.resizeSection(ArticleListModel.STAR, 24)
        hh.resizeSection(ArticleListModel.SOURCE, 120)
        bold = QFont(self.articles.font())
        bold.setBold(True)  # unread rows are bold: size for the widest date they show
        hh.resizeSection(ArticleListModel.DATE, QFontMetrics(bold).horizontalAdvance("29 Sep 2020") + 16)
        hh.setHighlightSections(False)
        # open on selection (a click, j/k, a restore), not on the bare current index Qt sets on focus
        self.articles.selectionModel().selectionChanged.connect(self._on_article_selection)
        self.articles.clicked.connect(self._on_article_clicked)

        self.view_title = QLabel("")
        self.view_title.setObjectName("viewTitle")
        self.digest_list = QListWidget()
        self.digest_list.setObjectName("digests")
        self.digest_list.setWordWrap(True)
        self.digest_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.digest_list.setSpacing(2)
        self.digest_list.currentItemChanged.connect(self._on_digest_changed)
        self.middle_stack = QStackedWidget()
        self.middle_stack.addWidget(self.articles)
        self.middle_stack.addWidget(self.digest_list)
        middle = QWidget()
        ml = QVBoxLayout(middle)
        ml.setContentsMargins(0, 0, 0, 0)
        ml.setSpacing(0)
        ml.addWidget(self.view_title)
        ml.addWidget(self.middle_stack, 1)

        self.reader = ArticleView(self.t.image_path)
        self.reader.open_external = lambda url: self.open_external(url)
        self.reader.article_link.connect(self.show_article_by_id)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.sources)
        self.splitter.addWidget(middle)
        self.splitter.addWidget(self.reader)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 2)
        self.splitter.setSizes([270, 470, 540])  # feed names are what people scan: room for them
        self.splitter.setChildrenCollapsible(False)
        outer.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        sb = self.statusBar()
        self.status_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.progress.setFormat("%v of %m feeds")
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop syncing; what was fetched so far is kept.")
        self.cancel_button.clicked.connect(self._cancel_clicked)
        self.cancel_button.hide()
        sb.addWidget(self.status_label, 1)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)

    def _action(self, text: str, slot, shortcut=None, tip: str | None = None) -> QAction:
        a = QAction(text, self)
        if shortcut:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            a.setShortcuts([QKeySequence(k) for k in keys])
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            a.setToolTip(tip)
            a.setStatusTip(tip)
        a.triggered.connect(lambda *_: slot())
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        A = self._action
        self.act_sync = A("Sync", self.start_sync, "R", "Fetch new articles from every feed (R)")
        self.act_cancel = A("Cancel sync", self.cancel_sync, None, "Stop syncing")
        self.act_cancel.setEnabled(False)
        self.act_summarise = A("Summarise today", self.summarise_today, None)
        self.act_add = A("Add feed…", self.add_feed_dialog, QKeySequence.StandardKey.New, "Subscribe to a site or feed")
        self.act_import = A("Import OPML…", self.import_opml_dialog)
        self.act_export = A("Export OPML…", self.export_opml_dialog)
        self.act_export_digest = A("Export digest…", self.export_digest_dialog, None,
                                   "Save the digest on screen as a web page or Markdown")
        self.act_export_digest.setEnabled(False)
        self.act_settings = A("Settings…", self.settings_dialog, QKeySequence.StandardKey.Preferences)
        self.act_quit = A("Quit", self.close, QKeySequence.StandardKey.Quit)
        self.act_mark_all = A("Mark all read", self.mark_all_read, "Shift+A",
                              "Mark every article in this view as read (Shift+A)")
        self.act_next = A("Next article", lambda: self.move(1), "J")
        self.act_prev = A("Previous article", lambda: self.move(-1), "K")
        self.act_next_unread = A("Next unread", self.next_unread, "N")
        self.act_space = A("Page down / next unread", self.space, "Space")
        self.act_toggle_read = A("Toggle read", self.toggle_read, "M")
        self.act_star = A("Star", self.toggle_star, "S")
        self.act_open = A("Open original", self.open_original, "O", "Open the article's page in your browser (O)")
        # Enter opens the original only from the list or the article (the search field needs its Enter)
        for widget in (self.articles, self.reader):
            for k in ("Return", "Enter"):
                sc = QShortcut(QKeySequence(k), widget, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
                sc.activated.connect(self.open_original)
        self.act_search = A("Search", self.focus_search, ["/", QKeySequence.StandardKey.Find])
        self._update_summarise()

        menu = self.menuBar()
        m = menu.addMenu("&File")
        for a in (self.act_add, self.act_import, self.act_export, self.act_export_digest, None, self.act_settings, None,
                  self.act_quit):
            m.addSeparator() if a is None else m.addAction(a)
        m = menu.addMenu("&Feeds")
        for a in (self.act_sync, self.act_cancel, None, self.act_mark_all, None, self.act_summarise):
            m.addSeparator() if a is None else m.addAction(a)
        from ui.digest import SummariseMenu

        self.summarise_menu = SummariseMenu(self)
        m.addMenu(self.summarise_menu)
        m = menu.addMenu("&Article")
        for a in (self.act_next, self.act_prev, self.act_next_unread, self.act_space, None, self.act_toggle_read,
                  self.act_star, self.act_open, None, self.act_search):
            m.addSeparator() if a is None else m.addAction(a)

        tb = QToolBar("Main")
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
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
        tb.addWidget(self.search)
        self.addToolBar(tb)
        self.toolbar = tb

    def _update_summarise(self) -> None:
        self.act_summarise.setEnabled(self._digest_task is None and self._sync_task is None)
        menu = getattr(self, "summarise_menu", None)
        if menu is not None:
            menu.update_enabled(self.act_summarise.isEnabled())
            self.act_summarise.setText(menu.action_text())
        self.act_summarise.setToolTip("Write a cited summary of the day's articles with your local model "
                                      "(the arrow: choose the shape, the day and the folders)")

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
        key = s.value("selection/key")
        art = s.value("selection/article")
        self._initial_key = key if isinstance(key, str) and key else None
        try:
            self._initial_article = int(art) if art not in (None, "") else None
        except (TypeError, ValueError):
            self._initial_article = None

    def save_state(self) -> None:
        if not self.remember:
            return
        s = self.qsettings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/splitter", self.splitter.saveState())
        if self.current_key and not self.current_key.startswith("search:"):
            s.setValue("selection/key", self.current_key)
        a = self.reader.article
        s.setValue("selection/article", a.id if a else "")
        s.sync()

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

    # --- errors -------------------------------------------------------------------------------------

    @Slot(str, str, bool)
    def show_error(self, message: str, hint: str = "", bug: bool = False) -> None:
        self.message_bar.show_message(message, hint, "error")

    def show_info(self, message: str, hint: str = "") -> None:
        self.message_bar.show_message(message, hint, "info")

    # --- sources (left) ---------------------------------------------------------------------------------

    def refresh_feeds(self, initial: bool = False) -> None:
        def load():
            return self.t.feeds(), self.t.counts()

        self.tasks.run(load, on_done=lambda fc: self._feeds_loaded(*fc, initial=initial), context="loading your feeds")

    def _feeds_loaded(self, feeds, counts, initial: bool = False) -> None:
        self._restoring = True
        try:
            if self.sources_model.set_feeds(feeds, counts):
                self.sources.expandAll()
            header = self.sources.header()
            header.setStretchLastSection(False)
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
            # Fixed, not ResizeToContents: that re-measures every row on each count change (O(n²) in a sync)
            header.setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(1, self.fontMetrics().horizontalAdvance("00000") + 8)
            key = self.current_key
            if initial:
                key = getattr(self, "_initial_key", None)
                if key is None or not self.sources_model.key_index(key).isValid():
                    key = "smart:unread" if counts.get("unread") else (f"feed:{feeds[0].id}" if feeds else "smart:unread")
            if key and not key.startswith("search:"):
                idx = self.sources_model.key_index(key)
                if idx.isValid():
                    self.sources.selectionModel().setCurrentIndex(
                        idx, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        finally:
            self._restoring = False
        self._counts_changed(counts)
        self.feeds_loaded = True
        if initial:
            art = getattr(self, "_initial_article", None)
            self.open_view(key or "smart:unread", select=art)

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
        self.sources_model.set_counts(counts)
        n = counts.get("unread", 0)
        self.setWindowTitle(f"Tidings ({n})" if n else "Tidings")
        if self._tray:
            self._tray.setToolTip(f"Tidings — {n} unread" if n else "Tidings — all read")
            self._tray.setIcon(badged_icon(n))

    @Slot(QModelIndex, QModelIndex)
    def _on_source_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        if self._restoring or not current.isValid():
            return
        key = current.data(KEY_ROLE)
        if key and key != self.current_key:
            self.open_view(key)

    def select_source(self, key: str, select: int | str | None = None) -> bool:
        """Select a row of the left pane by key (e.g. "feed:3", "smart:unread") and open that view
        once, selecting `select` in it (as open_view takes it). False when there is no such row."""
        idx = self.sources_model.key_index(key)
        if not idx.isValid():
            return False
        self._restoring = True  # the selection signal must not open the view a first time
        try:
            self.sources.selectionModel().setCurrentIndex(
                idx, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        finally:
            self._restoring = False
        if self.current_key != key or select is not None:
            self.open_view(key, select=select)
        return True

    def query_for(self, key: str) -> ArticleQuery:
        if (extra := extra_query(key)) is not None:  # issue 11: Podcasts, Hidden
            return extra
        kind, _, value = key.partition(":")
        if kind == "feed":
            return ArticleQuery(feed_id=int(value))
        if kind == "folder":
            return ArticleQuery(folder=value)
        if key == "smart:today":
            return self.t.today_query()
        if key == "smart:starred":
            return ArticleQuery(starred=True)
        return ArticleQuery(unread=True)

    def view_label(self, key: str) -> str:
        kind, _, value = key.partition(":")
        if kind == "search":
            return f"Search “{value}”"
        idx = self.sources_model.key_index(key)
        return idx.data() if idx.isValid() else "All unread"

    # --- the article list (middle) ------------------------------------------------------------------

    def open_view(self, key: str, select: int | str | None = None, keep_article: bool = False) -> None:
        """Show the articles of `key`. Ids are queried in the background; a newer request wins."""
        self._flush_pending_read()
        self.current_key = key
        if key != "smart:digests":
            self._show_digest(None)
        self._load_gen += 1
        gen = self._load_gen
        if key == "smart:digests":
            self.current_query = None
            self.middle_stack.setCurrentWidget(self.digest_list)
            self.view_title.setText("Digests")
            self.load_digests(select=select if isinstance(select, int) else None)
            return
        self.middle_stack.setCurrentWidget(self.articles)
        self._explain_feed_error(key)
        # one feed: every row has the same source, so give its width to the titles
        self.articles.setColumnHidden(ArticleListModel.SOURCE, key.startswith("feed:"))
        if key.startswith("search:"):
            text = key.partition(":")[2]
            fn = lambda: self.t.search(text)  # noqa: E731
            self.current_query = None
        else:
            q = self.query_for(key)
            self.current_query = q
            fn = lambda: self.t.article_ids(q)  # noqa: E731
        keep = self.reader.article.id if (keep_article and self.reader.article) else None
        self._pending_select = select if select is not None else keep
        self.view_title.setText(html.unescape(self.view_label(key)) + " …")
        self.tasks.run(fn, on_done=lambda ids: self._ids_loaded(gen, key, ids, keep_article),
                       context="loading articles")

    def _explain_feed_error(self, key: str) -> None:
        f = self._feed(int(key.partition(":")[2])) if key.startswith("feed:") else None
        if f is not None and f.last_error:
            self.message_bar.show_message(
                f"“{f.title}” could not be synced: {f.last_error}",
                "Tidings will try again at the next sync. If the site moved or dropped its feed, "
                "add its new address or unsubscribe (right-click the feed).", "error")
            self._feed_error_shown = True
        elif getattr(self, "_feed_error_shown", False):
            self.message_bar.hide()
            self._feed_error_shown = False

    def _ids_loaded(self, gen: int, key: str, ids: list[int], keep_article: bool) -> None:
        if gen != self._load_gen:
            return  # the person has moved on
        if key.startswith("search:") and self.current_query is None:
            self.current_query = ArticleQuery(ids=tuple(ids))
        current = self.reader.article.id if self.reader.article else None
        self.articles_model.set_ids(ids)
        n = len(ids)
        label = self.view_label(key)
        self.view_title.setText(f"{label} — {n} article{'s' if n != 1 else ''}" if n else f"{label} — nothing here")
        select, self._pending_select = self._pending_select, None
        row = -1
        if select == "first":
            row = 0 if ids else -1
        elif select == "first_unread":
            row = self._find_unread(0, 1)
        elif isinstance(select, int):
            row = self.articles_model.row_of(select)
        if row >= 0:
            self._select_row(row)
        elif keep_article and current is not None:
            pass  # keep reading what is open even if it left this view (e.g. it is now read)
        elif not self.sources_model.feeds:
            self.reader.show_placeholder("No feeds yet. Add one with “Add feed” (Ctrl+N), or import your "
                                         "subscriptions from another reader (File ▸ Import OPML).")
        else:
            self.reader.show_placeholder("Nothing to read here." if not ids else "Select an article to read it.")

    def _select_row(self, row: int) -> None:
        idx = self.articles_model.index(row, ArticleListModel.TITLE)
        self.articles.selectionModel().setCurrentIndex(
            idx, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.articles.scrollTo(idx)

    def current_row(self) -> int:
        rows = self.articles.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def current_article_id(self) -> int | None:
        a = self.reader.article
        return a.id if a else None

    @Slot()
    def _on_article_selection(self, *_) -> None:
        row = self.current_row()
        if row < 0:
            return
        aid = self.articles_model.id_at(row)
        if aid is not None and aid != self.current_article_id():
            self.show_article_by_id(aid, from_list=True)

    @Slot(QModelIndex)
    def _on_article_clicked(self, index: QModelIndex) -> None:
        if index.column() == ArticleListModel.STAR:
            self.toggle_star()

    def show_article_by_id(self, article_id: int, from_list: bool = False) -> None:
        self._flush_pending_read()
        try:
            a = self.t.article(article_id)  # one row and its extras: ~1 ms
        except TidingsError as e:
            self.show_error(str(e), e.hint)
            return
        self.reader.show_article(a)
        article_shown(self, a)  # issue 11: translation ("always translate") and the podcast bar follow it
        if not from_list:
            row = self.articles_model.row_of(article_id)
            if row >= 0:
                self._select_row(row)
        if not a.read:
            delay = self.prefs.get("mark_read_delay_seconds")
            delay = 1.0 if delay is None else float(delay)
            self._read_target = a.id
            if delay == 0:
                self._mark_current_read()
            elif delay > 0:
                self._read_timer.start(int(delay * 1000))

    def _flush_pending_read(self) -> None:
        """Leaving an article before its mark-read delay: it stays unread (as in most readers)."""
        self._read_timer.stop()

    def _mark_current_read(self) -> None:
        a = self.reader.article
        if a is None or getattr(self, "_read_target", None) != a.id:
            return
        self.set_read([a.id], True)

    # --- reading actions -----------------------------------------------------------------------------

    def _show_flags(self, ids: list[int], **flags) -> None:
        """Show read/starred changes at once (list rows and the open article), before they are saved."""
        for i in ids:
            self.articles_model.update_row(i, **flags)
        a = self.reader.article
        if a is not None and a.id in ids:
            self.reader.article = replace(a, **flags)

    def set_read(self, ids: list[int], read: bool) -> None:
        self._show_flags(ids, read=read)

        def failed(e):  # not saved: show the truth again, and say why
            self._show_flags(ids, read=not read)
            self.refresh_counts()
            return False

        self.tasks.run(lambda: self.t.mark_read(ids, read), on_done=lambda _: self.refresh_counts(),
                       on_error=failed, serial=True, context="saving read state")

    def move(self, step: int) -> None:
        if self.middle_stack.currentWidget() is self.digest_list:
            row = self.digest_list.currentRow() + step
            if 0 <= row < self.digest_list.count():
                self.digest_list.setCurrentRow(row)
            return
        n = self.articles_model.rowCount()
        if not n:
            return
        row = self.current_row()
        row = 0 if row < 0 and step > 0 else max(0, min(n - 1, row + step))
        self._select_row(row)

    def _find_unread(self, start: int, step: int = 1) -> int:
        n = self.articles_model.rowCount()
        r = start
        while 0 <= r < n:
            row = self.articles_model.article_row(r)
            if row is not None and not row.read and row.id != self.current_article_id():
                return r
            r += step
        return -1

    def next_unread(self) -> None:
        row = self._find_unread(self.current_row() + 1)
        if row >= 0:
            self._select_row(row)
            return
        # nothing left here: go on to the next feed with unread articles
        keys = [k for k in self.sources_model.keys() if k.startswith("feed:")]
        cur = self.current_key if self.current_key in keys else None
        order = keys[keys.index(cur) + 1:] + keys[:keys.index(cur)] if cur else keys
        for k in order:
            if self.sources_model.unread(k) > 0:
                self.select_source(k, select="first_unread")
                return
        self.status_label.setText("No unread articles left.")

    def space(self) -> None:
        if self.reader.article is not None and self.reader.page_down():
            return
        self.next_unread()

    def toggle_read(self) -> None:
        a = self.reader.article
        if a is None:
            return
        row = self.articles_model.article_row(self.articles_model.row_of(a.id))
        read = row.read if row is not None else a.read
        self._read_timer.stop()
        self._read_target = None
        self.set_read([a.id], not read)

    def toggle_star(self) -> None:
        a = self.reader.article
        if a is None:
            return
        row = self.articles_model.article_row(self.articles_model.row_of(a.id))
        starred = not (row.starred if row is not None else a.starred)
        self._show_flags([a.id], starred=starred)

        def failed(e):
            self._show_flags([a.id], starred=not starred)
            return False

        self.tasks.run(lambda: self.t.set_starred(a.id, starred), on_done=lambda _: self.refresh_counts(),
                       on_error=failed, serial=True, context="starring")
        self.status_label.setText("Starred." if starred else "Unstarred.")

    def open_original(self) -> None:
        a = self.reader.article
        if a is None or not a.url:
            return
        if a.url.startswith(("http://", "https://")):
            self.open_external(QUrl(a.url))

    def mark_all_read(self, key: str | None = None) -> None:
        key = key or self.current_key
        if not key or key == "smart:digests":
            return
        if key.startswith("feed:"):
            fid = int(key.partition(":")[2])
            fn = lambda: self.t.mark_feed_read(fid)  # noqa: E731
        else:
            q = self.current_query if key == self.current_key else self.query_for(key)
            if q is None:
                return
            fn = lambda: self.t.mark_all_read(q)  # noqa: E731
        if key == self.current_key:
            self.articles_model.set_all_read()
            self._read_timer.stop()

        def done(n):
            self.status_label.setText(f"Marked {n} article{'s' if n != 1 else ''} read.")
            self.refresh_counts()

        self.tasks.run(fn, on_done=done, serial=True, context="marking articles read")

    # --- search ----------------------------------------------------------------------------------------

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def run_search(self, text: str) -> None:
        text = text.strip()
        if not text:
            self._leave_search()
            return
        if not (self.current_key or "").startswith("search:"):
            self._previous_key = self.current_key
        self._restoring = True
        try:
            self.sources.selectionModel().clearSelection()
            self.sources.selectionModel().setCurrentIndex(QModelIndex(), QItemSelectionModel.SelectionFlag.Clear)
        finally:
            self._restoring = False
        self.open_view(f"search:{text}", select="first")
        self.articles.setFocus()

    def _leave_search(self) -> None:
        if (self.current_key or "").startswith("search:"):
            self.select_source(self._previous_key or "smart:unread")

    # --- sync ------------------------------------------------------------------------------------------

    def start_sync(self, feed_ids: list[int] | None = None, auto: bool = False) -> None:
        if self._sync_task is not None or self._digest_task is not None:
            if not auto:  # a person's request (or a new feed's) waits its turn; a timed one is skipped
                self._queued_syncs.append(feed_ids)
            return
        self.progress.setRange(0, 0)
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.show()
        self.act_cancel.setEnabled(True)
        self.act_sync.setEnabled(False)
        self.act_summarise.setEnabled(False)
        self.status_label.setText("Syncing…")
        self.sync_events: list[tuple[str, int, int]] = []

        def work(task):
            return self.t.sync(feed_ids, on_progress=task.progress, cancel=task.cancel, automatic=auto)

        self._sync_task = self.tasks.run(work, on_done=self._sync_done, on_error=self._sync_failed,
                                         on_progress=self._sync_progress, pass_task=True, context="syncing")

    def _start_queued_sync(self) -> None:
        """Run the syncs asked for while the window was busy, as one: all feeds if any asked for all."""
        if not self._queued_syncs or self._sync_task is not None or self._digest_task is not None:
            return
        queued, self._queued_syncs = self._queued_syncs, []
        self.start_sync(None if any(q is None for q in queued) else sorted({i for q in queued for i in q}))

    def _sync_progress(self, result, done: int, total: int) -> None:
        self.sync_events.append((result.status, done, total))
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        what = {"updated": f"{result.new} new" if result.new else "up to date", "not_modified": "up to date",
                "error": "failed", "cancelled": "cancelled"}.get(result.status, result.status)
        self.status_label.setText(f"Syncing {done} of {total}: {result.title or result.url} — {what}")
        if result.new and not self._counts_timer.isActive():
            self._counts_timer.start()

    def end_progress(self) -> None:
        """A digest or model download is over: hide its progress bar and Cancel, reset the bar."""
        self._active_progress_cancel = None
        self._update_summarise()
        self.progress.hide()
        self.progress.setFormat("%v of %m feeds")
        self.cancel_button.hide()
        self._start_queued_sync()

    def _sync_finished_ui(self) -> None:
        self._sync_task = None
        self._update_summarise()
        self.progress.hide()
        self.cancel_button.hide()
        self.act_cancel.setEnabled(False)
        self.act_sync.setEnabled(True)

    def _sync_done(self, report) -> None:
        self._sync_finished_ui()
        self.last_sync_report = report
        failed = report.failed
        parts = [f"{report.new} new article{'s' if report.new != 1 else ''}"]
        if failed:
            parts.append(f"{len(failed)} feed{'s' if len(failed) != 1 else ''} failed (marked ⚠ in the list; "
                         "hover for the reason)")
        prefix = "Sync cancelled" if report.cancelled else "Sync finished"
        self.status_label.setText(f"{prefix}: " + ", ".join(parts) + ".")
        after_sync(self)  # issue 11: notifications ("5 new in Security"), retention once a day
        self._counts_timer.stop()  # refresh_feeds reads the counts anyway
        self.refresh_feeds()
        if self.current_key and self.current_key != "smart:digests":
            self.open_view(self.current_key, keep_article=True)
        self._start_queued_sync()

    def _sync_failed(self, e: BaseException) -> bool:
        self._sync_finished_ui()
        self.status_label.setText("Sync stopped.")
        self._start_queued_sync()
        return False  # let the helper explain it

    def _cancel_clicked(self) -> None:
        if self._active_progress_cancel is not None:
            self._active_progress_cancel()
        else:
            self.cancel_sync()

    def cancel_sync(self) -> None:
        if self._sync_task is not None:
            self._sync_task.cancel.set()
            self.status_label.setText("Cancelling… (what was fetched is kept)")

    def _apply_sync_interval(self) -> None:
        minutes = int(self.prefs.get("sync_interval_minutes") or 0)
        if minutes > 0:
            self._sync_timer.start(minutes * 60_000)
        else:
            self._sync_timer.stop()

    # --- feeds: add, import/export, context menu ---------------------------------------------------

    def add_feed_dialog(self, url: str = "") -> AddFeedDialog:
        dlg = AddFeedDialog(self.t, self.tasks, self._folders(), self, initial_url=url,
                            known_urls={f.url for f in self.sources_model.feeds})
        dlg.subscribe_requested.connect(self.subscribe)
        dlg.open()
        self.add_dialog = dlg
        return dlg

    def _folders(self) -> list[str]:
        return sorted({k.partition(":")[2] for k in self.sources_model.keys() if k.startswith("folder:")}, key=str.lower)

    def subscribe(self, feed_url: str, title: str = "", folder: str | None = None) -> None:
        def done(feed):
            self.status_label.setText(f"Subscribed to {feed.title}. Fetching its articles…")
            self.refresh_feeds()
            self.start_sync([feed.id])

        self.tasks.run(lambda: self.t.subscribe(feed_url, folder=folder, title=title or None), on_done=done,
                       serial=True, context="subscribing")

    def import_opml_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import subscriptions", "", "OPML files (*.opml *.xml);;All files (*)")
        if path:
            self.import_opml(path)

    def import_opml(self, path: str) -> None:
        def done(n):
            self.status_label.setText(f"Imported {n} new feed{'s' if n != 1 else ''}. Syncing them…")
            self.refresh_feeds()
            self.start_sync()

        self.tasks.run(lambda: self.t.import_opml(path), on_done=done, serial=True, context="importing OPML")

    def export_opml_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export subscriptions", "tidings.opml", "OPML files (*.opml)")
        if path:
            self.export_opml(path)

    def export_opml(self, path: str) -> None:
        def work():
            Path(path).write_text(self.t.export_opml(), encoding="utf-8")
            self.t.export_rules_beside(path)  # issue 11: feeds.rules.json beside feeds.opml
            return path

        self.tasks.run(work, on_done=lambda p: self.status_label.setText(f"Exported your feeds to {p}."),
                       context="exporting OPML")

    def _sources_menu(self, pos) -> None:
        idx = self.sources.indexAt(pos)
        if not idx.isValid():
            return
        key = idx.data(KEY_ROLE)
        menu = QMenu(self)
        menu.addAction("Mark all read", lambda: self.mark_all_read(key))
        if key.startswith("feed:"):
            fid = int(key.partition(":")[2])
            menu.addAction("Sync this feed", lambda: self.start_sync([fid]))
            menu.addSeparator()
            menu.addAction("Rename…", lambda: self.prompt_rename(fid))
            menu.addAction("Move to folder…", lambda: self.prompt_move(fid))
            menu.addSeparator()
            f = self._feed(fid)
            for label, option in (("Fetch full text for offline reading", "fetch_full_text"),
                                  ("Download images for offline reading", "fetch_images")):
                act = menu.addAction(label)
                act.setCheckable(True)
                act.setChecked(bool(f and getattr(f, option)))
                act.toggled.connect(lambda on, option=option: self.set_feed_option(fid, option, on))
            menu.addSeparator()
            menu.addAction("Unsubscribe…", lambda: self.prompt_unsubscribe(fid))
        elif key == "smart:digests":
            menu.clear()
        add_power_menu_items(self, menu, key)  # issue 11: notify, always translate, keep articles
        if not menu.isEmpty():
            menu.popup(self.sources.viewport().mapToGlobal(pos))
        self.context_menu = menu

    def _feed(self, fid: int):
        return next((f for f in self.sources_model.feeds if f.id == fid), None)

    def prompt_rename(self, fid: int) -> None:
        f = self._feed(fid)
        title, ok = QInputDialog.getText(self, "Rename feed", "Name:", text=f.title if f else "")
        if ok:
            self.rename_feed(fid, title)

    def rename_feed(self, fid: int, title: str) -> None:
        self.tasks.run(lambda: self.t.rename_feed(fid, title), on_done=lambda _: self.refresh_feeds(),
                       serial=True, context="renaming the feed")

    def set_feed_option(self, fid: int, option: str, on: bool) -> None:
        """Offline reading per feed: the next sync fetches (or skips) its pages and images."""
        self.tasks.run(lambda: self.t.set_feed_options(fid, **{option: on}), on_done=lambda _: self.refresh_feeds(),
                       serial=True, context="changing the feed's offline reading")

    def prompt_move(self, fid: int) -> None:
        f = self._feed(fid)
        folders = [""] + self._folders()
        current = folders.index(f.folder) if f and f.folder in folders else 0
        folder, ok = QInputDialog.getItem(self, "Move to folder", "Folder (empty: none; / to nest):", folders,
                                          current, True)
        if ok:
            self.move_feed(fid, folder)

    def move_feed(self, fid: int, folder: str | None) -> None:
        self.tasks.run(lambda: self.t.move_feed(fid, folder), on_done=lambda _: self.refresh_feeds(),
                       serial=True, context="moving the feed")

    def prompt_unsubscribe(self, fid: int) -> None:
        f = self._feed(fid)
        name = f.title if f else "this feed"
        answer = QMessageBox.question(
            self, "Unsubscribe",
            f"Unsubscribe from “{name}”?\n\nIts articles will be removed from Tidings (starred ones too).",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Yes:
            self.unsubscribe(fid)

    def unsubscribe(self, fid: int) -> None:
        def done(_):
            if self.current_key == f"feed:{fid}":
                self.current_key = None
                self.articles_model.set_ids([])
                self.reader.show_placeholder()
                self.select_source("smart:unread")
            self.refresh_feeds()

        self.tasks.run(lambda: self.t.remove_feed(fid), on_done=done, serial=True, context="unsubscribing")

    # --- settings ---------------------------------------------------------------------------------------

    def settings_dialog(self, focus_host: bool = False) -> SettingsDialog:
        dlg = SettingsDialog(self.prefs, self, styles=self.summarise_menu.styles)
        dlg.accepted.connect(lambda: self.apply_settings(dlg.values()))
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
            from ui.theme import apply_theme

            apply_theme(QApplication.instance(), values["theme"])
            if self.reader.article:
                self.reader.show_article(self.reader.article)
        if "font_size" in changed:
            self.reader.set_font_size(values["font_size"])
        if "sync_interval_minutes" in changed:
            self._apply_sync_interval()

    # --- digests ---------------------------------------------------------------------------------------

    def load_digests(self, select: int | None = None) -> None:
        self.digest_list.clear()
        gen = self._load_gen

        def done(digests):
            if gen != self._load_gen:
                return
            self.digest_list.clear()
            from app.digest.render import long_date

            for d in digests:
                headline = d.headline or d.style
                if len(headline) > 140:
                    headline = headline[:140].rsplit(" ", 1)[0] + " …"
                item = QListWidgetItem(f"{long_date(d.date)}\n{headline}")
                item.setData(ID_ROLE, d.id)
                item.setToolTip(f"{d.style}, {'extractive' if d.extractive else d.model or ''}")
                self.digest_list.addItem(item)
            self.view_title.setText(f"Digests — {len(digests)}")
            if not digests:
                item = QListWidgetItem("No digests yet. Use “Summarise today” to write one.")
                item.setFlags(Qt.ItemFlag.NoItemFlags)
                self.digest_list.addItem(item)
                self.reader.show_placeholder("No digests yet.")
                return
            row = 0
            if select is not None:
                for i in range(self.digest_list.count()):
                    if self.digest_list.item(i).data(ID_ROLE) == select:
                        row = i
            self.digest_list.setCurrentRow(row)

        self.tasks.run(self.t.digests, on_done=done, context="loading digests")

    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_digest_changed(self, current: QListWidgetItem | None, previous) -> None:
        if current is None or current.data(ID_ROLE) is None:
            return
        did = current.data(ID_ROLE)
        from ui.digest import digest_page

        self.tasks.run(lambda: self.t.get_digest(did),
                       on_done=lambda d: self._show_digest(d, digest_page(d, self.reader.palette())),
                       context="opening the digest")

    def _show_digest(self, d, page: str | None = None) -> None:
        self.shown_digest = d
        self.act_export_digest.setEnabled(d is not None)
        if page is not None:
            self.reader.show_html(page)

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
        """Download one Ollama model or several (one after the other, one job), with progress and
        Cancel in the status bar."""
        names = [name] if isinstance(name, str) else list(dict.fromkeys(name))
        if not names or self._sync_task is not None or self._digest_task is not None:
            return
        self.progress.setRange(0, 0)
        self.progress.setFormat("%p%")
        self.progress.show()
        self.cancel_button.show()
        label = " and ".join(names)
        self.status_label.setText(f"Downloading {label}…")

        def work(task):
            for n, model in enumerate(names):
                def progress(done, total, status, n=n):
                    task.progress(n, done, total, status)
                    if task.cancelled():
                        raise _Cancelled()

                try:
                    self.t.pull_model(model, on_progress=progress)
                except _Cancelled:
                    return False
            return True

        def progress(n, done, total, status):
            if total:
                self.progress.setRange(0, 1000)
                self.progress.setValue(int(1000 * (done or 0) / total))
            of = f" ({n + 1} of {len(names)})" if len(names) > 1 else ""
            self.status_label.setText(f"Downloading {names[n]}{of}: {status}")

        def finish(ok=None):
            self._digest_task = None
            self.end_progress()
            if ok is True:
                self.status_label.setText(f"{label} {'is' if len(names) == 1 else 'are'} installed. "
                                          "“Summarise today” will use "
                                          f"{'it' if len(names) == 1 else 'them'}.")
            elif ok is False:
                self.status_label.setText("Download cancelled.")

        def failed(e):
            finish()
            self.status_label.setText("The download failed.")
            return False

        task = self.tasks.run(work, on_done=finish, on_error=failed, on_progress=progress, pass_task=True,
                              context=f"downloading {label}")
        self._digest_task = task  # one long job at a time: no digest or sync meanwhile
        self._update_summarise()
        self._active_progress_cancel = task.cancel.set

    def summarise_today(self, style: str | None = None) -> None:
        """Write a digest: `style` (default: Settings'), with the day and folders chosen in the
        Summarise menu."""
        if self._digest_task is not None:
            return
        from ui.digest import DigestPanel

        panel = DigestPanel(self)
        self.digest_panel = panel
        panel.start(style=style, **self.summarise_menu.choices())
