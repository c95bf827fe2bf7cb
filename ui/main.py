"""Start the desktop app: `tidings` with no arguments calls `main()`.

One window per library: the first launch listens on a local socket named after the data folder;
a second launch over the same folder asks it to come forward and exits 0, instead of opening the
same store twice.
"""

from __future__ import annotations

import hashlib
import logging
import logging.handlers
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def server_name(data_dir: Path) -> str:
    key = str(Path(data_dir).expanduser().resolve())
    user = os.environ.get("USER") or os.environ.get("USERNAME") or ""
    return "tidings-" + hashlib.sha1(f"{user}:{key}".encode()).hexdigest()[:20]


def ask_running_instance(name: str, timeout_ms: int = 500) -> bool:
    """True when a Tidings already serves this library (and was asked to come forward)."""
    from PySide6.QtNetwork import QLocalSocket

    sock = QLocalSocket()
    sock.connectToServer(name)
    if not sock.waitForConnected(timeout_ms):
        return False
    sock.write(b"raise\n")
    sock.flush()
    sock.waitForBytesWritten(timeout_ms)
    sock.waitForReadyRead(timeout_ms)  # the running one answers "ok"
    sock.disconnectFromServer()
    return True


def listen(name: str, on_raise):
    """Become the instance for this library; `on_raise()` runs when another launch knocks."""
    from PySide6.QtNetwork import QLocalServer

    server = QLocalServer()
    server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
    if not server.listen(name):
        QLocalServer.removeServer(name)  # a stale socket left by a crash
        if not server.listen(name):
            log.warning("single-instance server could not listen: %s", server.errorString())
            return server

    def on_connection():
        while server.hasPendingConnections():
            sock = server.nextPendingConnection()

            def read(sock=sock):
                data = bytes(sock.readAll()).strip()
                if data.startswith(b"raise"):
                    sock.write(b"ok\n")
                    sock.flush()
                    on_raise()

            sock.readyRead.connect(read)
            sock.disconnected.connect(sock.deleteLater)

    server.newConnection.connect(on_connection)
    return server


def setup_logging(data_dir: Path) -> logging.Handler | None:
    """Warnings and bugs (with tracebacks) to tidings.log in the data dir, unless the CLI already
    set up logging to that file (two rotating handlers on one file would fight)."""
    root = logging.getLogger()
    target = str((data_dir / "tidings.log").resolve())
    if any(getattr(h, "baseFilename", None) == target for h in root.handlers):
        return None
    try:
        handler = logging.handlers.RotatingFileHandler(target, maxBytes=2_000_000, backupCount=2, encoding="utf-8")
    except OSError:
        return None
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    return handler


def _quit_on_signals(app) -> dict:
    """SIGTERM/SIGINT quit cleanly (state saved, work cancelled) instead of killing the process.
    Returns the previous handlers, for main() to put back."""
    import signal

    from PySide6.QtCore import QTimer

    def handler(*_):
        app.quit()

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            previous[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):  # not the main thread, or not supported here
            return previous
    # Python runs signal handlers only between bytecodes: wake the interpreter now and then
    timer = QTimer(app)
    timer.timeout.connect(lambda: None)
    timer.start(300)
    previous["timer"] = timer
    return previous


def main(argv: list[str] | None = None, data_dir: str | os.PathLike | None = None) -> int:
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.core import default_data_dir

    argv = list(sys.argv if argv is None else argv) or ["tidings"]
    data = Path(data_dir).expanduser() if data_dir else default_data_dir()
    app = QApplication.instance() or QApplication(argv)
    try:
        data.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        QMessageBox.critical(None, "Tidings cannot open your library",
                             f"The folder {data} cannot be created ({e.strerror}).\n"
                             "Choose another one with --data-dir, or fix its permissions.")
        return 1
    log_handler = setup_logging(data)
    try:
        return _run(app, data, argv)
    finally:
        if log_handler is not None:
            logging.getLogger().removeHandler(log_handler)
            log_handler.close()


def _run(app, data: Path, argv: list[str]) -> int:
    """One window over the library at `data` (or a knock on the one already open)."""
    from PySide6.QtWidgets import QMessageBox

    from app.core import make_tidings
    from app.errors import TidingsError
    from ui.mainwindow import MainWindow, app_icon
    from ui.theme import apply_theme, load_stylesheet

    app.setApplicationName("Tidings")
    app.setApplicationDisplayName("Tidings")
    app.setDesktopFileName("tidings")
    app.setWindowIcon(app_icon())

    name = server_name(data)
    if ask_running_instance(name):
        print("Tidings is already running with this library; brought its window forward.", file=sys.stderr)
        return 0

    try:
        t = make_tidings(data)
    except TidingsError as e:
        QMessageBox.critical(None, "Tidings cannot open your library", e.explain())
        return 1
    except OSError as e:
        QMessageBox.critical(None, "Tidings cannot open your library",
                             f"{data} cannot be used ({e.strerror or e}).\n"
                             "Choose another folder with --data-dir, or fix its permissions.")
        return 1
    try:
        apply_theme(app, t.setting("theme") or "system")
        load_stylesheet(app)
        window = MainWindow(t)
        server = listen(name, window.bring_forward)
        app.aboutToQuit.connect(window.shutdown)
        previous = _quit_on_signals(app)
        window.show()
        try:
            rc = app.exec()
        finally:
            import signal

            for sig, old in previous.items():
                if sig == "timer":
                    old.stop()
                    old.deleteLater()
                elif old is not None:
                    signal.signal(sig, old)
        server.close()
        window.shutdown()  # also when the loop ended without a close (logout, app.exit)
        window.close()
        window.deleteLater()
        return rc
    finally:
        t.close()


if __name__ == "__main__":
    sys.exit(main())
