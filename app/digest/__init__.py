"""The daily digest ("Summarise today"): grouping, per-story summaries, checks, rendering.

    DigestService(store, llm, clock, data_dir)   what the facade delegates to (service.py)
    DigestWriter(style, llm=, model=, ...)       the engine, usable without a store (engine.py)
    DigestEvent                                  what on_event callbacks receive
    validate(digest, articles) -> list[str]      the structural checks (validate.py)
    to_markdown / to_html                        exports (render.py)
"""

from app.digest.render import to_html, to_markdown
from app.digest.styles import Style, list_styles, load_style
from app.digest.validate import validate

# The engine and the service load on first use (PEP 562): the window imports app.digest.render at
# start, and the engine brings numpy and the ollama client (~0.3 s here) that first paint does not need.
_EXPORTS = {"DigestEvent": "engine", "DigestWriter": "engine", "MemoryCache": "engine", "DigestService": "service"}

__all__ = [
    "DigestEvent", "DigestWriter", "MemoryCache", "DigestService", "Style", "list_styles", "load_style",
    "validate", "to_markdown", "to_html",
]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'app.digest' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"app.digest.{module}"), name)
    globals()[name] = value
    return value
