"""The lazy article list model (middle pane), the item roles the panes share, and relative dates.
(The sources tree's model lives with its pane in ui/sources.py.)"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from app.models import ArticleRow

KEY_ROLE = Qt.ItemDataRole.UserRole + 1
UNREAD_ROLE = Qt.ItemDataRole.UserRole + 2
ID_ROLE = Qt.ItemDataRole.UserRole + 3
SORT_ROLE = Qt.ItemDataRole.UserRole + 4  # smart views first, then folders, then feeds, by name



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

    def extend_ids(self, ids: Sequence[int]) -> bool:
        """The whole list of a view whose first page is listed (ArticleListPane.open): when it starts
        with the rows shown, the rest are appended (no reset: the selection, the scroll position and
        the cached rows stay). False when it does not (something changed in between): the caller
        lists it anew."""
        n = len(self.ids)
        if len(ids) < n or list(ids[:n]) != self.ids:
            return False
        if len(ids) > n:
            self.beginInsertRows(QModelIndex(), n, len(ids) - 1)
            self.ids = list(ids)
            self._row_of = None
            self.endInsertRows()
        return True

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

    def update_rows(self, ids, **changes) -> None:
        """`update_row` for many ids (an undo of *Mark all read*): cached rows change, one repaint."""
        from dataclasses import replace

        wanted = set(ids)
        hit = False
        for k, r in self._rows.items():
            if k in wanted:
                self._rows[k] = replace(r, **changes)
                hit = True
        if hit and self.ids:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.ids) - 1, self.columnCount() - 1))

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
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole and section == self.DATE:
            return "Click to sort newest or oldest first"
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
