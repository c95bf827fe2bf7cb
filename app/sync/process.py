"""A sync in a process of its own, for the desktop window (issue 12).

In the window's process a sync's event loop, store thread and parse-process hand-off hold the GIL
a good part of the time; every call the window's painting makes into Python then waits for it (on
a 5,000-feed sync: stalls of 50-150 ms in its last seconds). Run here instead, the window's process
only receives each finished feed's result (a small pickle) and the report.

- `run(store_path, image_dir, feed_ids, on_progress=, cancel=)` blocks the calling (worker) thread
  like `Syncer.run` and returns its SyncReport. The child opens the same library file (SQLite in
  WAL mode: one writer at a time, readers never blocked), runs `Syncer.run` with the defaults the
  facade uses, and ends with the run. Its own parse process works as in any sync.
- Cancel: the caller's threading.Event is relayed to the child, which stops as `Syncer.run` does.
- Failure boundary: what ends a run in-process (the library full, locked, damaged) is raised here
  as the same typed error; a child that dies or cannot start raises SyncProcessFailed, and the
  facade then runs the sync in its own process (nothing was lost: each feed's write is one
  transaction).
- TIDINGS_SYNC_PROCESS=never|auto (default auto) lets tests and debugging keep the sync in-process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue as _queue
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from app import errors as _errors

log = logging.getLogger(__name__)

SYNC_PROCESS_ENV = "TIDINGS_SYNC_PROCESS"
MIN_FEEDS = 50  # fewer feeds sync in the calling process: starting a process costs ~0.5 s


class SyncProcessFailed(RuntimeError):
    """The sync process could not start or died: the caller syncs in its own process instead."""


def wanted(n_feeds: int) -> bool:
    """Should a sync of `n_feeds` feeds run in its own process?"""
    mode = os.environ.get(SYNC_PROCESS_ENV, "auto").strip().lower()
    return mode != "never" and n_feeds >= MIN_FEEDS


def _child(store_path: str, image_dir: str | None, feed_ids: list[int] | None, out, cancel) -> None:
    """The sync process: one Syncer run over the library at `store_path`; results go to `out`."""
    from app.store import Store
    from app.sync.engine import Syncer

    parent = multiprocessing.parent_process()
    if parent is not None:  # the app ended (however: even killed): stop as a cancelled sync does
        threading.Thread(target=lambda: (parent.join(), cancel.set()), name="tidings-sync-watch-parent",
                         daemon=True).start()
    try:
        store = Store(Path(store_path))
        try:
            syncer = Syncer(store, image_dir=image_dir)
            report = syncer.run(feed_ids, on_progress=lambda r, done, total: out.put(("progress", r, done, total)),
                                cancel=cancel)
        finally:
            store.close()
            from app.sync.workers import parse_process

            parse_process.shutdown()  # else this process's exit waits on its pool's worker
        out.put(("done", report))
    except _errors.TidingsError as e:  # the library itself (full, locked, damaged): the caller raises it
        out.put(("error", type(e).__name__, str(e), getattr(e, "hint", None)))
    except BaseException as e:  # noqa: BLE001 - a bug: said in the caller's log, then synced there
        log.exception("the sync process failed")
        out.put(("crash", f"{type(e).__name__}: {e}"))


def run(store_path: Path, image_dir: Path | None, feed_ids: Sequence[int] | None, *,
        on_progress: Callable | None = None, cancel: threading.Event | None = None):
    ctx = multiprocessing.get_context("spawn")  # never fork a process that may have Qt's threads
    out = ctx.Queue()
    stop = ctx.Event()
    try:
        proc = ctx.Process(target=_child, name="tidings-sync",
                           args=(str(store_path), str(image_dir) if image_dir else None,
                                 list(feed_ids) if feed_ids is not None else None, out, stop))
        # (not a daemon: a daemonic process may not start the parse process its sync uses)
        proc.start()
    except Exception as e:  # noqa: BLE001 - no processes here (a sandbox): sync in the caller's process
        raise SyncProcessFailed(f"could not start the sync process ({type(e).__name__}: {e})") from e
    try:
        while True:
            if cancel is not None and cancel.is_set() and not stop.is_set():
                stop.set()
            try:
                msg = out.get(timeout=0.1)
            except _queue.Empty:
                if not proc.is_alive():
                    try:  # it may have put its last message just before it ended
                        msg = out.get(timeout=0.5)
                    except _queue.Empty:
                        raise SyncProcessFailed(f"the sync process ended (exit code {proc.exitcode})") from None
                else:
                    continue
            kind = msg[0]
            if kind == "progress":
                if on_progress is not None:
                    on_progress(*msg[1:])
            elif kind == "done":
                return msg[1]
            elif kind == "error":
                _, name, text, hint = msg
                cls = getattr(_errors, name, None)
                if not (isinstance(cls, type) and issubclass(cls, _errors.TidingsError)):
                    cls = _errors.TidingsError
                raise cls(text, hint or None)
            else:
                raise SyncProcessFailed(msg[1])
    finally:
        stop.set()
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=5)
        out.close()
        out.join_thread()
