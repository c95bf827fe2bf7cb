"""Google Reader API accounts against tests/support/greader_standin.py, in its FreshRSS and
Miniflux flavours (written from their code; no such server installs here)."""

from __future__ import annotations

import pytest

from app.accounts.greader import GReaderClient, long_id
from app.errors import ApiDisabled, ServerRefused, ServerUnreachable, WrongPassword
from tests.support.accounts import MemoryKeyring, open_tidings
from tests.feedserver import feed_server  # noqa: F401 - fixture
from tests.support.greader_standin import GReaderStandin, parse_item_id


@pytest.fixture(params=["freshrss", "miniflux"])
def gr(request):
    with GReaderStandin(request.param) as s:
        yield s


@pytest.fixture
def t(tmp_path):
    with open_tidings(tmp_path / "lib", MemoryKeyring()) as t:
        yield t


def add(t, gr):
    return t.add_account("greader", gr.url, gr.user, gr.password)


def arts(t):
    return {a.guid: a for a in t.articles()}


def test_item_id_forms():
    assert long_id("31") == "tag:google.com,2005:reader/item/000000000000001f"
    assert long_id("000000000000001f") == long_id("31") == long_id("tag:google.com,2005:reader/item/1f")
    assert long_id("tag:google.com,2005:reader/item/000000000000001F") == long_id(31)
    assert parse_item_id(long_id("12345")) == 12345  # what the servers do with the form we send


def test_first_sync_and_state_both_ways(t, gr):
    news = gr.add_feed("https://example.org/n.xml", "News", folder="Daily")
    ids = gr.add_entries(news, 30)  # more than FreshRSS's default page of 20
    gr.entries[ids[0]].starred = True
    gr.entries[ids[0]].read = True
    a = add(t, gr)
    report = t.sync_account(a.id, extras=False)
    assert report.error is None and report.new == 30
    [feed] = t.feeds()
    assert (feed.title, feed.folder, feed.url, feed.remote_id) == ("News", "Daily", "https://example.org/n.xml",
                                                                  f"feed/{news}")
    mine = arts(t)
    first = mine[long_id(ids[0])]
    assert first.read and first.starred and not mine[long_id(ids[1])].read
    assert first.text == f"Text of item {ids[0]}." and first.url == f"https://example.org/{news}/{ids[0]}"

    # here: read two, star one; there: another read, a new item
    t.mark_read([mine[long_id(ids[1])].id, mine[long_id(ids[2])].id])
    t.star([mine[long_id(ids[3])].id])
    gr.entries[ids[4]].read = True
    later = gr.add_entries(news, 1)
    report = t.sync_account(a.id, extras=False)
    assert report.sent == 3 and report.new == 1
    assert gr.entries[ids[1]].read and gr.entries[ids[2]].read and gr.entries[ids[3]].starred
    mine = arts(t)
    assert mine[long_id(ids[4])].read and long_id(later[0]) in mine
    assert gr.hits("edit-tag") == 2  # one batch per tag, not one request per article


def test_many_read_marks_go_in_batches(t, gr):
    feed = gr.add_feed("https://example.org/n.xml", "News")
    gr.add_entries(feed, 600)
    a = add(t, gr)
    t.sync_account(a.id, extras=False)
    t.mark_all_read()
    before = gr.hits("edit-tag")
    t.sync_account(a.id, extras=False)
    assert gr.hits("edit-tag") - before == 3  # 600 ids, 250 a request
    assert not any(not e.read for e in gr.entries.values())


def test_bulk_first_sync_uses_stream_contents_where_offered(t, gr):
    feed = gr.add_feed("https://example.org/n.xml", "News")
    gr.add_entries(feed, 1200)
    a = add(t, gr)
    report = t.sync_account(a.id, extras=False)
    assert report.new == 1200
    if gr.flavour == "freshrss":
        assert gr.hits("stream/contents/user/-/state/com.google/reading-list") == 3  # 500 a page, continuation
        assert gr.hits("stream/items/contents") == 0
    else:  # Miniflux has no stream/contents (its catch-all answers []): by id instead
        assert gr.hits("stream/items/contents") == 5


def test_subscribe_move_unsubscribe(t, gr):
    keep = gr.add_feed("https://example.org/keep.xml", "Keep", folder="A")
    gone = gr.add_feed("https://example.org/gone.xml", "Gone")
    a = add(t, gr)
    t.sync_account(a.id, extras=False)
    feeds = {f.title: f for f in t.feeds()}
    t.move_feed(feeds["Keep"].id, "B")
    t.remove_feed(feeds["Gone"].id)
    t.account_subscribe(a.id, "https://example.org/new.xml", folder="A")
    report = t.sync_account(a.id, extras=False)
    assert report.sent == 3 and report.rejected == 0
    assert gr.feeds[keep].folder == "B" and gone not in gr.feeds
    new = [f for f in gr.feeds.values() if f.url == "https://example.org/new.xml"]
    assert new and new[0].folder == "A"
    mine = {f.url: f for f in t.feeds()}
    assert mine["https://example.org/new.xml"].remote_id == f"feed/{new[0].id}"
    assert mine["https://example.org/keep.xml"].folder == "B" and "https://example.org/gone.xml" not in mine


def test_a_refused_change_is_kept_and_said(t, gr):
    feed = gr.add_feed("https://example.org/n.xml", "News")
    a = add(t, gr)
    t.sync_account(a.id, extras=False)
    del gr.feeds[feed]  # gone on the server meanwhile
    [f] = t.feeds()
    t.move_feed(f.id, "Elsewhere")
    report = t.sync_account(a.id, extras=False)
    assert report.rejected == 1
    [c] = t.account_changes(a.id, rejected=True)
    assert c.action == "move" and "refused to move the feed to “Elsewhere”" in c.error
    assert t.account(a.id).rejected == 1
    assert t.retry_account_changes(a.id) == 1 and t.account(a.id).pending == 1


def test_wrong_password_and_api_off(t, gr):
    with pytest.raises(WrongPassword) as e:
        t.add_account("greader", gr.url, gr.user, "wrong-pass-55")
    assert "wrong-pass-55" not in e.value.explain() and "API password" in e.value.hint
    gr.api_enabled = False
    with pytest.raises(ApiDisabled if gr.flavour == "freshrss" else WrongPassword):
        t.add_account("greader", gr.url, gr.user, gr.password)


def test_server_gone_mid_sync(t, gr):
    feed = gr.add_feed("https://example.org/n.xml", "News")
    gr.add_entries(feed, 600)
    a = add(t, gr)
    gr.fail_after = len(gr.requests) + 6  # login, token... then the connection drops
    with pytest.raises(ServerUnreachable):
        t.sync_account(a.id, extras=False)
    got = len(t.articles())
    assert got < 600
    gr.fail_after = None
    assert t.sync_account(a.id, extras=False).new == 600 - got


def test_wrong_address_is_said(t, gr):
    with pytest.raises(ServerRefused):
        GReaderClient(gr.url + "/nothing-here", gr.user, gr.password).login()


def test_tidings_fetches_full_text_of_synced_articles_itself_and_sync_covers_accounts(t, gr, feed_server):
    page = ("<html><head><title>Long read</title></head><body><article><h1>Long read</h1>"
            + "".join(f"<p>Paragraph {i} of the whole article, which the feed only teased.</p>" for i in range(30))
            + "</article></body></html>")
    feed_server.route("/story.html", body=page, content_type="text/html; charset=utf-8")
    feed = gr.add_feed("https://example.org/n.xml", "News")
    [eid] = gr.add_entries(feed, 1)
    gr.entries[eid].link = feed_server.url("/story.html")
    add(t, gr)
    seen = []
    report = t.sync(on_account_progress=seen.append)  # the ordinary sync: accounts first, then every feed's extras
    assert seen[0].stage == "login" and seen[-1].stage == "done"
    [a] = t.articles()
    assert "Paragraph 29 of the whole article" in a.text
    assert feed_server.hits("/story.html") == 1
    assert not any(r.status == "error" for r in report.results)


def test_answers_of_the_wrong_shape_or_size_are_said_not_crashed(t, gr, monkeypatch):
    from app.accounts import base

    gr.add_feed("https://example.org/n.xml", "News")
    a = add(t, gr)
    real = gr._route

    def odd(h, method, sub, form, body_form):
        if sub.endswith("subscription/list"):
            return 200, {"subscriptions": [{"title": "no id"}]}, "application/json"
        return real(h, method, sub, form, body_form)

    monkeypatch.setattr(gr, "_route", odd)
    with pytest.raises(ServerRefused) as e:
        t.sync_account(a.id, extras=False)
    assert "does not understand" in str(e.value) and "does not understand" in t.account(a.id).last_error
    monkeypatch.setattr(gr, "_route", real)
    monkeypatch.setattr(base, "MAX_BYTES", 1000)
    gr.add_entries(1, 50)
    with pytest.raises(ServerRefused) as e:
        t.sync_account(a.id, extras=False)
    assert "more than 0 MB" in str(e.value) or "stopped reading" in str(e.value)
    monkeypatch.setattr(base, "MAX_BYTES", 64 * 2**20)
    assert t.sync_account(a.id, extras=False).new == 50


def test_two_syncs_of_one_account_at_once_send_each_change_once(t, gr):
    import threading

    feed = gr.add_feed("https://example.org/n.xml", "News")
    gr.add_entries(feed, 30)
    a = add(t, gr)
    t.sync_account(a.id, extras=False)
    t.mark_all_read()
    before = gr.hits("edit-tag")
    errors = []

    def go():
        try:
            t.sync_account(a.id, extras=False)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=go) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors and gr.hits("edit-tag") - before == 1 and t.account(a.id).pending == 0
