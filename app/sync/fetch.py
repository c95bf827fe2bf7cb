"""HTTP for sync: one httpx.AsyncClient per run, bounded concurrency overall and per host,
conditional GET, our own redirect following (loop detection, permanent-redirect tracking),
streamed bodies with a cap on DECOMPRESSED size (gzip bombs), a deadline per request so a
trickling endless response cannot hang a sync, and failures mapped to typed, plain-words errors.

We decode gzip/deflate ourselves from the raw stream, with a bounded zlib output, because httpx's
decoder inflates a whole network chunk at once (a 64 KB chunk of a bomb can become 64 MB).
"""

from __future__ import annotations

import asyncio
import errno
import ssl
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx

try:  # httpcore runs `import sniffio` for every request and falls back to asyncio without it;
    import sniffio  # noqa: F401
except ImportError:  # a failed import is not cached: each one searched sys.path again (~0.4 ms a feed)
    sys.modules.setdefault("sniffio", None)  # now it fails at once, the same way

from app import __version__, normalise, urls
from app.errors import BadAddress, FeedGone, FetchFailed, RateLimited, TooLarge

FEED_MAX_BYTES = 10 * 1024 * 1024
PAGE_MAX_BYTES = 5 * 1024 * 1024
IMAGE_MAX_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
MAX_RETRY_AFTER = timedelta(days=7)

USER_AGENT = f"Tidings/{__version__} (desktop feed reader; +https://github.com/tidings)"
FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
               "application/rdf+xml;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5")
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
IMAGE_ACCEPT = "image/avif, image/webp, image/png, image/jpeg, image/gif, image/*;q=0.8"


@dataclass
class Response:
    url: str  # the final URL, after redirects
    status: int  # 200..299 or 304
    headers: httpx.Headers
    body: bytes
    permanent_url: str | None = None  # the new address, when every redirect hop was permanent (301/308)

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


def host_of(url: str) -> str:
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


class _Decoder:
    """Content-Encoding decoding with a bound on the output (counts decompressed bytes)."""

    def __init__(self, encoding: str | None, limit: int, what: str):
        self.limit = limit
        self.total = 0
        codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        for c in codings:
            if c not in ("gzip", "x-gzip", "deflate"):
                raise FetchFailed(f"The server sent {what} in an encoding Tidings cannot read ({c}).")
        if len(codings) > 1:
            raise FetchFailed(f"The server sent {what} compressed twice ({', '.join(codings)}).")
        self.inflater = _Inflater(codings[0]) if codings else None

    def feed(self, data: bytes) -> bytes:
        if self.inflater is not None:
            try:
                data = self.inflater.feed(data, self.limit - self.total + 1)
            except _Overflow:
                raise TooLarge(f"The response was larger than {_size(self.limit)}.") from None
        self._count(len(data))
        return data

    def flush(self) -> bytes:
        data = self.inflater.flush() if self.inflater is not None else b""
        self._count(len(data))
        return data

    def _count(self, n: int) -> None:
        self.total += n
        if self.total > self.limit:
            raise TooLarge(f"The response was larger than {_size(self.limit)}.")


class _Overflow(Exception):
    pass


class _Inflater:
    def __init__(self, coding: str):
        self.coding = coding
        self.started = False
        self.obj = zlib.decompressobj(47 if coding in ("gzip", "x-gzip") else zlib.MAX_WBITS)

    def feed(self, data: bytes, max_out: int) -> bytes:
        if not data:
            return b""
        if self.coding == "deflate" and not self.started:
            self.started = True
            try:
                return self._decompress(data, max_out)
            except zlib.error:
                self.obj = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as some servers send
        try:
            return self._decompress(data, max_out)
        except zlib.error as e:
            raise FetchFailed(f"The compressed response was damaged ({e}).") from e

    def _decompress(self, data: bytes, max_out: int) -> bytes:
        out = self.obj.decompress(data, max(max_out, 1))
        if self.obj.unconsumed_tail:
            raise _Overflow  # more output than allowed
        if self.obj.eof and self.obj.unused_data.strip(b"\0"):
            # Concatenated gzip members.
            rest = self.obj.unused_data
            self.obj = zlib.decompressobj(47)
            out += self._decompress(rest, max_out - len(out))
        return out

    def flush(self) -> bytes:
        try:
            return self.obj.flush()
        except zlib.error:
            return b""


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    if not value:
        return None
    value = value.strip()
    when: datetime | None
    if value.isdigit():
        when = now + timedelta(seconds=int(value[:9]))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
    return min(max(when, now), now + MAX_RETRY_AFTER)


def network_error(exc: BaseException, url: str, what: str = "the feed") -> FetchFailed:
    """A plain-words FetchFailed for an httpx/OS/SSL failure."""
    host = host_of(url)
    text = str(exc)
    low = text.lower()
    cause = exc
    while cause.__cause__ or cause.__context__:
        cause = cause.__cause__ or cause.__context__
        low += " " + str(cause).lower()
    if isinstance(exc, httpx.ConnectTimeout):
        return FetchFailed(f"Timed out connecting to {host}.")
    if isinstance(exc, (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout)):
        return FetchFailed(f"{host} stopped responding (timed out).")
    if "name or service not known" in low or "nodename nor servname" in low or "getaddrinfo" in low \
            or "no address associated" in low or "temporary failure in name resolution" in low \
            or "name resolution" in low:
        return FetchFailed(f"Could not find the server {host} (DNS lookup failed).")
    if isinstance(cause, ssl.SSLError) or "ssl" in low or "certificate" in low or "tls" in low:
        reason = "the certificate is not valid" if "certificate" in low else "the secure connection failed"
        return FetchFailed(f"Could not make a secure connection to {host}: {reason}.")
    if "connection refused" in low or getattr(cause, "errno", None) == errno.ECONNREFUSED:
        return FetchFailed(f"Could not connect to {host}: connection refused.")
    if "unreachable" in low:
        return FetchFailed(f"Could not connect to {host}: the network is unreachable.")
    if isinstance(exc, httpx.ConnectError):
        return FetchFailed(f"Could not connect to {host}: {text or 'connection failed'}.")
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return FetchFailed(f"{host} broke off the connection while sending {what}.")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return BadAddress(f"Tidings cannot fetch this kind of address ({url[:80]}).")
    if isinstance(exc, httpx.InvalidURL):
        return BadAddress(f"The address is not valid ({url[:80]}).")
    return FetchFailed(f"Could not fetch {what} from {host}: {text or type(exc).__name__}.")


def _status_error(status: int, retry_at: datetime | None, what: str) -> Exception:
    if status == 410:
        return FeedGone(f"The {what} is gone (HTTP 410).")
    if status == 404:
        return FeedGone(f"The {what} was not found (HTTP 404).")
    if status in (429, 503) and (retry_at or status == 429):
        e = RateLimited(
            f"The site asked Tidings to wait (HTTP {status})"
            + (f"; the next try is after {retry_at:%Y-%m-%d %H:%M} UTC." if retry_at else ".")
        )
        e.retry_at = retry_at  # type: ignore[attr-defined]
        return e
    if status in (401, 403):
        return FetchFailed(f"The site refused access to the {what} (HTTP {status}).", answered=True)
    if 500 <= status < 600:
        return FetchFailed(f"The server had an error (HTTP {status}).", answered=True)
    return FetchFailed(f"The site answered with an error (HTTP {status}).", answered=True)


def _adapt_transport(transport):
    """Accept a sync httpx transport (e.g. httpx.HTTPTransport) where an async one is needed."""
    if transport is None or isinstance(transport, httpx.AsyncBaseTransport):
        return transport
    if isinstance(transport, httpx.BaseTransport):
        return _SyncTransportAdapter(transport)
    return transport


class _SyncTransportAdapter(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.BaseTransport):
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        sync_request = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        resp = await asyncio.to_thread(self.inner.handle_request, sync_request)
        content = await asyncio.to_thread(resp.read)
        return httpx.Response(resp.status_code, headers=resp.headers, content=content,
                              extensions=resp.extensions)


async def _drain_small(r: httpx.Response, limit: int = 64 * 1024) -> None:
    """Read a body we do not need (a 304's, a redirect's) when it is small, so the connection goes
    back to the pool: closed unread, httpcore drops it, and the next request to the host connects
    again (a warm sync of 500 feeds opened 500 connections)."""
    length = r.headers.get("content-length")
    if r.is_stream_consumed or not (length is not None and length.isdigit() and int(length) <= limit):
        return
    async for _ in r.aiter_raw():
        pass


_SSL_CONTEXT: ssl.SSLContext | None = None


def _ssl_context() -> ssl.SSLContext:
    """One verifying SSL context for every sync of the app session: httpx builds one per client, and
    loading the CA bundle costs ~0.2 s here (a quarter of a warm 500-feed sync)."""
    global _SSL_CONTEXT
    if _SSL_CONTEXT is None:
        _SSL_CONTEXT = httpx.create_ssl_context()
    return _SSL_CONTEXT


class Fetcher:
    """Use as `async with Fetcher(...) as f: await f.get(url, ...)` inside one event loop."""

    def __init__(self, transport=None, *, clock: Callable[[], datetime] | None = None,
                 concurrency: int = 10, per_host: int = 3, connect_timeout: float = 10.0,
                 read_timeout: float = 20.0, deadline: float = 60.0):
        self.transport = _adapt_transport(transport)
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.concurrency = concurrency
        self.per_host = per_host
        self.timeout = httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout, pool=None)
        self.deadline = deadline
        self._client: httpx.AsyncClient | None = None
        self._all: asyncio.Semaphore | None = None
        self._hosts: dict[str, asyncio.Semaphore] = {}
        # Hosts that could not be reached at all in this run (DNS, refused, connect timeout): later
        # requests to them fail at once instead of repeating the wait (offline, a feed's 50 images).
        self._unreachable: dict[str, str] = {}

    async def __aenter__(self) -> "Fetcher":
        self._client = httpx.AsyncClient(
            transport=self.transport,
            verify=_ssl_context() if self.transport is None else True,
            timeout=self.timeout,
            limits=httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
        )
        self._all = asyncio.Semaphore(self.concurrency)
        return self

    async def __aexit__(self, *exc) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _host_sem(self, url: str) -> asyncio.Semaphore:
        host = host_of(url)
        sem = self._hosts.get(host)
        if sem is None:
            sem = self._hosts[host] = asyncio.Semaphore(self.per_host)
        return sem

    async def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                  max_bytes: int = FEED_MAX_BYTES, accept: str = FEED_ACCEPT, what: str = "feed",
                  content_types: tuple[str, ...] | None = None) -> Response:
        """GET with redirects; returns a 2xx or 304 Response, raises a FeedError otherwise.
        `content_types`: if given, a 2xx whose Content-Type does not start with one of these is
        refused before its body is read."""
        assert self._client is not None and self._all is not None
        # Only values safe to send (a stored non-ASCII ETag once made every request fail locally).
        etag = normalise.header_token(etag)
        last_modified = normalise.http_date(last_modified)
        seen = {url}
        deadline_at: float | None = None  # one deadline for the whole chain, from the first byte asked for
        permanent = True
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            headers = {"Accept": accept}
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            current = urls.check(current)  # BadAddress: only this request fails, in plain words
            # The host's turn first, then a slot overall: a request waiting for its busy host
            # must not hold one of the `concurrency` slots other hosts could use.
            async with self._host_sem(current), self._all:
                dead = self._unreachable.get(host_of(current))
                if dead:
                    err = FetchFailed(dead)
                    err.unreachable = True  # type: ignore[attr-defined]  # (app.sync.decide.is_offline)
                    raise err
                try:
                    if deadline_at is None:
                        deadline_at = asyncio.get_running_loop().time() + self.deadline
                    async with asyncio.timeout_at(deadline_at):
                        result = await self._one(current, headers, max_bytes, what, content_types)
                except TimeoutError:
                    raise FetchFailed(
                        f"{host_of(current)} took too long to send the {what} (over {self.deadline:g} s)."
                    ) from None
                except (httpx.HTTPError, OSError) as e:
                    err = network_error(e, current, f"the {what}")
                    if isinstance(e, (httpx.ConnectError, httpx.ConnectTimeout)):
                        self._unreachable[host_of(current)] = str(err)
                        err.unreachable = True  # type: ignore[attr-defined]  # not reached at all (offline?)
                    raise err from e
            status, location, resp = result
            if location is None:
                resp.permanent_url = current if (permanent and current != url) else None
                return resp
            if status not in (301, 308):
                permanent = False
            try:
                nxt = urljoin(current, location)
            except ValueError:
                raise BadAddress(f"The site redirected to an address that is not valid ({location[:80]}).") from None
            if nxt in seen:
                raise FetchFailed(f"The address redirects in a loop ({host_of(current)}).")
            seen.add(nxt)
            current = nxt
        raise FetchFailed(f"The address redirected more than {MAX_REDIRECTS} times.")

    async def _one(self, url: str, headers: dict, max_bytes: int, what: str,
                   content_types: tuple[str, ...] | None) -> tuple[int, str | None, Response | None]:
        assert self._client is not None
        async with self._client.stream("GET", url, headers=headers) as r:
            status = r.status_code
            if status in (301, 302, 303, 307, 308):
                location = r.headers.get("location")
                if not location:
                    raise FetchFailed(f"The site sent a redirect without an address (HTTP {status}).", answered=True)
                await _drain_small(r)
                return status, location.strip(), None
            if status == 304:
                await _drain_small(r)
                return status, None, Response(str(r.url), status, r.headers, b"")
            if not 200 <= status < 300:
                retry_at = parse_retry_after(r.headers.get("retry-after"), self.clock()) \
                    if status in (429, 503) else None
                err = _status_error(status, retry_at, what)
                err.status = status  # type: ignore[attr-defined]  # (app.sync.decide.is_permanent)
                raise err
            if content_types is not None:
                ct = (r.headers.get("content-type") or "").split(";")[0].strip().lower()
                if not ct.startswith(content_types):
                    raise FetchFailed(f"The {what} is not of a usable type ({ct or 'no type given'}).", answered=True)
            length = r.headers.get("content-length")
            if length and length.isdigit() and int(length) > max_bytes and not r.headers.get("content-encoding"):
                raise TooLarge(f"The response was larger than {_size(max_bytes)}.")
            if r.is_stream_consumed:  # an injected transport that returned a ready-made body
                body = r.content
                if len(body) > max_bytes:
                    raise TooLarge(f"The response was larger than {_size(max_bytes)}.")
                return status, None, Response(str(r.url), status, r.headers, body)
            decoder = _Decoder(r.headers.get("content-encoding"), max_bytes, f"the {what}")
            chunks = []
            async for raw in r.aiter_raw():
                data = decoder.feed(raw)
                if data:
                    chunks.append(data)
            tail = decoder.flush()
            if tail:
                chunks.append(tail)
            return status, None, Response(str(r.url), status, r.headers, b"".join(chunks))
