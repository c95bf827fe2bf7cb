"""An Ollama stand-in: a small threaded HTTP server on 127.0.0.1 that speaks Ollama's API.

It serves what the official ``ollama`` client calls: ``/api/version``, ``/api/tags``,
``/api/show``, ``/api/chat`` (streaming NDJSON and not), ``/api/pull`` (streaming progress),
``/api/embed`` and the older ``/api/embeddings``.
Behaviours are switchable while it runs:

    with OllamaStandIn(models={"llama3.2:latest": 8192}) as s:
        s.url                      # "http://127.0.0.1:PORT"
        s.error_after = 3          # an {"error": ...} line after 3 chunks of the next chats
        s.hang = "before"          # chat never answers;  "mid": answers 2 chunks then stalls;
                                   # "all": every endpoint stalls (a wedged server)
        s.pullable["qwen2.5:0.5b"] = 32768     # /api/pull can fetch it, then it is listed
        s.requests                 # [(path, body-dict), ...] as received

Replies come from a *backend* with ``chat(model, messages, options) -> Iterator[str]`` and
``count_tokens(text) -> int``. The default :class:`ScriptBackend` answers with a pluggable
function (``reply(messages, options) -> str``) cut into word-sized tokens; the e2e test plugs in a
llama-cpp-python backend so the same server fronts a real model. ``token_latency`` /
``prompt_latency`` (seconds per token) simulate a model's speed for the benchmark.

Embeddings come from an *embed backend* with ``embed(texts) -> list[list[float]]`` (optionally
``count_tokens(text) -> int`` and ``max_tokens``): :class:`HashEmbedder` (cheap, deterministic) or
``tests.support.embedder.MiniLMEmbedder`` (the real all-MiniLM-L6-v2, in numpy). Embedding models
are listed, shown and pulled like chat models, and refuse chat as Ollama's do:

    with OllamaStandIn(embed_backend=HashEmbedder()) as s:        # lists "all-minilm:latest"
        ollama.Client(s.url).embed(model="all-minilm", input=["a", "b"]).embeddings
        s.embeds()                 # the /api/embed and /api/embeddings request bodies
        s.embed_error = "..."      # the next embeds fail with 500 {"error": ...}
        s.embed_latency = 0.01     # seconds per input text
    OllamaStandIn(embed_backend=b, embed_models={"nomic-embed-text:latest": 8192})  # other names
    s.pullable["all-minilm:latest"] = 256; s.embedding_models.add("all-minilm:latest")  # pullable

With no embed backend, /api/embed answers 404 "model ... not found, try pulling it first".
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator

_TOKEN = re.compile(r"\s*\S+")


def word_tokens(text: str) -> list[str]:
    """Cut text into word-sized pieces that join back to the text."""
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    # about one token per word or punctuation run, like a real tokenizer on English
    return len(re.findall(r"\w+|[^\w\s]", text))


def default_reply(messages: list[dict], options: dict) -> str:
    """A deterministic 'model': answers with the first sentences of the last message's body.

    Enough for fast tests: it is faithful to the input (so quote and citation checks pass)
    without pretending to be clever.
    """
    prompt = messages[-1].get("content", "") if messages else ""
    lower = prompt.lower()
    if "answer yes or no" in lower and "\nsentence: " in lower:  # the digest's "is it supported?" check
        sentence = lower.rsplit("\nsentence: ", 1)[1]
        words = [w for w in re.findall(r"\w{4,}", sentence)]
        found = sum(1 for w in words if w in lower.rsplit("\nsentence: ", 1)[0])
        return "Yes." if not words or found / len(words) >= 0.8 else "No."
    if "answer yes or no" in lower:
        return "No."
    if "answer with its number" in lower:
        return "1"
    paras = prompt.split("\n\n")
    if paras and re.match(r"\s*\[\d+\]", paras[0]):  # the articles first, the instruction last
        body = "\n\n".join(paras[:-1])
    else:
        body = prompt.split("\n\n", 1)[-1]
    body = re.sub(r"^\s*(#+.*|\[\d+\].*|Source:.*|Title:.*)$", "", body, flags=re.M)
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(body.split()))
    out = " ".join(s for s in sentences[:2] if s)
    return out or "Nothing to report."



class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up first (the timeout tests do, on purpose) are no error worth a
    traceback in the test log; anything else still prints."""

    def handle_error(self, request, client_address):
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

class ScriptBackend:
    def __init__(self, reply: Callable[[list[dict], dict], str] = default_reply):
        self.reply = reply

    def count_tokens(self, text: str) -> int:
        return count_tokens(text)

    def chat(self, model: str, messages: list[dict], options: dict) -> Iterator[str]:
        yield from word_tokens(self.reply(messages, options))


class HashEmbedder:
    """A cheap deterministic embed backend: hashed bag of words, L2-normalised.

    Texts sharing words are close (cosine = overlap of their word counts), unrelated texts near 0;
    an empty text gets a fixed unit vector. Stable across runs and processes (blake2b, not hash()).
    """

    name = "all-minilm:latest"

    def __init__(self, dims: int = 384, max_tokens: int = 256):
        self.dims = dims
        self.max_tokens = max_tokens

    def count_tokens(self, text: str) -> int:
        return count_tokens(text) + 2  # like [CLS] ... [SEP]

    def embed(self, texts: list[str]) -> list[list[float]]:
        return [self._one(t) for t in texts]

    def _one(self, text: str) -> list[float]:
        v = [0.0] * self.dims
        words = re.findall(r"\w+", text.lower())[: self.max_tokens - 2]
        for w in words:
            h = hashlib.blake2b(w.encode(), digest_size=8).digest()
            i = int.from_bytes(h[:4], "little") % self.dims
            v[i] += 1.0 if h[4] & 1 else -1.0
        norm = math.sqrt(sum(x * x for x in v))
        if norm == 0:
            v[0] = 1.0
            return v
        return [x / norm for x in v]


class OllamaStandIn:
    def __init__(
        self,
        models: dict[str, int] | None = None,
        backend=None,
        *,
        token_latency: float = 0.0,
        prompt_latency: float = 0.0,
        port: int = 0,
        embed_backend=None,
        embed_models: dict[str, int] | None = None,
    ):
        self.models: dict[str, int] = dict(models if models is not None else {"llama3.2:latest": 8192})
        # embedding models: listed/shown/pulled like the chat models, served by embed_backend
        if embed_models is None:
            embed_models = {getattr(embed_backend, "name", "all-minilm:latest"): getattr(embed_backend, "max_tokens", 256)} if embed_backend else {}
        self.models.update(embed_models)
        self.embedding_models: set[str] = set(embed_models)  # names (listed or pullable) that embed
        self.embed_backend = embed_backend
        self.embed_error: str | None = None
        self.embed_latency = 0.0
        self._embed_lock = threading.Lock()
        self.pullable: dict[str, int] = {}
        self.backend = backend or ScriptBackend()
        self.token_latency = token_latency
        self.prompt_latency = prompt_latency
        self.error_after: int | None = None
        self.error_message = "model runner has unexpectedly stopped"
        self.hang: str | None = None  # None | "before" | "mid" | "all"
        self.requests: list[tuple[str, dict]] = []
        self.prompt_tokens_total = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._backend_lock = threading.Lock()  # one generation at a time, like one loaded model
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # quiet
                pass

            def do_GET(self):
                standin._handle(self, "GET")

            def do_POST(self):
                standin._handle(self, "POST")

            def do_HEAD(self):
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = _QuietServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "OllamaStandIn":
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="ollama-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def chats(self) -> list[dict]:
        return [b for p, b in self.requests if p == "/api/chat"]

    def embeds(self) -> list[dict]:
        return [b for p, b in self.requests if p in ("/api/embed", "/api/embeddings")]

    # --- HTTP ----------------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return self._json(h, 400, {"error": "invalid JSON"})
        path = h.path.split("?")[0]
        with self._lock:
            self.requests.append((path, body))
        if self.hang == "all":
            self._stop.wait(600)
            return
        if method == "GET" and path == "/api/version":
            return self._json(h, 200, {"version": "0.6.0-standin"})
        if method == "GET" and path == "/api/tags":
            return self._json(h, 200, {"models": [self._model_entry(n) for n in self.models]})
        if method == "POST" and path == "/api/show":
            name = self._resolve(body.get("model", ""))
            if name is None:
                return self._json(h, 404, {"error": f"model '{body.get('model')}' not found"})
            return self._json(h, 200, self._show(name))
        if method == "POST" and path == "/api/chat":
            return self._chat(h, body)
        if method == "POST" and path == "/api/pull":
            return self._pull(h, body)
        if method == "POST" and path in ("/api/embed", "/api/embeddings"):
            return self._embed(h, body, legacy=path == "/api/embeddings")
        return self._json(h, 404, {"error": "not found"})

    def _resolve(self, name: str) -> str | None:
        if name in self.models:
            return name
        if ":" not in name and f"{name}:latest" in self.models:
            return f"{name}:latest"
        return None

    def _model_entry(self, name: str) -> dict:
        if name in self.embedding_models:
            details = {"format": "gguf", "family": "bert", "families": ["bert"], "parameter_size": "23M", "quantization_level": "F16"}
        else:
            details = {"format": "gguf", "family": "standin", "parameter_size": "1B", "quantization_level": "Q4_K_M"}
        return {
            "name": name,
            "model": name,
            "modified_at": "2026-01-01T00:00:00Z",
            "size": 1_000_000,
            "digest": "0" * 64,
            "details": details,
        }

    def _show(self, name: str) -> dict:
        if name in self.embedding_models:
            dims = getattr(self.embed_backend, "dims", 384)
            return {
                "modelfile": f"FROM {name}",
                "parameters": f"num_ctx                        {self.models[name]}",
                "template": "{{ .Prompt }}",
                "details": self._model_entry(name)["details"],
                "model_info": {"general.architecture": "bert", "bert.context_length": self.models[name], "bert.embedding_length": dims},
                "capabilities": ["embedding"],
            }
        return {
            "modelfile": f"FROM {name}",
            "parameters": "",
            "template": "{{ .Prompt }}",
            "details": self._model_entry(name)["details"],
            "model_info": {"general.architecture": "standin", "standin.context_length": self.models[name]},
            "capabilities": ["completion"],
        }

    def _json(self, h, status: int, obj: dict) -> None:
        data = json.dumps(obj).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _begin_stream(self, h) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/x-ndjson")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()

    def _line(self, h, obj: dict) -> None:
        data = (json.dumps(obj) + "\n").encode()
        h.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        h.wfile.flush()

    def _end_stream(self, h) -> None:
        h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()

    def _chat(self, h, body: dict) -> None:
        name = self._resolve(body.get("model", ""))
        if name is None:
            return self._json(h, 404, {"error": f"model '{body.get('model')}' not found, try pulling it first"})
        if name in self.embedding_models:
            return self._json(h, 400, {"error": f"\"{body.get('model')}\" does not support chat"})
        if self.hang == "before":
            self._stop.wait(600)
            return
        messages = body.get("messages") or []
        options = body.get("options") or {}
        stream = body.get("stream", True)
        num_predict = options.get("num_predict")
        t_start = time.perf_counter()
        with self._backend_lock:
            prompt_text = "\n".join(m.get("content", "") for m in messages)
            n_prompt = self.backend.count_tokens(prompt_text)
            with self._lock:
                self.prompt_tokens_total += n_prompt
            if self.prompt_latency:
                time.sleep(self.prompt_latency * n_prompt)
            pieces: list[str] = []
            reason = "stop"
            if stream:
                self._begin_stream(h)
            try:
                for i, piece in enumerate(self.backend.chat(name, messages, options)):
                    if num_predict is not None and num_predict >= 0 and len(pieces) >= num_predict:
                        reason = "length"
                        break
                    if self.error_after is not None and i >= self.error_after:
                        if stream:
                            self._line(h, {"error": self.error_message})
                            self._end_stream(h)
                        else:
                            self._json(h, 500, {"error": self.error_message})
                        return
                    if self.hang == "mid" and i >= 2:
                        self._stop.wait(600)
                        return
                    if self.token_latency:
                        time.sleep(self.token_latency)
                    pieces.append(piece)
                    if stream:
                        self._line(h, self._chunk(name, piece, False))
            except (BrokenPipeError, ConnectionResetError):
                return  # the client went away (cancel): stop generating, like Ollama
            if reason == "stop" and getattr(self.backend, "last_finish_reason", None) == "length":
                reason = "length"
            final = self._chunk(name, "" if stream else "".join(pieces), True)
            final.update(
                done_reason=reason,
                total_duration=int((time.perf_counter() - t_start) * 1e9),
                prompt_eval_count=n_prompt,
                eval_count=len(pieces),
            )
            try:
                if stream:
                    self._line(h, final)
                    self._end_stream(h)
                else:
                    self._json(h, 200, final)
            except (BrokenPipeError, ConnectionResetError):
                return

    def _chunk(self, name: str, content: str, done: bool) -> dict:
        return {
            "model": name,
            "created_at": datetime.now(timezone.utc).isoformat(),
            "message": {"role": "assistant", "content": content},
            "done": done,
        }

    def _embed(self, h, body: dict, legacy: bool) -> None:
        requested = body.get("model", "")
        name = self._resolve(requested)
        if name is None or self.embed_backend is None:
            return self._json(h, 404, {"error": f"model \"{requested}\" not found, try pulling it first"})
        if name not in self.embedding_models:
            return self._json(h, 500, {"error": "this model does not support embeddings"})
        if legacy:
            texts = [body["prompt"]] if body.get("prompt") else []  # Ollama: no prompt, no vector
        else:
            raw = body.get("input", "")
            if isinstance(raw, str):
                texts = [raw] if raw else []  # Ollama: an empty input only loads the model
            elif isinstance(raw, list) and all(isinstance(t, str) for t in raw):
                texts = list(raw)
            else:
                return self._json(h, 400, {"error": "invalid input type"})
        backend = self.embed_backend
        limit = getattr(backend, "max_tokens", None) or self.models[name]
        counter = getattr(backend, "count_tokens", None) or (lambda t: count_tokens(t) + 2)
        n_tokens = [counter(t) for t in texts]
        if not legacy and body.get("truncate") is False and any(n > limit for n in n_tokens):
            return self._json(h, 400, {"error": "the input length exceeds the context length"})
        t_start = time.perf_counter()
        with self._embed_lock:  # one batch at a time, like one loaded model
            if self.embed_error is not None:
                return self._json(h, 500, {"error": self.embed_error})
            if self.embed_latency:
                time.sleep(self.embed_latency * len(texts))
            vectors = [list(map(float, v)) for v in backend.embed(texts)] if texts else []
        dims = body.get("dimensions")
        if not legacy and isinstance(dims, int) and dims > 0:
            if dims > min((len(v) for v in vectors), default=dims):
                return self._json(h, 400, {"error": "dimensions must be between 1 and the model's embedding length"})
            vectors = [_unit(v[:dims]) for v in vectors]
        elapsed = int((time.perf_counter() - t_start) * 1e9)
        if legacy:
            return self._json(h, 200, {"embedding": vectors[0] if vectors else []})
        self._json(h, 200, {
            "model": requested,
            "embeddings": vectors,
            "total_duration": elapsed,
            "load_duration": 0,
            "prompt_eval_count": sum(min(n, limit) for n in n_tokens),
        })

    def _pull(self, h, body: dict) -> None:
        name = body.get("model") or body.get("name") or ""
        if ":" not in name:
            name += ":latest"
        stream = body.get("stream", True)
        if name not in self.pullable and name not in self.models:
            if stream:
                self._begin_stream(h)
                self._line(h, {"status": "pulling manifest"})
                self._line(h, {"error": "pull model manifest: file does not exist"})
                self._end_stream(h)
            else:
                self._json(h, 500, {"error": "pull model manifest: file does not exist"})
            return
        total = 4_000_000
        steps = [{"status": "pulling manifest"}]
        for done in range(0, total + 1, total // 4):
            steps.append({"status": "pulling 0123abcd", "digest": "sha256:0123abcd", "total": total, "completed": done})
        steps += [{"status": "verifying sha256 digest"}, {"status": "writing manifest"}, {"status": "success"}]
        if stream:
            self._begin_stream(h)
            for s in steps[:-1]:
                self._line(h, s)
        if name not in self.models:
            self.models[name] = self.pullable.get(name, 8192)
        if stream:
            self._line(h, steps[-1])
            self._end_stream(h)
        else:
            self._json(h, 200, {"status": "success"})


def _unit(v: list[float]) -> list[float]:
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v] if n else v
