"""Labelled news days built from real news: the ECB+ corpus (``shared/corpus/stories/``,
CC BY 3.0, see its README and LICENSE beside it), for the digest's quality benchmark and tests.

ECB+ has 43 topics, each split into two different events of the same kind (Tara Reid entering
rehab / Lindsay Lohan entering rehab): the close negatives a digest must keep apart. A *day*
takes several topics with both of their events, a few articles of each event, and gives every
article a source (its host where the corpus has one, else one of a few wire names) and a time on
that day. Each article keeps its gold ``cluster``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from app.models import Article

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus" / "stories" / "ecbplus.jsonl"
WIRES = ["Wire Service", "Morning Post", "City Herald", "Daily Ledger", "Evening Star", "Metro News",
         "Global Desk", "The Courier"]


@dataclass
class Doc:
    doc_id: str
    topic: int
    cluster: str
    source: str | None
    title: str
    text: str


def corpus_path() -> Path | None:
    return CORPUS if CORPUS.is_file() else None


def load_docs(path: Path | None = None) -> list[Doc]:
    path = path or corpus_path()
    if path is None:
        raise FileNotFoundError(f"ECB+ is not at {CORPUS}")
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            out.append(Doc(r["doc_id"], int(r["topic"]), r["cluster"], r.get("source"), r["title"], r["text"]))
    return out


def _body(d: Doc) -> str:
    """The article's text without its first line when that line is the title (ECB+ keeps no
    headlines: the title is the text's first sentence)."""
    lines = d.text.split("\n")
    if lines and lines[0].strip() == d.title.strip():
        lines = lines[1:]
    return "\n\n".join(x for x in lines if x.strip())


def build_days(n_days: int = 5, topics_per_day: int = 8, per_cluster: int = 5, seed: int = 1,
               day0: datetime = datetime(2026, 11, 20, 6, 0, tzinfo=timezone.utc),
               docs: list[Doc] | None = None) -> list[list[tuple[Article, str]]]:
    """``n_days`` days of (Article, gold cluster): each day ``topics_per_day`` topics, both of each
    topic's events, up to ``per_cluster`` articles of each event. Topics are dealt without
    repeats while they last."""
    rng = random.Random(seed)
    docs = docs if docs is not None else load_docs()
    by_topic: dict[int, dict[str, list[Doc]]] = {}
    for d in docs:
        by_topic.setdefault(d.topic, {}).setdefault(d.cluster, []).append(d)
    topics = sorted(by_topic)
    rng.shuffle(topics)
    days = []
    next_id = 1
    for n in range(n_days):
        chosen = [topics[(n * topics_per_day + k) % len(topics)] for k in range(topics_per_day)]
        day: list[tuple[Article, str]] = []
        start = day0 + timedelta(days=n)
        for t in chosen:
            for cluster, members in sorted(by_topic[t].items()):
                picked = rng.sample(members, min(per_cluster, len(members)))
                wires = rng.sample(WIRES, len(WIRES))
                for k, d in enumerate(picked):
                    when = start + timedelta(minutes=rng.randrange(0, 14 * 60))
                    source = d.source or wires[k % len(wires)]
                    a = Article(
                        id=next_id, feed_id=abs(hash(source)) % 10_000, feed_title=source, guid=d.doc_id,
                        url=None, title=d.title, authors="", published=when, updated=None, first_seen=when,
                        summary="", content_html="", text=_body(d), read=False, starred=False)
                    next_id += 1
                    day.append((a, cluster))
        rng.shuffle(day)
        days.append(day)
    return days


# --- scores --------------------------------------------------------------------------------------

def pairwise(pred: dict[int, int], gold: dict[int, str]) -> tuple[float, float]:
    """Pairwise precision and recall of a grouping (article id -> group) against gold clusters."""
    ids = sorted(gold)
    tp = fp = fn = 0
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            same_p = pred[a] == pred[b]
            same_g = gold[a] == gold[b]
            tp += same_p and same_g
            fp += same_p and not same_g
            fn += same_g and not same_p
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)


def bcubed(pred: dict[int, int], gold: dict[int, str]) -> tuple[float, float, float]:
    """B-cubed precision, recall, F1."""
    by_p: dict[int, set[int]] = {}
    by_g: dict[str, set[int]] = {}
    for a in gold:
        by_p.setdefault(pred[a], set()).add(a)
        by_g.setdefault(gold[a], set()).add(a)
    p = r = 0.0
    for a in gold:
        cp, cg = by_p[pred[a]], by_g[gold[a]]
        both = len(cp & cg)
        p += both / len(cp)
        r += both / len(cg)
    p /= len(gold)
    r /= len(gold)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)
