"""The sync run: fetch due feeds in parallel, parse and store each, then its offline extras.

Threads and loops:
- `Syncer.run` runs an asyncio loop in the calling thread (`asyncio.run`); `on_progress` is called
  from that loop, so in the calling thread, once per finished feed.
- CPU work (parsing, page extraction) runs in ONE parse thread, and every store read/write in ONE
  store thread (both module-wide, FIFO): parsing overlaps downloads and SQLite work (lxml, expat,
  nh3 and sqlite3 release the GIL), without parsing many feeds at once (memory), and writes never
  contend with each other.
- A sync with many feed bodies to parse (PROCESS_MIN_BODIES or more in one run) parses them in ONE
  parse *process* instead (module-wide, started on first need with "spawn", kept for later syncs):
  parsing plus the entries' plain text and hashes is most of a feed's CPU, and in the same process
  the GIL serialises it with downloading and storing. Bytes go in, a ParsedFeed comes out. Until
  the process is up (~0.3 s), and for small syncs, the parse thread does it. A dead or unusable
  process never costs a feed: that feed is parsed in the thread, the process restarted (after
  MAX_POOL_FAILURES in one app session, the thread does all parsing). TIDINGS_PARSE_PROCESS=
  always|never|auto (default auto) overrides the choice, for tests and benchmarks.
- Each store write is one short transaction; none is held across network I/O. A feed's entries
  are saved before its ETag/Last-Modified, so a sync killed in between refetches (never misses)
  them, and pending full text / images are flags in the store that the next sync picks up.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from app.errors import FeedError, FetchFailed, NotAFeed, StoreError
from app.models import Feed, FeedResult, SyncReport, utc_now
from app.sync import extras as _extras
from app.sync import parse_worker
from app.sync.fetch import FEED_MAX_BYTES, Fetcher, Response
from app.sync.parse import parse_feed

log = logging.getLogger(__name__)

_worker_lock = threading.Lock()
_executors: dict[str, ThreadPoolExecutor] = {}


def _worker(name: str = "store") -> ThreadPoolExecutor:
    """The module's single-thread executors: "store" does every store read/write of a sync, "parse"
    the CPU work (feed parsing, page extraction). Long-lived, so each keeps its store connection."""
    with _worker_lock:
        ex = _executors.get(name)
        if ex is None:
            ex = _executors[name] = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"tidings-sync-{name}")
        return ex


PARSE_PROCESS_ENV = "TIDINGS_PARSE_PROCESS"
PROCESS_MIN_BODIES = 8  # feed bodies fetched in one run before its parsing moves to the process
MAX_POOL_FAILURES = 3  # parse processes lost in one app session before we stop starting them

_WARM_UP_FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>warm-up</title></channel></rss>'


class _ParseProcess:
    """The module's one parse process (a ProcessPoolExecutor of one "spawn" worker: never fork a
    process that may have Qt's threads). Started lazily; `ready` once a first parse (which imports
    the parsers) came back, so no feed waits for the process to start."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._warm: Future | None = None
        self.failures = 0

    def mode(self) -> str:
        mode = os.environ.get(PARSE_PROCESS_ENV, "auto").strip().lower()
        return mode if mode in ("always", "never", "auto") else "auto"

    def get(self, bodies: int) -> ProcessPoolExecutor | None:
        """The pool to parse this run's `bodies`-th feed body in, or None: use the parse thread."""
        mode = self.mode()
        if mode == "never" or (mode == "auto" and bodies < PROCESS_MIN_BODIES):
            return None
        with self._lock:
            if self.failures >= MAX_POOL_FAILURES:
                return None
            if self._pool is None:
                try:
                    self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                                     initializer=parse_worker.init)
                    self._warm = self._pool.submit(parse_feed, _WARM_UP_FEED, "http://localhost/")
                except Exception:  # noqa: BLE001 - no process (a sandbox, no resources): parse in the thread
                    log.warning("could not start the parse process; parsing in a thread", exc_info=True)
                    self._pool, self._warm = None, None
                    self.failures += 1
                    return None
            pool, warm = self._pool, self._warm
        if mode == "auto" and not warm.done():
            return None  # still starting: this feed goes to the thread
        if warm.done() and (warm.cancelled() or warm.exception() is not None):
            self.lost(pool, warm.exception() if not warm.cancelled() else None)
            return None
        return pool

    def lost(self, pool: ProcessPoolExecutor, error: BaseException | None) -> None:
        """`pool` broke (its worker died) or is unusable: drop it; the next get() starts another."""
        with self._lock:
            if self._pool is not pool:
                return  # already replaced
            self._pool, self._warm = None, None
            self.failures += 1
            n = self.failures
        log.warning("the parse process failed (%s); %s", error or "cancelled",
                    "restarting it" if n < MAX_POOL_FAILURES else "parsing in a thread from now on")
        try:
            pool.shutdown(wait=False, cancel_futures=True)
        except Exception:  # noqa: BLE001 - it is broken already
            pass

    def shutdown(self) -> None:
        """Stop the process (tests; the interpreter's exit does it too)."""
        with self._lock:
            pool, self._pool, self._warm = self._pool, None, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def pid(self) -> int | None:
        """The worker's process id, once it runs (tests)."""
        with self._lock:
            procs = getattr(self._pool, "_processes", None) or {}
            return next(iter(procs), None)


_parse_process = _ParseProcess()



Progress = Callable[[FeedResult, int, int], None]


class Syncer:
    def __init__(self, store, *, transport=None, clock: Callable[[], datetime] | None = None,
                 image_dir: str | Path | None = None, concurrency: int = 10, per_host: int = 3,
                 connect_timeout: float = 10.0, read_timeout: float = 20.0, deadline: float = 60.0,
                 feed_max_bytes: int = FEED_MAX_BYTES, extras: bool = True, max_pages_per_feed: int = 50):
        """Options beyond the facade's contract are for tests and tuning. `max_pages_per_feed`: at most
        this many article pages (and articles' images) per feed per sync; the rest waits for the next."""
        self.store = store
        self.transport = transport
        self.clock = clock or utc_now
        self.image_dir = Path(image_dir) if image_dir else None
        self.concurrency = concurrency
        self.per_host = per_host
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.deadline = deadline
        self.feed_max_bytes = feed_max_bytes
        self.extras = extras
        self.max_pages_per_feed = max_pages_per_feed

    # --- public -------------------------------------------------------------------------------

    def run(self, feed_ids: Iterable[int] | None = None, *, on_progress: Progress | None = None,
            cancel: threading.Event | None = None) -> SyncReport:
        started = time.monotonic()
        report = SyncReport()
        cancel = cancel or threading.Event()
        feeds = self.store.feeds_to_sync(list(feed_ids) if feed_ids is not None else None, self.clock())
        if feeds:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                pass
            else:
                raise RuntimeError("Syncer.run() blocks: call it from a worker thread, not from a running event loop.")
            asyncio.run(_Run(self, feeds, on_progress, cancel, report).main())
        report.seconds = time.monotonic() - started
        return report


class _Run:
    """One sync run's state, living in one event loop."""

    def __init__(self, syncer: Syncer, feeds: list[Feed], on_progress: Progress | None,
                 cancel: threading.Event, report: SyncReport):
        self.s = syncer
        self.store = syncer.store
        self.feeds = feeds
        self.on_progress = on_progress
        self.cancel = cancel
        self.report = report
        self.fetcher: Fetcher | None = None
        self.image_tasks: dict[str, asyncio.Task] = {}
        self.extra_counts: dict[int, list[int]] = {}
        self.offline_work: dict[int, tuple[list, list]] = {}  # feed id -> (pending full text, images)
        self.feeds_with_work: set[int] = set()  # asked once per run: feeds with offline work left over
        self.unmodified: list[int] = []  # 304s not yet recorded: written in batches
        self.bodies_fetched = 0

    async def in_worker(self, fn, *args):
        """Store work, in the store thread."""
        return await asyncio.get_running_loop().run_in_executor(_worker("store"), fn, *args)

    async def in_parser(self, fn, *args):
        """CPU work, in the parse thread: overlaps the store thread's SQLite work and the downloads."""
        return await asyncio.get_running_loop().run_in_executor(_worker("parse"), fn, *args)

    async def parse(self, resp: Response):
        """A fetched feed body -> ParsedFeed: in the parse process when this run has many bodies to
        parse, else (and whenever the process fails) in the parse thread. FeedErrors pass through.
        (Sharing a backlog between the two measured slower: the thread's parsing holds the GIL the
        downloads and the store thread need.)"""
        self.bodies_fetched += 1
        pool = _parse_process.get(self.bodies_fetched)
        if pool is not None:
            parsed = await self._parse_in_process(pool, resp)
            if parsed is not None:
                self.report.parsed_in_process += 1
                return parsed
        return await self.in_parser(parse_feed, resp.body, resp.url, resp.content_type)

    async def _parse_in_process(self, pool: ProcessPoolExecutor, resp: Response):
        """The ParsedFeed, or None when the process failed (the caller parses in the thread)."""
        try:
            future = pool.submit(parse_feed, resp.body, resp.url, resp.content_type)
        except (BrokenExecutor, RuntimeError) as e:  # broken, or shut down meanwhile
            _parse_process.lost(pool, e)
            return None
        try:
            return await asyncio.wrap_future(future)
        except BrokenExecutor as e:  # the worker died (killed, out of memory): parse it here
            _parse_process.lost(pool, e)
            return None

    async def main(self) -> None:
        s = self.s
        total = len(self.feeds)
        self.bodies = asyncio.Semaphore(max(2 * s.concurrency, 4))  # fetched, not yet parsed: bounded memory
        async with Fetcher(s.transport, clock=s.clock, concurrency=s.concurrency, per_host=s.per_host,
                           connect_timeout=s.connect_timeout, read_timeout=s.read_timeout,
                           deadline=s.deadline) as fetcher:
            self.fetcher = fetcher
            if s.extras:
                self.feeds_with_work = await self.in_worker(self.store.feeds_with_offline_work)
            finished: asyncio.Queue = asyncio.Queue()
            tasks = {}
            for f in self.feeds:
                t = asyncio.create_task(self.one(f))
                t.add_done_callback(finished.put_nowait)
                tasks[t] = f
            pending = set(tasks)
            done_count = 0
            try:
                while pending and not self.cancel.is_set():
                    try:
                        t = await asyncio.wait_for(finished.get(), timeout=0.05)  # poll `cancel` meanwhile
                    except TimeoutError:
                        continue
                    pending.discard(t)
                    result = t.result()  # a StoreError (disk full, locked) ends the run here
                    self.report.results.append(result)
                    done_count += 1
                    if self.on_progress is not None:
                        self.on_progress(result, done_count, total)
                while pending and not finished.empty():  # cancelled: still report what did finish
                    t = finished.get_nowait()
                    pending.discard(t)
                    if not t.cancelled() and t.exception() is None:
                        self.report.results.append(t.result())
            finally:
                others = [t for t in self.image_tasks.values() if not t.done()]
                if pending or others:
                    for t in (*pending, *others):
                        t.cancel()
                    await asyncio.gather(*pending, *others, return_exceptions=True)
                # Let the worker finish what it started (one short transaction), so the caller may
                # close the store as soon as we return.
                await self.in_parser(lambda: None)
                await self.in_worker(self.record_unmodified)
                for t in tasks:
                    if t in pending:
                        f = tasks[t]
                        self.report.results.append(FeedResult(f.id, f.url, f.title, "cancelled"))
                if pending:
                    self.report.cancelled = True

    # --- one feed -------------------------------------------------------------------------------

    async def one(self, feed: Feed) -> FeedResult:
        result = await self.fetch_and_store(feed)
        if self.s.extras and not self.cancel.is_set():
            try:
                await self.offline_extras(feed)
            except (StoreError, asyncio.CancelledError):
                raise
            except Exception:  # noqa: BLE001 - extras must never break the sync
                log.exception("offline extras failed for feed %s", feed.url)
        counts = self.extra_counts.get(feed.id)
        if counts:
            result.fulltext, result.images = counts
        return result

    async def fetch_and_store(self, feed: Feed) -> FeedResult:
        assert self.fetcher is not None
        async with self.bodies:
            try:
                resp = await self.fetcher.get(feed.url, etag=feed.etag, last_modified=feed.last_modified,
                                              max_bytes=self.s.feed_max_bytes)
            except FeedError as e:
                return await self.in_worker(self.record_error, feed, e)
            except (StoreError, asyncio.CancelledError):
                raise
            except Exception as e:  # noqa: BLE001 - a bug in fetching must not stop the other feeds
                log.exception("fetching %s failed", feed.url)
                err = FetchFailed(f"Something went wrong fetching the feed ({type(e).__name__}).")
                return await self.in_worker(self.record_error, feed, err)
            if resp.status == 304:
                return await self.in_worker(self.not_modified, feed)
            try:
                parsed = await self.parse(resp)
            except FeedError as e:
                return await self.in_worker(self.record_error, feed, e)
            except Exception as e:  # noqa: BLE001 - a parser bug is this feed's problem only
                log.exception("parsing %s failed", feed.url)
                err = NotAFeed(f"Not a feed: Tidings could not read it ({type(e).__name__}).")
                return await self.in_worker(self.record_error, feed, err)
            return await self.in_worker(self.store_parsed, feed, resp, parsed)

    # store thread
    def not_modified(self, feed: Feed) -> FeedResult:
        # Recorded in batches: a 304 changes nothing a later sync depends on, so a kill before the
        # batch is written costs one more conditional GET, nothing else.
        self.unmodified.append(feed.id)
        if len(self.unmodified) >= 100:
            self.record_unmodified()
        self._look_for_offline_work(feed)
        return FeedResult(feed.id, feed.url, feed.title, "not_modified")

    # store thread
    def record_unmodified(self) -> None:
        if self.unmodified:
            ids, self.unmodified = self.unmodified, []
            self.store.record_not_modified(ids, now=self.s.clock())

    # store thread: what offline work the feed has, asked in the same job as its fetch outcome
    # (one hand-off to this thread per feed instead of three: it shows in a warm sync of 500 feeds)
    def _look_for_offline_work(self, feed: Feed, changed: bool = False) -> None:
        if not self.s.extras:
            return
        if not changed and feed.id not in self.feeds_with_work:
            self.offline_work[feed.id] = ([], [])  # nothing stored now, nothing left over: no queries
            return
        fulltext = self.store.pending_fulltext([feed.id], self.s.max_pages_per_feed) if feed.fetch_full_text else []
        images = (self.store.pending_images([feed.id], self.s.max_pages_per_feed)
                  if feed.fetch_images and self.s.image_dir is not None else [])
        self.offline_work[feed.id] = (fulltext, images)

    # store thread
    def store_parsed(self, feed: Feed, resp: Response, parsed) -> FeedResult:
        now = self.s.clock()
        saved = self.store.save_entries(feed.id, parsed, now=now)
        # After the entries: a sync killed in between refetches them instead of getting a 304.
        self.store.record_fetch_ok(feed.id, now=now, etag=resp.headers.get("etag"),
                                   last_modified=resp.headers.get("last-modified"), new_url=resp.permanent_url)
        self._look_for_offline_work(feed, changed=bool(saved.new or saved.updated))
        title = feed.title if feed.title != feed.url else (parsed.title or feed.url)
        return FeedResult(feed.id, resp.permanent_url or feed.url, title, "updated",
                          new=len(saved.new), updated=len(saved.updated))

    # store thread
    def record_error(self, feed: Feed, e: FeedError) -> FeedResult:
        self.store.record_fetch_error(feed.id, str(e), now=self.s.clock(), retry_at=getattr(e, "retry_at", None))
        self._look_for_offline_work(feed)
        return FeedResult(feed.id, feed.url, feed.title, "error", error=str(e), error_kind=type(e).__name__)

    # --- offline extras ---------------------------------------------------------------------------

    async def offline_extras(self, feed: Feed) -> None:
        counts = self.extra_counts.setdefault(feed.id, [0, 0])
        known = self.offline_work.pop(feed.id, None)
        if feed.fetch_full_text:
            pending = known[0] if known is not None else await self.in_worker(
                self.store.pending_fulltext, [feed.id], self.s.max_pages_per_feed)
            if pending:
                done = await asyncio.gather(*(self.fulltext(aid, url) for aid, url in pending if url))
                counts[0] += sum(done)
                known = None  # extracted pages may show images: ask again
        if feed.fetch_images and self.s.image_dir is not None and not self.cancel.is_set():
            pending = known[1] if known is not None else await self.in_worker(
                self.store.pending_images, [feed.id], self.s.max_pages_per_feed)
            if pending:
                done = await asyncio.gather(*(self.images(aid, urls) for aid, urls in pending))
                counts[1] += sum(done)

    async def fulltext(self, article_id: int, url: str) -> int:
        assert self.fetcher is not None
        if self.cancel.is_set():
            return 0
        try:
            page = await _extras.fetch_page(self.fetcher, url)
        except FeedError as e:
            log.info("full text for %s: %s (will retry at the next sync)", url, e)
            return 0
        if page is None:
            await self.in_worker(self.store.set_fulltext, article_id, None, None)
            return 0
        body, final_url, ctype = page
        got = await self.in_parser(_extras.extract, body, final_url, ctype)
        if got is None:
            await self.in_worker(self.store.set_fulltext, article_id, None, None)
            return 0
        text, html = got
        await self.in_worker(self.store.set_fulltext, article_id, text, html)
        return 1

    async def images(self, article_id: int, urls: list[str]) -> int:
        if self.cancel.is_set():
            return 0
        urls = urls[: _extras.MAX_IMAGES_PER_ARTICLE]
        cached = await self.in_worker(self.store.cached_images, urls)
        to_fetch = [u for u in urls if u not in cached]
        results = await asyncio.gather(*(self.image(u) for u in to_fetch))
        fetched = dict(zip(to_fetch, results))
        known = [u for u in urls if cached.get(u)]

        await self.in_worker(lambda: self.store.record_images(article_id, fetched, known, now=self.s.clock()))
        return sum(1 for r in results if r[0])

    async def image(self, url: str):
        assert self.fetcher is not None and self.s.image_dir is not None
        task = self.image_tasks.get(url)
        if task is None:  # the same image in several articles is fetched once per run
            task = self.image_tasks[url] = asyncio.ensure_future(
                _extras.fetch_image(self.fetcher, url, self.s.image_dir))
        return await asyncio.shield(task)
