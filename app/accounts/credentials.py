"""Account passwords: in the OS keyring (the `keyring` package), never in the library file, the
log, an error message or an export. Where no keyring exists (a bare Linux box, a container) saving
raises NoKeyring in plain words, unless the person opted in to a file only they can read (0600,
`credentials.json` beside the library, not inside it)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from app.errors import NoKeyring

log = logging.getLogger(__name__)
SERVICE = "Tidings"
FILE_NAME = "credentials.json"


def key(kind: str, server: str, username: str) -> str:
    return f"{kind}:{username}@{server.rstrip('/')}"


class CredentialStore:
    def __init__(self, data_dir: str | Path, backend=None):
        """`backend`: a keyring backend (tests pass an in-memory one); None: the OS keyring."""
        self.file = Path(data_dir) / FILE_NAME
        self._backend = backend

    def _keyring(self):
        if self._backend is not None:
            return self._backend
        try:
            import keyring
            from keyring.backends import fail
        except Exception:  # noqa: BLE001 - an import failure means: no keyring here
            return None
        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 1) <= 0:
            return None
        return backend

    def has_keyring(self) -> bool:
        return self._keyring() is not None

    def save(self, name: str, password: str, *, allow_file: bool = False) -> str:
        """Keep a password; returns where ("keyring" | "file"). NoKeyring when there is no keyring
        and the person did not allow the file."""
        backend = self._keyring()
        if backend is not None:
            try:
                backend.set_password(SERVICE, name, password)
                self._forget_in_file(name)
                return "keyring"
            except Exception as e:  # noqa: BLE001 - a locked or broken keyring: say so, never the password
                log.warning("the keyring refused to store a password (%s)", type(e).__name__)
                if not allow_file:
                    raise NoKeyring(f"The keyring refused to keep the password ({type(e).__name__}).") from None
        elif not allow_file:
            raise NoKeyring("There is no keyring on this computer to keep the account's password in.")
        data = self._read_file()
        data[name] = password
        self._write_file(data)
        return "file"

    def get(self, name: str) -> str | None:
        backend = self._keyring()
        if backend is not None:
            try:
                found = backend.get_password(SERVICE, name)
            except Exception as e:  # noqa: BLE001
                log.warning("the keyring could not be read (%s)", type(e).__name__)
                found = None
            if found is not None:
                return found
        return self._read_file().get(name)

    def delete(self, name: str) -> None:
        backend = self._keyring()
        if backend is not None:
            try:
                backend.delete_password(SERVICE, name)
            except Exception:  # noqa: BLE001 - not there: nothing to forget
                pass
        self._forget_in_file(name)

    # --- the opt-in file ------------------------------------------------------------------------

    def _read_file(self) -> dict:
        try:
            return json.loads(self.file.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            log.warning("%s is unreadable; ignoring it", self.file)
            return {}

    def _write_file(self, data: dict) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.file)

    def _forget_in_file(self, name: str) -> None:
        data = self._read_file()
        if name in data:
            del data[name]
            if data:
                self._write_file(data)
            else:
                self.file.unlink(missing_ok=True)
