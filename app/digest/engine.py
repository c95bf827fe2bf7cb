"""The digest engine: articles of a day -> a cited, checked :class:`app.models.Digest`.

    stories   grouped in code (grouping.py), ranked, split into lead / also / brief
    brief     "In brief" lines are written in code (style ``brief = "extractive"``, the default):
              the story's title and its best leading sentence in its articles' own words
              (text.brief_sentence), no model call; ``brief = "model"`` asks the model as "map" does
    map       one small model call per lead / also story (its articles cut to fit the context),
              cached by content: (model, prompt version, the story's articles and their content hashes)
    reduce    small calls for the pieces that span stories: the headline, the lead's "why it
              matters", the closing line (cached the same way)
    checks    every piece of model text is repaired (validate.repair: unverifiable quotes and
              numbers are dropped, output cut at the token cap is trimmed to its last sentence);
              a piece that comes back empty falls back to the article's own sentences.

Without a model (``llm=None``) the same structure is built from the articles' own sentences: the
extractive digest. The structure is always assembled here, never parsed from model output.

Progress and streamed text go to ``on_event(DigestEvent)`` from the calling thread.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol, Sequence

from app.digest.grouping import GroupingStats, Signals, Story, assign_sections, group_stories
from app.digest.styles import MAIN_PARTS, Style
from app.digest.text import (
    article_hash,
    article_text,
    brief_sentence,
    clean_sentences,
    content_hash,
    keywords,
    leading_sentences,
    normalise,
    sentences,
    trim_to_sentence,
    truncate_words,
)
from app.digest.validate import repair, validate
from app.errors import LLMError
from app.llm import estimate_tokens
from app.models import Article, Digest, DigestItem

log = logging.getLogger(__name__)

DEFAULT_CONTEXT = 4096  # when the server does not say
MAX_CONTEXT = 8192  # we never ask Ollama for more than this (memory), even if the model could
INPUT_CAP = {"lead": 3000, "also": 1500, "brief": 300, "why": 1200}  # tokens of article text
MAX_ARTICLES_WITH_TEXT = 4  # more sources of one story are listed by source and title only
MAX_CONFIRMS = 8  # yes/no "same story?" questions per run at most (embeddings do most of that work)
CONFIRM_SECONDS = 60.0  # ... and no more of them once this long has gone on them
MAX_CHECKS = 40  # yes/no "is this sentence supported?" questions per run at most
EMBED_BATCH = 32  # articles per /api/embed request
EMBED_CHARS = 1500  # of each article's text (after its title) sent to the embedding model
BRIEF_MIN_CAP = 12  # an extractive "In brief" sentence may run to 1.6 x brief_words, and at least this
NOTHING = "\u2205"  # cached: the model's answer had nothing usable (the article's own text is used)
EXTRACTIVE_NOTICE = "This digest is extractive: it was written from the articles' own sentences, without a model."


@dataclass
class DigestEvent:
    """What the digest view hears while a digest is written.

    kind:
      "plan"      the stories are grouped: ``total`` stories; ``items`` the skeleton (titles, sources)
      "text"      streamed model text: ``index`` (item) or ``part`` ("why", "headline", "closing"), ``text``
      "item"      item ``index`` is final (``item``); replaces whatever streamed for it
      "progress"  ``done`` of ``total`` stories written
      "notice"    something the person should know (``message``; ``error`` the LLMError if any,
                  e.g. ModelMissing -> offer to pull ``error.model``)
      "done"      ``digest`` is complete (also the return value)
    """

    kind: str
    index: int | None = None
    part: str | None = None
    text: str = ""
    done: int = 0
    total: int = 0
    item: DigestItem | None = None
    items: list[DigestItem] = field(default_factory=list)
    digest: Digest | None = None
    message: str = ""
    error: Exception | None = None


class Cache(Protocol):
    def cache_get(self, key: str) -> str | None: ...

    def cache_put(self, key: str, value: str) -> None: ...


class MemoryCache:
    def __init__(self):
        self.data: dict[str, str] = {}

    def cache_get(self, key: str) -> str | None:
        return self.data.get(key)

    def cache_put(self, key: str, value: str) -> None:
        self.data[key] = value


class _Stop(Exception):
    """Internal: stop using the model (cancelled, or it failed)."""


class DigestWriter:
    def __init__(
        self,
        style: Style,
        *,
        llm=None,
        model: str | None = None,
        cache: Cache | None = None,
        on_event: Callable[[DigestEvent], None] | None = None,
        cancel: threading.Event | None = None,
        context_length: int | None = None,
        max_context: int = MAX_CONTEXT,
        temperature: float = 0.2,
        confirm_borderline: bool = True,
        embed_model: str | None = None,
        signals: Signals | None = None,
        check_sentences: bool = True,
        max_checks: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.style = style
        self.llm = llm if model else None
        self.model = model if llm is not None else None
        self.cache = cache or MemoryCache()
        self.on_event = on_event
        self.cancel = cancel
        self.num_ctx = min(context_length or DEFAULT_CONTEXT, max_context)
        self.temperature = temperature
        self.confirm_borderline = confirm_borderline
        self.failure: LLMError | None = None
        self.cancelled = False
        self.model_calls = 0
        self.cache_hits = 0
        self.fallbacks = 0  # stories whose model text failed the checks (their own sentences are used)
        self._confirms = 0
        self._kw: dict[int, set[str]] = {}
        self.embed_model = embed_model
        self.signals = signals
        self.check_sentences = check_sentences
        self.max_checks = MAX_CHECKS if max_checks is None else max_checks
        self.clock = clock
        self.checks = 0  # yes/no "is this sentence supported?" questions asked
        self.checks_dropped: list[str] = []  # model sentences the model's own check did not support
        self.grouping = GroupingStats()
        self.embedded = 0  # articles embedded this run (the rest came from the cache)
        self.embed_failure: LLMError | None = None
        self._blocks: dict[int, str] = {}

    # --- public ----------------------------------------------------------------------------

    def write(self, articles: Sequence[Article], day: str, notice: str | None = None) -> Digest:
        arts = [a for a in articles]
        notices: list[str] = [notice] if notice else []
        model_on = self._model_on()
        confirm = self._confirm if (model_on and self.confirm_borderline) else None
        embeddings = self._embeddings(arts) if (model_on and self.embed_model and len(arts) > 1) else None
        grouped = group_stories(arts, confirm=confirm, max_confirms=MAX_CONFIRMS, embeddings=embeddings,
                                confirm_seconds=CONFIRM_SECONDS, stats=self.grouping, clock=self.clock)
        stories = assign_sections(grouped, self.style.limits.get("also_max", 5), signals=self.signals,
                                  pick=self._pick if self._model_on() else None)
        items = [
            DigestItem(section=s.section, title=s.title, text="", article_ids=s.article_ids,
                       sources=s.sources, url=next((a.url for a in s.articles if a.url), None))
            for s in stories
        ]
        layout = {sec: list(parts) for sec, parts in self.style.layout.items()}
        # "In brief" lines written in code are ready at once: the plan carries them
        in_code = [s.section == "brief" and (self.style.brief != "model" or not self._model_on()) for s in stories]
        for story, item, coded in zip(stories, items, in_code):
            if coded:
                item.text = self._extractive_text(story)
        total = len(stories)
        shell = Digest(date=day, style=self.style.name, model=self.model, extractive=self.model is None,
                       headline="", items=[], closing="", shape=self.style.shape,
                       labels=dict(self.style.labels), layout=layout)
        self._emit(DigestEvent("plan", total=total, items=[_copy(i) for i in items], digest=shell))
        self._emit(DigestEvent("progress", done=0, total=total))
        summaries: list[str] = []
        told: list[tuple[Story, str]] = []  # (story, its text): what a narrative may refer back to
        for n, (story, item) in enumerate(zip(stories, items)):
            if not in_code[n]:
                parts = layout.get(story.section) or ["summary"]
                main = next((p for p in parts if p in MAIN_PARTS), "summary")
                model_on = self._model_on()
                text = self._story_text(n, story, main, told) if model_on else ""
                if model_on and not text:
                    self.fallbacks += 1
                item.text = text or self._extractive_text(story)
                for part in parts:
                    if part in MAIN_PARTS:
                        continue
                    if part == "quote":
                        value = pull_quote(story)
                    elif self._model_on():
                        value = self._part(n, story, part, item.text)
                    else:
                        value = ""
                    if value:
                        item.parts[part] = value
                        if part == "why":
                            item.why = value
            summaries.append(item.text)
            if story.section != "brief":
                told.append((story, item.text))
            self._emit(DigestEvent("item", index=n, item=_copy(item)))
            self._emit(DigestEvent("progress", done=n + 1, total=total))

        opening = ""
        if "opening" in self.style.frame and stories:
            opening = (self._opening(stories, summaries) if self._model_on() else "") or _code_opening(stories)
        headline = (self._headline(stories, summaries) if self._model_on() and stories else "") or _code_headline(stories)
        closing = (self._closing(stories, summaries, day) if self._model_on() and stories else "") or _code_closing(stories, day)

        extractive = self.model is None
        if extractive:
            notices.append(EXTRACTIVE_NOTICE)
        if self.failure is not None:
            notices.append(f"{self.failure} What the model wrote is kept; the rest of this digest is "
                           "taken from the articles' own sentences.")
        if self.fallbacks and self.failure is None:
            notices.append(f"{self.fallbacks} of {total} {'story is' if total == 1 else 'stories are'} in the articles' "
                           "own words: what the model wrote for them did not pass the checks against the articles.")
        if self.cancelled:
            notices.append("Cancelled: the stories not yet written are taken from the articles' own sentences.")
        if self.embed_failure is not None:
            notices.append(f"Stories were grouped without the embedding model: {self.embed_failure}")
        digest = Digest(
            date=day, style=self.style.name, model=self.model, extractive=extractive,
            headline=headline, items=items, closing=closing,
            notice=" ".join(dict.fromkeys(notices)) or None, opening=opening,
            shape=self.style.shape, labels=dict(self.style.labels), layout=layout,
        )
        problems = validate(digest, arts)
        if problems:  # repair() makes this unreachable in practice; never hand out a bad digest
            log.warning("digest failed its checks, repairing: %s", problems)
            digest = self._repair(digest, stories)
        self._emit(DigestEvent("done", digest=digest, done=total, total=total))
        return digest

    # --- model plumbing --------------------------------------------------------------------

    def _model_on(self) -> bool:
        if self.cancel is not None and self.cancel.is_set():
            self.cancelled = self.cancelled or self.model is not None
        return self.model is not None and self.failure is None and not self.cancelled

    def _emit(self, ev: DigestEvent) -> None:
        if self.on_event is not None:
            self.on_event(ev)

    def _options(self, words: int) -> dict:
        return {"num_ctx": self.num_ctx, "num_predict": int(words * 2 + 16), "temperature": self.temperature}

    def _cached(self, key: str, *, index=None, part=None) -> str | None:
        """A finished piece from the cache ("" when the model's answer was unusable), else None."""
        cached = self.cache.cache_get(key)
        if cached is None:
            return None
        self.cache_hits += 1
        cached = "" if cached == NOTHING else cached
        if cached and (index is not None or part is not None):
            self._emit(DigestEvent("text", index=index, part=part, text=cached))
        return cached

    def _call(self, prompt: str, words: int, *, index=None, part=None, system=True) -> str:
        """The model's raw text; streams "text" events. Raises _Stop."""
        messages = []
        if system:
            messages.append({"role": "system", "content": self.style.prompts["system"]})
        messages.append({"role": "user", "content": prompt})
        written: list[str] = []
        self.model_calls += 1
        stream: Iterator[str] = self.llm.chat_stream(self.model, messages, self._options(words))
        try:
            for delta in stream:
                written.append(delta)
                if index is not None or part is not None:
                    self._emit(DigestEvent("text", index=index, part=part, text=delta))
                if self.cancel is not None and self.cancel.is_set():
                    self.cancelled = True
                    raise _Stop("".join(written))
        except LLMError as e:
            self.failure = e
            self._emit(DigestEvent("notice", message=e.explain(), error=e))
            raise _Stop(getattr(e, "partial", "") or "".join(written)) from None
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()
        return "".join(written)

    def _words(self, story: Story) -> set[str]:
        """The stemmed content words of a story's articles (for the support check), memoised."""
        out: set[str] = set()
        for a in story.articles:
            ws = self._kw.get(a.id)
            if ws is None:
                ws = self._kw[a.id] = set(keywords(a.title + "\n" + article_text(a)))
            out |= ws
        return out

    def _instr(self, kind: str) -> str:
        return self.style.prompts["system"] + "\n" + re.sub(r"\{\w+\}", " ", self.style.prompts.get(kind, ""))

    def _store(self, key: str, value: str) -> None:
        """Remember a finished piece; an unusable answer is remembered too, so it is not re-asked."""
        self.cache.cache_put(key, value or NOTHING)

    # --- map: one call per story -----------------------------------------------------------

    def _budget(self, kind: str) -> int:
        words = self.style.limits.get(f"{kind}_words", 60)
        overhead = estimate_tokens(self.style.prompts["system"] + self.style.prompts.get(kind, "")) + 64
        room = self.num_ctx - self._options(words)["num_predict"] - overhead
        return max(64, min(INPUT_CAP.get(kind, 1500), room))

    def _articles_block(self, story: Story, budget_tokens: int) -> str:
        with_text = story.articles[:MAX_ARTICLES_WITH_TEXT]
        rest = story.articles[MAX_ARTICLES_WITH_TEXT:]
        header_cost = sum(estimate_tokens(f"[{i}] {a.feed_title}: {a.title}") + 2 for i, a in enumerate(story.articles, 1))
        share = max(24, (budget_tokens - header_cost) // max(1, len(with_text)))
        parts = []
        for i, a in enumerate(with_text, 1):
            body = truncate_words(" ".join(article_text(a).split()), int(share * 3.5 / 6.0))  # ~6 chars a word
            parts.append(f"[{i}] {a.feed_title}: {a.title}\n{body}".rstrip())
        for i, a in enumerate(rest, len(with_text) + 1):
            parts.append(f"[{i}] {a.feed_title}: {a.title}")
        return "\n\n".join(parts)

    def _map_key(self, kind: str, story: Story, extra: str = "") -> str:
        return content_hash("digest-map", self.model, kind, self.style.version(kind), self._budget(kind),
                            extra, *[article_hash(a) for a in story.articles])

    def _block(self, story: Story) -> str:
        """The story's articles as every prompt about it gets them: the same text for its summary,
        its other parts and the checks of their sentences, so the calls share their beginning
        (Ollama keeps that evaluated between calls: most of a small model's time is the prompt)."""
        key = id(story)
        cached = self._blocks.get(key)
        if cached is None:
            kind = story.section if story.section in INPUT_CAP else "also"
            cached = self._blocks[key] = self._articles_block(story, self._budget(kind))
        return cached

    def _story_text(self, n: int, story: Story, main: str = "summary",
                    told: Sequence[tuple[Story, str]] = ()) -> str:
        kind = self.style.prompt_for(story.section, main)
        words = self.style.words(main if main == "prose" else story.section, 60)
        if story.section == "brief" and main == "line":  # a summary written for "also"/"lead" serves too
            for richer in ("also", "lead"):
                hit = self.cache.cache_get(self._map_key(richer, story))
                if hit and hit != NOTHING:
                    self.cache_hits += 1
                    text = _first_sentence(hit, words)
                    self._emit(DigestEvent("text", index=n, text=text))
                    return text
        previous = "\n".join(f"- {s.title}: {_first_sentence(t, 25)}" for s, t in told[-4:]) or "(nothing yet)"
        uses_previous = "{previous}" in self.style.prompts.get(kind, "")
        key = self._map_key(kind, story, previous if uses_previous else "")
        hit = self._cached(key, index=n)
        if hit is not None:
            return hit
        prompt = self.style.render(kind, words=words, articles=self._block(story), previous=previous)
        source = _source_text(story)  # after the cache checks: a hit needs no text of the story
        if uses_previous:  # a narrative may name the stories it refers back to
            source += "\n\n" + "\n".join(f"{s.title}\n{t}" for s, t in told)
        try:
            raw = self._call(prompt, words, index=n)
        except _Stop as stop:
            return _finish(stop.args[0] if stop.args else "", source, words, kind, self._instr(kind), self._words(story))
        text = _finish(raw, source, words, kind, self._instr(kind), self._words(story))
        text = self._checked(text, story)
        self._store(key, text)
        return text

    def _part(self, n: int, story: Story, part: str, summary: str) -> str:
        """One of a story's other parts ("why", "why_now", "takeaway", "deep_dive", a style's own),
        written by its own prompt over the same articles block, checked like the summary."""
        words = self.style.words(part, 40)
        key = content_hash("digest-part", self.model, part, self.style.version(part), self._budget("also"),
                           *[article_hash(a) for a in story.articles])
        hit = self._cached(key, index=n, part=part)
        if hit is not None:
            return hit
        prompt = self.style.render(part, words=words, summary=summary, articles=self._block(story))
        try:
            raw = self._call(prompt, words, index=n, part=part)
        except _Stop:
            return ""
        text = _finish(raw, _source_text(story), words, "why" if part.startswith("why") else "also",
                       self._instr(part), self._words(story))
        text = self._checked(text, story)
        self._store(key, text)
        return text

    # --- checks: every model sentence against its articles --------------------------------

    def _checked(self, text: str, story: Story) -> str:
        """``text`` without the sentences the model itself, asked "is this sentence supported by
        the articles?", says are not (code checks ran before, in _finish). Bounded: at most
        ``max_checks`` questions a digest; answers are cached by sentence and articles."""
        if not text or not self.check_sentences or not self._model_on():
            return text
        kept = []
        for sent in sentences(text):
            if self.checks >= self.max_checks or not self._model_on():
                kept.append(sent)
                continue
            key = content_hash("digest-check", self.model, self.style.version("check"), sent,
                               *[article_hash(a) for a in story.articles])
            hit = self.cache.cache_get(key)
            if hit is None:
                self.checks += 1
                prompt = self.style.render("check", articles=self._block(story), sentence=sent)
                try:
                    raw = self._call(prompt, 2)
                except _Stop:
                    kept.append(sent)
                    continue
                hit = "no" if _answer(raw) == "no" else "yes"  # unclear answers keep the sentence
                self.cache.cache_put(key, hit)
            else:
                self.cache_hits += 1
            if hit == "yes":
                kept.append(sent)
            else:
                self.checks_dropped.append(sent)
                log.info("the model's check dropped: %s", sent)
        return " ".join(kept)

    # --- embeddings, for grouping -------------------------------------------------------------

    def _embeddings(self, arts: Sequence[Article]):
        """One embedding per article from the embedding model (cached by content), or None when
        it cannot be had (a "notice" event says why; ModelMissing lets the UI offer a pull)."""
        import numpy as np

        out: list = [None] * len(arts)
        todo: list[int] = []
        keys = [content_hash("embed", self.embed_model, embed_input(a)) for a in arts]
        for i, k in enumerate(keys):
            hit = self.cache.cache_get(k)
            if hit:
                try:
                    out[i] = np.frombuffer(base64.b64decode(hit), dtype=np.float32)
                    continue
                except ValueError:
                    pass
            todo.append(i)
        try:
            for start in range(0, len(todo), EMBED_BATCH):
                chunk = todo[start:start + EMBED_BATCH]
                if self.cancel is not None and self.cancel.is_set():
                    return None
                vectors = self.llm.embed(self.embed_model, [embed_input(arts[i]) for i in chunk])
                for i, v in zip(chunk, vectors):
                    vec = np.asarray(v, dtype=np.float32)
                    out[i] = vec
                    self.cache.cache_put(keys[i], base64.b64encode(vec.tobytes()).decode("ascii"))
                self.embedded += len(chunk)
        except LLMError as e:
            self.embed_failure = e
            self._emit(DigestEvent("notice", message=f"Stories are grouped without embeddings: {e.explain()}", error=e))
            return None
        dims = {len(v) for v in out}
        if len(dims) != 1:  # the model changed under the cache: group without
            return None
        return np.vstack(out)

    # --- significance: which of the tied top stories leads -------------------------------------

    def _pick(self, tied: list[Story]) -> int | None:
        lines = "\n".join(f"{k}. {s.title}: {_first_sentence(self._extractive_text(s), 30)}"
                          for k, s in enumerate(tied, 1))
        key = content_hash("digest-pick", self.model, self.style.version("significance"), lines)
        hit = self.cache.cache_get(key)
        if hit is None:
            try:
                raw = self._call(self.style.render("significance", stories=lines), 3, system=False)
            except _Stop:
                return None
            m = re.search(r"\d+", raw)
            hit = m.group(0) if m and 1 <= int(m.group(0)) <= len(tied) else "0"
            self.cache.cache_put(key, hit)
        else:
            self.cache_hits += 1
        choice = int(hit) - 1
        return choice if 0 <= choice < len(tied) else None

    def _extractive_text(self, story: Story) -> str:
        """A story told in its articles' own sentences (no model): for "In brief" its best leading
        sentence, else the first clean sentences of its anchor article; the title when it has no text."""
        kind = story.section
        words = self.style.limits.get(f"{kind}_words", 60)
        texts = [t for t in (article_text(a) for a in story.articles) if t]
        if kind == "brief":
            return brief_sentence(texts, story.title, max(BRIEF_MIN_CAP, int(words * 1.6))) or story.title
        for text in texts:
            clean = clean_sentences(text)
            if clean:
                return leading_sentences("\n\n".join(clean), words)
        for text in texts:
            return leading_sentences(text, words)
        return story.title

    # --- reduce: small pieces across stories -----------------------------------------------

    def _opening(self, stories: Sequence[Story], summaries: Sequence[str]) -> str:
        words = self.style.words("opening", 60)
        top = self._top_lines(stories, summaries, 4)
        key = content_hash("digest-opening", self.model, self.style.version("opening"), top)
        hit = self._cached(key, part="opening")
        if hit is not None:
            return hit
        try:
            raw = self._call(self.style.render("opening", words=words, stories=top), words, part="opening")
        except _Stop:
            return ""
        source = "\n".join(f"{s.title}\n{t}" for s, t in zip(stories[:4], summaries[:4]))
        text = _finish(raw, source, words, "why", self._instr("opening"))
        self._store(key, text)
        return text

    def _top_lines(self, stories: Sequence[Story], summaries: Sequence[str], n: int = 3) -> str:
        return "\n".join(f"- {s.title}: {_first_sentence(t, 30)}" for s, t in zip(stories[:n], summaries[:n]))

    def _headline(self, stories: Sequence[Story], summaries: Sequence[str]) -> str:
        words = self.style.limits.get("headline_words", 18)
        top = self._top_lines(stories, summaries)
        key = content_hash("digest-headline", self.model, self.style.version("headline"), top)
        hit = self._cached(key, part="headline")
        if hit is not None:
            return hit
        try:
            raw = self._call(self.style.render("headline", words=words, stories=top), words, part="headline")
        except _Stop:
            return ""
        line = _clean(raw).split("\n")[0].replace('"', "").strip(" -*#")
        line = truncate_words(line, int(words * 1.5)).rstrip(" …")
        # a headline cut at the word limit must not end on "and", "of", a comma
        line = re.sub(r"(?:[\s,;:–—-]+(?:and|or|but|of|in|on|at|to|for|with|the|a|an|from|by))+[\s,;:–—-]*$|[\s,;:–—-]+$",
                      "", line, flags=re.I)
        source = "\n".join(_source_text(s) for s in stories[:3])
        line, dropped = (repair(line, source, min_support=MIN_SUPPORT["headline"], instructions=self._instr("headline"))
                         if line else ("", []))
        if len(line.split()) < 2:
            line = ""
        self._store(key, line)
        return line

    def _closing(self, stories: Sequence[Story], summaries: Sequence[str], day: str) -> str:
        words = self.style.limits.get("closing_words", 20)
        top = "\n".join(f"- {s.title}" for s in stories[:3])  # for user styles that want {stories}
        uses_stories = "{stories}" in self.style.prompts["closing"]
        key = content_hash("digest-closing", self.model, self.style.version("closing"), day, top if uses_stories else "")
        hit = self._cached(key, part="closing")
        if hit is not None:
            return hit
        try:
            raw = self._call(self.style.render("closing", words=words, stories=top, date=day), words, part="closing")
        except _Stop:
            return ""
        text = _finish(raw, "\n".join(_source_text(s) for s in stories), words, "closing", self._instr("closing"))
        text = _first_sentence(text, int(words * 1.5)) if text else ""
        self._store(key, text)
        return text

    def _confirm(self, a: Article, b: Article) -> bool:
        if not self._model_on():
            return False
        ids = sorted([article_hash(a), article_hash(b)])
        key = content_hash("digest-same", self.model, self.style.version("same_story"), *ids)
        hit = self._cached(key)
        if hit is not None:
            return hit == "yes"
        self._confirms += 1

        def brief(x: Article) -> str:
            return f"{x.title}. " + " ".join(article_text(x).split()[:60])

        prompt = self.style.render("same_story", a=brief(a), b=brief(b))
        try:
            raw = self._call(prompt, 2, system=False)
        except _Stop:
            return False
        answer = "yes" if _answer(raw) == "yes" else "no"
        self._store(key, answer)
        return answer == "yes"

    # --- last line of defence --------------------------------------------------------------

    def _repair(self, digest: Digest, stories: Sequence[Story]) -> Digest:
        for item, story in zip(digest.items, stories):
            item.text = self._extractive_text(story)
            item.why = None
            item.parts = {"quote": item.parts["quote"]} if "quote" in item.parts else {}
        digest.opening = _code_opening(stories) if digest.opening else ""
        digest.headline = _code_headline(stories)
        digest.closing = _code_closing(stories, digest.date)
        return digest


# --- helpers --------------------------------------------------------------------------------

def embed_input(a: Article) -> str:
    """What the embedding model reads of an article: its title and the start of its text."""
    return f"{a.title}\n" + " ".join(article_text(a).split())[:EMBED_CHARS]


def _answer(raw: str) -> str:
    """"yes", "no" or "" from a model's short answer ("Yes.", "**No**", "no, because ...")."""
    m = re.match(r"[\s*\"'`(]*(yes|no)\b", raw.strip().lower())
    return m.group(1) if m else ""


_QUOTED = re.compile(r'"([^"]{20,300})"')


def pull_quote(story: Story, max_words: int = 45) -> str:
    """One verbatim pull-quote from the story's articles, picked in code (never written by the
    model): the longest direct quotation of 6..``max_words`` words from the anchor article first,
    else its first clean sentence; as it appears in the article, with the source named."""
    for a in story.articles:
        text = article_text(a)
        best = ""
        for m in _QUOTED.finditer(normalise(text)):
            q = m.group(1).strip()
            n = len(q.split())
            if 6 <= n <= max_words and len(q) > len(best) and not q.endswith(("...", "…")):
                best = q
        if best:
            return f"“{best}” ({a.feed_title})"
    for a in story.articles:
        for sent in clean_sentences(article_text(a))[:3]:
            if 8 <= len(sent.split()) <= max_words and '"' not in normalise(sent):
                return f"“{sent}” ({a.feed_title})"
    return ""


def _code_opening(stories: Sequence[Story]) -> str:
    tops = [s.title.rstrip(".") for s in stories[:3]]
    if not tops:
        return ""
    if len(tops) == 1:
        return f"Today's story: {tops[0]}."
    return f"Today: {', '.join(tops[:-1])} and {tops[-1]}."

def _copy(item: DigestItem) -> DigestItem:
    return DigestItem(**{**item.__dict__, "article_ids": list(item.article_ids), "sources": list(item.sources)})


def _source_text(story: Story) -> str:
    return "\n\n".join(f"{a.title}\n{article_text(a)}" for a in story.articles)


_LABEL = re.compile(r"^\s*(?:#+\s*|\*\*?|__)?(?:summary|here is[^:\n]*|here's[^:\n]*|answer|headline|closing|"
                    r"why it matters|why this matters(?: now)?|key takeaway|takeaway|deep dive|opening|"
                    r"sentence|story|paragraph|the story|in summary|to summarise|to summarize)\s*[:：]\s*(?:\*\*?)?\s*", re.I)
# stock openers that restate the task, not the news ("This story matters now because ...")
_OPENER = re.compile(r"^(?:sure|certainly|of course|okay|ok)\b[^.!?:]*[.!:]\s*|"
                     r"^(?:this|the) (?:story|news|article|item)s? (?:matters?|is important|is significant)"
                     r"(?: now| today| to (?:a |the )?readers?)? because\s+|"
                     r"^(?:it|this) matters (?:now )?because\s+|"
                     r"^in (?:summary|short|brief),\s*|^(?:the )?articles? (?:say|says|report|reports|state|states) that\s+", re.I)
# a header line: a few title-cased words ending in a colon before the text ("The Signal Brief: ...")
_HEADER = re.compile(r"^(?:[A-Z][\w'’&-]*\s+){0,6}[A-Z][\w'’&-]*\s*[:：]\s+(?=[A-Z\"“])")


def _clean(raw: str, source: str = "") -> str:
    """Model prose without labels, echoed headers, stock openers, markdown decoration, list
    bullets, or wrapping quotes."""
    text = raw.replace("\r", "")
    text = re.sub(r"<end_of_turn>|<\|im_end\|>|<\|eot_id\|>|<\|endoftext\|>", "", text)
    lines = []
    for line in text.split("\n"):
        line = re.sub(r"^\s*(?:[-*•]|\d+[.)]|#+)\s+", "", line)
        line = line.replace("**", "").replace("__", "")
        for _ in range(3):
            line = _OPENER.sub("", _LABEL.sub("", line).strip())
            m = _HEADER.match(line)
            if m and normalise(m.group(0).rstrip(" :：")).lower() not in normalise(source).lower():
                line = line[m.end():]
        line = " ".join(_capital(_OPENER.sub("", x)) for x in sentences(line)) if line else line
        if line[:1].islower():
            line = line[0].upper() + line[1:]
        if line.strip() and not re.fullmatch(r"[^\w]*\w+(?:\s\w+){0,5}\s*[:：]", line.strip()):  # a bare header
            lines.append(line.strip())
    text = "\n".join(lines).strip()
    if len(text) > 1 and text[0] in "\"“" and text[-1] in "\"”" and text.count('"') + text.count("“") + text.count("”") == 2:
        text = text[1:-1].strip()
    return text


def _capital(s: str) -> str:
    return s[:1].upper() + s[1:]


def garbled(sentence: str) -> bool:
    """Text no editor would print: too short to be a sentence, a word or phrase repeated back to
    back, unbalanced brackets, or leftover template markup."""
    words = sentence.split()
    if len(words) < 4:
        return True
    low = [w.lower().strip(".,;:!?\"'“”") for w in words]
    for n in (1, 2, 3):
        for i in range(len(low) - 2 * n + 1):
            if low[i:i + n] == low[i + n:i + 2 * n] and any(len(w) > 2 for w in low[i:i + n]):
                return True
    if sentence.count("(") != sentence.count(")") or sentence.count("[") != sentence.count("]"):
        return True
    if re.search(r"\{\w+\}|\[\d+\]\s*$|<\|?/?\w+\|?>", sentence):
        return True
    return False


# the share of a sentence's content words that must be in its articles ("nothing not in them")
MIN_SUPPORT = {"lead": 0.5, "also": 0.5, "brief": 0.5, "why": 0.4, "headline": 0.5, "closing": 0.0}


def _finish(raw: str, source: str, words: int, kind: str, instructions: str = "",
            source_words: set[str] | None = None) -> str:
    text = " ".join(_clean(raw, source).split())
    if not text:
        return ""
    text = trim_to_sentence(text)
    text = " ".join(x for x in sentences(text) if not garbled(x))  # output cut at the token cap ends mid-sentence: drop that part
    text, dropped = repair(text, source, min_support=MIN_SUPPORT.get(kind, 0.5), instructions=instructions,
                           source_words=source_words)
    if dropped:
        log.info("dropped unsupported sentences: %s", dropped)
    if not text:
        return ""
    if kind in ("brief", "closing"):
        return _first_sentence(text, int(words * 1.6))
    if len(text.split()) > words * 1.6:  # limits are followed loosely; hold them to 1.6x
        text = leading_sentences(text, words * 1.6)
    return text


def _first_sentence(text: str, max_words: int) -> str:
    ss = sentences(text)
    first = ss[0] if ss else text.strip()
    return truncate_words(first, max_words)


def _code_headline(stories: Sequence[Story]) -> str:
    if not stories:
        return "Nothing new today"
    return "; ".join(s.title.rstrip(".") for s in stories[:3])


def _code_closing(stories: Sequence[Story], day: str) -> str:
    if not stories:
        return "No new articles for this day."
    n_sources = len({src for s in stories for src in s.sources})
    return (f"That's all for {day}: {len(stories)} {'story' if len(stories) == 1 else 'stories'} "
            f"from {n_sources} {'source' if n_sources == 1 else 'sources'}.")
