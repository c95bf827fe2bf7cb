"""Issue 11's smart views: *Hidden* (what rules hid) and *Podcasts* (articles with audio or video).

Hooked into `ui.models.SMART_VIEWS` / its icons and `MainWindow.query_for` by one line each."""

from __future__ import annotations

from PySide6.QtWidgets import QStyle

from app.models import ArticleQuery

EXTRA_SMART_VIEWS = [("podcasts", "Podcasts"), ("hidden", "Hidden")]


def extra_icons(style) -> dict:
    return {"podcasts": style.standardIcon(QStyle.StandardPixmap.SP_MediaVolume),
            "hidden": style.standardIcon(QStyle.StandardPixmap.SP_DialogDiscardButton)}


def extra_query(key: str) -> ArticleQuery | None:
    """The query of an extra smart view, None for any other key."""
    if key == "smart:hidden":
        return ArticleQuery(hidden=True)
    if key == "smart:podcasts":
        return ArticleQuery(podcasts=True)
    return None
