"""The article-list pane (middle): a header with the view's name and count, then the view's
articles (a lazy table over the facade) or, for Digests, the list of digests.

It lists what a `View` queries, newest or oldest first, all or only unread ("hide read"); it
says which article or digest was chosen (`article_chosen`, `digest_chosen`) and asks its
delegate (the window) to act on a right-click: `open_original(aid)`, `copy_link(aid)`,
`set_read(ids, read, undo=...)`, `set_star(aid, on)`.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.models import ArticleQuery
from ui.models import ID_ROLE, ArticleListModel
from ui.view import View

# A view's first rows are listed from a query of this many; a view with more then gets the rest of
# its ids from a second query (appended: the 1M-article All unread's ids take ~0.3 s to read, its
# first page ~1 ms). Small views (a feed, Today) need the first query only.
FIRST_PAGE = 500
NARROW = 460  # below this width (px) the list drops its Source column: titles are what people scan


class ArticleTable(QTableView):
    """The table; says when its width changed (the pane then fits the columns)."""

    resized = Signal()

    def resizeEvent(self, event):  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.resized.emit()


class ArticleListPane(QWidget):
    article_chosen = Signal(int)
    digest_chosen = Signal(int)
    listed = Signal(object, object)  # (View, ids): a view's articles are in (object: PySide would copy a list on every emit, 0.5 s at 1M ids)
    star_clicked = Signal(int)
    sort_changed = Signal(bool)  # newest first?

    def __init__(self, tidings, tasks, delegate, parent=None):
        super().__init__(parent)
        self.t = tidings
        self.tasks = tasks
        self.delegate = delegate
        self.view: View | None = None
        self.query: ArticleQuery | None = None
        self.newest_first = True
        self.hide_read = False
        self.load_gen = 0
        self._pending_select: int | str | None = None
        self.kept = False  # the last open keeps the article being read, even if it left the view
        self.context_menu: QMenu | None = None

        self.title = QLabel("")
        self.title.setObjectName("viewTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)

        self.model = ArticleListModel(self.t.article_rows, self, now=self.t.now)
        table = self.table = ArticleTable()
        table.setObjectName("articles")
        table.setModel(self.model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setShowGrid(False)
        table.setWordWrap(False)
        table.setTextElideMode(Qt.TextElideMode.ElideRight)
        table.setAlternatingRowColors(False)
        table.setTabKeyNavigation(False)
        table.setAccessibleName("Articles")
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self._menu)
        vh = table.verticalHeader()
        vh.hide()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # uniform rows: never measure 100k rows
        vh.setDefaultSectionSize(self.fontMetrics().height() + 10)
        hh = table.horizontalHeader()
        hh.setSectionResizeMode(ArticleListModel.STAR, QHeaderView.ResizeMode.Fixed)
        hh.setSectionResizeMode(ArticleListModel.TITLE, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(ArticleListModel.SOURCE, QHeaderView.ResizeMode.Fixed)
        hh.setSectionResizeMode(ArticleListModel.DATE, QHeaderView.ResizeMode.Fixed)
        hh.resizeSection(ArticleListModel.STAR, 22)
        bold = QFont(table.font())
        bold.setBold(True)  # unread rows are bold: size for the widest date they show
        hh.resizeSection(ArticleListModel.DATE, QFontMetrics(bold).horizontalAdvance("29 Sep 2020") + 14)
        hh.setHighlightSections(False)
        hh.setSectionsClickable(True)
        hh.setSortIndicatorShown(True)
        hh.setSortIndicator(ArticleListModel.DATE, Qt.SortOrder.DescendingOrder)
        hh.sectionClicked.connect(self._header_clicked)
        # open on selection (a click, j/k, a restore), not on the bare current index Qt sets on focus
        table.selectionModel().selectionChanged.connect(self._on_selection)
        table.clicked.connect(self._on_clicked)
        table.resized.connect(self.fit_columns)

        self.digest_list = QListWidget()
        self.digest_list.setObjectName("digests")
        self.digest_list.setWordWrap(True)
        self.digest_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.digest_list.setSpacing(2)
        self.digest_list.currentItemChanged.connect(self._on_digest_changed)
        # clicking the digest already selected (say, after reading one of its articles) opens it again
        self.digest_list.itemClicked.connect(lambda item: self._on_digest_changed(item, None))

        self.stack = QStackedWidget()
        self.stack.addWidget(table)
        self.stack.addWidget(self.digest_list)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.title)
        layout.addWidget(self.stack, 1)
        self._label = ""

    # --- columns ----------------------------------------------------------------------------------------

    def fit_columns(self) -> None:
        """Titles get what is left after a narrow Source column (none in a one-feed view or when narrow)."""
        width = self.table.viewport().width()
        one_feed = self.view is not None and self.view.is_feed
        hide = one_feed or width < NARROW
        self.table.setColumnHidden(ArticleListModel.SOURCE, hide)
        if not hide:
            self.table.horizontalHeader().resizeSection(ArticleListModel.SOURCE, max(90, min(150, width // 5)))

    def _header_clicked(self, section: int) -> None:
        if section == ArticleListModel.DATE:
            self.set_newest_first(not self.newest_first)
        else:  # the list is always in date order: keep the indicator on Date
            self._show_sort_indicator()

    def _show_sort_indicator(self) -> None:
        self.table.horizontalHeader().setSortIndicator(
            ArticleListModel.DATE, Qt.SortOrder.DescendingOrder if self.newest_first else Qt.SortOrder.AscendingOrder)

    def set_newest_first(self, on: bool) -> None:
        self.newest_first = bool(on)
        self._show_sort_indicator()
        self.sort_changed.emit(self.newest_first)
        if self.view is not None and self.view.lists_articles:
            self.open(self.view, keep=True)

    def set_hide_read(self, on: bool) -> None:
        self.hide_read = bool(on)
        if self.view is not None and self.view.lists_articles:
            self.open(self.view, keep=True)

    # --- listing a view -----------------------------------------------------------------------------------

    def set_label(self, label: str) -> None:
        """The view's name (e.g. after a rename), keeping the count."""
        self._label = label
        if self.view is not None and self.view.lists_articles and self.stack.currentWidget() is self.table:
            self._show_title(len(self.model.ids))

    def _show_title(self, n: int | None) -> None:
        label = self._label
        if n is None:
            self.title.setText(label + " …")
        else:
            what = f"{n:,} article{'s' if n != 1 else ''}" if n else "nothing here"
            if self.hide_read and self.view is not None and self.view.kind not in ("unread",):
                what += " unread" if n else ""
            self.title.setText(f"{label} — {what}")

    def open(self, view: View, label: str = "", select: int | str | None = None, keep: bool = False,
             keep_id: int | None = None) -> None:
        """List `view`'s articles; ids are queried in the background and a newer request wins."""
        self.view = view
        self._label = label or self._label
        self.load_gen += 1
        gen = self.load_gen
        if view.is_digests:
            self.query = None
            self.stack.setCurrentWidget(self.digest_list)
            self.title.setText("Digests")
            self.load_digests(select=select if isinstance(select, int) else None)
            return
        self.stack.setCurrentWidget(self.table)
        self.fit_columns()
        if view.is_search:
            text = str(view.id)
            newest = self.newest_first

            def fn():
                ids = self.t.search(text)
                return ids if newest else list(reversed(ids))
            self.query = None
        else:
            q = view.query(self.t, newest_first=self.newest_first,
                           unread_only=self.hide_read and view.kind not in ("starred",))
            self.query = q
            first = replace(q, limit=FIRST_PAGE) if not q.limit else q
            fn = lambda: self.t.article_ids(first)  # noqa: E731
        self.kept = keep
        self._pending_select = select if select is not None else (keep_id if keep else None)
        self._show_title(None)
        self.tasks.run(fn, on_done=lambda ids: self._ids_loaded(gen, view, ids), context="loading articles")

    def _ids_loaded(self, gen: int, view: View, ids: list[int]) -> None:
        if gen != self.load_gen:
            return  # the person has moved on
        if view.is_search and self.query is None:
            self.query = ArticleQuery(ids=tuple(ids))
        self.model.set_ids(ids)
        rest = self.query if (not view.is_search and self.query is not None and not self.query.limit
                              and len(ids) >= FIRST_PAGE) else None
        if rest is None:
            self._listed_all(view, ids)
            return
        self._select_pending(keep=True)  # the first page is on screen; its count follows
        self.tasks.run(lambda: self.t.article_ids(rest), on_done=lambda all_ids: self._rest_loaded(gen, view, all_ids),
                       context="loading articles")

    def _rest_loaded(self, gen: int, view: View, ids: list[int]) -> None:
        """The whole list of a view whose first page is shown: appended to it (else listed anew,
        keeping the open article selected when it is still there)."""
        if gen != self.load_gen:
            return
        if not self.model.extend_ids(ids):
            current = self.current_id()
            self.model.set_ids(ids)
            if current is not None and self._pending_select is None:
                self._pending_select = current
        self._listed_all(view, ids)

    def _listed_all(self, view: View, ids: list[int]) -> None:
        self._show_title(len(ids))
        self._select_pending()
        self.listed.emit(view, ids)

    def _select_pending(self, keep: bool = False) -> None:
        """Select what open() was asked to; `keep`: only part of the list is in yet, so an article
        not found in it stays pending."""
        select = self._pending_select
        if select is None:
            return
        row = -1
        if select == "first":
            row = 0 if self.model.ids else -1
        elif select == "first_unread":
            row = self.find_unread(0, 1)
        elif isinstance(select, int):
            row = self.model.row_of(select)
        if keep and row < 0 and select != "first":
            return
        self._pending_select = None
        if row >= 0:
            self.select_row(row)

    def reload(self) -> None:
        """The view's articles again (after a sync), keeping the open one selected."""
        if self.view is not None and self.view.lists_articles:
            self.open(self.view, keep=True, keep_id=self.current_id())

    def clear(self) -> None:
        self.view = None
        self.model.set_ids([])

    # --- rows ------------------------------------------------------------------------------------------

    def select_row(self, row: int) -> None:
        idx = self.model.index(row, ArticleListModel.TITLE)
        self.table.selectionModel().setCurrentIndex(
            idx, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(idx)

    def select_id(self, article_id: int) -> bool:
        row = self.model.row_of(article_id)
        if row >= 0 and row != self.current_row():
            self.table.selectionModel().blockSignals(True)
            try:
                self.select_row(row)
            finally:
                self.table.selectionModel().blockSignals(False)
            self.table.viewport().update()
        return row >= 0

    def current_row(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def current_id(self) -> int | None:
        return self.model.id_at(self.current_row())

    def find_unread(self, start: int, step: int = 1, skip: int | None = None) -> int:
        n = self.model.rowCount()
        r = start
        while 0 <= r < n:
            row = self.model.article_row(r)
            if row is not None and not row.read and row.id != skip:
                return r
            r += step
        return -1

    def move(self, step: int) -> None:
        if self.stack.currentWidget() is self.digest_list:
            row = self.digest_list.currentRow() + step
            if 0 <= row < self.digest_list.count():
                self.digest_list.setCurrentRow(row)
            return
        n = self.model.rowCount()
        if not n:
            return
        row = self.current_row()
        row = 0 if row < 0 and step > 0 else max(0, min(n - 1, row + step))
        self.select_row(row)

    def _on_selection(self, *_) -> None:
        aid = self.current_id()
        if aid is not None:
            self.article_chosen.emit(aid)

    def _on_clicked(self, index: QModelIndex) -> None:
        if index.column() == ArticleListModel.STAR:
            aid = self.model.id_at(index.row())
            if aid is not None:
                self.star_clicked.emit(aid)

    # --- right-click -----------------------------------------------------------------------------------

    def _menu(self, pos) -> None:
        idx = self.table.indexAt(pos)
        if not idx.isValid():
            return
        menu = self.menu_for(idx.row())
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def menu_for(self, row: int) -> QMenu:
        d = self.delegate
        r = self.model.article_row(row)
        menu = QMenu(self)
        self.context_menu = menu
        if r is None:
            return menu
        aid = r.id
        menu.addAction("Open original", lambda: d.open_original(aid))
        menu.addAction("Copy link", lambda: d.copy_link(aid))
        menu.addSeparator()
        menu.addAction("Mark as unread" if r.read else "Mark as read", lambda: d.set_read([aid], not r.read, undo=True))
        menu.addAction("Unstar" if r.starred else "Star", lambda: d.set_star(aid, not r.starred))
        menu.addSeparator()
        above, below = list(self.model.ids[:row]), list(self.model.ids[row + 1:])
        for text, ids, read in (("Mark above as read", above, True), ("Mark below as read", below, True),
                                ("Mark above as unread", above, False), ("Mark below as unread", below, False)):
            act = menu.addAction(text, lambda ids=ids, read=read: d.set_read(ids, read, undo=True))
            act.setEnabled(bool(ids))
        return menu

    # --- digests -------------------------------------------------------------------------------------

    def load_digests(self, select: int | None = None) -> None:
        self.digest_list.clear()
        gen = self.load_gen

        def done(digests):
            if gen != self.load_gen:
                return
            self.digest_list.clear()
            for d in digests:
                headline = d.headline or d.style
                if len(headline) > 140:
                    headline = headline[:140].rsplit(" ", 1)[0] + " …"
                item = QListWidgetItem(f"{self.t.digest_date_label(d.date)}\n{headline}")
                item.setData(ID_ROLE, d.id)
                item.setToolTip(f"{d.style}, {'extractive' if d.extractive else d.model or ''}")
                self.digest_list.addItem(item)
            self.title.setText(f"Digests — {len(digests)}")
            if not digests:
                item = QListWidgetItem("No digests yet. Use “Summarise today” to write one.")
                item.setFlags(Qt.ItemFlag.NoItemFlags)
                self.digest_list.addItem(item)
                self.listed.emit(View.smart("digests"), [])
                return
            row = 0
            if select is not None:
                for i in range(self.digest_list.count()):
                    if self.digest_list.item(i).data(ID_ROLE) == select:
                        row = i
            if self.digest_list.currentRow() == row:
                self._on_digest_changed(self.digest_list.item(row), None)
            self.digest_list.setCurrentRow(row)
            self.listed.emit(View.smart("digests"), [d.id for d in digests])

        self.tasks.run(self.t.digests, on_done=done, context="loading digests")

    def _on_digest_changed(self, current: QListWidgetItem | None, previous) -> None:
        if current is None or current.data(ID_ROLE) is None:
            return
        self.digest_chosen.emit(current.data(ID_ROLE))
