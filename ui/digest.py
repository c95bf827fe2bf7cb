"""Summarise today: the digest engine runs on the background helper; what the model writes
streams into the reading pane, with "stories done of total" in the status bar and Cancel.

The digest is shown with the reader's own HTML (not the offline export): every story links its
articles as `tidings://article/ID`, which the reading pane opens in place.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QPalette

from app.models import Digest, DigestItem
from app.digest.render import ARTICLE_SCHEME, long_date, source_labels
from app.digest.styles import DEFAULT_LABELS



@dataclass
class DigestDraft:
    """What is known so far while a digest is being written."""

    date: str = ""
    headline: str = ""
    closing: str = ""
    notice: str = ""
    items: list[DigestItem] = field(default_factory=list)
    streamed: dict[int, str] = field(default_factory=dict)
    parts: dict[str, str] = field(default_factory=dict)
    done: int = 0
    total: int = 0


def digest_page(d: Digest | DigestDraft, palette: QPalette, writing: bool = False) -> str:
    e = html.escape
    from ui.theme import muted as _muted

    muted = _muted(palette).name()
    link = palette.color(QPalette.ColorRole.Link).name()
    streamed = getattr(d, "streamed", {})
    parts = getattr(d, "parts", {})
    headline = d.headline or parts.get("headline", "")
    out = [f"""<html><head><style>a {{ color: {link}; }} .muted {{ color: {muted}; }}
        h1 {{ font-size: x-large; }}</style></head><body>"""]
    out.append(f"<h1>{e(long_date(d.date)) if d.date else 'Today'}</h1>")
    if headline:
        out.append(f"<p><b>{e(headline)}</b></p>")
    if writing:
        dd = d  # a draft
        out.append(f'<p class="muted">Writing the digest… {dd.done} of {dd.total} stories done.</p>'
                   if dd.total else '<p class="muted">Grouping today\'s articles into stories…</p>')
    if d.notice:
        out.append(f'<p class="muted"><i>{e(d.notice)}</i></p>')
    for sec in ("lead", "also", "brief"):
        idx = [(n, i) for n, i in enumerate(d.items) if i.section == sec]
        if not idx:
            continue
        out.append(f"<h2>{e(DEFAULT_LABELS[sec])}</h2>")  # the same headings as the exports
        for n, item in idx:
            text = item.text or streamed.get(n, "")
            links = " · ".join(
                f'<a href="{ARTICLE_SCHEME}{aid}">{e(src)}</a>'
                for aid, src in zip(item.article_ids, source_labels(item)))
            if item.url and item.url.startswith(("http://", "https://")):
                links += f' · <a href="{e(item.url, quote=True)}">original</a>'
            first = item.article_ids[0] if item.article_ids else None
            title = (f'<a href="{ARTICLE_SCHEME}{first}" style="text-decoration:none">{e(item.title)}</a>'
                     if first else e(item.title))
            out.append(f"<h3>{title}</h3>")
            out.append(f"<p>{e(text) if text else '<span class=muted>…</span>'}</p>")
            if item.why or (n == 0 and parts.get("why")):
                out.append(f"<p><b>{e(DEFAULT_LABELS['why'])}:</b> {e(item.why or parts.get('why', ''))}</p>")
            out.append(f'<p class="muted">{links}</p>')
    closing = d.closing or parts.get("closing", "")
    if closing:
        out.append(f"<hr><p>{e(closing)}</p>")
    if not d.items and not writing:
        out.append('<p class="muted">No articles arrived on this day.</p>')
    out.append("</body></html>")
    return "\n".join(out)



class DigestPanel(QObject):
    """Drives one 'Summarise today' run for the main window."""

    def __init__(self, window):
        super().__init__(window)
        self.w = window
        self.draft = DigestDraft()
        self.task = None
        self.digest: Digest | None = None
        self.events: list[str] = []
        self._render_timer = QTimer(self, singleShot=True, interval=120)  # streamed tokens: repaint ~8/s
        self._render_timer.timeout.connect(self.render)

    def start(self) -> None:
        w = self.w
        t = w.t
        self.draft.date = t.now().astimezone().date().isoformat()
        style = w.prefs["digest_style"]  # the window's copy of the settings: no query on the GUI thread
        model = w.prefs["ollama_model"]

        def work(task):
            return t.digest(style=style, model=model, on_event=task.progress, cancel=task.cancel)

        self.task = w.tasks.run(work, on_done=self._done, on_error=self._failed, on_progress=self._event,
                                pass_task=True, context="writing today's digest")
        w._digest_task = self.task
        w._update_summarise()
        w._active_progress_cancel = self.cancel
        w.progress.setRange(0, 0)
        w.progress.setFormat("%v of %m stories")
        w.progress.show()
        w.cancel_button.show()
        w.status_label.setText("Writing today's digest…")
        w.reader.show_html(digest_page(self.draft, w.reader.palette(), writing=True))

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel.set()
            self.w.status_label.setText("Cancelling the digest… (what was written is kept)")

    def _event(self, ev) -> None:
        d = self.draft
        self.events.append(ev.kind)
        if ev.kind == "plan":
            d.items = list(ev.items)
            d.total = ev.total
        elif ev.kind == "text":
            if ev.index is not None and ev.part is None:
                d.streamed[ev.index] = d.streamed.get(ev.index, "") + ev.text
            elif ev.part:
                d.parts[ev.part] = d.parts.get(ev.part, "") + ev.text
        elif ev.kind == "item" and ev.index is not None and ev.item is not None:
            if ev.index < len(d.items):
                d.items[ev.index] = ev.item
            d.streamed.pop(ev.index, None)
        elif ev.kind == "progress":
            d.done, d.total = ev.done, ev.total
            self.w.progress.setRange(0, max(1, ev.total))
            self.w.progress.setValue(ev.done)
            self.w.status_label.setText(f"Writing today's digest: {ev.done} of {ev.total} stories done")
        elif ev.kind == "notice":
            d.notice = (d.notice + " " + ev.message).strip() if ev.message not in d.notice else d.notice
            model = getattr(ev.error, "model", None)
            if type(ev.error).__name__ == "ModelMissing" and model:
                self.missing_model = model
        if not self._render_timer.isActive():
            self._render_timer.start()

    def render(self) -> None:
        if self.digest is None and self.w.reader.article is None:
            self.w.reader.show_html(digest_page(self.draft, self.w.reader.palette(), writing=True))

    def _finish_ui(self) -> None:
        w = self.w
        self._render_timer.stop()
        w._digest_task = None
        w.end_progress()

    def _done(self, digest: Digest) -> None:
        self._finish_ui()
        self.digest = digest
        model = getattr(self, "missing_model", None)
        if model:
            self.w.message_bar.show_message(
                f"This digest was written without a model: “{model}” is not installed in Ollama.",
                "Tidings can download it now (it may take a while); the next digest will use it.", "info",
                action=("Download model", lambda: self.w.pull_model(model)))
        n = len(digest.items)
        self.w.status_label.setText(f"Today's digest is ready: {n} stor{'y' if n == 1 else 'ies'}.")
        self.w.select_source("smart:digests", select=digest.id)

    def _failed(self, e: BaseException) -> bool:
        self._finish_ui()
        self.w.status_label.setText("The digest could not be written.")
        return False
