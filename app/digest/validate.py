"""Checks every digest must pass, used while writing (to repair model output) and in tests.

``validate(digest, articles)`` returns a list of problems (empty: the digest is sound):
  * every item cites at least one article of the day, and names those articles' sources;
  * every quotation (text in double quotes) appears verbatim in the cited articles' stored text;
  * no story appears twice (no article is cited by two items);
  * every article of the day is cited by exactly one item (a story is an item or a brief line);
  * one lead, first; then "also", then "brief".
"""

from __future__ import annotations

import re
from typing import Sequence

from app.digest.text import STOPWORDS, article_text, keywords, normalise, sentences
from app.models import Article, Digest

SECTIONS = ("lead", "also", "brief")
# “curly”, "straight", «guillemets» — after normalise() they are all straight double quotes.
_QUOTE = re.compile(r'"([^"]{1,400}?)"')
_NUMBER = re.compile(r"(?<![\w.])\d[\d,.]*\d|(?<![\w.])\d")
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|\[\.\.\.\]|\[…\])\s*")


def find_quotes(text: str) -> list[str]:
    return [m.group(1) for m in _QUOTE.finditer(normalise(text))]


def _strip_punct(s: str) -> str:
    return s.strip().strip(",.;:!?").strip()


def quote_in(quote: str, source_norm: str) -> bool:
    """Is ``quote`` verbatim in the (normalised) source? Elisions ("...") may skip text, in order."""
    pos = 0
    parts = [_strip_punct(p) for p in _ELLIPSIS.split(normalise(quote))]
    parts = [p for p in parts if p]
    if not parts:
        return True
    for p in parts:
        i = source_norm.find(p, pos)
        if i < 0:
            return False
        pos = i + len(p)
    return True


def bad_quotes(text: str, source_text: str) -> list[str]:
    src = normalise(source_text)
    return [q for q in find_quotes(text) if not quote_in(q, src)]


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(normalise(text))}


def support(sentence: str, source_words: set[str]) -> float:
    """The share of a sentence's content words that occur in the source (stemmed, or sharing their
    first five letters: "evacuation" is supported by "evacuated")."""
    words = keywords(sentence)
    if not words:
        return 1.0
    prefixes = {w[:5] for w in source_words if len(w) >= 5}
    return sum(1 for w in words if w in source_words or (len(w) >= 5 and w[:5] in prefixes)) / len(words)


# words that state a relation between people; a model that writes one the articles lack invented it
RELATIONS = frozenset("""mother father son daughter brother sister husband wife widow widower uncle aunt
nephew niece cousin grandson granddaughter grandfather grandmother fiance fiancee girlfriend boyfriend
partner spouse stepson stepdaughter stepfather stepmother twin parents children sibling siblings
boss employer employee colleague rival ally successor predecessor""".split())
NEGATIONS = ("not", "never", "no longer", "n't", "neither", "nor")
_CAP = re.compile(r"(?<![\w'’-])([A-Z][\w'’-]+)")


def ungrounded(sentence: str, source_lower: str) -> list[str]:
    """What a sentence states that its source lacks, in code: a name (a capitalised word past the
    sentence's first), a relation between people, or a negation the source never uses.
    ``source_lower`` is the normalised source in lower case."""
    out = []
    norm = normalise(sentence)
    for m in _CAP.finditer(norm):
        if m.start() == 0 or norm[:m.start()].rstrip().endswith((".", "!", "?", ":", '"')):
            continue
        w = m.group(1).lower().rstrip("'’").removesuffix("'s").removesuffix("’s")
        if w in STOPWORDS or len(w) < 3:
            continue
        stem5 = w[:5] if len(w) >= 6 else w  # "Portuguese" is grounded by "Portugal"
        if not re.search(rf"(?<![\w]){re.escape(stem5)}", source_lower):
            out.append(m.group(1))
    low = norm.lower()
    for w in re.findall(r"[a-z]+", low):
        if w in RELATIONS and not re.search(rf"\b{w}", source_lower):
            out.append(w)
    for neg in NEGATIONS:
        if re.search(rf"(?<![a-z]){re.escape(neg)}\b", low) and not re.search(rf"(?<![a-z]){re.escape(neg)}\b", source_lower):
            out.append(neg)
    return out


def repair(text: str, source_text: str, *, min_support: float = 0.0, instructions: str = "",
           source_words: set[str] | None = None) -> tuple[str, list[str]]:
    """Drop each sentence that quotes words not in the source, states a number not in it, repeats
    an earlier sentence, echoes the instructions, or (with ``min_support``) is mostly words the
    source does not have.

    Returns (kept text, dropped sentences). Rephrasing a quote = dropping it: what is left is
    only what the articles support."""
    src = normalise(source_text)
    src_numbers = _numbers(source_text)
    if source_words is None:
        source_words = set(keywords(source_text)) if min_support else set()
    src_words = source_words
    instr = normalise(instructions).lower()
    src_lower = src.lower()
    kept, dropped, seen = [], [], set()
    for s in sentences(text):
        ok = all(quote_in(q, src) for q in find_quotes(s))
        # an unbalanced quote mark cannot be checked: drop the marks, keep the words if supported
        if normalise(s).count('"') % 2:
            s = s.replace('"', "").replace("“", "").replace("”", "")
        ok = ok and _numbers(s) <= src_numbers
        key = normalise(s).lower()
        ok = ok and key not in seen
        ok = ok and not (instr and len(key.split()) >= 4 and key.rstrip(".!?") in instr and key.rstrip(".!?") not in src.lower())
        ok = ok and (not min_support or support(s, src_words) >= min_support)
        ok = ok and (not min_support or not ungrounded(s, src_lower))
        seen.add(key)
        (kept if ok else dropped).append(s)
    return " ".join(kept), dropped


def validate(digest: Digest, articles: Sequence[Article]) -> list[str]:
    problems: list[str] = []
    by_id = {a.id: a for a in articles}
    texts = {a.id: article_text(a) for a in articles}
    cited: dict[int, int] = {}
    order = [SECTIONS.index(i.section) if i.section in SECTIONS else -1 for i in digest.items]
    if -1 in order:
        problems.append("an item has an unknown section")
    if order != sorted(order):
        problems.append("sections are out of order (lead, also, brief)")
    leads = sum(1 for i in digest.items if i.section == "lead")
    if digest.items and leads != 1:
        problems.append(f"{leads} lead items (want exactly one)")
    for n, item in enumerate(digest.items):
        label = f"item {n + 1} ({item.title!r})"
        if not item.article_ids:
            problems.append(f"{label} cites no article")
        for aid in item.article_ids:
            if aid not in by_id:
                problems.append(f"{label} cites article {aid}, which is not of this day")
            elif aid in cited and cited[aid] != n:
                problems.append(f"{label} repeats article {aid} of item {cited[aid] + 1}: a story appears twice")
            else:
                cited[aid] = n
        want_sources = []
        for aid in item.article_ids:
            if aid in by_id and by_id[aid].feed_title not in want_sources:
                want_sources.append(by_id[aid].feed_title)
        if item.article_ids and set(item.sources) != set(want_sources):
            problems.append(f"{label} names sources {item.sources}, its articles are from {want_sources}")
        if not item.text.strip():
            problems.append(f"{label} has no text")
        source = "\n\n".join(texts.get(aid, "") + "\n" + (by_id[aid].title if aid in by_id else "")
                             for aid in item.article_ids)
        for part in (item.title, item.text, item.why or ""):
            for q in bad_quotes(part, source):
                problems.append(f"{label} quotes “{q}”, which is not in its articles")
    everything = "\n\n".join(f"{a.title}\n{texts[a.id]}" for a in articles)
    for part in (digest.headline, digest.closing):
        for q in bad_quotes(part, everything):
            problems.append(f"the digest quotes “{q}”, which is not in any article")
    missing = [aid for aid in by_id if aid not in cited]
    if missing:
        problems.append(f"articles of the day not in the digest: {sorted(missing)}")
    return problems
