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

import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol, Sequence

from app.digest.grouping import Story, assign_sections, group_stories
from app.digest.styles import Style
from app.digest.text import (
    article_hash,
    article_text,
    brief_sentence,
    clean_sentences,
    content_hash,
    keywords,
    leading_sentences,
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
MAX_CONFIRMS = 24  # yes/no "same story?" questions per run at most
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

    # --- public ----------------------------------------------------------------------------

    def write(self, articles: Sequence[Article], day: str, notice: str | None = None) -> Digest:
        arts = [a for a in articles]
        notices: list[str] = [notice] if notice else []
        confirm = self._confirm if (self._model_on() and self.confirm_borderline) else None
        stories = assign_sections(group_stories(arts, confirm=confirm, max_confirms=MAX_CONFIRMS),
                                  self.style.limits.get("also_max", 5))
        items = [
            DigestItem(section=s.section, title=s.title, text="", article_ids=s.article_ids,
                       sources=s.sources, url=next((a.url for a in s.articles if a.url), None))
            for s in stories
        ]
        # "In brief" lines written in code are ready at once: the plan carries them
        in_code = [s.section == "brief" and (self.style.brief != "model" or not self._model_on()) for s in stories]
        for story, item, coded in zip(stories, items, in_code):
            if coded:
                item.text = self._extractive_text(story)
        total = len(stories)
        self._emit(DigestEvent("plan", total=total, items=[_copy(i) for i in items]))
        self._emit(DigestEvent("progress", done=0, total=total))
        summaries: list[str] = []
        for n, (story, item) in enumerate(zip(stories, items)):
            if not in_code[n]:
                model_on = self._model_on()
                text = self._story_text(n, story) if model_on else ""
                if model_on and not text:
                    self.fallbacks += 1
                item.text = text or self._extractive_text(story)
            summaries.append(item.text)
            self._emit(DigestEvent("item", index=n, item=_copy(item)))
            self._emit(DigestEvent("progress", done=n + 1, total=total))

        if stories:
            lead = stories[0]
            why = self._why(lead, summaries[0]) if self._model_on() else ""
            items[0].why = why or None
            if why:
                self._emit(DigestEvent("item", index=0, item=_copy(items[0])))
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
        digest = Digest(
            date=day, style=self.style.name, model=self.model, extractive=extractive,
            headline=headline, items=items, closing=closing,
            notice=" ".join(dict.fromkeys(notices)) or None,
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

    def _map_key(self, kind: str, story: Story) -> str:
        return content_hash("digest-map", self.model, kind, self.style.version(kind), self._budget(kind),
                            *[article_hash(a) for a in story.articles])

    def _story_text(self, n: int, story: Story) -> str:
        kind = story.section
        words = self.style.limits.get(f"{kind}_words", 60)
        if kind == "brief":  # a summary written for "also" or "lead" serves a brief line too
            for richer in ("also", "lead"):
                hit = self.cache.cache_get(self._map_key(richer, story))
                if hit and hit != NOTHING:
                    self.cache_hits += 1
                    text = _first_sentence(hit, words)
                    self._emit(DigestEvent("text", index=n, text=text))
                    return text
        key = self._map_key(kind, story)
        hit = self._cached(key, index=n)
        if hit is not None:
            return hit
        prompt = self.style.render(kind, words=words, articles=self._articles_block(story, self._budget(kind)))
        source = _source_text(story)  # after the cache checks: a hit needs no text of the story
        try:
            raw = self._call(prompt, words, index=n)
        except _Stop as stop:
            return _finish(stop.args[0] if stop.args else "", source, words, kind, self._instr(kind), self._words(story))
        text = _finish(raw, source, words, kind, self._instr(kind), self._words(story))
        self._store(key, text)
        return text

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

    def _why(self, lead: Story, summary: str) -> str:
        words = self.style.limits.get("why_words", 40)
        key = content_hash("digest-why", self.model, self.style.version("why"), self._budget("why"),
                           *[article_hash(a) for a in lead.articles])
        hit = self._cached(key, part="why")
        if hit is not None:
            return hit
        prompt = self.style.render("why", words=words, summary=summary,
                                   articles=self._articles_block(lead, self._budget("why")))
        try:
            raw = self._call(prompt, words, part="why")
        except _Stop:
            return ""
        text = _finish(raw, _source_text(lead), words, "why", self._instr("why"), self._words(lead))
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
        answer = "yes" if raw.strip().lower().lstrip("*\"' ").startswith("yes") else "no"
        self._store(key, answer)
        return answer == "yes"

    # --- last line of defence --------------------------------------------------------------

    def _repair(self, digest: Digest, stories: Sequence[Story]) -> Digest:
        for item, story in zip(digest.items, stories):
            item.text = self._extractive_text(story)
            item.why = None
        digest.headline = _code_headline(stories)
        digest.closing = _code_closing(stories, digest.date)
        return digest


# --- helpers --------------------------------------------------------------------------------

def _copy(item: DigestItem) -> DigestItem:
    return DigestItem(**{**item.__dict__, "article_ids": list(item.article_ids), "sources": list(item.sources)})


def _source_text(story: Story) -> str:
    return "\n\n".join(f"{a.title}\n{article_text(a)}" for a in story.articles)


_LABEL = re.compile(r"^\s*(?:#+\s*|\*\*?|__)?(?:summary|here is[^:\n]*|here's[^:\n]*|answer|headline|closing|why it matters)\s*[:：]\s*(?:\*\*?)?\s*", re.I)


def _clean(raw: str) -> str:
    """Model prose without labels, markdown decoration, list bullets, or wrapping quotes."""
    text = raw.replace("\r", "")
    text = re.sub(r"<end_of_turn>|<\|im_end\|>|<\|eot_id\|>", "", text)
    lines = []
    for line in text.split("\n"):
        line = _LABEL.sub("", line)
        line = re.sub(r"^\s*(?:[-*•]|\d+[.)]|#+)\s+", "", line)
        line = line.replace("**", "").replace("__", "")
        if line.strip():
            lines.append(line.strip())
    text = "\n".join(lines).strip()
    if len(text) > 1 and text[0] in "\"“" and text[-1] in "\"”" and text.count('"') + text.count("“") + text.count("”") == 2:
        text = text[1:-1].strip()
    return text


# the share of a sentence's content words that must be in its articles ("nothing not in them")
MIN_SUPPORT = {"lead": 0.5, "also": 0.5, "brief": 0.5, "why": 0.4, "headline": 0.5, "closing": 0.0}


def _finish(raw: str, source: str, words: int, kind: str, instructions: str = "",
            source_words: set[str] | None = None) -> str:
    text = " ".join(_clean(raw).split())
    if not text:
        return ""
    text = trim_to_sentence(text)  # output cut at the token cap ends mid-sentence: drop that part
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
