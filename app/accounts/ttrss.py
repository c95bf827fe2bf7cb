"""Tiny Tiny RSS's JSON API (api level 15 tried, Debian 12's tt-rss 21): one POST endpoint,
`<server>/api/`, a JSON body with `op` and the session id `sid` from `login`.

Used: login, getCategories, getFeeds (cat_id -3: every feed), getHeadlines (feed -4, all articles:
the unread and starred id lists, and what arrived `since_id`), getArticle (the items themselves),
updateArticle (read: field 2, starred: field 0; many ids per call), subscribeToFeed,
unsubscribeFeed. Its API cannot move a feed to another category, nor create one: a move is
refused in plain words (and kept in the queue), a subscription into an unknown folder lands in
Uncategorized."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timezone

from app.accounts.base import AccountClient
from app.errors import ApiDisabled, ChangeRefused, ServerRefused, WrongPassword
from app.models import RemoteFeed, RemoteItem

PAGE = 200  # getHeadlines' largest page
ALL_ARTICLES, STARRED = -4, -1  # tt-rss's virtual feeds
SUBSCRIBE_CODES = {2: "the address is not valid", 3: "the page has no feed", 4: "the page offers several feeds",
                   5: "the server could not download it", 6: "it is not valid XML", 7: "it could not be added"}


class TtrssClient(AccountClient):
    kind = "ttrss"
    label = "Tiny Tiny RSS"
    can_move = False
    batch = 200

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self._sid: str | None = None
        self._seen_max = 0
        self._with_content = False
        self._cached: dict[str, RemoteItem] = {}  # listed with their content (the first sync)

    @property
    def _endpoint(self) -> str:
        return self.server + "/api/"

    def _raw(self, op: str, **params) -> dict:
        body = {"op": op, **params}
        if self._sid:
            body["sid"] = self._sid
        resp = self._send("POST", self._endpoint, json=body)
        if resp.status_code == 404:
            raise ServerRefused(f"There is no Tiny Tiny RSS API at {self._endpoint} (HTTP 404).",
                                "Give the address of the Tiny Tiny RSS page itself, e.g. https://example.org/tt-rss/.")
        data = self._json(resp)
        if not isinstance(data, dict) or "status" not in data:
            raise ServerRefused(f"{self.server} did not answer as a Tiny Tiny RSS server should.")
        return data

    def _call(self, op: str, **params):
        data = self._raw(op, **params)
        if data["status"] != 0:
            error = (data.get("content") or {}).get("error", "") if isinstance(data.get("content"), dict) else ""
            if error == "NOT_LOGGED_IN" and op != "login":  # the session expired: once more, logged in
                self.login()
                data = self._raw(op, **params)
                if data["status"] == 0:
                    return data["content"]
                error = (data.get("content") or {}).get("error", "")
            if error == "API_DISABLED":
                raise ApiDisabled(f"The API is switched off for {self.username} on {self.server}.")
            if error == "LOGIN_ERROR":
                raise WrongPassword(f"{self.server} refused the user name or password for {self.username}.")
            raise ServerRefused(f"{self.server} refused “{op}” ({error or 'no reason given'}).")
        return data["content"]

    def login(self) -> None:
        self._sid = None
        content = self._call("login", user=self.username, password=self._password)
        self._sid = content.get("session_id")
        if not self._sid:
            raise ServerRefused(f"{self.server} accepted the login but gave no session.")

    def feeds(self) -> list[RemoteFeed]:
        cats = {c["id"]: c["title"] for c in self._call("getCategories", include_empty=True) if int(c["id"]) > 0}
        out = []
        for f in self._call("getFeeds", cat_id=-3):
            if int(f.get("id", 0)) <= 0:
                continue
            out.append(RemoteFeed(str(f["id"]), f["feed_url"], f.get("title") or "", None,
                                  cats.get(f.get("cat_id"))))
        return out

    def begin(self, state: dict) -> None:
        # The first sync lists the unread and starred with their content (getHeadlines, 200 a page)
        # instead of ids first and getArticle after: half the requests. Later syncs list ids only.
        self._with_content = not state.get("since_id")

    def _ids(self, feed_id: int, view_mode: str, since_id: int = 0) -> set[str]:
        ids: set[str] = set()
        skip = 0
        content = self._with_content
        while True:
            page = self._call("getHeadlines", feed_id=feed_id, view_mode=view_mode, limit=PAGE, skip=skip,
                              since_id=since_id, show_content=content, show_excerpt=False, order_by="date_reverse")
            for h in page:
                ids.add(str(h["id"]))
                self._seen_max = max(self._seen_max, int(h["id"]))
                if content:
                    self._cached[str(h["id"])] = self._item(h)
            if len(page) < PAGE:
                return ids
            skip += len(page)
            if self.on_listing is not None:
                self.on_listing(len(ids))

    def unread_ids(self) -> set[str]:
        return self._ids(ALL_ARTICLES, "unread")

    def starred_ids(self) -> set[str]:
        return self._ids(STARRED, "all_articles")

    def new_ids(self, state: dict) -> tuple[set[str], dict]:
        since = int(state.get("since_id") or 0)
        if not since:  # the first sync takes the unread and starred; the cursor starts after them
            return set(), {"since_id": self._seen_max}
        ids = self._ids(ALL_ARTICLES, "all_articles", since_id=since)
        return ids, {"since_id": max([since, self._seen_max, *(int(i) for i in ids)])}

    def items(self, ids: Sequence[str]) -> Iterator[list[RemoteItem]]:
        ids = list(ids)
        listed = [self._cached.pop(i) for i in ids if i in self._cached]
        for start in range(0, len(listed), self.batch):
            yield listed[start:start + self.batch]
        done = {it.remote_id for it in listed}
        rest = [i for i in ids if i not in done]
        for start in range(0, len(rest), self.batch):
            chunk = rest[start:start + self.batch]
            yield [self._item(a) for a in self._call("getArticle", article_id=",".join(chunk))]

    @staticmethod
    def _item(a: dict) -> RemoteItem:
        """A headline (getHeadlines with content) or an article (getArticle): the same fields."""
        return RemoteItem(str(a["id"]), str(a["feed_id"]), a.get("link") or None, a.get("title") or "",
                          a.get("author") or "",
                          datetime.fromtimestamp(int(a["updated"]), timezone.utc) if a.get("updated") else None,
                          a.get("content") or "", not a.get("unread"), bool(a.get("marked")))

    def _update(self, ids: Sequence[str], field: int, mode: int) -> None:
        ids = list(ids)
        for start in range(0, len(ids), self.batch):
            self._call("updateArticle", article_ids=",".join(ids[start:start + self.batch]), field=field, mode=mode)

    def set_read(self, ids: Sequence[str], read: bool) -> None:
        self._update(ids, 2, 0 if read else 1)  # field 2 is "unread"

    def set_starred(self, ids: Sequence[str], starred: bool) -> None:
        self._update(ids, 0, 1 if starred else 0)

    def subscribe(self, url: str, folder: str | None) -> str | None:
        category = 0
        if folder:
            for c in self._call("getCategories", include_empty=True):
                if c["title"] == folder and int(c["id"]) > 0:
                    category = int(c["id"])
        status = self._call("subscribeToFeed", feed_url=url, category_id=category).get("status") or {}
        code = int(status.get("code", -1))
        if code not in (0, 1):
            why = status.get("message") or SUBSCRIBE_CODES.get(code, f"code {code}")
            raise ChangeRefused(f"{self.server} would not subscribe to {url}: {why}.")
        return None  # this API level does not say the new feed's id: the next feed list does

    def unsubscribe(self, remote_id: str) -> None:
        try:
            self._call("unsubscribeFeed", feed_id=int(remote_id))
        except ServerRefused as e:
            if "FEED_NOT_FOUND" not in str(e):
                raise  # not found: gone already, which is what was asked

    def move(self, remote_id: str, folder: str | None) -> None:
        raise ChangeRefused("Tiny Tiny RSS's API cannot move a feed to another folder.",
                            "Move it on the server's own page (Preferences → Feeds); Tidings will follow at the next sync.")
