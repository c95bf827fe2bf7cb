"""A Google Reader API server on 127.0.0.1, in two flavours, written from the servers' own code:
FreshRSS `p/api/greader.php` and Miniflux `internal/googlereader/` (handler.go, middleware.go,
item.go and its README). No such server can be installed here (shared/NOTES.md), so the account
tests talk HTTP to this instead. What differs between the two, as their code does it:

                          FreshRSS ("freshrss")                    Miniflux ("miniflux")
    base address          https://host/api/greader.php             https://host
    ClientLogin refused   401 text "Unauthorized!"                 401 JSON {"error_message": ...}
    API switched off      503 "Service Unavailable!" (everything)  401 (the integration is off)
    GET auth              Authorization: GoogleLogin auth=...      the same, header only
    POST auth             the header, plus a T token (57 chars)    only T (= the auth token), header ignored
    stream/items/ids n    20 when not given                        unbounded when not given
    continuation          the last entry id sent                   a numeric offset
    stream/contents       GET, with continuation                   not offered: 200 [] (its catch-all)
    stream/items/contents GET or POST                              POST only
    edit-tag a / r        one tag each                             several (from the body only)
    state categories      user/-/state/com.google/read             user/1/state/com.google/read
    item content          summary.content                          content.content and summary.content
    unknown endpoint      400 Bad Request                          200 []

Both: `stream/items/ids` answers short decimal ids, `stream/items/contents` long hex ids, and both
take either form (long, bare 16 hex, decimal). subscription/edit: subscribe `s=feed/<url>`,
unsubscribe and edit `s=feed/<id>`, a folder as `a=user/-/label/<name>`.

    with GReaderStandin("miniflux") as gr:
        feed = gr.add_feed("https://example.org/a.xml", "A", folder="News")
        gr.add_entries(feed, 3)
        gr.url, gr.user, gr.password, gr.hits("edit-tag"), gr.entries[id].read
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

LONG = "tag:google.com,2005:reader/item/"


@dataclass
class Entry:
    id: int
    feed_id: int
    title: str
    link: str
    content: str
    published: int
    read: bool = False
    starred: bool = False


@dataclass
class StandinFeed:
    id: int
    url: str
    title: str
    folder: str | None


def parse_item_id(value: str) -> int:
    """Both servers' parseItemID: long form (hex), bare 16 hex, or decimal."""
    if value.startswith(LONG):
        return int(value[len(LONG):], 16)
    if len(value) == 16 and not value.isdigit():
        return int(value, 16)
    return int(value)


class GReaderStandin:
    def __init__(self, flavour: str = "freshrss", user: str = "reader", password: str = "api-pass-93b1"):
        assert flavour in ("freshrss", "miniflux")
        self.flavour = flavour
        self.user = user
        self.password = password
        self.api_enabled = True
        self.feeds: dict[int, StandinFeed] = {}
        self.entries: dict[int, Entry] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path without the base)
        self.fail_after: int | None = None  # answer nothing (drop the connection) after this many requests
        self._next_feed = 1
        self._next_entry = 1
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> "GReaderStandin":
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                standin._handle(self, "GET")

            def do_POST(self):
                standin._handle(self, "POST")

            def log_message(self, *a):
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.handle_error = lambda request, address: None  # a client that hung up (fail_after)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def base(self) -> str:
        return "/api/greader.php" if self.flavour == "freshrss" else ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{self.base}"

    # --- what tests do ------------------------------------------------------------------------

    def add_feed(self, url: str, title: str, folder: str | None = None) -> int:
        with self._lock:
            fid = self._next_feed
            self._next_feed += 1
            self.feeds[fid] = StandinFeed(fid, url, title, folder)
            return fid

    def add_entries(self, feed_id: int, n: int, *, read: bool = False, start_id: int | None = None) -> list[int]:
        ids = []
        with self._lock:
            if start_id is not None:
                self._next_entry = max(self._next_entry, start_id)
            now = int(time.time())
            for i in range(n):
                eid = self._next_entry
                self._next_entry += 1
                self.entries[eid] = Entry(eid, feed_id, f"Item {eid}", f"https://example.org/{feed_id}/{eid}",
                                          f"<p>Text of item {eid}.</p>", now - (n - i), read=read)
                ids.append(eid)
        return ids

    def hits(self, endpoint: str) -> int:
        return sum(1 for _, p in self.requests if p.endswith(endpoint))

    # --- the protocol -------------------------------------------------------------------------

    def _auth_token(self) -> str:
        digest = hashlib.sha1((self.user + self.password).encode()).hexdigest()
        return f"{self.user}/{digest}"

    def _edit_token(self) -> str:
        if self.flavour == "freshrss":  # sha1(...) padded with Z to 57 characters
            return hashlib.sha1(("salt" + self.user + self.password).encode()).hexdigest().ljust(57, "Z")
        return self._auth_token()  # Miniflux: the edit token is the auth token

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        path = unquote(parts.path)
        query = parse_qsl(parts.query, keep_blank_values=True)
        body = b""
        if method == "POST":
            body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        form = query + (parse_qsl(body.decode(), keep_blank_values=True) if method == "POST" else [])
        body_form = parse_qsl(body.decode(), keep_blank_values=True) if method == "POST" else []
        if not path.startswith(self.base + "/"):
            return self._reply(h, 404, "Not found", "text/plain")
        sub = path[len(self.base):]
        with self._lock:
            self.requests.append((method, sub))
            n = len(self.requests)
        if self.fail_after is not None and n > self.fail_after:
            h.close_connection = True  # the server went away mid-sync
            h.connection.close()
            return
        try:
            status, payload, ctype = self._route(h, method, sub, form, body_form)
        except _Reply as r:
            status, payload, ctype = r.status, r.payload, r.ctype
        self._reply(h, status, payload, ctype)

    def _reply(self, h, status: int, payload, ctype: str) -> None:
        data = payload if isinstance(payload, bytes) else (
            json.dumps(payload).encode() if ctype.startswith("application/json") else str(payload).encode())
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        if status == 401:
            h.send_header("Google-Bad-Token" if self.flavour == "freshrss" else "X-Reader-Google-Bad-Token", "true")
        h.end_headers()
        h.wfile.write(data)

    def _unauthorized(self, login: bool = False):
        if self.flavour == "miniflux" and login:
            raise _Reply(401, {"error_message": "access unauthorized"}, "application/json")
        raise _Reply(401, "Unauthorized!" if self.flavour == "freshrss" else "Unauthorized", "text/plain")

    def _bad(self):
        raise _Reply(400, "Bad Request!", "text/plain")

    def _route(self, h, method, sub, form, body_form):
        get = {k: v for k, v in form}
        multi = lambda name, src=form: [v for k, v in src if k == name]  # noqa: E731
        if self.flavour == "freshrss" and not self.api_enabled:
            raise _Reply(503, "Service Unavailable!", "text/plain")
        if sub == "/accounts/ClientLogin":
            if self.flavour == "miniflux" and method != "POST":
                raise _Reply(405, "", "text/plain")
            if not self.api_enabled or get.get("Email") != self.user or get.get("Passwd") != self.password:
                self._unauthorized(login=True)
            tok = self._auth_token()
            if self.flavour == "miniflux" and get.get("output") == "json":
                return 200, {"SID": tok, "LSID": tok, "Auth": tok}, "application/json"
            return 200, f"SID={tok}\nLSID={'null' if self.flavour == 'freshrss' else tok}\nAuth={tok}\n", "text/plain"
        if not sub.startswith("/reader/api/0/"):
            return self._unknown()
        self._authenticate(h, method, get)
        op = sub[len("/reader/api/0/"):]
        if op == "token":
            return 200, self._edit_token() + "\n", "text/plain"
        if op == "subscription/list":
            self._need_json(get)
            subs = [{"id": f"feed/{f.id}", "title": f.title, "url": f.url, "htmlUrl": "https://example.org/",
                     "categories": [{"id": f"user/-/label/{f.folder}", "label": f.folder}] if f.folder else []}
                    for f in self.feeds.values()]
            return 200, {"subscriptions": subs}, "application/json"
        if op == "stream/items/ids":
            self._need_json(get)
            ids = [e.id for e in self._stream(get.get("s", ""), multi("xt"), get.get("ot"))]
            page, cont = self._page(ids, get)
            out = {"itemRefs": [{"id": str(i)} for i in page]}
            if cont is not None:
                out["continuation"] = cont
            return 200, out, "application/json"
        if op.startswith("stream/contents"):
            if self.flavour == "miniflux":
                return self._unknown()
            stream = op[len("stream/contents/"):] or "user/-/state/com.google/reading-list"
            entries = self._stream(stream, multi("xt"), get.get("ot"))
            page, cont = self._page([e.id for e in entries], get)
            out = {"id": "user/-/state/com.google/reading-list", "updated": int(time.time()),
                   "items": [self._item(self.entries[i]) for i in page]}
            if cont is not None:
                out["continuation"] = cont
            return 200, out, "application/json"
        if op == "stream/items/contents":
            if self.flavour == "miniflux" and method != "POST":
                return self._unknown()
            try:
                ids = [parse_item_id(v) for v in multi("i")]
            except ValueError:
                self._bad()
            items = [self._item(self.entries[i]) for i in sorted(ids, reverse=True) if i in self.entries]
            return 200, {"id": "user/-/state/com.google/reading-list", "items": items}, "application/json"
        if op == "edit-tag" and method == "POST":
            try:
                ids = [parse_item_id(v) for v in multi("i")]
            except ValueError:
                self._bad()
            src = body_form if self.flavour == "miniflux" else form
            add, remove = multi("a", src), multi("r", src)
            if self.flavour == "freshrss":  # $_POST['a'] / $_POST['r']: one value each, the last one
                add, remove = add[-1:], remove[-1:]
            for tag, value in [(t, True) for t in add] + [(t, False) for t in remove]:
                for i in ids:
                    e = self.entries.get(i)
                    if e is None:
                        continue
                    if tag.endswith("/state/com.google/read"):
                        e.read = value
                    elif tag.endswith("/state/com.google/starred"):
                        e.starred = value
            return 200, "OK", "text/plain"
        if op == "subscription/edit" and method == "POST":
            return self._subscription_edit(get.get("ac"), multi("s"), get.get("a", ""))
        return self._unknown()

    def _unknown(self):
        if self.flavour == "miniflux":
            return 200, [], "application/json"
        self._bad()

    def _need_json(self, get):
        if self.flavour == "miniflux" and get.get("output") != "json":
            self._bad()

    def _authenticate(self, h, method, get):
        header = h.headers.get("Authorization", "")
        header_ok = header == f"GoogleLogin auth={self._auth_token()}"
        if self.flavour == "miniflux":
            if not self.api_enabled:
                self._unauthorized()
            ok = get.get("T") == self._auth_token() if method == "POST" else header_ok
        else:
            ok = header_ok
            if ok and method == "POST" and get.get("T", "") not in ("", "x", self._edit_token()):
                ok = False
        if not ok:
            self._unauthorized()

    def _stream(self, stream: str, exclude: list[str], ot: str | None) -> list[Entry]:
        if stream.endswith("/state/com.google/starred"):
            entries = [e for e in self.entries.values() if e.starred]
        elif stream.endswith("/state/com.google/reading-list"):
            entries = list(self.entries.values())
        elif stream.startswith("feed/"):
            entries = [e for e in self.entries.values() if str(e.feed_id) == stream[5:]]
        else:
            self._bad()
        if any(x.endswith("/state/com.google/read") for x in exclude):
            entries = [e for e in entries if not e.read]
        if ot:
            entries = [e for e in entries if e.published >= int(ot)]
        return sorted(entries, key=lambda e: e.id, reverse=True)

    def _page(self, ids: list[int], get: dict) -> tuple[list[int], str | None]:
        default = 20 if self.flavour == "freshrss" else len(ids) or 1
        n = int(get.get("n") or default)
        c = get.get("c") or ""
        if self.flavour == "freshrss":  # continuation: the last id sent; the next page starts after it
            start = ids.index(int(c)) + 1 if c.isdigit() and int(c) in ids else 0
        else:  # an offset
            start = int(c) if c.isdigit() else 0
        page = ids[start:start + n]
        more = start + n < len(ids)
        if not more:
            return page, None
        return page, (str(page[-1]) if self.flavour == "freshrss" else str(start + n))

    def _item(self, e: Entry) -> dict:
        state = "user/-/state/com.google/" if self.flavour == "freshrss" else "user/1/state/com.google/"
        cats = [state + "reading-list"]
        f = self.feeds.get(e.feed_id)
        if f and f.folder:
            cats.append(f"user/-/label/{f.folder}")
        if e.read:
            cats.append(state + "read")
        if e.starred:
            cats.append(state + "starred")
        item = {"id": LONG + format(e.id, "016x"), "title": e.title, "published": e.published,
                "crawlTimeMsec": str(e.published * 1000), "categories": cats,
                "alternate": [{"href": e.link}], "origin": {"streamId": f"feed/{e.feed_id}", "title": f.title if f else ""},
                "summary": {"content": e.content}, "author": "Ann Author"}
        if self.flavour == "miniflux":
            item["content"] = {"direction": "ltr", "content": e.content}
            item["canonical"] = [{"href": e.link}]
        return item

    def _subscription_edit(self, action, streams, add):
        folder = add[len("user/-/label/"):] if add.startswith("user/-/label/") else None
        if action not in ("subscribe", "unsubscribe", "edit") or not streams:
            self._bad()
        s = streams[0][5:] if streams[0].startswith("feed/") else None
        if s is None:
            self._bad()
        if action == "subscribe":
            if s.isdigit():
                self._bad()
            if not any(f.url == s for f in self.feeds.values()):
                self.add_feed(s, s, folder)
            return 200, "OK", "text/plain"
        if not s.isdigit() or int(s) not in self.feeds:
            self._bad()
        if action == "unsubscribe":
            del self.feeds[int(s)]
            for eid in [e.id for e in self.entries.values() if e.feed_id == int(s)]:
                del self.entries[eid]
        elif folder is not None:
            self.feeds[int(s)].folder = folder
        return 200, "OK", "text/plain"


class _Reply(Exception):
    def __init__(self, status, payload, ctype):
        self.status, self.payload, self.ctype = status, payload, ctype
