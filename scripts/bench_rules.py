"""Rules benchmark: what 50 active rules cost sync and the unread counts (target: within 10%).

    .venv/bin/python scripts/bench_rules.py [--feeds 200] [--entries 50] [--articles 100000]

Prints, without rules and with 50 (30 keyword, 10 phrase, 10 regular-expression conditions over
title, author, text and "any"; a third scoped to folders; ~6% of titles matched by one, hiding them):
- the store side of a cold sync: `save_entries` of FEEDS x ENTRIES generated entries (~3 KB of
  HTML each) into an empty library, which is where rules run (inside the insert transaction);
  the network part of a sync does not change with rules, so this is the strictest ratio;
- a whole cold sync of the same feeds over loopback HTTP (tests/feedserver.py, in-process);
- unread counts (`Tidings.counts`), the feed list with its unread numbers (`feeds`), the newest
  200 of "All", every id of *All unread* (what the article list loads) and a feed's unread, on a
  library of ARTICLES articles, with and without 1.5% of its articles hidden (the two states
  alternate on the same library).
Best of 5 for queries, best of 3 for the inserts. The machine may be loaded: compare ratios.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core import make_tidings  # noqa: E402
from app.models import ArticleQuery, ParsedEntry, ParsedFeed  # noqa: E402
from app.rules import Condition, Rule  # noqa: E402

WORDS = ("the of and to in a is that for it as was with be by on not he this are or his from at which but have "
         "an they you were her she there been one all we their has would when if so no will more out up what "
         "about into than them can only other new some could time these two may then do first any my now such "
         "market council river school energy police health water report minister court budget storm vaccine "
         "election strike bridge museum festival harbour rail airport").split()
T0 = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)


def parsed(rng: random.Random, feed_no: int, entries: int, start: int = 0) -> ParsedFeed:
    out = []
    for i in range(start, start + entries):
        title = " ".join(rng.choice(WORDS) for _ in range(8)).capitalize()
        body = "".join(f"<p>{' '.join(rng.choice(WORDS) for _ in range(60))}.</p>" for _ in range(8))
        out.append(ParsedEntry(guid=f"f{feed_no}-{i}", url=f"https://h{feed_no % 50}.example/{feed_no}/{i}",
                               title=title, authors=rng.choice(("Ada", "Grace", "Linus", "Barbara")),
                               published=T0 - timedelta(minutes=i), updated=None, summary="", content_html=body))
    return ParsedFeed(title=f"Feed {feed_no}", site_url=None, entries=out)


def fifty_rules(rng: random.Random) -> list[Rule]:
    rules = []
    for i in range(50):
        field = ("title", "author", "text", "any")[i % 4]
        if i < 30:  # one matches ~6% of titles (a common word), the others what these feeds never say
            cond = Condition("title" if i == 0 else field, "keyword", "harbour" if i == 0 else f"zq{i}x, {rng.choice(WORDS)}zz")
        elif i < 40:
            cond = Condition(field, "phrase", f"nothing like {i} this")
        else:
            cond = Condition(field, "regex", rf"\b(?:elect\w*|budg[e3]t)\s+(?:minister|court){i}?\b" if i % 2
                             else rf"^zz{i}|\d{{5,}}-{i}")
        actions = (("hide",), ("read",), ("star",), ("no_digest",), ("notify",))[i % 5]
        scope = {"scope": "folder", "folder": f"Folder {i % 7}"} if i % 3 == 0 else {}
        rules.append(Rule(name=f"rule {i}", conditions=(cond,), actions=actions, **scope))
    return rules


def best_of(n: int, fn) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def insert_run(feeds: int, entries: int, rules: list[Rule]) -> float:
    rng = random.Random(1)
    data = [parsed(rng, f, entries) for f in range(feeds)]
    with tempfile.TemporaryDirectory() as d, make_tidings(d, clock=lambda: T0) as t:
        ids = [t.subscribe(f"https://h{f % 50}.example/feed/{f}", folder=f"Folder {f % 7}").id for f in range(feeds)]
        for r in rules:
            t.add_rule(r)
        for fid in ids:  # not a first fetch: notify rules and feeds do their work too
            t.store.record_fetch_ok(fid, now=T0, etag=None, last_modified=None)
        start = time.perf_counter()
        for fid, p in zip(ids, data):
            t.store.save_entries(fid, p, now=T0)
        return time.perf_counter() - start


def rss(rng: random.Random, feed_no: int, entries: int) -> bytes:
    from xml.sax.saxutils import escape

    items = "".join(
        f"<item><guid>f{feed_no}-{e.guid}</guid><title>{escape(e.title)}</title><link>{e.url}</link>"
        f"<author>{e.authors}</author><pubDate>{(e.published).strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate>"
        f"<description>{escape(e.content_html)}</description></item>" for e in parsed(rng, feed_no, entries).entries)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {feed_no}</title>'
            f"<link>https://example.org/</link>{items}</channel></rss>").encode()


def http_sync_run(feeds: int, entries: int, rules: list[Rule]) -> float:
    """A whole cold sync (fetch over loopback HTTP, parse, store) of `feeds` feeds."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from feedserver import FeedServer

    rng = random.Random(1)
    with FeedServer() as server, tempfile.TemporaryDirectory() as d:
        for f in range(feeds):
            server.route(f"/{f}.xml", body=rss(rng, f, entries))
        with make_tidings(d, clock=lambda: T0) as t:
            for f in range(feeds):
                t.subscribe(server.url(f"/{f}.xml"), folder=f"Folder {f % 7}")
            for r in rules:
                t.add_rule(r)
            start = time.perf_counter()
            report = t.sync()
            assert report.new == feeds * entries, report
            return time.perf_counter() - start


def query_library(path: Path, articles: int, feeds: int = 500) -> None:
    """A library of `articles` (bulk-inserted: the queries, not the inserts, are measured here)."""
    rng = random.Random(2)
    with make_tidings(path, clock=lambda: T0) as t:
        ids = [t.subscribe(f"https://h{f % 50}.example/feed/{f}", folder=f"Folder {f % 7}").id for f in range(feeds)]
        db = t.store._db
        db.execute("BEGIN")
        rows = []
        for n in range(articles):
            title = " ".join(rng.choice(WORDS) for _ in range(8))
            text = " ".join(rng.choice(WORDS) for _ in range(300))
            stamp = (T0 - timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            rows.append((ids[n % feeds], f"g{n}", f"https://x.example/{n}", title, "Ada", stamp, stamp, stamp,
                         text, "h", int(rng.random() < 0.6)))
        db.executemany("""INSERT INTO articles (feed_id, guid, url, title, authors, published, first_seen, sort_date,
                          text, content_hash, read) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", rows)
        db.execute("DELETE FROM search_queue")
        db.execute("COMMIT")
        db.execute("ANALYZE")


def query_times(path: Path) -> dict[str, float]:
    with make_tidings(path, clock=lambda: T0) as t:
        t.counts()
        return {
            "counts": best_of(5, t.counts),
            "feeds": best_of(5, t.feeds),
            "all, newest 200": best_of(5, lambda: t.article_ids(ArticleQuery(limit=200))),
            "All unread ids": best_of(5, lambda: t.article_ids(ArticleQuery(unread=True))),  # what the list loads
            "a feed's unread": best_of(5, lambda: t.article_ids(ArticleQuery(feed_id=3, unread=True, limit=200))),
        }


def interleaved(n: int, a, b) -> tuple[float, float]:
    ta, tb = [], []
    for _ in range(n):
        ta.append(a())
        tb.append(b())
    return min(ta), min(tb)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--entries", type=int, default=50)
    ap.add_argument("--articles", type=int, default=100_000)
    args = ap.parse_args()
    rules = fifty_rules(random.Random(3))

    n = args.feeds * args.entries
    print(f"Store side of a cold sync, {args.feeds} feeds x {args.entries} entries ({n} articles), best of 3"
          " (runs interleaved, so a change in the machine's load hits both):")
    base, with_rules = interleaved(3, lambda: insert_run(args.feeds, args.entries, []),
                                   lambda: insert_run(args.feeds, args.entries, rules))
    print(f"  no rules   {base:7.2f} s  ({n / base:,.0f} articles/s)")
    print(f"  50 rules   {with_rules:7.2f} s  ({n / with_rules:,.0f} articles/s)  {100 * (with_rules / base - 1):+.1f}%")

    print(f"\nA whole cold sync over loopback HTTP (fetch, parse, store), {n} articles, best of 3:")
    base, with_rules = interleaved(3, lambda: http_sync_run(args.feeds, args.entries, []),
                                   lambda: http_sync_run(args.feeds, args.entries, rules))
    print(f"  no rules   {base:7.2f} s")
    print(f"  50 rules   {with_rules:7.2f} s  {100 * (with_rules / base - 1):+.1f}%")

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "lib"
        query_library(path, args.articles)
        with make_tidings(path, clock=lambda: T0) as t:
            for r in rules:
                t.add_rule(r)
            # stand-in for 50 rules' matches on a real library: ~3% of articles, half of them hidden
            ids = t.article_ids()
            rng = random.Random(4)
            hit = rng.sample(ids, len(ids) * 3 // 100)
            hide, star = hit[: len(hit) // 2], hit[len(hit) // 2:]
            before, after = {}, {}
            for _ in range(3):  # alternate the two states of the same library
                for k, v in query_times(path).items():
                    before[k] = min(before.get(k, v), v)
                t.store.set_flags("hidden", hide)
                t.store.set_flags("starred", star)
                for k, v in query_times(path).items():
                    after[k] = min(after.get(k, v), v)
                t.store.set_flags("hidden", hide, False)
                t.store.set_flags("starred", star, False)
            t.store.set_flags("hidden", hide)
            report = t.apply_rules(dry_run=True)
            print(f"\n(50 rules over the {len(ids):,} stored articles, a preview: {report.matched} match)")
            start = time.perf_counter()
            t.apply_rules(dry_run=True)
            print(f"(the preview took {time.perf_counter() - start:.1f} s)")
            hidden = len(t.hidden_ids())
    print(f"\nQueries on {args.articles:,} articles, best of 15 (with rules: {hidden:,} hidden, in 500 feeds):")
    for k in before:
        print(f"  {k:<17} no rules {1000 * before[k]:7.1f} ms   50 rules {1000 * after[k]:7.1f} ms"
              f"   {100 * (after[k] / before[k] - 1):+.1f}%")


if __name__ == "__main__":
    main()
