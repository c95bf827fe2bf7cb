"""The one background helper: run work off the GUI thread, get results back on it.

    tasks = Tasks(parent)
    tasks.run(lambda: t.article_ids(q), on_done=model.set_ids, context="loading articles")
    tasks.run(lambda task: t.sync(on_progress=task.progress, cancel=task.cancel),
              on_done=..., on_progress=..., pass_task=True, context="syncing")

Work runs on a QThreadPool (reads, in parallel) or on a one-thread pool (`serial=True`: writes,
in the order they were asked for, so a quick "read, unread" never lands reversed). The callable
must not touch widgets. Results, progress and errors are re-emitted through signals of a QObject
that lives on the GUI thread, so every callback runs on the GUI thread (the Anki QueryOp / Picard
`run_task` + `to_main` shape).

Errors: a `TidingsError` goes to `on_error` if given (return True to say "handled"), else to the
window's message bar with its hint; anything else is a bug: logged with the context and shown as
"Something went wrong".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Qt, Signal, Slot

from app.errors import TidingsError

log = logging.getLogger(__name__)


class Task:
    """A piece of background work. Plain Python (no QObject), so a worker may hold it safely."""

    def __init__(self, tasks: "Tasks", context: str):
        self._tasks = tasks
        self.context = context
        self.cancel = threading.Event()

    def progress(self, *args) -> None:
        """Call from the worker: the task's on_progress runs with `args` on the GUI thread."""
        self._tasks._progress.emit((self, args))

    def cancelled(self) -> bool:
        return self.cancel.is_set()


class Tasks(QObject):
    #: (message, hint, is_bug) for errors nobody handled; the main window shows them
    error = Signal(str, str, bool)

    _finished = Signal(object)  # (task, ok, value)
    _progress = Signal(object)  # (task, args)

    def __init__(self, parent: QObject | None = None, max_threads: int = 3):
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._serial = QThreadPool(self)
        self._serial.setMaxThreadCount(1)
        self._callbacks: dict[Task, tuple] = {}
        self._lock = threading.Lock()
        self._finished.connect(self._on_finished, Qt.ConnectionType.QueuedConnection)
        self._progress.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)

    # --- API ---------------------------------------------------------------------------------------

    def run(self, fn: Callable, on_done: Callable[[Any], None] | None = None,
            on_error: Callable[[BaseException], bool | None] | None = None,
            on_progress: Callable | None = None, *, context: str = "working",
            serial: bool = False, pass_task: bool = False) -> Task:
        task = Task(self, context)
        self._callbacks[task] = (on_done, on_error, on_progress)

        def work() -> None:
            try:
                value = fn(task) if pass_task else fn()
            except BaseException as e:  # noqa: BLE001 - handed to the GUI thread
                self._finished.emit((task, False, e))
            else:
                self._finished.emit((task, True, value))

        (self._serial if serial else self._pool).start(work)
        return task

    @property
    def active(self) -> int:
        return len(self._callbacks)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Process events until no task is running (screenshots, tests, shutdown)."""
        from PySide6.QtCore import QCoreApplication, QEventLoop

        deadline = time.monotonic() + timeout
        while self._callbacks and time.monotonic() < deadline:
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.002)
        QCoreApplication.processEvents()
        return not self._callbacks

    def shutdown(self, timeout_ms: int = 3000) -> None:
        """Ask every task to stop and wait a little for the workers."""
        for task in list(self._callbacks):
            task.cancel.set()
        self._pool.waitForDone(timeout_ms)
        self._serial.waitForDone(timeout_ms)

    # --- GUI-thread side -------------------------------------------------------------------------

    @Slot(object)
    def _on_finished(self, payload) -> None:
        task, ok, value = payload
        on_done, on_error, _ = self._callbacks.pop(task, (None, None, None))
        if ok:
            if on_done is not None:
                try:
                    on_done(value)
                except Exception as e:  # a bug in a GUI callback: report, do not crash the loop
                    self.report(e, task.context)
            return
        if on_error is not None:
            try:
                if on_error(value):
                    return
            except Exception as e:
                self.report(e, task.context)
                return
        self.report(value, task.context)

    @Slot(object)
    def _on_progress(self, payload) -> None:
        task, args = payload
        cb = self._callbacks.get(task, (None, None, None))[2]
        if cb is not None:
            try:
                cb(*args)
            except Exception as e:
                self.report(e, task.context)

    def report(self, e: BaseException, context: str) -> None:
        """Plain words for errors a person can act on; log and apologise for bugs."""
        if isinstance(e, TidingsError):
            log.info("%s: %s", context, e)
            self.error.emit(str(e), e.hint or "", False)
        else:
            log.error("Unexpected error while %s", context, exc_info=(type(e), e, e.__traceback__))
            self.error.emit(f"Something went wrong while {context}.",
                            "Nothing you saved was lost. Details are in the log (tidings.log in the data folder).",
                            True)
