"""app.html: sanitising, plain text, and the reader's small clean-ups."""

from app.html import drop_leading_title, html_to_text, image_urls, sanitize


def test_sanitize_strips_scripts_handlers_and_unsafe_links_and_resolves_relative_urls():
    out = sanitize('<p onclick="x()">Hi<script>alert(1)</script><img src="/a.png" onerror="x()">'
                   '<a href="javascript:evil()">j</a><a href="b.html">b</a><iframe src="//x"></iframe></p>',
                   "https://example.org/posts/")
    assert "script" not in out and "onclick" not in out and "onerror" not in out and "iframe" not in out
    assert "javascript:" not in out
    assert 'src="https://example.org/a.png"' in out and 'href="https://example.org/posts/b.html"' in out


def test_html_to_text_keeps_paragraphs_and_collapses_spaces():
    assert html_to_text("<p>Hello &amp;\xa0 <b>world</b>  x</p>\n\n<p>Two<br>three</p><div> </div>") == \
        "Hello & world x\n\nTwo\n\nthree"


def test_image_urls_are_absolute_http_and_unique():
    assert image_urls('<img src="https://a/1.png"><img src="data:x"><img alt=x src="https://a/1.png">') == \
        ["https://a/1.png"]


def test_drop_leading_title_only_drops_a_repeat_of_the_title():
    body = '<div><h1 class="t">Uber Lost  $4.5 Billion</h1><p>Text</p></div>'
    assert drop_leading_title(body, "Uber lost $4.5 billion") == '<div><p>Text</p></div>'
    other = "<h2>A different heading</h2><p>Text</p>"
    assert drop_leading_title(other, "Uber lost $4.5 billion") == other
    later = "<p>Intro</p><h1>Uber lost $4.5 billion</h1>"
    assert drop_leading_title(later, "Uber lost $4.5 billion") == later


def test_html_to_text_whitespace_fast_path_matches_split_join():
    """html_to_text skips re-joining lines that need no collapsing; the result must be exactly the
    split-and-join of every line (the definition), for any mix of whitespace and entities."""
    import html as _html
    import random

    from app.html import _BLOCK_END, _TAG, html_to_text

    def reference(fragment: str) -> str:
        text = _html.unescape(_TAG.sub("", _BLOCK_END.sub("\n\n", fragment)))
        out: list[str] = []
        for line in (" ".join(line.split()) for line in text.split("\n")):
            if line:
                out.append(line)
            elif out and out[-1]:
                out.append("")
        return "\n".join(out).strip()

    parts = [" ", "  ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u2028", "\u3000",
             "\u200b", "&nbsp;", "&#10;", "&#9;", "<br>", "</p>", "<p>", "<b>", "a", "é", "&amp;", "x y", "\x00"]
    r = random.Random(7)
    for _ in range(20000):
        s = "".join(r.choice(parts) for _ in range(r.randint(1, 20)))
        assert html_to_text(s) == reference(s), repr(s)
