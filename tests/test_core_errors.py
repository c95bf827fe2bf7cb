"""Typed errors keep their words and hint across a process boundary (the sync parse process)."""

import pickle

from app.errors import FeedGone, ModelMissing, NotAFeed, TidingsError


def test_errors_pickle_with_message_and_hint():
    for e in (ModelMissing("llama3.2"), NotAFeed("Not a feed: HTML."), FeedGone("Gone (HTTP 410).", "Custom hint.")):
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is type(e) and str(back) == str(e) and back.hint == e.hint
    assert pickle.loads(pickle.dumps(ModelMissing("qwen2.5"))).model == "qwen2.5"


def test_explain_gives_message_then_hint():
    assert TidingsError("It broke.", "Do this.").explain() == "It broke.\nDo this."
    assert TidingsError("Just this.").explain() == "Just this."
