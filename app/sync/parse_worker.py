"""Start-up of the parse process (app.sync.engine): it ends when the app does, however the app ends.

A ProcessPoolExecutor worker waits on its task queue, whose pipe it holds both ends of, so it never
sees the app go away: an app killed (SIGKILL, a crash, the OOM killer) would leave it running for
ever. A daemon thread here waits on the parent's sentinel and exits the worker when it fires.
Imports nothing heavy: the worker's first parse imports the parsers.
"""

from __future__ import annotations

import multiprocessing
import os
import threading


def init() -> None:
    parent = multiprocessing.parent_process()
    if parent is None:  # not a spawned child (called directly): nothing to watch
        return

    def watch() -> None:
        parent.join()  # returns when the parent process has ended
        os._exit(0)

    threading.Thread(target=watch, name="tidings-parse-watch-parent", daemon=True).start()
