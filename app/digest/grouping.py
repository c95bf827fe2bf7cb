"""Group the day's articles into stories (no model needed) and rank them.

Similarity is TF-IDF cosine over title words (weighted double) and the first words of the text,
computed over the day's articles. Grouping is agglomerative and conservative: pairs are merged in
order of similarity, and two groups only join when they are similar on average, so one loose pair
cannot chain two distinct stories together. Borderline pairs can be put to a ``confirm(a, b)``
callback (a short yes/no question to the model); without it they stay apart.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Sequence

from app.digest.text import article_text, keywords, weighted_keywords
from app.models import Article

MERGE = 0.40  # cosine at or above which two articles are the same story
TITLE_MERGE = 0.5  # ... or title-word Jaccard at/above this with cosine at/above TITLE_COS
TITLE_COS = 0.25
BORDER = 0.12  # between BORDER and MERGE: ask ``confirm`` when given, else keep apart
LINK_MIN = 0.2  # two groups join only when their average pair similarity is at least this
LEAD_WORDS = 70  # words of text used besides the title


@dataclass
class Story:
    articles: list[Article]  # biggest source first, then oldest
    section: str = "brief"

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


def _vectors(articles: Sequence[Article]) -> tuple[list[dict[str, float]], list[set[str]]]:
    docs: list[Counter] = []
    titles: list[set[str]] = []
    for a in articles:
        t = keywords(a.title)
        c: Counter = Counter()
        for w, weight in weighted_keywords(" ".join(article_text(a).split()[:LEAD_WORDS])):
            c[w] += weight
        for w in t:
            c[w] += 2
        docs.append(c)
        titles.append(set(t))
    n = len(docs)
    df: Counter = Counter()
    for c in docs:
        df.update(c.keys())
    # a word in half the day's articles (and at least 3) tells stories apart no better than "the"
    common = max(3, math.ceil(n / 2))
    vecs = []
    for c in docs:
        v = {w: (1 + math.log(max(tf, 1.0))) * (math.log((n + 1) / df[w]) + 0.5) for w, tf in c.items() if df[w] < common}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        vecs.append({w: x / norm for w, x in v.items()})
    return vecs, titles


def _cos(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(x * b.get(w, 0.0) for w, x in a.items())


def similarity_pairs(articles: Sequence[Article]) -> list[tuple[float, float, int, int]]:
    """(cosine, title jaccard, i, j) for every pair with some overlap, best first."""
    vecs, titles = _vectors(articles)
    index: dict[str, list[int]] = {}
    for i, v in enumerate(vecs):
        for w in v:
            index.setdefault(w, []).append(i)
    # candidates share a *rare* word (a name, a number): articles on one story always do, and it
    # keeps this near-linear on big days (words in many articles would pair everything with everything)
    rare = max(20, len(vecs) // 20)
    pairs = []
    for i, v in enumerate(vecs):
        cands = {j for w in v if len(index[w]) <= rare for j in index[w] if j > i}
        for j in cands:
            c = _cos(v, vecs[j])
            if c < BORDER:
                continue
            tu = titles[i] | titles[j]
            tj = len(titles[i] & titles[j]) / len(tu) if tu else 0.0
            pairs.append((c, tj, i, j))
    pairs.sort(key=lambda p: (-p[0], p[2], p[3]))
    return pairs


def group_stories(
    articles: Sequence[Article], confirm: Callable[[Article, Article], bool] | None = None, max_confirms: int = 24
) -> list[Story]:
    """Stories of the day, each with at least one article, every article in exactly one story.

    Only the ``max_confirms`` most similar borderline pairs are put to ``confirm``: the same
    articles always give the same questions (so their cached answers make a re-run free)."""
    arts = list(articles)
    if not arts:
        return []
    pairs = similarity_pairs(arts)
    sim = {(i, j): c for c, _, i, j in pairs}
    group_of = list(range(len(arts)))
    members: dict[int, list[int]] = {i: [i] for i in range(len(arts))}

    def avg_link(ga: int, gb: int) -> float:
        tot = 0.0
        for x in members[ga]:
            for y in members[gb]:
                tot += sim.get((min(x, y), max(x, y)), 0.0)
        return tot / (len(members[ga]) * len(members[gb]))

    asked = 0
    for c, tj, i, j in pairs:
        ga, gb = group_of[i], group_of[j]
        if ga == gb:
            continue
        same = c >= MERGE or (tj >= TITLE_MERGE and c >= TITLE_COS)
        confirmed = False
        if not same and confirm is not None and asked < max_confirms:
            asked += 1
            same = confirmed = bool(confirm(arts[i], arts[j]))
        if not same:
            continue
        # no chaining of distinct stories through one loose pair
        if avg_link(ga, gb) < (BORDER if confirmed else LINK_MIN):
            continue
        for x in members[gb]:
            group_of[x] = ga
        members[ga].extend(members.pop(gb))

    stories = []
    for g, idx in members.items():
        group = [arts[k] for k in idx]
        stories.append(Story(articles=_order_articles(group)))
    return stories


def _order_articles(group: list[Article]) -> list[Article]:
    """The article with the most text first (it anchors the story), then by time."""
    return sorted(group, key=lambda a: (-min(len(article_text(a).split()), 400), _when(a), a.id))


def rank_stories(stories: Sequence[Story]) -> list[Story]:
    """Biggest first: most sources, then most articles, then the most recent, then title."""
    return sorted(
        stories,
        key=lambda s: (-len(s.sources), -len(s.articles), -s.latest.timestamp(), s.title.lower(), s.articles[0].id),
    )


def assign_sections(stories: Sequence[Story], also_max: int = 5, substantial_words: int = 80) -> list[Story]:
    """Lead = the top story; Also = the next few multi-source or substantial ones; Brief = the rest.

    The order of the result is the digest's order (lead, also..., brief...)."""
    ranked = rank_stories(stories)
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
