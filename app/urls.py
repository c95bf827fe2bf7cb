"""Every URL that comes from outside (feeds, pages, OPML, the command line, redirects) is checked
here, in one place, before anything uses it.

    check(url) -> str          the URL, or BadAddress with the reason in plain words
    valid(url) -> str | None   the URL, or None (for links and images: a bad one is skipped)
    join(base, link) -> str | None   a link resolved against a base, if the result is valid

Valid means: an http or https URL with a host, a port in 1..65535 (or none), no whitespace or
control characters, at most MAX_URL characters, and that httpx can build a request for.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from app.errors import BadAddress

MAX_URL = 4000
_SCHEMES = ("http", "https")
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
# Plain ASCII URLs with an ordinary host name need no second opinion from httpx (which costs
# ~0.1 ms a URL: most of parsing a feed's links); anything else (IDNA, IPv6, odd characters) gets it.
_PLAIN = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@%/?#-]*")
_PLAIN_HOST = re.compile(r"[A-Za-z0-9.-]+")


def _short(url: str) -> str:
    url = "".join(c if c.isprintable() else " " for c in url[:80])
    return url + ("…" if len(url) >= 80 else "")


def check(url) -> str:
    """`url`, stripped, if it is a valid http(s) URL; else BadAddress saying what is wrong."""
    if not isinstance(url, str):
        raise BadAddress("The address is missing.")
    good, why = _check(url.strip())
    if why is not None:
        raise BadAddress(why)
    return good


@lru_cache(maxsize=8192)
def _check(url: str) -> tuple[str, str | None]:
    try:
        return _checked(url), None
    except BadAddress as e:
        return url, str(e)


def _checked(url: str) -> str:
    if not url:
        raise BadAddress("The address is empty.")
    if len(url) > MAX_URL:
        raise BadAddress(f"The address is too long ({len(url)} characters).")
    if _UNSAFE.search(url) or not url.isprintable():
        raise BadAddress(f"The address contains spaces or control characters ({_short(url)}).")
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        port = parts.port  # ValueError when not a number or out of 0..65535
    except ValueError as e:
        raise BadAddress(f"The address is not valid ({_short(url)}): {e}.") from None
    if scheme not in _SCHEMES:
        what = f"{scheme}:" if scheme else "an address without http:// or https://"
        raise BadAddress(f"Tidings cannot fetch {what} addresses ({_short(url)}).")
    if not host:
        raise BadAddress(f"The address has no host name ({_short(url)}).")
    if port is not None and not 0 < port < 65536:
        raise BadAddress(f"The address's port {port} is out of range ({_short(url)}).")
    if _PLAIN.fullmatch(url) and _PLAIN_HOST.fullmatch(host):
        return url
    try:
        import httpx

        httpx.URL(url)
    except Exception as e:  # noqa: BLE001 - httpx.InvalidURL, UnicodeError (IDNA), ValueError
        raise BadAddress(f"The address is not valid ({_short(url)}): {type(e).__name__}.") from None
    return url


def valid(url) -> str | None:
    try:
        return check(url)
    except BadAddress:
        return None


def join(base: str | None, link) -> str | None:
    """`link` made absolute against `base` (when it is relative), if the result is valid."""
    if not link or not isinstance(link, str):
        return None
    link = link.strip()
    if not link:
        return None
    if base and not link.startswith(("http://", "https://")):
        try:
            link = urljoin(base, link)
        except ValueError:
            return None
    return valid(link)
