"""What the facade's digest methods do: pick the day's articles, the model and the style, write the
digest (model or extractive), store it, list it, export it.

The facade holds one ``DigestService(store, llm, clock, data_dir)`` and delegates to it; ``llm``
is an ``LLMClient``-like object or a zero-arg factory for one (so Settings changes apply), or None
to build one from the settings ("ollama_host", "ollama_timeout") and OLLAMA_HOST.
"""

from __future__ import annotations

import logging
import threading
from datetime import date as _date
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Callable, Sequence

from app.digest.engine import DigestEvent, DigestWriter
from app.digest.grouping import Signals, tokens
from app.digest.render import to_html, to_markdown
from app.digest.styles import list_styles, load_style
from app.errors import LLMError, ModelMissing, NotFound, TidingsError
from app.llm import DEFAULT_TIMEOUT, LLMClient
from app.models import Digest, utc_now

log = logging.getLogger(__name__)

DEFAULT_EMBED_MODEL = "all-minilm"  # small (46 MB) and fast; Settings picks another (nomic-embed-text, ...)
EMBEDDING_FAMILIES = ("all-minilm", "nomic-embed", "mxbai-embed", "bge-", "snowflake-arctic-embed",
                      "granite-embedding", "paraphrase-multilingual", "embeddinggemma", "qwen3-embedding")
SIGNAL_DAYS = 30  # how far back the person's reading counts


def is_embedding_model(name: str) -> bool:
    base = name.split(":")[0].split("/")[-1].lower()
    return any(base.startswith(f) for f in EMBEDDING_FAMILIES) or "embed" in base




def parse_day(value) -> _date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone().date()
    if isinstance(value, _date):
        return value
    try:
        return _date.fromisoformat(str(value).strip())
    except ValueError:
        raise TidingsError(f"“{value}” is not a date.", "Give the date as YYYY-MM-DD, e.g. 2026-11-21.") from None


def local_day_bounds(day: _date) -> tuple[datetime, datetime]:
    """[start, end) in UTC of a calendar day in the system's local time zone."""
    start = datetime.combine(day, time.min).astimezone()
    end = datetime.combine(day + timedelta(days=1), time.min).astimezone()
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


class DigestService:
    def __init__(self, store, llm=None, clock: Callable[[], datetime] | None = None, data_dir: Path | None = None):
        self.store = store
        self._llm = llm
        self.clock = clock or utc_now
        self.data_dir = Path(data_dir) if data_dir else None
        self._client: LLMClient | None = None  # made from settings; kept while they stay the same
        self._client_for: tuple | None = None

    # --- collaborators -------------------------------------------------------------------

    def llm(self):
        if self._llm is None:
            # One client (one connection pool, one context-length cache) while host and timeout hold.
            wanted = (self.store.get_setting("ollama_host", None),
                      float(self.store.get_setting("ollama_timeout", None) or DEFAULT_TIMEOUT * 2))
            if self._client is None or self._client_for != wanted:
                self._client, self._client_for = LLMClient(wanted[0], timeout=wanted[1]), wanted
            return self._client
        if callable(self._llm) and not hasattr(self._llm, "chat_stream"):
            return self._llm()
        return self._llm

    def _setting(self, key: str, default=None):
        return self.store.get_setting(key, default)

    # --- the digest ------------------------------------------------------------------------

    def digest(
        self,
        date=None,
        *,
        style: str | None = None,
        model: str | None = None,
        folders: Sequence[str] | None = None,
        since_last: bool = False,
        extractive: bool = False,
        on_event: Callable[[DigestEvent], None] | None = None,
        cancel: threading.Event | None = None,
        save: bool = True,
    ) -> Digest:
        """Write, store and return the digest of ``date`` (default today, local time).

        Never raises for Ollama trouble: when Ollama is not running, the model is not installed,
        or generation fails, the digest is (partly) extractive and ``notice`` says why, and
        ``on_event`` hears a "notice" event carrying the error (ModelMissing -> offer a pull)."""
        now = self.clock()
        style_name = style or self._setting("digest_style", None) or "briefing"
        st = load_style(style_name, self.data_dir)
        if since_last:
            last = self.store.last_digest()
            start = last.created if last and last.created else local_day_bounds(now.astimezone().date())[0]
            end = now
            day = now.astimezone().date()
        else:
            day = parse_day(date) or now.astimezone().date()
            start, end = local_day_bounds(day)
        articles = self.store.articles_between(start, end, folders=list(folders) if folders else None,
                                               by="first_seen" if since_last else "date")

        notice = None
        chosen = None
        client = None
        ctx = None
        if not extractive and articles:
            try:
                client = self.llm()
                installed = client.list_models()
                chat_models = [m for m in installed if not is_embedding_model(m)]
                chosen = client.choose_model(model or self._setting("ollama_model", None), chat_models)
                ctx = client.context_length(chosen)
            except LLMError as e:
                chosen = None
                notice = e.explain() if not isinstance(e, ModelMissing) else (
                    f"{e} {e.hint}" if model or self._setting("ollama_model", None) else
                    f"No model is installed in Ollama. Install one with `ollama pull {e.model}` (or let Tidings pull it)."
                )
                if on_event:
                    on_event(DigestEvent("notice", message=notice, error=e))
        embed_model = None
        if chosen and len(articles) > 1:
            wanted = self._setting("embed_model", None) or DEFAULT_EMBED_MODEL
            try:
                embed_model = client.choose_model(wanted, [m for m in installed if is_embedding_model(m)] or installed)
            except ModelMissing:
                embed_model = None
            if embed_model is None:
                e = ModelMissing(wanted)
                msg = (f"The embedding model “{wanted}” is not installed, so stories are grouped from their "
                       f"words alone. Install it with `ollama pull {wanted}` (or let Tidings pull it).")
                notice = f"{notice} {msg}".strip() if notice else msg
                if on_event:
                    on_event(DigestEvent("notice", message=msg, error=e))
        signals = self.reading_signals() if self._setting("digest_personal", True) else None
        writer = DigestWriter(
            st, llm=client if chosen else None, model=chosen, cache=self.store,
            on_event=on_event, cancel=cancel, context_length=ctx, embed_model=embed_model, signals=signals,
        )
        d = writer.write(articles, day.isoformat(), notice=notice)
        d.created = now
        if save and articles and not writer.cancelled:
            d.id = self.store.save_digest(d)
        return d

    def reading_signals(self) -> Signals:
        """What the person reads and stars, from the store: per feed 0..1, and the names in the
        titles of what they starred lately (topics), each 0..1."""
        now = self.clock()
        per_feed, starred_titles = self.store.reading_signals(now - timedelta(days=SIGNAL_DAYS))
        topics: dict[str, float] = {}
        for title in starred_titles:
            for w, name in tokens(title):
                if name and not w[0].isdigit():
                    topics[w] = min(1.0, topics.get(w, 0.0) + 0.25)
        return Signals(feeds=per_feed, topics=topics)

    # --- listing and export ---------------------------------------------------------------

    def digests(self) -> list[Digest]:
        return self.store.list_digests()

    def get_digest(self, digest_id: int) -> Digest:
        return self.store.get_digest(digest_id)

    def digest_styles(self) -> list[str]:
        return list_styles(self.data_dir)

    def _labels(self, d: Digest) -> dict | None:
        try:
            return load_style(d.style, self.data_dir).labels
        except TidingsError:
            return None

    def digest_markdown(self, d: Digest) -> str:
        return to_markdown(d, self._labels(d))

    def digest_html(self, d: Digest) -> str:
        ids = [aid for i in d.items for aid in i.article_ids]
        arts = []
        if ids:
            by_id = getattr(self.store, "articles_by_id", None)
            if by_id is not None:
                arts = by_id(ids)
            else:
                for aid in ids:
                    try:
                        arts.append(self.store.article(aid))
                    except NotFound:
                        pass
        return to_html(d, arts, self._labels(d))

    # --- models ----------------------------------------------------------------------------

    def llm_models(self) -> list[str]:
        """Installed model names; raises OllamaUnavailable when Ollama is not running."""
        return self.llm().list_models()

    def pull_model(self, name: str, on_progress: Callable[[int | None, int | None, str], None] | None = None) -> None:
        """Download ``name`` into Ollama; ``on_progress(completed, total, status)`` for a progress bar."""
        for completed, total, status in self.llm().pull(name):
            if on_progress:
                on_progress(completed, total, status)
