"""The digest engine: grouping, ranking, map/reduce through the official client to the stand-in,
caching, checks, failure handling, styles and exports."""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from datetime import timedelta

import pytest

from app.digest import DigestWriter, MemoryCache, load_style, list_styles, to_html, to_markdown, validate
from app.digest.grouping import assign_sections, group_stories
from app.digest.validate import repair
from app.errors import NotFound
from app.llm import LLMClient
from app.models import Digest
from support.digest_fixtures import DAY, NOON, make_articles, story_of
from support.ollama_standin import OllamaStandIn, ScriptBackend, default_reply

MODEL = "llama3.2:latest"


@pytest.fixture
def standin():
    with OllamaStandIn(models={MODEL: 8192}) as s:
        yield s


@pytest.fixture
def articles():
    return make_articles()


def writer(standin, **kw) -> DigestWriter:
    kw.setdefault("context_length", 8192)
    return DigestWriter(load_style("briefing"), llm=LLMClient(standin.url, timeout=5), model=MODEL, **kw)


def assert_sound(d: Digest, articles) -> None:
    assert validate(d, articles) == []


# --- grouping and ranking (no model) ---------------------------------------------------------


def test_groups_the_same_story_and_keeps_distinct_stories_apart(articles):
    truth = story_of(articles)
    stories = group_stories(articles)
    groups = sorted(sorted(truth[a.id] for a in s.articles) for s in stories)
    assert groups == sorted(sorted(truth[a.id] for a in articles if truth[a.id] == k) for k in set(truth.values()))
    # "Portugal" is in the storm and the football story; "rates" in the bank and cycling story
    for s in stories:
        assert len({truth[a.id] for a in s.articles}) == 1


def test_grouping_is_not_fooled_by_shared_words_across_many_articles():
    filler = [(f"k{i}", f"Source {i}", f"Government announces plan for {topic}",
               f"The government announced a plan for {topic} on Thursday. Ministers said details would follow.")
              for i, topic in enumerate(["railways", "hospitals", "schools", "farming", "housing", "prisons"])]
    arts = make_articles(filler)
    assert len(group_stories(arts)) == 6  # same template, different stories: never lumped


def test_biggest_story_leads_and_every_story_has_one_place(articles):
    stories = assign_sections(group_stories(articles))
    assert stories[0].section == "lead" and {a.feed_title for a in stories[0].articles} == {
        "Harbour Times", "Daily Ledger", "Continental Wire"}
    assert [s.section for s in stories] == sorted((s.section for s in stories), key=["lead", "also", "brief"].index)
    ids = [a.id for s in stories for a in s.articles]
    assert sorted(ids) == sorted(a.id for a in articles)


# --- extractive ----------------------------------------------------------------------------


def test_extractive_digest_has_the_full_structure(articles):
    d = DigestWriter(load_style("briefing")).write(articles, DAY)
    assert d.extractive and d.model is None and "extractive" in d.notice
    assert_sound(d, articles)
    assert d.items[0].section == "lead" and d.items[0].why is None
    assert {i.section for i in d.items} == {"lead", "also", "brief"}
    texts = {a.id: a.text for a in articles}
    for item in d.items:  # the articles' own sentences
        first = item.text.split(". ")[0].rstrip(" …")
        assert any(first in texts[aid] for aid in item.article_ids)
    assert d.headline.startswith("Storm Elena") and d.closing


def test_empty_day():
    d = DigestWriter(load_style("briefing")).write([], DAY)
    assert d.items == [] and d.headline and d.closing and validate(d, []) == []


# --- with a model ----------------------------------------------------------------------------


def test_model_digest_streams_and_passes_the_checks(standin, articles):
    events = []
    w = writer(standin, on_event=events.append)
    d = w.write(articles, DAY)
    assert not d.extractive and d.model == MODEL and d.notice is None
    assert_sound(d, articles)
    kinds = [e.kind for e in events]
    assert kinds[0] == "plan" and kinds[-1] == "done" and "text" in kinds
    plan = events[0]
    assert plan.total == len(d.items) and [i.article_ids for i in plan.items] == [i.article_ids for i in d.items]
    progress = [(e.done, e.total) for e in events if e.kind == "progress"]
    assert progress[0] == (0, len(d.items)) and progress[-1] == (len(d.items), len(d.items))
    streamed = "".join(e.text for e in events if e.kind == "text" and e.index == 0)
    assert d.items[0].text in streamed
    assert d.items[0].why  # the lead says why it matters
    # one map call per story, plus why/headline/closing
    assert w.model_calls == len(d.items) + 3


def test_prompts_fit_the_context_length(standin, articles):
    long = [replace(a, text=(a.text + " ") * 60) for a in articles]
    w = writer(standin, context_length=1024)
    d = w.write(long, DAY)
    assert_sound(d, long)
    for body in standin.chats():
        assert body["options"]["num_ctx"] == 1024
        prompt = "\n".join(m["content"] for m in body["messages"])
        assert len(prompt) / 3.5 + body["options"]["num_predict"] <= 1024


def test_a_fabricated_quote_is_dropped_and_a_true_one_kept(standin, articles):
    def reply(messages, options):
        p = messages[-1]["content"]
        if "Storm Elena" in p and "paragraph" in p:
            return ('Storm Elena flooded towns in northern Portugal. The mayor said "we will rebuild everything". '
                    "\u201cWe have never seen the river rise this fast,\u201d said mayor Lu\u00edsa Costa.")
        return default_reply(messages, options)

    standin.backend = ScriptBackend(reply)
    d = writer(standin).write(articles, DAY)
    lead = d.items[0].text
    assert "rebuild" not in lead and "never seen the river rise this fast" in lead
    assert_sound(d, articles)


def test_numbers_not_in_the_articles_are_dropped(standin, articles):
    def reply(messages, options):
        p = messages[-1]["content"]
        if "Central bank" in p:
            return "The central bank raised rates to 4.5 percent. It expects 12 more increases."
        return default_reply(messages, options)

    standin.backend = ScriptBackend(reply)
    d = writer(standin).write(articles, DAY)
    bank = next(i for i in d.items if "Central bank" in i.title)
    assert bank.text == "The central bank raised rates to 4.5 percent."


def test_output_cut_at_the_token_cap_ends_at_a_full_sentence(standin, articles):
    standin.backend = ScriptBackend(lambda m, o: default_reply(m, o) + " Officials said that the")
    d = writer(standin).write(articles, DAY)
    for item in d.items:
        assert re.search(r"[.!?”\"]$", item.text) and "said that the" not in item.text, item.text


def test_labels_and_markdown_from_the_model_are_cleaned(standin, articles):
    standin.backend = ScriptBackend(lambda m, o: "**Summary:** Storm Elena flooded towns in northern Portugal.")
    d = writer(standin).write(articles, DAY)
    assert d.items[0].text == "Storm Elena flooded towns in northern Portugal."


def test_rerun_sends_nothing_and_new_articles_send_only_their_stories(standin, articles):
    cache = MemoryCache()
    first = writer(standin, cache=cache).write(articles, DAY)
    n_first = len(standin.chats())
    again = writer(standin, cache=cache).write(articles, DAY)
    assert len(standin.chats()) == n_first  # everything from the cache
    assert [i.text for i in again.items] == [i.text for i in first.items]

    new = make_articles([("quake", "Geo News", "Earthquake shakes island of Madeira",
                          "A magnitude 5.2 earthquake shook Madeira on Thursday evening. No injuries were reported.")],
                        start_id=100, base=NOON + timedelta(hours=1))
    w = writer(standin, cache=cache)
    third = w.write(articles + new, DAY)
    sent = [c["messages"][-1]["content"] for c in standin.chats()[n_first:]]
    # the new story's summary, and the headline because it now names the new story; nothing else
    assert len(sent) == 2 and all("Madeira" in p for p in sent)
    assert "headline" in sent[1]
    assert_sound(third, articles + new)


def test_error_mid_stream_keeps_what_was_written(standin, articles):
    standin.backend = ScriptBackend(lambda m, o: "Storm Elena flooded towns in northern Portugal. Trains stopped on Thursday.")
    standin.error_after = 9  # inside the first story's second sentence
    events = []
    d = writer(standin, on_event=events.append).write(articles, DAY)
    assert d.items[0].text == "Storm Elena flooded towns in northern Portugal."
    assert "unexpectedly stopped" in d.notice and "kept" in d.notice
    assert d.model == MODEL and not d.extractive
    assert any(e.kind == "notice" and e.error is not None for e in events)
    assert_sound(d, articles)  # the rest is extractive, every story still there
    assert len(standin.chats()) == 1  # no more calls after the failure


def test_cancel_stops_the_model(standin, articles):
    cancel = threading.Event()

    def on_event(e):
        if e.kind == "progress" and e.done == 1:
            cancel.set()

    w = writer(standin, on_event=on_event, cancel=cancel)
    d = w.write(articles, DAY)
    assert w.cancelled and "Cancelled" in d.notice
    assert len(standin.chats()) == 1
    assert_sound(d, articles)


def test_borderline_pairs_are_put_to_the_model(standin):
    pair = [("a", "Alpha Post", "Harbour bridge closes after ship strikes pillar",
             "A cargo ship struck a pillar of the harbour bridge late on Wednesday. The bridge was closed."),
            ("a", "Beta News", "Ship collision shuts harbour crossing",
             "The harbour crossing was shut after a collision with a cargo vessel, the port authority said.")]
    arts = make_articles(pair)
    assert len(group_stories(arts)) == 2  # without a model they stay apart

    standin.backend = ScriptBackend(lambda m, o: "Yes." if "Answer yes or no" in m[-1]["content"]
                                    else default_reply(m, o))
    d = writer(standin).write(arts, DAY)
    assert len(d.items) == 1 and sorted(d.items[0].article_ids) == [1, 2]
    assert any("same specific event" in c["messages"][-1]["content"] for c in standin.chats())


# --- styles and exports ----------------------------------------------------------------------


def test_styles_builtin_and_user(tmp_path):
    assert list_styles()[:1] == ["briefing"] and "newsletter" in list_styles()
    (tmp_path / "styles").mkdir()
    (tmp_path / "styles" / "pirate.toml").write_text(
        'description = "Arr"\n[labels]\nlead = "Top of the tide"\n[prompts]\nlead = "Arr! {words} words.\\n\\n{articles}"\n')
    assert "pirate" in list_styles(tmp_path)
    st = load_style("pirate", tmp_path)
    assert st.labels["lead"] == "Top of the tide" and st.prompts["lead"].startswith("Arr!")
    assert st.prompts["also"] == load_style("briefing").prompts["also"]  # the rest from briefing
    assert st.version("lead") != load_style("briefing").version("lead")
    with pytest.raises(NotFound):
        load_style("nope", tmp_path)


def test_markdown_and_html_exports(articles):
    d = DigestWriter(load_style("briefing")).write(articles, DAY)
    md = to_markdown(d)
    assert md.startswith("# Friday 20 November 2026") and "## Today's lead" in md and "## In brief" in md
    for item in d.items:
        for aid in item.article_ids:
            assert f"tidings://article/{aid}" in md
    page = to_html(d, articles)
    assert page.startswith("<!DOCTYPE html>") and "<script src" not in page and "<link" not in page
    for a in articles:  # every cited article travels inside the file
        assert f'id="article-{a.id}"' in page and f'href="#article-{a.id}"' in page


# --- the checks themselves -------------------------------------------------------------------


def test_validate_catches_what_is_wrong(articles):
    good = DigestWriter(load_style("briefing")).write(articles, DAY)
    assert validate(good, articles) == []

    def broken(**changes):
        d = replace(good, items=[replace(i) for i in good.items])
        for k, v in changes.items():
            setattr(d, k, v)
        return validate(d, articles)

    dup = [*good.items, replace(good.items[-1], section="brief")]
    assert any("appears twice" in p for p in broken(items=dup))
    assert any("not in the digest" in p for p in broken(items=good.items[:-1]))
    stray = [*good.items[:-1], replace(good.items[-1], article_ids=[999])]
    assert any("not of this day" in p for p in broken(items=stray))
    fake = [replace(good.items[0], text='The mayor said "we will rebuild everything".'), *good.items[1:]]
    assert any("not in its articles" in p for p in broken(items=fake))
    none = [replace(good.items[0], article_ids=[]), *good.items[1:]]
    assert any("cites no article" in p for p in broken(items=none))
    two_leads = [good.items[0], replace(good.items[1], section="lead"), *good.items[2:]]
    assert broken(items=two_leads)
    wrong_src = [replace(good.items[0], sources=["Nobody"]), *good.items[1:]]
    assert any("names sources" in p for p in broken(items=wrong_src))


def test_repair_keeps_verbatim_quotes_with_normalised_marks_and_elisions():
    src = "Governor Anna Berg said inflation of 5.1 percent was \u201cstill far too high\u201d, adding that rates would rise."
    assert repair('Berg said inflation was "still far too high."', src)[1] == []
    assert repair('Berg said it was "still ... too high".', src)[1] == []
    kept, dropped = repair('Berg said it was "too high for comfort". Rates will rise.', src)
    assert dropped and kept == "Rates will rise."


def test_echoed_instructions_repeats_and_unsupported_sentences_are_dropped(standin, articles):
    def reply(messages, options):
        p = messages[-1]["content"]
        if "Storm Elena" in p and "paragraph" in p:
            return ("You write a short, factual morning news briefing. "
                    "Storm Elena flooded towns in northern Portugal on Thursday. "
                    "Storm Elena flooded towns in northern Portugal on Thursday. "
                    "Experts blame climate policy failures by distant governments.")
        return default_reply(messages, options)

    standin.backend = ScriptBackend(reply)
    d = writer(standin).write(articles, DAY)
    assert d.items[0].text == "Storm Elena flooded towns in northern Portugal on Thursday."


# faithful paraphrases of the fixture stories, and plausible sentences the articles do not support
FAITHFUL = [
    ("storm", "Heavy rain from Storm Elena forced the evacuation of about 1,200 people in northern Portugal, "
              "where trains between Porto and Vigo were halted."),
    ("storm", "Floodwater swept through Viana do Castelo and Póvoa de Varzim as the mayor warned the river had "
              "risen faster than ever."),
    ("storm", "Schools remain shut on Friday and forecasters say the rain should ease by the weekend."),
    ("rates", "The central bank lifted its key rate by a quarter point to 4.5 percent, its third hike this year, "
              "saying inflation remains too high."),
    ("rates", "Two policymakers wanted to keep rates unchanged, and economists expect another increase early next year."),
    ("telescope", "Astronomers have published the clearest picture so far of galaxy NGC 4414, showing individual "
                  "star clusters in its spiral arms."),
    ("bakery", "A Riverside Road bakery took the national bread prize for a rye sourdough made to the owner's "
               "grandmother's recipe."),
]
UNSUPPORTED = [
    ("storm", "The government declared a national emergency and deployed the army to help rescue stranded families."),
    ("storm", "Climate scientists warn such storms will become more frequent as the Atlantic warms."),
    ("rates", "The decision sent the currency to a two-year high and stock markets fell sharply."),
    ("telescope", "The discovery could reshape our understanding of dark matter and the origin of the universe."),
    ("bakery", "The bakery plans to open three new shops in the capital next spring."),
]


@pytest.mark.parametrize("key,sentence,keep", [(k, s, True) for k, s in FAITHFUL] + [(k, s, False) for k, s in UNSUPPORTED])
def test_support_check_keeps_paraphrase_and_drops_invention(key, sentence, keep):
    from app.digest.engine import MIN_SUPPORT
    from support.digest_fixtures import STORIES

    source = "\n".join(f"{t}\n{x}" for k, _, t, x in STORIES if k == key)
    kept, dropped = repair(sentence, source, min_support=MIN_SUPPORT["also"])
    assert (kept == sentence) is keep, (kept, dropped)
