"""Small windows: the message bar, Add feed (with discovery), Settings."""

from __future__ import annotations

import html
import re

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


class ShortcutSheet(QDialog):
    """`?`: every keyboard shortcut of the window, read from its actions (so it never goes stale)."""

    EXTRA = [("Enter", "Open original (in the list or the article)"), ("Escape", "Leave the search"),
             ("Mouse back / forward", "Back / Forward")]

    def __init__(self, window):
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.rows: list[tuple[str, str]] = []
        seen = set()
        for a in window.actions():
            keys = [k for k in (seq.toString(seq.SequenceFormat.NativeText) for seq in a.shortcuts())
                    if k and k != "Shift+?" and ("+" in k or len(k) == 1 or k in ("Space", "Backspace", "F1"))]
            text = a.text().replace("&", "").replace("◀ ", "").replace(" ▶", "")
            if keys and text not in seen:
                seen.add(text)
                self.rows.append((", ".join(keys), text))
        self.rows += self.EXTRA
        for keys, text in self.rows:
            key = QLabel(f"<b>{html.escape(keys)}</b>")
            form.addRow(key, QLabel(html.escape(text)))
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)


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
        self.url.installEventFilter(self)  # Enter in the address: _return_pressed, not the default button too
        self._found_for: str | None = None  # the address the listed feeds were found at
        self.results.itemSelectionChanged.connect(
            lambda: self.subscribe_button.setEnabled(bool(self.results.selectedItems())))
        self.results.itemDoubleClicked.connect(lambda _: self._subscribe())

    def eventFilter(self, obj, ev):  # noqa: N802 - Qt override
        from PySide6.QtCore import QEvent

        if obj is self.url and ev.type() == QEvent.Type.KeyPress and ev.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._return_pressed()
            return True
        return super().eventFilter(obj, ev)

    def _return_pressed(self) -> None:
        """Enter: subscribe to the feed found at this address; a changed address is looked up first."""
        if self._found_for == self.url.text().strip() and self.results.selectedItems():
            self._subscribe()
        else:
            self.find()

    @Slot()
    def find(self) -> None:
        url = self.url.text().strip()
        if not url:
            return
        self.results.clear()
        self._found_for = None
        self.find_button.setEnabled(False)
        self.status.setText(f"Looking for feeds at {url} …")
        # as typed: Tidings.discover adds the scheme itself (https, then http if that cannot connect)
        self.tasks.run(lambda: self.t.discover(url), on_done=self._found, on_error=self._failed,
                       context="looking for feeds")

    def _found(self, found: list[tuple[str, str]]) -> None:
        self.find_button.setEnabled(True)
        self._found_for = self.url.text().strip()
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


#: what the Summarise menu and Settings call the built-in styles; a person's own are shown by name
STYLE_LABELS = {"briefing": "Briefing", "narrative": "Narrative letter", "analyst": "Analyst brief",
                "newsletter": "Newsletter"}
#: embedding models offered for story grouping (any other Ollama model name may be typed)
EMBED_MODELS = ("all-minilm", "nomic-embed-text", "mxbai-embed-large")
DEFAULT_EMBED_MODEL = "all-minilm"
DEFAULT_OLLAMA_HOST = "127.0.0.1:11434"

_HOST = re.compile(r"^(?:(?P<scheme>https?)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
                   r"(?::(?P<port>\d{1,5}))?/?$")


def style_label(name: str) -> str:
    return STYLE_LABELS.get(name) or name.replace("_", " ").replace("-", " ").capitalize()


def ordered_styles(names: list[str]) -> list[str]:
    """The three shapes first (briefing, narrative, analyst), then the rest by name."""
    first = [n for n in STYLE_LABELS if n in names]
    return first + sorted((n for n in names if n not in STYLE_LABELS), key=str.lower)


def valid_ollama_host(text: str) -> bool:
    """Empty (the default), host[:port], or http(s)://host[:port]; the port 1-65535."""
    text = text.strip()
    if not text:
        return True
    m = _HOST.match(text)
    if not m:
        return False
    port = m.group("port")
    return port is None or 0 < int(port) < 65536


def looks_like_embedding_model(name: str) -> bool:
    n = name.lower()
    return any(k in n for k in ("embed", "minilm", "bge", "gte", "e5-", "arctic"))


class SettingsDialog(QDialog):
    """Edits a copy of the window's settings; `values()` is what to save. Lists that need Ollama
    or files (models, styles) are filled later by `set_models` / `set_styles`, asked off the GUI thread."""

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
        note = QLabel("Full text and images apply to feeds added from now on; each feed keeps its own choice.")
        note.setWordWrap(True)
        form.addRow(note)

        # --- the digest ---
        heading = QLabel("<b>Summarise today</b>")
        form.addRow(heading)
        self.style_box = QComboBox()
        self.style_box.setToolTip("The shape “Summarise today” writes; the Summarise menu offers the others.")
        self._style = values.get("digest_style") or "briefing"
        self.set_styles(styles or [self._style])
        form.addRow("Default digest style:", self.style_box)
        self.host = QLineEdit(values.get("ollama_host") or "")
        self.host.setObjectName("ollamaHost")
        self.host.setPlaceholderText(DEFAULT_OLLAMA_HOST)
        self.host.setToolTip("Where Ollama listens: host[:port] or http(s)://host:port. "
                             "Empty: OLLAMA_HOST, else 127.0.0.1:11434.")
        self.host_error = QLabel("Give the address as host[:port] or http(s)://host:port, e.g. 127.0.0.1:11434.")
        self.host_error.setWordWrap(True)
        self.host_error.setObjectName("hostError")
        self.host_error.hide()
        form.addRow("Ollama address:", self.host)
        form.addRow(self.host_error)
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.addItem("")
        self.model.setCurrentText(values.get("ollama_model") or "")
        self.model.lineEdit().setPlaceholderText("Choose automatically from the installed models")
        self.model.setToolTip("The Ollama model that writes digests. Empty: one of the installed models.")
        form.addRow("Digest model:", self.model)
        self.embed_model = QComboBox()
        self.embed_model.setEditable(True)
        self.embed_model.addItems(EMBED_MODELS)
        self.embed_model.setCurrentText(values.get("embed_model") or DEFAULT_EMBED_MODEL)
        self.embed_model.lineEdit().setPlaceholderText(DEFAULT_EMBED_MODEL)
        self.embed_model.setToolTip("The Ollama embedding model that finds the same story across outlets. "
                                    "Tidings offers to download it when it is missing.")
        form.addRow("Story grouping model:", self.embed_model)
        personal = values.get("digest_personal")
        self.personal = QCheckBox("Rank stories by what I read and star")
        self.personal.setToolTip("Feeds and topics you read and star most move up the digest. Nothing leaves "
                                 "this computer.")
        self.personal.setChecked(True if personal is None else bool(personal))
        form.addRow("Ranking:", self.personal)

        from ui.power_settings import PowerSettings

        self.power = PowerSettings(form, values)  # issue 11: translation, notifications, podcasts
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.host.textChanged.connect(self._check_host)
        self._check_host()

    def _check_host(self, *_) -> None:
        ok = valid_ollama_host(self.host.text())
        self.host_error.setVisible(not ok)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def accept(self) -> None:
        if not valid_ollama_host(self.host.text()):  # Enter in a field bypasses the disabled OK button
            self.host.setFocus()
            return
        super().accept()

    def focus_host(self) -> None:
        """Open on the Ollama address (what the digest's "set the address in Settings" leads to)."""
        self.host.setFocus()
        self.host.selectAll()

    def values(self) -> dict:
        return {
            "sync_interval_minutes": self.interval.value(),
            "full_text": self.full_text.isChecked(),
            "images": self.images.isChecked(),
            "mark_read_delay_seconds": self.delay.value(),
            "theme": self.theme.currentData(),
            "font_size": self.font_size.value(),
            "digest_style": self.style_box.currentData() or self.style_box.currentText() or "briefing",
            "ollama_host": self.host.text().strip().rstrip("/") or None,
            "ollama_model": self.model.currentText().strip() or None,
            "embed_model": self.embed_model.currentText().strip() or DEFAULT_EMBED_MODEL,
            "digest_personal": self.personal.isChecked(),
            **self.power.values(),  # issue 11
        }

    def set_styles(self, names: list[str]) -> None:
        """Fill the style list (asked in the background); keeps the current choice."""
        current = self.style_box.currentData() or self._style
        self.style_box.clear()
        names = ordered_styles(list(dict.fromkeys([*names, current])))
        for name in names:
            self.style_box.addItem(style_label(name), name)
        self.style_box.setCurrentIndex(max(0, self.style_box.findData(current)))

    def set_models(self, names: list[str]) -> None:
        """Fill the model lists once Ollama answered (asked in the background)."""
        for box, wanted in ((self.model, lambda n: not looks_like_embedding_model(n)),
                            (self.embed_model, looks_like_embedding_model)):
            current = box.currentText()
            for n in names:
                if wanted(n) and box.findText(n) < 0 and box.findText(n.removesuffix(":latest")) < 0:
                    box.addItem(n)
            box.setCurrentText(current)
