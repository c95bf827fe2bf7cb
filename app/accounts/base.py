"""The account interface every protocol implements, and the HTTP plumbing they share.

A client is made per sync (or per check) with the server address, user name and password; it
counts its requests (`requests`, for the benchmark) and turns transport trouble into typed errors:
`ServerUnreachable` when nothing answers or the connection drops mid-sync, `ServerRefused` when
something answers but not as the API should. It never puts the password in an error or the log.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence

import httpx

from app.errors import ServerRefused, ServerUnreachable
from app.models import RemoteFeed, RemoteItem

log = logging.getLogger(__name__)
MAX_BYTES = 64 * 2**20  # one API answer (500 items with content are a few MB)
DEADLINE = 120.0  # seconds for one answer, however it trickles


class AccountClient(ABC):
    kind: str = ""
    label: str = ""  # as a person names the server type
    can_move = True  # the API can move a feed to another folder
    batch = 250  # article ids per request (mark read / star, fetch items)

    def __init__(self, server: str, username: str, password: str, *, transport: httpx.BaseTransport | None = None,
                 timeout: float = 30.0):
        self.server = server.rstrip("/")
        self.username = username
        self._password = password
        self.requests = 0
        self.on_listing: Callable[[int], None] | None = None  # ids listed so far, for the progress line
        self._http = httpx.Client(transport=transport, timeout=httpx.Timeout(timeout, connect=10.0),
                                  follow_redirects=True, headers={"User-Agent": "Tidings (feed reader)"})

    def __repr__(self) -> str:  # never the password
        return f"<{type(self).__name__} {self.username}@{self.server}>"

    def close(self) -> None:
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- what each protocol implements ------------------------------------------------------

    @abstractmethod
    def login(self) -> None:
        """Check the credentials (WrongPassword, ApiDisabled, ServerUnreachable, ServerRefused)."""

    def begin(self, state: dict) -> None:
        """Before the id listings: the cursor `new_ids` will get ({} at the first sync), for a
        protocol that can list the first sync's items with their content at once."""

    @abstractmethod
    def feeds(self) -> list[RemoteFeed]:
        """Every subscription, with its folder."""

    @abstractmethod
    def unread_ids(self) -> set[str]:
        """Every unread item's id (the form the store keeps: `normalise_id`)."""

    @abstractmethod
    def starred_ids(self) -> set[str]:
        ...

    @abstractmethod
    def new_ids(self, state: dict) -> tuple[set[str], dict]:
        """Ids of items that arrived since `state` (the cursor this returned last time; {} at the
        first sync: nothing, only the cursor), and the new cursor."""

    @abstractmethod
    def items(self, ids: Sequence[str]) -> Iterator[list[RemoteItem]]:
        """The items, `batch` at a time."""

    @abstractmethod
    def set_read(self, ids: Sequence[str], read: bool) -> None:
        ...

    @abstractmethod
    def set_starred(self, ids: Sequence[str], starred: bool) -> None:
        ...

    @abstractmethod
    def subscribe(self, url: str, folder: str | None) -> str | None:
        """Subscribe; the new feed's remote id when the API says it (else the next feed list does).
        ChangeRefused when the server will not."""

    @abstractmethod
    def unsubscribe(self, remote_id: str) -> None:
        ...

    @abstractmethod
    def move(self, remote_id: str, folder: str | None) -> None:
        ...

    def normalise_id(self, remote_id: str) -> str:
        return str(remote_id)

    # --- HTTP -------------------------------------------------------------------------------

    def _send(self, method: str, url: str, **kw) -> httpx.Response:
        """One request, its answer read whole but at most MAX_BYTES and DEADLINE seconds."""
        self.requests += 1
        deadline = time.monotonic() + DEADLINE
        try:
            with self._http.stream(method, url, **kw) as streamed:
                body = bytearray()
                for chunk in streamed.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BYTES:
                        raise ServerRefused(f"{self.server} sent more than {MAX_BYTES // 2**20} MB in one answer; "
                                            "Tidings stopped reading.")
                    if time.monotonic() > deadline:
                        raise ServerUnreachable(f"{self.server} is sending its answer too slowly (over {DEADLINE} s).")
            resp = httpx.Response(streamed.status_code, headers=streamed.headers, content=bytes(body),
                                  request=streamed.request)
        except httpx.TimeoutException as e:
            raise ServerUnreachable(f"{self.server} stopped answering (timed out).") from e
        except (httpx.TransportError, httpx.InvalidURL, httpx.UnsupportedProtocol) as e:
            raise ServerUnreachable(f"Tidings cannot reach {self.server} ({_why(e)}).") from e
        if resp.status_code >= 500:
            raise ServerUnreachable(f"{self.server} has trouble right now (HTTP {resp.status_code}).")
        return resp

    def _json(self, resp: httpx.Response):
        try:
            return resp.json()
        except ValueError as e:
            raise ServerRefused(f"{self.server} did not answer as a {self.label} server should "
                                f"(HTTP {resp.status_code}, not JSON).") from e


def _why(e: Exception) -> str:
    text = str(e) or type(e).__name__
    if "refused" in text.lower():
        return "connection refused"
    if "name or service" in text.lower() or "nodename" in text.lower():
        return "no such host"
    return text[:120]
