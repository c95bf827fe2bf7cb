"""Translate in the reading pane, streamed from the Ollama stand-in; always-translate feeds."""

from __future__ import annotations

import pytest

from app.llm import LLMClient
from conftest import fill_store
from support.ollama_standin import OllamaStandIn, ScriptBackend

pytestmark = pytest.mark.timeout(60)


def fake_translate(messages, options):
    language = messages[0]["content"].split("into ")[1].split(".")[0]
    return f"[{language}] {messages[-1]['content'].upper()}"


@pytest.fixture
def standin():
    with OllamaStandIn(backend=ScriptBackend(fake_translate), token_latency=0.002) as s:
        yield s


def idle(qtbot, w):
    qtbot.waitUntil(lambda: w.tasks.active == 0, timeout=10000)


def test_translate_streams_into_the_pane_then_shows_the_original(qtbot, ui_tidings, open_window, standin):
    ui_tidings._llm = LLMClient(standin.url, timeout=5)
    ui_tidings.set_setting("translate_language", "de")
    ids = fill_store(ui_tidings, {("Alpha News", None): 2})
    w = open_window()
    aid = ui_tidings.article_ids()[0]
    w.show_article_by_id(aid)
    seen = []
    w.reader.textChanged.connect(lambda: seen.append(w.reader.toPlainText()))
    w.translator.action.trigger()
    idle(qtbot, w)
    text = w.reader.toPlainText()
    assert "[German] ALPHA NEWS STORY 0" in text and "[German] BODY OF ALPHA NEWS STORY 0." in text
    assert "Translated into German by llama3.2:latest on this computer" in text
    assert any("…" in s and "[German]" in s for s in seen)  # shown while it streamed
    assert "Translated into German" in w.status_label.text()
    w.translator.action.trigger()  # T again: the original
    assert "[German]" not in w.reader.toPlainText() and "Body of Alpha News story 0" in w.reader.toPlainText()
    # A feed marked "always translate": opening its article translates it (from the cache now).
    ui_tidings.set_feed_extras(ids["Alpha News"], always_translate=True)
    w.refresh_feeds()
    idle(qtbot, w)
    w.show_article_by_id(aid)
    idle(qtbot, w)
    assert "[German] ALPHA NEWS STORY 0" in w.reader.toPlainText()


def test_ollama_missing_says_so(qtbot, ui_tidings, open_window):
    ui_tidings._llm = LLMClient("127.0.0.1:9", timeout=1)
    fill_store(ui_tidings, {("Alpha News", None): 1})
    w = open_window()
    errors = []
    w.tasks.error.connect(lambda m, h, bug: errors.append((m, bug)))
    w.show_article_by_id(ui_tidings.article_ids()[0])
    w.translator.action.trigger()
    idle(qtbot, w)
    assert errors and not errors[0][1] and "Ollama" in errors[0][0]
    assert "[" not in w.reader.toPlainText().splitlines()[0]


def test_translate_the_digest_on_screen(qtbot, ui_tidings, open_window, standin):
    from app.models import Digest, DigestItem

    ui_tidings._llm = LLMClient(standin.url, timeout=5)
    ui_tidings.set_setting("translate_language", "fr")
    fill_store(ui_tidings, {("Alpha News", None): 1})
    aid = ui_tidings.article_ids()[0]
    did = ui_tidings.store.save_digest(Digest(date="2026-11-21", style="briefing", model=None, extractive=True,
                                              headline="Calm day", closing="", items=[DigestItem(
                                                  section="lead", title="Rain", text="It rained all day.",
                                                  article_ids=[aid], sources=["Alpha News"])]))
    w = open_window()
    w.select_source("smart:digests", select=did)
    idle(qtbot, w)
    qtbot.waitUntil(lambda: w.shown_digest is not None, timeout=5000)
    original = w.reader.toPlainText()
    w.translator.action.trigger()
    idle(qtbot, w)
    text = w.reader.toPlainText()
    assert "[French] IT RAINED ALL DAY." in text and "Translated into French" in text
    w.translator.action.trigger()
    assert "[French]" not in w.reader.toPlainText() and "It rained all day." in w.reader.toPlainText()
    assert w.reader.toPlainText().split() == original.split()
