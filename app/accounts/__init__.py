"""Server accounts: a feed list, folders, read and starred state that live on a server people
already run (Tiny Tiny RSS, the Google Reader API of FreshRSS, Miniflux, Inoreader, ...), mirrored
in the store. One module per protocol, each an `AccountClient` (base.py); `sync.py` is the one
sync algorithm they share; `credentials.py` keeps passwords out of the library file.

A new protocol (Nextcloud News, Fever) is one more module and one line in KINDS.
"""

from __future__ import annotations

from app.accounts.base import AccountClient


def _kinds() -> dict[str, type[AccountClient]]:
    from app.accounts.greader import GReaderClient
    from app.accounts.ttrss import TtrssClient

    return {c.kind: c for c in (TtrssClient, GReaderClient)}


def client_class(kind: str) -> type[AccountClient]:
    kinds = _kinds()
    if kind not in kinds:
        raise ValueError(f"Tidings does not know the account kind “{kind}” (it knows {', '.join(sorted(kinds))}).")
    return kinds[kind]


KINDS = ("ttrss", "greader")  # what `client_class` takes; labels: client_class(k).label
