"""Small windows: the message bar, Add feed (with discovery), Settings."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import TidingsError


class MessageBar(QFrame):
    """A dismissable strip above the panes: what happened, in plain words, and what to do."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.setProperty("severity", "info")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        self.icon = QLabel()
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action = QPushButton()
        self.action.hide()
        self.action.clicked.connect(self._act)
        self._callback = None
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout.addWidget(self.icon)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.action)
        layout.addWidget(close)
        self.message = ""
        self.hint = ""
        self.hide()

    def show_message(self, message: str, hint: str = "", severity: str = "error",
                     action: tuple[str, object] | None = None) -> None:
        """`action`: (button label, callback) for the obvious next step, e.g. ("Download model", …)."""
        self.message, self.hint = message, hint
        self._callback = action[1] if action else None
        self.action.setText(action[0] if action else "")
        self.action.setVisible(action is not None)
        icon = QStyle.StandardPixmap.SP_MessageBoxWarning if severity == "error" else \
            QStyle.StandardPixmap.SP_MessageBoxInformation
        self.icon.setPixmap(self.style().standardIcon(icon).pixmap(20, 20))
        body = f"<b>{html.escape(message)}</b>"
        if hint:
            body += f"<br>{html.escape(hint)}"
        self.text.setText(body)
        self.setProperty("severity", severity)
        self.style().unpolish(self)
        self.style().polish(self)
        self.show()


    def _act(self) -> None:
        callback, self._callback = self._callback, None
        self.hide()
        if callback:
            callback()


class AddFeedDialog(QDialog):
    """Type a feed or site address; Tidings lists the feeds it finds there; pick one."""

    subscribe_requested = Signal(str, str, object)  # feed url, title, folder (None: top level)

    def __init__(self, tidings, tasks, folders: list[str], parent: QWidget | None = None, initial_url: str = "",
                 known_urls: set[str] | None = None):
        super().__init__(parent)
        self.known_urls = known_urls or set()
        self.setWindowTitle("Add feed")
        self.t = tidings
        self.tasks = tasks
        self.setMinimumWidth(480)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        row = QHBoxLayout()
        self.url = QLineEdit(initial_url)
        self.url.setPlaceholderText("https://example.com or https://example.com/feed.xml")
        self.find_button = QPushButton("Find feeds")
        self.find_button.setDefault(True)
        row.addWidget(self.url, 1)
        row.addWidget(self.find_button)
        form.addRow("Address:", row)
        self.folder = QComboBox()
        self.folder.setEditable(True)
        self.folder.addItem("")
        self.folder.addItems(folders)
        self.folder.setToolTip("Leave empty for no folder; type a new name to make one (use / to nest).")
        form.addRow("Folder:", self.folder)
        layout.addLayout(form)
        self.status = QLabel("Enter the address of a site or of its feed.")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.results = QListWidget()
        self.results.setMinimumHeight(120)
        layout.addWidget(self.results, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.subscribe_button = self.buttons.addButton("Subscribe", QDialogButtonBox.ButtonRole.AcceptRole)
        self.subscribe_button.setEnabled(False)
        layout.addWidget(self.buttons)
        self.buttons.rejected.connect(self.reject)
        self.subscribe_button.clicked.connect(self._subscribe)
        self.find_button.clicked.connect(self.find)
        self.url.returnPressed.connect(self.find)
        self.results.itemSelectionChanged.connect(
            lambda: self.subscribe_button.setEnabled(bool(self.results.selectedItems())))
        self.results.itemDoubleClicked.connect(lambda _: self._subscribe())

    @Slot()
    def find(self) -> None:
        url = self.url.text().strip()
        if not url:
            return
        self.results.clear()
        self.find_button.setEnabled(False)
        self.status.setText(f"Looking for feeds at {url} …")
        # as typed: Tidings.discover adds the scheme itself (https, then http if that cannot connect)
        self.tasks.run(lambda: self.t.discover(url), on_done=self._found, on_error=self._failed,
                       context="looking for feeds")

    def _found(self, found: list[tuple[str, str]]) -> None:
        self.find_button.setEnabled(True)
        known = self.known_urls
        for feed_url, title in found:
            item = QListWidgetItem(f"{title or feed_url}\n{feed_url}")
            item.setData(Qt.ItemDataRole.UserRole, (feed_url, title))
            if feed_url in known:
                item.setText(item.text() + "   (already subscribed)")
            self.results.addItem(item)
        if found:
            self.status.setText(f"Found {len(found)} feed{'s' if len(found) != 1 else ''}. Pick one to subscribe.")
            self.results.setCurrentRow(0)
            self.subscribe_button.setDefault(True)
        else:
            self.status.setText("No feed found at that address.")

    def _failed(self, e: BaseException) -> bool:
        self.find_button.setEnabled(True)
        if isinstance(e, TidingsError):
            self.status.setText(f"<b>{html.escape(str(e))}</b><br>{html.escape(e.hint or '')}")
            return True
        return False  # a bug: the helper logs it and says so

    def _subscribe(self) -> None:
        items = self.results.selectedItems()
        if not items:
            return
        feed_url, title = items[0].data(Qt.ItemDataRole.UserRole)
        folder = self.folder.currentText().strip("/ ") or None
        self.subscribe_requested.emit(feed_url, title or "", folder)
        self.accept()


class SettingsDialog(QDialog):
    def __init__(self, values: dict, parent: QWidget | None = None, styles: list[str] | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        form = QFormLayout(self)
        self.form = form
        self.interval = QSpinBox()
        self.interval.setRange(0, 24 * 60)
        self.interval.setSuffix(" min")
        self.interval.setSpecialValueText("Never (sync by hand)")
        self.interval.setValue(int(values.get("sync_interval_minutes") or 0))
        form.addRow("Sync every:", self.interval)
        self.full_text = QCheckBox("Fetch the full article when a feed only has a teaser")
        self.full_text.setChecked(bool(values.get("full_text", True)))
        form.addRow("Full text:", self.full_text)
        self.images = QCheckBox("Keep images for offline reading")
        self.images.setChecked(bool(values.get("images", True)))
        form.addRow("Images:", self.images)
        self.delay = QDoubleSpinBox()
        self.delay.setRange(-1, 60)
        self.delay.setDecimals(1)
        self.delay.setSingleStep(0.5)
        self.delay.setSuffix(" s")
        self.delay.setSpecialValueText("Never")
        delay = values.get("mark_read_delay_seconds", 1.0)
        self.delay.setValue(-1 if delay is None or delay < 0 else float(delay))
        form.addRow("Mark read after opening:", self.delay)
        self.theme = QComboBox()
        for value, label in (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark")):
            self.theme.addItem(label, value)
        self.theme.setCurrentIndex(max(0, self.theme.findData(values.get("theme", "system"))))
        form.addRow("Theme:", self.theme)
        self.font_size = QSpinBox()
        self.font_size.setRange(8, 32)
        self.font_size.setSuffix(" pt")
        self.font_size.setValue(int(values.get("font_size") or 11))
        form.addRow("Article text size:", self.font_size)
        self.style_box = QComboBox()
        for name in styles or [values.get("digest_style") or "briefing"]:
            self.style_box.addItem(name)
        self.style_box.setCurrentText(values.get("digest_style") or "briefing")
        form.addRow("Digest style:", self.style_box)
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.addItem("")
        self.model.setCurrentText(values.get("ollama_model") or "")
        self.model.lineEdit().setPlaceholderText("Choose automatically from the installed models")
        self.model.setToolTip("The Ollama model that writes digests.")
        form.addRow("Digest model:", self.model)
        note = QLabel("Full text and images apply to feeds added from now on; each feed keeps its own choice.")
        note.setWordWrap(True)
        form.addRow(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict:
        return {
            "sync_interval_minutes": self.interval.value(),
            "full_text": self.full_text.isChecked(),
            "images": self.images.isChecked(),
            "mark_read_delay_seconds": self.delay.value(),
            "theme": self.theme.currentData(),
            "font_size": self.font_size.value(),
            "digest_style": self.style_box.currentText() or "briefing",
            "ollama_model": self.model.currentText().strip() or None,
        }

    def set_models(self, names: list[str]) -> None:
        """Fill the model list once Ollama answered (asked in the background)."""
        current = self.model.currentText()
        for n in names:
            if self.model.findText(n) < 0:
                self.model.addItem(n)
        self.model.setCurrentText(current)
