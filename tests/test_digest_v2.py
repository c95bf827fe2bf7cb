"""The digest as an editor would write it: the day's news (not an archive), same-event grouping
that keeps close events apart, ranking, trusted text, embeddings, and the three shapes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from app import make_tidings
from app.digest import DigestWriter, MemoryCache, load_style, to_html, to_markdown, validate
from app.digest.engine import DigestEvent, pull_quote
from app.digest.grouping import Signals, Story, assign_sections, group_stories, significance
from app.digest.validate import find_quotes, quote_in, repair, ungrounded
from app.digest.text import normalise
from app.errors import TidingsError
from app.llm import LLMClient
from app.models import Article, ParsedEntry, ParsedFeed
from support.digest_fixtures import DAY, NOON, make_articles
from support.ollama_standin import HashEmbedder, OllamaStandIn, ScriptBackend, default_reply

MODEL = "llama3.2:latest"
DATA = Path(__file__).parent / "data" / "ecbplus_day.jsonl"


def ecb_day() -> tuple[list[Article], dict[int, str]]:
    """The ten real ECB+ articles of tests/data (three topics, each with its sister event)."""
    arts, gold = [], {}
    for n, line in enumerate(DATA.read_text(encoding="utf-8").splitlines(), 1):
        r = json.loads(line)
        text = "\n\n".join(x for x in r["text"].split("\n")[1:] if x.strip())
        source = r["source"] or f"Wire {n}"
        arts.append(Article(id=n, feed_id=n, feed_title=source, guid=r["doc_id"], url=None, title=r["title"],
                            authors="", published=NOON - timedelta(minutes=n), updated=None,
                            first_seen=NOON, summary="", content_html="", text=text, read=False, starred=False))
        gold[n] = r["cluster"]
    return arts, gold


def writer(standin, style="briefing", **kw) -> DigestWriter:
    kw.setdefault("context_length", 8192)
    return DigestWriter(load_style(style), llm=LLMClient(standin.url, timeout=10), model=MODEL, **kw)


@pytest.fixture
def standin():
    with OllamaStandIn(models={MODEL: 8192}, embed_backend=HashEmbedder()) as s:
        yield s


# --- the day's articles -------------------------------------------------------------------------

def test_the_day_is_what_was_published_on_it_not_an_archive(tmp_path):
    added = NOON - timedelta(hours=3)
    with make_tidings(tmp_path / "lib", clock=lambda: NOON) as t:
        fid, _ = t.store.add_feed("https://blog.example/feed", now=added, title="Blog")

        def entry(guid, published):
            return ParsedEntry(guid=guid, url=None, title=f"Post {guid}", authors="", published=published,
                               updated=None, summary="<p>Words.</p>", content_html="<p>Words.</p>")

        # the first sync brings an archive: a 2015 post, a post of three days ago, an undated one
        t.store.save_entries(fid, ParsedFeed("Blog", None, [
            entry("old", datetime(2015, 3, 1, tzinfo=timezone.utc)),
            entry("lagged", NOON - timedelta(days=3)),
            entry("undated-archive", None),
            entry("today-1", NOON - timedelta(hours=4)),
        ]), now=added)
        # a later sync: today's news, undated or not
        t.store.save_entries(fid, ParsedFeed("Blog", None, [
            entry("today-2", NOON - timedelta(hours=1)), entry("undated-new", None),
        ]), now=NOON - timedelta(minutes=30))
        start, end = t.local_day_bounds(NOON.astimezone().date())
        day = {a.guid for a in t.store.articles_between(start, end)}
        assert day == {"today-1", "today-2", "undated-new"}
        # the Today view lists exactly the digest's articles, and counts them
        today = {a.guid for a in t.articles(t.today_query())}
        assert today == day
        assert t.counts()["today"] == len(day)
        d = t.digest(extractive=True)
        cited = {aid for i in d.items for aid in i.article_ids}
        assert {a.guid for a in t.articles_by_id(sorted(cited))} == day


# --- grouping -----------------------------------------------------------------------------------

def test_same_event_across_outlets_merges_and_its_sister_event_stays_apart():
    arts, gold = ecb_day()
    stories = group_stories(arts)
    for s in stories:  # no story mixes two events (each topic's sister event is a close negative)
        assert len({gold[a.id] for a in s.articles}) == 1, [a.title for a in s.articles]
    pair = {1, 2}  # Klitschko v Thompson, from two outlets
    assert any(pair <= set(s.article_ids) for s in stories)


def test_a_generic_title_never_merges_on_its_own():
    arts = make_articles([
        ("a", "Pixel Blog", "Test post", "Trying out the new theme on this blog, with a photo of my cat."),
        ("b", "Garden Notes", "Test post", "Checking that the feed works after moving the site to a new host."),
    ])
    assert len(group_stories(arts)) == 2


def test_grouping_is_not_lost_on_quote_marks_and_apostrophes():
    text = ("Klitschko’s promoter said the champion “will fight again in March” in Hamburg. "
            "The Ukrainian beat Tony Thompson in the sixth round on Saturday night.")
    arts = make_articles([("k", "Ring News", "Klitschko’s next fight set for Hamburg", text),
                          ("k", "Boxing Wire", "Klitschko's next fight set for Hamburg",
                           normalise(text).replace("Saturday night", "Saturday"))])
    assert len(group_stories(arts)) == 1


# --- ranking ------------------------------------------------------------------------------------

def _story(aid, sources, words, title, feed_id=None):
    body = " ".join(words for _ in range(1))
    return Story(articles=[Article(id=aid * 10 + k, feed_id=feed_id or aid * 10 + k, feed_title=s, guid=f"{aid}{k}",
                                   url=None, title=title, authors="", published=NOON + timedelta(minutes=aid),
                                   updated=None, first_seen=NOON, summary="", content_html="", text=body,
                                   read=False, starred=False) for k, s in enumerate(sources)])


def test_the_lead_has_the_most_sources_and_ties_go_to_significance_not_recency():
    substantial = ("The European Central Bank raised interest rates by half a point on Thursday, Christine "
                   "Lagarde said in Frankfurt, the first rise since 2011, as inflation in the euro zone reached "
                   "ten percent and governments in Berlin, Paris and Rome warned of a recession. ") * 4
    thin = "A short note about the weather."
    big = _story(1, ["A", "B"], substantial, "ECB raises rates by half a point")
    newest_thin = _story(9, ["C", "D"], thin, "Weather note")  # newer, same number of sources
    single = _story(5, ["E"], substantial, "Something else")
    ranked = assign_sections([newest_thin, single, big])
    assert ranked[0] is big and ranked[0].section == "lead"
    # the model's pick among the tied leaders wins
    ranked = assign_sections([newest_thin, single, big], pick=lambda tied: tied.index(newest_thin))
    assert ranked[0] is newest_thin
    # the person's own reading moves a tied story up
    signals = Signals(feeds={newest_thin.articles[0].feed_id: 1.0, newest_thin.articles[1].feed_id: 1.0},
                      topics={"weather": 1.0})
    assert significance([newest_thin], signals)[0] >= significance([newest_thin])[0] + 1.0
    assert assign_sections([big, newest_thin], signals=Signals())[0] is big


# --- text a reader can trust ---------------------------------------------------------------------

def test_echoed_headers_and_stock_openers_are_removed(standin):
    arts = make_articles()

    def reply(messages, options):
        prompt = messages[-1]["content"]
        if "why this story matters" in prompt:
            return ("The Signal Brief: This story matters now because Storm Elena flooded coastal towns in "
                    "northern Portugal.")
        return default_reply(messages, options)

    standin.backend = ScriptBackend(reply)
    d = writer(standin).write(arts, DAY)
    assert d.items[0].why and "Signal Brief" not in d.items[0].why
    assert not d.items[0].why.lower().startswith("this story matters")
    assert validate(d, arts) == []


def test_swapped_names_invented_relations_and_negations_are_dropped_in_code():
    source = ("Storm Elena flooded Viana do Castelo. Mayor Luísa Costa said her two sisters were safe. "
              "Trains stopped at Porto.")
    kept, dropped = repair("Mayor Luísa Costa said her two sisters were safe. Mayor Ana Costa said the trains "
                           "stopped. Costa, the brother of the mayor, said trains stopped. Storm Elena never "
                           "reached Viana do Castelo.", source, min_support=0.5)
    assert kept == "Mayor Luísa Costa said her two sisters were safe."
    assert len(dropped) == 3
    assert ungrounded("Portuguese trains stopped, Costa said.", normalise(source).lower()) == []


def test_the_models_own_check_drops_what_it_does_not_support(standin):
    arts = make_articles()
    bad = "Officials said the storm was the worst in a century."

    def reply(messages, options):
        prompt = messages[-1]["content"]
        if "\nSentence: " in prompt:
            return "No." if prompt.rstrip().endswith(bad) else "Yes."
        if "Summarise this news story in one paragraph" in prompt:
            return "Storm Elena flooded coastal towns in northern Portugal. " + bad
        return default_reply(messages, options)

    standin.backend = ScriptBackend(reply)
    w = writer(standin)
    d = w.write(arts, DAY)
    assert bad not in d.items[0].text and "Storm Elena flooded" in d.items[0].text
    assert w.checks_dropped == [bad] or bad in w.checks_dropped
    assert w.checks <= 40


# --- embeddings ---------------------------------------------------------------------------------

def test_embeddings_come_from_ollama_and_are_cached_by_content(standin):
    arts = make_articles()
    cache = MemoryCache()
    w = writer(standin, embed_model="all-minilm:latest", cache=cache)
    w.write(arts, DAY)
    assert w.embedded == len(arts) and w.embed_failure is None
    first = len(standin.embeds())
    assert first >= 1
    w2 = writer(standin, embed_model="all-minilm:latest", cache=cache)
    w2.write(arts, DAY)
    assert w2.embedded == 0 and len(standin.embeds()) == first  # all from the cache


def test_a_missing_embedding_model_is_reported_and_grouping_goes_on(tmp_path):
    with OllamaStandIn(models={MODEL: 8192}) as s:  # no embedding model installed
        from support.digest_fixtures import fill_store

        with make_tidings(tmp_path / "lib", clock=lambda: NOON, llm=LLMClient(s.url, timeout=10)) as t:
            fill_store(t.store)
            events = []
            d = t.digest(date=DAY, on_event=events.append)
            missing = [e for e in events if e.kind == "notice" and type(e.error).__name__ == "ModelMissing"]
            assert missing and missing[0].error.model == "all-minilm"
            assert "all-minilm" in d.notice and d.model == MODEL and not d.extractive


# --- the three shapes ---------------------------------------------------------------------------

def test_analyst_brief_has_its_parts_a_verbatim_pull_quote_and_a_deep_dive(standin):
    arts = make_articles()
    d = writer(standin, "analyst").write(arts, DAY)
    assert d.shape == "analyst" and d.opening
    lead = d.items[0]
    assert {"why_now", "takeaway", "deep_dive", "quote"} <= set(lead.parts)
    source = normalise("\n".join(a.title + "\n" + a.text for a in arts if a.id in lead.article_ids))
    assert all(quote_in(q, source) for q in find_quotes(lead.parts["quote"]))
    for item in d.items:
        if item.section == "also":
            assert "deep_dive" not in item.parts and "why_now" in item.parts
    assert validate(d, arts) == []
    md = to_markdown(d)
    assert "## The lead" in md and "**Why this matters now:**" in md and "**Key takeaway:**" in md
    assert "**Deep dive:**" in md and "> “" in md
    assert "Key takeaway" in to_html(d, arts)


def test_narrative_letter_tells_each_story_under_its_own_heading(standin):
    arts = make_articles()
    d = writer(standin, "narrative").write(arts, DAY)
    assert d.shape == "narrative" and d.opening
    md = to_markdown(d)
    assert "Today's lead" not in md and "## Also noted" in md
    assert md.count("\n### ") == sum(1 for i in d.items if i.section != "brief")
    # the second story's prompt was told what came before it
    prompts = [c["messages"][-1]["content"] for c in standin.chats() if "Earlier in this letter" in c["messages"][-1]["content"]]
    assert len(prompts) >= 2 and d.items[0].title in prompts[1]
    assert validate(d, arts) == []


def test_a_person_can_make_a_new_shape_without_code(tmp_path, standin):
    (tmp_path / "styles").mkdir()
    (tmp_path / "styles" / "outlook.toml").write_text('''
shape = "outlook"
[labels]
outlook = "What to watch"
[limits]
outlook_words = 20
[parts]
lead = ["summary", "outlook"]
also = ["summary", "quote"]
[prompts]
outlook = """{articles}

In one sentence of at most {words} words, say what the articles say happens next."""
''')
    style = load_style("outlook", tmp_path)
    arts = make_articles()
    d = DigestWriter(style, llm=LLMClient(standin.url, timeout=10), model=MODEL, context_length=8192).write(arts, DAY)
    assert d.items[0].parts.get("outlook") and "**What to watch:**" in to_markdown(d)
    (tmp_path / "styles" / "broken.toml").write_text('[parts]\nlead = ["summary", "nowhere"]\n')
    with pytest.raises(TidingsError, match="nowhere"):
        load_style("broken", tmp_path)


def test_pull_quote_is_verbatim_or_nothing():
    arts = make_articles()
    q = pull_quote(Story(articles=arts[:1]))
    assert q
    inner = q.split("” (")[0].lstrip("“")
    assert inner in normalise(arts[0].text) or inner in arts[0].text


def test_plan_carries_the_shape_for_the_reading_pane(standin):
    events: list[DigestEvent] = []
    writer(standin, "analyst", on_event=events.append).write(make_articles(), DAY)
    plan = events[0]
    assert plan.kind == "plan" and plan.digest.shape == "analyst" and "why_now" in plan.digest.layout["lead"]
