"""Light/dark: follow the system unless the Theme setting says otherwise."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from app.resources import resource_path

log = logging.getLogger(__name__)

_system_palette: QPalette | None = None


def dark_palette() -> QPalette:
    p = QPalette()
    base, window, text = QColor(30, 31, 34), QColor(43, 45, 48), QColor(223, 225, 229)
    muted = QColor(140, 144, 150)
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        p.setColor(group, QPalette.ColorRole.Window, window)
        p.setColor(group, QPalette.ColorRole.WindowText, text)
        p.setColor(group, QPalette.ColorRole.Base, base)
        p.setColor(group, QPalette.ColorRole.AlternateBase, QColor(38, 40, 43))
        p.setColor(group, QPalette.ColorRole.Text, text)
        p.setColor(group, QPalette.ColorRole.Button, window)
        p.setColor(group, QPalette.ColorRole.ButtonText, text)
        p.setColor(group, QPalette.ColorRole.ToolTipBase, base)
        p.setColor(group, QPalette.ColorRole.ToolTipText, text)
        p.setColor(group, QPalette.ColorRole.Highlight, QColor(53, 116, 240))
        p.setColor(group, QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
        p.setColor(group, QPalette.ColorRole.Link, QColor(110, 160, 255))
        p.setColor(group, QPalette.ColorRole.PlaceholderText, muted)
        p.setColor(group, QPalette.ColorRole.Mid, QColor(60, 62, 66))
        p.setColor(group, QPalette.ColorRole.Light, QColor(70, 72, 76))
        p.setColor(group, QPalette.ColorRole.Dark, QColor(20, 20, 22))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, muted)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Base, window)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Button, window)
    return p


def muted(palette: QPalette) -> QColor:
    """Secondary text: between the text and the background, readable in light and dark schemes.
    (PlaceholderText is often the text colour with alpha, which turns black once made opaque.)"""
    fg = palette.color(QPalette.ColorRole.Text)
    bg = palette.color(QPalette.ColorRole.Base)
    mix = 0.42
    return QColor(round(fg.red() * (1 - mix) + bg.red() * mix), round(fg.green() * (1 - mix) + bg.green() * mix),
                  round(fg.blue() * (1 - mix) + bg.blue() * mix))


def apply_theme(app: QApplication, theme: str = "system") -> None:
    """'system' keeps the platform's palette (and follows its changes); 'light'/'dark' force one."""
    global _system_palette
    if _system_palette is None:
        _system_palette = QPalette(app.palette())
    hints = QGuiApplication.styleHints()
    if theme == "dark":
        _set_scheme(hints, Qt.ColorScheme.Dark)
        app.setPalette(dark_palette())
    elif theme == "light":
        _set_scheme(hints, Qt.ColorScheme.Light)
        app.setPalette(app.style().standardPalette())
    else:
        _set_scheme(hints, Qt.ColorScheme.Unknown)
        app.setPalette(_system_palette)
    repolish(app)


def repolish(app: QApplication) -> None:
    """Widgets under a style sheet keep the palette they were polished with (panes stay white,
    headers turn black on dark): setting the sheet again re-polishes every widget in the new one."""
    sheet = app.styleSheet()
    if sheet:
        app.setStyleSheet("")
        app.setStyleSheet(sheet)


def _set_scheme(hints, scheme) -> None:
    try:
        hints.setColorScheme(scheme)
    except AttributeError:  # Qt < 6.8
        pass


def load_stylesheet(app: QApplication) -> None:
    path = resource_path("styles", "tidings.qss")
    try:
        app.setStyleSheet(path.read_text(encoding="utf-8"))
    except OSError:
        log.warning("style sheet %s not found", path)
