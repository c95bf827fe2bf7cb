"""Server accounts: a feed list, folders, read and starred state that live on a server people
already run (Tiny Tiny RSS, the Google Reader API of FreshRSS, Miniflux, Inoreader, ...), mirrored
in the store. One module per protocol, each an `AccountClient` (base.py); `sync.py` is the one
sync algorithm they share; `credentials.py` keeps passwords out of the library file.

A new protocol (Nextcloud News, Fever) is one more module and one line in CLIENTS.
"""

from __future__ import annotations

import importlib

from app.accounts.base import AccountClient

# kind -> "module:class", imported when first used. A new protocol is one line here.
CLIENTS = {
    "ttrss": "app.accounts.ttrss:TtrssClient",
    "greader": "app.accounts.greader:GReaderClient",
}
KINDS = tuple(CLIENTS)


def client_class(kind: str) -> type[AccountClient]:
    if kind not in CLIENTS:
        raise ValueError(f"Tidings does not know the account kind “{kind}” (it knows {', '.join(sorted(CLIENTS))}).")
    module, name = CLIENTS[kind].split(":")
    return getattr(importlib.import_module(module), name)
