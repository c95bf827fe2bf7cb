"""The CLI contract, offline commands (sync/add are covered with a loopback server in the sync tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from app import make_tidings
from app.cli import main
from tests.helpers import entry, feed

NOW = datetime.now(timezone.utc)


@pytest.fixture
def store_dir(tmp_path):
    with make_tidings(tmp_path) as t:
        f = t.subscribe("https://example.org/feed", folder="News")
        ids = t.store.save_entries(f.id, feed(3, published=NOW), now=NOW).new
        other = feed(0)
        other.entries = [entry(0, title="Other story", guid="x", published=NOW)]
        t.store.save_entries(t.subscribe("https://example.org/b").id, other, now=NOW)
        t.set_starred(ids[0])
    return tmp_path


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_feeds_json(store_dir, capsys):
    code, out, _ = run(capsys, "--data-dir", str(store_dir), "feeds", "--json")
    assert code == 0
    feeds = json.loads(out)
    assert {f["url"] for f in feeds} == {"https://example.org/feed", "https://example.org/b"}
    f = next(f for f in feeds if f["folder"] == "News")
    assert set(f) >= {"id", "title", "url", "site_url", "folder", "unread", "last_error"} and f["unread"] == 3


def test_articles_json_filters_and_fields(store_dir, capsys):
    code, out, _ = run(capsys, "--data-dir", str(store_dir), "articles", "--starred", "--json")
    [a] = json.loads(out)
    for key in ("id", "feed_id", "feed_title", "title", "url", "authors", "published", "summary",
                "content_html", "text", "read", "starred", "images"):
        assert key in a
    assert a["starred"] is True and a["published"].endswith("Z")
    assert a["feed_title"] == "Example feed"
    code, out, _ = run(capsys, "--data-dir", str(store_dir), "articles", "--since",
                       NOW.astimezone().date().isoformat(), "--unread", "--json")
    assert len(json.loads(out)) == 4


def test_read_star_show_search(store_dir, capsys):
    d = str(store_dir)
    _, out, _ = run(capsys, "--data-dir", d, "articles", "--json")
    ids = [a["id"] for a in json.loads(out)]
    assert run(capsys, "--data-dir", d, "mark-read", str(ids[0]), str(ids[1]))[0] == 0
    _, out, _ = run(capsys, "--data-dir", d, "articles", "--unread", "--json")
    assert len(json.loads(out)) == 2
    code, out, _ = run(capsys, "--data-dir", d, "show", str(ids[0]))
    assert code == 0 and "Full body text of the post." in out and "<p>" not in out
    code, out, _ = run(capsys, "--data-dir", d, "search", "other", "--json")
    assert [a["title"] for a in json.loads(out)] == ["Other story"]
    assert run(capsys, "--data-dir", d, "star", str(ids[2]))[0] == 0
    _, out, _ = run(capsys, "--data-dir", d, "articles", "--starred", "--json")
    assert len(json.loads(out)) == 2
    assert run(capsys, "--data-dir", d, "mark-read", "--all")[0] == 0
    _, out, _ = run(capsys, "--data-dir", d, "articles", "--unread", "--json")
    assert json.loads(out) == []


def test_errors_are_plain_words_with_exit_1(store_dir, capsys):
    code, _, err = run(capsys, "--data-dir", str(store_dir), "show", "99999")
    assert code == 1 and "There is no article 99999." in err
    code, _, err = run(capsys, "--data-dir", str(store_dir), "import", str(store_dir / "missing.opml"))
    assert code == 3 or code == 1


def test_export_import_through_the_cli(store_dir, tmp_path, capsys):
    opml = tmp_path / "subs.opml"
    assert run(capsys, "--data-dir", str(store_dir), "export", str(opml))[0] == 0
    other = tmp_path / "other"
    code, out, _ = run(capsys, "--data-dir", str(other), "import", str(opml))
    assert code == 0 and "Imported 2 new feeds" in out


def test_env_var_picks_the_data_dir(store_dir):
    env = {"TIDINGS_DATA_DIR": str(store_dir), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-m", "app.cli", "feeds", "--json"], capture_output=True, text=True,
                       env=env, cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)) == 2


def test_feed_options_switch_offline_reading_per_feed(store_dir, capsys):
    d = str(store_dir)
    _, out, _ = run(capsys, "--data-dir", d, "feeds", "--json")
    fid = json.loads(out)[0]["id"]
    code, out, _ = run(capsys, "--data-dir", d, "feed-options", str(fid), "--no-full-text")
    assert code == 0 and "full text off, images on" in out
    code, out, _ = run(capsys, "--data-dir", d, "feed-options", str(fid), "--full-text", "--no-images")
    assert "full text on, images off" in out
    with make_tidings(store_dir) as t:
        f = t.feed(fid)
        assert f.fetch_full_text and not f.fetch_images
