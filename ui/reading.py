"""The reading pane (right): an article or a digest, and the history of what was read there.

Every article and digest shown is a `Place` (the view it was read from, what was shown, how far
down it was scrolled). Back and Forward walk those places; the window re-opens the place's view
and content (`go` signal) and the pane scrolls back to where the person was, the way a browser
does. A digest's citation opens the article here, so Back returns to the digest at the same scroll.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QPalette

from app.models import Article
from ui.reader import ArticleView
from ui.theme import muted as muted_colour

MAX_HISTORY = 200


@dataclass(frozen=True)
class Place:
    view: str  # str(View) the article or digest was read from
    article: int | None = None
    digest: int | None = None
    scroll: int = 0

    def same(self, other: "Place | None") -> bool:
        return other is not None and (self.article, self.digest) == (other.article, other.digest)


class ReadingPane(ArticleView):
    #: Back/Forward chose a place: the window opens its view and content (then `arrive` scrolls)
    go = Signal(object)
    #: Back/Forward became possible or not (the toolbar buttons follow)
    history_changed = Signal()

    def __init__(self, tidings, current_view=lambda: "", parent=None):
        super().__init__(tidings, parent)
        self.current_view = current_view  # the window's View, as a string
        self.history: list[Place] = []
        self.index = -1
        self.digest = None  # the stored digest on screen
        self._draft = None  # a digest being written, on screen
        self._arriving: Place | None = None  # Back/Forward's target: restore its scroll, do not record

    # --- what is shown -----------------------------------------------------------------------------

    def show_article(self, a: Article) -> None:
        self._leaving()
        self.digest = self._draft = None
        super().show_article(a)
        self._shown(Place(self.current_view(), article=a.id))

    def show_digest(self, d) -> None:
        """A stored digest (its citations open articles here)."""
        self._leaving()
        self._draft = None
        self.digest = d
        self.show_html(self.digest_html(d))
        self.digest = d  # (show_html forgets it: it is for any other page)
        if d is not None and d.id is not None:
            last = next((p for p in reversed(self.history) if p.digest == d.id and p.article is None), None)
            arriving = self._arriving is not None
            self._shown(Place(self.current_view(), digest=d.id))
            if last is not None and not arriving:  # a digest opened again opens where it was left
                self._scroll_to(last.scroll)

    def show_draft(self, draft) -> None:
        """A digest being written: repainted as the model streams it; not a place in the history."""
        self.show_html(self.digest_html(draft, writing=True))
        self._draft = draft

    def show_html(self, body: str) -> None:
        self.digest = self._draft = None
        super().show_html(body)

    def show_placeholder(self, text: str = "Select an article to read it.") -> None:
        self.digest = None
        self._draft = None
        super().show_placeholder(text)
        self._placeholder = text

    def digest_html(self, d, writing: bool = False) -> str:
        pal = self.palette()
        return self.t.digest_view_html(d, link=pal.color(QPalette.ColorRole.Link).name(),
                                       muted=muted_colour(pal).name(), writing=writing)

    def rerender(self) -> None:
        """Paint what is shown again in the current palette (the theme changed), keeping the scroll."""
        bar = self.verticalScrollBar()
        pos = bar.value()
        if self.article is not None:
            a = self.article
            ArticleView.show_article(self, a)
        elif self.digest is not None:
            d = self.digest
            ArticleView.show_html(self, self.digest_html(d))
            self.digest = d
        elif self._draft is not None:
            draft = self._draft
            ArticleView.show_html(self, self.digest_html(draft, writing=True))
            self._draft = draft
        else:
            ArticleView.show_placeholder(self, getattr(self, "_placeholder", "Select an article to read it."))
            return
        bar.setValue(pos)
        QTimer.singleShot(0, lambda: bar.setValue(pos))

    # --- history ---------------------------------------------------------------------------------------

    def _leaving(self) -> None:
        """About to show something else: note how far down the current place was read."""
        if self._arriving is None:
            self._remember_scroll()

    def _shown(self, place: Place) -> None:
        arriving, self._arriving = self._arriving, None
        if arriving is not None and arriving.same(place):
            self._scroll_to(arriving.scroll)
            return
        if 0 <= self.index < len(self.history) and self.history[self.index].same(place):
            return  # the same thing again (a refresh): not a new step
        del self.history[self.index + 1:]
        self.history.append(place)
        if len(self.history) > MAX_HISTORY:
            del self.history[0]
        self.index = len(self.history) - 1
        self.history_changed.emit()

    def _remember_scroll(self) -> None:
        if 0 <= self.index < len(self.history):
            self.history[self.index] = replace(self.history[self.index], scroll=self.verticalScrollBar().value())

    def _scroll_to(self, value: int) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(value)
        # the document may lay out after this event (images, a long digest): once more when it has
        QTimer.singleShot(0, lambda: bar.setValue(value))

    def can_go_back(self) -> bool:
        return self.index > 0

    def can_go_forward(self) -> bool:
        return self.index < len(self.history) - 1

    def back(self) -> bool:
        return self._step(-1)

    def forward(self) -> bool:
        return self._step(1)

    def _step(self, step: int) -> bool:
        target = self.index + step
        if not 0 <= target < len(self.history):
            return False
        self._remember_scroll()
        self.index = target
        place = self.history[target]
        self._arriving = place
        self.history_changed.emit()
        self.go.emit(place)
        return True

    def forget(self, *, article: int | None = None, view: str | None = None) -> None:
        """Drop places that no longer exist (an unsubscribed feed's view, a deleted article)."""
        keep = [p for p in self.history if not ((article is not None and p.article == article) or
                                                (view is not None and p.view == view))]
        if len(keep) != len(self.history):
            current = self.history[self.index] if 0 <= self.index < len(self.history) else None
            self.history = keep
            self.index = keep.index(current) if current in keep else len(keep) - 1
            self.history_changed.emit()
