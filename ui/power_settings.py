"""Issue 11's rows in the Settings dialog: translation language, notifications, the timed
Summarise today, the downloads folder and the largest download. Added by one call from
SettingsDialog; `values()` joins the dialog's."""

from __future__ import annotations

from PySide6.QtCore import QTime
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTimeEdit,
    QWidget,
)

from app.translate import LANGUAGES, system_language

POWER_UI_SETTINGS = ("translate_language", "notify_enabled", "summarise_at", "download_dir", "download_max_mb")


class PowerSettings:
    def __init__(self, form, values: dict):
        form.addRow(QLabel("<b>Translation, notifications, podcasts</b>"))
        self.language = QComboBox()
        self.language.setObjectName("translateLanguage")
        self.language.setEditable(True)
        self.language.addItem(f"The system's ({system_language()})", None)
        for name in sorted(set(LANGUAGES.values())):
            self.language.addItem(name, name)
        current = values.get("translate_language")
        if current:
            from app.translate import language_name

            i = self.language.findData(language_name(current))
            if i >= 0:
                self.language.setCurrentIndex(i)
            else:
                self.language.setCurrentText(current)
        self.language.setToolTip("Translate (T) writes articles in this language with your Ollama model.")
        form.addRow("Translate into:", self.language)
        notify = values.get("notify_enabled")
        self.notify = QCheckBox("Show notifications for feeds, folders and rules that ask for them")
        self.notify.setChecked(True if notify is None else bool(notify))
        form.addRow("Notifications:", self.notify)
        row = QWidget()
        lay = QHBoxLayout(row)
        lay.setContentsMargins(0, 0, 0, 0)
        self.timed = QCheckBox("Every day at")
        self.at = QTimeEdit()
        self.at.setDisplayFormat("HH:mm")
        at = values.get("summarise_at")
        self.timed.setChecked(bool(at))
        hh, _, mm = (at or "07:30").partition(":")
        self.at.setTime(QTime(int(hh or 7), int(mm or 30)))
        self.at.setEnabled(self.timed.isChecked())
        self.timed.toggled.connect(self.at.setEnabled)
        lay.addWidget(self.timed)
        lay.addWidget(self.at)
        lay.addWidget(QLabel("(in the background, then a notification)"), 1)
        form.addRow("Summarise today:", row)
        folder_row = QWidget()
        fl = QHBoxLayout(folder_row)
        fl.setContentsMargins(0, 0, 0, 0)
        self.folder = QLineEdit(values.get("download_dir") or "")
        self.folder.setPlaceholderText("In the Tidings data folder")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        fl.addWidget(self.folder, 1)
        fl.addWidget(browse)
        form.addRow("Downloads folder:", folder_row)
        self.max_mb = QSpinBox()
        self.max_mb.setRange(1, 100_000)
        self.max_mb.setSuffix(" MB")
        self.max_mb.setValue(int(float(values.get("download_max_mb") or 500)))
        form.addRow("Largest download:", self.max_mb)

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self.folder, "Downloads folder", self.folder.text())
        if path:
            self.folder.setText(path)

    def values(self) -> dict:
        text = self.language.currentText().strip()
        i = self.language.findText(text)
        # the first item is "the system's" (None); a typed name that is not listed is kept as typed
        language = (self.language.itemData(i) if i >= 0 else text) or None
        return {
            "translate_language": language,
            "notify_enabled": self.notify.isChecked(),
            "summarise_at": self.at.time().toString("HH:mm") if self.timed.isChecked() else None,
            "download_dir": self.folder.text().strip() or None,
            "download_max_mb": self.max_mb.value(),
        }
