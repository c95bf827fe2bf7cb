"""Sync benchmark: 500 generated feeds x 50 entries (~150 KB each) from a loopback server.

    .venv/bin/python scripts/bench_sync.py [--feeds 500] [--entries 50] [--articles 100000]

Prints:
- cold sync wall time (empty store -> 25k articles stored) vs the download floor: the same httpx
  client settings (concurrency, per-host limit, timeouts) only downloading the same 500 URLs;
- warm sync (every feed answers 304) vs the floor of 500 conditional requests;
- feed parsing MB/s: our parse path, and feedparser with its defaults for comparison;
- query times on a store of 100k articles (newest 200 unread of a feed, unread counts for all
  feeds, a full-text search), and the time of the batched full-text index update, separately.

The server is a small asyncio HTTP/1.1 server in a separate process (so its CPU does not compete
with the client for one GIL), listening on 50 loopback addresses 127.0.0.1-50 (10 feeds per
"host", so per-host limits act as they would on the real web). Generated entries carry full
content (~3 KB of HTML each, with links but no images), not teasers: the benchmark does no page
or image fetches. Bodies are served uncompressed with an ETag.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HOSTS = 50
WORDS = ("the of and to in a is that for it as was with be by on not he this are or his from at which but have "
         "an they you were her she there been one all we their has would when if so no will more out up what "
         "about into than them can only other new some could time these two may then do first any my now such "
         "like our over man me even most made after also did many before must through back years where much "
         "your way well down should because each just those people how too little state good very make world "
         "still own see men work long get here between both life being under never day same another know while "
         "last might us great old year off come since against go came right used take three river market city "
         "science council report budget hospital school bridge railway election museum festival harbour").split()


def make_feed(i: int, entries: int = 50, size: int = 2600, site: str | None = None) -> bytes:
    """Feed `i`; `site`: its home page (the server's own address when served, so a sync's icon
    lookups find a real site; the articles' own links stay on example.com and are never fetched)."""
    r = random.Random(i)
    base = datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)
    host = f"site{i}.example.com"
    site = site or f"https://{host}/"
    items = []
    for j in range(entries):
        body = []
        n = 0
        while n < size:
            words = " ".join(r.choice(WORDS) for _ in range(45))
            if r.random() < 0.5:
                p = f'<p>{words} <a href="https://{host}/topic/{r.randint(1, 999)}">more</a> &amp; <em>so on</em>.</p>'
            else:
                p = f'<p>{words} <a href="/archive/{r.randint(1, 99)}">archive</a>, <strong>{r.choice(WORDS)}</strong>.</p>'
            body.append(p)
            n += len(p)
        date = format_datetime(base - timedelta(hours=j * 2 + i % 7), usegmt=True)
        title = " ".join(r.choice(WORDS) for _ in range(7)).capitalize()
        items.append(
            f"<item><title>{title}</title><link>https://{host}/posts/{i}/{j}</link>"
            f'<guid isPermaLink="false">{host}-{j}</guid><pubDate>{date}</pubDate>'
            f"<dc:creator>Writer {j % 5}</dc:creator><category>{r.choice(WORDS)}</category>"
            f"<description>{' '.join(r.choice(WORDS) for _ in range(25))}</description>"
            f"<content:encoded><![CDATA[{''.join(body)}]]></content:encoded></item>\n")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
            f'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<channel><title>Generated feed {i}</title><link>{site}</link>"
            f"<description>Feed {i} for the benchmark</description><language>en</language>\n"
            + "".join(items) + "</channel></rss>\n").encode()


# --- the server (separate process) ---------------------------------------------------------------------


def _icon_png() -> bytes:
    """A 16x16 orange PNG: each site's icon (what a first sync downloads besides the feeds)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x80\x00\xff" * 16 for _ in range(16))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _ok(body: bytes, ctype: bytes, etag: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: " + ctype + b"\r\nETag: " + etag +
            b"\r\nLast-Modified: Sat, 21 Nov 2026 08:00:00 GMT\r\nContent-Length: " + str(len(body)).encode() +
            b"\r\n\r\n" + body)


def serve(n_feeds: int, entries: int, port: int) -> dict[bytes, tuple[bytes, bytes, bytes]]:
    """The responses by path: each feed, its site's home page (which names its icon) and the icon."""
    import hashlib

    responses: dict[bytes, tuple[bytes, bytes, bytes]] = {}
    icon = _icon_png()
    for i in range(n_feeds):
        site = f"http://127.0.0.{i % HOSTS + 1}:{port}/site/{i}/"
        body = make_feed(i, entries, site=site)
        etag = b'"' + hashlib.sha1(body).hexdigest()[:20].encode() + b'"'
        not_mod = b"HTTP/1.1 304 Not Modified\r\nETag: " + etag + b"\r\nContent-Length: 0\r\n\r\n"
        responses[f"/feed/{i}.xml".encode()] = (_ok(body, b"application/rss+xml; charset=utf-8", etag), not_mod, etag)
        page = (f'<!doctype html><html><head><title>Site {i}</title><link rel="icon" href="/icon/{i}.png">'
                f"</head><body><p>Generated site {i}.</p></body></html>").encode()
        responses[f"/site/{i}/".encode()] = (_ok(page, b"text/html; charset=utf-8", b'"p%d"' % i), b"", b"")
        responses[f"/icon/{i}.png".encode()] = (_ok(icon, b"image/png", b'"i%d"' % i), b"", b"")
    return responses


def run_server(n_feeds: int, entries: int) -> None:
    responses: dict[bytes, tuple[bytes, bytes, bytes]] = {}
    missing = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"

    class Proto(asyncio.Protocol):
        def connection_made(self, transport):
            self.t = transport
            self.buf = b""

        def data_received(self, data):
            self.buf += data
            while b"\r\n\r\n" in self.buf:
                head, self.buf = self.buf.split(b"\r\n\r\n", 1)
                lines = head.split(b"\r\n")
                parts = lines[0].split(b" ")
                path = parts[1] if len(parts) > 1 else b"/"
                inm = None
                for line in lines[1:]:
                    if line[:14].lower() == b"if-none-match:":
                        inm = line[14:].strip()
                r = responses.get(path)
                if r is None:
                    self.t.write(missing)
                elif inm is not None and inm == r[2]:
                    self.t.write(r[1])
                else:
                    self.t.write(r[0])

    async def main():
        loop = asyncio.get_running_loop()
        first = await loop.create_server(Proto, "127.0.0.1", 0, backlog=1024)
        port = first.sockets[0].getsockname()[1]
        servers = [first]
        for h in range(2, HOSTS + 1):
            servers.append(await loop.create_server(Proto, f"127.0.0.{h}", port, backlog=1024))
        responses.update(serve(n_feeds, entries, port))
        print(port, flush=True)
        # Exit when the parent goes away (its end of our stdin closes), even if it was killed.
        await loop.run_in_executor(None, sys.stdin.buffer.read)

    asyncio.run(main())


def feed_urls(port: int, n: int) -> list[str]:
    return [f"http://127.0.0.{i % HOSTS + 1}:{port}/feed/{i}.xml" for i in range(n)]


# --- the floors: the same client settings, only downloading --------------------------------------------


async def download_all(urls: list[str], etags: dict[str, str] | None = None, *, concurrency=10, per_host=3) -> int:
    import httpx

    from app.sync.fetch import USER_AGENT, host_of

    total = 0
    sem = asyncio.Semaphore(concurrency)
    hosts: dict[str, asyncio.Semaphore] = {}
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(connect=10, read=20, write=20, pool=None),
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
    ) as client:
        async def one(url):
            nonlocal total
            h = hosts.setdefault(host_of(url), asyncio.Semaphore(per_host))
            headers = {"If-None-Match": etags[url]} if etags else {}
            async with sem, h:
                r = await client.get(url, headers=headers)
                total += len(r.content)

        await asyncio.gather(*(one(u) for u in urls))
    return total


def subscribed(urls: list[str], tmp: Path):
    """(store, syncer): a new library in `tmp` subscribed to `urls`, as the sync benchmarks start."""
    from app.store import Store
    from app.sync import Syncer

    store = Store(tmp / "t.sqlite")
    now = datetime.now(timezone.utc)
    for u in urls:
        store.add_feed(u, now=now)
    return store, Syncer(store, image_dir=tmp / "images")


def best_of(n, fn):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


# --- the run ----------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=500)
    ap.add_argument("--entries", type=int, default=50)
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--no-queries", action="store_true", help="skip the queries on a 100k-article store")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        run_server(args.feeds, args.entries)
        return

    from app.models import ArticleQuery

    server = subprocess.Popen([sys.executable, __file__, "--serve", "--feeds", str(args.feeds),
                               "--entries", str(args.entries)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        port = int(server.stdout.readline())
        urls = feed_urls(port, args.feeds)
        sample = make_feed(0, args.entries)
        print(f"{args.feeds} feeds x {args.entries} entries, {len(sample) / 1024:.0f} KB each "
              f"(full content, no teasers: no page or image fetches), 50 loopback hosts, 2 CPUs")

        asyncio.run(download_all(urls[:20]))  # warm up the server and imports
        floor_t, nbytes = [], 0
        for _ in range(3):
            t = time.perf_counter()
            nbytes = asyncio.run(download_all(urls))
            floor_t.append(time.perf_counter() - t)
        floor = min(floor_t)
        # The same downloads in the order the sync fetches them (app.sync.decide.fetch_order: a few
        # hosts at a time, so kept-alive connections are reused): what that order alone is worth.
        from types import SimpleNamespace

        from app.sync.decide import fetch_order

        ordered = [f.url for f in fetch_order([SimpleNamespace(url=u) for u in urls], 10)]
        floor_ordered = min(_timed(lambda: asyncio.run(download_all(ordered))) for _ in range(3))

        tmp = Path(tempfile.mkdtemp(prefix="tidings-bench-"))
        store, syncer = subscribed(urls, tmp)
        t = time.perf_counter()
        last_feed = [0.0]
        cold = syncer.run(on_progress=lambda *_: last_feed.__setitem__(0, time.perf_counter() - t))
        run_t = time.perf_counter() - t
        cold_t = last_feed[0]  # every feed stored: what the floor compares with (it fetches no icons)
        assert not cold.failed, cold.failed[:3]
        icons = sum(1 for f in store.feeds() if f.icon)
        n_articles = cold.new

        etags = {f.url: f.etag for f in store.feeds()}
        warm_floor = min(_timed(lambda: asyncio.run(download_all(urls, etags))) for _ in range(3))
        warm_floor_ordered = min(_timed(lambda: asyncio.run(download_all(ordered, etags))) for _ in range(3))
        warm_runs = []
        for _ in range(3):
            t = time.perf_counter()
            warm = syncer.run()
            warm_runs.append(time.perf_counter() - t)
            assert all(r.status == "not_modified" for r in warm.results)
        warm_t = min(warm_runs)
        t = time.perf_counter()
        indexed = store.update_search()
        fts_t = time.perf_counter() - t
        store.close()

        print(f"download floor:   {floor:6.2f} s  ({nbytes / 1e6:.1f} MB, {nbytes / 1e6 / floor:.0f} MB/s; "
              f"{floor_ordered:.2f} s in the sync's fetch order)")
        print(f"cold sync:        {cold_t:6.2f} s  = {cold_t / floor:.2f}x floor  (target <= 3x; "
              f"{cold_t / floor_ordered:.2f}x the floor in fetch order; {n_articles} articles stored)")
        print(f"  the whole run, with the sites' icons looked for: {run_t:.2f} s ({icons} of {len(urls)} icons "
              f"stored; each site's home page and icon are two more requests the floor does not make)")
        mode = os.environ.get("TIDINGS_PARSE_PROCESS", "auto")
        print(f"  parse path: {cold.parsed_in_process} of {len(cold.results)} feeds in the parse process, "
              f"the rest in the parse thread (TIDINGS_PARSE_PROCESS={mode})")
        print(f"warm floor (304): {warm_floor:6.2f} s  ({warm_floor_ordered:.2f} s in the sync's fetch order)")
        print(f"warm sync (304):  {warm_t:6.2f} s  = {warm_t / warm_floor:.2f}x floor  (target <= 0.9x; "
              f"{warm_t / warm_floor_ordered:.2f}x the floor in fetch order)")
        print(f"search index after the cold sync: {indexed} articles in {fts_t:.2f} s (Store.update_search, a separate step)")
    finally:
        server.kill()
        server.wait()

    # --- parsing ---
    import feedparser

    from app.sync.parse import _parse, parse_feed

    # Three rounds over different feeds (no warm caches from an earlier round), single thread.
    # parse_feed includes each entry's plain text and content hash for the store (app.sync.parse.prepare);
    # "parser alone" is the same without them (what this line measured before they moved there).
    # CPU time as well as wall time: on a shared machine the wall clock also counts others' work.
    rates, alone, rates_cpu = [], [], []
    for k in range(3):
        docs = [make_feed(1000 + 40 * k + i, args.entries) for i in range(40)]
        mb = sum(map(len, docs)) / 1e6
        c = time.process_time()
        rates.append(mb / _timed(lambda: [parse_feed(d, "https://example.com/feed") for d in docs]))
        rates_cpu.append(mb / (time.process_time() - c))
        alone.append(mb / _timed(lambda: [_parse(d, "https://example.com/feed", None) for d in docs]))
    fp_docs = [make_feed(2000 + i, args.entries) for i in range(8)]
    fp_mb = sum(map(len, fp_docs)) / 1e6
    fp = _timed(lambda: [feedparser.parse(d) for d in fp_docs])
    print(f"parse (ours: expat check + fastfeedparser + nh3): {statistics.median(alone):6.1f} MB/s median of "
          f"{', '.join(f'{r:.1f}' for r in alone)}")
    print(f"parse + text + hash (parse_feed, what sync runs):  {statistics.median(rates):6.1f} MB/s median of "
          f"{', '.join(f'{r:.1f}' for r in rates)}; by CPU time {statistics.median(rates_cpu):.1f}  (target >= 60)")
    print(f"parse (feedparser defaults):                      {fp_mb / fp:6.1f} MB/s")

    # --- queries on a 100k-article store ---
    if not args.no_queries:
        bench_queries(args.articles)


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_queries(n_articles: int) -> None:
    from app.models import ArticleQuery, ParsedEntry, ParsedFeed
    from app.store import Store

    tmp = Path(tempfile.mkdtemp(prefix="tidings-bench-q-"))
    store = Store(tmp / "q.sqlite")
    now = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
    n_feeds = 500
    per_feed = n_articles // n_feeds
    r = random.Random(1)
    t = time.perf_counter()
    paras = [" ".join(r.choice(WORDS) for _ in range(60)) for _ in range(200)]
    for f in range(n_feeds):
        fid, _ = store.add_feed(f"https://site{f}.example.com/feed", now=now, title=f"Feed {f}")
        entries = []
        for j in range(per_feed):
            body = "".join(f"<p>{paras[(f * 7 + j * 3 + k) % 200]}</p>" for k in range(8))
            if f == 123 and j % 50 == 0:
                body += "<p>The zyzzogeton appeared.</p>"
            entries.append(ParsedEntry(
                guid=f"{f}-{j}", url=f"https://site{f}.example.com/p/{j}", title=f"Story {j} of feed {f}",
                authors="A. Writer", published=now - timedelta(hours=j, minutes=f), updated=None,
                summary="", content_html=body))
        store.save_entries(fid, ParsedFeed(f"Feed {f}", None, entries), now=now)
    build = time.perf_counter() - t
    store.mark_read(list(range(1, n_articles, 3)))  # a third read
    t = time.perf_counter()
    indexed = store.update_search()
    fts = time.perf_counter() - t
    print(f"store of {n_articles} articles ({n_feeds} feeds): built with save_entries in {build:.1f} s; "
          f"update_search indexed {indexed} in {fts:.1f} s")

    def q_newest():
        ids = store.article_ids(ArticleQuery(feed_id=250, unread=True, limit=200))
        assert 0 < len(ids) <= 200

    def q_counts():
        c = store.counts(now - timedelta(days=1))
        assert len(c["feeds"]) == n_feeds

    def q_feeds():
        assert len(store.feeds()) == n_feeds

    def q_search():
        assert len(store.search("zyzzogeton")) == (per_feed + 49) // 50

    for name, fn in (("newest 200 unread of a feed (article_ids)", q_newest),
                     ("unread counts for all feeds (counts)", q_counts),
                     ("feed list with unread counts (feeds)", q_feeds),
                     ("full-text search, rare word (search)", q_search)):
        fn()
        best, med = best_of(20, fn)
        print(f"query {name:45s} median {med * 1000:7.2f} ms  best {best * 1000:7.2f} ms  (target <= 20 ms)")
    store.close()


if __name__ == "__main__":
    main()
