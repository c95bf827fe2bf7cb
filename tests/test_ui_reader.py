"""The reading pane loads nothing but cached images: no network, no file:, no way out of the cache."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QColor, QImage, QTextDocument

from app.models import Enclosure, ParsedEntry, ParsedFeed
from conftest import UI_NOW
from ui.reader import ArticleView, rewrite_images

IMG = QTextDocument.ResourceType.ImageResource


@pytest.fixture
def article_with_images(ui_tidings, tmp_path):
    t = ui_tidings
    feed = t.subscribe("http://127.0.0.1:9/pics.xml", title="Pictures")
    body = ('<p>Cached: <img src="https://img.example/cached.png" alt="a cached one"></p>'
            '<p>Not cached: <img src="https://img.example/remote.png" alt="remote picture"></p>'
            '<p>Sneaky: <img src="file:///etc/passwd"> <a href="https://example.org/more">more</a></p>'
            '<script>alert(1)</script><iframe src="https://evil.example/"></iframe>')
    entry = ParsedEntry(guid="p1", url="https://example.org/p1", title="Pictures today", authors="Ann",
                        published=UI_NOW, updated=None, summary="", content_html=body,
                        enclosures=[Enclosure("https://media.example/ep1.mp3", "audio/mpeg", 12_345_678)])
    aid = t.store.save_entries(feed.id, ParsedFeed("Pictures", None, [entry]), now=UI_NOW).new[0]
    (t.image_dir / "ab").mkdir(parents=True, exist_ok=True)
    img = QImage(40, 30, QImage.Format.Format_RGB32)
    img.fill(QColor("red"))
    assert img.save(str(t.image_dir / "ab" / "cached.png"))
    t.store.record_images(aid, {"https://img.example/cached.png": ("ab/cached.png", "image/png", 100, None)}, now=UI_NOW)
    (tmp_path / "secret.png").write_bytes((t.image_dir / "ab" / "cached.png").read_bytes())
    return t.article(aid)


def test_only_cached_images_load(qtbot, ui_tidings, article_with_images):
    view = ArticleView(ui_tidings)
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.show_article(article_with_images)
    html = view.toHtml()
    assert "tidings-img:ab/cached.png" in html
    assert "img.example/remote.png" not in html and "[image: remote picture]" in html
    assert "file:///etc/passwd" not in html
    assert "alert(1)" not in html and "iframe" not in html.lower()
    assert 'href="https://evil.example/"' in html  # a frame becomes a link to what it embedded: never loaded
    # the cached image was really loaded (40 px wide)
    assert not view.document().resource(IMG, QUrl("tidings-img:ab/cached.png")) is None
    # direct attempts to load anything else get nothing
    for url in ("https://img.example/remote.png", "file:///etc/passwd", "tidings-img:../tidings.sqlite",
                "tidings-img:../../secret.png", "tidings-img:/etc/passwd", "data:image/png;base64,AAAA"):
        assert view.loadResource(IMG, QUrl(url)) is None, url
    assert view.loadResource(QTextDocument.ResourceType.StyleSheetResource, QUrl("https://x.example/a.css")) is None
    assert isinstance(view.loadResource(IMG, QUrl("tidings-img:ab/cached.png")), QImage)


def test_article_header_links_and_enclosure(qtbot, ui_tidings, article_with_images):
    view = ArticleView(ui_tidings)
    qtbot.addWidget(view)
    view.show_article(article_with_images)
    text = view.toPlainText()
    assert "Pictures today" in text and "Pictures · Ann" in text
    assert "Open original" in text
    assert "Play audio" in text and "11.8 MB" in text
    html = view.toHtml()
    assert "https://media.example/ep1.mp3" in html and "https://example.org/p1" in html
    opened = []
    view.open_external = opened.append
    view.anchorClicked.emit(QUrl("https://media.example/ep1.mp3"))
    assert [u.toString() for u in opened] == ["https://media.example/ep1.mp3"]
    assert view.source().isEmpty()  # never navigates inside the pane


def test_rewrite_images_keeps_only_cached():
    body = '<p><img src="https://a/1.png" alt="one"><img src="https://a/2.png"></p>'
    out = rewrite_images(body, {"https://a/1.png": "x/1.png"})
    assert 'src="tidings-img:x/1.png"' in out and "https://a/2.png" not in out


def test_long_lines_are_kept_readable(qtbot, ui_tidings, article_with_images):
    view = ArticleView(ui_tidings)
    qtbot.addWidget(view)
    view.resize(1800, 600)
    view.show()
    view.show_article(article_with_images)
    qtbot.waitUntil(lambda: view.document().documentMargin() > 100)
    column = view.viewport().width() - 2 * view.document().documentMargin()
    assert column < 1000  # centred column, not 1800 px lines
