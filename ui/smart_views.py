"""Issue 11's smart views: *Hidden* (what rules hid) and *Podcasts* (articles with audio or video).

Their names, labels and queries are in `ui.view.View`; their icons here."""

from __future__ import annotations

from PySide6.QtWidgets import QStyle


def extra_icons(style) -> dict:
    return {"podcasts": style.standardIcon(QStyle.StandardPixmap.SP_MediaVolume),
            "hidden": style.standardIcon(QStyle.StandardPixmap.SP_DialogDiscardButton)}
