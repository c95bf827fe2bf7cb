"""A real HTTP server on 127.0.0.1 for tests: files, arbitrary routes, status codes, ETag /
Last-Modified / 304, gzip, redirects, slow / hanging / trickling / endless responses, Retry-After.

    from feedserver import FeedServer, feed_server, CORPUS   # feed_server is a pytest fixture

    def test_x(feed_server):
        feed_server.file("/a.xml", CORPUS / "manton.rss", etag=True, gzip=True)
        feed_server.route("/gone", status=410)
        feed_server.redirect("/old", "/a.xml", status=301)
        feed_server.route("/slow", body=b"...", delay=2)          # wait before the headers
        feed_server.route("/drip", body=b"x" * 1000, trickle=(10, 0.1))  # 10 bytes per 0.1 s
        feed_server.route("/forever", endless=b"<item>x</item>")  # never ends
        feed_server.route("/hang", hang=True)                     # accepts, never answers
        feed_server.route("/busy", status=503, retry_after="120")
        feed_server.route("/dyn", handler=lambda req: Reply(body=req.path.encode()))
        url = feed_server.url("/a.xml")
        feed_server.hits("/a.xml"); feed_server.requests[-1].headers["If-None-Match"]

Without pytest: `with FeedServer() as s: ...`. Handler threads are daemons and every wait in them
ends when the server stops, so a test never hangs on a hanging route.
"""

from __future__ import annotations

import gzip as _gzip
import hashlib
import mimetypes
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "feeds"

_TYPES = {".rss": "application/rss+xml", ".atom": "application/atom+xml", ".xml": "application/xml",
          ".json": "application/feed+json", ".html": "text/html; charset=utf-8"}


@dataclass
class Request:
    method: str
    path: str  # with the query string
    headers: dict[str, str]
    time: float


@dataclass
class Reply:
    """What a route answers. Every field is optional; see the module docstring."""

    status: int = 200
    body: bytes | str = b""
    content_type: str | None = "application/rss+xml"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | bool | None = None  # True: a hash of the body
    last_modified: str | bool | None = None  # True: a fixed date
    gzip: bool = False  # compress when the client accepts gzip
    location: str | None = None  # for redirects
    retry_after: str | None = None
    delay: float = 0.0  # seconds before the status line
    trickle: tuple[int, float] | None = None  # (bytes per step, seconds per step)
    endless: bytes | None = None  # after `body`, send this forever
    hang: bool = False  # never answer
    content_length: bool = True  # False: no Content-Length, close the connection at the end
    handler: Callable[[Request], "Reply"] | None = None  # computes the reply per request


class FeedServer:
    def __init__(self, root: str | Path | None = None, *, certfile: str | Path | None = None,
                 keyfile: str | Path | None = None):
        """root: serve files under it too. certfile/keyfile: speak HTTPS (e.g. a self-signed pair)."""
        self.root = Path(root) if root else None
        self.certfile, self.keyfile = certfile, keyfile
        self.routes: dict[str, Reply] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- set-up ---------------------------------------------------------------------------------

    def route(self, path: str, reply: Reply | None = None, **kw) -> Reply:
        r = reply or Reply(**kw)
        if isinstance(r.body, str):
            r.body = r.body.encode("utf-8")
        self.routes[path] = r
        return r

    def file(self, path: str, file: str | Path, **kw) -> Reply:
        file = Path(file)
        kw.setdefault("content_type", _TYPES.get(file.suffix, mimetypes.guess_type(file.name)[0] or "application/octet-stream"))
        return self.route(path, body=file.read_bytes(), **kw)

    def redirect(self, path: str, to: str, status: int = 301) -> Reply:
        return self.route(path, status=status, location=to, content_type=None)

    # --- inspection -----------------------------------------------------------------------------

    def url(self, path: str = "/") -> str:
        assert self._httpd is not None, "server not started"
        scheme = "https" if self.certfile else "http"
        return f"{scheme}://127.0.0.1:{self._httpd.server_address[1]}{path}"

    @property
    def base(self) -> str:
        return self.url("")

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.path == path)

    def last(self, path: str) -> Request | None:
        with self._lock:
            found = [r for r in self.requests if r.path == path]
        return found[-1] if found else None

    # --- life -----------------------------------------------------------------------------------

    def start(self) -> "FeedServer":
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        if self.certfile:
            import ssl

            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(self.certfile), str(self.keyfile) if self.keyfile else None)
            self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True, do_handshake_on_connect=False)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name="feedserver")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "FeedServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _sleep(self, seconds: float) -> bool:
        """Sleep; False if the server is stopping."""
        return not self._stop.wait(seconds)


class _Handler(BaseHTTPRequestHandler):
    owner: FeedServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_HEAD(self) -> None:
        self.do_GET(head=True)

    def do_GET(self, head: bool = False) -> None:  # noqa: C901 - a small interpreter of Reply
        srv = self.owner
        req = Request(self.command, self.path, dict(self.headers.items()), time.monotonic())
        with srv._lock:
            srv.requests.append(req)
        reply = srv.routes.get(self.path) or srv.routes.get(self.path.split("?")[0])
        if reply is None and srv.root is not None:
            f = (srv.root / self.path.split("?")[0].lstrip("/")).resolve()
            if f.is_file() and f.is_relative_to(srv.root.resolve()):
                reply = Reply(body=f.read_bytes(), content_type=_TYPES.get(f.suffix, "application/octet-stream"),
                              etag=True, last_modified=True)
        if reply is None:
            reply = Reply(status=404, body=b"not found", content_type="text/plain")
        while reply.handler is not None:
            reply = reply.handler(req)
            if isinstance(reply.body, str):
                reply.body = reply.body.encode("utf-8")
        if reply.hang:
            srv._stop.wait()
            self.close_connection = True
            return
        if reply.delay and not srv._sleep(reply.delay):
            self.close_connection = True
            return

        body = reply.body if isinstance(reply.body, bytes) else reply.body.encode()
        headers = dict(reply.headers)
        etag = reply.etag
        if etag is True:
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        last_modified = reply.last_modified
        if last_modified is True:
            last_modified = "Sat, 01 Nov 2025 10:00:00 GMT"
        status = reply.status
        if status == 200 and (etag or last_modified):
            inm = self.headers.get("If-None-Match")
            ims = self.headers.get("If-Modified-Since")
            if (etag and inm and inm == etag) or (not inm and last_modified and ims == last_modified):
                status, body = 304, b""
        if etag:
            headers["ETag"] = etag
        if last_modified:
            headers["Last-Modified"] = last_modified
        if reply.location:
            headers["Location"] = reply.location
        if reply.retry_after is not None:
            headers["Retry-After"] = reply.retry_after
        if reply.content_type and status != 304:
            headers.setdefault("Content-Type", reply.content_type)
        if reply.gzip and status == 200 and "gzip" in self.headers.get("Accept-Encoding", ""):
            body = _gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        endless = reply.endless is not None
        if endless or not reply.content_length:
            headers["Connection"] = "close"
            self.close_connection = True
        else:
            headers["Content-Length"] = str(len(body))

        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if head or status == 304:
            return
        try:
            if reply.trickle:
                step, pause = reply.trickle
                for i in range(0, len(body), step):
                    self.wfile.write(body[i : i + step])
                    self.wfile.flush()
                    if not srv._sleep(pause):
                        return
            else:
                self.wfile.write(body)
            if endless:
                chunk = reply.endless
                while not srv._stop.is_set():
                    self.wfile.write(chunk)
                    if reply.trickle and not srv._sleep(reply.trickle[1]):
                        return
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True


try:
    import pytest

    @pytest.fixture
    def feed_server():
        """A started FeedServer, stopped after the test."""
        with FeedServer() as server:
            yield server

except ImportError:  # used outside pytest (e.g. a benchmark)
    pass
