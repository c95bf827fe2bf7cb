"""The reading pane's *Translate* (T): the article, or the digest on screen, written in the person's
language by their Ollama model, paragraph by paragraph as it streams; T again shows the original.
Feeds marked "always translate" are translated when an article of theirs is opened.

The model runs in a background task; its events come back on the GUI thread through the task's
progress, and a newer article (or T) cancels the older translation.
"""

from __future__ import annotations

import html
from dataclasses import replace

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence


class TranslateController(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.w = window
        self.task = None
        self.gen = 0
        self.translated_id: int | None = None  # the article shown translated (or being)
        self.digest_id: int | None = None
        self.state: dict | None = None
        self.action = QAction("Translate", window)
        self.action.setShortcut(QKeySequence("T"))
        self.action.setStatusTip("Translate the article (or digest) into your language with your local model (T)")
        self.action.triggered.connect(lambda *_: self.toggle())
        window.addAction(self.action)

    # --- entry points ---

    def toggle(self) -> None:
        a = self.w.reader.article
        if a is not None:
            if self.translated_id == a.id:
                self.show_original()
            else:
                self.translate_article(a)
        elif getattr(self.w, "shown_digest", None) is not None:
            d = self.w.shown_digest
            if self.digest_id == d.id:
                self.show_original()
            else:
                self.translate_digest(d)

    def article_shown(self, a) -> None:
        """Hooked after the window shows an article: cancel a translation of another one, and
        translate this one if its feed says "always translate"."""
        if self.translated_id is not None and self.translated_id != a.id:
            self._cancel()
        f = self.w.sources.feed(a.feed_id)
        if f is not None and getattr(f, "always_translate", False):
            self.translate_article(a)

    def show_original(self) -> None:
        self._cancel()
        if self.state and self.state.get("article") is not None:
            self.w.reader.show_article(self.state["article"])
        elif self.state and self.state.get("digest") is not None:
            self.w.reader.show_digest(self.state["digest"])
        self.state = None

    # --- work ---

    def _cancel(self) -> None:
        if self.task is not None:
            self.task.cancel.set()
        self.task = None
        self.gen += 1
        self.translated_id = None
        self.digest_id = None

    def translate_article(self, a) -> None:
        self._cancel()
        from app.html import html_to_text
        from app.translate import paragraphs_of_text

        source = [a.display_title or a.title or "(untitled)",
                  *paragraphs_of_text(a.text or html_to_text(a.content_html or a.summary))]
        self.translated_id = a.id
        self.state = {"article": a, "source": source, "done": {}, "partial": {}, "language": "", "model": ""}
        self._start(lambda task: self.w.t.translate_article(a.id, on_event=task.progress, cancel=task.cancel))

    def translate_digest(self, d) -> None:
        self._cancel()
        self.digest_id = d.id
        self.state = {"digest": d, "original_html": self.w.reader.toHtml(), "source": None, "done": {},
                      "partial": {}, "language": "", "model": ""}
        self._start(lambda task: self.w.t.translate_digest(d.id, on_event=task.progress, cancel=task.cancel))

    def _start(self, fn) -> None:
        gen = self.gen
        self.w.status_label.setText(f"Translating into {self.w.t.translation_language()}…")

        def progress(ev):
            if gen == self.gen and self.state is not None:
                self._event(ev)

        def done(result):
            if gen != self.gen or self.state is None:
                return
            self.state["language"], self.state["model"] = result.language, result.model
            self.state["source"] = self.state["source"] or result.source
            self.state["marks"] = getattr(result, "marks", None)
            for i, p in enumerate(result.paragraphs):
                self.state["done"][i] = p
            self.state["complete"] = result.complete
            self.state["error"] = result.error
            self.task = None
            self.render()
            self.w.status_label.setText(
                f"Translated into {result.language} by {result.model}." if result.complete else
                f"Translation stopped: {result.error}" if result.error else "")

        def failed(e):
            if gen == self.gen:
                self.task = None
                self.translated_id = None
                self.digest_id = None
                self.w.status_label.setText("")
            return False  # the window says it in plain words (e.g. Ollama is not running)

        self.task = self.w.tasks.run(fn, on_done=done, on_error=failed, on_progress=progress, pass_task=True,
                                     context="translating")

    def _event(self, ev) -> None:
        s = self.state
        if ev.kind == "text":
            s["partial"][ev.index] = s["partial"].get(ev.index, "") + ev.text
        elif ev.kind == "paragraph":
            s["done"][ev.index] = ev.text
            s["partial"].pop(ev.index, None)
        else:
            return
        self.render()

    # --- rendering ---

    def _paragraph(self, i: int, source: str) -> tuple[str, bool]:
        s = self.state
        if i in s["done"]:
            return s["done"][i], True
        if i in s["partial"]:
            return s["partial"][i] + " …", True
        return source, False

    def render(self) -> None:
        s = self.state
        if s is None:
            return
        from ui.theme import muted

        grey = muted(self.w.reader.palette()).name()
        e = html.escape
        language = s["language"] or self.w.t.translation_language()
        banner = (f'<p style="color:{grey}"><i>Translated into {e(language)}'
                  + (f" by {e(s['model'])}" if s["model"] else "") + " on this computer"
                  + ("" if s.get("complete") else " …") + " — T shows the original.</i></p>")
        bar = self.w.reader.verticalScrollBar()
        keep = bar.value()
        if s.get("article") is not None:
            a = s["article"]
            title, _ = self._paragraph(0, s["source"][0])
            body = [banner]
            for i, source in enumerate(s["source"][1:], start=1):
                text, translated = self._paragraph(i, source)
                body.append(f"<p>{e(text)}</p>" if translated else f'<p style="color:{grey}">{e(text)}</p>')
            # The page around the body as the pane draws any article; the body is ours (escaped
            # model text), put in after the sanitiser, which would drop the muted colour.
            marker = "TIDINGSTRANSLATIONBODY"
            shown = replace(a, title=title, content_html=f"<p>{marker}</p>", summary="", text="")
            page = self.w.reader.article_html(shown).replace(f"<p>{marker}</p>", "".join(body), 1)
            self.w.reader.blocked = []
            self.w.reader.setHtml(page)
        else:
            source = s["source"] or []
            marks = s.get("marks") or [""] * len(source)
            body = [banner]
            n = max(len(source), max(s["done"], default=-1) + 1, max(s["partial"], default=-1) + 1)
            for i in range(n):
                text, translated = self._paragraph(i, source[i] if i < len(source) else "")
                mark = marks[i] if i < len(marks) else ""
                style = "" if translated else f' style="color:{grey}"'
                if mark.startswith("#"):
                    level = min(4, mark.count("#") + 1)
                    body.append(f"<h{level}{style}>{e(text)}</h{level}>")
                elif mark.strip() in ("-", "*"):
                    body.append(f"<ul><li{style}>{e(text)}</li></ul>")
                else:
                    body.append(f"<p{style}>{e(text)}</p>")
            self.w.reader.setHtml("<html><body>" + "".join(body) + "</body></html>")
        bar.setValue(keep)
