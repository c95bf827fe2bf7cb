"""Retention: keep articles N days and/or the newest N per feed (a feed may override both), never
starred or digest-cited ones; their images and downloads go with them. Then compaction.

`limits_for` is the decision (pure); `run_retention` and `compact` do the I/O through the store,
in short transactions of BATCH articles, so a sync can interleave. Nothing here is for the GUI
thread: the window runs it through its background tasks.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from app.models import Feed

BATCH = 500


@dataclass(frozen=True)
class Limits:
    days: int  # 0: no age limit
    count: int  # 0: no count limit

    @property
    def active(self) -> bool:
        return bool(self.days or self.count)


def limits_for(feed: Feed, days: int, per_feed: int) -> Limits:
    """A feed's own limits where it has them (0 there: keep forever / no limit), else the Settings'."""
    return Limits(days=max(0, feed.keep_days if feed.keep_days is not None else int(days or 0)),
                  count=max(0, feed.keep_count if feed.keep_count is not None else int(per_feed or 0)))


@dataclass
class RetentionReport:
    articles: int = 0
    images: int = 0
    downloads: int = 0
    bytes_freed: int = 0  # image and download files deleted
    per_feed: dict[int, int] = field(default_factory=dict)  # feed id -> articles (to be) removed
    dry_run: bool = False

    def describe(self) -> str:
        if not self.articles:
            return "Nothing to remove: every article is within the limits, starred or cited by a digest."
        verb = "Would remove" if self.dry_run else "Removed"
        extra = []
        if self.images:
            extra.append(f"{self.images} image{'s' if self.images != 1 else ''}")
        if self.downloads:
            extra.append(f"{self.downloads} download{'s' if self.downloads != 1 else ''}")
        return (f"{verb} {self.articles} article{'s' if self.articles != 1 else ''} from {len(self.per_feed)} "
                f"feed{'s' if len(self.per_feed) != 1 else ''}" + (f" with {' and '.join(extra)}" if extra else "")
                + (f" ({human_size(self.bytes_freed)} of files)" if self.bytes_freed else "") + ".")


def run_retention(store, feeds: list[Feed], *, days: int, per_feed: int, now: datetime, image_dir: Path,
                  dry_run: bool = False, cancel: threading.Event | None = None) -> RetentionReport:
    report = RetentionReport(dry_run=dry_run)
    for feed in feeds:
        limits = limits_for(feed, days, per_feed)
        if not limits.active:
            continue
        cutoff = now - timedelta(days=limits.days) if limits.days else None
        ids = store.retention_candidates(feed.id, cutoff, limits.count or None)
        if not ids:
            continue
        report.per_feed[feed.id] = len(ids)
        if dry_run:
            report.articles += len(ids)
            continue
        for start in range(0, len(ids), BATCH):
            if cancel is not None and cancel.is_set():
                return report
            n, images, downloads = store.retire_articles(ids[start:start + BATCH], now=now)
            report.articles += n
            report.images += len(images)
            report.downloads += len(downloads)
            report.bytes_freed += _remove_files([image_dir / p for p in images]) + _remove_files(map(Path, downloads))
    return report


def _remove_files(paths) -> int:
    freed = 0
    for p in paths:
        try:
            size = p.stat().st_size
            p.unlink()
            freed += size
        except FileNotFoundError:
            pass
        except OSError:
            continue  # in use (Windows) or not ours to delete: left, the row is gone
    return freed


@dataclass(frozen=True)
class Sizes:
    library: int  # the SQLite file with its WAL
    images: int
    downloads: int

    @property
    def total(self) -> int:
        return self.library + self.images + self.downloads

    def describe(self) -> str:
        return (f"library {human_size(self.library)}, images {human_size(self.images)}, "
                f"downloads {human_size(self.downloads)}")


def sizes(db_path: Path, image_dir: Path, download_dir: Path) -> Sizes:
    lib = sum(_size(Path(str(db_path) + suffix)) for suffix in ("", "-wal"))
    return Sizes(lib, _tree_size(image_dir), _tree_size(download_dir))


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def _tree_size(root: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(root):
        for f in files:
            total += _size(Path(dirpath) / f)
    return total


def human_size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"
