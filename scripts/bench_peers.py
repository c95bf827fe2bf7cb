"""Tidings against its peers on the same feeds, in the same run (issue 12).

    .venv/bin/python scripts/bench_peers.py [--feeds 500] [--entries 50] [--rounds 2]

The feeds, server and download floor are bench_sync.py's (500 generated 155 KB feeds on 50
loopback hosts, a separate server process). Each reader syncs them into an empty store (cold),
then again with every feed unchanged (warm: the server answers 304 to a matching If-None-Match),
and each time is given as a multiple of the floor measured in the same round:

- Tidings: `Syncer.run()` (what `tidings sync` runs), feed icons included;
- lemon24/reader 3.26 (`update_feeds(workers=10, scheduled=False)`: every feed, not only those due), in its own venv under
  ~/.cache/tidings-bench/reader-venv (`python3 -m venv ...; .../pip install reader==3.26 sgmllib3k`);
- newsboat (`newsboat -x reload`, 10 reload threads; Debian's `apt install newsboat`).

A peer that is not installed is skipped, with how to install it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import bench_sync  # noqa: E402 - the feeds, their server and the floor

READER_VENV = Path.home() / ".cache" / "tidings-bench" / "reader-venv"

READER_CODE = """
import sys, time
from reader import make_reader
db, urls = sys.argv[1], sys.argv[2:]
r = make_reader(db)
if not list(r.get_feeds()):
    for u in urls:
        r.add_feed(u)
t = time.perf_counter()
r.update_feeds(workers=10, scheduled=False)  # every feed, as the others do (by default only those due)
print(time.perf_counter() - t)
print(r.get_entry_counts().total)
"""


async def etags_of(urls: list[str]) -> dict[str, str]:
    import httpx

    async with httpx.AsyncClient() as client:
        got = await asyncio.gather(*(client.get(u) for u in urls))
    return {u: r.headers["etag"] for u, r in zip(urls, got)}


def tidings_round(urls: list[str], tmp: Path) -> tuple[float, float, int]:
    store, syncer = bench_sync.subscribed(urls, tmp)
    t = time.perf_counter()
    cold = syncer.run()
    cold_t = time.perf_counter() - t
    t = time.perf_counter()
    syncer.run()
    warm_t = time.perf_counter() - t
    store.close()
    return cold_t, warm_t, cold.new


def reader_round(urls: list[str], tmp: Path) -> tuple[float, float, int] | None:
    python = READER_VENV / "bin" / "python"
    if not python.exists():
        print(f"  lemon24/reader: not installed (python3 -m venv {READER_VENV}; {READER_VENV}/bin/pip install reader==3.26 sgmllib3k)")
        return None
    db = str(tmp / "reader.sqlite")
    runs = []
    for _ in range(2):  # cold, then warm
        t = time.perf_counter()
        out = subprocess.run([str(python), "-c", READER_CODE, db, *urls], capture_output=True, text=True, timeout=900)
        wall = time.perf_counter() - t
        if out.returncode != 0:
            print("  lemon24/reader failed:", out.stderr[-500:])
            return None
        update_s, entries = out.stdout.split()
        runs.append((float(update_s), wall, int(entries)))
    return runs[0][0], runs[1][0], runs[0][2]


def newsboat_round(urls: list[str], tmp: Path) -> tuple[float, float, int] | None:
    exe = shutil.which("newsboat")
    if exe is None:
        print("  newsboat: not installed (apt install newsboat)")
        return None
    (tmp / "urls").write_text("\n".join(urls) + "\n")
    (tmp / "config").write_text("reload-threads 10\ndownload-retries 1\ndownload-timeout 60\n")
    cache = tmp / "newsboat.db"
    env = {**os.environ, "HOME": str(tmp)}
    times = []
    for _ in range(2):
        t = time.perf_counter()
        out = subprocess.run([exe, "-u", str(tmp / "urls"), "-c", str(cache), "-C", str(tmp / "config"), "-x", "reload"],
                             capture_output=True, text=True, timeout=900, env=env)
        times.append(time.perf_counter() - t)
        if out.returncode != 0:
            print("  newsboat failed:", out.stderr[-500:])
            return None
    import sqlite3

    with sqlite3.connect(cache) as db:
        n = db.execute("SELECT count(*) FROM rss_item").fetchone()[0]
    return times[0], times[1], n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=500)
    ap.add_argument("--entries", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    server = subprocess.Popen([sys.executable, bench_sync.__file__, "--serve", "--feeds", str(args.feeds),
                               "--entries", str(args.entries)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        urls = bench_sync.feed_urls(port, args.feeds)
        asyncio.run(bench_sync.download_all(urls[:20]))
        print(f"{args.feeds} feeds x {args.entries} entries on 50 loopback hosts; times as multiples of the "
              f"same round's floor (httpx, concurrency 10, 3 per host)")
        for k in range(args.rounds):
            tmp = Path(tempfile.mkdtemp(prefix="tidings-peers-"))
            floor = min(bench_sync._timed(lambda: asyncio.run(bench_sync.download_all(urls))) for _ in range(2))
            # the warm floor: the same conditional requests every reader can make (ETags from the server)
            etags = asyncio.run(etags_of(urls))
            warm_floor = min(bench_sync._timed(lambda: asyncio.run(bench_sync.download_all(urls, etags))) for _ in range(2))
            print(f"round {k + 1}: floor {floor:.2f} s cold, {warm_floor:.2f} s warm (304)")
            for name, fn in (("Tidings", tidings_round), ("lemon24/reader 3.26", reader_round), ("newsboat", newsboat_round)):
                got = fn(urls, tmp)
                if got is None:
                    continue
                cold, warm, n = got
                print(f"  {name:20s} cold {cold:6.2f} s = {cold / floor:5.1f}x   warm {warm:6.2f} s = "
                      f"{warm / warm_floor:5.1f}x   ({n} entries)")
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        server.kill()
        server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
