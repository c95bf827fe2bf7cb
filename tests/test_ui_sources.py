"""The sources pane's model updates in place (counts and titles are diffed against what is shown,
not rebuilt): after any sequence of updates it must show exactly what a pane built afresh from the
same feeds and counts shows, and the view must have been told about every row that changed.
Real widgets, offscreen; no store (the pane shows what it is handed)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from PySide6.QtCore import QModelIndex, Qt

from app.models import Feed
from ui.sources import SourcesPane
from ui.view import View

pytestmark = pytest.mark.timeout(60)


def make_feeds(n: int) -> list[Feed]:
    folders = [None, "News", "News/World", "Blogs", "Tech/Deep/Down"]
    return [Feed(id=i + 1, url=f"http://127.0.0.1:9/f/{i}.xml", title=f"Feed {i:03d}",
                 folder=folders[i % len(folders)], unread=0) for i in range(n)]


def shown(pane: SourcesPane) -> list[tuple]:
    """Every row in display order as the view reads it through Qt's model interface: depth, key,
    title, count text, bold, tooltip, and which icon."""
    m = pane.model()
    icons = {icon.cacheKey(): name for name, icon in pane.model_._icons.items()}
    rows = []

    def walk(parent: QModelIndex, depth: int) -> None:
        for r in range(m.rowCount(parent)):
            name, count = m.index(r, 0, parent), m.index(r, 1, parent)
            assert m.parent(name) == parent
            font = name.data(Qt.ItemDataRole.FontRole)
            icon = name.data(Qt.ItemDataRole.DecorationRole)
            rows.append((depth, name.data(Qt.ItemDataRole.UserRole + 1), name.data(), count.data(),
                         bool(font and font.bold()), name.data(Qt.ItemDataRole.ToolTipRole),
                         icons.get(icon.cacheKey(), "other") if icon is not None else None))
            walk(name, depth + 1)

    walk(QModelIndex(), 0)
    return rows


def counts_of(feeds, per_feed: dict[int, int], starred: int = 0) -> dict:
    return {"feeds": dict(per_feed), "unread": sum(per_feed.values()), "today": per_feed.get(1, 0),
            "starred": starred}


class Changes:
    """The rows the view was told changed (dataChanged spans, or everything on a layout change)."""

    def __init__(self, model):
        self.model, self.keys, self.layout = model, set(), False
        model.dataChanged.connect(self._data)
        model.layoutChanged.connect(lambda *_: setattr(self, "layout", True))
        model.modelReset.connect(lambda: setattr(self, "layout", True))

    def _data(self, top, bottom, roles=()):
        assert top.parent() == bottom.parent()
        for r in range(top.row(), bottom.row() + 1):
            self.keys.add(self.model.index(r, 0, top.parent()).data(Qt.ItemDataRole.UserRole + 1))

    def clear(self):
        self.keys, self.layout = set(), False


def test_counts_and_titles_after_incremental_updates_match_a_fresh_build(qtbot):
    feeds = make_feeds(40)
    pane = SourcesPane(None)
    qtbot.addWidget(pane)
    pane.resize(300, 600)
    pane.show()
    per_feed = {f.id: 3 for f in feeds}
    pane.set_feeds(feeds, counts_of(feeds, per_feed), select=View.feed(7))
    changes = Changes(pane.model())
    rng = random.Random(12)
    starred = 0
    for step in range(60):
        before = {row[1]: row for row in shown(pane)}
        changes.clear()
        if step % 3 == 0:  # titles (some re-sort, some not), error marks, then counts with them
            for _ in range(rng.randint(1, 6)):
                i = rng.randrange(len(feeds))
                f = feeds[i]
                feeds[i] = replace(f, title=rng.choice([f.title + "!", f"A{step} " + f.title, f.title]),
                                   last_error=rng.choice([None, None, "HTTP 500"]),
                                   error_count=rng.choice([1, 3]))
            pane.set_feeds(list(feeds), counts_of(feeds, per_feed, starred), select=View.feed(7))
        else:  # a few counts move, some to 0 and back
            for _ in range(rng.randint(1, 8)):
                per_feed[rng.randrange(len(feeds)) + 1] = rng.choice([0, 0, 1, 5, 40])
            starred = step % 4
            pane.set_counts(counts_of(feeds, per_feed, starred))
        now = shown(pane)
        fresh = SourcesPane(None)
        qtbot.addWidget(fresh)
        # built from the feeds as the store lists them (by title)
        fresh.set_feeds(sorted(feeds, key=lambda f: f.title.lower()), counts_of(feeds, per_feed, starred), select=None)
        assert now == shown(fresh), f"step {step}: the updated pane differs from a fresh one"
        if not changes.layout:  # the view repaints only what it was told about
            moved = {k for k, row in before.items() if {r[1]: r for r in now}[k] != row}
            assert moved <= changes.keys, f"step {step}: rows changed but not signalled: {moved - changes.keys}"
        # the selection stayed on its feed through re-sorts
        assert pane.currentIndex().data(Qt.ItemDataRole.UserRole + 1) == "feed:7"


def test_folder_sums_bold_and_starred(qtbot):
    feeds = make_feeds(10)
    pane = SourcesPane(None)
    qtbot.addWidget(pane)
    per_feed = {f.id: 0 for f in feeds}
    per_feed.update({3: 2, 8: 5, 5: 1})  # feed 3 and 8 in News/World, 5 in Tech/Deep/Down
    pane.set_feeds(feeds, counts_of(feeds, per_feed, starred=4), select=None)
    rows = {row[1]: row for row in shown(pane)}
    assert rows["folder:News/World"][3] == "7" and rows["folder:News"][3] == "7"
    assert rows["folder:Tech"][3] == rows["folder:Tech/Deep"][3] == rows["folder:Tech/Deep/Down"][3] == "1"
    assert rows["folder:Blogs"][3] == "" and not rows["folder:Blogs"][4]
    assert rows["smart:starred"][3] == "4" and not rows["smart:starred"][4]  # counted, never bold
    assert rows["smart:unread"][3] == "8" and rows["smart:unread"][4]
    pane.set_counts(counts_of(feeds, {**per_feed, 3: 0, 8: 0}))
    rows = {row[1]: row for row in shown(pane)}
    assert rows["folder:News"][3] == "" and not rows["folder:News"][4]
    assert rows["feed:5"][3] == "1" and rows["feed:5"][4]
    assert pane.model_.unread("folder:Tech/Deep") == 1


def test_rename_resorts_in_place_and_keeps_expansion(qtbot):
    feeds = make_feeds(10)
    pane = SourcesPane(None)
    qtbot.addWidget(pane)
    pane.set_feeds(feeds, counts_of(feeds, {f.id: 1 for f in feeds}), select=View.feed(2))
    news = pane.model_.key_index("folder:News")
    pane.collapse(news)
    top = [row[2] for row in shown(pane) if row[0] == 0 and row[1].startswith("feed:")]
    assert top == ["Feed 000", "Feed 005"]
    feeds[5] = replace(feeds[5], title="Aardvark")
    assert pane.model_.set_feeds(feeds, counts_of(feeds, {f.id: 1 for f in feeds})) is False  # not rebuilt
    top = [row[2] for row in shown(pane) if row[0] == 0 and row[1].startswith("feed:")]
    assert top == ["Aardvark", "Feed 000"]
    assert not pane.isExpanded(pane.model_.key_index("folder:News"))
    assert pane.isExpanded(pane.model_.key_index("folder:Blogs"))
    assert pane.currentIndex().data(Qt.ItemDataRole.UserRole + 1) == "feed:2"
    # moving a feed to another folder rebuilds the tree
    feeds[5] = replace(feeds[5], folder="Blogs")
    assert pane.model_.set_feeds(feeds, counts_of(feeds, {f.id: 1 for f in feeds})) is True
    assert pane.model_.key_index("feed:6").parent() == pane.model_.key_index("folder:Blogs")


def test_big_unread_counts_fit_the_count_column():
    from ui.sources import compact_count

    assert [compact_count(n) for n in (48, 99_999, 100_000, 250_400, 1_000_000, 1_234_567)] == \
        ["48", "99999", "100k", "250k", "1M", "1.2M"]


def test_a_big_library_relabels_now_and_resorts_in_the_next_turn(qtbot, monkeypatch):
    import ui.sources

    monkeypatch.setattr(ui.sources, "RESORT_LATER_FEEDS", 5)
    feeds = make_feeds(10)
    pane = SourcesPane(None)
    qtbot.addWidget(pane)
    pane.set_feeds(feeds, counts_of(feeds, {f.id: 1 for f in feeds}), select=View.feed(2))
    pane.collapse(pane.model_.key_index("folder:News"))
    feeds[5] = replace(feeds[5], title="Aardvark")
    assert pane.model_.set_feeds(feeds, counts_of(feeds, {f.id: 1 for f in feeds})) is False
    top = [row[2] for row in shown(pane) if row[0] == 0 and row[1].startswith("feed:")]
    assert top == ["Feed 000", "Aardvark"]  # relabelled at once, in its old place
    qtbot.waitUntil(lambda: [row[2] for row in shown(pane) if row[0] == 0 and row[1].startswith("feed:")]
                    == ["Aardvark", "Feed 000"], timeout=2000)
    assert not pane.isExpanded(pane.model_.key_index("folder:News"))
    assert pane.currentIndex().data(Qt.ItemDataRole.UserRole + 1) == "feed:2"
