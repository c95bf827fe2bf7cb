"""OPML: real-world quirks on import, and import -> export -> import gives the same feeds and folders."""

from __future__ import annotations

import pytest

from app import make_tidings
from app.opml import BadOpml, parse_opml

MESSY = b"""<?xml version="1.0" encoding="utf-8"?>
<opml version="1.0"><head><title>mine</title></head><body>
  <outline text="News">
    <outline text="Tech">
      <outline type="rss" text="Ars" xmlUrl="https://arstechnica.com/feed/" htmlUrl="https://arstechnica.com/"/>
      <outline type="rss" text="Dup of Ars" xmlurl="https://arstechnica.com/feed/"/>
    </outline>
    <outline type="rss" title="BBC &amp; friends" text="ignored" xmlUrl="http://feeds.bbci.co.uk/news/rss.xml"/>
  </outline>
  <outline type="rss" text="Top level" xmlUrl="https://example.com/atom.xml"/>
  <outline text="Empty folder"/>
  <outline type="rss" text="" xmlUrl="https://untitled.example/feed"/>
</body></opml>"""


def test_parse_messy_opml():
    feeds = {f.url: f for f in parse_opml(MESSY)}
    assert set(feeds) == {"https://arstechnica.com/feed/", "http://feeds.bbci.co.uk/news/rss.xml",
                          "https://example.com/atom.xml", "https://untitled.example/feed"}
    assert feeds["https://arstechnica.com/feed/"].folder == "News/Tech"
    assert feeds["https://arstechnica.com/feed/"].title == "Ars"
    assert feeds["https://arstechnica.com/feed/"].site_url == "https://arstechnica.com/"
    assert feeds["http://feeds.bbci.co.uk/news/rss.xml"].title == "BBC & friends"
    assert feeds["http://feeds.bbci.co.uk/news/rss.xml"].folder == "News"
    assert feeds["https://example.com/atom.xml"].folder is None


def test_round_trip(tmp_path):
    with make_tidings(tmp_path / "a") as a:
        assert a.import_opml(MESSY) == 4
        assert a.import_opml(MESSY) == 0  # importing twice adds nothing
        exported = a.export_opml()
        first = sorted((f.url, f.title, f.folder) for f in a.feeds())
    with make_tidings(tmp_path / "b") as b:
        b.import_opml(exported.encode())
        second = sorted((f.url, f.title or f.url, f.folder) for f in b.feeds())
        assert b.export_opml() == exported
    assert first == second


def test_hostile_opml_does_not_expand_entities(tmp_path):
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><body><outline text="&lol3;&xxe;" xmlUrl="https://x.example/feed"/></body></opml>"""
    with pytest.raises(BadOpml, match="entities"):
        parse_opml(bomb)


@pytest.mark.parametrize("data", [b"", b"<html><body>hi</body></html>", b"\x00\x01garbage"])
def test_not_opml_is_a_clear_error(data):
    with pytest.raises(BadOpml):
        parse_opml(data)
