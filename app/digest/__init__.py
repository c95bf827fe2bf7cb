"""The daily digest ("Summarise today"): grouping, per-story summaries, checks, rendering.

    DigestService(store, llm, clock, data_dir)   what the facade delegates to (service.py)
    DigestWriter(style, llm=, model=, ...)       the engine, usable without a store (engine.py)
    DigestEvent                                  what on_event callbacks receive
    validate(digest, articles) -> list[str]      the structural checks (validate.py)
    to_markdown / to_html                        exports (render.py)
"""

from app.digest.engine import DigestEvent, DigestWriter, MemoryCache
from app.digest.render import to_html, to_markdown
from app.digest.service import DigestService
from app.digest.styles import Style, list_styles, load_style
from app.digest.validate import validate

__all__ = [
    "DigestEvent", "DigestWriter", "MemoryCache", "DigestService", "Style", "list_styles", "load_style",
    "validate", "to_markdown", "to_html",
]
