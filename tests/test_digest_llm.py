"""app.llm.LLMClient through the official ollama client against the Ollama stand-in on loopback."""

from __future__ import annotations

import socket
import time

import pytest

from app.errors import GenerationFailed, ModelMissing, OllamaUnavailable
from app.llm import LLMClient
from support.ollama_standin import OllamaStandIn

MSG = [{"role": "user", "content": "Summarise.\n\nThe river rose fast. Trains stopped. Schools closed."}]


@pytest.fixture
def standin():
    with OllamaStandIn(models={"llama3.2:latest": 8192, "qwen2.5:0.5b": 32768}) as s:
        yield s


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_lists_models_and_reads_context_length(standin):
    c = LLMClient(standin.url, timeout=5)
    assert c.list_models() == ["llama3.2:latest", "qwen2.5:0.5b"]
    assert c.context_length("qwen2.5:0.5b") == 32768
    assert c.context_length("llama3.2") == 8192  # ":latest" is implied, as in Ollama


def test_host_from_environment(standin, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", standin.url.removeprefix("http://"))
    assert LLMClient(timeout=5).list_models()


def test_choose_model(standin):
    c = LLMClient(standin.url, timeout=5)
    assert c.choose_model() == "llama3.2:latest"  # preferred family first
    assert c.choose_model("qwen2.5:0.5b") == "qwen2.5:0.5b"
    assert c.choose_model("llama3.2") == "llama3.2:latest"
    assert c.choose_model(None, ["phi3:mini", "zeta:1b"]) == "phi3:mini"
    assert c.choose_model(None, ["zeta:1b"]) == "zeta:1b"
    with pytest.raises(ModelMissing) as e:
        c.choose_model("mistral")
    assert e.value.model == "mistral" and "ollama pull mistral" in e.value.hint
    with pytest.raises(ModelMissing):
        c.choose_model(None, [])


def test_chat_streams_text_and_counts_usage(standin):
    c = LLMClient(standin.url, timeout=5)
    parts = list(c.chat_stream("llama3.2:latest", MSG, {"num_predict": 100}))
    assert len(parts) > 3 and "".join(parts) == "The river rose fast. Trains stopped."
    assert c.last.done_reason == "stop"
    assert c.usage.calls == 1 and c.usage.prompt_tokens == standin.prompt_tokens_total > 0
    assert standin.chats()[-1]["options"]["num_predict"] == 100


def test_output_cut_at_token_cap_is_reported(standin):
    c = LLMClient(standin.url, timeout=5)
    assert c.chat("llama3.2:latest", MSG, {"num_predict": 3}) == "The river rose"
    assert c.last.done_reason == "length"


def test_missing_model_is_model_missing(standin):
    c = LLMClient(standin.url, timeout=5)
    with pytest.raises(ModelMissing):
        c.context_length("mistral")
    it = c.chat_stream("mistral", MSG)  # the request is only sent on the first next()
    with pytest.raises(ModelMissing) as e:
        next(it)
    assert "mistral" in str(e.value)


def test_error_mid_stream_keeps_what_was_written(standin):
    standin.error_after = 3
    c = LLMClient(standin.url, timeout=5)
    got = []
    with pytest.raises(GenerationFailed) as e:
        for p in c.chat_stream("llama3.2:latest", MSG):
            got.append(p)
    assert e.value.partial == "".join(got) == "The river rose"
    assert "unexpectedly stopped" in str(e.value) and e.value.hint


@pytest.mark.parametrize("mode", ["before", "mid"])
def test_a_hanging_server_times_out(standin, mode):
    standin.hang = mode
    c = LLMClient(standin.url, timeout=1)
    t0 = time.monotonic()
    with pytest.raises(GenerationFailed) as e:
        list(c.chat_stream("llama3.2:latest", MSG))
    assert time.monotonic() - t0 < 15  # the stand-in hangs for good: any bound proves the timeout
    assert "stopped answering" in str(e.value)
    assert e.value.partial == ("" if mode == "before" else "The river")


def test_a_wedged_server_is_unavailable(standin):
    standin.hang = "all"
    with pytest.raises(OllamaUnavailable) as e:
        LLMClient(standin.url, timeout=1).list_models()
    assert "not answering" in str(e.value)


def test_nothing_listening_is_unavailable_everywhere():
    c = LLMClient(f"127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(OllamaUnavailable) as e:
        c.list_models()
    assert "ollama serve" in e.value.explain()
    with pytest.raises(OllamaUnavailable):
        c.context_length("llama3.2")
    with pytest.raises(OllamaUnavailable):
        list(c.chat_stream("llama3.2", MSG))
    with pytest.raises(OllamaUnavailable):
        list(c.pull("llama3.2"))


def test_pull_reports_progress_then_the_model_is_installed(standin):
    standin.pullable["gemma3:1b"] = 32768
    c = LLMClient(standin.url, timeout=5)
    steps = list(c.pull("gemma3:1b"))
    sized = [(done, total) for done, total, _ in steps if total]
    assert sized[0][0] == 0 and sized[-1] == (4_000_000, 4_000_000)
    assert steps[-1][2] == "success"
    assert "gemma3:1b" in c.list_models()


def test_pull_of_an_unknown_model_fails_in_plain_words(standin):
    with pytest.raises(GenerationFailed) as e:
        list(LLMClient(standin.url, timeout=5).pull("no-such-model"))
    assert "could not download" in str(e.value)


def test_closing_the_stream_early_stops_the_request(standin):
    standin.token_latency = 0.05
    c = LLMClient(standin.url, timeout=5)
    it = c.chat_stream("llama3.2:latest", MSG)
    first = next(it)
    it.close()
    assert first == "The" and c.usage.calls == 1
