"""Podcasts and video: which enclosures play, resumable downloads with HTTP Range from a loopback
server, the size cap, played state, the Podcasts view, retention removing downloads, the CLI."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from feedserver import Reply, feed_server  # noqa: F401 - fixture

from app.cli import main
from app.core import make_tidings
from app.downloads import DownloadCancelled, DownloadTooLarge, file_name, is_media
from app.models import ArticleQuery, Enclosure, ParsedFeed
from tests.helpers import entry

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)
EPISODE = bytes(range(256)) * 4000  # ~1 MB


def ranged(body: bytes, *, honour_range: bool = True):
    """A route handler that serves `body`, with Range support like a podcast host."""
    def handler(req):
        rng = req.headers.get("Range") or req.headers.get("range")
        if rng and honour_range:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(body):
                return Reply(status=416, headers={"Content-Range": f"bytes */{len(body)}"}, content_type="audio/mpeg")
            return Reply(status=206, body=body[start:], content_type="audio/mpeg",
                         headers={"Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"})
        return Reply(body=body, content_type="audio/mpeg")
    return handler


@pytest.fixture
def t(tmp_path):
    with make_tidings(tmp_path / "lib", clock=lambda: NOW) as t:
        yield t


def podcast(t, url: str, *, days_old: int = 0, guid="e1"):
    f = t.subscribe("https://pod.example/feed")
    e = entry(1, guid=guid, title="Episode 1", published=NOW - timedelta(days=days_old),
              enclosures=[Enclosure(url, "audio/mpeg", len(EPISODE)), Enclosure("https://pod.example/cover.jpg", "image/jpeg")])
    return t.store.save_entries(f.id, ParsedFeed("Pod", None, [e]), now=NOW).new[0]


def test_is_media_by_type_or_extension():
    assert is_media(Enclosure("https://x/a", "audio/mpeg"))
    assert is_media(Enclosure("https://x/a.MP4?token=1", None))
    assert is_media(Enclosure("https://x/a.mp3", "application/octet-stream"))
    assert not is_media(Enclosure("https://x/a.pdf", "application/pdf"))
    assert not is_media(Enclosure("https://x/a.mp3", "text/html"))
    assert file_name(7, "https://x/path/My%20Show%20..%2F..%2Fep.mp3?x=1") == "7-My_Show_.._.._ep.mp3"


def test_podcasts_view_download_play_played(t, feed_server):
    feed_server.route("/ep.mp3", handler=ranged(EPISODE))
    aid = podcast(t, feed_server.url("/ep.mp3"))
    other = t.subscribe("https://text.example/feed")
    t.store.save_entries(other.id, ParsedFeed("T", None, [entry(2, guid="t")]), now=NOW)
    assert t.article_ids(ArticleQuery(podcasts=True)) == [aid]
    [m] = t.media(aid)  # the cover image is not media
    assert (m.state, m.played, m.kind) == ("none", False, "audio")
    assert t.play_target(aid) == feed_server.url("/ep.mp3")  # not downloaded: the web address
    assert t.media(aid)[0].played
    seen = []
    m = t.download_media(aid, on_progress=lambda r, total: seen.append((r, total)))
    assert m.downloaded and m.state == "done" and m.total == len(EPISODE)
    assert open(m.path, "rb").read() == EPISODE and seen[-1] == (len(EPISODE), len(EPISODE))
    assert m.path.startswith(str(t.download_dir))
    assert t.play_target(aid) == m.path  # downloaded: the file
    t.set_played(aid, False)
    assert not t.media(aid)[0].played
    t.remove_download(aid)
    assert t.media(aid)[0].state == "none" and not (t.download_dir / file_name(aid, m.url)).exists()


def test_download_resumes_with_range(t, feed_server):
    feed_server.route("/ep.mp3", handler=ranged(EPISODE))
    aid = podcast(t, feed_server.url("/ep.mp3"))
    cancel = threading.Event()

    def stop_early(received, total):
        if received >= 200_000:
            cancel.set()

    import app.downloads as dl

    old = dl.PROGRESS_EVERY
    dl.PROGRESS_EVERY = 0
    try:
        with pytest.raises(DownloadCancelled):
            t.download_media(aid, on_progress=stop_early, cancel=cancel)
    finally:
        dl.PROGRESS_EVERY = old
    partial = t.media(aid)[0]
    assert partial.state == "partial" and 200_000 <= partial.received < len(EPISODE)
    m = t.download_media(aid)
    assert open(m.path, "rb").read() == EPISODE
    last = feed_server.requests[-1]
    assert last.headers.get("Range") == f"bytes={partial.received}-"


def test_server_ignoring_range_starts_again(t, feed_server):
    feed_server.route("/ep.mp3", handler=ranged(EPISODE, honour_range=False))
    aid = podcast(t, feed_server.url("/ep.mp3"))
    dest = t.download_dir / file_name(aid, feed_server.url("/ep.mp3"))
    dest.parent.mkdir(parents=True)
    dest.with_name(dest.name + ".part").write_bytes(b"garbage!" * 1000)
    m = t.download_media(aid)
    assert open(m.path, "rb").read() == EPISODE


def test_size_cap_refuses_and_keeps_nothing(t, feed_server):
    feed_server.route("/ep.mp3", handler=ranged(EPISODE))
    aid = podcast(t, feed_server.url("/ep.mp3"))
    t.set_setting("download_max_mb", 0.5)
    with pytest.raises(DownloadTooLarge, match="more than the 0.5 MB"):
        t.download_media(aid)
    assert t.media(aid)[0].state == "failed" and not any(t.download_dir.iterdir())


def test_dead_server_is_a_typed_error(t):
    from app.errors import FetchFailed

    aid = podcast(t, "http://127.0.0.1:9/ep.mp3")
    with pytest.raises(FetchFailed):
        t.download_media(aid)


def test_retention_removes_downloads(t, feed_server):
    feed_server.route("/ep.mp3", handler=ranged(EPISODE))
    aid = podcast(t, feed_server.url("/ep.mp3"), days_old=40)
    m = t.download_media(aid)
    t.set_setting("retention_days", 30)
    report = t.apply_retention()
    assert report.downloads == 1 and report.bytes_freed >= len(EPISODE)
    import os

    assert not os.path.exists(m.path)


def test_cli_podcasts_download_play(tmp_path, feed_server, capsys):
    feed_server.route("/ep.mp3", handler=ranged(EPISODE))
    with make_tidings(tmp_path / "lib", clock=lambda: NOW) as t:
        aid = podcast(t, feed_server.url("/ep.mp3"))
    d = ["--data-dir", str(tmp_path / "lib")]
    assert main([*d, "podcasts"]) == 0
    assert "new     Pod: Episode 1" in capsys.readouterr().out
    assert main([*d, "download", str(aid)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Saved ") and "1.0 MB" in out
    assert main([*d, "play", str(aid), "--print"]) == 0
    assert capsys.readouterr().out.strip().endswith("-ep.mp3")
    assert main([*d, "podcasts", "--json"]) == 0
    import json

    [row] = json.loads(capsys.readouterr().out)
    assert row["played"] and row["state"] == "done"
    assert main([*d, "download", "999"]) == 1
