"""Hostile and careless inputs: one bad input fails only itself (issue 9).

Every case is served from the loopback server (tests/feedserver.py) beside a good feed, and
checks: the exit code or the result, the error recorded on the bad feed in plain words, that the
good feed is stored, that a second sync behaves the same, and bounds on time and memory that are
far from normal run times (the machine is loaded). `scripts/bench_hostile.py` runs the same
battery (CASES) and prints its figures.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from feedserver import CORPUS, FeedServer, feed_server  # noqa: F401 - fixture

from app import normalise, urls
from app.cli import main
from app.core import make_tidings
from app.errors import BadAddress, NotAFeed, NotFound, StoreError
from app.models import ArticleQuery, Digest, DigestItem, ParsedEntry
from app.store import Store
from app.sync import decide
from app.sync import parse as P

REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)
TIME_BOUND = 60.0  # seconds for any one hostile sync: normal runs take well under 5
ESC = "\x1b"


def rss(items: str, title: str = "Feed") -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>https://example.org/</link>{items}</channel></rss>").encode()


def item(i: int, *, title: str = "", desc: str = "", link: str = "", extra: str = "") -> str:
    return (f"<item><guid>g{i}</guid><title>{title or f'Item {i}'}</title>"
            f"<link>{link or f'https://example.org/{i}'}</link>"
            f"<pubDate>Sat, 21 Nov 2026 08:00:00 GMT</pubDate>"
            f"<description>{desc or 'Body text of the item. ' * 40}</description>{extra}</item>")


GOOD = rss("".join(item(i) for i in range(5)), "Good feed")

# --- the battery: (name, route kwargs) served at /bad; each is synced beside /good ----------------

NESTED = "<div>" * 200_000 + "x" + "</div>" * 200_000

CASES: dict[str, dict] = {
    "json lone surrogate": dict(body=b'{"version": "https://jsonfeed.org/version/1.1", "title": "J\\ud800son",'
                                     b' "items": [{"id": "1", "title": "Bad \\ud800 title", "content_html":'
                                     b' "<p>x\\udfff y</p>", "authors": [{"name": "A\\ud800"}]}]}',
                                content_type="application/feed+json"),
    "enclosure length beyond 64 bits": dict(body=rss(item(1, extra='<enclosure url="https://example.org/a.mp3" '
                                                              'length="99999999999999999999999" type="audio/mpeg"/>'))),
    "enclosure negative length": dict(body=rss(item(1, extra='<enclosure url="https://example.org/b.mp3" '
                                                         'length="-99999999999999999999999" type="audio/mpeg"/>'))),
    "200,000 nested divs": dict(body=rss(item(1, desc="<![CDATA[" + NESTED + "]]>"))),
    "non-ASCII ETag": dict(body=rss(item(1)), etag='"caf\u00e9"'),
    "control chars and bidi in title": dict(body=rss(item(1, title=f"Evil &#x1b;]0;pwned&#x7;\u202eTitle\u202c",
                                                          extra="<author>Bob \u2066x\u2069</author>"))),
    "terminal escape in title (C1 CSI)": dict(body=rss(item(1, title="A \u009b31m red"))),
    "bad article link": dict(body=rss(item(1, desc="Short.", link="http://[::1/x")
                                      + item(2, desc="Short.", link="http://127.0.0.1:99999/p"))),
    "bad image address": dict(body=rss(item(1, desc='<![CDATA[<p>' + "Long text. " * 80
                                                    + '<img src="http://[::1/x.png"><img src="http://a:99999/i.png">'
                                                    + '</p>]]>'))),
    "NUL and surrogate char refs": dict(body=rss(item(1, title="a&#0;b", desc="x&#xD800;y"))),
    "5,100 entries": dict(body=rss("".join(f"<item><guid>e{i}</guid><title>t{i}</title>"
                                           f"<pubDate>Sat, 21 Nov 2026 08:00:00 GMT</pubDate></item>"
                                           for i in range(P.MAX_ENTRIES + 100)))),
    "9 MB of unclosed tags": dict(body=b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
                                       b"<guid>1</guid><description>" + b"<b>" * 3_000_000
                                       + b"</description></item></channel></rss>"),
    "8 MB malformed, unclosed": dict(body=b"<rss><channel><title>t</title><item><guid>1</guid><description>"
                                          + b"<div><p><span>" * 600_000 + b"</channel></rss>"),
    "deep JSON": dict(body=b'{"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", content_type="application/json"),
    "huge integers in JSON": dict(body=b'{"version": "https://jsonfeed.org/version/1", "title": "J", "items": '
                                       b'[{"id": 1e999, "title": "t", "attachments": [{"url": "https://e.org/a",'
                                       b' "size_in_bytes": 1e999}, {"url": "https://e.org/b", "size_in_bytes": '
                                       + b"9" * 5000 + b"}]}]}", content_type="application/feed+json"),
    "bad Last-Modified": dict(body=rss(item(1)), last_modified="\u00e9t\u00e9 2026"),
    "redirect to a bad address": dict(status=302, location="http://[::1/x", content_type=None),
    "redirect to another scheme": dict(status=301, location="ftp://example.org/feed", content_type=None),
    "site link and guid junk": dict(body=rss(item(1, extra="<comments>\x01</comments>"), title="T\u2028U")),
}
# cases whose feed is refused as a whole (recorded as an error); the others are stored
REFUSED = {"9 MB of unclosed tags", "8 MB malformed, unclosed", "deep JSON", "redirect to a bad address",
           "redirect to another scheme"}


def serve(server: FeedServer, name: str) -> None:
    server.route("/good", body=GOOD, etag=True)
    server.route("/bad", **CASES[name])
    server.route("/page", body=b"<html><body><article><h1>P</h1>" + b"<p>Real page text here. </p>" * 60
                 + b"</article></body></html>", content_type="text/html; charset=utf-8")
    server.route("/img.png", body=b"\x89PNG\r\n\x1a\n" + b"0" * 100, content_type="image/png")


def stored(t) -> dict[int, list]:
    return {f.id: t.articles(ArticleQuery(feed_id=f.id)) for f in t.feeds()}


def check_normalised(t) -> None:
    """What reached the store is normalised: valid Unicode, clean single-line fields, valid URLs."""
    for a in t.articles():
        for field in (a.title, a.authors, a.feed_title):
            assert field == normalise.line(field), repr(field)
        for field in (a.summary, a.content_html, a.text, a.guid):
            field.encode("utf-8")  # no lone surrogates
            assert "\x00" not in field
        assert a.url is None or urls.valid(a.url) == a.url
        for e in a.enclosures:
            assert e.length is None or 0 <= e.length <= normalise.SQLITE_MAX_INT


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_bad_feed_fails_only_itself(name, tmp_path, feed_server):
    serve(feed_server, name)
    with make_tidings(tmp_path / "data") as t:
        good = t.subscribe(feed_server.url("/good"))
        bad = t.subscribe(feed_server.url("/bad"))
        for attempt in (1, 2):  # a second sync behaves the same
            start = time.monotonic()
            report = t.sync()
            assert time.monotonic() - start < TIME_BOUND, name
            results = {r.feed_id: r for r in report.results}
            assert results[good.id].status in ("updated", "not_modified"), (attempt, results[good.id])
            assert len(t.articles(ArticleQuery(feed_id=good.id))) == 5
            r = results[bad.id]
            if name in REFUSED:
                assert r.status == "error" and r.error and "Traceback" not in r.error, r
                assert t.feed(bad.id).last_error == r.error
                assert r.error_kind in ("NotAFeed", "BadAddress", "TooLarge", "FetchFailed"), r
            else:
                assert r.status in ("updated", "not_modified"), (attempt, r)
                assert t.articles(ArticleQuery(feed_id=bad.id)), name
        check_normalised(t)
        assert t.search("item")  # the library is whole: searchable


def test_non_ascii_etag_is_never_stored_or_sent(tmp_path, feed_server):
    serve(feed_server, "non-ASCII ETag")
    with make_tidings(tmp_path / "data") as t:
        bad = t.subscribe(feed_server.url("/bad"))
        t.sync()
        assert t.feed(bad.id).etag is None
        # a library that stored one before the fix heals: it is not sent, the fetch works
        t.store._db.execute("UPDATE feeds SET etag = ? WHERE id = ?", ('"caf\u00e9"', bad.id))
        r = t.sync().results[0]
        assert r.status == "updated" and "If-None-Match" not in feed_server.last("/bad").headers


def test_bad_links_cost_only_their_article_and_image(tmp_path, feed_server):
    feed_server.route("/page", body=b"<html><body><article><h1>P</h1>" + b"<p>Real page text here. </p>" * 60
                      + b"</article></body></html>", content_type="text/html; charset=utf-8")
    feed_server.route("/img.png", body=b"\x89PNG\r\n\x1a\n" + b"0" * 100, content_type="image/png")
    page, img = feed_server.url("/page"), feed_server.url("/img.png")
    body = rss(item(1, desc="Short.", link="http://[::1/x") + item(2, desc="Short.", link="http://127.0.0.1:99999/p")
               + item(3, desc="Short.", link=page)
               + item(4, desc=f'<![CDATA[<p>{"Long text. " * 80}<img src="http://[::1/x.png"><img src="{img}">'
                               f'<img src="http://127.0.0.1:99999/i.png"></p>]]>'))
    feed_server.route("/f", body=body)
    with make_tidings(tmp_path / "data") as t:
        f = t.subscribe(feed_server.url("/f"))
        [r] = t.sync().results
        assert r.status == "updated" and r.new == 4
        assert r.fulltext == 1 and r.images == 1, r  # the good page and the good image, fetched
        arts = {a.url or a.guid: a for a in t.articles(ArticleQuery(feed_id=f.id))}
        assert "Real page text" in arts[page].text
        assert any(p.endswith(".png") for a in arts.values() for p in a.images.values())
        # the sanitiser drops image addresses that are not valid URLs; any that got through has its error
        errors = dict(t.store._db.execute("SELECT url, error FROM images WHERE path IS NULL").fetchall())
        assert all(e for e in errors.values()), errors
        assert not t.store.pending_fulltext() and not t.store.pending_images()  # nothing left to retry for ever
        assert t.sync().results[0].status == "updated"  # second sync: the same, nothing left pending


def test_a_long_feed_keeps_its_first_entries_and_says_so(tmp_path, feed_server):
    serve(feed_server, "5,100 entries")
    with make_tidings(tmp_path / "data") as t:
        f = t.subscribe(feed_server.url("/bad"))
        [r] = t.sync().results
        assert r.status == "updated" and r.new == P.MAX_ENTRIES
        assert "5,100" in t.feed(f.id).last_error and t.feed(f.id).error_count == 0


# --- memory: a separate process, so its peak is its own -----------------------------------------

MEMORY_CHILD = r"""
import sys
sys.path.insert(0, {repo!r})
from app.core import make_tidings
with make_tidings({data!r}) as t:
    for u in {urls!r}:
        t.subscribe(u)
    report = t.sync()
    print([(r.status, r.error_kind) for r in report.results])
# VmHWM, not ru_maxrss: Linux carries the forking parent's (pytest's) peak into ru_maxrss across exec
print("PEAK", int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) // 1024)
"""


def sync_peak_mb(tmp_path, feed_urls: list[str]) -> tuple[int, str]:
    code = MEMORY_CHILD.format(repo=str(REPO), data=str(tmp_path / "mem"), urls=feed_urls)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "TIDINGS_PARSE_PROCESS": "never"})
    assert out.returncode == 0, out.stderr[-2000:]
    return int(re.search(r"PEAK (\d+)", out.stdout).group(1)), out.stdout


def test_a_9_mb_feed_of_unclosed_tags_has_bounded_memory(tmp_path, feed_server):
    for name in ("9 MB of unclosed tags", "8 MB malformed, unclosed", "200,000 nested divs"):
        feed_server.route("/" + str(abs(hash(name))), **CASES[name])
    peak, out = sync_peak_mb(tmp_path, [feed_server.url("/" + str(abs(hash(n))))
                                         for n in ("9 MB of unclosed tags", "8 MB malformed, unclosed",
                                                   "200,000 nested divs")])
    assert peak < 300, (peak, out)  # was ~1 GB


# --- parsers, fuzzed over real corpus feeds ----------------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FEEDS = sorted(p for p in CORPUS.iterdir() if p.suffix in (".rss", ".atom", ".xml", ".json"))
HOSTILE_SNIPPETS = [b"\x00", b"\xff\xfe", b"&#xD800;", b"&#0;", b"\\ud800", b"<![CDATA[", b"]]>", b"<div>" * 300,
                    b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]>", b"&a;", b"\x1b]0;t\x07", "\u202e".encode(),
                    b'<enclosure url="http://[::1/x" length="1e999"/>', b"<link>http://a:99999/</link>",
                    b'"size_in_bytes": 1e999', b"</item>", b"<item>", b"\xc3\x28", b"\xed\xa0\x80"]


@st.composite
def mutated_feed(draw):
    body = bytearray(FEEDS[draw(st.integers(0, len(FEEDS) - 1))].read_bytes()[:60_000])
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "insert", "cut", "delete"]))
        pos = draw(st.integers(0, max(len(body) - 1, 0)))
        if op == "flip" and body:
            body[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            body[pos:pos] = draw(st.sampled_from(HOSTILE_SNIPPETS))
        elif op == "cut":
            del body[pos:]
        else:
            del body[pos:pos + draw(st.integers(1, 200))]
    return bytes(body)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_feed())
def test_fuzzed_corpus_feeds_parse_or_fail_in_plain_words(body):
    start = time.monotonic()
    try:
        parsed = P.parse_feed(body, "https://example.org/feed")
    except NotAFeed as e:
        assert str(e).startswith("Not a feed"), e
        return
    assert time.monotonic() - start < 20
    assert parsed.title == normalise.line(parsed.title)
    for e in parsed.entries:
        assert e.title == normalise.line(e.title) and e.authors == normalise.line(e.authors)
        for s in (e.summary, e.content_html, e.text, e.guid):
            s.encode("utf-8")
        assert e.url is None or urls.valid(e.url)
        assert all(x.length is None or 0 <= x.length <= normalise.SQLITE_MAX_INT for x in e.enclosures)
        assert e.content_hash and e.text is not None


def test_fuzzed_feeds_sync_beside_a_good_one(tmp_path, feed_server):
    """A handful of mutated corpus feeds through the whole sync: the good feed is always stored."""
    import random

    rng = random.Random(9)
    feed_server.route("/good", body=GOOD)
    with make_tidings(tmp_path / "data") as t:
        good = t.subscribe(feed_server.url("/good"))
        for i in range(12):
            body = bytearray(rng.choice(FEEDS).read_bytes())
            for _ in range(4):
                pos = rng.randrange(len(body))
                body[pos:pos] = rng.choice(HOSTILE_SNIPPETS)
            feed_server.route(f"/m{i}", body=bytes(body), content_type=rng.choice(
                ["application/rss+xml", "application/json", "text/html", None]))
            t.subscribe(feed_server.url(f"/m{i}"))
        for _ in (1, 2):
            report = t.sync()
            assert len(report.results) == 13 and not report.cancelled
            assert all(r.status != "error" or r.error for r in report.results)
        assert len(t.articles(ArticleQuery(feed_id=good.id))) == 5
        check_normalised(t)


# --- decide: pure, no SQLite ------------------------------------------------------------------------


def test_decide_is_pure_data():
    e = ParsedEntry(guid="a", url="https://e.org/a", title="T", authors="", published=None, updated=None,
                    summary="<p>short</p>", content_html="")
    long = ParsedEntry(guid="b", url="https://e.org/b", title="T", authors="", published=None, updated=None,
                       summary="", content_html="<p>" + "word " * 200 + '<img src="https://e.org/i.png"></p>')
    plans = decide.plan_entries([e, long, e], {}, fetch_full_text=True, fetch_images=True)
    assert [(p.entry.guid, p.is_new, p.needs_fulltext, p.needs_images) for p in plans] == \
        [("a", True, True, False), ("b", True, False, True)]
    _, h = decide.derive(long)
    assert decide.plan_entries([long], {"b": (7, h)}, fetch_full_text=True, fetch_images=True) == []
    [changed] = decide.plan_entries([long], {"b": (7, "old")}, fetch_full_text=False, fetch_images=False)
    assert changed.article_id == 7 and not changed.needs_images
    assert decide.pages_to_fetch([(1, "http://[::1/x"), (2, None), (3, "https://e.org/3")]) == \
        ([(3, "https://e.org/3")], [1, 2])
    assert decide.images_to_fetch(["u1", "u2", "u3"], {"u1": "p", "u2": None}) == (["u3"], ["u1"])
    assert decide.is_teaser("x" * 10, "https://e.org") and not decide.is_teaser("x" * 10, None)


def test_normalise_helpers():
    assert normalise.text("a\ud800b\x00c") == "abc"
    assert normalise.line(f"  a{ESC}[31m\u202eb\n c\u2066 ") == "a [31m b c"
    assert normalise.clamp_int("99999999999999999999999") == normalise.SQLITE_MAX_INT
    assert normalise.clamp_int("-5") == 0 and normalise.clamp_int("x") is None and normalise.clamp_int(1e999) is None
    assert normalise.header_token('"caf\u00e9"') is None and normalise.header_token('W/"abc"') == 'W/"abc"'
    assert normalise.http_date("Sat, 01 Nov 2025 10:00:00 GMT") and normalise.http_date("yesterday") is None
    bounded = normalise.bound_html("<div>" * 1000 + "x" + "</div>" * 1000)
    assert bounded.count("<div>") == normalise.HTML_MAX_DEPTH and bounded.count("</div>") == normalise.HTML_MAX_DEPTH
    assert normalise.bound_html("<p>" * 5000) == "<p>" * 5000  # implied end tags do not nest
    assert ESC not in normalise.printable(f"x{ESC}]0;t\x07\u009b") and normalise.printable("a\tb\nc") == "a\tb\nc"
    for bad in ("http://[::1/x", "http://a:99999/", "ftp://a/", "http:///x", "http://a b/", "javascript:x", ""):
        with pytest.raises(BadAddress):
            urls.check(bad)
    assert urls.join("https://e.org/a/", "../b") == "https://e.org/b" and urls.join("https://e.org/", "http://[x") is None


# --- the command line -------------------------------------------------------------------------------


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_sync_and_add_of_hostile_feeds(tmp_path, feed_server, capsys):
    for name in ("json lone surrogate", "control chars and bidi in title", "enclosure length beyond 64 bits"):
        feed_server.route("/" + name.replace(" ", "-"), **CASES[name])
    d = tmp_path / "data"
    for name in ("json lone surrogate", "control chars and bidi in title", "enclosure length beyond 64 bits"):
        code, out, err = cli(capsys, "--data-dir", d, "add", feed_server.url("/" + name.replace(" ", "-")))
        assert code == 0, err
        assert ESC not in out + err and "\u202e" not in out + err
    for _ in (1, 2):
        code, out, err = cli(capsys, "--data-dir", d, "sync")
        assert code == 0 and "failed" not in err, err
    for args in (("feeds",), ("articles",), ("articles", "--json"), ("feeds", "--json"), ("search", "Evil"),
                 ("show", "1"), ("show", "2"), ("show", "3")):
        code, out, err = cli(capsys, "--data-dir", d, *args)
        assert code == 0, (args, err)
        for bad in (ESC, "\x07", "\u009b", "\u202e", "\u2066"):
            assert bad not in out + err, (args, bad)


@pytest.mark.parametrize("args", [
    ("articles", "--since", "9999-12-31"), ("articles", "--since", "0001-01-01"), ("digest", "--date", "9999-12-31"),
    ("digest", "--date", "0001-01-01"), ("articles", "--since", "2026-02-30"),
    ("show", "99999999999999999999"), ("show", "-1"), ("show", "0"), ("star", "9223372036854775808"),
    ("articles", "--limit", "99999999999999999999"), ("articles", "--limit", "0"), ("search", "x", "--limit", "-3"),
    ("mark-read", "1", "18446744073709551616"), ("feed-options", "99999999999999999999"),
    ("sync", "--feed", "99999999999999999999"), ("articles", "--feed", "1e9"),
    ("add", "http://[::1/x"), ("add", "http://example.org:99999/feed"), ("add", "ftp://example.org/feed"),
    ("add", "javascript:alert(1)"), ("add", "file:///etc/passwd"), ("add", "http://exa mple.org/"),
    ("add", "http://"), ("add", "http://example.org:0/"), ("screenshot", "x.png", "--size", "99999999x1"),
])
def test_cli_bad_arguments_are_usage_errors(args, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["--data-dir", str(tmp_path / "data"), *args])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


def test_cli_file_paths_are_exit_1_with_the_reason(tmp_path, capsys):
    d = tmp_path / "data"
    (tmp_path / "a-file").write_text("x")
    for args, words in [
        (("import", tmp_path / "missing.opml"), "no file"),
        (("import", tmp_path), "folder"),
        (("export", tmp_path / "no" / "such" / "x.opml"), "does not exist"),
        (("export", tmp_path), "folder"),
    ]:
        code, out, err = cli(capsys, "--data-dir", d, *args)
        assert code == 1 and words in err and "bug" not in err, (args, err)
    code, out, err = cli(capsys, "--data-dir", tmp_path / "a-file", "feeds")
    assert code == 1 and "is a file" in err
    code, out, err = cli(capsys, "--data-dir", d, "digest", "--extractive", "--html", tmp_path / "no" / "x.html")
    assert code == 1 and "does not exist" in err and out.strip(), "the digest is still printed"


OPML_HEAD = b'<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>'


@pytest.mark.parametrize("name,doc", [
    ("deeper than the parser allows", OPML_HEAD + b'<outline text="a" xmlUrl="https://a.example/f"/>'
     + b'<outline text="x">' * 300 + b'<outline text="y" xmlUrl="https://b.example/f"/>' + b"</outline>" * 300
     + b"</body></opml>"),
    ("entities in UTF-16", ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">]>'
                            '<opml version="2.0"><body><outline text="&a;" xmlUrl="https://a.example/f"/></body></opml>'
                            ).encode("utf-16")),
    ("entities after a long prefix", b'<?xml version="1.0"?><!-- ' + b"x" * 100_000 + b' -->'
     b'<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">]><opml version="2.0"><body>'
     b'<outline text="&a;&a;&a;" xmlUrl="https://a.example/f"/></body></opml>'),
    ("billion laughs", b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">'
     + b"".join(b'<!ENTITY %s "%s">' % (bytes([98 + i]), (b"&%s;" % bytes([97 + i])) * 10) for i in range(8))
     + b']><opml version="2.0"><body><outline text="&i;" xmlUrl="https://a.example/f"/></body></opml>'),
    ("entities in UTF-32", ('<?xml version="1.0" encoding="UTF-32"?><!DOCTYPE opml [<!ENTITY a "x">]><opml/>'
                            ).encode("utf-32")),
    ("not OPML", b"<html><body>hi</body></html>"),
])
def test_cli_hostile_opml_is_an_error_not_a_silent_loss(name, doc, tmp_path, capsys):
    f = tmp_path / "x.opml"
    f.write_bytes(doc)
    start = time.monotonic()
    code, out, err = cli(capsys, "--data-dir", tmp_path / "data", "import", f)
    assert code == 1 and "Imported" not in out, (name, out, err)
    assert time.monotonic() - start < TIME_BOUND
    with make_tidings(tmp_path / "data") as t:
        assert t.feeds() == []  # nothing half-imported


def test_opml_with_bad_addresses_imports_the_good_ones(tmp_path, capsys):
    f = tmp_path / "x.opml"
    f.write_bytes(OPML_HEAD + b'<outline text="A &amp; B" xmlUrl="https://a.example/f"/>'
                  b'<outline xmlUrl="http://[::1/x"/><outline xmlUrl="http://a:99999/"/>'
                  b'<outline xmlUrl="javascript:x"/><outline text="t&#x1b;[2J" xmlUrl="feed://c.example/f"/>'
                  b"</body></opml>")
    code, out, err = cli(capsys, "--data-dir", tmp_path / "data", "import", f)
    assert code == 0 and "Imported 2" in out
    with make_tidings(tmp_path / "data") as t:
        assert sorted(x.url for x in t.feeds()) == ["http://c.example/f", "https://a.example/f"]
        assert all(ESC not in x.title for x in t.feeds())


# --- the library: read-only, locked -----------------------------------------------------------------


@pytest.fixture
def library(tmp_path):
    d = tmp_path / "data"
    with make_tidings(d) as t:
        f = t.subscribe("https://example.org/feed")
        from tests.helpers import feed as made_feed

        ids = t.store.save_entries(f.id, made_feed(3, published=datetime.now(timezone.utc)),
                                   now=datetime.now(timezone.utc)).new
        t.update_search()
    return d, ids


def test_a_read_only_library_can_be_read(library, capsys, monkeypatch):
    d, ids = library
    import app.store

    monkeypatch.setattr(app.store, "_looks_read_only", lambda path: True)  # as a read-only folder looks (not root)
    for args in (("feeds",), ("articles", "--json"), ("show", ids[0]), ("search", "Post"), ("export",)):
        code, out, err = cli(capsys, "--data-dir", d, *args)
        assert code == 0 and out, (args, err)
    code, out, err = cli(capsys, "--data-dir", d, "star", ids[0])
    assert code == 1 and "read-only" in err and "bug" not in err


def test_a_read_only_library_sees_unindexed_articles_in_search(library):
    d, ids = library
    with make_tidings(d) as t:
        from tests.helpers import entry
        from app.models import ParsedFeed

        t.store.save_entries(t.feeds()[0].id, ParsedFeed("x", None, [entry(99, title="Zebracorn sighting",
                                                                              guid="new")]), now=T0)
    ro = Store(d / "tidings.sqlite", read_only=True)
    try:
        [found] = ro.search("zebracorn")
        assert ro.article(found).title == "Zebracorn sighting"
        with pytest.raises(StoreError, match="read-only"):
            ro.set_starred(found, True)
    finally:
        ro.close()


def test_search_needs_no_write_lock(library):
    d, ids = library
    store = Store(d / "tidings.sqlite", busy_timeout=5)
    other = sqlite3.connect(d / "tidings.sqlite", isolation_level=None)
    try:
        from tests.helpers import entry
        from app.models import ParsedFeed

        store.save_entries(1, ParsedFeed("x", None, [entry(98, title="Quokka news", guid="q")]), now=T0)
        other.execute("BEGIN IMMEDIATE")  # another process is writing (a sync)
        start = time.monotonic()
        assert len(store.search("quokka")) == 1 and store.search("post")
        assert time.monotonic() - start < 3  # did not wait out the 5 s busy timeout
    finally:
        other.execute("ROLLBACK")
        other.close()
        store.close()


def test_starring_many_is_atomic(library):
    d, ids = library
    with make_tidings(d) as t:
        with pytest.raises(NotFound):
            t.star([ids[0], ids[1], 10**12])
        assert not any(a.starred for a in t.articles())
        assert t.star(ids) == len(ids) and all(a.starred for a in t.articles())


def test_a_digest_finished_while_the_library_is_locked_is_kept(library, capsys, monkeypatch):
    d, ids = library
    monkeypatch.setattr(Store, "digest_save_wait", 0.3)
    monkeypatch.setattr(Store.__init__, "__kwdefaults__", {"busy_timeout": 0.3, "read_only": None})
    other = sqlite3.connect(d / "tidings.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        code, out, err = cli(capsys, "--data-dir", d, "digest", "--extractive")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert code == 1 and "could not be saved" in err, err
    assert "Post number" in out  # printed all the same
    [kept] = list((d / "unsaved").glob("digest-*.json"))
    assert str(kept) in err and json.loads(kept.read_text())["items"]
    store = Store(d / "tidings.sqlite")
    try:
        digest = Digest("2026-11-21", "briefing", "m", False, "H", [DigestItem("lead", "t", "x", [ids[0]], ["s"])], "c")
        assert store.save_digest(digest)  # not locked: saved as always
    finally:
        store.close()


def test_a_digest_save_retries_while_briefly_locked(library):
    d, ids = library
    store = Store(d / "tidings.sqlite", busy_timeout=0.2)
    other = sqlite3.connect(d / "tidings.sqlite", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    import threading

    threading.Timer(0.8, lambda: other.execute("ROLLBACK")).start()
    try:
        digest = Digest("2026-11-21", "briefing", "m", False, "H", [DigestItem("lead", "t", "x", [ids[0]], ["s"])], "c")
        assert store.save_digest(digest)
        assert not (d / "unsaved").exists()
    finally:
        time.sleep(0.9)
        other.close()
        store.close()


def test_add_a_site_whose_feed_link_is_malformed(tmp_path, feed_server, capsys):
    feed_server.route("/feed.xml", body=GOOD)
    feed_server.route("/", body=b'<html><head><title>Site</title>'
                      b'<link rel="alternate" type="application/rss+xml" href="http://[::1/x">'
                      b'<link rel="alternate" type="application/rss+xml" href="http://a:99999/f">'
                      b'<link rel="alternate" type="application/rss+xml" href="/feed.xml"></head></html>',
                      content_type="text/html; charset=utf-8")
    code, out, err = cli(capsys, "--data-dir", tmp_path / "data", "add", feed_server.url("/"))
    assert code == 0 and feed_server.url("/feed.xml") in out, err
    feed_server.route("/only-bad", body=b'<html><head><link rel="alternate" type="application/rss+xml" '
                      b'href="http://[::1/x"></head></html>', content_type="text/html")
    code, out, err = cli(capsys, "--data-dir", tmp_path / "data", "add", feed_server.url("/only-bad"))
    assert code == 0 and "/feed.xml" in out, err  # the bad link skipped, the site's common paths tried
