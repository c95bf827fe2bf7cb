"""Rules: checked on save, applied during sync inside the insert transaction, to stored articles on
demand with a preview, never unbounded, with import/export and the CLI."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest
from feedserver import feed_server  # noqa: F401 - fixture

from app.cli import main
from app.core import make_tidings
from app.models import ArticleQuery
from app.rules import BadRule, Condition, Rule, RuleSet
from tests.helpers import entry, feed

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)


def rss(titles: list[str], *, body: str = "Body text of the item. ") -> bytes:
    items = "".join(
        f"<item><guid>g-{i}</guid><title>{t}</title><link>https://example.org/p/{i}</link>"
        f"<pubDate>Sat, 21 Nov 2026 0{i % 9}:00:00 GMT</pubDate><description>{body * 20}</description></item>"
        for i, t in enumerate(titles))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Security news</title>'
            f"<link>https://example.org/</link>{items}</channel></rss>").encode()


def rule(name="r", field="title", kind="keyword", value="bitcoin", actions=("hide",), **kw) -> Rule:
    return Rule(name=name, conditions=(Condition(field, kind, value),), actions=tuple(actions), **kw)


@pytest.fixture
def t(tmp_path):
    with make_tidings(tmp_path / "lib", clock=lambda: T0) as t:
        yield t


def titles(t, q=None):
    return sorted(a.title for a in t.articles(q or ArticleQuery()))


# --- checking -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, reason", [("(a", "missing )"), (r"(a)\1", "invalid escape"),
                                           ("(?<=x)y", "invalid perl operator")])
def test_bad_regex_is_refused_with_the_reason(t, value, reason):
    with pytest.raises(BadRule) as e:
        t.add_rule(rule(kind="regex", value=value))
    assert reason in str(e.value) and e.value.hint
    assert t.rules() == []


def test_rule_needs_conditions_actions_and_known_names(t):
    with pytest.raises(BadRule, match="no action"):
        t.add_rule(rule(actions=()))
    with pytest.raises(BadRule, match="unknown action"):
        t.add_rule(rule(actions=("delete",)))
    with pytest.raises(BadRule, match="unknown field"):
        t.add_rule(rule(field="body"))
    with pytest.raises(BadRule, match="empty"):
        t.add_rule(rule(value="  "))


def test_keyword_phrase_regex_and_negation():
    def hits(cond, **item):
        rs = RuleSet([Rule("r", (cond,), ("star",))])
        base = {"title": "", "author": "", "text": "", "link": "", "feed": ""}
        return bool(rs.evaluate({**base, **item}).actions)

    assert hits(Condition("title", "keyword", "apple, pear"), title="An APPLE a day")
    assert not hits(Condition("title", "keyword", "apple"), title="Pineapples")  # whole words
    assert hits(Condition("text", "phrase", "open  source"), text="all Open\nSource here")
    assert not hits(Condition("text", "phrase", "open source"), text="source open")
    assert hits(Condition("link", "regex", r"example\.org/p/\d+$"), link="https://example.org/p/12")
    assert hits(Condition("any", "keyword", "ada"), author="Ada Writer")
    assert hits(Condition("feed", "keyword", "c++"), feed="All about C++ today")
    assert hits(Condition("title", "keyword", "apple", negate=True), title="Bananas")
    assert not hits(Condition("title", "keyword", "apple", negate=True), title="apple")


def test_match_all_or_any():
    conds = (Condition("title", "keyword", "a"), Condition("title", "keyword", "b"))
    item = {"title": "a only", "author": "", "text": "", "link": "", "feed": ""}
    assert not RuleSet([Rule("r", conds, ("star",))]).evaluate(item).actions
    assert RuleSet([Rule("r", conds, ("star",), match="any")]).evaluate(item).actions == {"star"}


def test_pathological_pattern_on_a_megabyte_article_is_linear():
    rs = RuleSet([rule(kind="regex", value="(a+)+$", field="text", actions=("star",)),
                  rule(kind="regex", value="(x|xx)+y", field="any", actions=("hide",))])
    item = {"title": "t", "author": "", "text": "a" * 1_000_000 + "!", "link": "", "feed": ""}
    start = time.perf_counter()
    out = rs.evaluate(item)
    assert time.perf_counter() - start < 1.0  # Python's re would run for ages on this
    assert out.actions == set()


# --- during sync ------------------------------------------------------------------------------------


def test_rules_apply_to_new_articles_during_sync(t, feed_server):
    feed_server.route("/f.xml", body=rss(["Bitcoin soars", "Linux kernel patch", "Weekly roundup", "Open source wins"]))
    f = t.subscribe(feed_server.url("/f.xml"), folder="Tech/Security")
    t.add_rule(rule("crypto", value="bitcoin", actions=("hide",)))
    t.add_rule(rule("kernel", value="kernel", actions=("star", "read")))
    t.add_rule(rule("noise", kind="phrase", value="weekly roundup", actions=("no_digest",), scope="folder", folder="Tech"))
    report = t.sync()
    assert report.new == 4
    # Hidden: out of every view and count, kept in the store, in the Hidden view.
    assert titles(t) == ["Linux kernel patch", "Open source wins", "Weekly roundup"]
    assert [a.title for a in t.articles_by_id(t.hidden_ids())] == ["Bitcoin soars"]
    counts = t.counts()
    assert counts["feeds"][f.id] == 2 and counts["unread"] == 2 and len(t.hidden_ids()) == 1
    assert t.feed(f.id).unread == 2
    kernel = next(a for a in t.articles() if a.title.startswith("Linux"))
    assert kernel.starred and kernel.read
    assert counts["starred"] == 1
    assert t.search("bitcoin") == [] and t.search("kernel") == [kernel.id]
    # Keep out of the digest (and hidden ones too): the digest's articles leave them out.
    start, end = datetime(2026, 11, 20, tzinfo=timezone.utc), datetime(2026, 11, 22, tzinfo=timezone.utc)
    assert sorted(a.title for a in t.store.articles_between(start, end)) == ["Linux kernel patch", "Open source wins"]
    # Mark all read leaves the hidden one alone; the Hidden view still lists it.
    t.mark_all_read()
    assert t.counts()["unread"] == 0 and len(t.hidden_ids()) == 1


def test_rules_run_inside_the_insert_transaction(t, feed_server, monkeypatch):
    """The hook runs before the commit: if it fails, the entries are not stored half-ruled."""
    feed_server.route("/f.xml", body=rss(["Bitcoin soars", "Other"]))
    t.subscribe(feed_server.url("/f.xml"))
    t.add_rule(rule(actions=("hide",)))
    seen = {}

    def boom(db, feed_id, new, stamp):
        seen["in_transaction"] = db.in_transaction
        seen["rows"] = db.execute("SELECT count(*) FROM articles").fetchone()[0]
        raise RuntimeError("rule hook failed")

    monkeypatch.setattr(t.store.rule_engine, "on_insert", boom)
    t.sync()
    assert seen == {"in_transaction": True, "rows": 2}
    assert t.store._read("SELECT count(*) FROM articles")[0][0] == 0  # rolled back with the inserts


def test_rule_scoped_to_another_feed_or_folder_does_not_apply(t):
    a = t.subscribe("https://a.example/feed", folder="News")
    b = t.subscribe("https://b.example/feed", folder="Newsletters")
    t.add_rule(rule("a only", value="post", actions=("star",), scope="feed", feed_id=a.id))
    t.add_rule(rule("news folder", value="post", actions=("read",), scope="folder", folder="News"))
    t.store.save_entries(a.id, feed(2), now=T0)
    t.store.save_entries(b.id, feed(2), now=T0)
    arts = {(x.feed_id, x.starred, x.read) for x in t.articles()}
    assert arts == {(a.id, True, True), (b.id, False, False)}  # "Newsletters" is not inside "News"


def test_a_rule_added_by_another_process_applies_at_the_next_save(t, tmp_path):
    f = t.subscribe("https://a.example/feed")
    t.store.save_entries(f.id, feed(1), now=T0)  # the engine has seen "no rules"
    with make_tidings(tmp_path / "lib") as other:
        other.add_rule(rule(value="post", actions=("star",)))
    parsed = feed(0)
    parsed.entries = [entry(5, guid="new")]
    t.store.save_entries(f.id, parsed, now=T0)
    assert sum(x.starred for x in t.articles()) == 1


def test_notify_rule_and_notify_feed_queue_new_articles_not_the_first_fetch(t):
    f = t.subscribe("https://a.example/feed")
    t.add_rule(rule("alert", value="urgent", actions=("notify",)))
    first = feed(0)
    first.entries = [entry(1, title="urgent thing", guid="u1")]
    t.store.save_entries(f.id, first, now=T0)  # a new subscription's archive: nothing announced
    assert t.store._read("SELECT count(*) FROM notify_queue")[0][0] == 0
    t.store.record_fetch_ok(f.id, now=T0, etag=None, last_modified=None)
    later = feed(0)
    later.entries = [entry(2, title="urgent again", guid="u2"), entry(3, title="calm", guid="u3")]
    t.store.save_entries(f.id, later, now=T0)
    assert [tuple(r) for r in t.store._read("SELECT reason FROM notify_queue")] == [("alert",)]


# --- stored articles ----------------------------------------------------------------------------------


def test_apply_to_stored_articles_with_preview(t):
    f = t.subscribe("https://a.example/feed")
    parsed = feed(0)
    parsed.entries = [entry(i, title=f"{w} story", guid=str(i)) for i, w in enumerate(["Bitcoin", "bitcoin", "Cats"])]
    t.store.save_entries(f.id, parsed, now=T0)
    r = t.add_rule(rule(value="bitcoin", actions=("hide", "read")))
    preview = t.apply_rules([r.id], dry_run=True)
    assert preview.matched == 2 and preview.changed == {"hide": 2, "read": 2}
    assert len(t.articles()) == 3  # a preview changes nothing
    done = t.apply_rules([r.id])
    assert done.changed == {"hide": 2, "read": 2}
    assert titles(t) == ["Cats story"]
    again = t.apply_rules()
    assert again.matched == 2 and again.changed == {}  # already so
    t.unhide(t.hidden_ids())
    assert len(t.articles()) == 3


# --- import / export, CLI ---------------------------------------------------------------------------


def test_export_import_with_feed_scope_by_url(t, tmp_path):
    f = t.subscribe("https://a.example/feed")
    t.add_rule(rule("one", value="x", actions=("star",), scope="feed", feed_id=f.id))
    t.add_rule(rule("two", kind="regex", value="^re:", actions=("read",)))
    text = t.export_rules()
    assert json.loads(text)["rules"][0]["feed_url"] == "https://a.example/feed"
    with make_tidings(tmp_path / "other") as o:
        with pytest.raises(BadRule, match="do not follow"):
            o.import_rules(text)
        assert o.rules() == []  # all or none
        g = o.subscribe("https://a.example/feed")
        assert o.import_rules(text) == 2
        assert [(r.name, r.feed_id) for r in o.rules()] == [("one", g.id), ("two", None)]
    with pytest.raises(BadRule, match="not JSON"):
        t.import_rules("{nope")


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_rules(tmp_path, capsys):
    d = ["--data-dir", str(tmp_path / "lib")]
    with make_tidings(tmp_path / "lib") as t:
        f = t.subscribe("https://a.example/feed", folder="Crypto")
        parsed = feed(0)
        parsed.entries = [entry(1, title="Bitcoin up", guid="1"), entry(2, title="Other", guid="2")]
        t.store.save_entries(f.id, parsed, now=T0)
    code, out, err = run(capsys, *d, "rules", "add", "Crypto", "--if", "title", "keyword", "bitcoin", "--do", "hide")
    assert code == 0 and "Added rule 1" in out and "1 article match" in err
    code, out, _ = run(capsys, *d, "rules", "list")
    assert 'title has keyword "bitcoin" → hide' in out
    code, out, _ = run(capsys, *d, "rules", "apply", "--dry-run")
    assert "Would change: 1 article match (hide: 1)" in out
    code, out, _ = run(capsys, *d, "rules", "apply")
    code, out, _ = run(capsys, *d, "rules", "hidden")
    assert "Bitcoin up" in out
    code, out, _ = run(capsys, *d, "articles")
    assert "Bitcoin" not in out and "Other" in out
    code, _, err = run(capsys, *d, "rules", "add", "Bad", "--if", "text", "regex", "[z-a]", "--do", "star")
    assert code == 1 and "cannot be used" in err
    # Export with the OPML: a side file; import brings it back.
    code, _, err = run(capsys, *d, "export", str(tmp_path / "feeds.opml"))
    assert (tmp_path / "feeds.rules.json").is_file()
    d2 = ["--data-dir", str(tmp_path / "lib2")]
    code, out, _ = run(capsys, *d2, "import", str(tmp_path / "feeds.opml"))
    assert code == 0 and "Imported 1 rule" in out
    code, _, err = run(capsys, *d, "rules", "remove", "1")
    assert code == 0
    code, _, err = run(capsys, *d, "rules", "remove", "7")
    assert code == 1 and "no rule 7" in err


def test_an_edited_rule_applies_at_once_even_within_the_same_clock_tick(t):
    from dataclasses import replace

    f = t.subscribe("https://a.example/feed")
    r = t.add_rule(rule(value="alpha", actions=("star",)))
    t.store.save_entries(f.id, feed(0), now=T0)  # compiles the rules
    t.update_rule(replace(r, conditions=(Condition("title", "keyword", "beta"),)))  # same T0 clock
    parsed = feed(0)
    parsed.entries = [entry(1, title="beta news", guid="b"), entry(2, title="alpha news", guid="a")]
    t.store.save_entries(f.id, parsed, now=T0)
    assert {(x.title, x.starred) for x in t.articles()} == {("beta news", True), ("alpha news", False)}
