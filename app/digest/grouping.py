"""Group the day's articles into stories and rank them like an editor would.

Similarity of two articles, in code (no model needed):
  * lexical: TF-IDF cosine over the whole text (title and opening weighted up; names and numbers
    count double; quotes, apostrophes and dashes Unicode-normalised), IDF from the day itself;
  * entities: cosine over the names and numbers of title and opening, IDF-weighted — two events
    of one kind (two actors entering rehab) share their vocabulary but not their names;
  * embeddings (when Ollama serves an embedding model): cosine of sentence embeddings, blended in.
A generic title ("Test post", "Update") carries no weight, so it never merges on its own.

Clustering is average linkage with a threshold (two groups join only when they are similar on
average, so one loose pair cannot chain distinct stories), run on a dense similarity matrix with
the best link of each row kept up to date: a day of 3,000 articles groups in seconds. Borderline
pairs of groups can be put to ``confirm(a, b)`` (a short yes/no question to the model), the most
similar first, within a count and a time budget.

Ranking (``assign_sections``): the lead is a story with the most sources; ties are broken by
significance — a model's pick among the top candidates when one is given (``pick``), else in code
(substance, names, how much the day's other articles refer to it) — and by the person's own
signals (feeds and topics they read and star), then size and recency.
"""

from __future__ import annotations

import math
import re
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Mapping, Sequence

import numpy as np

from app.digest.text import STOPWORDS, _TOKEN_WORD as _WORD, article_text, normalise_text, stem, tokens
from app.models import Article

# --- tuned on labelled real news (scripts/bench_digest.py --quality, ECB+ days) -----------------
THRESHOLD = 0.22  # average combined similarity at/above which two groups are one story
ENTITY_WEIGHT = 0.7  # combined = (lexical + w * entities) / (1 + w), where both articles have names
EMBED_WEIGHT = 0.1  # with embeddings: combined = code + w * calibrated embedding cosine * name gate
EMBED_FLOOR, EMBED_SPAN = 0.55, 0.35  # embedding cosine -> 0..1 (same topic ~0.35-0.6, same event ~0.65+)
EMBED_GATE = 4.0  # the embedding's share grows with the names two articles share (0: no gate)
CLASH = 0.75  # similarity kept when two titles name no one in common and the openings share no name
BORDER = 0.19  # groups within this below THRESHOLD may be put to ``confirm`` (the closest first, few)
TITLE_WEIGHT, LEAD_WEIGHT, NAME_WEIGHT = 2.0, 1.5, 2.0
LEAD_WORDS, BODY_WORDS, ENTITY_WORDS = 60, 1500, 150
# above DENSE_MAX articles, terms are hashed into signed buckets (the matrix product is the cost:
# 3,000 articles x 4,096 buckets ~0.8 s); collisions add noise of about 1/sqrt(buckets) to a cosine
HASH_DIMS, NAME_HASH_DIMS = 1 << 12, 1 << 11
DENSE_MAX = 600

# titles that say nothing about what a post is about: never a reason to merge
GENERIC_TITLES = re.compile(
    r"^\W*(?:(?:a |the |my )?(?:test(?:ing)?(?: post)?|update[sd]?|untitled|hello world|news|links?|"
    r"(?:weekly |daily |monthly )?(?:roundup|round-up|digest|newsletter|recap|notes?)|"
    r"podcast|episode|video|photos?|announcement|a few things|quick (?:note|update|links)|"
    r"(?:open )?thread|misc(?:ellany)?|thoughts|reading list|link ?dump|"
    r"(?:\w+ )?\d{1,4}|new post|post)\W*)$", re.I)

def generic_title(title: str) -> bool:
    return bool(GENERIC_TITLES.match(normalise_text(title).strip())) or not title.strip()


@dataclass
class Features:
    terms: Counter  # weighted content words of the whole text
    names: Counter  # names and numbers of title and opening
    title_words: frozenset
    title_names: frozenset = frozenset()  # capitalised words of the title (its first word too)


def features(a: Article) -> Features:
    terms: Counter = Counter()
    names: Counter = Counter()
    title = a.title if not generic_title(a.title) else ""
    title_tokens = tokens(title)
    for w, name in title_tokens:
        terms[w] += TITLE_WEIGHT * (NAME_WEIGHT if name else 1.0)
        if name:
            names[w] += 1
    # one pass over the text: its opening weighs more, names of its first words are its entities
    words = article_text(a).split()
    lead_chars = len(" ".join(words[:LEAD_WORDS]))
    entity_chars = len(" ".join(words[:ENTITY_WORDS]))
    text = " ".join(words[:BODY_WORDS])
    for (w, name), start in tokens(text, with_offsets=True):
        weight = NAME_WEIGHT if name else 1.0
        terms[w] += weight * (LEAD_WEIGHT if start < lead_chars else 1.0)
        if name and start < entity_chars:
            names[w] += 1
    title_names = frozenset(stem(m.group(0).lower()) for m in _WORD.finditer(normalise_text(title))
                            if m.group(0)[0].isupper() and m.group(0).lower() not in STOPWORDS)
    return Features(terms, names, frozenset(w for w, _ in title_tokens), title_names)


def _tfidf(docs: Sequence[Counter], common_share: float, hash_dims: int = 1 << 12) -> np.ndarray:
    """Row-normalised TF-IDF matrix (float32). Words in ``common_share`` of the day's articles (and
    at least 3) are dropped: they tell stories apart no better than "the"."""
    n = len(docs)
    df: Counter = Counter()
    for d in docs:
        df.update(d.keys())
    common = max(3, math.ceil(n * common_share))
    idf = {w: math.log((n + 1) / c) for w, c in df.items() if c < common}
    dense = n <= DENSE_MAX
    vocab: dict[str, int] = {}
    if dense:
        for w in idf:
            if df[w] > 1:  # a word in one article only changes its norm, not any pair's dot product
                vocab[w] = len(vocab)
    dims = max(1, len(vocab)) if dense else hash_dims
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    norms = np.zeros(n, dtype=np.float64)
    log = math.log
    for i, d in enumerate(docs):
        norm2 = 0.0
        for w, tf in d.items():
            g = idf.get(w)
            if g is None or tf <= 0:
                continue
            x = (1 + log(tf)) * g if tf >= 1 else tf * g
            norm2 += x * x
            if dense:
                j = vocab.get(w)
                if j is None:
                    continue
            else:
                h = hash(w)
                j = h % dims
                x = x if (h >> 20) & 1 else -x
            rows.append(i)
            cols.append(j)
            vals.append(x)
        norms[i] = math.sqrt(norm2)
    if not rows:
        return np.zeros((n, dims), dtype=np.float32)
    r = np.asarray(rows)
    # summed per cell (hashed terms collide) with bincount: np.add.at is ~10x slower
    flat = np.bincount(r * dims + np.asarray(cols), weights=np.asarray(vals) / np.where(norms[r] > 0, norms[r], 1.0),
                       minlength=n * dims)
    return flat.reshape(n, dims).astype(np.float32)


def similarity(articles: Sequence[Article], embeddings: np.ndarray | None = None,
               feats: Sequence[Features] | None = None) -> np.ndarray:
    """The combined similarity of every pair of articles (n x n, float32, diagonal 0)."""
    feats = list(feats) if feats is not None else [features(a) for a in articles]
    lex = _tfidf([f.terms for f in feats], 0.5, HASH_DIMS)
    s = lex @ lex.T
    ent = _tfidf([f.names for f in feats], 0.25, NAME_HASH_DIMS)
    has = np.linalg.norm(ent, axis=1) > 0
    es = ent @ ent.T
    both = np.outer(has, has)
    s = np.where(both, (s + ENTITY_WEIGHT * es) / (1 + ENTITY_WEIGHT), s)
    if CLASH < 1.0:  # titles that name different people or places, and openings that share no name
        # titles share a name (hashed into 2048 buckets) when they share a bucket: found by bucket,
        # not with a 3,000 x 2,048 matrix product
        buckets: dict[int, list[int]] = {}
        has_t = np.zeros(len(feats), dtype=bool)
        for i, f in enumerate(feats):
            for b in {hash(w) % 2048 for w in f.title_names}:
                buckets.setdefault(b, []).append(i)
                has_t[i] = True
        share = np.zeros((len(feats), len(feats)), dtype=bool)
        for idx in buckets.values():
            share[np.ix_(idx, idx)] = True
        clash = np.outer(has_t, has_t) & ~share & (es < 0.05)
        s = np.where(clash, s * CLASH, s)
    if embeddings is not None and len(embeddings) == len(feats):
        e = np.asarray(embeddings, dtype=np.float32)
        e = e / (np.linalg.norm(e, axis=1, keepdims=True) + 1e-9)
        cal = np.clip((e @ e.T - EMBED_FLOOR) / EMBED_SPAN, 0.0, 1.0)
        # embeddings know topics, not events (two rehab stories read alike): they only add where
        # the two articles also share names
        gate = np.where(both, np.minimum(1.0, es * EMBED_GATE), 1.0 if not EMBED_GATE else 0.0)
        s = s + EMBED_WEIGHT * cal * gate
    s = s.astype(np.float32, copy=False)
    np.fill_diagonal(s, 0.0)
    return s


def average_linkage(sim: np.ndarray, threshold: float) -> tuple[dict[int, list[int]], np.ndarray]:
    """Average-linkage clusters whose members are, on average, at least ``threshold`` similar.

    Returns ({row: the group's member indices}, the group-to-group average similarity matrix over
    those rows; rows merged away are -inf). Each step merges the best pair (Lance-Williams update of one
    row); each row's best link is kept, so a step costs O(n), not O(n²)."""
    n = len(sim)
    s = sim.astype(np.float64, copy=True)
    np.fill_diagonal(s, -np.inf)
    size = np.ones(n)
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    if n < 2:
        return members, s
    active = np.ones(n, dtype=bool)
    best_j = np.argmax(s, axis=1)
    best = s[np.arange(n), best_j]
    while True:
        i = int(np.argmax(best))
        if not best[i] >= threshold:
            break
        j = int(best_j[i])
        ni, nj = size[i], size[j]
        row = (ni * s[i] + nj * s[j]) / (ni + nj)
        row[i] = row[j] = -np.inf
        s[i, :] = row
        s[:, i] = row
        s[j, :] = -np.inf
        s[:, j] = -np.inf
        size[i] += nj
        members[i].extend(members.pop(j))
        best[j] = -np.inf
        active[j] = False
        # rows whose best link was i or j: look again; others: i may now be their best
        stale = np.flatnonzero(((best_j == i) | (best_j == j)) & active)
        for k in stale:
            best_j[k] = int(np.argmax(s[k]))
            best[k] = s[k, best_j[k]]
        better = (row > best) & active
        best[better] = row[better]
        best_j[better] = i
        best_j[i] = int(np.argmax(s[i]))
        best[i] = s[i, best_j[i]]
    return members, s


# --- stories ------------------------------------------------------------------------------------

@dataclass
class Story:
    articles: list[Article]  # the anchor (most text) first, then by time
    section: str = "brief"
    significance: float = 0.0  # set by rank_stories: the tie-break after sources

    @property
    def article_ids(self) -> list[int]:
        return [a.id for a in self.articles]

    @property
    def sources(self) -> list[str]:
        seen: list[str] = []
        for a in self.articles:
            if a.feed_title not in seen:
                seen.append(a.feed_title)
        return seen

    @property
    def title(self) -> str:
        return self.articles[0].display_title.strip() or "(untitled)"

    @property
    def latest(self) -> datetime:
        return max(_when(a) for a in self.articles)

    @property
    def words(self) -> int:
        return sum(len(article_text(a).split()) for a in self.articles)


def _when(a: Article) -> datetime:
    d = a.published or a.first_seen
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


def _order_articles(group: list[Article]) -> list[Article]:
    """The article with the most text first (it anchors the story), then by time."""
    return sorted(group, key=lambda a: (-min(len(article_text(a).split()), 400), _when(a), a.id))


@dataclass
class GroupingStats:
    confirms_asked: int = 0
    confirms_merged: int = 0
    seconds: float = 0.0
    borderline: int = 0  # borderline group pairs found (asked or not)


def group_stories(
    articles: Sequence[Article],
    confirm: Callable[[Article, Article], bool] | None = None,
    max_confirms: int = 8,
    *,
    embeddings: np.ndarray | None = None,
    confirm_seconds: float | None = None,
    stats: GroupingStats | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[Story]:
    """Stories of the day, each with at least one article, every article in exactly one story.

    ``embeddings`` (one row per article, any dimension) are blended into the similarity.
    ``confirm`` is asked about at most ``max_confirms`` borderline pairs of groups (their anchor
    articles), the most similar first, and stops once ``confirm_seconds`` have gone by: the same
    articles always give the same questions, so cached answers make a re-run free."""
    t0 = clock()
    arts = list(articles)
    stats = stats if stats is not None else GroupingStats()
    if not arts:
        return []
    feats = [features(a) for a in arts]
    asking = confirm is not None and max_confirms > 0
    # With the model there to ask, embeddings do not merge by themselves (they read two events of
    # one kind as alike): groups form on the code's similarity, and the embeddings choose which
    # pairs of groups the model is asked about.
    sim = similarity(arts, None if asking else embeddings, feats)
    members, gsim = average_linkage(sim, THRESHOLD)
    rows = list(members)
    groups = [members[r] for r in rows]
    if asking and len(groups) > 1:
        sub = gsim[np.ix_(rows, rows)]
        if embeddings is not None:
            full = similarity(arts, embeddings, feats)
            member = np.zeros((len(groups), len(arts)), dtype=np.float32)
            for g, idx in enumerate(groups):
                member[g, idx] = 1.0 / len(idx)
            sub = member @ full @ member.T
            np.fill_diagonal(sub, -np.inf)
        groups = _confirm_borderline(arts, groups, sub, confirm, max_confirms, confirm_seconds, stats, clock,
                                     upper=np.inf if embeddings is not None else THRESHOLD)
    stats.seconds = clock() - t0
    return [Story(articles=_order_articles([arts[k] for k in g])) for g in groups]


def _confirm_borderline(arts, groups, sub, confirm, max_confirms, budget, stats, clock, upper=THRESHOLD):
    """Ask ``confirm`` about the borderline pairs of groups (``sub``: their average similarity,
    asked about from ``THRESHOLD - BORDER`` up to ``upper``), the most similar first."""
    cand = []
    lo = THRESHOLD - BORDER
    iu = np.triu_indices(len(groups), 1)
    vals = sub[iu]
    for idx in np.flatnonzero((vals >= lo) & (vals < upper)):
        cand.append((float(vals[idx]), int(iu[0][idx]), int(iu[1][idx])))
    cand.sort(key=lambda c: (-c[0], c[1], c[2]))
    stats.borderline = len(cand)
    parent = list(range(len(groups)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    start = clock()
    for _, a, b in cand:
        if stats.confirms_asked >= max_confirms or (budget is not None and clock() - start > budget):
            break
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        anchor_a = _order_articles([arts[k] for k in groups[a]])[0]
        anchor_b = _order_articles([arts[k] for k in groups[b]])[0]
        stats.confirms_asked += 1
        if confirm(anchor_a, anchor_b):
            stats.confirms_merged += 1
            parent[rb] = ra
    merged: dict[int, list[int]] = {}
    for n, g in enumerate(groups):
        merged.setdefault(find(n), []).extend(g)
    return list(merged.values())


# --- ranking ------------------------------------------------------------------------------------

@dataclass
class Signals:
    """A person's own signals, from the local store: how much they read and star each feed
    (0..1), and the names and words of what they starred lately (topics)."""

    feeds: Mapping[int, float] = field(default_factory=dict)
    topics: Mapping[str, float] = field(default_factory=dict)


def significance(stories: Sequence[Story], signals: Signals | None = None) -> list[float]:
    """A code judgement of how much each story matters, for breaking ties after sources:
    substance (words, capped), names it carries, how many of the day's other stories refer to its
    names, and the person's signals. Roughly 0..5."""
    feats = [[features(a) for a in s.articles] for s in stories]
    names = []
    for fs in feats:
        c: Counter = Counter()
        for f in fs:
            c.update(f.names)
        names.append({w for w, n in c.most_common(6) if not w[0].isdigit()})
    df: Counter = Counter()
    for ns in names:
        df.update(ns)
    text_names: list[set[str]] = [set().union(*(set(f.terms) for f in fs)) for fs in feats]
    out = []
    for k, s in enumerate(stories):
        words = s.words / max(1, len(s.articles))
        substance = min(1.0, math.log1p(words) / math.log1p(600))
        entity = min(1.0, len(names[k]) / 6)
        # other stories that mention this one's main names (a story others refer to is bigger)
        refs = sum(1 for j, tn in enumerate(text_names) if j != k and len(names[k] & tn) >= 2)
        referred = min(1.0, refs / 3)
        personal = 0.0
        if signals is not None:
            fw = [signals.feeds.get(a.feed_id, 0.0) for a in s.articles]
            personal = max(fw) if fw else 0.0
            if signals.topics:
                personal += min(1.0, sum(signals.topics.get(w, 0.0) for w in names[k]))
        out.append(1.5 * substance + entity + 1.5 * referred + personal)
    return out


def rank_stories(stories: Sequence[Story], signals: Signals | None = None,
                 pick: Callable[[list[Story]], int | None] | None = None, pick_max: int = 5) -> list[Story]:
    """Most sources first; ties by significance (``pick`` — a model's choice among the top tied
    candidates — moves its choice to the front of the lead's tie), then size, recency, title."""
    ranked = list(stories)
    for s, v in zip(ranked, significance(ranked, signals)):
        s.significance = v
    ranked.sort(key=lambda s: (-len(s.sources), -s.significance, -len(s.articles), -s.latest.timestamp(),
                               s.title.lower(), s.articles[0].id))
    if pick is not None and len(ranked) > 1:
        top = len(ranked[0].sources)
        tied = [s for s in ranked[:pick_max] if len(s.sources) == top]
        if len(tied) > 1:
            choice = pick(tied)
            if choice is not None and 0 < choice < len(tied):
                chosen = tied[choice]
                ranked.remove(chosen)
                ranked.insert(0, chosen)
    return ranked


def assign_sections(stories: Sequence[Story], also_max: int = 5, substantial_words: int = 80, *,
                    signals: Signals | None = None, pick: Callable[[list[Story]], int | None] | None = None,
                    ) -> list[Story]:
    """Lead = the top story; Also = the next few multi-source or substantial ones; Brief = the rest.

    The order of the result is the digest's order (lead, also..., brief...)."""
    ranked = rank_stories(stories, signals, pick)
    if not ranked:
        return []
    ranked[0].section = "lead"
    also, brief = [], []
    for s in ranked[1:]:
        if len(also) < also_max and (len(s.articles) > 1 or s.words >= substantial_words):
            s.section = "also"
            also.append(s)
        else:
            s.section = "brief"
            brief.append(s)
    return [ranked[0], *also, *brief]
