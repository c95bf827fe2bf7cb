"""The job bar: the one place a long job (a sync, a digest being written, a model download) shows
its progress and its Cancel button, in the status bar.

One job at a time. A sync asked for while a job runs waits in the queue (a timed one is simply
skipped); when the running job ends the queued syncs run as one. Jobs tell the bar how far they
are (`progress`, `say`) and that they are over (`end`); the window only listens to `busy_changed`
(to enable its actions) and `idle` (to start what is queued).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget


@dataclass
class Job:
    kind: str  # "sync" | "digest" | "download"
    task: object = None  # the ui.tasks.Task doing the work
    cancel: Callable[[], None] | None = None
    cancel_text: str = "Cancelling…"
    extra: dict = field(default_factory=dict)


class JobBar(QWidget):
    busy_changed = Signal(bool)
    idle = Signal()  # a job ended: queued work may start

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("jobBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.status_label = QLabel("")
        self.status_label.setObjectName("jobStatus")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        self.queue_label = QLabel("")  # "1 sync waiting": asked for while another job runs
        self.queue_label.setObjectName("jobQueue")
        self.queue_label.hide()
        layout.addWidget(self.status_label, 1)
        layout.addWidget(self.queue_label)
        layout.addWidget(self.progress)
        layout.addWidget(self.cancel_button)
        self.job: Job | None = None
        self.queued_syncs: list[list[int] | None] = []  # syncs asked for while busy (None: every feed)

    # --- the running job ---------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.job is not None

    def task_of(self, *kinds: str):
        """The running job's task if it is one of `kinds` (e.g. "sync"), else None."""
        return self.job.task if self.job is not None and self.job.kind in kinds else None

    def begin(self, kind: str, text: str, *, cancel: Callable[[], None] | None = None, unit: str = "",
              cancel_tip: str = "", cancel_text: str = "Cancelling…") -> Job:
        self.job = Job(kind, cancel=cancel, cancel_text=cancel_text)
        self.progress.setRange(0, 0)  # busy until the first progress
        self.progress.setValue(0)
        self.progress.setFormat(f"%v of %m {unit}" if unit else "%p%")
        self.progress.show()
        self.cancel_button.setToolTip(cancel_tip)
        self.cancel_button.setVisible(cancel is not None)
        self.say(text)
        self.busy_changed.emit(True)
        return self.job

    def set_progress(self, done: int, total: int, text: str | None = None) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        if text is not None:
            self.say(text)

    def say(self, text: str) -> None:
        self.status_label.setText(text)

    def cancel(self) -> None:
        job = self.job
        if job is not None and job.cancel is not None:
            job.cancel()
            self.say(job.cancel_text)

    def end(self, message: str | None = None) -> None:
        """The job is over (done, failed or cancelled): hide its bar, say how it went, run what waits."""
        self.job = None
        self.progress.hide()
        self.cancel_button.hide()
        if message is not None:
            self.say(message)
        self.busy_changed.emit(False)
        self.idle.emit()

    # --- the queue ---------------------------------------------------------------------------------

    def queue_sync(self, feed_ids: list[int] | None) -> None:
        self.queued_syncs.append(feed_ids)
        self._show_queue()

    def _show_queue(self) -> None:
        n = len(self.queued_syncs)
        self.queue_label.setText(f"then {n} more sync{'s' if n != 1 else ''}" if n else "")
        self.queue_label.setVisible(bool(n))

    def take_queued_sync(self) -> tuple[bool, list[int] | None]:
        """(True, feeds) for the queued syncs as one (None: every feed, if any asked for all)."""
        if not self.queued_syncs or self.busy:
            return False, None
        queued, self.queued_syncs = self.queued_syncs, []
        self._show_queue()
        return True, (None if any(q is None for q in queued) else sorted({i for q in queued for i in q}))
