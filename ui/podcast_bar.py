"""The reading pane's podcast/video bar: shown above an article with audio or video. Play opens
the system player (the downloaded file, else the web address) and marks it played; Download
stores it for offline listening with progress and Cancel (it resumes); Delete removes the file.
Media state is read and written through the background tasks."""

from __future__ import annotations

import html

from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from app.downloads import DownloadCancelled
from ui.reader import human_size  # the same units as the article's own "Play audio (28.6 MB)"


class PodcastBar(QWidget):
    def __init__(self, window, parent=None):
        super().__init__(parent)
        self.w = window
        self.setObjectName("podcastBar")
        self.article_id: int | None = None
        self.media = None
        self.task = None
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        self.label = QLabel("")
        self.label.setObjectName("podcastLabel")
        self.play_button = QPushButton("▶ Play")
        self.play_button.setToolTip("Open in the system player (the downloaded file if there is one)")
        self.play_button.clicked.connect(self.play)
        self.download_button = QPushButton("Download")
        self.download_button.setToolTip("Keep it for offline listening (Settings: folder and largest size)")
        self.download_button.clicked.connect(self.download)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.delete_button = QPushButton("Delete download")
        self.delete_button.clicked.connect(self.delete)
        self.played_button = QPushButton("Mark played")
        self.played_button.clicked.connect(self.toggle_played)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setFormat("%p%")
        lay.addWidget(self.label, 1)
        for b in (self.progress, self.play_button, self.download_button, self.cancel_button, self.delete_button,
                  self.played_button):
            lay.addWidget(b)
        self.hide()

    # --- which article ---

    def article_shown(self, a) -> None:
        if a.id == self.article_id and self.isVisible():
            return
        self.article_id = a.id
        self.media = None
        if not any((e.type or "").startswith(("audio", "video")) or e.url.lower().split("?")[0].endswith(
                (".mp3", ".m4a", ".ogg", ".opus", ".mp4", ".webm", ".mov")) for e in a.enclosures):
            self.hide()
            return
        self.refresh()

    def refresh(self) -> None:
        aid = self.article_id
        if aid is None:
            return
        self.w.tasks.run(lambda: self.w.t.media(aid), on_done=lambda items: self._shown(aid, items),
                         context="reading the episode's state")

    def _shown(self, aid: int, items) -> None:
        if aid != self.article_id:
            return
        if not items:
            self.hide()
            return
        self.media = m = items[0]
        size = m.total or m.length
        bits = [m.kind.capitalize()]
        if size:
            bits.append(human_size(size))
        state = {"done": "downloaded", "partial": "partly downloaded", "failed": "download failed"}.get(m.state)
        if state:
            bits.append(state)
        if m.played:
            bits.append("played")
        self.label.setText(html.escape(" · ".join(bits)))
        self.label.setToolTip(m.error or m.url)
        busy = self.task is not None
        self.progress.setVisible(busy or m.state == "partial")
        if m.state == "partial" and not busy and size:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * m.received / size))
        self.download_button.setVisible(not busy and not m.downloaded)
        self.download_button.setText("Resume download" if m.state == "partial" else "Download")
        self.cancel_button.setVisible(busy)
        self.delete_button.setVisible(not busy and (m.downloaded or m.state == "partial"))
        self.played_button.setText("Mark not played" if m.played else "Mark played")
        self.show()

    # --- actions ---

    def play(self) -> None:
        aid, url = self.article_id, self.media.url if self.media else None

        def opened(target: str):
            self.w.open_external(QUrl.fromLocalFile(target) if "://" not in target else QUrl(target))
            self.refresh()

        self.w.tasks.run(lambda: self.w.t.play_target(aid, url), on_done=opened, serial=True, context="playing")

    def download(self) -> None:
        aid, url = self.article_id, self.media.url if self.media else None
        self.progress.setRange(0, 0)
        self.progress.show()

        def progress(received, total):
            if aid != self.article_id:
                return
            if total:
                self.progress.setRange(0, 1000)
                self.progress.setValue(int(1000 * received / total))
            self.label.setText(f"↓ {human_size(received)}" + (f" / {human_size(total)}" if total else ""))

        def done(_):
            self.task = None
            self.refresh()

        def failed(e):
            self.task = None
            self.refresh()
            return isinstance(e, DownloadCancelled)  # a cancel is no error; others are shown

        self.task = self.w.tasks.run(
            lambda task: self.w.t.download_media(aid, url, on_progress=task.progress, cancel=task.cancel),
            on_done=done, on_error=failed, on_progress=progress, pass_task=True, context="downloading the episode")
        self._shown(aid, [self.media]) if self.media else None

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel.set()

    def delete(self) -> None:
        aid, url = self.article_id, self.media.url if self.media else None
        self.w.tasks.run(lambda: self.w.t.remove_download(aid, url), on_done=lambda _: self.refresh(), serial=True,
                         context="deleting the download")

    def toggle_played(self) -> None:
        aid, m = self.article_id, self.media
        if m is None:
            return
        self.w.tasks.run(lambda: self.w.t.set_played(aid, not m.played, m.url), on_done=lambda _: self.refresh(),
                         serial=True, context="marking the episode")
