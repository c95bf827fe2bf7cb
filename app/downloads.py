"""Podcast and video enclosures: which ones a player plays, and downloading them for offline
listening: resumable (HTTP Range on the `.part` file), capped in size (Settings), with progress.

The HTTP client is httpx, with the facade's injected transport (tests: a loopback server).
No store transaction is open while bytes arrive: progress is recorded in short writes.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from app.errors import FetchFailed, TidingsError
from app.models import Enclosure

if TYPE_CHECKING:
    import httpx  # imported where a download starts: the window imports this module while it opens

MEDIA_EXTENSIONS = (".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".flac", ".wav", ".mp4", ".m4v", ".webm",
                    ".mov", ".mkv")
CHUNK = 256 * 1024
PROGRESS_EVERY = 0.25  # seconds between progress reports


class DownloadTooLarge(TidingsError):
    hint = "Raise “Largest download” in Settings to keep it, or play it from the web."


class DownloadCancelled(TidingsError):
    hint = "What arrived is kept: Download again resumes where it stopped."


def is_media(e: Enclosure) -> bool:
    kind = (e.type or "").split("/")[0].lower()
    if kind in ("audio", "video"):
        return True
    if e.type and e.type.lower() not in ("application/octet-stream", "binary/octet-stream"):
        return False
    return urlsplit(e.url).path.lower().endswith(MEDIA_EXTENSIONS)


@dataclass(frozen=True)
class Media:
    """An enclosure with its download and played state."""
    article_id: int
    url: str
    type: str | None
    length: int | None
    state: str = "none"  # none | partial | done | failed
    received: int = 0
    total: int | None = None
    path: str | None = None
    played: bool = False
    error: str | None = None

    @property
    def kind(self) -> str:
        k = (self.type or "").split("/")[0]
        if k in ("audio", "video"):
            return k
        return "video" if urlsplit(self.url).path.lower().endswith((".mp4", ".m4v", ".webm", ".mov", ".mkv")) else "audio"

    @property
    def downloaded(self) -> bool:
        return self.state == "done" and bool(self.path) and Path(self.path).is_file()


def file_name(article_id: int, url: str) -> str:
    """A safe local name: the article id and the URL's last path segment."""
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "episode"
    name = re.sub(r"[^\w.\-]+", "_", name, flags=re.UNICODE).strip("._")[:120] or "episode"
    return f"{article_id}-{name}"


def download(url: str, dest: Path, *, max_bytes: int, transport=None, timeout: float = 30.0,
             on_progress: Callable[[int, int | None], None] | None = None,
             cancel: threading.Event | None = None) -> int:
    """Fetch `url` into `dest`, resuming `dest`.part if it exists. Returns the size. Raises
    DownloadTooLarge (nothing kept), DownloadCancelled (the part kept), FetchFailed."""
    import httpx

    if urlsplit(url).scheme not in ("http", "https"):
        raise FetchFailed(f"Only http and https downloads are supported, not {url!r}.")
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": _user_agent(), "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    client_kw = {"transport": transport} if isinstance(transport, httpx.BaseTransport) else {}
    try:
        with httpx.Client(timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)), follow_redirects=True,
                          **client_kw) as client, client.stream("GET", url, headers=headers) as r:
            if r.status_code == 416 and have:  # nothing after what we have: the part is the whole file
                total = _total(r, have)
                if total in (None, have):
                    part.replace(dest)
                    return have
            if r.status_code not in (200, 206):
                raise FetchFailed(f"The server answered {r.status_code} for {url}.")
            if r.status_code == 200:
                have = 0  # the server ignored the range: start again
            total = _total(r, have)
            if total is not None and total > max_bytes:
                part.unlink(missing_ok=True)
                raise DownloadTooLarge(f"The file is {_mb(total)}, more than the {_mb(max_bytes)} allowed.")
            received = have
            last = 0.0
            with open(part, "ab" if have else "wb") as out:
                for chunk in r.iter_bytes(CHUNK):
                    if cancel is not None and cancel.is_set():
                        raise DownloadCancelled(f"The download stopped at {_mb(received)}.")
                    received += len(chunk)
                    if received > max_bytes:
                        out.close()
                        part.unlink(missing_ok=True)
                        raise DownloadTooLarge(f"The file is more than the {_mb(max_bytes)} allowed.")
                    out.write(chunk)
                    now = time.monotonic()
                    if on_progress is not None and now - last >= PROGRESS_EVERY:
                        last = now
                        on_progress(received, total)
            if total is not None and received < total:
                raise FetchFailed(f"The connection closed after {_mb(received)} of {_mb(total)}; "
                                  "Download again resumes.")
    except httpx.HTTPError as e:
        raise FetchFailed(f"The download failed: {e}.", "Download again resumes where it stopped.") from None
    part.replace(dest)
    if on_progress is not None:
        on_progress(received, received)
    return received


def _total(r: httpx.Response, have: int) -> int | None:
    cr = r.headers.get("Content-Range", "")
    m = re.search(r"/(\d+)\s*$", cr)
    if m:
        return int(m.group(1))
    length = r.headers.get("Content-Length")
    if length and length.isdigit():
        return int(length) + (have if r.status_code == 206 else 0)
    return None


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


def _user_agent() -> str:
    from app.sync.fetch import USER_AGENT

    return USER_AGENT
