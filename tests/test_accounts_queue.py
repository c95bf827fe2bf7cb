"""The account queue and credentials without a server in the way: the schema's triggers, what the
mirror may not queue back, kill -9, the keyring / 0600 file, and the `tidings account` CLI (over
the Google Reader stand-in, so it is real HTTP)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from datetime import datetime, timezone

import pytest

from app.accounts.credentials import CredentialStore
from app.accounts.sync import collapse, segments
from app.core import Tidings
from app.errors import NoKeyring
from app.models import AccountChange, RemoteFeed
from tests.helpers import feed
from tests.support.accounts import MemoryKeyring, open_tidings
from tests.support.greader_standin import GReaderStandin

NOW = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)


def account_with_articles(t, n=3):
    aid = t.store.add_account("greader", "x", "http://127.0.0.1:9", "u", now=NOW)
    ids = t.store.mirror_account_feeds(aid, [RemoteFeed("feed/1", "https://example.org/a.xml", "A")], now=NOW)
    parsed = feed(n)
    for i, e in enumerate(parsed.entries):
        e.guid = f"r{i}"
    t.store.save_entries(ids["feed/1"], parsed, now=NOW)
    t.store.mirror_account_flags([(ids["feed/1"], f"r{i}", False, False) for i in range(n)], aid)
    return aid, ids["feed/1"]


def test_changes_are_queued_with_the_change_and_mirror_writes_are_not(tmp_path):
    with Tidings(tmp_path) as t:
        local = t.subscribe("https://example.org/local.xml")
        t.store.save_entries(local.id, feed(2), now=NOW)
        aid, fid = account_with_articles(t)
        assert t.store.account_changes(aid) == []  # mirroring queued nothing
        t.mark_all_read()  # local and account articles alike
        t.star([a.id for a in t.articles() if a.feed_id == fid][:1])
        changes = t.account_changes(aid)
        assert [c.action for c in changes] == ["read"] * 3 + ["star"]
        assert {c.remote_id for c in changes} == {"r0", "r1", "r2"}
        t.move_feed(fid, "Elsewhere")
        assert t.account_changes(aid)[-1].action == "move"
        # the server's own state arriving does not go back to it
        t.store.mirror_account_state(aid, unread={"r0", "r1", "r2"}, starred=set())
        assert len(t.account_changes(aid)) == 5
        # ... and does not override an article whose change is still queued (an unsent change wins)
        assert all(a.read for a in t.articles() if a.feed_id == fid)


def test_collapse_and_segments_keep_the_order_that_matters():
    c = lambda i, action, rid=None: AccountChange(i, 1, action, rid)  # noqa: E731
    queue = [c(1, "read", "a"), c(2, "unread", "a"), c(3, "star", "a"), c(4, "read", "b"),
             c(5, "move"), c(6, "unstar", "a"), c(7, "subscribe")]
    segs = segments(queue)
    assert [[x.id for x in s] for s in segs] == [[1, 2, 3, 4], [5], [6], [7]]
    assert collapse(segs[0]) == {"unread": ["a"], "star": ["a"], "read": ["b"]}


def test_queue_survives_kill_9(tmp_path):
    with Tidings(tmp_path) as t:
        aid, fid = account_with_articles(t)
    script = textwrap.dedent(f"""
        import os, signal
        from app.core import Tidings
        t = Tidings({str(tmp_path)!r})
        t.mark_read(t.article_ids())
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    r = subprocess.run([sys.executable, "-c", script], cwd=os.getcwd(), capture_output=True, text=True, timeout=60)
    assert r.returncode == -signal.SIGKILL, r.stderr
    with Tidings(tmp_path) as t:
        assert [c.action for c in t.account_changes(aid)] == ["read"] * 3


def test_password_file_only_when_allowed_and_0600(tmp_path):
    creds = CredentialStore(tmp_path)  # this machine has no keyring: the `keyring` fail backend
    if creds.has_keyring():
        pytest.skip("this machine has an OS keyring")
    with pytest.raises(NoKeyring) as e:
        creds.save("k", "s3cret-x")
    assert "no keyring" in str(e.value) and "file only you can read" in e.value.hint
    assert not (tmp_path / "credentials.json").exists()
    assert creds.save("k", "s3cret-x", allow_file=True) == "file"
    assert stat.S_IMODE((tmp_path / "credentials.json").stat().st_mode) == 0o600
    assert creds.get("k") == "s3cret-x"
    creds.delete("k")
    assert not (tmp_path / "credentials.json").exists()


def test_keyring_is_used_when_there_is_one(tmp_path):
    ring = MemoryKeyring()
    creds = CredentialStore(tmp_path, backend=ring)
    assert creds.save("k", "s3cret-x", allow_file=True) == "keyring"
    assert ring.secrets == {("Tidings", "k"): "s3cret-x"} and not (tmp_path / "credentials.json").exists()


def test_an_account_added_without_a_keyring_is_not_kept(tmp_path):
    with GReaderStandin("freshrss") as gr, Tidings(tmp_path) as t:
        if t.credentials.has_keyring():
            pytest.skip("this machine has an OS keyring")
        with pytest.raises(NoKeyring):
            t.add_account("greader", gr.url, gr.user, gr.password)
        assert t.accounts() == []


def cli(tmp_path, *args, stdin=""):
    env = {**os.environ, "TIDINGS_DATA_DIR": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], input=stdin, capture_output=True, text=True,
                          env=env, cwd=os.getcwd(), timeout=120)


def test_cli_account_add_list_sync_remove(tmp_path):
    with GReaderStandin("miniflux") as gr:
        f = gr.add_feed("https://example.org/a.xml", "A", folder="News")
        gr.add_entries(f, 4)
        r = cli(tmp_path, "account", "add", gr.url, gr.user, "--kind", "greader", "--password-stdin",
                "--allow-password-file", stdin=gr.password + "\n")
        assert r.returncode == 0, r.stderr
        assert "Added account 1" in r.stdout
        r = cli(tmp_path, "account", "sync", "1", "--no-extras")
        assert r.returncode == 0, r.stderr
        assert "4 new articles" in r.stderr and "Fetching 4 articles" in r.stderr
        r = cli(tmp_path, "account", "list", "--json")
        [a] = json.loads(r.stdout)
        assert a["feeds"] == 1 and a["pending"] == 0 and a["kind"] == "greader"
        r = cli(tmp_path, "articles", "--json")
        assert len(json.loads(r.stdout)) == 4
        r = cli(tmp_path, "account", "add", gr.url, gr.user, "--kind", "greader", "--password-stdin",
                stdin="wrong-pw-1\n")
        assert r.returncode == 1 and "refused the user name or password" in r.stderr and "wrong-pw-1" not in r.stderr
        for name in os.listdir(tmp_path):  # the password is in the 0600 file only
            if name != "credentials.json" and os.path.isfile(tmp_path / name):
                assert gr.password.encode() not in (tmp_path / name).read_bytes(), name
        r = cli(tmp_path, "account", "remove", "1")
        assert r.returncode == 0 and not (tmp_path / "credentials.json").exists()
        assert json.loads(cli(tmp_path, "feeds", "--json").stdout) == []


def test_cli_says_what_to_do_without_a_keyring(tmp_path):
    if CredentialStore(tmp_path).has_keyring():
        pytest.skip("this machine has an OS keyring")
    with GReaderStandin("freshrss") as gr:
        r = cli(tmp_path, "account", "add", gr.url, gr.user, "--kind", "greader", "--password-stdin",
                stdin=gr.password + "\n")
    assert r.returncode == 1 and "no keyring" in r.stderr and "--allow-password-file" not in r.stderr.split("\n")[0]


def test_migration_upgrades_an_existing_library(tmp_path):
    import sqlite3

    from app import schema

    db = sqlite3.connect(tmp_path / "tidings.sqlite", isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    for statement in schema._statements(schema.MIGRATIONS[1]):
        db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO feeds (url, added) VALUES ('https://example.org/x', '2026-01-01T00:00:00.000000Z')")
    db.close()
    with Tidings(tmp_path) as t:
        [f] = t.feeds()
        assert f.account_id is None and f.url == "https://example.org/x" and t.accounts() == []


def test_unsubscribing_before_the_server_heard_of_it_sends_nothing(tmp_path):
    with Tidings(tmp_path) as t:
        aid = t.store.add_account("greader", "x", "http://127.0.0.1:9", "u", now=NOW)
        f = t.account_subscribe(aid, "https://example.org/new.xml", folder="A")
        t.move_feed(f.id, "B")
        assert [c.action for c in t.account_changes(aid)] == ["subscribe", "move"]
        t.remove_feed(f.id)
        assert t.account_changes(aid) == []
