"""Digest benchmark: 200 articles in a temporary store, written through the official ollama client
against the Ollama stand-in with a fixed simulated model speed.

Prints: total wall time, time inside model calls, time outside them (% of total; target <= 5%),
tokens sent to the model per article, and what a re-run after 10 new articles sends (target: only
the lead / "Also today" stories those articles belong to), and what the model time would be on a
CPU-only laptop (``--laptop-prompt-tps`` / ``--laptop-output-tps``, from the token counts).

    .venv/bin/python scripts/bench_digest.py [--articles 200] [--token-ms 2] [--prompt-ms 0.1]
                                             [--brief extractive|model]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from app import make_tidings  # noqa: E402
from app.digest import validate  # noqa: E402
from app.llm import LLMClient  # noqa: E402
from app.models import ParsedEntry, ParsedFeed  # noqa: E402
from support.ollama_standin import OllamaStandIn  # noqa: E402

NOON = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
DAY = "2026-11-20"
MODEL = "llama3.2:latest"
COMMON = ("the a of to in and on for with that was said is by at from as it will after new over their has "
          "officials people year more than about into last which could would have been were they also its "
          "government city week month plan report public local national minister company workers group").split()
VERBS = "announced approved rejected opened closed launched delayed expanded suspended confirmed".split()
SOURCES = [f"Source {c}" for c in "ABCDEFGHIJKL"]


def pseudo(rng: random.Random, syllables: int = 3) -> str:
    return "".join(rng.choice(["ka", "lo", "mi", "ren", "tu", "sa", "vel", "dor", "an", "quis", "ber", "no",
                               "zi", "pa", "ter", "gon", "li", "fa", "mur", "es"]) for _ in range(syllables))


def make_story(rng: random.Random, key: int) -> dict:
    names = [pseudo(rng).capitalize() for _ in range(3)]
    topic = [pseudo(rng, 2) for _ in range(6)]
    return {"key": key, "names": names, "topic": topic}


def article_text(rng: random.Random, st: dict, words: int) -> tuple[str, str]:
    n1, n2, place = st["names"]
    t1, t2, t3 = rng.sample(st["topic"], 3)
    title = f"{n1} {rng.choice(VERBS)} {t1} {t2} plan in {place}"
    sents = []
    while sum(len(s.split()) for s in sents) < words:
        kind = rng.random()
        if kind < 0.3:
            sents.append(f"{n1} {rng.choice(VERBS)} the {rng.choice(st['topic'])} {rng.choice(st['topic'])} in {place} "
                         f"on Thursday, {rng.choice(COMMON)} {rng.choice(COMMON)} said.")
        elif kind < 0.5:
            sents.append(f"{n2} said the {rng.choice(st['topic'])} would cost {rng.randint(2, 900)} million over "
                         f"{rng.randint(2, 9)} years.")
        else:
            filler = " ".join(rng.choice(COMMON) for _ in range(rng.randint(8, 16)))
            sents.append(f"{filler.capitalize()} {rng.choice(st['topic'])} {t3}.")
    return title, " ".join(sents)


def build_day(rng: random.Random, n_articles: int, story_sizes: list[int]) -> list[tuple[str, dict, str, str]]:
    """(source, story, title, text) for n_articles, grouped into stories of the given sizes."""
    out = []
    key = 0
    for size in story_sizes:
        st = make_story(rng, key)
        key += 1
        for src in rng.sample(SOURCES, size):
            title, text = article_text(rng, st, rng.randint(250, 600))
            out.append((src, st, title, text))
    return out[:n_articles]


TRUTH: dict[str, int] = {}  # title -> true story key


def store_articles(t, rows, now: datetime, tag: str) -> None:
    for _, st, title, _ in rows:
        TRUTH[title] = st["key"]
    by_source: dict[str, list[ParsedEntry]] = {}
    for n, (src, st, title, text) in enumerate(rows):
        by_source.setdefault(src, []).append(ParsedEntry(
            guid=f"{tag}-{n}", url=f"https://example.org/{tag}/{n}", title=title, authors="",
            published=now - timedelta(minutes=n), updated=None, summary="", content_html=f"<p>{text}</p>"))
    feeds = {f.title: f.id for f in t.store.feeds()}
    for src, entries in by_source.items():
        fid = feeds.get(src) or t.store.add_feed(f"https://{src.replace(' ', '').lower()}.example/feed",
                                                 now=now, title=src)[0]
        t.store.save_entries(fid, ParsedFeed(title=src, site_url=None, entries=entries), now=now)


def kind_of(prompt: str) -> str:
    p = prompt.lower()
    for word, kind in (("same specific event", "same-story"), ("headline", "headline"), ("why this story", "why"),
                       ("ends a morning", "closing"), ("one paragraph", "lead"), ("two or three", "also"),
                       ("one sentence", "brief")):
        if word in p:
            return kind
    return "other"


def run(t, llm, server, label: str) -> dict:
    llm.usage.reset()
    n_chats = len(server.chats())
    t0 = time.perf_counter()
    d = t.digest(DAY, model=MODEL)
    wall = time.perf_counter() - t0
    chats = server.chats()[n_chats:]
    kinds: dict[str, int] = {}
    for c in chats:
        k = kind_of(c["messages"][-1]["content"])
        kinds[k] = kinds.get(k, 0) + 1
    start, end = t.local_day_bounds(datetime.fromisoformat(DAY).date())
    arts = t.store.articles_between(start, end)
    problems = validate(d, arts)
    truth = {a.id: TRUTH.get(a.title) for a in arts}
    pure = all(len({truth[x] for x in i.article_ids}) == 1 for i in d.items)
    whole = len({truth[x] for x in truth}) == len(d.items)
    inside = llm.usage.seconds
    return {"label": label, "digest": d, "wall": wall, "inside": inside, "outside": wall - inside,
            "prompt_tokens": llm.usage.prompt_tokens, "output_tokens": llm.usage.output_tokens,
            "calls": llm.usage.calls, "kinds": kinds, "chats": chats, "articles": len(arts), "problems": problems,
            "grouping": f"{'every story one group' if pure and whole else 'MIXED' if not pure else 'SPLIT'}"}


LAPTOP = [100.0, 12.0]  # prompt, output tokens/s: a 3-4B Q4 model on a laptop CPU (set by --laptop-*)


def report(r: dict) -> None:
    d = r["digest"]
    pct = 100 * r["outside"] / r["wall"] if r["wall"] else 0.0
    sections = {s: sum(1 for i in d.items if i.section == s) for s in ("lead", "also", "brief")}
    print(f"[{r['label']}] {r['articles']} articles -> {len(d.items)} stories {sections}; grouping: {r['grouping']}; checks: "
          f"{'pass' if not r['problems'] else r['problems']}")
    print(f"  wall {r['wall']:.2f} s | inside model calls {r['inside']:.2f} s | outside {r['outside']:.3f} s "
          f"({pct:.1f}% of total)")
    print(f"  model calls {r['calls']} {r['kinds']} | prompt tokens {r['prompt_tokens']} "
          f"({r['prompt_tokens'] / max(1, r['articles']):.0f} per article) | output tokens {r['output_tokens']}")
    if r["calls"]:
        laptop = r["prompt_tokens"] / LAPTOP[0] + r["output_tokens"] / LAPTOP[1]
        print(f"  on a CPU-only laptop ({LAPTOP[0]:.0f} prompt / {LAPTOP[1]:.0f} output tokens/s) the model time "
              f"would be about {laptop:.0f} s")


# --- quality on labelled real news (--quality) ----------------------------------------------------

def _embed_cached(llm, model: str, arts, cache_dir: Path):
    """Embeddings through the Ollama API (the stand-in serving the real MiniLM), cached on disk by
    input text so a re-run of the benchmark does not pay for them again."""
    import hashlib
    import json as _json

    import numpy as np
    from app.digest.engine import embed_input

    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"{model.replace(':', '_')}.json"
    cache = _json.loads(path.read_text()) if path.is_file() else {}
    keys = [hashlib.sha1(embed_input(a).encode()).hexdigest() for a in arts]
    todo = [i for i, k in enumerate(keys) if k not in cache]
    for start in range(0, len(todo), 32):
        chunk = todo[start:start + 32]
        for i, v in zip(chunk, llm.embed(model, [embed_input(arts[i]) for i in chunk])):
            cache[keys[i]] = v
    if todo:
        path.write_text(_json.dumps(cache))
    return np.asarray([cache[k] for k in keys], dtype=np.float32)


def _scores(stories, gold):
    from support.news_days import bcubed, pairwise

    pred = {a.id: k for k, s in enumerate(stories) for a in s.articles}
    p, r = pairwise(pred, gold)
    return p, r, bcubed(pred, gold)[2]


def _lead_ok(stories, day) -> bool:
    """Is the lead (as assign_sections ranks) a story of a gold event with the most sources?"""
    from collections import Counter

    from app.digest.grouping import assign_sections

    gold = {a.id: c for a, c in day}
    sources: dict[str, set] = {}
    for a, c in day:
        sources.setdefault(c, set()).add(a.feed_title)
    best = max(len(v) for v in sources.values())
    lead = assign_sections(stories)[0]
    cluster = Counter(gold[a.id] for a in lead.articles).most_common(1)[0][0]
    return len(sources[cluster]) == best


def corrupt(sentence: str, other_names: list[str], rng: random.Random) -> list[tuple[str, str]]:
    """Known-false variants of a true sentence: (kind, sentence)."""
    import re as _re

    out = []
    names = [m.group(0) for m in _re.finditer(r"(?<=\s)[A-Z][a-z]{2,}", sentence)]
    if names and other_names:
        swap = rng.choice([n for n in other_names if n not in sentence] or other_names)
        out.append(("swapped name", sentence.replace(rng.choice(names), swap, 1)))
    nums = _re.findall(r"\b\d+\b", sentence)
    if nums:
        n = rng.choice(nums)
        out.append(("changed number", _re.sub(rf"\b{n}\b", str(int(n) * 3 + 7), sentence, count=1)))
    m = _re.search(r"\b(is|was|were|are|has|have|had|will|would|can|could)\b", sentence)
    if m:
        out.append(("negation", sentence[:m.end()] + " not" + sentence[m.end():]))
    if names:
        out.append(("invented relation", sentence.rstrip(".") + f", the {rng.choice(['brother', 'wife', 'son'])} of "
                                                                 f"{rng.choice(names)} said."))
    return out


def quality(args) -> int:
    from app.digest.engine import DigestWriter, MemoryCache
    from app.digest.grouping import GroupingStats, group_stories
    from app.digest.styles import load_style
    from app.digest.text import article_text, clean_sentences
    from app.digest.validate import repair
    from support import news_days

    if news_days.corpus_path() is None:
        print(f"quality: the labelled corpus is not at {news_days.CORPUS}", file=sys.stderr)
        return 2
    days = news_days.build_days(n_days=args.days, topics_per_day=args.topics, per_cluster=args.per_cluster,
                                seed=args.seed)
    n_art = sum(len(d) for d in days)
    print(f"Labelled news days from ECB+ (real news, CC BY 3.0): {len(days)} days, {n_art} articles, "
          f"{args.topics} topics a day with both of each topic's events (close negatives), "
          f"up to {args.per_cluster} articles an event.")

    embedder = None
    try:
        from support.embedder import embedder_available, shared_embedder

        embedder = shared_embedder() if embedder_available() else None
    except ImportError:
        pass
    rows = {"no model": [], "embeddings": []}
    leads = {"no model": 0, "embeddings": 0}
    with OllamaStandIn(models={}, embed_backend=embedder) if embedder else _null() as server:
        llm = LLMClient(server.url, timeout=600) if server else None
        for n, day in enumerate(days, 1):
            arts = [a for a, _ in day]
            gold = {a.id: c for a, c in day}
            t0 = time.perf_counter()
            plain = group_stories(arts)
            t_plain = time.perf_counter() - t0
            rows["no model"].append(_scores(plain, gold))
            leads["no model"] += _lead_ok(plain, day)
            line = (f"  day {n}: {len(arts)} articles, {len(set(gold.values()))} events | no model: "
                    "P %.3f R %.3f B3F %.3f" % rows["no model"][-1] + f" ({t_plain * 1000:.0f} ms)")
            if llm is not None:
                t0 = time.perf_counter()
                emb = _embed_cached(llm, "all-minilm:latest", arts, Path(args.cache))
                t_emb = time.perf_counter() - t0
                with_emb = group_stories(arts, embeddings=emb)
                rows["embeddings"].append(_scores(with_emb, gold))
                leads["embeddings"] += _lead_ok(with_emb, day)
                line += " | embeddings: P %.3f R %.3f B3F %.3f" % rows["embeddings"][-1] + f" (embed {t_emb:.1f} s)"
            print(line)
    print("Grouping overall (mean of days; targets without a model: B3F >= 0.90, P >= 0.95):")
    for label, rs in rows.items():
        if rs:
            p, r, f = (sum(x[i] for x in rs) / len(rs) for i in range(3))
            print(f"  {label:10s}  pairwise P {p:.3f}  R {r:.3f}  B-cubed F1 {f:.3f}  "
                  f"lead is an event with the most sources: {leads[label]}/{len(rs)} days")
    if embedder is None:
        print("  embeddings: not measured (the MiniLM test embedder is not installed: scripts/install_e2e.sh)")

    # --- the sentence checks: known-false sentences injected into true ones ------------------
    rng = random.Random(args.seed)
    true_sents, false_sents = [], []
    for day in days:
        by_cluster: dict[str, list] = {}
        for a, c in day:
            by_cluster.setdefault(c, []).append(a)
        names = [w for a, _ in day for w in article_text(a).split()[:40] if w[:1].isupper() and w.isalpha()]
        for c, members in by_cluster.items():
            source = "\n\n".join(f"{a.title}\n{article_text(a)}" for a in members)
            for s in clean_sentences(article_text(members[0]))[1:4]:
                if len(s.split()) < 8:
                    continue
                true_sents.append((s, source))
                for kind, bad in corrupt(s, names, rng):
                    false_sents.append((kind, bad, source))
    def code_keeps(s, source):
        return bool(repair(s, source, min_support=0.5)[0])
    kept_true = sum(code_keeps(s, src) for s, src in true_sents)
    by_kind: dict[str, list[int]] = {}
    for kind, s, src in false_sents:
        by_kind.setdefault(kind, [0, 0])
        by_kind[kind][0] += not code_keeps(s, src)
        by_kind[kind][1] += 1
    caught = sum(v[0] for v in by_kind.values())
    print(f"Sentence checks in code, on {len(true_sents)} true sentences of the articles and {len(false_sents)} "
          f"known-false variants of them:")
    print(f"  caught {caught}/{len(false_sents)} ({100 * caught / max(1, len(false_sents)):.0f}%): " +
          ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in by_kind.items()))
    print(f"  true sentences wrongly dropped: {len(true_sents) - kept_true}/{len(true_sents)} "
          f"({100 * (len(true_sents) - kept_true) / max(1, len(true_sents)):.1f}%)")
    print("  (negations the articles use elsewhere, and invented facts in words the articles have, are left "
          "to the model's yes/no check: --real-model measures it)")

    # --- a big day: grouping 3,000 articles without a model ----------------------------------------
    docs = news_days.load_docs()
    big = []
    for k in range(3):
        for day in news_days.build_days(n_days=1, topics_per_day=43, per_cluster=30, seed=k, docs=docs):
            big += [a for a, _ in day]
    import dataclasses

    big = [dataclasses.replace(a, id=i) for i, a in enumerate(big[:3000], 1)]
    stats = GroupingStats()
    t0 = time.perf_counter()
    stories = group_stories(big, stats=stats)
    print(f"Grouping a day of {len(big)} similar articles (ECB+ three times over), no model: "
          f"{time.perf_counter() - t0:.2f} s, {len(stories)} stories (target <= 5 s)")

    if args.real_model:
        return real_model_day(args, days)
    return 0


def real_model_day(args, days) -> int:
    """A 75-article labelled day written through the real instruct model (llama.cpp behind the
    Ollama stand-in, with the real MiniLM on /api/embed): wall time, calls, grouping with the model,
    the model's own sentence check on known-false and true sentences."""
    from app.digest.engine import DigestWriter, MemoryCache
    from app.digest.grouping import Story
    from app.digest.styles import load_style
    from app.digest.text import article_text, clean_sentences
    from support.instruct_model import MODEL_NAME, serve_instruct_model, unavailable_reason

    day = days[0][:75]
    arts = [a for a, _ in day]
    gold = {a.id: c for a, c in day}
    with serve_instruct_model() as server:
        if server is None:
            print(f"Real model: not measured ({unavailable_reason()})")
            return 0
        llm = LLMClient(server.url, timeout=900)
        embed = "all-minilm:latest" if server.embed_backend is not None else None
        w = DigestWriter(load_style(args.style), llm=llm, model=MODEL_NAME, context_length=4096,
                         embed_model=embed, cache=MemoryCache())
        t0 = time.perf_counter()
        d = w.write(arts, DAY)
        wall = time.perf_counter() - t0
        pred = {aid: k for k, i in enumerate(d.items) for aid in i.article_ids}
        from support.news_days import bcubed, pairwise

        p, r = pairwise(pred, gold)
        f = bcubed(pred, gold)[2]
        problems = validate(d, arts)
        print(f"Real model ({MODEL_NAME}, style {args.style}) on a {len(arts)}-article labelled day: "
              f"{wall:.0f} s wall, {w.model_calls} model calls ({llm.usage.prompt_tokens} prompt / "
              f"{llm.usage.output_tokens} output tokens; {w.grouping.confirms_asked} same-story questions, "
              f"{w.grouping.confirms_merged} merged; {w.checks} sentence checks, {len(w.checks_dropped)} "
              f"sentences dropped by them), {w.fallbacks} stories fell back to the articles' words")
        print(f"  grouping with the model: pairwise P {p:.3f} R {r:.3f} B-cubed F1 {f:.3f}; "
              f"embeddings: {'all-minilm' if embed else 'none'}; lead is an event with the most sources: "
              f"{_lead_ok_items(d, day)}; checks: {'; '.join(problems) or 'sound'}")
        # the model's own check on known-false and true sentences
        rng = random.Random(args.seed)
        by_cluster: dict[str, list] = {}
        for a, c in day:
            by_cluster.setdefault(c, []).append(a)
        names = [x for a in arts for x in article_text(a).split()[:40] if x[:1].isupper() and x.isalpha()]
        checker = DigestWriter(load_style(args.style), llm=llm, model=MODEL_NAME, context_length=4096,
                               cache=MemoryCache(), max_checks=10_000)
        caught = total_false = dropped_true = total_true = 0
        t0 = time.perf_counter()
        for c, members in list(by_cluster.items())[: args.check_stories]:
            story = Story(articles=members, section="also")
            for s in clean_sentences(article_text(members[0]))[1:3]:
                if len(s.split()) < 8:
                    continue
                total_true += 1
                dropped_true += not checker._checked(s, story)
                for _, bad in corrupt(s, names, rng):
                    total_false += 1
                    caught += not checker._checked(bad, story)
        print(f"  the model's yes/no check alone: caught {caught}/{total_false} known-false sentences, dropped "
              f"{dropped_true}/{total_true} true ones ({time.perf_counter() - t0:.0f} s)")
    return 0


def _lead_ok_items(d, day) -> bool:
    from collections import Counter

    gold = {a.id: c for a, c in day}
    sources: dict[str, set] = {}
    for a, c in day:
        sources.setdefault(c, set()).add(a.feed_title)
    lead = d.items[0]
    cluster = Counter(gold[i] for i in lead.article_ids).most_common(1)[0][0]
    return len(sources[cluster]) == max(len(v) for v in sources.values())


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=200)
    ap.add_argument("--token-ms", type=float, default=2.0, help="simulated generation time per output token")
    ap.add_argument("--prompt-ms", type=float, default=0.1, help="simulated time per prompt token")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--brief", choices=["extractive", "model"], default=None,
                    help='how "In brief" lines are written (default: as the briefing style says)')
    ap.add_argument("--laptop-prompt-tps", type=float, default=LAPTOP[0])
    ap.add_argument("--laptop-output-tps", type=float, default=LAPTOP[1])
    ap.add_argument("--quality", action="store_true",
                    help="grouping, ranking and sentence-check quality on labelled real news (ECB+ days)")
    ap.add_argument("--days", type=int, default=5, help="--quality: labelled days")
    ap.add_argument("--topics", type=int, default=8, help="--quality: topics a day (two events each)")
    ap.add_argument("--per-cluster", type=int, default=5, help="--quality: articles an event at most")
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "tidings-bench" / "embeddings"),
                    help="--quality: where embeddings are cached between runs")
    ap.add_argument("--real-model", action="store_true",
                    help="--quality: also write a 75-article day through the real instruct model (slow)")
    ap.add_argument("--style", default="briefing", help="--real-model: the digest style")
    ap.add_argument("--check-stories", type=int, default=6, help="--real-model: events whose sentences are checked")
    args = ap.parse_args()
    if args.quality:
        return quality(args)
    LAPTOP[:] = [args.laptop_prompt_tps, args.laptop_output_tps]
    rng = random.Random(args.seed)
    # a news day: a few big stories, some pairs, many singletons
    sizes = [5, 4, 4, 3, 3, 3] + [2] * 20 + [1] * 400
    day = build_day(rng, args.articles, sizes)
    true_stories = len({id(st) for _, st, _, _ in day})

    with tempfile.TemporaryDirectory() as tmp, OllamaStandIn(
        models={MODEL: 8192}, token_latency=args.token_ms / 1000, prompt_latency=args.prompt_ms / 1000
    ) as server:
        llm = LLMClient(server.url, timeout=60)
        if args.brief:  # the person's own override of the briefing style
            (Path(tmp) / "lib" / "styles").mkdir(parents=True)
            (Path(tmp) / "lib" / "styles" / "briefing.toml").write_text(f'brief = "{args.brief}"\n')
        with make_tidings(Path(tmp) / "lib", clock=lambda: NOON + timedelta(hours=1), llm=llm) as t:
            store_articles(t, day, NOON, "day")
            print(f"Simulated model: {args.token_ms} ms per output token, {args.prompt_ms} ms per prompt token; "
                  f"{len(day)} articles in {true_stories} true stories; In brief lines: "
                  f"{args.brief or 'as the briefing style says'}.")
            first = run(t, llm, server, "first run")
            report(first)
            same = run(t, llm, server, "re-run, nothing new")
            report(same)

            # ten new articles: 7 new stories, and 3 more sources for stories already in the digest
            extra = []
            for _ in range(7):
                st = make_story(rng, 10_000 + len(extra))
                extra.append((rng.choice(SOURCES), st, *article_text(rng, st, rng.randint(250, 600))))
            covered = [st for _, st, _, _ in day[:40:6]][:3]
            for st in covered:
                extra.append((rng.choice(SOURCES), st, *article_text(rng, st, rng.randint(250, 600))))
            store_articles(t, extra, NOON + timedelta(minutes=30), "new")
            rerun = run(t, llm, server, "re-run after 10 new articles")
            report(rerun)

            new_titles = {title for _, _, title, _ in extra}
            touched = [i for i in rerun["digest"].items if set(i.article_ids) & {
                a.id for a in t.store.articles_between(NOON - timedelta(days=1), NOON + timedelta(days=1))
                if a.title in new_titles}]
            story_calls = [c for c in rerun["chats"] if kind_of(c["messages"][-1]["content"]) in ("lead", "also", "brief")]
            only_new = all(any(title in c["messages"][-1]["content"] for title in new_titles) for c in story_calls)
            paragraphs = sum(1 for i in touched if i.section in ("lead", "also"))
            print(f"  stories with a new article: {len(touched)} ({paragraphs} lead/also); story summaries sent: "
                  f"{len(story_calls)}; every one of them is a story with a new article: {only_new}")
            print(f"  re-run sent {rerun['prompt_tokens']} prompt tokens vs {first['prompt_tokens']} for the first run "
                  f"({100 * rerun['prompt_tokens'] / max(1, first['prompt_tokens']):.1f}%)")
            ok = (not first["problems"] and not rerun["problems"] and same["calls"] == 0 and only_new)
            return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
