"""Account sync benchmark: the first sync of an account with 10,000 unread items, then a resync
with nothing changed: wall time, HTTP requests sent, and how long a reader of the library (the
GUI's counts query, from another thread) waited at worst while the sync wrote.

    .venv/bin/python scripts/bench_accounts.py [--items 10000] [--feeds 50] [--server ttrss,freshrss,miniflux]

ttrss: a real Tiny Tiny RSS (tests/support/ttrss_server.py; skipped without its packages), the
items put into its Postgres tables. freshrss / miniflux: the Google Reader stand-in in that
flavour (tests/support/greader_standin.py), in this process (its CPU competes with the client's).
Full text and images are not fetched (`extras=False`): the figures are the account sync's own.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.accounts import MemoryKeyring, open_tidings  # noqa: E402


def measure(label: str, make_server, n_items: int, n_feeds: int) -> None:
    with make_server() as server, tempfile.TemporaryDirectory() as tmp:
        kind = "ttrss" if label == "ttrss" else "greader"
        per_feed = n_items // n_feeds
        for f in range(n_feeds):
            if kind == "ttrss":
                fid = server.add_feed(f"https://example.org/{f}.xml", f"Feed {f}", category=f"Folder {f % 5}")
                server.add_entries(fid, per_feed, content="<p>" + "Words of item {i}. " * 40 + "</p>")
            else:
                fid = server.add_feed(f"https://example.org/{f}.xml", f"Feed {f}", folder=f"Folder {f % 5}")
                for eid in server.add_entries(fid, per_feed):
                    server.entries[eid].content = "<p>" + f"Words of item {eid}. " * 40 + "</p>"
        with open_tidings(Path(tmp) / "lib", MemoryKeyring()) as t:
            account = t.add_account(kind, server.url, server.user, server.password)
            for run in ("first sync", "no-change resync"):
                worst, stop = [0.0], threading.Event()

                def reader():
                    while not stop.is_set():
                        t0 = time.perf_counter()
                        t.counts()
                        worst[0] = max(worst[0], time.perf_counter() - t0)
                        time.sleep(0.05)

                progress = []
                th = threading.Thread(target=reader, daemon=True)
                th.start()
                started = time.perf_counter()
                report = t.sync_account(account.id, extras=False, on_progress=progress.append)
                wall = time.perf_counter() - started
                stop.set()
                th.join()
                updates = sum(1 for p in progress if p.stage == "articles")
                print(f"{label:>9} {run:<17} {wall:6.1f} s  {report.requests:>4} requests  {report.new:>6} new  "
                      f"{updates:>3} progress updates  worst counts() wait {worst[0] * 1000:5.0f} ms")
            t.update_search()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=10000)
    ap.add_argument("--feeds", type=int, default=50)
    ap.add_argument("--server", default="ttrss,freshrss,miniflux")
    args = ap.parse_args()
    from tests.support.greader_standin import GReaderStandin
    from tests.support.ttrss_server import TtrssServer, missing

    for name in args.server.split(","):
        if name == "ttrss":
            why = missing()
            if why:
                print(f"    ttrss skipped: {why}")
                continue
            measure("ttrss", TtrssServer, args.items, args.feeds)
        else:
            measure(name, lambda: GReaderStandin(name), args.items, args.feeds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
