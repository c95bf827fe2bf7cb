"""Desktop reader benchmarks (figures, not pass/fail tests).

    .venv/bin/python scripts/bench_ui.py [--articles 100000] [--feeds 500] [--store DIR] [--sync-feeds 500]

Measures, each in a fresh process (offscreen Qt unless QT_QPA_PLATFORM says otherwise):
1. time to first paint of the main window over a store of N articles, and time until the
   initial view (All unread: every article) is listed and painted;
2. switching between feeds: click-to-painted-list time over 30 feeds (median, max);
3. RSS after opening the All unread view (and scrolling through it);
4. the longest event-loop stall while a sync of many feeds runs against a loopback server
   (a 5 ms QTimer heartbeat measures the gaps).
5. (child "sources", no store) the sources pane's model operations at the library's feed count:
   build, re-title, counts (all changed, 50 changed), each until repainted;
6. (child "queries", no Qt) unread counts, the feed list, All unread's ids, full-text searches, and
   the library's size per 100k articles.
Targets at 100k: first paint <= 1 s, feed switch <= 50 ms, RSS <= 300 MB, stall < 50 ms.
`--library` is the 1M library of issue 12 (1,000,000 articles in 5,000 feeds dated over a year, built
once and cached under ~/.cache/tidings-bench/library-1m, and a sync of 5,000 feeds); its targets:
first paint <= 400 ms from process start, All unread listed <= 500 ms, feed switch median <= 25 ms,
unread counts <= 20 ms, full-text search <= 50 ms, RSS with All unread open <= 200 MB, no event-loop
stall over 50 ms while 5,000 feeds sync.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

T_START = time.perf_counter()
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- the store -----------------------------------------------------------------------------------


def build_store(path: Path, articles: int, feeds: int, spread_days: float = 1.0) -> None:
    """A store of `articles` in `feeds` feeds (all unread), dated over the `spread_days` before NOW,
    written through save_entries and indexed for search. Built once per size and schema, then reused
    (the 1M library takes minutes)."""
    import hashlib

    from app import schema
    from app.core import make_tidings
    from app.models import ParsedEntry, ParsedFeed

    version = hashlib.sha1(repr(sorted(schema.MIGRATIONS.items())).encode()).hexdigest()[:8]
    marker = path / f"built-{articles}-{feeds}-{spread_days:g}-{version}"
    if marker.exists():
        return
    if path.exists():  # another size or schema: start again
        import shutil

        shutil.rmtree(path)
    t0 = time.perf_counter()
    path.mkdir(parents=True, exist_ok=True)
    t = make_tidings(path, clock=lambda: NOW)
    per = articles // feeds
    step = spread_days * 24 * 60 / per  # minutes between a feed's articles
    import random

    rng = random.Random(7)
    words = ("council market river school budget bridge election museum harbour railway hospital festival "
             "report science minister company workers plan city week people water energy court police "
             "storm price vote trade health film music league season night road fire").split()
    sentences = [" ".join(rng.choice(words) for _ in range(14)).capitalize() + "." for _ in range(997)]
    for f in range(feeds):
        folder = f"Folder {f % 12}" if f % 5 else None
        feed = t.subscribe(f"http://127.0.0.1:9/bench/{f}.xml", folder=folder, title=f"Bench feed {f:04d}")
        entries = []
        for i in range(per):
            k = (f * 31 + i * 7) % 997
            body = "<p>" + " ".join(sentences[(k + j * 13) % 997] for j in range(6)) + f" Story {f}-{i}.</p>"
            if (f * per + i) % 5000 == 0:
                body += "<p>The zyzzogeton appeared.</p>"  # a rare word: in 1 of 5,000 articles
            entries.append(ParsedEntry(guid=f"{f}-{i}", url=f"https://example.org/{f}/{i}",
                                       title=f"Story {i} of feed {f}", authors="",
                                       published=NOW - timedelta(minutes=step * i + f % 60), updated=None,
                                       summary="", content_html=body))
        t.store.save_entries(feed.id, ParsedFeed(f"Bench feed {f:04d}", None, entries), now=NOW)
        if f % 500 == 499:
            print(f"# {f + 1} feeds written, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    built = time.perf_counter() - t0
    t.update_search()
    indexed = time.perf_counter() - t0 - built
    t.close()
    marker.write_text(json.dumps({"save_entries_seconds": round(built, 1), "update_search_seconds": round(indexed, 1)}))
    print(f"# built a store of {articles} articles in {feeds} feeds in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)


# --- child processes: one measurement each -----------------------------------------------------------


def child_paint(store: str) -> dict:
    """Process start -> window painted; -> All unread (every article) listed and painted; RSS; switches."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    app = QApplication(["bench"])
    from app.core import make_tidings
    from ui.mainwindow import MainWindow
    from ui.theme import load_stylesheet

    load_stylesheet(app)
    t = make_tidings(store, clock=lambda: NOW)
    t.set_setting("mark_read_delay_seconds", -1)
    marks: dict[str, float] = {}

    class Painted(QObject):
        def eventFilter(self, obj, ev):  # noqa: N802
            if ev.type() == QEvent.Type.Paint:
                marks.setdefault("window", time.perf_counter())
                marks.setdefault("window_cpu", time.process_time())
                if w.articles_model.rowCount() > 0 and obj is w.articles.viewport():
                    marks.setdefault("list", time.perf_counter())
                    marks.setdefault("list_cpu", time.process_time())
            return False

    t_window = time.perf_counter()
    w = MainWindow(t, remember=False, timers=False)
    spy = Painted()
    w.installEventFilter(spy)
    w.articles.viewport().installEventFilter(spy)
    w.resize(1280, 800)
    w.show()
    deadline = time.perf_counter() + 30
    while "list" not in marks and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.001)
    # A big view lists its first page, then appends the rest of its ids (ui.articles.FIRST_PAGE):
    # when the whole list (and its count in the header) is in.
    total = t.counts()["unread"]
    while w.articles_model.rowCount() < total and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.001)
    marks["all_ids"] = time.perf_counter()
    out = {
        "articles_listed": w.articles_model.rowCount(),
        "view": w.current_key,
        "first_paint_since_process_start_ms": (marks["window"] - T_START) * 1000,
        "first_paint_since_window_created_ms": (marks["window"] - t_window) * 1000,
        "all_unread_listed_and_painted_since_process_start_ms": (marks["list"] - T_START) * 1000,
        "all_unread_listed_and_painted_since_window_created_ms": (marks["list"] - t_window) * 1000,
        "all_unread_every_id_in_since_process_start_ms": (marks["all_ids"] - T_START) * 1000,
        "rss_mb_all_unread_open": rss_mb(),
        # CPU time of this process (its threads) up to the same marks: less inflated than the wall
        # clock when other work shares the cores
        "first_paint_cpu_ms": marks["window_cpu"] * 1000,
        "all_unread_listed_cpu_ms": marks["list_cpu"] * 1000,
    }
    # scroll through the list as a person would (page by page for a while): rows are fetched lazily
    bar = w.articles.verticalScrollBar()
    for _ in range(200):
        bar.setValue(bar.value() + bar.pageStep())
        w.articles.viewport().repaint()
    bar.setValue(bar.maximum())
    w.articles.viewport().repaint()
    app.processEvents()
    out["rss_mb_after_scrolling_200_pages_and_end"] = rss_mb()
    out["row_blocks_fetched"] = w.articles_model.fetches

    # feed switches: select -> ids in (background) -> list painted
    keys = [k for k in w.sources_model.keys() if k.startswith("feed:")][:30]
    times = []
    for k in keys:
        gen = w._load_gen
        t0 = time.perf_counter()
        w.select_source(k)
        while not (w._load_gen > gen and w.tasks.active == 0 and w.articles_model.rowCount()
                   and w.current_key == k and w.articles_model.ids and
                   w.articles_model.article_row(0).feed_id == int(k.split(":")[1])):
            app.processEvents()
        w.articles.viewport().repaint()
        times.append((time.perf_counter() - t0) * 1000)
    out["feed_switch_ms_median"] = statistics.median(times)
    out["feed_switch_ms_max"] = max(times)
    # and back to All unread (100k ids)
    t0 = time.perf_counter()
    gen = w._load_gen
    w.select_source("smart:unread")
    while not (w._load_gen > gen and w.tasks.active == 0 and w.current_key == "smart:unread"):
        app.processEvents()
    w.articles.viewport().repaint()
    out["switch_to_all_unread_ms"] = (time.perf_counter() - t0) * 1000
    out["rss_mb_end"] = rss_mb()
    w.close()
    t.close()
    return out


def child_queries(store: str) -> dict:
    """The facade's queries over the store, no Qt: unread counts, the feed list, All unread's ids,
    full-text searches (rare word, rare + common, a common prefix), and the library's size."""
    from app.core import make_tidings
    from app.models import ArticleQuery

    t = make_tidings(store, clock=lambda: NOW)
    n = t.store._db.execute("SELECT count(*) FROM articles").fetchone()[0]

    def timed(fn, runs=15):
        fn()
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000)
        return round(statistics.median(times), 2)

    out = {
        "library_articles": n,
        "counts_ms_median": timed(t.counts),
        "feeds_ms_median": timed(t.feeds),
        "all_unread_ids_ms_median": timed(lambda: t.article_ids(ArticleQuery(unread=True)), 5),
        "today_ids_ms_median": timed(lambda: t.article_ids(t.today_query())),
        # what a feed switch asks the store: the feed's ids, then the first block of rows
        "feed_ids_and_200_rows_ms_median": timed(
            lambda: t.article_rows(t.article_ids(ArticleQuery(feed_id=2500))[:200])),
        "search_rare_word_ms_median": timed(lambda: t.search("zyzzogeton")),
        "search_rare_and_common_ms_median": timed(lambda: t.search("market zyzzogeton")),
        "search_common_prefix_ms_median": timed(lambda: t.search("counc")),
        "search_results_rare": len(t.search("zyzzogeton")),
    }
    db = Path(store) / "tidings.sqlite"
    size = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
    out["db_mb"] = round(size / 1e6, 1)
    out["db_mb_per_100k_articles"] = round(size / 1e6 / max(1, n) * 100_000, 1)
    pages = dict(t.store._db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()) \
        if _has_dbstat(t.store._db) else {}
    if pages:
        fts = sum(v for k, v in pages.items() if k.startswith("articles_fts"))
        out["fts_mb_per_100k_articles"] = round(fts / 1e6 / max(1, n) * 100_000, 1)
    t.close()
    return out


def _has_dbstat(db) -> bool:
    try:
        db.execute("SELECT 1 FROM dbstat LIMIT 1").fetchall()
        return True
    except Exception:  # noqa: BLE001 - SQLite built without DBSTAT
        return False


def corpus_files():
    from feedserver import CORPUS

    return sorted(p for p in CORPUS.iterdir() if p.suffix in (".rss", ".atom", ".xml", ".json"))


def child_server(feeds: int) -> None:
    """Serve the corpus as `feeds` distinct feeds on 127.0.0.1, in its own process (like a real
    remote server, its threads do not compete with the app for the GIL). Prints the base URL."""
    from feedserver import FeedServer

    files = corpus_files()
    with FeedServer() as server:
        for i in range(feeds):
            server.file(f"/feed/{i}{files[i % len(files)].suffix}", files[i % len(files)])
        print(server.base, flush=True)
        sys.stdin.read()  # until the parent closes our stdin


class RemoteServer:
    def __init__(self, feeds: int):
        self.proc = subprocess.Popen([sys.executable, __file__, "--child", "server", "--sync-feeds", str(feeds)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.base = self.proc.stdout.readline().strip()

    def url(self, path: str) -> str:
        return self.base + path

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.stdin.close()
        self.proc.wait(10)


class _StallStacks:
    """TIDINGS_BENCH_STALL_STACKS=FILE: where each thread was when the GUI thread's heartbeat was
    over 40 ms late (sampled every 2 ms by a watchdog thread), to find what causes a stall."""

    def __init__(self, last: list[float]):
        import threading

        self.last, self.samples, self.gui = last, [], threading.get_ident()
        self.done = threading.Event()
        threading.Thread(target=self.watch, daemon=True).start()

    def watch(self) -> None:
        import threading
        import traceback

        names = {}
        while not self.done.wait(0.002):
            late = (time.perf_counter() - self.last[0]) * 1000
            if late > 40:
                names.update({t.ident: t.name for t in threading.enumerate()})
                frames = sys._current_frames()
                self.samples.append((round(late), {names.get(k, k): "".join(traceback.format_stack(f, limit=12))
                                                   for k, f in frames.items() if k != threading.get_ident()}))

    def write(self, path: str) -> None:
        self.done.set()
        with open(path, "w") as out:
            for late, threads in self.samples:
                out.write(f"=== GUI heartbeat {late} ms late\n")
                for name, stack in threads.items():
                    out.write(f"--- {name}\n{stack}")


def child_sync(data: str, feeds: int) -> dict:
    """Longest gap of a 5 ms heartbeat while the window syncs `feeds` feeds from a loopback server."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication(["bench"])
    from app.core import make_tidings
    from ui.mainwindow import MainWindow

    files = corpus_files()
    with RemoteServer(feeds) as server:
        t = make_tidings(data)
        # offline extras would reach the corpus' real sites: keep the benchmark on loopback
        t.set_setting("full_text", False)
        t.set_setting("images", False)
        t.set_setting("mark_read_delay_seconds", -1)
        for i in range(feeds):
            t.subscribe(server.url(f"/feed/{i}{files[i % len(files)].suffix}"), title=f"Corpus {i}")
        w = MainWindow(t, remember=False, timers=False)
        w.resize(1280, 800)
        w.show()
        w.tasks.wait_idle(30)
        w.select_source("smart:unread")
        w.tasks.wait_idle(30)
        gaps: list[float] = []
        last = [time.perf_counter()]

        long_gaps: list[tuple[float, float, int]] = []  # (seconds into the sync, gap ms, feeds done)

        def beat():
            now = time.perf_counter()
            gap = (now - last[0]) * 1000
            gaps.append(gap)
            if gap > 50:
                long_gaps.append((round(now - t0, 2), round(gap, 1), len(w.sync_events)))
            last[0] = now

        timer = QTimer()
        timer.setInterval(5)
        timer.timeout.connect(beat)
        timer.start()
        stacks = _StallStacks(last) if os.environ.get("TIDINGS_BENCH_STALL_STACKS") else None
        import gc

        gc_pauses: list[tuple[int, float]] = []  # (generation, ms): a collection holds the GIL throughout
        gc_start = [0.0]

        def on_gc(phase, info):
            if phase == "start":
                gc_start[0] = time.perf_counter()
            else:
                gc_pauses.append((info["generation"], (time.perf_counter() - gc_start[0]) * 1000))

        gc.callbacks.append(on_gc)
        t0 = time.perf_counter()
        w.start_sync()
        while w._sync_task is not None and time.perf_counter() - t0 < 300:
            app.processEvents()
            time.sleep(0.0005)
        seconds = time.perf_counter() - t0
        # what the person sees right after: the refreshed lists
        w.tasks.wait_idle(30)
        timer.stop()
        if stacks is not None:
            stacks.write(os.environ["TIDINGS_BENCH_STALL_STACKS"])
        report = w.last_sync_report
        gaps.sort()
        out = {
            "sync_feeds": feeds,
            "sync_seconds": seconds,
            "sync_new_articles": report.new if report else None,
            "sync_failed_feeds": len(report.failed) if report else None,
            "progress_events": len(w.sync_events),
            "heartbeats": len(gaps),
            "stall_max_ms": gaps[-1] if gaps else None,
            "stall_p99_ms": gaps[int(len(gaps) * 0.99)] if gaps else None,
            "stall_median_ms": statistics.median(gaps) if gaps else None,
            "stalls_over_50ms": sum(g > 50 for g in gaps),
            "unread_after": t.counts()["unread"],
            "long_gaps_at_s_ms_feeds_done": long_gaps,
            "gc_collections_by_generation": [sum(1 for g, _ in gc_pauses if g == k) for k in range(3)],
            "gc_longest_pause_ms": round(max((ms for _, ms in gc_pauses), default=0.0), 1),
            "gc_pauses_over_20ms": [(g, round(ms)) for g, ms in gc_pauses if ms > 20],
        }
        gc.callbacks.remove(on_gc)
        w.close()
        t.close()
    return out


def child_sources(feeds: int) -> dict:
    """The sources pane's model operations at `feeds` feeds (12 folders, 4 in 5 feeds in one), each
    until the pane is repainted: build, re-title every feed (as after the first sync) keeping and
    changing the order, a refresh that changes nothing, every count changed, 50 changed. No store."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication(["bench"])
    from app.models import Feed
    from ui.sources import SourcesPane

    def library(title):
        return [Feed(id=i + 1, url=f"http://127.0.0.1:9/bench/{i}.xml", title=title(i),
                     folder=f"Folder {i % 12}" if i % 5 else None, unread=200) for i in range(feeds)]

    def counts(base, bumped=()):
        per = {i + 1: base + i % 7 + (3 if i in bumped else 0) for i in range(feeds)}
        return {"feeds": per, "unread": sum(per.values()), "today": 5, "starred": 0}

    untitled = library(lambda i: "")  # shown by address until the first sync names them
    titled = library(lambda i: f"Bench feed {i:05d}")  # the same order as the ids
    reordered = library(lambda i: f"Feed {feeds - i:05d}")  # the reverse order
    c0, c1, c50 = counts(200), counts(201), counts(201, bumped=range(0, feeds, max(1, feeds // 50)))
    pane = SourcesPane(None)
    pane.resize(300, 800)
    pane.show()
    app.processEvents()

    def timed(fn) -> float:
        """Until repainted, a re-sort left for the next turn of the event loop included (its turn
        and the relabelling's are each a stall of their own in the window: see the sync child)."""
        t0 = time.perf_counter()
        fn()
        pane.executeDelayedItemsLayout()
        pane.viewport().repaint()
        app.processEvents()
        while pane.model_._resort_pending:
            app.processEvents()
        pane.executeDelayedItemsLayout()
        pane.viewport().repaint()
        return round((time.perf_counter() - t0) * 1000, 1)

    out = {"sources_feeds": feeds}
    out["sources_build_ms"] = timed(lambda: pane.set_feeds(untitled, c0, None))
    out["sources_retitle_same_order_ms"] = timed(lambda: pane.set_feeds(titled, c0, None))
    out["sources_retitle_new_order_ms"] = timed(lambda: pane.set_feeds(reordered, c0, None))
    out["sources_refresh_unchanged_ms"] = timed(lambda: pane.set_feeds(reordered, c0, None))
    out["sources_counts_all_changed_ms"] = timed(lambda: pane.set_counts(c1))
    out["sources_counts_50_changed_ms"] = timed(lambda: pane.set_counts(c50))
    out["sources_counts_unchanged_ms"] = timed(lambda: pane.set_counts(c50))
    # what each of those includes: one repaint of the populated pane (median of 15)
    out["sources_repaint_populated_ms"] = statistics.median(timed(lambda: None) for _ in range(15))
    return out


def run_child(*args: str) -> dict:
    cmd = [sys.executable, __file__, *args]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--feeds", type=int, default=500)
    ap.add_argument("--store", default="/tmp/tidings-bench-ui/store")
    ap.add_argument("--sync-feeds", type=int, default=500)
    ap.add_argument("--sync-runs", type=int, default=3, help="sync runs (the stall figure is noisy on a busy box)")
    ap.add_argument("--spread-days", type=float, default=1.0, help="articles dated over this many days")
    ap.add_argument("--library", action="store_true",
                    help="the 1M library: 1,000,000 articles in 5,000 feeds over a year, cached under "
                         "~/.cache/tidings-bench/, and a sync of 5,000 feeds")
    ap.add_argument("--build-only", action="store_true", help="build (or find) the store, then stop")
    ap.add_argument("--no-sync", action="store_true", help="skip the sync measurement")
    ap.add_argument("--child", choices=["paint", "sync", "server", "queries", "sources"])
    ap.add_argument("--data")
    args = ap.parse_args()
    if args.library:
        args.articles, args.feeds, args.spread_days, args.sync_feeds = 1_000_000, 5000, 365, 5000
        if args.store == ap.get_default("store"):
            args.store = str(Path.home() / ".cache" / "tidings-bench" / "library-1m")
    if args.child == "queries":
        print(json.dumps(child_queries(args.data)))
        return 0
    if args.child == "paint":
        print(json.dumps(child_paint(args.data)))
        return 0
    if args.child == "sources":
        print(json.dumps(child_sources(args.feeds)))
        return 0
    if args.child == "server":
        child_server(args.sync_feeds)
        return 0
    if args.child == "sync":
        print(json.dumps(child_sync(args.data, args.sync_feeds)))
        return 0

    store = Path(args.store)
    build_store(store, args.articles, args.feeds, args.spread_days)
    # Start-up as an installed app has it: with bytecode (pip and the packaged app compile it; a
    # checkout run with PYTHONDONTWRITEBYTECODE=1 compiles every module at every start, ~40 ms here).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "app"), str(ROOT / "ui")],
                   check=False, capture_output=True)
    if args.build_only:
        return 0
    results = {"articles": args.articles, "feeds": args.feeds, "platform": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    results.update(run_child("--child", "queries", "--data", str(store)))
    results.update(run_child("--child", "sources", "--feeds", str(args.feeds)))
    runs = [run_child("--child", "paint", "--data", str(store)) for _ in range(3)]
    best = min(runs, key=lambda r: r["first_paint_since_process_start_ms"])
    results.update(best)
    results["first_paint_since_process_start_ms_runs"] = [round(r["first_paint_since_process_start_ms"]) for r in runs]
    if not args.no_sync:
        syncs = [run_child("--child", "sync", "--data", f"/tmp/tidings-bench-ui/sync-{os.getpid()}-{i}",
                           "--sync-feeds", str(args.sync_feeds)) for i in range(args.sync_runs)]
        results.update(sorted(syncs, key=lambda r: r["stall_max_ms"])[len(syncs) // 2])  # the median run
        results["stall_max_ms_runs"] = [round(r["stall_max_ms"], 1) for r in syncs]
        results["stall_p99_ms_runs"] = [round(r["stall_p99_ms"], 1) for r in syncs]
        results["stalls_over_50ms_runs"] = [r["stalls_over_50ms"] for r in syncs]
    if hasattr(os, "getloadavg"):
        results["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    for k, v in results.items():
        print(f"{k:58s} {round(v, 1) if isinstance(v, float) else v}")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
