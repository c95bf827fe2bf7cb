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
    args = ap.parse_args()
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
