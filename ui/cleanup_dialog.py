"""File > Clean up library…: how long articles are kept, what that would remove, and compaction
with the sizes before and after. All store work runs in the window's background tasks."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from app.retention import human_size


class CleanupDialog(QDialog):
    def __init__(self, tidings, tasks, parent=None):
        super().__init__(parent)
        self.t = tidings
        self.tasks = tasks
        self.setWindowTitle("Clean up library")
        self.resize(560, 300)
        form = QFormLayout()
        self.days = QSpinBox()
        self.days.setObjectName("retentionDays")
        self.days.setRange(0, 36500)
        self.days.setSuffix(" days")
        self.days.setSpecialValueText("Forever")
        self.per_feed = QSpinBox()
        self.per_feed.setObjectName("retentionPerFeed")
        self.per_feed.setRange(0, 1_000_000)
        self.per_feed.setSpecialValueText("Any number")
        self.per_feed.setPrefix("newest ")
        form.addRow("Keep articles:", self.days)
        form.addRow("Per feed keep:", self.per_feed)
        note = QLabel("Starred articles and those a digest cites are always kept. A feed can have its own "
                      "limits (right-click it, Keep articles…). Removed articles take their images and "
                      "downloads with them, and do not come back from the feed.")
        note.setWordWrap(True)
        form.addRow(note)
        self.preview = QLabel("")
        self.preview.setObjectName("cleanupPreview")
        self.preview.setWordWrap(True)
        self.sizes = QLabel("")
        self.sizes.setObjectName("cleanupSizes")
        self.sizes.setWordWrap(True)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.hide()
        self.run_button = QPushButton("Clean up and compact now")
        self.run_button.setObjectName("cleanupRun")
        self.run_button.clicked.connect(self.run)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.run_button)
        row.addWidget(self.busy, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.preview)
        lay.addWidget(self.sizes)
        lay.addStretch(1)
        lay.addLayout(row)
        lay.addWidget(buttons)
        self.days.setValue(int(tidings.setting("retention_days") or 0))
        self.per_feed.setValue(int(tidings.setting("retention_per_feed") or 0))
        self.days.valueChanged.connect(self._limits_changed)
        self.per_feed.valueChanged.connect(self._limits_changed)
        self.refresh()

    def _limits_changed(self, *_) -> None:
        days, count = self.days.value(), self.per_feed.value()

        def save():
            self.t.set_setting("retention_days", days)
            self.t.set_setting("retention_per_feed", count)

        self.tasks.run(save, on_done=lambda _: self.refresh(), serial=True, context="saving the retention settings")

    def refresh(self) -> None:
        self.preview.setText("Counting…")
        self.tasks.run(lambda: (self.t.apply_retention(dry_run=True), self.t.library_sizes()),
                       on_done=self._shown, context="counting what retention would remove")

    def _shown(self, result) -> None:
        report, sizes = result
        self.preview.setText(report.describe())
        self.sizes.setText(f"Now: {human_size(sizes.total)} ({sizes.describe()}).")

    def run(self) -> None:
        self.run_button.setEnabled(False)
        self.busy.show()
        self.preview.setText("Removing old articles and compacting the library…")

        def work():
            report = self.t.apply_retention()
            before, after = self.t.compact()
            return report, before, after

        def done(result):
            report, before, after = result
            self.busy.hide()
            self.run_button.setEnabled(True)
            self.preview.setText(report.describe())
            self.sizes.setText(f"Before: {human_size(before.total)} ({before.describe()}).\n"
                               f"After: {human_size(after.total)} ({after.describe()}).")
            self.last_result = result
            if self.parent() is not None and hasattr(self.parent(), "refresh_feeds"):
                self.parent().refresh_feeds()

        def failed(e):
            self.busy.hide()
            self.run_button.setEnabled(True)
            self.preview.setText("")
            return False  # the window shows it in plain words

        self.tasks.run(work, on_done=done, on_error=failed, serial=True, context="cleaning up the library")
