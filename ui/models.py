"""Qt models over the facade's data: the sources tree (left) and the lazy article list (middle)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QFont, QIcon, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QApplication, QStyle

from app.models import ArticleRow, Feed

KEY_ROLE = Qt.ItemDataRole.UserRole + 1
UNREAD_ROLE = Qt.ItemDataRole.UserRole + 2
ID_ROLE = Qt.ItemDataRole.UserRole + 3
SORT_ROLE = Qt.ItemDataRole.UserRole + 4  # smart views first, then folders, then feeds, by name

SMART_VIEWS = [("today", "Today"), ("unread", "All unread"), ("starred", "Starred"), ("digests", "Digests")]
from ui.smart_views import EXTRA_SMART_VIEWS, extra_icons  # noqa: E402 - issue 11: Podcasts, Hidden
SMART_VIEWS += EXTRA_SMART_VIEWS  # issue 11


def relative_time(d: datetime | None, now: datetime | None = None) -> str:
    """'now', '5 min', '3 h', 'yesterday', 'Tue', '21 Nov', '21 Nov 2024' (local time)."""
    if d is None:
        return ""
    now = now or datetime.now(timezone.utc)
    secs = (now - d).total_seconds()
    if secs < 0:
        secs = 0
    if secs < 60:
        return "now"
    if secs < 3600:
        return f"{int(secs // 60)} min"
    local, local_now = d.astimezone(), now.astimezone()
    days = (local_now.date() - local.date()).days
    if days == 0:
        return f"{int(secs // 3600)} h"
    if days == 1:
        return "yesterday"
    if days < 7:
        return local.strftime("%a")
    if local.year == local_now.year:
        return f"{local.day} {local.strftime('%b')}"
    return f"{local.day} {local.strftime('%b %Y')}"


# --- left: smart views, folders, feeds --------------------------------------------------------------


class SourcesModel(QStandardItemModel):
    """Smart views, then folders (nested, from OPML) and feeds, each with an unread count column.

    Small (hundreds of rows): rebuilt when feeds change, counts updated in place."""

    def __init__(self, parent=None):
        super().__init__(0, 2, parent)
        self.setSortRole(SORT_ROLE)
        self._items: dict[str, QStandardItem] = {}
        self._counts: dict[str, QStandardItem] = {}
        self._feed_folder: dict[int, str | None] = {}
        self._bold = QFont()
        self._bold.setBold(True)
        self._normal = QFont()
        self._right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        from ui.theme import muted

        self._muted = QBrush(muted(QApplication.palette()))
        style = QApplication.style()
        self._icons = {
            "today": style.standardIcon(QStyle.StandardPixmap.SP_FileDialogDetailedView),
            "unread": style.standardIcon(QStyle.StandardPixmap.SP_FileDialogListView),
            "starred": style.standardIcon(QStyle.StandardPixmap.SP_DialogYesButton),
            "digests": style.standardIcon(QStyle.StandardPixmap.SP_FileDialogContentsView),
            "folder": style.standardIcon(QStyle.StandardPixmap.SP_DirIcon),
            "feed": style.standardIcon(QStyle.StandardPixmap.SP_FileIcon),
            "error": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning),
        }
        self._icons.update(extra_icons(style))  # issue 11
        self.feeds: list[Feed] = []

    def key_index(self, key: str) -> QModelIndex:
        item = self._items.get(key)
        return item.index() if item is not None else QModelIndex()

    def set_feeds(self, feeds: Sequence[Feed], counts: dict | None = None) -> bool:
        """Show `feeds`; True when the tree was rebuilt (feeds added, removed or moved), False when
        only titles, error marks and counts changed in place (the selection and expansion stay)."""
        structure = {(f.id, f.folder) for f in feeds}
        if self.feeds and structure == {(f.id, f.folder) for f in self.feeds}:
            self.feeds = list(feeds)
            with self._quietly():
                renamed = [self._decorate(self._items[f"feed:{f.id}"], f) for f in feeds]
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
        parents = [QModelIndex()] + [it.index() for k, it in self._items.items() if k.startswith("folder:")]
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
        for n, (key, label) in enumerate(SMART_VIEWS):
            self._add(root, f"smart:{key}", label, self._icons[key]).setData(f"0{n}", SORT_ROLE)
        folders: dict[str, QStandardItem] = {}

        def folder_item(path: str) -> QStandardItem:
            if path in folders:
                return folders[path]
            parent_path, _, name = path.rpartition("/")
            parent = folder_item(parent_path) if parent_path else root
            folders[path] = self._add(parent, f"folder:{path}", name, self._icons["folder"])
            folders[path].setData("1" + name.lower(), SORT_ROLE)
            return folders[path]

        for path in sorted({f.folder for f in feeds if f.folder}, key=str.lower):
            folder_item(path)
        for f in feeds:
            parent = folder_item(f.folder) if f.folder else root
            item = self._add(parent, f"feed:{f.id}", f.title or f.url, self._icons["feed"])
            item.setData(f.id, ID_ROLE)
            self._decorate(item, f)

    def _decorate(self, item: QStandardItem, f: Feed) -> bool:
        """Title, and the error mark: a warning icon and the stored error in the tooltip."""
        tip = f.url
        if f.last_error:
            tip = f"{f.title}\n{f.url}\n\nLast sync failed: {f.last_error}"
            if f.error_count > 1:
                tip += f" ({f.error_count} times in a row)"
        state = (f.title or f.url, bool(f.last_error), tip)
        old = item.data(Qt.ItemDataRole.UserRole + 9)
        if old == state:
            return False
        item.setData(state, Qt.ItemDataRole.UserRole + 9)
        item.setText(state[0])
        item.setData("2" + state[0].lower(), SORT_ROLE)
        item.setIcon(self._icons["error"] if f.last_error else self._icons["feed"])
        item.setToolTip(tip)
        return old is None or old[0] != state[0]  # renamed: the caller re-sorts

    def _add(self, parent: QStandardItem, key: str, label: str, icon: QIcon) -> QStandardItem:
        # (not editable: the view has no edit triggers; renames go through the facade)
        item = QStandardItem(icon, label)
        item.setData(key, KEY_ROLE)
        count = QStandardItem("")
        count.setData(key, KEY_ROLE)
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
            values[f"feed:{fid}"] = n
            while folder:
                values[f"folder:{folder}"] = values.get(f"folder:{folder}", 0) + n
                folder = folder.rpartition("/")[0]
        for key in ("today", "unread", "starred"):
            if key in counts:
                values[f"smart:{key}"] = counts[key]
        changed = [(key, item, values.get(key, 0)) for key, item in self._items.items()
                   if key != "smart:digests" and item.data(UNREAD_ROLE) != values.get(key, 0)]
        if not changed:
            return
        quiet = self._quietly() if len(changed) > 20 else nullcontext()
        with quiet:
            for key, item, n in changed:
                item.setData(n, UNREAD_ROLE)
                self._counts[key].setText(str(n) if n else "")
                bold = n > 0 and key != "smart:starred"
                item.setFont(self._bold if bold else self._normal)

    def unread(self, key: str) -> int:
        item = self._items.get(key)
        return (item.data(UNREAD_ROLE) or 0) if item is not None else 0

    def keys(self) -> list[str]:
        return list(self._items)


# --- middle: the lazy article list ------------------------------------------------------------------


class ArticleListModel(QAbstractTableModel):
    """Ids first, rows on demand: `data()` fetches the block of 200 around a row it has not seen
    (~1 ms from SQLite) and caches it, so a 100k-article view opens as fast as a 10-article one
    (the Anki browser's table model shape)."""

    STAR, TITLE, SOURCE, DATE = range(4)
    HEADERS = ["", "Title", "Source", "Date"]
    BLOCK = 200
    MAX_BLOCKS = 50  # cached rows stay under 10k however far one scrolls (oldest blocks dropped)

    def __init__(self, fetch_rows: Callable[[Sequence[int]], list[ArticleRow]], parent=None,
                 now: Callable[[], datetime] | None = None):
        super().__init__(parent)
        self._fetch_rows = fetch_rows
        self._now = now or (lambda: datetime.now(timezone.utc))
        self.ids: list[int] = []
        self._rows: dict[int, ArticleRow] = {}
        self._blocks: dict[int, list[int]] = {}  # block start -> its ids, oldest first (LRU order)
        self._row_of: dict[int, int] | None = None
        self._bold = QFont()
        self._bold.setBold(True)
        self._stamp = self._now()
        self.fetches = 0  # for tests/benchmarks: how many blocks were read

    # --- content ---------------------------------------------------------------------------------

    def set_ids(self, ids: Sequence[int]) -> None:
        self.beginResetModel()
        self.ids = list(ids)
        self._rows = {}
        self._blocks = {}
        self._row_of = None
        self._stamp = self._now()
        self.endResetModel()

    def row_of(self, article_id: int) -> int:
        if self._row_of is None:
            self._row_of = {i: r for r, i in enumerate(self.ids)}
        return self._row_of.get(article_id, -1)

    def id_at(self, row: int) -> int | None:
        return self.ids[row] if 0 <= row < len(self.ids) else None

    def article_row(self, row: int) -> ArticleRow | None:
        if not 0 <= row < len(self.ids):
            return None
        aid = self.ids[row]
        r = self._rows.get(aid)
        if r is None:
            self._fetch(row)
            r = self._rows.get(aid)
        return r

    def _fetch(self, row: int) -> None:
        start = (row // self.BLOCK) * self.BLOCK
        block = self.ids[start:start + self.BLOCK]
        self.fetches += 1
        got = {r.id: r for r in self._fetch_rows(block)}
        self._rows.update(got)
        self._blocks.pop(start, None)
        self._blocks[start] = block
        while len(self._blocks) > self.MAX_BLOCKS:
            old = next(iter(self._blocks))
            for aid in self._blocks.pop(old):
                self._rows.pop(aid, None)

    def update_row(self, article_id: int, **changes) -> None:
        """Reflect a change (read, starred) made through the facade, without a refetch."""
        from dataclasses import replace

        r = self._rows.get(article_id)
        row = self.row_of(article_id)
        if r is None or row < 0:
            return
        self._rows[article_id] = replace(r, **changes)
        self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))

    def set_all_read(self) -> None:
        from dataclasses import replace

        for k, r in self._rows.items():
            if not r.read:
                self._rows[k] = replace(r, read=True)
        if self.ids:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.ids) - 1, self.columnCount() - 1))

    # --- Qt model API --------------------------------------------------------------------------

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.ids)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else 4

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def flags(self, index):
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.FontRole, Qt.ItemDataRole.ToolTipRole,
                        Qt.ItemDataRole.TextAlignmentRole, Qt.ItemDataRole.AccessibleTextRole, ID_ROLE):
            return None
        r = self.article_row(index.row())
        if r is None:
            return None
        col = index.column()
        if role == ID_ROLE:
            return r.id
        if role == Qt.ItemDataRole.FontRole:
            return None if r.read or col == self.STAR else self._bold
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col == self.STAR:
                return Qt.AlignmentFlag.AlignCenter
            if col == self.DATE:
                return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            return None
        if col == self.STAR:
            if role == Qt.ItemDataRole.ToolTipRole:
                return "Starred" if r.starred else None
            if role == Qt.ItemDataRole.AccessibleTextRole:
                return "starred" if r.starred else "not starred"
            return "★" if r.starred else ""
        if col == self.TITLE:
            if role == Qt.ItemDataRole.AccessibleTextRole:
                return f"{r.title} ({'read' if r.read else 'unread'})"
            return r.title or "(untitled)"
        if col == self.SOURCE:
            return r.feed_title
        if col == self.DATE:
            if role == Qt.ItemDataRole.ToolTipRole:
                return r.date.astimezone().strftime("%A %d %B %Y, %H:%M")
            return relative_time(r.date, self._stamp)
        return None
