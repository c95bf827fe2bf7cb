"""The Google Reader API as FreshRSS, Miniflux, Inoreader, The Old Reader and BazQux speak it.

The server address is the API's base: FreshRSS `https://host/api/greader.php`, Miniflux
`https://host` (its root URL). Login: `POST accounts/ClientLogin` (Email, Passwd) → `Auth=...`;
then every GET carries `Authorization: GoogleLogin auth=...` and every POST also a `T` edit token
from `reader/api/0/token` (Miniflux reads POST auth only from `T`; FreshRSS checks both).

Where the servers differ (read from FreshRSS `p/api/greader.php`, Miniflux `internal/googlereader`):
- item ids: `stream/items/ids` gives the short decimal form, `stream/items/contents` the long form
  `tag:google.com,2005:reader/item/<16 hex digits>`; both accept either. The store keeps the long form.
- `continuation`: FreshRSS an entry id, Miniflux a numeric offset: passed back as given, never parsed.
- `n`: FreshRSS defaults to 20 items, Miniflux to all: always sent.
- `stream/items/contents` is POST-only on Miniflux (FreshRSS takes both): POST.
- `edit-tag`: FreshRSS reads one `a` / `r`, Miniflux many (from the body only): one tag per request.
- a switched-off API: FreshRSS answers 503 "Service Unavailable!", Miniflux 401; a wrong password
  401 on both (Miniflux with a JSON body, FreshRSS plain text).
- unknown endpoints: Miniflux 200 `[]`, FreshRSS 400: a reply of the wrong shape is ServerRefused.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from urllib.parse import urlencode

from app.accounts.base import AccountClient
from app.errors import ApiDisabled, ChangeRefused, ServerRefused, ServerUnreachable, WrongPassword
from app.models import RemoteFeed, RemoteItem

LONG = "tag:google.com,2005:reader/item/"
READING_LIST = "user/-/state/com.google/reading-list"
READ = "user/-/state/com.google/read"
STARRED = "user/-/state/com.google/starred"
IDS_PAGE = 10000
CONTENTS_PAGE = 500
BULK = 1000  # this many items or more: stream the unread list with stream/contents instead of asking by id


def long_id(remote_id: str) -> str:
    """Any item id form (long, short-prefixed hex, bare 16 hex, decimal) as the long form."""
    s = str(remote_id).strip()
    if s.startswith(LONG):
        return LONG + s[len(LONG):].rjust(16, "0").lower()
    if len(s) == 16 and all(c in "0123456789abcdefABCDEF" for c in s) and not s.isdigit():
        return LONG + s.lower()
    return LONG + format(int(s), "016x")


class GReaderClient(AccountClient):
    kind = "greader"
    label = "Google Reader API (FreshRSS, Miniflux, Inoreader, …)"
    batch = 250

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self._auth: str | None = None
        self._token: str | None = None
        self._has_stream_contents = True

    def normalise_id(self, remote_id: str) -> str:
        return long_id(remote_id)

    # --- HTTP -----------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.server}/{path.lstrip('/')}"

    def _check(self, resp, what: str):
        if resp.status_code == 401:
            raise WrongPassword(f"{self.server} refused the user name or password for {self.username}.",
                                "Check them; FreshRSS and Miniflux want the API password set in their settings, "
                                "not the web one.")
        if resp.status_code == 404:
            raise ServerRefused(f"There is no Google Reader API at {self.server} (HTTP 404 for {what}).")
        if resp.status_code >= 400:
            raise ServerRefused(f"{self.server} refused {what} (HTTP {resp.status_code}).")
        return resp

    def _send(self, method, url, **kw):
        try:
            return super()._send(method, url, **kw)
        except ServerUnreachable as e:
            if "HTTP 503" in str(e) and self._auth is None and "ClientLogin" in url:
                raise ApiDisabled(f"The Google Reader API is switched off on {self.server} (HTTP 503).") from None
            raise

    def _get(self, path: str, **params):
        headers = {"Authorization": f"GoogleLogin auth={self._auth}"} if self._auth else {}
        resp = self._check(self._send("GET", self._url(path), params={"output": "json", **params}, headers=headers),
                           path)
        data = self._json(resp)
        if isinstance(data, list):  # Miniflux's answer to an endpoint it does not have
            raise ServerRefused(f"{self.server} does not offer {path}.")
        return data

    def _post(self, path: str, data: list[tuple[str, str]], *, want_json: bool = False, what: str = "the change"):
        if self._token is None:
            self._token = self._check(self._send("GET", self._url("reader/api/0/token"),
                                                 headers={"Authorization": f"GoogleLogin auth={self._auth}"}),
                                      "the edit token").text.strip()
        resp = self._send("POST", self._url(path), params={"output": "json"} if want_json else None,
                          content=urlencode([*data, ("T", self._token)]),  # repeated i / a: a list, not a dict
                          headers={"Authorization": f"GoogleLogin auth={self._auth}",
                                   "Content-Type": "application/x-www-form-urlencoded"})
        if resp.status_code == 400 and not want_json:
            raise ChangeRefused(f"{self.server} refused {what} (HTTP 400): the feed or article may be gone there.")
        self._check(resp, path)
        return self._json(resp) if want_json else resp.text

    # --- the interface -----------------------------------------------------------------------------

    def login(self) -> None:
        self._auth = self._token = None
        resp = self._send("POST", self._url("accounts/ClientLogin"),
                          data={"Email": self.username, "Passwd": self._password})
        if resp.status_code in (401, 403):
            raise WrongPassword(f"{self.server} refused the user name or password for {self.username}.",
                                WrongPassword.hint + " FreshRSS and Miniflux want the API password from their "
                                "settings, not the web one.")
        self._check(resp, "the login")
        for line in resp.text.splitlines():
            if line.startswith("Auth="):
                self._auth = line[5:].strip()
        if not self._auth:
            try:
                self._auth = (resp.json() or {}).get("Auth")
            except ValueError:
                pass
        if not self._auth:
            raise ServerRefused(f"{self.server} answered the login without a token: is it a Google Reader API address?")

    def feeds(self) -> list[RemoteFeed]:
        out = []
        for s in self._get("reader/api/0/subscription/list").get("subscriptions", []):
            folder = next((c.get("label") or c.get("id", "").rsplit("/label/", 1)[-1]
                           for c in s.get("categories") or [] if "/label/" in c.get("id", "")), None)
            out.append(RemoteFeed(s["id"], s.get("url") or s["id"].removeprefix("feed/"), s.get("title") or "",
                                  s.get("htmlUrl") or None, folder))
        return out

    def _ids(self, stream: str, **params) -> set[str]:
        ids: set[str] = set()
        cont = None
        while True:
            extra = {"c": cont} if cont else {}
            data = self._get("reader/api/0/stream/items/ids", s=stream, n=IDS_PAGE, **params, **extra)
            ids.update(long_id(r["id"]) for r in data.get("itemRefs") or [])
            cont = data.get("continuation")
            if not cont or not data.get("itemRefs"):
                return ids
            if self.on_listing is not None:
                self.on_listing(len(ids))

    def unread_ids(self) -> set[str]:
        return self._ids(READING_LIST, xt=READ)

    def starred_ids(self) -> set[str]:
        return self._ids(STARRED)

    def new_ids(self, state: dict) -> tuple[set[str], dict]:
        now = int(datetime.now(timezone.utc).timestamp())
        since = state.get("since")
        if not since:
            return set(), {"since": now}
        # an hour's overlap: servers date items by publication or by crawl (FreshRSS, Miniflux differ)
        return self._ids(READING_LIST, ot=int(since) - 3600), {"since": now}

    def items(self, ids: Sequence[str]) -> Iterator[list[RemoteItem]]:
        wanted = {long_id(i) for i in ids}
        if len(wanted) >= BULK and self._has_stream_contents:  # a first sync: the unread list in pages
            cont = None
            while wanted:
                extra = {"c": cont} if cont else {}
                try:
                    data = self._get(f"reader/api/0/stream/contents/{READING_LIST}", xt=READ, n=CONTENTS_PAGE,
                                     **extra)
                except ServerRefused:  # Miniflux has no stream/contents: ask by id below
                    self._has_stream_contents = False
                    break
                page = [it for it in map(self._item, data.get("items") or []) if it.remote_id in wanted]
                wanted -= {it.remote_id for it in page}
                if page:
                    yield page
                cont = data.get("continuation")
                if not cont or not data.get("items"):
                    break
        rest = sorted(wanted)
        for start in range(0, len(rest), self.batch):
            chunk = rest[start:start + self.batch]
            data = self._post("reader/api/0/stream/items/contents", [("i", i) for i in chunk], want_json=True)
            yield [self._item(x) for x in data.get("items") or []]

    def _item(self, x: dict) -> RemoteItem:
        cats = set(x.get("categories") or [])
        link = next((a.get("href") for a in (x.get("canonical") or []) + (x.get("alternate") or []) if a.get("href")), None)
        body = (x.get("content") or {}).get("content") or (x.get("summary") or {}).get("content") or ""
        published = x.get("published")
        return RemoteItem(
            long_id(x["id"]), (x.get("origin") or {}).get("streamId", ""), link, x.get("title") or "",
            x.get("author") or "", datetime.fromtimestamp(int(published), timezone.utc) if published else None, body,
            any(c.endswith("/state/com.google/read") for c in cats),
            any(c.endswith("/state/com.google/starred") for c in cats))

    def _edit_tag(self, ids: Sequence[str], tag: str, add: bool) -> None:
        ids = list(ids)
        for start in range(0, len(ids), self.batch):
            chunk = ids[start:start + self.batch]
            self._post("reader/api/0/edit-tag", [("i", i) for i in chunk] + [("a" if add else "r", tag)],
                       what={(READ, True): "to mark articles read", (READ, False): "to mark articles unread",
                             (STARRED, True): "to star articles", (STARRED, False): "to unstar articles"}[(tag, add)])

    def set_read(self, ids: Sequence[str], read: bool) -> None:
        self._edit_tag(ids, READ, read)

    def set_starred(self, ids: Sequence[str], starred: bool) -> None:
        self._edit_tag(ids, STARRED, starred)

    def subscribe(self, url: str, folder: str | None) -> str | None:
        data = [("ac", "subscribe"), ("s", "feed/" + url)]
        if folder:
            data.append(("a", "user/-/label/" + folder))
        self._post("reader/api/0/subscription/edit", data, what=f"to subscribe to {url}")
        return None

    def unsubscribe(self, remote_id: str) -> None:
        self._post("reader/api/0/subscription/edit", [("ac", "unsubscribe"), ("s", remote_id)],
                   what="to unsubscribe")

    def move(self, remote_id: str, folder: str | None) -> None:
        if not folder:
            raise ChangeRefused("The Google Reader API can move a feed into a folder, not out of every folder.",
                                "Move it into a folder, or do it on the server's own page.")
        self._post("reader/api/0/subscription/edit", [("ac", "edit"), ("s", remote_id),
                                                      ("a", "user/-/label/" + folder)], what=f"to move the feed to “{folder}”")
