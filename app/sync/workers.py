"""The sync's workers: the store thread, the parse thread and the parse process.

- Every store read/write of a sync runs in ONE store thread, and CPU work (parsing, page
  extraction) in ONE parse thread (both module-wide, FIFO, long-lived so each keeps its store
  connection): parsing overlaps downloads and SQLite work (lxml, expat, nh3 and sqlite3 release the
  GIL) without parsing many feeds at once (memory), and writes never contend with each other.
- A sync with many feed bodies to parse (PROCESS_MIN_BODIES or more in one run) parses them in ONE
  parse *process* (started on first need with "spawn", kept for later syncs): parsing plus the
  entries' plain text and hashes is most of a feed's CPU, and in one process the GIL serialises it
  with downloading and storing. Bytes go in, a ParsedFeed comes out. A dead or unusable process
  never costs a feed: the engine parses that feed in the thread and the process is restarted
  (after MAX_POOL_FAILURES in one app session, the thread does all parsing).
  TIDINGS_PARSE_PROCESS=always|never|auto (default auto) overrides the choice.
- `init` runs in the parse process at start: it ends the process when the app ends, however the
  app ends (a ProcessPoolExecutor worker waits on a pipe it holds both ends of, so it would never
  notice the app was killed).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor

from app.sync.parse import parse_feed

log = logging.getLogger(__name__)


def init() -> None:
    """The parse process's initializer: a daemon thread waits on the parent and exits with it."""
    parent = multiprocessing.parent_process()
    if parent is None:  # not a spawned child (called directly): nothing to watch
        return

    def watch() -> None:
        parent.join()  # returns when the parent process has ended
        os._exit(0)

    threading.Thread(target=watch, name="tidings-parse-watch-parent", daemon=True).start()


_worker_lock = threading.Lock()
_executors: dict[str, ThreadPoolExecutor] = {}


def worker(name: str = "store") -> ThreadPoolExecutor:
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
                                                     initializer=init)
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


parse_process = _ParseProcess()
