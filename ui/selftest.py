"""`tidings selftest`: prove an installation works end to end, headless, in a few seconds.

Steps (one line each on stdout; exit 0 only when every step passed):
  start      the version, platform and whether this is a frozen build
  modules    every module of app/ and ui/ imports (a frozen build may have lost one)
  resources  the bundled icons and prompt templates are there, and Qt can draw the SVG icon
  store      a new library in a temporary folder
  sync       subscribe to a feed served by a loopback HTTP server, sync it, read the articles back
  window     render the main window offscreen to a PNG (ui.screenshot.render_main_window)
  digest     write today's digest with the extractive fallback (no model needed)

Nothing outside the temporary folder and 127.0.0.1 is touched (TIDINGS_SELFTEST_KEEP=DIR keeps a
copy of the window's PNG in DIR). Used by the installers' smoke
tests (packaging/smoke_test.sh) and handy for a person whose install misbehaves.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import threading
import time
import traceback
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ARTICLES = [
    ("Harbour bridge reopens after two years of repairs",
     "The city's harbour bridge reopened to traffic on Monday after a two-year repair programme. "
     "Engineers replaced the deck and strengthened the towers, and officials said tolls will stay "
     "unchanged until the spring."),
    ("Library extends opening hours for exam season",
     "The central library will stay open until midnight during the exam season, its director "
     "announced. Extra study rooms can be booked online, and the café will serve late meals."),
    ("Local bakery wins national bread award",
     "A family bakery from the old town won the national bread award with a rye sourdough. "
     "The owners said the recipe came from a grandmother and takes three days to make."),
]


# Only the article pages say this, not the feed: finding it proves full-text extraction ran.
FULL_TEXT_MARK = "Reported by the self-test desk."


def _feed_xml(base: str) -> bytes:
    now = datetime.now(timezone.utc)
    items = []
    for i, (title, text) in enumerate(ARTICLES, 1):
        items.append(f"""
    <item>
      <title>{title}</title>
      <link>{base}/article/{i}</link>
      <guid isPermaLink="false">tidings-selftest-{i}</guid>
      <pubDate>{format_datetime(now - timedelta(minutes=10 * i))}</pubDate>
      <description>{text}</description>
    </item>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>Tidings Self-test News</title>
    <link>{base}/</link>
    <description>A feed served by tidings selftest on the loopback interface.</description>{"".join(items)}
  </channel>
</rss>
""".encode("utf-8")


def _article_html(i: int) -> bytes:
    title, text = ARTICLES[i - 1]
    paragraphs = "".join(f"<p>{s.strip().rstrip('.')}.</p>" for s in text.split(". ") if s.strip())
    paragraphs += f"<p>{FULL_TEXT_MARK} The full story continues on the site with quotes and photos.</p>"
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>"
            f"<header><nav>Home · News</nav></header><main><article><h1>{title}</h1>{paragraphs}"
            f"</article></main><footer>Self-test news</footer></body></html>").encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server API)
        base = f"http://{self.server.server_address[0]}:{self.server.server_address[1]}"
        if self.path == "/feed.xml":
            body, ctype = _feed_xml(base), "application/rss+xml; charset=utf-8"
        elif self.path.startswith("/article/") and self.path[9:].isdigit() and 1 <= int(self.path[9:]) <= len(ARTICLES):
            body, ctype = _article_html(int(self.path[9:])), "text/html; charset=utf-8"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep stdout to one line per step
        pass


class _Steps:
    def __init__(self):
        self.failures: list[str] = []
        self.passed: set[str] = set()

    def run(self, name: str, fn, requires: tuple[str, ...] = ()) -> object:
        missing = [r for r in requires if r not in self.passed]
        if missing:
            self.failures.append(name)
            print(f"selftest: [skip] {name}: needs {', '.join(missing)}", flush=True)
            return None
        started = time.perf_counter()
        try:
            detail, value = fn()
        except Exception as e:  # report every failure as a line, never a bare traceback
            self.failures.append(name)
            print(f"selftest: [FAIL] {name}: {type(e).__name__}: {e}", flush=True)
            if os.environ.get("TIDINGS_SELFTEST_TRACEBACK"):
                traceback.print_exc()
            return None
        ms = (time.perf_counter() - started) * 1000
        self.passed.add(name)
        print(f"selftest: [ok] {name} ({ms:.0f} ms): {detail}", flush=True)
        return value


class SelfTestError(Exception):
    pass


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise SelfTestError(message)


def _process_age() -> float | None:
    """Seconds since this process started (Linux only), to report time to first window."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        start = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - start
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def run() -> int:
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # The loopback server must be reached directly, whatever proxy the machine is configured with.
    for var in ("NO_PROXY", "no_proxy"):
        os.environ[var] = ",".join(filter(None, [os.environ.get(var), "127.0.0.1", "localhost"]))
    steps = _Steps()
    tmp = tempfile.TemporaryDirectory(prefix="tidings-selftest-")
    data_dir = Path(tmp.name) / "library"
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, name="selftest-http", daemon=True).start()
    feed_url = f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    state: dict = {}
    try:
        steps.run("start", lambda: _start())
        steps.run("modules", lambda: _modules())
        steps.run("resources", lambda: _resources())
        state["t"] = steps.run("store", lambda: _store(data_dir))
        steps.run("sync", lambda: _sync(state["t"], feed_url), requires=("store",))
        steps.run("window", lambda: _window(state["t"], Path(tmp.name) / "main-window.png"), requires=("store",))
        steps.run("digest", lambda: _digest(state["t"]), requires=("sync",))
    finally:
        server.shutdown()
        server.server_close()
        if state.get("t") is not None:
            try:
                state["t"].close()
            except Exception:  # noqa: BLE001 (closing must not hide the result)
                pass
        try:
            tmp.cleanup()
        except OSError:
            pass
    if steps.failures:
        print(f"selftest: FAILED: {', '.join(steps.failures)}", flush=True)
        return 1
    print("selftest: all steps passed", flush=True)
    return 0


def _start():
    from app import __version__

    frozen = "frozen" if getattr(sys, "frozen", False) else "from source"
    return (f"Tidings {__version__}, {frozen}, Python {platform.python_version()} on "
            f"{platform.system()} {platform.machine()}, QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM', '(default)')}"), None


def _modules():
    """Import every module of Tidings: a frozen build that lost one fails here, not in use."""
    import importlib
    import pkgutil

    import app
    import ui

    names = []
    for package in (app, ui):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(info.name)
            names.append(info.name)
    _check(len(names) > 10, f"only {len(names)} modules found: {names}")
    return f"{len(names)} modules of app and ui import", None


def _resources():
    from app.resources import resources_dir

    res = resources_dir()
    svg = res / "icons" / "tidings.svg"
    _check(svg.is_file(), f"{svg} is missing")
    prompts = sorted(p.name for p in (res / "prompts").glob("*")) if (res / "prompts").is_dir() else []
    _check(bool(prompts), f"no prompt templates in {res / 'prompts'}")
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    _check(renderer.isValid(), f"Qt cannot read {svg}")
    image = QImage(64, 64, QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    _check(image.pixelColor(32, 32).alpha() > 0, "the rendered icon is empty")
    return f"{res}: icons, {len(prompts)} prompt template(s), SVG renders", None


def _store(data_dir: Path):
    import app

    t = app.make_tidings(data_dir)
    return f"new library in {data_dir}", t


def _sync(t, feed_url: str):
    from app.models import ArticleQuery

    feed = t.add_feed(feed_url)
    # Parse in the parse process (a big sync does; one feed alone would use the thread): proves a
    # "spawn" child of this build starts and parses (a frozen app needs freeze_support for that).
    var = "TIDINGS_PARSE_PROCESS"
    saved = os.environ.get(var)
    os.environ[var] = saved or "always"
    try:
        report = t.sync()
    finally:
        if saved is None:
            os.environ.pop(var, None)
    failed = [f"{r.url}: {r.error}" for r in report.failed]
    _check(not failed, "feeds failed: " + "; ".join(failed))
    if os.environ.get(var, "always") == "always":
        _check(report.parsed_in_process == 1, "the feed was not parsed in the parse process")
    articles = t.articles(ArticleQuery())
    _check(len(articles) == len(ARTICLES), f"expected {len(ARTICLES)} articles, found {len(articles)}")
    titles = {a.title for a in articles}
    _check(titles == {title for title, _ in ARTICLES}, f"unexpected titles {sorted(titles)}")
    full = sum(FULL_TEXT_MARK in (a.text or "") for a in articles)
    _check(full > 0, "no article has the full text of its page (extraction failed)")
    return (f"feed {feed.title!r}: {report.new} new articles in {report.seconds:.2f} s "
            f"(parsed in the parse process: {report.parsed_in_process}), full text of {full} extracted"), None


def _window(t, png: Path):
    try:
        from ui.screenshot import render_main_window
    except ImportError as e:
        raise SelfTestError(f"ui.screenshot.render_main_window is not available ({e})") from e
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QApplication

    def quiet(mode, context, message):  # the offscreen platform's harmless chatter, nothing else
        if "propagateSizeHints" not in message:
            print(message, file=sys.stderr)

    qInstallMessageHandler(quiet)
    QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "tidings"])
    started = time.perf_counter()
    render_main_window(t, png, size=(1280, 800))
    ms = (time.perf_counter() - started) * 1000
    _check(png.is_file() and png.stat().st_size > 0, f"no PNG written at {png}")
    image = QImage(str(png))
    _check(not image.isNull(), f"{png} is not a readable image")
    _check((image.width(), image.height()) == (1280, 800), f"the PNG is {image.width()}x{image.height()}, not 1280x800")
    _check(len({image.pixel(x, y) for x in range(0, 1280, 64) for y in range(0, 800, 50)}) > 1,
           "the window rendered as one flat colour")
    keep = os.environ.get("TIDINGS_SELFTEST_KEEP")  # a folder to keep the screenshot in
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        (Path(keep) / png.name).write_bytes(png.read_bytes())
    age = _process_age()
    since = f", {age:.2f} s after the process started" if age is not None else ""
    return f"main window drawn offscreen in {ms:.0f} ms ({png.stat().st_size // 1024} KiB PNG{since})", None


def _digest(t):
    # the digest of the day the self-test's articles were published on (just after midnight that
    # is yesterday: a digest covers what was published on its day)
    newest = max(a.date for a in t.articles())
    d = t.digest(extractive=True, date=newest.astimezone().date())
    _check(bool(d.items), "the extractive digest has no items")
    cited = {i for item in d.items for i in item.article_ids}
    _check(bool(cited), "the digest cites no articles")
    return f"{len(d.items)} item(s) citing {len(cited)} article(s), headline {d.headline!r}", None


if __name__ == "__main__":
    sys.exit(run())
