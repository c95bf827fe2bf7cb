"""Sync: fetch in parallel, parse, decide what changed, store; then the offline extras.

    Syncer(store, *, transport=None, clock, image_dir).run(feed_ids=None, *, on_progress=None, cancel=None)
        -> app.models.SyncReport
    app.sync.discover.discover(url, transport=None) -> list[(feed_url, title)]

Modules: fetch (HTTP), parse (RSS/Atom/JSON Feed), decide (what is new, changed, a teaser, worth
fetching: pure), extras (full text, image cache), workers (the store and parse threads, the parse
process), discover (add by site URL), engine (the run), process (a whole run in a process of its
own, for the desktop window). `Syncer` is imported lazily, so the store can use `decide` without
loading the HTTP stack.
"""

__all__ = ["Syncer"]


def __getattr__(name):
    if name == "Syncer":
        from app.sync.engine import Syncer

        return Syncer
    raise AttributeError(name)
