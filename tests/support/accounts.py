"""Helpers for account tests: an in-memory keyring, and a Tidings whose passwords go there."""

from __future__ import annotations

from app.accounts.credentials import CredentialStore
from app.core import Tidings


class MemoryKeyring:
    """What a keyring backend offers Tidings (set/get/delete), in a dict, shared across Tidings
    instances of one test when passed around (a restart keeps the OS keyring)."""

    priority = 1

    def __init__(self):
        self.secrets: dict[tuple[str, str], str] = {}

    def set_password(self, service, name, password):
        self.secrets[(service, name)] = password

    def get_password(self, service, name):
        return self.secrets.get((service, name))

    def delete_password(self, service, name):
        self.secrets.pop((service, name), None)


def open_tidings(data_dir, keyring: MemoryKeyring, **kw) -> Tidings:
    t = Tidings(data_dir, **kw)
    t.credentials = CredentialStore(data_dir, backend=keyring)
    return t
