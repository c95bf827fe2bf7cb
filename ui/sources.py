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
from contextlib import contextmanager, nullcontext

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QFont, QIcon, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QApplication, QHeaderView, QMenu, QStyle, QTreeView

from app.models import Feed
from ui.models import ID_ROLE, KEY_ROLE, SORT_ROLE, UNREAD_ROLE
from ui.smart_views import extra_icons
from ui.view import SMART, View

_STATE_ROLE = Qt.ItemDataRole.UserRole + 9
FEED_MIME = "application/x-tidings-feed"


class SourcesModel(QStandardItemModel):
    """Smart views, then folders (nested, from OPML) and feeds, each with an unread count column.

    Small (hundreds of rows): rebuilt when feeds change, counts updated in place."""

    def __init__(self, parent=None, icon_path: Callable[[str], object] | None = None):
        super().__init__(0, 2, parent)
        self.setSortRole(SORT_ROLE)
        self._icon_path = icon_path
        self._favicons: dict[str, QIcon] = {}
        self._items: dict[str, QStandardItem] = {}
        self._counts: dict[str, QStandardItem] = {}
        self._feed_folder: dict[int, str | None] = {}
        self._bold = QFont()
        self._bold.setBold(True)
        self._normal = QFont()
        self._right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        self._muted = QBrush()
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

    def refresh_palette(self) -> None:
        """The counts' muted colour follows the theme (called when it changes)."""
        from ui.theme import muted

        self._muted = QBrush(muted(QApplication.palette()))
        for item in self._counts.values():
            item.setData(self._muted, Qt.ItemDataRole.ForegroundRole)

    def key_index(self, view: View | str) -> QModelIndex:
        item = self._items.get(str(view))
        return item.index() if item is not None else QModelIndex()

    def set_feeds(self, feeds: Sequence[Feed], counts: dict | None = None) -> bool:
        """Show `feeds`; True when the tree was rebuilt (feeds added, removed or moved), False when
        only titles, icons, error marks and counts changed in place (the selection and expansion stay)."""
        structure = {(f.id, f.folder) for f in feeds}
        if self.feeds and structure == {(f.id, f.folder) for f in self.feeds}:
            self.feeds = list(feeds)
            with self._quietly():
                renamed = [self._decorate(self._items[str(View.feed(f.id))], f) for f in feeds]
            if any(renamed):
                self.sort(0)  # titles changed (e.g. the first sync): keep alphabetical order, in place
            self.set_counts(counts or {"feeds": {f.id: f.unread for f in feeds}})
            return False
        self.feeds = list(feeds)
        # Build with signals off, then one reset: item-by-item signals cost ~0.1 ms each in the view.
        self.blockSignals(True)
        try:
            self._rebuild(feeds)
        finally:
            self.blockSignals(False)
        self.beginResetModel()
        self.endResetModel()
        self.set_counts(counts or {"feeds": {f.id: f.unread for f in feeds}})
        return True

    @contextmanager
    def _quietly(self):
        """Change many items' data with signals off, then tell the views once per parent."""
        self.blockSignals(True)
        try:
            yield
        finally:
            self.blockSignals(False)
        parents = [QModelIndex()] + [it.index() for k, it in self._items.items() if View.parse(k).is_folder]
        for parent in parents:
            n = self.rowCount(parent)
            if n:
                self.dataChanged.emit(self.index(0, 0, parent), self.index(n - 1, 1, parent))

    def _rebuild(self, feeds: Sequence[Feed]) -> None:
        self.clear()
        self.setColumnCount(2)
        self._items.clear()
        self._counts.clear()
        self._feed_folder = {f.id: f.folder for f in feeds}
        root = self.invisibleRootItem()
        for n, name in enumerate(SMART):
            v = View.smart(name)
            self._add(root, v, v.label(), self._icons[name]).setData(f"0{n}", SORT_ROLE)
        folders: dict[str, QStandardItem] = {}

        def folder_item(path: str) -> QStandardItem:
            if path in folders:
                return folders[path]
            parent_path, _, name = path.rpartition("/")
            parent = folder_item(parent_path) if parent_path else root
            folders[path] = self._add(parent, View.folder(path), name, self._icons["folder"])
            folders[path].setData("1" + name.lower(), SORT_ROLE)
            return folders[path]

        for path in sorted({f.folder for f in feeds if f.folder}, key=str.lower):
            folder_item(path)
        for f in feeds:
            parent = folder_item(f.folder) if f.folder else root
            item = self._add(parent, View.feed(f.id), f.title or f.url, self._icons["feed"])
            item.setData(f.id, ID_ROLE)
            self._decorate(item, f)

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

    def _decorate(self, item: QStandardItem, f: Feed) -> bool:
        """Title, icon (the site's favicon when synced), and the error mark: a warning icon and the
        stored error in the tooltip."""
        tip = f.url
        if f.last_error:
            tip = f"{f.title}\n{f.url}\n\nLast sync failed: {f.last_error}"
            if f.error_count > 1:
                tip += f" ({f.error_count} times in a row)"
        state = (f.title or f.url, bool(f.last_error), tip, f.icon)
        old = item.data(_STATE_ROLE)
        if old == state:
            return False
        item.setData(state, _STATE_ROLE)
        item.setText(state[0])
        item.setData("2" + state[0].lower(), SORT_ROLE)
        item.setIcon(self._icons["error"] if f.last_error else (self._favicon(f.icon) or self._icons["feed"]))
        item.setToolTip(tip)
        return old is None or old[0] != state[0]  # renamed: the caller re-sorts

    def _add(self, parent: QStandardItem, view: View, label: str, icon: QIcon) -> QStandardItem:
        # (not editable: the view has no edit triggers; renames go through the facade)
        key = str(view)
        item = QStandardItem(icon, label)
        item.setData(key, KEY_ROLE)
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if view.is_feed:
            flags |= Qt.ItemFlag.ItemIsDragEnabled
        if view.is_folder or view.kind == "unread":  # a feed dropped on a folder moves into it
            flags |= Qt.ItemFlag.ItemIsDropEnabled
        item.setFlags(flags)
        count = QStandardItem("")
        count.setData(key, KEY_ROLE)
        count.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        count.setData(self._right, Qt.ItemDataRole.TextAlignmentRole)
        count.setData(self._muted, Qt.ItemDataRole.ForegroundRole)
        parent.appendRow([item, count])
        self._items[key] = item
        self._counts[key] = count
        return item

    def set_counts(self, counts: dict) -> None:
        per_feed: dict[int, int] = {int(k): v for k, v in counts.get("feeds", {}).items()}
        values: dict[str, int] = {}
        for fid, folder in self._feed_folder.items():
            n = per_feed.get(fid, 0)
            values[str(View.feed(fid))] = n
            while folder:
                values[str(View.folder(folder))] = values.get(str(View.folder(folder)), 0) + n
                folder = folder.rpartition("/")[0]
        for key in ("today", "unread", "starred"):
            if key in counts:
                values[str(View.smart(key))] = counts[key]
        digests = str(View.smart("digests"))
        changed = [(key, item, values.get(key, 0)) for key, item in self._items.items()
                   if key != digests and item.data(UNREAD_ROLE) != values.get(key, 0)]
        if not changed:
            return
        quiet = self._quietly() if len(changed) > 20 else nullcontext()
        starred = str(View.smart("starred"))
        with quiet:
            for key, item, n in changed:
                item.setData(n, UNREAD_ROLE)
                self._counts[key].setText(str(n) if n else "")
                item.setFont(self._bold if n > 0 and key != starred else self._normal)

    def unread(self, view: View | str) -> int:
        item = self._items.get(str(view))
        return (item.data(UNREAD_ROLE) or 0) if item is not None else 0

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
        return next((f for f in self.model_.feeds if f.id == fid), None)

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
