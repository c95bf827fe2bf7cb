"""Summarise today: the digest engine runs on the background helper; what the model writes
streams into the reading pane, with "stories done of total" in the status bar and Cancel.
`SummariseMenu` is the drop-down beside the action: each style (shape) one click away, the day
(or "since the last digest") and the folders to cover.

The digest is shown with the reader's own HTML, which the facade renders (`digest_view_html`, not
the offline export): every story links its articles as `tidings://article/ID`, which the reading
pane opens in place (Back returns to the digest).
"""

from __future__ import annotations

from datetime import date as _date

from PySide6.QtCore import QDate, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QWidget,
    QWidgetAction,
)

from app.errors import TidingsError
from app.models import Digest
from ui.dialogs import DEFAULT_EMBED_MODEL, ordered_styles, style_label


def _base(model: str) -> str:
    return model.removesuffix(":latest")


def _day_label(day: _date, today: _date) -> str:
    if day == today:
        return "today"
    if (today - day).days == 1:
        return "yesterday"
    return f"{day:%A} {day.day} {day:%B}" if day.year == today.year else f"{day.day} {day:%B %Y}"


class SummariseMenu(QMenu):
    """The Summarise drop-down: "Briefing", "Narrative letter", "Analyst brief" and any other style
    (each writes a digest at once), then the day, "Since the last digest" and the folders, which
    every digest from the window uses until changed. Styles are listed in the background; folders
    come from the sources pane (no query)."""

    choices_changed = Signal()  # the day, "since the last digest" or the folders changed

    def __init__(self, window):
        super().__init__("Summarise as", window)
        self.setObjectName("summariseMenu")
        self.w = window
        self.styles: list[str] = ordered_styles(list(dict.fromkeys(
            [window.prefs.get("digest_style") or "briefing", "briefing", "narrative", "analyst"])))
        self.style_actions: dict[str, object] = {}
        self._day: _date | None = None  # None: today (whatever day it is when the digest starts)
        self._folders: set[str] = set()  # none chosen: every folder
        self._enabled = True

        self._style_anchor = self.addSection("Day")  # style actions go above this
        day_box = QWidget()
        row = QHBoxLayout(day_box)
        row.setContentsMargins(24, 2, 8, 2)
        row.addWidget(QLabel("Day:"))
        self.date_edit = QDateEdit()
        self.date_edit.setObjectName("digestDay")
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("ddd d MMM yyyy")
        self.date_edit.setToolTip("The local day whose articles the digest covers")
        row.addWidget(self.date_edit, 1)
        self.day_action = QWidgetAction(self)
        self.day_action.setDefaultWidget(day_box)
        self.addAction(self.day_action)
        self.today_action = self.addAction("Today", self.reset_day)
        self.since_last = self.addAction("Since the last digest")
        self.since_last.setCheckable(True)
        self.since_last.setToolTip("Cover what arrived since the last digest was written, instead of one day")
        self.since_last.toggled.connect(self._since_last_toggled)

        self.folder_menu = self.addMenu("Folders")
        self.folder_menu.setObjectName("digestFolders")
        self.all_folders = QCheckBox("All folders")
        self.all_folders.toggled.connect(self._all_toggled)
        all_action = QWidgetAction(self.folder_menu)
        all_action.setDefaultWidget(self.all_folders)
        self.folder_menu.addAction(all_action)
        self.folder_list = QListWidget()  # checkable rows: the menu stays open while choosing several
        self.folder_list.setObjectName("digestFolderList")
        self.folder_list.setMinimumWidth(200)
        self.folder_list.itemChanged.connect(self._folder_changed)
        list_action = QWidgetAction(self.folder_menu)
        list_action.setDefaultWidget(self.folder_list)
        self.folder_menu.addAction(list_action)
        self.folder_menu.aboutToShow.connect(self.refresh_folders)

        self._reset_date_edit()
        self.date_edit.dateChanged.connect(self._date_changed)
        self._fill_styles()
        self.aboutToShow.connect(self._about_to_show)
        self.load_styles()

    # --- styles ------------------------------------------------------------------------------------

    def load_styles(self) -> None:
        """Ask for the style files in the background (resources/ and the data dir's styles/)."""
        self.w.tasks.run(self.w.t.digest_styles, on_done=self.set_styles,
                         on_error=lambda e: isinstance(e, TidingsError), context="listing digest styles")

    def set_styles(self, names: list[str]) -> None:
        if names:
            self.styles = ordered_styles(list(names))
            self._fill_styles()

    def _fill_styles(self) -> None:
        for a in self.style_actions.values():
            self.removeAction(a)
        self.style_actions = {}
        default = self.w.prefs.get("digest_style") or "briefing"
        for name in self.styles:
            a = self.addAction(style_label(name))
            self.removeAction(a)
            self.insertAction(self._style_anchor, a)
            a.setData(name)
            a.setToolTip(f"Write the digest as a {style_label(name).lower()}"
                         + (" (the default in Settings)" if name == default else ""))
            if name == default:
                f = a.font()
                f.setBold(True)
                a.setFont(f)
            a.triggered.connect(lambda _=False, n=name: self.w.summarise_today(style=n))
            a.setEnabled(self._enabled)
            self.style_actions[name] = a

    def update_enabled(self, on: bool) -> None:
        self._enabled = on
        for a in self.style_actions.values():
            a.setEnabled(on)

    # --- day ---------------------------------------------------------------------------------------

    def _today(self) -> _date:
        return self.w.t.now().astimezone().date()  # the facade's clock: no query

    def _reset_date_edit(self) -> None:
        today = self._today()
        self.date_edit.blockSignals(True)
        self.date_edit.setMaximumDate(QDate(today.year, today.month, today.day))
        day = self._day or today
        self.date_edit.setDate(QDate(day.year, day.month, day.day))
        self.date_edit.blockSignals(False)
        self.today_action.setVisible(self._day is not None)

    def _date_changed(self, qd: QDate) -> None:
        day = _date(qd.year(), qd.month(), qd.day())
        self.set_day(None if day == self._today() else day)

    def set_day(self, day: _date | None) -> None:
        """The day to summarise (None: today); choosing a day turns "since the last digest" off."""
        self._day = None if day == self._today() else day
        if self.since_last.isChecked():
            self.since_last.setChecked(False)
        self._reset_date_edit()
        self.choices_changed.emit()

    def reset_day(self) -> None:
        self.set_day(None)

    def _since_last_toggled(self, on: bool) -> None:
        self.date_edit.setEnabled(not on)
        self.choices_changed.emit()

    def _about_to_show(self) -> None:
        self._reset_date_edit()  # "today" moves on at midnight
        self.load_styles()  # a style file added since: listed next time

    # --- folders -----------------------------------------------------------------------------------

    def refresh_folders(self) -> None:
        self.folder_list.blockSignals(True)
        self.folder_list.clear()
        names = self.w.sources.folders()  # from the sources pane: no query
        self._folders &= set(names)
        for name in names:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in self._folders else Qt.CheckState.Unchecked)
            self.folder_list.addItem(item)
        rows = max(1, min(len(names), 12))
        self.folder_list.setFixedHeight(self.folder_list.sizeHintForRow(0) * rows + 6 if names else 0)
        self.folder_list.setVisible(bool(names))
        self.folder_list.blockSignals(False)
        self.all_folders.blockSignals(True)
        self.all_folders.setChecked(not self._folders)
        self.all_folders.setText("All folders" if names else "All feeds (no folders yet)")
        self.all_folders.blockSignals(False)

    def _folder_changed(self, item: QListWidgetItem) -> None:
        if item.checkState() == Qt.CheckState.Checked:
            self._folders.add(item.text())
        else:
            self._folders.discard(item.text())
        self.all_folders.blockSignals(True)
        self.all_folders.setChecked(not self._folders)
        self.all_folders.blockSignals(False)
        self.choices_changed.emit()

    def _all_toggled(self, on: bool) -> None:
        if on:
            self.set_folders([])
        elif not self._folders:  # "all" cannot be unticked by itself: tick folders instead
            self.all_folders.blockSignals(True)
            self.all_folders.setChecked(True)
            self.all_folders.blockSignals(False)

    def set_folders(self, names: list[str]) -> None:
        self._folders = set(names)
        self.refresh_folders()
        self.choices_changed.emit()

    # --- what the next digest covers ---------------------------------------------------------------

    def choices(self) -> dict:
        """Keyword arguments for `DigestPanel.start` / `Tidings.digest`: date, since_last, folders."""
        since = self.since_last.isChecked()
        return {"date": None if since or self._day is None else self._day.isoformat(),
                "since_last": since,
                "folders": sorted(self._folders, key=str.lower) or None}

    def action_text(self) -> str:
        c = self.choices()
        if c["since_last"]:
            text = "Summarise since the last digest"
        elif self._day is not None:
            text = f"Summarise {_day_label(self._day, self._today())}"
        else:
            text = "Summarise today"
        if c["folders"]:
            text += f" ({c['folders'][0]})" if len(c["folders"]) == 1 else f" ({len(c['folders'])} folders)"
        return text


class DigestPanel(QObject):
    """Drives one "Summarise today" run: the work on the background helper, its progress and
    Cancel in the job bar, the draft streaming into the reading pane. It touches nothing else of
    the window: `finished(digest or None)` says it is over, and `offer` puts what fixes what went
    wrong (a missing model, Ollama's address) in a message bar."""

    finished = Signal(object)

    def __init__(self, tidings, tasks, jobs, reader, prefs: dict, parent=None):
        super().__init__(parent)
        self.t = tidings
        self.tasks = tasks
        self.jobs = jobs
        self.reader = reader
        self.prefs = prefs  # the window's copy of the settings: no query on the GUI thread
        self.draft = tidings.digest_draft()
        self.task = None
        self.digest: Digest | None = None
        self.events: list[str] = []
        self.missing_models: list[str] = []  # ModelMissing notices: the chat and/or the embedding model
        self.unavailable = False  # Ollama did not answer: the fix is the address in Settings
        self._render_timer = QTimer(self, singleShot=True, interval=120)  # streamed tokens: repaint ~8/s
        self._render_timer.timeout.connect(self.render)

    def start(self, style: str | None = None, date: str | None = None, since_last: bool = False,
              folders: list[str] | None = None) -> None:
        t = self.t
        today = t.now().astimezone().date().isoformat()
        self.draft.date = today if since_last or not date else str(date)
        self.what = ("the digest since the last one" if since_last else
                     "today's digest" if self.draft.date == today else "the digest")
        style = style or self.prefs["digest_style"]
        model = self.prefs["ollama_model"]
        kw = {"style": style, "model": model, "since_last": bool(since_last)}
        if date and not since_last:
            kw["date"] = date
        if folders:
            kw["folders"] = list(folders)
        self.kwargs = kw

        def work(task):
            return t.digest(**kw, on_event=task.progress, cancel=task.cancel)

        job = self.jobs.begin("digest", f"Writing {self.what}…", cancel=self.cancel, unit="stories",
                              cancel_tip="Stop writing; the stories written so far are kept.",
                              cancel_text="Cancelling the digest… (what was written is kept)")
        self.task = self.tasks.run(work, on_done=self._done, on_error=self._failed, on_progress=self._event,
                                   pass_task=True, context=f"writing {self.what}")
        job.task = self.task
        self.reader.show_draft(self.draft)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel.set()

    def _event(self, ev) -> None:
        d = self.draft
        self.events.append(ev.kind)
        d.apply(ev)
        if ev.kind == "progress":
            self.jobs.set_progress(ev.done, ev.total, f"Writing {self.what}: {ev.done} of {ev.total} stories done")
        elif ev.kind == "notice":
            kind = type(ev.error).__name__
            model = getattr(ev.error, "model", None)
            if kind == "ModelMissing" and model and _base(model) not in map(_base, self.missing_models):
                self.missing_models.append(model)
            elif kind == "OllamaUnavailable":
                self.unavailable = True
        if not self._render_timer.isActive():
            self._render_timer.start()

    @property
    def missing_model(self) -> str | None:
        """The missing chat model, if any (the embedding model is in `missing_embed_model`)."""
        return next((m for m in self.missing_models if not self._is_embed(m)), None)

    @property
    def missing_embed_model(self) -> str | None:
        return next((m for m in self.missing_models if self._is_embed(m)), None)

    def _is_embed(self, model: str) -> bool:
        return _base(model) == _base(self.prefs.get("embed_model") or DEFAULT_EMBED_MODEL)

    def render(self) -> None:
        """Repaint the draft, unless the person opened something else meanwhile."""
        if self.digest is None and self.reader.article is None and self.reader.digest is None:
            self.reader.show_draft(self.draft)

    def offer(self, bar, *, pull_model, open_settings) -> None:
        """After the run: offer what fixes what went wrong (download the missing models in one go,
        or the Ollama address in Settings)."""
        chat, embed = self.missing_model, self.missing_embed_model
        if chat and embed:
            bar.show_message(
                f"This digest was written without a model: “{chat}” (which writes the digest) and “{embed}” "
                "(which groups the stories) are not installed in Ollama.",
                "Tidings can download both now (it may take a while); the next digest will use them.", "info",
                action=("Download both", lambda: pull_model([chat, embed])))
        elif chat:
            bar.show_message(
                f"This digest was written without a model: “{chat}” is not installed in Ollama.",
                "Tidings can download it now (it may take a while); the next digest will use it.", "info",
                action=("Download model", lambda: pull_model(chat)))
        elif embed:
            bar.show_message(
                f"Stories were grouped without the embedding model: “{embed}” is not installed in Ollama.",
                "Tidings can download it now (it is small); the next digest will use it to find the same "
                "story across outlets.", "info",
                action=("Download model", lambda: pull_model(embed)))
        elif self.unavailable:
            bar.show_message(
                "This digest was written without a model: Ollama did not answer.",
                "Start Ollama (`ollama serve`), or set its address in Settings if it runs elsewhere.", "info",
                action=("Settings…", open_settings))

    def _done(self, digest: Digest) -> None:
        self._render_timer.stop()
        self.digest = digest
        n = len(digest.items)
        what = self.what[0].upper() + self.what[1:]
        self.jobs.end(f"{what} is ready: {n} stor{'y' if n == 1 else 'ies'}.")
        self.finished.emit(digest)

    def _failed(self, e: BaseException) -> bool:
        self._render_timer.stop()
        self.jobs.end("The digest could not be written.")
        self.finished.emit(None)
        return False


class _Cancelled(Exception):
    pass


def pull_models(t, tasks, jobs, name: str | list[str]) -> None:
    """Download one Ollama model or several (one after the other, one job), with progress and
    Cancel in the job bar; what "Download model" in the digest's message bar does."""
    names = [name] if isinstance(name, str) else list(dict.fromkeys(name))
    if not names or jobs.busy:
        return
    label = " and ".join(names)

    def work(task):
        for n, model in enumerate(names):
            def progress(done, total, status, n=n):
                task.progress(n, done, total, status)
                if task.cancelled():
                    raise _Cancelled()

            try:
                t.pull_model(model, on_progress=progress)
            except _Cancelled:
                return False
        return True

    def progress(n, done, total, status):
        of = f" ({n + 1} of {len(names)})" if len(names) > 1 else ""
        text = f"Downloading {names[n]}{of}: {status}"
        if total:
            jobs.set_progress(int(1000 * (done or 0) / total), 1000, text)
        else:
            jobs.say(text)

    def finish(ok=None):
        if ok is True:
            jobs.end(f"{label} {'is' if len(names) == 1 else 'are'} installed. “Summarise today” will use "
                     f"{'it' if len(names) == 1 else 'them'}.")
        else:
            jobs.end("Download cancelled." if ok is False else None)

    def failed(e):
        jobs.end("The download failed.")
        return False

    job = jobs.begin("download", f"Downloading {label}…", cancel=lambda: task.cancel.set(),
                     cancel_text="Cancelling the download…")
    task = tasks.run(work, on_done=finish, on_error=failed, on_progress=progress, pass_task=True,
                     context=f"downloading {label}")
    job.task = task
