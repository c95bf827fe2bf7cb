"""The sources pane (left): smart views, folders and feeds with their unread counts.

It shows what the window hands it (`set_feeds`, `set_counts`), says which view was chosen
(`view_chosen`), and asks its delegate (the window) to act on a right-click or a drop: the
delegate has `mark_all_read(view)`, `start_sync(feed_ids)`, `prompt_rename(fid)`,
`prompt_move(fid)`, `prompt_edit_url(fid)`, `set_feed_option(fid, option, on)`,
`prompt_unsubscribe(fid)`, `move_feed(fid, folder)` and the folder ones `prompt_new_folder(parent)`,
`prompt_rename_folder(path)`, `prompt_delete_folder(path)`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QAbstractItemModel, QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QFont, QIcon
from PySide6.QtWidgets import QAbstractItemView, QApplication, QHeaderView, QMenu, QStyle, QTreeView

from app.models import Feed
from ui.models import ID_ROLE, KEY_ROLE, SORT_ROLE, UNREAD_ROLE
from ui.smart_views import extra_icons
from ui.view import SMART, View

FEED_MIME = "application/x-tidings-feed"
_DISPLAY, _DECORATION, _FONT, _TOOLTIP, _ALIGN, _FOREGROUND = (int(r) for r in (
    Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.FontRole,
    Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.TextAlignmentRole, Qt.ItemDataRole.ForegroundRole))


def compact_count(n: int) -> str:
    """An unread count that fits the count column (five digits wide): 48, 66600, 250k, 1.2M."""
    if n < 100_000:
        return str(n)
    if n < 1_000_000:
        return f"{n // 1000}k"
    return f"{n / 1_000_000:.1f}".rstrip("0").rstrip(".") + "M"


class _Row:
    """One row of the tree: a smart view, a folder or a feed, and what its two cells show.

    Plain Python: the view asks `SourcesModel.data` only for the rows on screen, so changing
    thousands of rows is attribute writes and one signal per parent, not a Qt call per cell."""

    __slots__ = ("key", "view_kind", "parent", "children", "row", "label", "deco", "tip", "sort", "unread",
                 "font", "font_changed", "state", "fid", "flags", "chain")

    def __init__(self, key: str, parent: "_Row | None", label: str, deco, sort: str, flags=None):
        self.key, self.parent, self.label, self.deco, self.sort, self.flags = key, parent, label, deco, sort, flags
        self.children: list[_Row] = []
        self.row = 0
        self.tip: str | None = None
        self.unread: int | None = None  # None until counted (and always for Digests)
        self.font: QFont | None = None  # bold while it has unread articles (not Starred)
        self.font_changed = False
        self.view_kind = key.partition(":")[0]  # "smart", "folder" or "feed"
        self.state: tuple | None = None  # a feed's (title, failed, tooltip, icon name) as shown
        self.fid: int | None = None
        self.chain: tuple[_Row, ...] = ()  # a feed's folders, innermost first (their counts add up)
        if parent is not None:
            self.row = len(parent.children)
            parent.children.append(self)

    # read by the tests, in QStandardItem's words
    def text(self) -> str:
        return self.label

    def toolTip(self) -> str | None:  # noqa: N802 - QStandardItem's name
        return self.tip

    def icon(self) -> QIcon:
        return self.deco


class _CountCell:
    """The count column of one row, as the tests read it (`text()`, `foreground()`)."""

    def __init__(self, model: "SourcesModel", row: _Row):
        self._model, self._row = model, row

    def text(self) -> str:
        return self._model._count_text(self._row)

    def foreground(self) -> QBrush:
        return self._model._muted


class _CountCells:
    def __init__(self, model: "SourcesModel"):
        self._model = model

    def __getitem__(self, key: str) -> _CountCell:
        return _CountCell(self._model, self._model._items[key])

    def __contains__(self, key: str) -> bool:
        return key in self._model._items


RESORT_LATER_FEEDS = 1000  # a library this big re-sorts renamed feeds in the next turn of the event loop


class SourcesModel(QAbstractItemModel):
    """Smart views, then folders (nested, from OPML) and feeds, each with an unread count column.

    A Python tree (`_Row`s) behind a QAbstractItemModel: with 5,000 feeds a QStandardItemModel cost
    ~0.35 s to build and 40-120 ms per count or title update on the GUI thread (scripts/bench_ui.py
    --child sources). Rebuilt when feeds are added, removed or moved; titles, icons, error marks and
    counts are diffed against what is shown and only the rows that changed are signalled. The price:
    the view's calls into Python make a full repaint of the pane ~5 ms dearer, and a re-sort that
    changes the order (the first sync's titles) lays out every row again through index()/flags()."""

    def __init__(self, parent=None, icon_path: Callable[[str], object] | None = None):
        super().__init__(parent)
        self._resort_pending = False
        self._icon_path = icon_path
        self._favicons: dict[str, QIcon] = {}
        self._root = _Row("", None, "", None, "")
        self._items: dict[str, _Row] = {}
        self._counts = _CountCells(self)  # the tests' view of the count column
        self._feed_rows: list[_Row] = []
        self._feed_counts: dict[int, int] | None = None  # each feed's count as shown (None: not yet)
        self._by_id: dict[int, Feed] = {}
        self._bold = QFont()
        self._bold.setBold(True)
        self._normal = QFont()
        self._right = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._muted = QBrush()
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        # ItemNeverHasChildren on leaves: else expandAll() keeps a persistent index per feed (5,000),
        # which every re-sort must move, and the view asks each whether it has children
        leaf = base | Qt.ItemFlag.ItemNeverHasChildren
        self._flags = {"root": Qt.ItemFlag.ItemIsDropEnabled, "count": leaf, "smart": leaf,
                       "feed": leaf | Qt.ItemFlag.ItemIsDragEnabled,
                       "unread": leaf | Qt.ItemFlag.ItemIsDropEnabled,  # drop a feed here: out of its folder
                       "folder": base | Qt.ItemFlag.ItemIsDropEnabled}  # a feed dropped on a folder moves into it
        self.refresh_palette()
        style = QApplication.style()
        self._icons = {
            "today": style.standardIcon(QStyle.StandardPixmap.SP_FileDialogDetailedView),
            "unread": style.standardIcon(QStyle.StandardPixmap.SP_FileDialogListView),
            "starred": style.standardIcon(QStyle.StandardPixmap.SP_DialogYesButton),
            "digests": style.standardIcon(QStyle.StandardPixmap.SP_FileDialogContentsView),
            "folder": style.standardIcon(QStyle.StandardPixmap.SP_DirIcon),
            "feed": style.standardIcon(QStyle.StandardPixmap.SP_FileIcon),
            "error": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning),
            **extra_icons(style),  # Podcasts, Hidden
        }
        self.feeds: list[Feed] = []

    # --- Qt's model interface ----------------------------------------------------------------------------

    # index(), flags() and parent() run once or twice per row whenever the view lays the tree out
    # (5,000 feeds: ~15,000 calls), so they stay minimal; an invalid index's internalPointer() is None.
    def index(self, row: int, column: int, parent: QModelIndex = QModelIndex()) -> QModelIndex:
        children = (parent.internalPointer() or self._root).children
        if 0 <= row < len(children) and 0 <= column < 2:
            return self.createIndex(row, column, children[row])
        return QModelIndex()

    def parent(self, index: QModelIndex = None):  # noqa: D102 - also QObject.parent()
        if index is None:
            return super().parent()
        node = index.internalPointer()
        up = node.parent if node is not None else None
        if up is None or up is self._root:
            return QModelIndex()
        return self.createIndex(up.row, 0, up)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 - Qt override
        if parent.isValid():
            return len(parent.internalPointer().children) if parent.column() == 0 else 0
        return len(self._root.children)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 - Qt override
        return 2

    def hasChildren(self, parent: QModelIndex = QModelIndex()) -> bool:  # noqa: N802 - Qt override
        if not parent.isValid():
            return bool(self._root.children)
        return parent.column() == 0 and bool(parent.internalPointer().children)

    def flags(self, index: QModelIndex):
        node = index.internalPointer()
        if node is None:
            return self._flags["root"]  # as QStandardItemModel's invisible root
        return node.flags if index.column() == 0 else self._flags["count"]

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        node: _Row = index.internalPointer()
        if role == KEY_ROLE:
            return node.key
        if index.column() == 1:
            if role == Qt.ItemDataRole.DisplayRole:
                return self._count_text(node)
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return self._right
            if role == Qt.ItemDataRole.ForegroundRole:
                return self._muted
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return node.label
        if role == Qt.ItemDataRole.DecorationRole:
            return node.deco
        if role == Qt.ItemDataRole.FontRole:
            return node.font
        if role == Qt.ItemDataRole.ToolTipRole:
            return node.tip
        if role == UNREAD_ROLE:
            return node.unread
        if role == ID_ROLE:
            return node.fid
        if role == SORT_ROLE:
            return node.sort
        return None

    def multiData(self, index: QModelIndex, span) -> None:  # noqa: N802 - Qt override
        """What a delegate asks for a cell, in one call (Qt 6 painting asks 7 roles per cell): one
        call into Python per cell instead of one per role (a repaint ~10% cheaper)."""
        node = index.internalPointer()
        if node is None:
            return
        if index.column() == 1:
            values = self._count_roles(node)
        else:
            values = {_DISPLAY: node.label, _DECORATION: node.deco, _FONT: node.font, _TOOLTIP: node.tip,
                      KEY_ROLE: node.key, UNREAD_ROLE: node.unread, ID_ROLE: node.fid, SORT_ROLE: node.sort}
        get = values.get
        for i in range(len(span)):
            rd = span[i]
            rd.setData(get(rd.role()))  # None: an invalid QVariant, "no such data" (spans are reused)

    def _count_roles(self, node: _Row) -> dict:
        return {_DISPLAY: self._count_text(node), _ALIGN: self._right, _FOREGROUND: self._muted, KEY_ROLE: node.key}

    @staticmethod
    def _count_text(node: _Row) -> str:
        return compact_count(node.unread) if node.unread else ""

    def _node_index(self, node: _Row, column: int = 0) -> QModelIndex:
        return self.createIndex(node.row, column, node)

    def _changed(self, nodes, columns: tuple[int, int] = (0, 1)) -> None:
        """One dataChanged per parent, over the rows from the first to the last that changed. (A
        count alone is column 1: for a column-0 span QTreeView asks every row whether it has
        children, a call into Python each.)"""
        spans: dict[int, list] = {}
        for node in nodes:
            span = spans.get(id(node.parent))
            if span is None:
                spans[id(node.parent)] = [node.parent, node.row, node.row]
            else:
                span[1] = min(span[1], node.row)
                span[2] = max(span[2], node.row)
        left, right = columns
        for parent, first, last in spans.values():
            self.dataChanged.emit(self.createIndex(first, left, parent.children[first]),
                                  self.createIndex(last, right, parent.children[last]))

    # --- what it shows -----------------------------------------------------------------------------------

    def refresh_palette(self) -> None:
        """The counts' muted colour follows the theme (called when it changes)."""
        from ui.theme import muted

        self._muted = QBrush(muted(QApplication.palette()))
        if self._root.children:
            self._changed(self._items.values())

    def key_index(self, view: View | str) -> QModelIndex:
        node = self._items.get(str(view))
        return self._node_index(node) if node is not None else QModelIndex()

    def feed(self, fid: int) -> Feed | None:
        return self._by_id.get(fid)

    def set_feeds(self, feeds: Sequence[Feed], counts: dict | None = None) -> bool:
        """Show `feeds`; True when the tree was rebuilt (feeds added, removed or moved), False when
        only titles, icons, error marks and counts changed in place (the selection and expansion stay)."""
        old = self.feeds
        same = bool(old) and len(old) == len(feeds) and all(
            a.id == b.id and a.folder == b.folder for a, b in zip(old, feeds))
        if not same and old:  # the same feeds in another order are still the same tree
            same = len(old) == len(feeds) and {(f.id, f.folder) for f in feeds} == {(f.id, f.folder) for f in old}
        self.feeds = list(feeds)
        self._by_id = {f.id: f for f in feeds}
        if same:
            items = self._items
            changed, renamed = [], False
            for f in feeds:
                node = items[f"feed:{f.id}"]
                r = self._decorate(node, f)
                if r is not None:
                    changed.append(node)
                    renamed |= r
            # titles changed (e.g. the first sync): keep alphabetical order, in place
            if changed and renamed and len(feeds) >= RESORT_LATER_FEEDS:
                self._changed(changed, (0, 0))
                self._resort_later()
            elif changed and not (renamed and self._sort()):
                self._changed(changed, (0, 0))
            self.set_counts(counts or {"feeds": {f.id: f.unread for f in feeds}})
            return False
        self.beginResetModel()
        self._rebuild(feeds)
        self.endResetModel()
        self.set_counts(counts or {"feeds": {f.id: f.unread for f in feeds}})
        return True

    def _rebuild(self, feeds: Sequence[Feed]) -> None:
        self._root = root = _Row("", None, "", None, "")
        self._items = items = {}
        flags = self._flags

        def add(parent: _Row, key: str, label: str, deco, sort: str, kind: str) -> _Row:
            node = _Row(key, parent, label, deco, sort, flags[kind])
            items[key] = node
            return node

        for n, name in enumerate(SMART):
            v = View.smart(name)
            add(root, str(v), v.label(), self._icons[name], f"0{n}", "unread" if name == "unread" else "smart")
        folders: dict[str, _Row] = {}

        def folder_row(path: str) -> _Row:
            if path in folders:
                return folders[path]
            parent_path, _, name = path.rpartition("/")
            parent = folder_row(parent_path) if parent_path else root
            folders[path] = add(parent, f"folder:{path}", name, self._icons["folder"], "1" + name.lower(), "folder")
            return folders[path]

        for path in sorted({f.folder for f in feeds if f.folder}, key=str.lower):
            folder_row(path)
        self._feed_rows = []
        self._feed_counts = None
        for f in feeds:
            parent = folder_row(f.folder) if f.folder else root
            node = add(parent, f"feed:{f.id}", "", None, "", "feed")
            node.fid = f.id
            chain, up = [], parent
            while up is not root:
                chain.append(up)
                up = up.parent
            node.chain = tuple(chain)
            self._decorate(node, f)
            self._feed_rows.append(node)

    def _resort_later(self) -> None:
        """The re-sort in the event loop's next turn, not this one: relabelling and re-sorting
        5,000 feeds in one turn (after a first sync) was a ~60 ms stall; each alone fits."""
        if not self._resort_pending:
            self._resort_pending = True
            QTimer.singleShot(0, self._resort_now)

    def _resort_now(self) -> None:
        self._resort_pending = False
        self._sort()

    def _sort(self) -> bool:
        """Every level by its sort key (smart views, folders, feeds by title), keeping the selection
        and the expanded folders (persistent indexes follow their rows). False when the order
        stayed: the view need not lay out 5,000 rows again."""
        orders = []
        stack = [self._root]
        while stack:
            node = stack.pop()
            if node.children:
                order = sorted(node.children, key=lambda r: r.sort)  # stable, as QStandardItemModel's
                if any(a is not b for a, b in zip(order, node.children)):
                    orders.append((node, order))
                stack.extend(c for c in node.children if c.children)
        if not orders:
            return False
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        nodes = [(i.internalPointer(), i.column()) for i in persistent]
        for node, order in orders:
            node.children[:] = order
            for i, child in enumerate(order):
                child.row = i
        self.changePersistentIndexList(persistent, [self.createIndex(n.row, c, n) for n, c in nodes])
        self.layoutChanged.emit()
        return True

    def _favicon(self, relative: str | None) -> QIcon | None:
        if not relative or self._icon_path is None:
            return None
        if relative not in self._favicons:
            try:
                icon = QIcon(str(self._icon_path(relative)))
            except Exception:  # noqa: BLE001 - outside the cache, or unreadable: the plain icon
                icon = QIcon()
            self._favicons[relative] = icon
        icon = self._favicons[relative]
        return None if icon.isNull() else icon

    def _decorate(self, node: _Row, f: Feed) -> bool | None:
        """Title, icon (the site's favicon when synced), and the error mark: a warning icon and the
        stored error in the tooltip. None when nothing changed, else whether it was renamed."""
        if f.last_error:
            tip = f"{f.title}\n{f.url}\n\nLast sync failed: {f.last_error}"
            if f.error_count > 1:
                tip += f" ({f.error_count} times in a row)"
        else:
            tip = f.url
        state = (f.title or f.url, bool(f.last_error), tip, f.icon)
        old = node.state
        if old == state:
            return None
        node.state = state
        node.label = state[0]
        node.sort = "2" + state[0].lower()
        node.deco = self._icons["error"] if f.last_error else (self._favicon(f.icon) or self._icons["feed"])
        node.tip = tip
        return old is None or old[0] != state[0]  # renamed: the caller re-sorts

    def set_counts(self, counts: dict) -> None:
        """Show unread counts (a feed's, its folders' sums, the smart views'). Only the feeds whose
        count changed since the last call are visited (during a sync, a few dozen of 5,000), their
        folders adjusted by the difference, and only the rows that changed are signalled."""
        per_feed = counts.get("feeds", {})
        if per_feed and not isinstance(next(iter(per_feed)), int):
            per_feed = {int(k): v for k, v in per_feed.items()}
        shown = self._feed_counts
        changed: dict[int, _Row] = {}  # id(row) -> row
        if shown is None:  # after a rebuild: every row once
            shown = self._feed_counts = {}
            totals: dict[int, int] = {}
            for node in self._feed_rows:
                n = shown[node.fid] = per_feed.get(node.fid, 0)
                totals[id(node)] = n
                for up in node.chain:
                    totals[id(up)] = totals.get(id(up), 0) + n
            for node in self._items.values():
                if node.view_kind in ("feed", "folder"):
                    self._show_count(node, totals.get(id(node), 0), changed)
        else:
            moved = [(fid, n) for fid, n in per_feed.items() if shown.get(fid, n) != n]
            if len(per_feed) < len(shown):  # feeds left out count 0
                moved += [(fid, 0) for fid in shown.keys() - per_feed.keys() if shown[fid]]
            items = self._items
            for fid, n in moved:
                node = items.get(f"feed:{fid}")
                if node is None:
                    continue
                delta = n - shown[fid]
                shown[fid] = n
                self._show_count(node, n, changed)
                for up in node.chain:
                    self._show_count(up, (up.unread or 0) + delta, changed)
        for key in ("today", "unread", "starred", "podcasts", "hidden"):
            node = self._items.get(f"smart:{key}")
            if node is not None:
                self._show_count(node, counts.get(key, 0) if key in ("today", "unread", "starred") else 0, changed)
        if not changed:
            return
        rows = list(changed.values())
        restyled = [r for r in rows if r.font_changed]
        for r in restyled:
            r.font_changed = False
        if len(rows) <= 64:  # a few rows (a sync's latest feeds): one signal each, the view repaints those
            for r in restyled:
                self.dataChanged.emit(self._node_index(r, 0), self._node_index(r, 0))
            for r in rows:
                self.dataChanged.emit(self._node_index(r, 1), self._node_index(r, 1))
        else:
            if restyled:
                self._changed(restyled, (0, 0))
            self._changed(rows, (1, 1))

    def _show_count(self, node: _Row, n: int, changed: dict) -> None:
        if node.unread == n:
            return
        node.unread = n
        font = self._bold if n > 0 and node.key != "smart:starred" else self._normal
        if font is not node.font:
            node.font = font
            node.font_changed = True
        changed[id(node)] = node

    def unread(self, view: View | str) -> int:
        node = self._items.get(str(view))
        return (node.unread or 0) if node is not None else 0

    def keys(self) -> list[str]:
        return list(self._items)

    def views(self) -> list[View]:
        return [View.parse(k) for k in self._items]

    def mimeTypes(self):  # noqa: N802 - Qt override
        return [FEED_MIME]

    def mimeData(self, indexes):  # noqa: N802 - Qt override
        from PySide6.QtCore import QMimeData

        data = QMimeData()
        view = View.parse(indexes[0].data(KEY_ROLE)) if indexes else None
        if view is not None and view.is_feed:
            data.setData(FEED_MIME, str(view.feed_id).encode())
        return data

    def supportedDropActions(self):  # noqa: N802 - Qt override
        return Qt.DropAction.MoveAction


class SourcesPane(QTreeView):
    view_chosen = Signal(object)  # View
    view_reselected = Signal(object)  # a click on the current row

    def __init__(self, delegate, icon_path: Callable[[str], object] | None = None, parent=None):
        super().__init__(parent)
        self.delegate = delegate
        self.model_ = SourcesModel(self, icon_path=icon_path)
        self.setObjectName("sources")
        self.setIndentation(14)
        self.setModel(self.model_)
        self.setHeaderHidden(True)
        self.setUniformRowHeights(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.clicked.connect(self._on_clicked)
        self.setAccessibleName("Feeds and folders")
        # drag a feed onto a folder (or onto All unread: out of every folder)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self._quiet = False
        self.context_menu: QMenu | None = None

    # --- what it shows -------------------------------------------------------------------------------

    @property
    def feeds(self) -> list[Feed]:
        return self.model_.feeds

    def feed(self, fid: int) -> Feed | None:
        return self.model_.feed(fid)

    def feed_titles(self) -> dict[int, str]:
        return {f.id: f.title or f.url for f in self.model_.feeds}

    def folders(self) -> list[str]:
        return sorted({str(v.id) for v in self.model_.views() if v.is_folder}, key=str.lower)

    def label(self, view: View) -> str:
        if view.is_feed:
            return view.label(self.feed_titles())
        return view.label()

    def set_feeds(self, feeds, counts, select: View | None) -> None:
        self._quiet = True
        try:
            if self.model_.set_feeds(feeds, counts):
                self.expandAll()
            header = self.header()
            header.setStretchLastSection(False)
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
            # Fixed, not ResizeToContents: that re-measures every row on each count change (O(n²) in a sync)
            header.setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(1, self.fontMetrics().horizontalAdvance("00000") + 8)
            if select is not None and not select.is_search:
                self._set_current(select)
        finally:
            self._quiet = False

    def set_counts(self, counts: dict) -> None:
        self.model_.set_counts(counts)

    def has(self, view: View) -> bool:
        return self.model_.key_index(view).isValid()

    def select(self, view: View) -> bool:
        """Make `view` the current row without announcing it (the window opens it itself)."""
        if not self.has(view):
            return False
        self._quiet = True
        try:
            self._set_current(view)
        finally:
            self._quiet = False
        return True

    def clear_current(self) -> None:
        self._quiet = True
        try:
            self.selectionModel().clearSelection()
            self.selectionModel().setCurrentIndex(QModelIndex(), QItemSelectionModel.SelectionFlag.Clear)
        finally:
            self._quiet = False

    def _set_current(self, view: View) -> None:
        idx = self.model_.key_index(view)
        if idx.isValid():
            self.selectionModel().setCurrentIndex(
                idx, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)

    def _on_current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        if self._quiet or not current.isValid():
            return
        view = View.parse(current.data(KEY_ROLE))
        if view is not None:
            self.view_chosen.emit(view)

    def _on_clicked(self, index: QModelIndex) -> None:
        """A click on the row already current (e.g. Digests, after reading a digest's article)."""
        view = View.parse(index.data(KEY_ROLE)) if index.isValid() else None
        if view is not None and not self._quiet:
            self.view_reselected.emit(view)

    def refresh_palette(self) -> None:
        self.model_.refresh_palette()
        self.viewport().update()

    # --- right-click -----------------------------------------------------------------------------------

    def _menu(self, pos) -> None:
        idx = self.indexAt(pos)
        view = View.parse(idx.data(KEY_ROLE)) if idx.isValid() else None
        menu = self.menu_for(view)
        if not menu.isEmpty():
            menu.popup(self.viewport().mapToGlobal(pos))

    def menu_for(self, view: View | None) -> QMenu:
        d = self.delegate
        menu = QMenu(self)
        self.context_menu = menu
        if view is None:
            menu.addAction("New folder…", lambda: d.prompt_new_folder(None))
            return menu
        if view.is_digests:
            return menu
        menu.addAction("Mark all read", lambda: d.mark_all_read(view))
        if view.is_feed:
            fid = view.feed_id
            menu.addAction("Sync this feed", lambda: d.start_sync([fid]))
            menu.addSeparator()
            menu.addAction("Rename…", lambda: d.prompt_rename(fid))
            menu.addAction("Move to folder…", lambda: d.prompt_move(fid))
            menu.addAction("Edit address…", lambda: d.prompt_edit_url(fid))
            menu.addSeparator()
            f = self.feed(fid)
            for label, option in (("Fetch full text for offline reading", "fetch_full_text"),
                                  ("Download images for offline reading", "fetch_images")):
                act = menu.addAction(label)
                act.setCheckable(True)
                act.setChecked(bool(f and getattr(f, option)))
                act.toggled.connect(lambda on, option=option: d.set_feed_option(fid, option, on))
            menu.addSeparator()
            menu.addAction("Unsubscribe…", lambda: d.prompt_unsubscribe(fid))
        elif view.is_folder:
            path = str(view.id)
            ids = [f.id for f in self.feeds if f.folder and (f.folder == path or f.folder.startswith(path + "/"))]
            menu.addAction("Sync this folder", lambda: d.start_sync(ids))
            menu.addSeparator()
            menu.addAction("New folder inside…", lambda: d.prompt_new_folder(path))
            menu.addAction("Rename folder…", lambda: d.prompt_rename_folder(path))
            menu.addAction("Delete folder…", lambda: d.prompt_delete_folder(path))
        else:
            menu.addSeparator()
            menu.addAction("New folder…", lambda: d.prompt_new_folder(None))
        d.extend_menu(menu, view)  # notify, always translate, keep articles (ui.power)
        return menu

    # --- drag a feed to another folder ------------------------------------------------------------------

    def drop_target(self, idx: QModelIndex) -> tuple[bool, str | None]:
        """(True, folder) where a feed dropped on `idx` goes: a folder, a feed's folder, or the top level."""
        view = View.parse(idx.data(KEY_ROLE)) if idx.isValid() else None
        if view is None or view.kind == "unread":
            return True, None
        if view.is_folder:
            return True, str(view.id)
        if view.is_feed:
            f = self.feed(view.feed_id)
            return True, f.folder if f else None
        return False, None

    def dragEnterEvent(self, event):  # noqa: N802 - Qt override
        if event.mimeData().hasFormat(FEED_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event):  # noqa: N802 - Qt override
        ok, _ = self.drop_target(self.indexAt(event.position().toPoint()))
        if ok and event.mimeData().hasFormat(FEED_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event):  # noqa: N802 - Qt override
        data = event.mimeData()
        if not data.hasFormat(FEED_MIME):
            event.ignore()
            return
        ok, folder = self.drop_target(self.indexAt(event.position().toPoint()))
        fid = int(bytes(data.data(FEED_MIME)).decode() or 0)
        f = self.feed(fid)
        event.setDropAction(Qt.DropAction.CopyAction)  # the model is rebuilt from the store, not moved by Qt
        event.accept()
        if ok and f is not None and (f.folder or None) != folder:
            self.delegate.move_feed(fid, folder)
