"""Errors a person can act on, as types with a plain-words message and a hint.

    TidingsError                 something the person can act on; `str(e)` says what, `e.hint` what to do
    ├── StoreError
    │   ├── StoreLocked          another Tidings has this store open
    │   ├── DiskFull             the disk holding the store is full
    │   └── StoreCorrupt         the file is not a Tidings store, or is damaged
    ├── FeedError                one feed failed; stored on the feed, sync goes on
    │   ├── FeedGone             404 / 410
    │   ├── FetchFailed          DNS, TLS, refused, timeout, redirect loop, HTTP 5xx (.answered: the site replied)
    │   │   └── BadAddress       not an http(s) address, or not a valid one
    │   ├── RateLimited          429 / 503 with Retry-After
    │   ├── TooLarge             response over the size cap (or a decompression bomb)
    │   └── NotAFeed             the bytes are not a feed we can read (incl. malformed XML)
    ├── NoFeedFound              "add" found no feed at a site URL
    ├── NotFound                 no such feed / article / digest id
    ├── AccountError             a server account (app/accounts/) could not sync; the queue is kept
    │   ├── WrongPassword        the server refused the name or password
    │   ├── ApiDisabled          the server's API is switched off for this user
    │   ├── ServerUnreachable    nothing answers, or it stopped answering mid-sync
    │   ├── ServerRefused        it answered, but not as its API should (wrong address, an error)
    │   ├── ChangeRefused        it refused one queued change (kept in the queue, shown)
    │   └── NoKeyring            no OS keyring to keep the password in
    └── LLMError
        ├── OllamaUnavailable    nothing answers at the Ollama host
        ├── ModelMissing         the chosen model is not pulled
        └── GenerationFailed     an error mid-stream (what was written is kept)

Anything else that escapes is a bug: logged with context, shown as "something went wrong".
"""

from __future__ import annotations


class TidingsError(Exception):
    hint: str = ""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        return self.args[0] if self.args else self.__class__.__name__

    def explain(self) -> str:
        """Message and hint, for a person."""
        return f"{self}\n{self.hint}" if self.hint else str(self)


class StoreError(TidingsError):
    pass


class StoreLocked(StoreError):
    hint = "Another Tidings window is using this library. Close it, or switch to that window."


class DiskFull(StoreError):
    hint = "Free some disk space, then try again. Nothing already saved was lost."


class StoreCorrupt(StoreError):
    hint = "Restore the library file from a backup, or start a new one with --data-dir."


class FeedError(TidingsError):
    pass


class FeedGone(FeedError):
    hint = "The site removed this feed. Find its new address on the site, or unsubscribe."


class FetchFailed(FeedError):
    hint = "Check the address and your connection; Tidings will try again at the next sync."

    def __init__(self, message: str, hint: str | None = None, *, answered: bool = False):
        super().__init__(message, hint)
        self.answered = answered  # the site sent an HTTP answer (an error, a wrong type): asking again won't help


class BadAddress(FetchFailed):
    hint = "Check the address: Tidings fetches http and https addresses only."


class RateLimited(FeedError):
    hint = "The site asked us to slow down; Tidings will wait before trying again."


class TooLarge(FeedError):
    hint = "The response is larger than a feed should be; the address may not be a feed."


class NotAFeed(FeedError):
    hint = "The address does not serve a feed Tidings can read. Try the site's home page to find its feed."


class NoFeedFound(TidingsError):
    hint = "Look for an RSS or Atom link on the site and add that address instead."


class NotFound(TidingsError):
    pass


# --- server accounts (app/accounts/) ---


class AccountError(TidingsError):
    hint = "Nothing was lost: changes made here wait and are sent at the next sync."


class WrongPassword(AccountError):
    hint = "Check the user name and password (some servers want an API password), then add the account again."


class ApiDisabled(AccountError):
    hint = ("Switch the API on in the server's settings (Tiny Tiny RSS: Preferences → Enable API; "
            "FreshRSS: Profile → API password), then sync again.")


class ServerUnreachable(AccountError):
    hint = "Check the address and your connection. Changes made here are kept and sent at the next sync."


class ServerRefused(AccountError):
    hint = "Check the server address (for FreshRSS it ends in /api/greader.php). Changes made here are kept."


class ChangeRefused(AccountError):
    hint = "The change stays in the account's queue: retry it or drop it in Settings → Accounts."


class NoKeyring(AccountError):
    hint = ("Install and unlock a keyring (GNOME Keyring, KWallet, the Windows or macOS one), or allow "
            "Tidings to keep the password in a file only you can read (`tidings account add --allow-password-file`, "
            "or the check box in Settings → Accounts).")


class LLMError(TidingsError):
    pass


class OllamaUnavailable(LLMError):
    hint = "Install Ollama from ollama.com and start it with `ollama serve`, then try again."


class ModelMissing(LLMError):
    def __init__(self, model: str):
        super().__init__(
            f"The model “{model}” is not installed in Ollama.",
            f"Install it with `ollama pull {model}` (or let Tidings pull it), then try again.",
        )
        self.model = model

    def __reduce__(self):  # rebuilt from the model name, so it survives pickling (process pools)
        return (ModelMissing, (self.model,))


class GenerationFailed(LLMError):
    hint = "What the model wrote so far is kept. Try again, or pick another model in Settings."
