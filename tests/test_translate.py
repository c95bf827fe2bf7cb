"""Local translation through the Ollama stand-in: paragraph by paragraph, streamed, cached, the
language from Settings or the system, failures kept part way, the CLI."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from app.cli import main
from app.core import make_tidings
from app.errors import OllamaUnavailable
from app.llm import LLMClient
from app.models import ParsedFeed
from app.translate import language_name, paragraphs_of_text, system_language
from support.ollama_standin import OllamaStandIn, ScriptBackend
from tests.helpers import entry

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)


def fake_translate(messages, options):
    """A 'model' that translates by tagging: '[German] TEXT' (upper case), so tests can see it."""
    language = messages[0]["content"].split("into ")[1].split(".")[0]
    return f"[{language}] {messages[-1]['content'].upper()}"


@pytest.fixture
def standin():
    with OllamaStandIn(models={"llama3.2:latest": 8192}, backend=ScriptBackend(fake_translate)) as s:
        yield s


@pytest.fixture
def t(tmp_path, standin):
    with make_tidings(tmp_path / "lib", clock=lambda: NOW, llm=LLMClient(standin.url, timeout=5)) as t:
        f = t.subscribe("https://a.example/feed")
        e = entry(1, title="Hello world", body="<p>First paragraph here.</p><p>Second one, longer.</p>")
        t.article_id = t.store.save_entries(f.id, ParsedFeed("F", None, [e]), now=NOW).new[0]
        t.feed_id = f.id
        yield t


def test_language_from_settings_or_system():
    assert system_language({"LANG": "de_DE.UTF-8"}) == "German"
    assert system_language({"LANGUAGE": "pt_BR:en", "LANG": "C"}) == "Portuguese"
    assert language_name("fr") == "French" and language_name("klingon") == "Klingon"


def test_paragraphs_cut_long_ones_at_sentences():
    text = "Short one.\n\n" + "A sentence here. " * 400
    parts = paragraphs_of_text(text)
    assert parts[0] == "Short one." and len(parts) > 2 and all(len(p) <= 4000 for p in parts)
    assert all(p.endswith(".") for p in parts)


def test_translate_article_streams_paragraphs_and_caches(t, standin):
    t.set_setting("translate_language", "de")
    events = []
    result = t.translate_article(t.article_id, on_event=events.append)
    assert result.complete and result.language == "German" and result.model == "llama3.2:latest"
    assert result.paragraphs == ["[German] HELLO WORLD", "[German] FIRST PARAGRAPH HERE.",
                                 "[German] SECOND ONE, LONGER."]
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and kinds.count("paragraph") == 3
    assert kinds.count("text") > 3  # streamed in pieces, not all at once
    first_text = next(e for e in events if e.kind == "text")
    assert first_text.index == 0
    calls = len(standin.chats())
    assert calls == 3  # one per paragraph
    again = []
    assert t.translate_article(t.article_id, on_event=again.append).paragraphs == result.paragraphs
    assert len(standin.chats()) == calls  # all from the cache
    assert all(e.cached for e in again if e.kind == "paragraph")
    other = t.translate_article(t.article_id, language="French")
    assert other.paragraphs[0] == "[French] HELLO WORLD" and len(standin.chats()) == calls + 3


def test_cancel_and_failure_keep_what_was_written(t, standin):
    import threading

    cancel = threading.Event()

    def stop_after_first(ev):
        if ev.kind == "paragraph" and ev.index == 0:
            cancel.set()

    part = t.translate_article(t.article_id, language="Dutch", on_event=stop_after_first, cancel=cancel)
    assert not part.complete and part.paragraphs == ["[Dutch] HELLO WORLD"]
    standin.error_after = 2
    failed = t.translate_article(t.article_id, language="Italian")
    assert not failed.complete and failed.error and "stopped" in failed.error


def test_ollama_not_running_is_a_typed_error(tmp_path):
    with make_tidings(tmp_path / "x", llm=LLMClient("127.0.0.1:9", timeout=1)) as t:
        f = t.subscribe("https://a.example/feed")
        aid = t.store.save_entries(f.id, ParsedFeed("F", None, [entry(1)]), now=NOW).new[0]
        with pytest.raises(OllamaUnavailable):
            t.translate_article(aid)


def test_cli_translate(tmp_path, standin, capsys, monkeypatch):
    data = tmp_path / "cli"
    with make_tidings(data) as t:
        f = t.subscribe("https://a.example/feed")
        aid = t.store.save_entries(f.id, ParsedFeed("F", None, [entry(1, title="Good news", body="<p>One.</p>")]),
                                   now=NOW).new[0]
        t.set_setting("ollama_host", standin.url)
    assert main(["--data-dir", str(data), "translate", str(aid), "--to", "es"]) == 0
    out, err = capsys.readouterr()
    assert out == "[Spanish] GOOD NEWS\n\n[Spanish] ONE.\n" and "Translated into Spanish by llama3.2" in err
    assert main(["--data-dir", str(data), "translate"]) == 2


def test_translate_digest_keeps_headings_and_list_marks(t):
    from app.models import Digest, DigestItem

    did = t.store.save_digest(Digest(date="2026-11-21", style="briefing", model=None, extractive=True,
                                     headline="Calm day", closing="",
                                     items=[DigestItem(section="lead", title="Rain", text="It rained.",
                                                       article_ids=[t.article_id], sources=["F"])]))
    md = t.digest_markdown(t.get_digest(did))
    result = t.translate_digest(did, language="German")
    assert result.complete and len(result.paragraphs) == len(result.marks) == len(result.source)
    heading = next(i for i, m in enumerate(result.marks) if m.startswith("#"))
    assert result.paragraphs[heading].startswith("[German] ") and "#" not in result.paragraphs[heading]
    assert md.lstrip().startswith(result.marks[0] + result.source[0])
