"""Shared test setup.

Qt: tests that use Qt run headless. QT_QPA_PLATFORM must be set before Qt is first imported, so it
is set here (only if the caller did not choose a platform). Nothing else here changes how other
areas' tests run; the `ui_*` fixtures are used only by tests/test_ui_*.py.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from datetime import datetime, timedelta, timezone  # noqa: E402

import pytest  # noqa: E402

UI_NOW = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)


def fill_store(t, feeds: dict[tuple[str, str | None], int], *, now: datetime = UI_NOW, html: bool = True) -> dict:
    """Subscribe to made-up feeds and save `n` entries each, newest first; return {title: feed_id}.

    feeds: {(title, folder): n_entries}. Entry i of a feed is published i hours before `now`.
    """
    from app.models import ParsedEntry, ParsedFeed

    ids = {}
    for k, ((title, folder), n) in enumerate(feeds.items()):
        slug = title.lower().replace(" ", "-")
        feed = t.subscribe(f"http://127.0.0.1:9/{slug}.xml", folder=folder, title=title)
        entries = [
            ParsedEntry(
                guid=f"{slug}-{i}",
                url=f"https://example.org/{slug}/{i}",
                title=f"{title} story {i}",
                authors="A. Writer" if i % 2 == 0 else "",
                published=now - timedelta(hours=i, minutes=k),
                updated=None,
                summary=f"<p>Summary {i} of {title}.</p>",
                content_html=(f"<p>Body of {title} story {i}. " + "Lorem ipsum dolor sit amet. " * 40 + "</p>"
                              if html else ""),
            )
            for i in range(n)
        ]
        t.store.save_entries(feed.id, ParsedFeed(title=title, site_url=f"https://example.org/{slug}", entries=entries),
                             now=now)
        ids[title] = feed.id
    return ids


@pytest.fixture
def ui_tidings(tmp_path):
    """A facade over a fresh store in a temp dir (clock fixed at UI_NOW)."""
    from app.core import make_tidings

    t = make_tidings(tmp_path / "data", clock=lambda: UI_NOW)
    yield t
    t.close()


@pytest.fixture
def open_window(qtbot, ui_tidings):
    """Make the main window over `ui_tidings`, shown and active, its feeds loaded; links the
    reader would open in the browser are collected in `w.opened_urls` instead."""
    windows = []

    def make(**kw):
        from ui.mainwindow import MainWindow

        kw.setdefault("timers", False)
        w = MainWindow(ui_tidings, **kw)
        windows.append(w)
        w.opened_urls = []
        w.open_external = lambda url: w.opened_urls.append(url.toString())
        w.show()
        qtbot.waitExposed(w)
        w.activateWindow()  # window shortcuts need the active window, also on a real X server
        qtbot.waitUntil(w.isActiveWindow, timeout=3000)
        qtbot.waitUntil(lambda: w.feeds_loaded and w.tasks.active == 0, timeout=5000)
        return w

    yield make
    for w in windows:
        w.close()
