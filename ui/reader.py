"""The reading pane: an article (or a digest) as sanitised HTML in a QTextBrowser.

What it may load is decided here, at render time, whatever the stored HTML says:
- images only from the local image cache (`tidings-img:<relative path>`, resolved through
  `Tidings.image_path`, which refuses anything outside the cache);
- nothing else: no network, no `file:` URLs, no style sheets, no scripts (QTextBrowser runs none).
Links never navigate inside the pane: http(s)/mailto go to the system browser, and
`tidings:article/ID` opens that article here.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable

from PySide6.QtCore import QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QFont, QImage, QPalette, QTextDocument
from PySide6.QtWidgets import QTextBrowser

from app.errors import TidingsError
from app.models import Article
from ui.theme import muted as muted_colour

log = logging.getLogger(__name__)

IMG_SCHEME = "tidings-img"
MAX_TEXT_WIDTH_EM = 38  # ~70-80 characters a line: comfortable reading


_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_SRC = re.compile(r"""\bsrc\s*=\s*(["'])(.*?)\1""", re.IGNORECASE | re.DOTALL)
_ALT = re.compile(r"""\balt\s*=\s*(["'])(.*?)\1""", re.IGNORECASE | re.DOTALL)


def rewrite_images(body: str, images: dict[str, str]) -> str:
    """Point each <img> at its cached copy; an image that is not cached becomes its alt text."""

    def fix(m: re.Match) -> str:
        tag = m.group(0)
        src = _SRC.search(tag)
        url = html.unescape(src.group(2)).strip() if src else ""
        rel = images.get(url)
        if rel:
            local = html.escape(f"{IMG_SCHEME}:{rel}", quote=True)
            return tag[:src.start()] + f'src="{local}"' + tag[src.end():]
        alt = _ALT.search(tag)
        return f'<span class="meta"><i>[image: {alt.group(2)}]</i></span>' if alt and alt.group(2).strip() else ""

    return _IMG.sub(fix, body)


def same_name(a: str, b: str) -> bool:
    """'Rosemary Orchard' and 'rosemary orchard ' name the same person (the byline then adds nothing)."""
    norm = lambda s: " ".join((s or "").casefold().split())  # noqa: E731
    return bool(norm(a)) and norm(a) == norm(b)


def human_size(n: int | None) -> str:
    if not n:
        return ""
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


class ArticleView(QTextBrowser):
    #: a `tidings:article/ID` link was clicked
    article_link = Signal(int)

    def __init__(self, tidings, parent=None):
        """`tidings`: the facade, for the cached images and the sanitised article body."""
        super().__init__(parent)
        self.t = tidings
        self._image_path = tidings.image_path
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._on_anchor)
        self.article: Article | None = None
        self.blocked: list[str] = []  # URLs refused by loadResource (tests look at this)
        self.open_external: Callable[[QUrl], object] = QDesktopServices.openUrl
        self._font_size = 11
        self.setObjectName("articleView")
        self.show_placeholder()

    # --- what may load -----------------------------------------------------------------------------

    def loadResource(self, kind: int, url: QUrl):  # noqa: N802 - Qt override
        if url.scheme() == IMG_SCHEME and kind == QTextDocument.ResourceType.ImageResource and self._image_path:
            rel = url.path() or url.toString()[len(IMG_SCHEME) + 1:]
            try:
                path = self._image_path(rel)
            except TidingsError:
                self.blocked.append(url.toString())
                return None
            image = QImage(str(path))
            if image.isNull():
                return None
            limit = max(200, self._text_width() - 8)
            if image.width() > limit:
                image = image.scaledToWidth(limit)
            return image
        self.blocked.append(url.toString())
        return None  # no network, no file:, nothing else

    @Slot(QUrl)
    def _on_anchor(self, url: QUrl) -> None:
        if url.scheme() == "tidings":  # tidings:article/ID or tidings://article/ID
            m = re.fullmatch(r"/*article/(\d+)", (url.host() + url.path()) if url.host() else url.path())
            if m:
                self.article_link.emit(int(m.group(1)))
            return
        if url.scheme() in ("http", "https", "mailto"):
            self.open_external(url)

    # --- rendering ------------------------------------------------------------------------------------

    def set_font_size(self, points: int) -> None:
        self._font_size = max(6, int(points))
        font = QFont(self.document().defaultFont())
        font.setPointSize(self._font_size)
        self.document().setDefaultFont(font)
        self._fit_margins()

    def show_placeholder(self, text: str = "Select an article to read it.") -> None:
        self.article = None
        muted = muted_colour(self.palette()).name()
        self.setHtml(f'<p style="color:{muted}" align="center"><br><br>{html.escape(text)}</p>')

    def show_article(self, a: Article) -> None:
        self.article = a
        self.blocked = []
        self.setHtml(self.article_html(a))
        self.verticalScrollBar().setValue(0)

    def show_html(self, body: str) -> None:
        """Other trusted-shape pages (digests): still sanitised, still no remote loads."""
        self.article = None
        self.blocked = []
        self.setHtml(body)
        self.verticalScrollBar().setValue(0)

    def article_html(self, a: Article) -> str:
        muted = muted_colour(self.palette()).name()
        link = self.palette().color(QPalette.ColorRole.Link).name()
        text_colour = self.palette().color(QPalette.ColorRole.Text).name()
        e = html.escape
        body = self.t.article_body_html(a)
        if not body.strip() and a.text:
            body = "".join(f"<p>{e(p)}</p>" for p in a.text.split("\n\n") if p.strip())
        body = rewrite_images(body, a.images)
        meta = [e(a.feed_title)]
        if a.authors and not same_name(a.authors, a.feed_title):  # a blog whose author is its name
            meta.append(e(a.authors))
        meta.append(e(a.date.astimezone().strftime("%A %d %B %Y, %H:%M")))
        links = []
        if a.url and a.url.startswith(("http://", "https://")):
            links.append(f'<a href="{e(a.url, quote=True)}">Open original</a>')
        for enc in a.enclosures:
            if not enc.url.startswith(("http://", "https://")):
                continue
            kind = (enc.type or "").split("/")[0]
            verb = {"audio": "Play audio", "video": "Play video"}.get(kind, "Download attachment")
            detail = ", ".join(x for x in (enc.type, human_size(enc.length)) if x)
            links.append(f'<a href="{e(enc.url, quote=True)}">▶ {verb}</a>' + (f" ({e(detail)})" if detail else ""))
        title = e(a.display_title or "(untitled)")
        if a.url and a.url.startswith(("http://", "https://")):
            title = f'<a href="{e(a.url, quote=True)}" style="text-decoration:none; color:{text_colour}">{title}</a>'
        return f"""<html><head><style>
            a {{ color: {link}; }}
            h1 {{ font-size: x-large; margin-top: 0px; margin-bottom: 4px; }}
            p, li {{ margin-top: 0px; margin-bottom: 12px; line-height: 135%; }}
            blockquote, pre {{ line-height: 135%; }}
            .meta {{ color: {muted}; margin-bottom: 4px; }}
            pre, code {{ font-family: monospace; }}
            blockquote {{ margin-left: 16px; }}
            </style></head><body>
            <h1>{title}</h1>
            <p class="meta">{" · ".join(meta)}</p>
            <p class="meta">{" &nbsp;·&nbsp; ".join(links)}</p>
            <hr>
            {body}
            </body></html>"""

    # --- readable line length: centre a column of at most ~75 characters ------------------------

    def _text_width(self) -> int:
        em = self.fontMetrics().horizontalAdvance("M") * self._font_size / max(1, self.font().pointSize() or 11)
        return int(min(self.viewport().width(), MAX_TEXT_WIDTH_EM * em * 1.6))

    def _fit_margins(self) -> None:
        width = self.viewport().width()
        margin = max(12, (width - self._text_width()) // 2)
        if abs(self.document().documentMargin() - margin) >= 1:
            self.document().setDocumentMargin(margin)

    def resizeEvent(self, event):  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_margins()

    # --- reading with the space bar ------------------------------------------------------------------

    def page_down(self) -> bool:
        """Scroll a page; False when already at the end (the caller moves to the next unread)."""
        bar = self.verticalScrollBar()
        if bar.value() >= bar.maximum():
            return False
        bar.setValue(bar.value() + max(1, bar.pageStep() - self.fontMetrics().height() * 2))
        return True
