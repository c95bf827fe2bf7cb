"""The sync run: fetch due feeds in parallel, parse and store each, then its offline extras.

- `Syncer.run` runs an asyncio loop in the calling thread (`asyncio.run`); `on_progress` is called
  from that loop, so in the calling thread, once per finished feed. Store work runs in the store
  thread, parsing in the parse thread or process (app.sync.workers); what is new, changed or worth
  fetching is decided by app.sync.decide.
- Failure boundaries: each feed's fetch, parse and store, each article page and each image run in
  their own. Whatever one of them raises is recorded on it (the feed's last error in plain words,
  an image's error in the cache) and the run goes on; only what concerns the whole library (disk
  full, the library locked, damaged or read-only) ends the run.
- Each store write is one short transaction; none is held across network I/O. A feed's entries
  are saved before its ETag/Last-Modified, so a sync killed in between refetches (never misses)
  them, and pending full text / images are flags in the store that the next sync picks up.
- Offline: a feed whose host could not be reached at all is recorded at the end of the run, and
  not at all when no server answered and several hosts were unreached (SyncReport.offline). Pages
  and images that fail wait out a growing back-off (decide.retry_at); feed icons are looked for
  once every feed is downloaded (overlapping the parsing still to do), and waited for at most
  ICON_BUDGET after the last feed is done.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from datetime import datetime
from pathlib import Path

from app import normalise
from app.errors import DiskFull, FeedError, FetchFailed, NotAFeed, StoreCorrupt, StoreLocked
from app.models import Feed, FeedResult, SyncReport, utc_now
from app.sync import decide
from app.sync import extras as _extras
from app.sync.fetch import FEED_MAX_BYTES, Fetcher, Response
from app.sync.fetch import host_of as _host_of
from app.sync.parse import parse_feed
from app.sync.workers import PARSE_PROCESS_ENV, PROCESS_MIN_BODIES, parse_process, worker  # noqa: F401

# What ends a run instead of being recorded on one feed: the library itself is in trouble.
LIBRARY_ERRORS = (DiskFull, StoreLocked, StoreCorrupt, asyncio.CancelledError)


def _unexpected(e: BaseException, doing: str) -> FeedError:
    """Plain words for something no one expected while `doing` (a bug, or data nothing anticipated):
    the feed fails with this, the others go on."""
    return FeedError(f"Something went wrong {doing} ({type(e).__name__}); the other feeds were not affected.",
                     "Tidings will try again at the next sync; if it keeps happening, the details are in the log.")

log = logging.getLogger(__name__)

Progress = Callable[[FeedResult, int, int], None]
ICON_BUDGET = 5.0  # seconds a run spends on feed icons at most, after its feeds (app.sync.extras.fetch_icon)


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
        # Offline (issue 10): feeds whose host could not be reached at all are recorded at the end of
        # the run, and only when the run was not offline (app.sync.decide.is_offline).
        self.unreached: dict[int, tuple[Feed, FeedError]] = {}
        self.icon_urls: dict[int, tuple[str | None, str | None]] = {}  # feed id -> (its icon, site), as fetched now
        self.icons_due: list[Feed] = []  # feeds whose icon to look for, once every feed is downloaded
        self.icon_tasks: dict[asyncio.Task, Feed] = {}  # icon lookups started
        self.downloads_left = 0  # feed downloads not yet done: icons wait for them, then overlap the parsing

    async def in_worker(self, fn, *args):
        """Store work, in the store thread."""
        return await asyncio.get_running_loop().run_in_executor(worker("store"), fn, *args)

    async def in_parser(self, fn, *args):
        """CPU work, in the parse thread: overlaps the store thread's SQLite work and the downloads."""
        return await asyncio.get_running_loop().run_in_executor(worker("parse"), fn, *args)

    async def parse(self, resp: Response):
        """A fetched feed body -> ParsedFeed: in the parse process when this run has many bodies to
        parse, else (and whenever the process fails) in the parse thread. FeedErrors pass through.
        (Sharing a backlog between the two measured slower: the thread's parsing holds the GIL the
        downloads and the store thread need.)"""
        self.bodies_fetched += 1
        pool = parse_process.get(self.bodies_fetched)
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
            parse_process.lost(pool, e)
            return None
        try:
            return await asyncio.wrap_future(future)
        except BrokenExecutor as e:  # the worker died (killed, out of memory): parse it here
            parse_process.lost(pool, e)
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
                self.feeds_with_work = await self.in_worker(self.store.feeds_with_offline_work, s.clock())
            finished: asyncio.Queue = asyncio.Queue()
            self.downloads_left = sum(1 for f in self.feeds if f.account_id is None)
            tasks = {}
            for f in decide.fetch_order(self.feeds, s.concurrency):
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
                    result = t.result()  # only LIBRARY_ERRORS get here: they end the run
                    self.report.results.append(result)
                    done_count += 1
                    if self.on_progress is not None:
                        self.on_progress(result, done_count, total)
                if not pending and (self.icons_due or self.icon_tasks) and not self.cancel.is_set():
                    await self.feed_icons()
                while pending and not finished.empty():  # cancelled: still report what did finish
                    t = finished.get_nowait()
                    pending.discard(t)
                    if not t.cancelled() and t.exception() is None:
                        self.report.results.append(t.result())
            finally:
                others = [t for t in (*self.image_tasks.values(), *self.icon_tasks) if not t.done()]
                if pending or others:
                    for t in (*pending, *others):
                        t.cancel()
                    await asyncio.gather(*pending, *others, return_exceptions=True)
                # Let the worker finish what it started (one short transaction), so the caller may
                # close the store as soon as we return.
                await self.in_parser(lambda: None)
                await self.in_worker(self.record_unmodified)
                await self.in_worker(self.record_unreached)
                for t in tasks:
                    if t in pending:
                        f = tasks[t]
                        self.report.results.append(FeedResult(f.id, f.url, f.title, "cancelled"))
                if pending:
                    self.report.cancelled = True

    # --- one feed -------------------------------------------------------------------------------

    async def one(self, feed: Feed) -> FeedResult:
        """One feed, in its own failure boundary: whatever its data makes fail is recorded on it."""
        try:
            if feed.account_id is not None:  # its server fetches the feed (app/accounts); only the extras here
                result = FeedResult(feed.id, feed.url, feed.title, "not_modified")
            else:
                result = await self.fetch_and_store(feed)
        except LIBRARY_ERRORS:
            raise
        except Exception as e:  # noqa: BLE001 - one feed's trouble is recorded on that feed only
            log.exception("syncing %s failed", feed.url)
            result = await self.in_worker(self.record_error, feed, _unexpected(e, "storing the feed's articles"))
        if self.s.extras and not self.cancel.is_set() and feed.id not in self.unreached:
            try:
                await self.offline_extras(feed)
            except LIBRARY_ERRORS:
                raise
            except Exception:  # noqa: BLE001 - extras must never break the sync
                log.exception("offline extras failed for feed %s", feed.url)
            if result.status != "error" and self.s.image_dir is not None and decide.icon_due(
                    feed.icon_checked, self.s.clock(), have_icon=feed.icon is not None):
                if self.downloads_left > 0:
                    self.icons_due.append(feed)
                else:
                    self._start_icon(feed)
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
            except LIBRARY_ERRORS:
                raise
            except Exception as e:  # noqa: BLE001 - a bug in fetching must not stop the other feeds
                log.exception("fetching %s failed", feed.url)
                err = FetchFailed(f"Something went wrong fetching the feed ({type(e).__name__}).")
                return await self.in_worker(self.record_error, feed, err)
            finally:
                self._downloaded()
            if resp.status == 304:
                return await self.not_modified(feed)
            try:
                parsed = await self.parse(resp)
            except FeedError as e:
                return await self.in_worker(self.record_error, feed, e)
            except Exception as e:  # noqa: BLE001 - a parser bug is this feed's problem only
                log.exception("parsing %s failed", feed.url)
                err = NotAFeed(f"Not a feed: Tidings could not read it ({type(e).__name__}).")
                return await self.in_worker(self.record_error, feed, err)
            return await self.in_worker(self.store_parsed, feed, resp, parsed)

    # event loop: a 304 goes to the store thread only when there is something to write or ask (a
    # hand-off per feed was a third of a warm 500-feed sync's overhead over its downloads)
    async def not_modified(self, feed: Feed) -> FeedResult:
        # Recorded in batches: a 304 changes nothing a later sync depends on, so a kill before the
        # batch is written costs one more conditional GET, nothing else.
        self.unmodified.append(feed.id)
        if len(self.unmodified) >= 100:
            ids, self.unmodified = self.unmodified, []
            await self.in_worker(lambda: self.store.record_not_modified(ids, now=self.s.clock()))
        if self.s.extras and feed.id in self.feeds_with_work:
            await self.in_worker(self._look_for_offline_work, feed)
        else:
            self._look_for_offline_work(feed)  # nothing stored, nothing left over: no query
        return FeedResult(feed.id, feed.url, feed.title, "not_modified")

    # store thread, once all feeds are done
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
        now = self.s.clock()
        fulltext = (self.store.pending_fulltext([feed.id], self.s.max_pages_per_feed, now=now)
                    if feed.fetch_full_text else [])
        images = (self.store.pending_images([feed.id], self.s.max_pages_per_feed, now=now)
                  if feed.fetch_images and self.s.image_dir is not None else [])
        self.offline_work[feed.id] = (fulltext, images)

    # store thread
    def store_parsed(self, feed: Feed, resp: Response, parsed) -> FeedResult:
        now = self.s.clock()
        saved = self.store.save_entries(feed.id, parsed, now=now)
        # After the entries: a sync killed in between refetches them instead of getting a 304.
        # Header values only when safe to send back (a non-ASCII ETag stored once broke every later fetch).
        self.store.record_fetch_ok(feed.id, now=now, etag=normalise.header_token(resp.headers.get("etag")),
                                   last_modified=normalise.http_date(resp.headers.get("last-modified")),
                                   new_url=resp.permanent_url, notice=parsed.notice)
        self._look_for_offline_work(feed, changed=bool(saved.new or saved.updated))
        self.icon_urls[feed.id] = (parsed.icon_url, parsed.site_url)
        title = feed.title if feed.title != feed.url else (parsed.title or feed.url)
        return FeedResult(feed.id, resp.permanent_url or feed.url, title, "updated",
                          new=len(saved.new), updated=len(saved.updated))

    # store thread
    def record_error(self, feed: Feed, e: FeedError) -> FeedResult:
        if getattr(e, "unreachable", False):  # not reached at all: recorded at the end, unless offline
            self.unreached[feed.id] = (feed, e)
            return FeedResult(feed.id, feed.url, feed.title, "error", error=str(e), error_kind=type(e).__name__)
        self.store.record_fetch_error(feed.id, str(e), now=self.s.clock(), retry_at=getattr(e, "retry_at", None))
        self._look_for_offline_work(feed)
        return FeedResult(feed.id, feed.url, feed.title, "error", error=str(e), error_kind=type(e).__name__)

    # --- offline extras ---------------------------------------------------------------------------

    async def offline_extras(self, feed: Feed) -> None:
        counts = self.extra_counts.setdefault(feed.id, [0, 0])
        known = self.offline_work.pop(feed.id, None)
        if feed.fetch_full_text:
            pending = known[0] if known is not None else await self.in_worker(
                lambda: self.store.pending_fulltext([feed.id], self.s.max_pages_per_feed, now=self.s.clock()))
            fetch, skip = decide.pages_to_fetch(pending or [])
            for aid in skip:  # no usable address: that article keeps the feed's text
                await self.in_worker(self.page_failed, aid, "The article has no valid web address.", True)
            if fetch:
                done = await asyncio.gather(*(self.fulltext(aid, url) for aid, url in fetch))
                counts[0] += sum(done)
                known = None  # extracted pages may show images: ask again
        if feed.fetch_images and self.s.image_dir is not None and not self.cancel.is_set():
            pending = known[1] if known is not None else await self.in_worker(
                lambda: self.store.pending_images([feed.id], self.s.max_pages_per_feed, now=self.s.clock()))
            if pending:
                done = await asyncio.gather(*(self.images(aid, urls) for aid, urls in pending))
                counts[1] += sum(done)

    async def fulltext(self, article_id: int, url: str) -> int:
        """One article's page, in its own failure boundary: 1 if its text was stored."""
        if self.cancel.is_set():
            return 0
        try:
            return await self._fulltext(article_id, url)
        except LIBRARY_ERRORS:
            raise
        except Exception as e:  # noqa: BLE001 - one page's trouble costs that page only
            log.warning("full text for %s failed; the article keeps the feed's text", url, exc_info=True)
            await self.in_worker(self.page_failed, article_id,
                                 f"Something went wrong reading the page ({type(e).__name__}).", True)
            return 0

    async def _fulltext(self, article_id: int, url: str) -> int:
        assert self.fetcher is not None
        try:
            page = await _extras.fetch_page(self.fetcher, url)
        except FeedError as e:
            permanent = decide.is_permanent(e)
            log.info("full text for %s: %s (%s)", url, e, "given up" if permanent else "will try again later")
            await self.in_worker(self.page_failed, article_id, str(e), permanent)
            return 0
        body, final_url, ctype = page
        got = await self.in_parser(_extras.extract, body, final_url, ctype)
        if got is None:
            await self.in_worker(self.page_failed, article_id, "The page has no article text Tidings could find.", True)
            return 0
        text, html = got
        await self.in_worker(self.store.set_fulltext, article_id, text, html)
        return 1

    async def images(self, article_id: int, urls: list[str]) -> int:
        if self.cancel.is_set():
            return 0
        urls = urls[: decide.MAX_IMAGES_PER_ARTICLE]
        cached = await self.in_worker(lambda: self.store.cached_images(urls, now=self.s.clock()))
        to_fetch, known = decide.images_to_fetch(urls, cached)
        results = await asyncio.gather(*(self.image(u) for u in to_fetch))
        fetched = dict(zip(to_fetch, results))

        await self.in_worker(lambda: self.store.record_images(article_id, fetched, known, now=self.s.clock()))
        return sum(1 for r in results if r[0])

    async def image(self, url: str):
        assert self.fetcher is not None and self.s.image_dir is not None
        task = self.image_tasks.get(url)
        if task is None:  # the same image in several articles is fetched once per run
            task = self.image_tasks[url] = asyncio.ensure_future(self._image(url))
        return await asyncio.shield(task)

    async def _image(self, url: str):
        """One image, in its own failure boundary: its error is recorded with it in the cache."""
        assert self.fetcher is not None and self.s.image_dir is not None
        try:
            return await _extras.fetch_image(self.fetcher, url, self.s.image_dir)
        except LIBRARY_ERRORS:
            raise
        except Exception as e:  # noqa: BLE001 - one image's trouble costs that image only
            log.warning("image %s failed", url, exc_info=True)
            return None, None, None, f"Something went wrong fetching the image ({type(e).__name__}).", False

    # --- the reader's core (issue 10): offline runs, pages that failed, feed icons ----------------

    # store thread
    def record_unreached(self) -> None:
        """At the end of the run: feeds whose host could not be reached. Offline (no server answered,
        several hosts unreached): no error and no back-off, the report says so once. Else each such
        feed's error is recorded as any other."""
        if not self.unreached:
            return
        answered = any(r.feed_id not in self.unreached and r.status != "cancelled" for r in self.report.results)
        hosts = [_host_of(f.url) for f, _ in self.unreached.values()]
        if decide.is_offline(answered, hosts):
            self.report.offline = True
            for r in self.report.results:
                if r.feed_id in self.unreached:
                    r.status = "offline"
        else:
            now = self.s.clock()
            for feed, e in self.unreached.values():
                self.store.record_fetch_error(feed.id, str(e), now=now, retry_at=None)
        self.unreached = {}

    # store thread
    def page_failed(self, article_id: int, reason: str, permanent: bool) -> None:
        self.store.record_fulltext_failure(article_id, reason, permanent=permanent, now=self.s.clock())

    # event loop
    def _downloaded(self) -> None:
        """One feed download done (or failed): after the last one, the icons due start, so they
        never take a download slot from a feed, and overlap the parsing and storing still to do
        (on a first sync of many feeds the downloads end seconds before the parsing does)."""
        self.downloads_left -= 1
        if self.downloads_left == 0:
            due, self.icons_due = self.icons_due, []
            for f in due:
                self._start_icon(f)

    def _start_icon(self, feed: Feed) -> None:
        self.icon_tasks[asyncio.ensure_future(self.feed_icon(feed))] = feed

    async def feed_icons(self) -> None:
        """Once every feed is done: the icons due (weekly) that are still being looked for, within
        ICON_BUDGET seconds from now: those not done by then are looked for at the next sync."""
        for f in self.icons_due:  # (none, unless some feed's download never ended)
            self._start_icon(f)
        self.icons_due = []
        feeds = dict(self.icon_tasks)
        tasks = set(feeds)  # those done already come back from the first wait, and are checked there
        end = asyncio.get_running_loop().time() + ICON_BUDGET
        while tasks and not self.cancel.is_set():
            left = end - asyncio.get_running_loop().time()
            if left <= 0:
                break
            done, tasks = await asyncio.wait(tasks, timeout=min(left, 0.05))
            for t in done:
                if not t.cancelled() and isinstance(t.exception(), LIBRARY_ERRORS):
                    raise t.exception()  # the library is in trouble (disk full...): the run ends
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if tasks and not self.cancel.is_set():
            # Cut short by the budget: looked for, as far as the next syncs go (else every sync would
            # spend the whole budget again on the same icons); looked for again in a day.
            ids = [feeds[t].id for t in tasks]
            await self.in_worker(lambda: self.store.record_icons_looked_for(ids, now=self.s.clock()))

    async def feed_icon(self, feed: Feed) -> None:
        """One feed's icon: never fails the feed, whatever goes wrong."""
        assert self.fetcher is not None and self.s.image_dir is not None
        now = self.s.clock()
        icon, site = self.icon_urls.get(feed.id, (None, None))
        try:
            got = await _extras.fetch_icon(self.fetcher, [icon, feed.icon_source], site or feed.site_url, feed.url,
                                           self.s.image_dir)
            path, source = got or (None, None)
            await self.in_worker(lambda: self.store.record_icon(feed.id, path, source, now=now))
        except LIBRARY_ERRORS:
            raise
        except Exception:  # noqa: BLE001 - an icon never costs a feed anything
            log.warning("the icon of %s failed", feed.url, exc_info=True)
