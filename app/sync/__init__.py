"""Sync: fetch in parallel, parse, decide what changed, store; then the offline extras.

    Syncer(store, *, transport=None, clock, image_dir).run(feed_ids=None, *, on_progress=None, cancel=None)
        -> app.models.SyncReport
    app.sync.discover.discover(url, transport=None) -> list[(feed_url, title)]

Modules: fetch (HTTP), parse (RSS/Atom/JSON Feed), extras (full text, image cache),
discover (add by site URL), engine (the run).
"""

from app.sync.engine import Syncer

__all__ = ["Syncer"]
