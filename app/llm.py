"""A thin, failure-translating wrapper around the official ``ollama`` client.

Everything the digest needs from a local model goes through :class:`LLMClient`:

    llm = LLMClient(host=None, timeout=60)     # host: argument, else $OLLAMA_HOST, else 127.0.0.1:11434
    llm.list_models() -> list[str]
    llm.context_length(model) -> int | None    # from `show`'s model_info["<arch>.context_length"]
    llm.chat_stream(model, messages, options) -> Iterator[str]   # text deltas
    llm.chat(model, messages, options) -> str
    llm.pull(model) -> Iterator[(completed, total, status)]
    llm.embed(model, texts) -> list[list[float]]   # Ollama's /api/embed (sentence embeddings)
    llm.choose_model(preferred) -> str

Failures come out as :mod:`app.errors` types only:

* nothing answers at the host (refused, DNS, a server that never answers) -> ``OllamaUnavailable``
* the model is not pulled (HTTP 404)                                       -> ``ModelMissing``
* an error line mid-stream, a stall mid-stream, any other HTTP error        -> ``GenerationFailed``
  (``GenerationFailed.partial`` holds the text written before the failure)

The client itself never retries; ``usage`` accumulates what was sent and how long was spent
inside model calls (the digest benchmark reads it).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Iterator, Mapping, Sequence

import httpx
import ollama

from app.errors import GenerationFailed, ModelMissing, OllamaUnavailable

DEFAULT_HOST = "http://127.0.0.1:11434"
DEFAULT_TIMEOUT = 60.0
# Tried in order when the configured model is not installed (prefix match on the name).
PREFERRED_MODELS = ("llama3.2", "llama3.1", "qwen2.5", "qwen3", "gemma3", "mistral", "phi4", "phi3", "llama3")


@dataclass
class LLMUsage:
    """Counters over the life of a client (or since ``reset``)."""

    calls: int = 0
    prompt_tokens: int = 0  # as reported by the server (prompt_eval_count), else estimated
    output_tokens: int = 0
    seconds: float = 0.0  # wall time spent waiting on the server (inside model calls)

    def reset(self) -> None:
        self.calls = self.prompt_tokens = self.output_tokens = 0
        self.seconds = 0.0


@dataclass
class ChatResult:
    """What the last finished ``chat_stream`` reported in its final chunk."""

    done_reason: str | None = None  # "stop", or "length" when cut at num_predict
    prompt_tokens: int = 0
    output_tokens: int = 0


def estimate_tokens(text: str) -> int:
    """A conservative token estimate (about 3.5 characters a token for English)."""
    return max(1, int(len(text) / 3.5) + 1) if text else 0


def _unavailable(host: str, detail: str = "") -> OllamaUnavailable:
    msg = f"Ollama is not answering at {host} ({detail})." if detail else f"Ollama is not running at {host}."
    return OllamaUnavailable(
        msg,
        "Start it with `ollama serve` (install it from https://ollama.com/download if needed), "
        "or set the Ollama address in Settings / OLLAMA_HOST.",
    )


class LLMClient:
    def __init__(self, host: str | None = None, timeout: float = DEFAULT_TIMEOUT):
        host = host or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST
        try:  # the client's own reading of OLLAMA_HOST forms ("0.0.0.0", ":11434", "host:port/path")
            from ollama._client import _parse_host

            host = _parse_host(host)
        except (ImportError, ValueError):
            if "://" not in host:
                host = "http://" + host
        self.host = host.rstrip("/")
        self.timeout = float(timeout)
        self._client = ollama.Client(host=self.host, timeout=httpx.Timeout(self.timeout, connect=min(5.0, self.timeout)))
        self._ctx_cache: dict[str, int | None] = {}
        self._lock = threading.Lock()
        self.usage = LLMUsage()
        self.last = ChatResult()

    # --- failure translation ---------------------------------------------------------

    def _translate(self, e: BaseException, model: str | None = None, partial: str = "") -> Exception:
        if isinstance(e, ollama.ResponseError):
            if e.status_code == 404 and model:
                return ModelMissing(model)
            if e.status_code == -1:  # {"error": ...} line in the middle of a stream
                return _failed(f"The model stopped with an error: {e.error}", partial)
            return _failed(f"Ollama answered with an error ({e.status_code}): {e.error}", partial)
        if isinstance(e, (ConnectionError, httpx.ConnectError)):
            return _unavailable(self.host)
        if isinstance(e, httpx.TimeoutException):
            if model is not None and isinstance(e, httpx.ReadTimeout):
                # the server took the request but went quiet: a stall, or a model still loading
                return _failed(
                    f"Ollama stopped answering (nothing for {self.timeout:g} s); "
                    "the model may be too large for this machine or still loading.",
                    partial,
                )
            return _unavailable(self.host, f"no answer within {self.timeout:g} s")
        if isinstance(e, (httpx.TransportError, httpx.DecodingError, ValueError)):
            return _failed(f"The connection to Ollama broke: {e}", partial)
        return e  # a bug: let it surface as itself

    # --- models ------------------------------------------------------------------------

    def list_models(self) -> list[str]:
        try:
            resp = self._client.list()
        except Exception as e:  # noqa: BLE001 - translated
            raise self._translate(e) from None
        return [m.model for m in resp.models if m.model]

    def context_length(self, model: str) -> int | None:
        """The model's trained context length, or None when the server does not say."""
        with self._lock:
            if model in self._ctx_cache:
                return self._ctx_cache[model]
        try:
            resp = self._client.show(model)
        except Exception as e:  # noqa: BLE001
            raise self._translate(e, model) from None
        n = None
        for k, v in (resp.modelinfo or {}).items():
            if k.endswith(".context_length") and isinstance(v, int) and v > 0:
                n = v
                break
        if n is None and resp.parameters:  # a Modelfile may pin num_ctx
            for line in resp.parameters.splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[0] == "num_ctx" and parts[1].isdigit():
                    n = int(parts[1])
        with self._lock:
            self._ctx_cache[model] = n
        return n

    def choose_model(self, preferred: str | None = None, installed: Sequence[str] | None = None) -> str:
        """The preferred model if installed, else a sensible installed one.

        Raises ModelMissing(preferred) when it is set but nothing is installed, and
        ModelMissing("llama3.2") when nothing at all is installed.
        """
        names = list(installed) if installed is not None else self.list_models()
        if preferred:
            for n in names:
                if n == preferred or n == f"{preferred}:latest" or n.split(":")[0] == preferred and ":" not in preferred:
                    return n
            raise ModelMissing(preferred)
        for p in PREFERRED_MODELS:
            for n in names:
                if n.split(":")[0] == p:
                    return n
        if names:
            return names[0]
        raise ModelMissing(PREFERRED_MODELS[0])

    # --- generation --------------------------------------------------------------------

    def chat_stream(
        self, model: str, messages: Sequence[Mapping[str, str]], options: Mapping | None = None
    ) -> Iterator[str]:
        """Yield text deltas. The request is sent on the first ``next()``.

        On failure raises OllamaUnavailable / ModelMissing / GenerationFailed (with ``partial``).
        Closing the iterator early (cancel) closes the HTTP stream, which stops Ollama generating.
        """
        return self._chat_iter(model, list(messages), dict(options or {}))

    def _chat_iter(self, model, messages, options) -> Iterator[str]:
        written: list[str] = []
        last = ChatResult()
        t_wait = 0.0
        t0 = time.perf_counter()
        stream = None
        try:
            stream = self._client.chat(model=model, messages=messages, options=options or None, stream=True)
            while True:
                t0 = time.perf_counter()
                try:
                    part = next(stream)
                except StopIteration:
                    t_wait += time.perf_counter() - t0
                    break
                except Exception as e:  # noqa: BLE001
                    t_wait += time.perf_counter() - t0
                    raise self._translate(e, model, "".join(written)) from None
                t_wait += time.perf_counter() - t0
                delta = part.message.content or "" if part.message else ""
                if part.done:
                    last = ChatResult(
                        done_reason=part.done_reason,
                        prompt_tokens=part.prompt_eval_count or 0,
                        output_tokens=part.eval_count or 0,
                    )
                if delta:
                    written.append(delta)
                    yield delta
        finally:
            if stream is not None:
                stream.close()  # closes the HTTP response when abandoned early
            if not last.prompt_tokens:
                last.prompt_tokens = sum(estimate_tokens(m.get("content", "")) for m in messages)
            if not last.output_tokens:
                last.output_tokens = estimate_tokens("".join(written))
            with self._lock:
                self.last = last
                self.usage.calls += 1
                self.usage.prompt_tokens += last.prompt_tokens
                self.usage.output_tokens += last.output_tokens
                self.usage.seconds += t_wait

    def chat(self, model: str, messages: Sequence[Mapping[str, str]], options: Mapping | None = None) -> str:
        return "".join(self.chat_stream(model, messages, options))

    def pull(self, model: str) -> Iterator[tuple[int | None, int | None, str]]:
        """Yield (completed bytes, total bytes, status) while Ollama downloads ``model``."""
        try:
            for p in self._client.pull(model, stream=True):
                yield (p.completed, p.total, p.status or "")
        except ollama.ResponseError as e:
            if e.status_code in (-1, 404, 400, 500):
                raise GenerationFailed(
                    f"Ollama could not download “{model}”: {e.error}",
                    "Check the model's name at https://ollama.com/library and your connection.",
                ) from None
            raise self._translate(e, model) from None
        except Exception as e:  # noqa: BLE001
            raise self._translate(e, model) from None

    def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        """Sentence embeddings of ``texts`` (one vector each) from an embedding model.

        Ollama truncates inputs longer than the model's context; raises ModelMissing when the model
        is not pulled, GenerationFailed for a model that cannot embed."""
        if not texts:
            return []
        t0 = time.perf_counter()
        try:
            resp = self._client.embed(model=model, input=list(texts), truncate=True)
        except Exception as e:  # noqa: BLE001 - translated
            raise self._translate(e, model) from None
        finally:
            with self._lock:
                self.usage.seconds += time.perf_counter() - t0
        vectors = [list(v) for v in (resp.embeddings or [])]
        if len(vectors) != len(texts):
            raise _failed(f"Ollama returned {len(vectors)} embeddings for {len(texts)} texts.", "")
        return vectors

    def close(self) -> None:
        self._client._client.close()


def _failed(message: str, partial: str) -> GenerationFailed:
    e = GenerationFailed(message)
    e.partial = partial or ""
    return e
