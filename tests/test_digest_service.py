"""The digest through the facade and the CLI: a real SQLite store in a tmp dir, the official client
against the Ollama stand-in (or against nothing at all)."""

from __future__ import annotations

import json
import socket
import threading
from datetime import date, timedelta

import pytest

from app import make_tidings
from app.cli import main as cli
from app.digest import DigestEvent, validate
from app.errors import ModelMissing, OllamaUnavailable
from app.llm import LLMClient
from app.models import ParsedEntry, ParsedFeed
from support.digest_fixtures import DAY, NOON, fill_store
from support.ollama_standin import OllamaStandIn

MODEL = "llama3.2:latest"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def standin():
    with OllamaStandIn(models={MODEL: 8192}) as s:
        yield s


@pytest.fixture
def data_dir(tmp_path):
    with make_tidings(tmp_path / "lib", clock=lambda: NOON) as t:
        fill_store(t.store)
    return tmp_path / "lib"


def day_articles(t):
    start, end = t.local_day_bounds(date.fromisoformat(DAY))
    return t.store.articles_between(start, end)


def test_ollama_not_running_gives_a_labelled_extractive_digest(data_dir):
    events: list[DigestEvent] = []
    llm = LLMClient(f"127.0.0.1:{free_port()}", timeout=2)
    with make_tidings(data_dir, clock=lambda: NOON, llm=llm) as t:
        d = t.digest(DAY, on_event=events.append)
        assert d.extractive and d.model is None
        assert "not running" in d.notice and "ollama serve" in d.notice and "extractive" in d.notice
        notice = next(e for e in events if e.kind == "notice")
        assert isinstance(notice.error, OllamaUnavailable)
        assert validate(d, day_articles(t)) == []
        assert d.id is not None and [x.id for x in t.digests()] == [d.id]
        again = t.get_digest(d.id)
        assert again.to_json() == d.to_json()


def test_missing_model_says_how_to_get_it_and_still_digests(data_dir, standin):
    events = []
    with make_tidings(data_dir, clock=lambda: NOON, llm=LLMClient(standin.url, timeout=5)) as t:
        d = t.digest(DAY, model="mistral", on_event=events.append)
        assert d.extractive and "ollama pull mistral" in d.notice
        err = next(e.error for e in events if e.kind == "notice")
        assert isinstance(err, ModelMissing) and err.model == "mistral"
        # the view offers a pull; after it the model is there
        standin.pullable["mistral:latest"] = 8192
        progress = []
        t.pull_model("mistral", on_progress=lambda done, total, status: progress.append((done, total, status)))
        assert progress[-1][2] == "success" and any(total for _, total, _ in progress)
        assert "mistral:latest" in t.llm_models()
        d2 = t.digest(DAY, model="mistral")
        assert not d2.extractive and d2.model == "mistral:latest"


def test_model_digest_is_stored_with_its_sources_and_exports(data_dir, standin):
    with make_tidings(data_dir, clock=lambda: NOON, llm=LLMClient(standin.url, timeout=5)) as t:
        t.set_setting("ollama_model", MODEL)
        d = t.digest(DAY, style="newsletter")
        arts = day_articles(t)
        assert validate(d, arts) == [] and d.model == MODEL and d.style == "newsletter"
        assert t.get_digest(d.id).items[0].article_ids == d.items[0].article_ids
        md = t.digest_markdown(d)
        assert md.startswith("# Friday 20 November 2026") and "tidings://article/" in md
        page = t.digest_html(d)
        for a in arts:
            assert f'id="article-{a.id}"' in page
        assert t.digest_styles()[0] == "briefing"


def test_rerun_uses_the_store_cache(data_dir, standin):
    with make_tidings(data_dir, clock=lambda: NOON, llm=LLMClient(standin.url, timeout=5)) as t:
        t.digest(DAY)
        n = len(standin.chats())
        t.digest(DAY)
        assert len(standin.chats()) == n


def test_since_last_and_folders(data_dir, standin):
    with make_tidings(data_dir, clock=lambda: NOON + timedelta(minutes=1), llm=LLMClient(standin.url, timeout=5)) as t:
        first = t.digest(DAY)
        assert first.id
        later = NOON + timedelta(hours=2)
        t.clock = lambda: later
        d = t.digest(since_last=True)
        assert d.items == [] and d.id is None  # nothing new since: not stored
        fid = t.feeds()[0].id
        t.store.save_entries(fid, ParsedFeed(title="", site_url=None, entries=[ParsedEntry(
            guid="new-1", url=None, title="Ferry service resumes after storm", authors="", published=None,
            updated=None, summary="<p>The ferry to the islands runs again from Friday.</p>", content_html="")]),
            now=NOON + timedelta(hours=1))
        d = t.digest(since_last=True)
        assert [i.title for i in d.items] == ["Ferry service resumes after storm"] and d.id
        feed = t.feeds()[0]
        t.move_feed(feed.id, "Weather")
        only = t.digest(DAY, folders=["Weather"])
        assert {s for i in only.items for s in i.sources} == {feed.title}


def test_cancel_through_the_facade(data_dir, standin):
    cancel = threading.Event()
    cancel.set()
    with make_tidings(data_dir, clock=lambda: NOON, llm=LLMClient(standin.url, timeout=5)) as t:
        d = t.digest(DAY, cancel=cancel)
        assert "Cancelled" in d.notice and d.id is None and t.digests() == []
        assert validate(d, day_articles(t)) == []


def test_cli_digest_json_and_markdown(data_dir, standin, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("OLLAMA_HOST", standin.url)
    assert cli(["--data-dir", str(data_dir), "digest", "--date", DAY, "--json", "--html", str(tmp_path / "d.html")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"date", "style", "model", "extractive", "headline", "items", "closing"} <= set(out)
    assert out["date"] == DAY and out["model"] == MODEL and out["extractive"] is False
    assert out["items"][0]["section"] == "lead"
    for item in out["items"]:
        assert {"section", "title", "text", "article_ids", "sources"} <= set(item) and item["article_ids"]
    assert (tmp_path / "d.html").read_text().startswith("<!DOCTYPE html>")

    assert cli(["--data-dir", str(data_dir), "digest", "--date", DAY, "--extractive", "--style", "newsletter"]) == 0
    md = capsys.readouterr().out
    assert "## Today's lead" in md and "extractive" in md


def test_cli_digest_without_ollama_explains_and_prints(data_dir, monkeypatch, capsys):
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{free_port()}")
    assert cli(["--data-dir", str(data_dir), "digest", "--date", DAY, "--json"]) == 0
    captured = capsys.readouterr()
    assert "ollama serve" in captured.err
    out = json.loads(captured.out)
    assert out["extractive"] is True and out["model"] is None and out["items"]


def test_cli_digest_bad_style(data_dir, capsys):
    assert cli(["--data-dir", str(data_dir), "digest", "--date", DAY, "--style", "nope"]) == 1
    assert "no digest style" in capsys.readouterr().err


def test_no_model_installed_at_all(data_dir):
    with OllamaStandIn(models={}) as empty:
        with make_tidings(data_dir, clock=lambda: NOON, llm=LLMClient(empty.url, timeout=5)) as t:
            d = t.digest(DAY)
            assert d.extractive and "No model is installed" in d.notice and "ollama pull llama3.2" in d.notice


def test_a_model_that_stalls_mid_digest_keeps_what_was_written(data_dir, standin):
    standin.hang = "mid"
    with make_tidings(data_dir, clock=lambda: NOON, llm=LLMClient(standin.url, timeout=1)) as t:
        d = t.digest(DAY)
        assert d.model == MODEL and "stopped answering" in d.notice
        assert validate(d, day_articles(t)) == [] and d.id  # complete (the rest extractive) and stored
