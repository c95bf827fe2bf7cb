"""A feed's own retention: follow the library's limits, or its own days / newest N."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox


class KeepDialog(QDialog):
    def __init__(self, feed, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Keep articles")
        form = QFormLayout(self)
        form.addRow(QLabel(f"<b>{_esc(feed.title) if feed else ''}</b>"))
        self.own_days = QCheckBox("Its own age limit")
        self.days = QSpinBox()
        self.days.setRange(0, 36500)
        self.days.setSuffix(" days")
        self.days.setSpecialValueText("Forever")
        self.own_count = QCheckBox("Its own count limit")
        self.count = QSpinBox()
        self.count.setRange(0, 1_000_000)
        self.count.setPrefix("newest ")
        self.count.setSpecialValueText("Any number")
        if feed is not None:
            self.own_days.setChecked(feed.keep_days is not None)
            self.days.setValue(feed.keep_days or 0)
            self.own_count.setChecked(feed.keep_count is not None)
            self.count.setValue(feed.keep_count or 0)
        for box, spin in ((self.own_days, self.days), (self.own_count, self.count)):
            spin.setEnabled(box.isChecked())
            box.toggled.connect(spin.setEnabled)
        form.addRow(self.own_days, self.days)
        form.addRow(self.own_count, self.count)
        note = QLabel("Unchecked: as File > Clean up library says for every feed.")
        note.setWordWrap(True)
        form.addRow(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict:
        return {"keep_days": self.days.value() if self.own_days.isChecked() else None,
                "keep_count": self.count.value() if self.own_count.isChecked() else None}


def _esc(s: str) -> str:
    import html

    return html.escape(s)
