"""Desktop notifications through the tray (QSystemTrayIcon: the platform's own notifications on
Windows, macOS and Linux desktops; an in-window card where the desktop has none), behind a small
notifier interface a test swaps for a recorder.

The core decides what to announce and batches it (`Tidings.take_notifications`); this module
only shows each `app.notify.Notification` and opens its article (or the digest) when clicked.
It also runs the timed *Summarise today* in the background and announces the digest.
"""

from __future__ import annotations

import logging
from typing import Protocol

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QLabel, QSystemTrayIcon, QVBoxLayout, QWidget

from app.errors import TidingsError

log = logging.getLogger(__name__)


class Notifier(Protocol):
    """What shows a notification. `clicked` (a Qt signal) carries the Notification clicked."""

    clicked: Signal

    def show(self, n) -> None: ...


class TrayNotifier(QObject):
    """Shows notifications as tray messages. The tray remembers only its last message, so a click
    opens the last notification shown."""

    clicked = Signal(object)

    def __init__(self, tray: QSystemTrayIcon | None, parent=None):
        super().__init__(parent)
        self.tray = tray
        self.last = None
        if tray is not None:
            tray.messageClicked.connect(self._clicked)

    def available(self) -> bool:
        return self.tray is not None and QSystemTrayIcon.supportsMessages()

    def show(self, n) -> None:
        self.last = n
        if self.available():
            self.tray.showMessage(n.title, n.body, QSystemTrayIcon.MessageIcon.Information, 8000)

    def _clicked(self) -> None:
        if self.last is not None:
            self.clicked.emit(self.last)


class Toast(QFrame):
    """The in-window fallback where the desktop has no tray messages (some Linux desktops, Xvfb):
    a small card at the window's bottom right, clicked to open, gone after a few seconds."""

    clicked = Signal()

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("toast")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setStyleSheet("QFrame#toast { border: 1px solid palette(mid); border-radius: 6px;"
                           " background: palette(window); }")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 8, 12, 10)
        self.title = QLabel()
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.body = QLabel()
        self.body.setWordWrap(True)
        lay.addWidget(self.title)
        lay.addWidget(self.body)
        self.timer = QTimer(self, singleShot=True, interval=8000)
        self.timer.timeout.connect(self.hide)
        self.hide()

    def show_message(self, title: str, body: str) -> None:
        self.title.setText(title)
        self.body.setText(body)
        self.setFixedWidth(320)
        self.adjustSize()
        parent = self.parentWidget()
        self.move(parent.width() - self.width() - 16, parent.height() - self.height() - 40)
        self.raise_()
        self.show()
        self.timer.start()

    def mousePressEvent(self, event):  # noqa: N802 - Qt override
        self.hide()
        self.clicked.emit()


class ToastNotifier(QObject):
    clicked = Signal(object)

    def __init__(self, window, parent=None):
        super().__init__(parent)
        self.toast = Toast(window)
        self.last = None
        self.toast.clicked.connect(lambda: self.last is not None and self.clicked.emit(self.last))

    def show(self, n) -> None:
        self.last = n
        self.toast.show_message(n.title, n.body)


def default_notifier(window, parent=None):
    """The tray where it shows messages, else the in-window toast."""
    tray = getattr(window, "_tray", None)
    if tray is not None and QSystemTrayIcon.supportsMessages():
        return TrayNotifier(tray, parent)
    return ToastNotifier(window, parent)


class NotificationCenter(QObject):
    """Wires the core's notifications to a notifier and the window."""

    def __init__(self, window, notifier=None, *, timers: bool = True):
        super().__init__(window)
        self.w = window
        self.notifier = None
        self.shown: list = []
        self.set_notifier(notifier or default_notifier(window, self))
        self._digest_task = None
        self.timer = QTimer(self)
        self.timer.setInterval(60_000)  # the timed Summarise today is checked once a minute
        self.timer.timeout.connect(self.check_schedule)
        if timers:
            self.timer.start()

    def set_notifier(self, notifier) -> None:
        if self.notifier is not None:
            try:
                self.notifier.clicked.disconnect(self.open)
            except (RuntimeError, TypeError):
                pass
        self.notifier = notifier
        notifier.clicked.connect(self.open)

    # --- after a sync ---

    def sync_done(self) -> None:
        """Hooked at the end of a sync: take what the core queued and show it (in the background)."""
        self.w.tasks.run(self.w.t.take_notifications, on_done=self.show_all,
                         on_error=lambda e: isinstance(e, TidingsError), context="collecting notifications")

    def show_all(self, notes) -> None:
        for n in notes:
            self.shown.append(n)
            self.notifier.show(n)

    def open(self, n) -> None:
        """A notification was clicked: bring the window forward on its article (or the digest)."""
        self.w.bring_forward()
        if n.kind == "digest":
            self.w.select_source("smart:digests", select=n.digest_id)
            return
        if not n.article_ids:
            return
        aid = n.article_ids[0]
        key = f"feed:{n.feed_id}" if n.feed_id is not None else "smart:unread"
        if not self.w.select_source(key, select=aid):
            self.w.show_article_by_id(aid)

    # --- the timed Summarise today ---

    def check_schedule(self) -> None:
        if self._digest_task is not None or self.w._digest_task is not None:
            return

        def due():
            return self.w.t.summarise_due()

        self.w.tasks.run(due, on_done=lambda yes: yes and self.run_scheduled_digest(),
                         on_error=lambda e: isinstance(e, TidingsError), context="checking the digest timer")

    def run_scheduled_digest(self) -> None:
        if self._digest_task is not None:
            return

        def done(n):
            self._digest_task = None
            self.show_all([n])
            if self.w.current_key == "smart:digests":
                self.w.load_digests()

        def failed(e):
            self._digest_task = None
            return False

        self._digest_task = self.w.tasks.run(lambda task: self.w.t.run_scheduled_digest(cancel=task.cancel),
                                             on_done=done, on_error=failed, pass_task=True,
                                             context="writing the timed digest")
