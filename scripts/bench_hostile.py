"""Run the hostile-input battery (tests/test_sync_hostile.py's CASES and more) against the real CLI
in child processes, and print: cases tried, crashes, hangs, data lost, peak memory.

    .venv/bin/python scripts/bench_hostile.py [--fuzz 200] [--timeout 120] [--code PATH]

- feed cases: each hostile feed is served from the loopback server beside a good feed, synced
  twice with `tidings sync`; a crash is exit 3 (or a signal), a hang is a sync past --timeout,
  data lost is the good feed not fully stored or a feed that should be stored missing articles;
- CLI cases: wrong arguments must be exit 2, unusable paths and hostile OPML exit 1 (exit 3 is a
  crash, an OPML import that exits 0 lost data, any other code is counted as a wrong exit code);
- fuzz: mutated corpus feeds through the parser in a child; anything but a ParsedFeed or a
  NotAFeed is a crash.
Peak memory is the largest resident set (VmHWM) any child reports. `--code PATH` runs another checkout's app/
(e.g. an export of an older commit) with this battery, for a before/after comparison.
Target: 0 crashes / 0 hangs / 0 data lost, peak < 300 MB.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from feedserver import CORPUS, FeedServer  # noqa: E402

import test_sync_hostile as H  # noqa: E402


class Tally:
    def __init__(self):
        self.tried = self.crashes = self.hangs = self.lost = self.wrong = 0
        self.peak_kb = 0
        self.notes: list[str] = []

    def note(self, kind: str, name: str, detail: str = "") -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        label = {"crashes": "crash", "hangs": "hang", "lost": "data lost", "wrong": "wrong exit code"}[kind]
        self.notes.append(f"{label}: {name} {detail}".rstrip())


# The CLI in a child that reports its own peak (VmHWM: ru_maxrss would carry over this process's
# peak through fork and exec) on a file descriptor of its own.
CLI_CHILD = r"""
import os, sys
def peak():
    with open("/proc/self/status") as f:
        kb = next(l for l in f if l.startswith("VmHWM")).split()[1]
    os.write(int(os.environ["TIDINGS_PEAK_FD"]), kb.encode())
import atexit; atexit.register(peak)
from app.cli import main
sys.argv[0] = "tidings"
code = main(sys.argv[1:])
sys.exit(code)
"""


def run(code_dir: Path, args: list[str], tally: Tally, timeout: float):
    """(exit code or None on a hang, stdout, stderr) of the CLI with ARGS in a child."""
    r, w = os.pipe()
    env = {**os.environ, "PYTHONPATH": str(code_dir), "QT_QPA_PLATFORM": "offscreen", "TIDINGS_PEAK_FD": str(w)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen([sys.executable, "-c", CLI_CHILD, *args], cwd=str(code_dir), env=env,
                             stdout=out, stderr=err, stdin=subprocess.DEVNULL, pass_fds=(w,))
        os.close(w)
        hung = threading.Event()

        def kill():
            hung.set()
            p.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        _, status, _usage = os.wait4(p.pid, 0)
        timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        reported = os.read(r, 64)
        os.close(r)
        tally.peak_kb = max(tally.peak_kb, int(reported) if reported.strip().isdigit() else 0)
        out.seek(0)
        err.seek(0)
        return (None if hung.is_set() else p.returncode), out.read().decode(errors="replace"), \
            err.read().decode(errors="replace")


def subscribe(code_dir: Path, data: Path, feed_urls: list[str]) -> None:
    code = ("import sys; from app.core import make_tidings\n"
            f"t = make_tidings({str(data)!r})\n"
            f"[t.subscribe(u) for u in {feed_urls!r}]\nt.close()\n")
    subprocess.run([sys.executable, "-c", code], cwd=str(code_dir), env={**os.environ, "PYTHONPATH": str(code_dir)},
                   check=True)


def counts(code_dir: Path, data: Path) -> dict[str, int]:
    code = ("import json; from app.core import make_tidings; from app.models import ArticleQuery\n"
            f"t = make_tidings({str(data)!r})\n"
            "print(json.dumps({f.url.rsplit('/', 1)[-1]: len(t.article_ids(ArticleQuery(feed_id=f.id))) for f in t.feeds()}))\n"
            "t.close()\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=str(code_dir), capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(code_dir)})
    import json

    return json.loads(out.stdout) if out.returncode == 0 else {}


def feed_cases(code_dir: Path, tally: Tally, timeout: float, work: Path) -> None:
    for name in sorted(H.CASES):
        with FeedServer() as server:
            H.serve(server, name)
            data = work / f"feed-{abs(hash(name))}"
            subscribe(code_dir, data, [server.url("/good"), server.url("/bad")])
            for attempt in (1, 2):
                tally.tried += 1
                start = time.monotonic()
                code, out, err = run(code_dir, ["--data-dir", str(data), "sync"], tally, timeout)
                took = time.monotonic() - start
                if code is None:
                    tally.note("hangs", name, f"(sync {attempt} killed after {timeout:g} s)")
                    break
                if code != 0:
                    tally.note("crashes", name, f"(sync {attempt} exit {code}: {err.strip().splitlines()[-1:]})")
                    break
                n = counts(code_dir, data)
                if n.get("good") != 5 or (name not in H.REFUSED and not n.get("bad")):
                    tally.note("lost", name, f"(sync {attempt}: stored {n})")
                    break
                if took > timeout / 2:
                    tally.notes.append(f"slow: {name} sync {attempt} took {took:.1f} s")


CLI_USAGE = [m.args[1] for m in H.test_cli_bad_arguments_are_usage_errors.pytestmark if m.name == "parametrize"][0]
OPML = [m.args[1] for m in H.test_cli_hostile_opml_is_an_error_not_a_silent_loss.pytestmark
        if m.name == "parametrize"][0]


def cli_cases(code_dir: Path, tally: Tally, timeout: float, work: Path) -> None:
    data = work / "cli"
    data.mkdir()
    (work / "a-file").write_text("x")
    for args in CLI_USAGE:
        tally.tried += 1
        code, _, err = run(code_dir, ["--data-dir", str(data), *args], tally, timeout)
        if code is None:
            tally.note("hangs", " ".join(args))
        elif code != 2:
            tally.note("crashes" if code == 3 or code < 0 else "wrong", " ".join(args), f"(exit {code}, wanted 2)")
    paths = [["import", str(work / "missing.opml")], ["import", str(work)],
             ["export", str(work / "no" / "x.opml")], ["export", str(work)],
             ["--data-dir", str(work / "a-file"), "feeds"],
             ["digest", "--extractive", "--html", str(work / "no" / "x.html")]]
    for name, doc in OPML:
        f = work / f"opml-{abs(hash(name))}.opml"
        f.write_bytes(doc)
        paths.append(["import", str(f)])
    for args in paths:
        tally.tried += 1
        full = args if args[0] == "--data-dir" else ["--data-dir", str(data), *args]
        code, out, err = run(code_dir, full, tally, timeout)
        if code is None:
            tally.note("hangs", " ".join(args))
        elif code != 1:
            kind = "crashes" if code == 3 or code < 0 else "lost" if args[0] == "import" else "wrong"
            tally.note(kind, " ".join(a[-40:] for a in args), f"(exit {code}, wanted 1)")
        elif args[0] == "digest" and not out.strip():
            tally.note("lost", "digest --html to a bad path", "(nothing printed)")


FUZZ_CHILD = r"""
import random, sys, time, traceback
sys.path.insert(0, {code!r})
from pathlib import Path
from app.errors import NotAFeed
from app.sync.parse import parse_feed
snippets = {snippets!r}
feeds = sorted(p for p in Path({corpus!r}).iterdir() if p.suffix in (".rss", ".atom", ".xml", ".json"))
rng = random.Random({seed})
crashes = 0
slowest = 0.0
for i in range({n}):
    body = bytearray(rng.choice(feeds).read_bytes())
    for _ in range(rng.randint(1, 8)):
        pos = rng.randrange(len(body) or 1)
        op = rng.choice("fidc")
        if op == "f" and body: body[pos] = rng.randrange(256)
        elif op == "i": body[pos:pos] = rng.choice(snippets)
        elif op == "d": del body[pos:pos + rng.randint(1, 300)]
        elif rng.random() < 0.2: del body[pos:]
    t = time.monotonic()
    try:
        parse_feed(bytes(body), "https://example.org/feed", rng.choice([None, "application/rss+xml", "application/json"]))
    except NotAFeed:
        pass
    except Exception:
        crashes += 1
        print("CRASH", i, traceback.format_exc().splitlines()[-1], flush=True)
    slowest = max(slowest, time.monotonic() - t)
print("FUZZ", crashes, round(slowest, 2))
print("PEAK", next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
"""


def fuzz(code_dir: Path, tally: Tally, n: int, timeout: float) -> None:
    import re

    code = FUZZ_CHILD.format(code=str(code_dir), snippets=H.HOSTILE_SNIPPETS, corpus=str(CORPUS), seed=9, n=n)
    tally.tried += n
    env = {**os.environ, "PYTHONPATH": str(code_dir)}
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    timer = threading.Timer(max(timeout, n * 2.0), p.kill)
    timer.start()
    _, status, _usage = os.wait4(p.pid, 0)
    timer.cancel()
    out = p.stdout.read().decode(errors="replace")
    m = re.search(r"PEAK (\d+)", out)
    tally.peak_kb = max(tally.peak_kb, int(m.group(1)) if m else 0)
    m = re.search(r"FUZZ (\d+) ([\d.]+)", out)
    if m is None:
        tally.note("crashes" if os.WIFEXITED(status) else "hangs", "fuzz", "(the child did not finish)")
        return
    for line in out.splitlines():
        if line.startswith("CRASH"):
            tally.note("crashes", "fuzz", line)
    if float(m.group(2)) > 20:
        tally.note("hangs", "fuzz", f"(one parse took {m.group(2)} s)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fuzz", type=int, default=200, help="mutated corpus feeds to parse")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds before a child counts as hung")
    ap.add_argument("--code", type=Path, default=REPO, help="the checkout whose app/ to run")
    a = ap.parse_args()
    tally = Tally()
    work = Path(tempfile.mkdtemp(prefix="tidings-hostile-"))
    started = time.monotonic()
    try:
        feed_cases(a.code, tally, a.timeout, work)
        cli_cases(a.code, tally, a.timeout, work)
        fuzz(a.code, tally, a.fuzz, a.timeout)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for line in tally.notes:
        print("  " + line)
    print(f"cases tried {tally.tried}, crashes {tally.crashes}, hangs {tally.hangs}, data lost {tally.lost}, "
          f"peak memory {tally.peak_kb / 1024:.0f} MB; wrong exit codes {tally.wrong} ({time.monotonic() - started:.0f} s)")
    ok = tally.crashes == tally.hangs == tally.lost == tally.wrong == 0 and tally.peak_kb < 300 * 1024
    print("target 0 / 0 / 0, peak < 300 MB:", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
