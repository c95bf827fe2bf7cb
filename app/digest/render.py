"""Digest -> Markdown (what the CLI prints) and self-contained HTML (an export that works offline).

Links: in Markdown every item links its stored articles as ``tidings://article/<id>`` (the digest
view opens those in the reader, offline) and the original page when there is one. The HTML
export carries the cited articles' stored text inside the file, so its links work with no network
and no Tidings.
"""

from __future__ import annotations

import html
from datetime import date as _date
from dataclasses import dataclass, field
from typing import Sequence

from app.digest.styles import DEFAULT_LABELS, DEFAULT_LAYOUT, MAIN_PARTS, SECTIONS
from app.models import Article, Digest, DigestItem

ARTICLE_SCHEME = "tidings://article/"


def long_date(day: str) -> str:
    try:
        d = _date.fromisoformat(day)
    except ValueError:
        return day
    return f"{d:%A} {d.day} {d:%B %Y}"


def _labels(d: Digest, labels: dict | None) -> dict:
    """The digest's own headings (stored with it), else its style's, else the defaults."""
    return {**DEFAULT_LABELS, **(labels or {}), **(d.labels or {})}


def part_label(part: str, lb: dict) -> str:
    return lb.get(part) or part.replace("_", " ").capitalize()


def story_parts(d: Digest, item: DigestItem) -> list[tuple[str, str]]:
    """(part, text) of one story, in the order its style declares: the main text under the name
    "text", the rest under their part names; parts that came out empty are left out."""
    order = (d.layout or {}).get(item.section) or DEFAULT_LAYOUT.get(item.section, ["summary"])
    out: list[tuple[str, str]] = []
    for part in order:
        if part in MAIN_PARTS:
            text = item.text
            part = "text"
        elif part == "why":
            text = item.why or item.parts.get("why", "")
        else:
            text = item.parts.get(part, "")
        if text and text.strip() and part not in (p for p, _ in out):
            out.append((part, text))
    if "text" not in (p for p, _ in out) and item.text.strip():  # a layout without a main part
        out.insert(0, ("text", item.text))
    if item.why and "why" not in (p for p, _ in out):
        out.append(("why", item.why))
    return out


def _html_part(part: str, text: str, lb: dict, classes: bool = False) -> str:
    """One part of a story as HTML: the main text a paragraph ("…" while it is still empty), a
    quote a blockquote, any other part a labelled paragraph. ``classes`` for the styled export."""
    e = html.escape
    if part == "text":
        return f"<p>{e(text)}</p>" if text else "<p><span class=muted>…</span></p>"
    if part == "quote":
        return f'<blockquote class="quote">{e(text)}</blockquote>' if classes else f"<blockquote>{e(text)}</blockquote>"
    attrs = f' class="why part-{e(part)}"' if classes else ""
    return f"<p{attrs}><b>{e(part_label(part, lb))}:</b> {e(text)}</p>"


def _md_escape(text: str) -> str:
    return text.replace("[", "\\[").replace("]", "\\]")


def _md_links(item: DigestItem) -> str:
    links = [f"[{_md_escape(src)}]({ARTICLE_SCHEME}{aid})" for aid, src in zip(item.article_ids, source_labels(item))]
    if item.url:
        links.append(f"[original]({item.url})")
    return " · ".join(links)


def source_labels(item: DigestItem) -> list[str]:
    """One link label per cited article: the feed's name for its first article, then "2", "3"...
    for more from the same feed ("Pixel Envy · 2 · 3", not the name three times)."""
    names = list(item.sources)
    if len(names) != len(item.article_ids):  # sources given per feed: repeat the last when short
        names = [names[n] if n < len(names) else (names[-1] if names else "article")
                 for n in range(len(item.article_ids))]
    seen: dict[str, int] = {}
    labels = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        labels.append(name if seen[name] == 1 else str(seen[name]))
    return labels


def _brief_text(i: DigestItem) -> str:
    return i.text if i.text.strip() != i.title.strip() else ""  # no line of its own: title only


def to_markdown(d: Digest, labels: dict | None = None) -> str:
    lb = _labels(d, labels)
    out = [f"# {long_date(d.date)}", "", f"**{d.headline}**", ""]
    if d.notice:
        out += [f"> {d.notice}", ""]
    if d.opening:
        out += [d.opening, ""]
    for sec in SECTIONS:
        items = [i for i in d.items if i.section == sec]
        if not items:
            continue
        if lb.get(sec):
            out += [f"## {lb[sec]}", ""]
        for i in items:
            if sec == "brief":
                text = _brief_text(i)
                out.append(f"- **{_md_escape(i.title)}** ({', '.join(i.sources)}){': ' + text if text else ''} {_md_links(i)}")
                continue
            out += [f"### [{_md_escape(i.title)}]({ARTICLE_SCHEME}{i.article_ids[0]})", f"*{', '.join(i.sources)}*", ""]
            for part, text in story_parts(d, i):
                if part == "text":
                    out += [text, ""]
                elif part == "quote":
                    out += [f"> {text}", ""]
                else:
                    out += [f"**{part_label(part, lb)}:** {text}", ""]
            out += [_md_links(i), ""]
        if sec == "brief":
            out.append("")
    out += ["---", "", d.closing, ""]
    if d.model:
        out.append(f"*Written by {d.model} on this computer, from {len({a for i in d.items for a in i.article_ids})} articles.*")
    else:
        out.append(f"*Extractive digest from {len({a for i in d.items for a in i.article_ids})} articles.*")
    return "\n".join(out).rstrip() + "\n"


_CSS = """
body{font:16px/1.55 Georgia,'Times New Roman',serif;max-width:42em;margin:2em auto;padding:0 1em;color:#1d1d1f;background:#fff}
h1{font-size:1.1em;font-weight:normal;color:#666;margin:0}
.headline{font-size:1.6em;line-height:1.25;margin:.3em 0 1em}
h2{font:600 .8em/1.2 system-ui,sans-serif;text-transform:uppercase;letter-spacing:.08em;color:#b00;border-top:1px solid #ddd;padding-top:1em;margin-top:2em}
h3{font-size:1.2em;margin:.2em 0}
.sources{font:.85em system-ui,sans-serif;color:#666}
.why{background:#f6f6f2;padding:.6em .8em;border-left:3px solid #b00}
.links{font:.85em system-ui,sans-serif}
.notice{background:#fff6d6;border:1px solid #e8d48a;padding:.6em .8em;font:.9em system-ui,sans-serif}
ul.brief li{margin:.4em 0}
a{color:#0b57d0}
.opening{font-size:1.05em}
blockquote.quote{margin:.6em 0;padding:.2em 1em;border-left:3px solid #999;font-style:italic}
.closing{font-style:italic;border-top:1px solid #ddd;padding-top:1em;margin-top:2em}
details{margin:.8em 0;border-top:1px solid #eee;padding-top:.5em}
summary{cursor:pointer;font:600 .95em system-ui,sans-serif}
.article p{margin:.5em 0}
@media (prefers-color-scheme: dark){body{background:#161616;color:#e8e8e8}.why{background:#222}.notice{background:#3a3218;border-color:#6b5a1f}a{color:#8ab4f8}}
"""


def to_html(d: Digest, articles: Sequence[Article] = (), labels: dict | None = None) -> str:
    """A single HTML file: the digest plus the stored text of every cited article (links are anchors)."""
    from app.digest.text import article_text

    lb = _labels(d, labels)
    e = html.escape
    by_id = {a.id: a for a in articles}

    def links(i: DigestItem) -> str:
        parts = []
        for aid, src in zip(i.article_ids, source_labels(i)):
            href = f"#article-{aid}" if aid in by_id else f"{ARTICLE_SCHEME}{aid}"
            parts.append(f'<a href="{e(href)}">{e(src)}</a>')
        if i.url:
            parts.append(f'<a href="{e(i.url)}">original</a>')
        return " · ".join(parts)

    def first_href(i: DigestItem) -> str:
        aid = i.article_ids[0]
        return f"#article-{aid}" if aid in by_id else f"{ARTICLE_SCHEME}{aid}"

    body = [f"<h1>{e(long_date(d.date))}</h1>", f'<p class="headline">{e(d.headline)}</p>']
    if d.notice:
        body.append(f'<p class="notice">{e(d.notice)}</p>')
    if d.opening:
        body.append(f'<p class="opening">{e(d.opening)}</p>')
    for sec in SECTIONS:
        items = [i for i in d.items if i.section == sec]
        if not items:
            continue
        if lb.get(sec):
            body.append(f"<h2>{e(lb[sec])}</h2>")
        if sec == "brief":
            body.append('<ul class="brief">')
            for i in items:
                text = _brief_text(i)
                body.append(f'<li><a href="{e(first_href(i))}"><b>{e(i.title)}</b></a> '
                            f'<span class="sources">({e(", ".join(i.sources))})</span>'
                            f'{": " + e(text) if text else ""} '
                            f'<span class="links">{links(i)}</span></li>')
            body.append("</ul>")
            continue
        for i in items:
            body.append(f'<article><h3><a href="{e(first_href(i))}">{e(i.title)}</a></h3>'
                        f'<div class="sources">{e(", ".join(dict.fromkeys(i.sources)))}</div>')
            body += [_html_part(part, text, lb, classes=True) for part, text in story_parts(d, i)]
            body.append(f'<p class="links">{links(i)}</p></article>')
    body.append(f'<p class="closing">{e(d.closing)}</p>')
    cited = [by_id[aid] for i in d.items for aid in i.article_ids if aid in by_id]
    if cited:
        body.append("<h2>Sources</h2>")
        for a in cited:
            paras = "".join(f"<p>{e(p.strip())}</p>" for p in article_text(a).split("\n\n") if p.strip())
            orig = f' · <a href="{e(a.url)}">original</a>' if a.url else ""
            body.append(f'<details class="article" id="article-{a.id}"><summary>{e(a.title)} '
                        f'<span class="sources">— {e(a.feed_title)}</span></summary>'
                        f'<div class="sources">{e(a.authors or "")}{orig}</div>{paras}</details>')
    script = ("<script>function o(){var h=location.hash;if(h.indexOf('#article-')==0){var x=document.getElementById(h.slice(1));"
              "if(x)x.open=true}}addEventListener('hashchange',o);o()</script>")
    title = f"Tidings — {long_date(d.date)}"
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{e(title)}</title>'
            f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + f"\n{script}</body></html>\n")


# --- the reading pane (the app's digest view, also while a digest is being written) ---------------

@dataclass
class DigestDraft:
    """What is known so far while a digest is being written: ``apply`` each DigestEvent."""

    date: str = ""
    headline: str = ""
    opening: str = ""
    closing: str = ""
    notice: str = ""
    items: list[DigestItem] = field(default_factory=list)
    streamed: dict[int, str] = field(default_factory=dict)  # a story's main text, as it streams
    streamed_parts: dict[tuple[int, str], str] = field(default_factory=dict)  # (story, part) -> text
    parts: dict[str, str] = field(default_factory=dict)  # digest-wide parts: headline, opening, closing
    done: int = 0
    total: int = 0
    shape: str = "briefing"
    labels: dict[str, str] = field(default_factory=dict)
    layout: dict[str, list[str]] = field(default_factory=dict)

    def apply(self, ev) -> None:
        if ev.kind == "plan":
            self.items = list(ev.items)
            self.total = ev.total
            if ev.digest is not None:  # the plan carries the style's shape, labels and layout
                self.shape, self.labels, self.layout = ev.digest.shape, ev.digest.labels, ev.digest.layout
        elif ev.kind == "text":
            if ev.index is not None and ev.part is None:
                self.streamed[ev.index] = self.streamed.get(ev.index, "") + ev.text
            elif ev.index is not None:
                key = (ev.index, ev.part)
                self.streamed_parts[key] = self.streamed_parts.get(key, "") + ev.text
            elif ev.part:
                self.parts[ev.part] = self.parts.get(ev.part, "") + ev.text
        elif ev.kind == "item" and ev.index is not None and ev.item is not None:
            if ev.index < len(self.items):
                self.items[ev.index] = ev.item
            self.streamed.pop(ev.index, None)
            for key in [k for k in self.streamed_parts if k[0] == ev.index]:
                del self.streamed_parts[key]
        elif ev.kind == "progress":
            self.done, self.total = ev.done, ev.total
        elif ev.kind == "notice":
            if ev.message and ev.message not in self.notice:
                self.notice = (self.notice + " " + ev.message).strip()


def to_view_html(d: Digest | DigestDraft, *, link: str = "#0b57d0", muted: str = "#666666",
                 writing: bool = False) -> str:
    """The digest as the reader's pane shows it (QTextBrowser's HTML subset): every shape, every
    story linking its stored articles as ``tidings://article/ID``; a draft shows what has streamed."""
    e = html.escape
    streamed = getattr(d, "streamed", {})
    streamed_parts = getattr(d, "streamed_parts", {})
    parts = getattr(d, "parts", {})
    lb = {**DEFAULT_LABELS, **(d.labels or {})}
    layout = d.layout or {}
    shell = Digest(date=d.date, style="", model=None, extractive=False, headline="", items=[], closing="",
                   labels=d.labels, layout=layout)
    headline = d.headline or parts.get("headline", "")
    opening = d.opening or parts.get("opening", "")
    out = [f"""<html><head><style>a {{ color: {link}; }} .muted {{ color: {muted}; }}
        h1 {{ font-size: x-large; }} blockquote {{ font-style: italic; }}</style></head><body>"""]
    out.append(f"<h1>{e(long_date(d.date)) if d.date else 'Today'}</h1>")
    if headline:
        out.append(f"<p><b>{e(headline)}</b></p>")
    if writing:
        out.append(f'<p class="muted">Writing the digest… {d.done} of {d.total} stories done.</p>'
                   if d.total else '<p class="muted">Grouping today\'s articles into stories…</p>')
    if d.notice:
        out.append(f'<p class="muted"><i>{e(d.notice)}</i></p>')
    if opening:
        out.append(f"<p>{e(opening)}</p>")
    for sec in SECTIONS:
        idx = [(n, i) for n, i in enumerate(d.items) if i.section == sec]
        if not idx:
            continue
        if lb.get(sec):
            out.append(f"<h2>{e(lb[sec])}</h2>")
        for n, item in idx:
            links = " · ".join(
                f'<a href="{ARTICLE_SCHEME}{aid}">{e(src)}</a>'
                for aid, src in zip(item.article_ids, source_labels(item)))
            if item.url and item.url.startswith(("http://", "https://")):
                links += f' · <a href="{e(item.url, quote=True)}">original</a>'
            first = item.article_ids[0] if item.article_ids else None
            title = (f'<a href="{ARTICLE_SCHEME}{first}" style="text-decoration:none">{e(item.title)}</a>'
                     if first else e(item.title))
            if sec == "brief":
                text = item.text or streamed.get(n, "")
                text = text if text.strip() != item.title.strip() else ""
                out.append(f"<p><b>{title}</b>{': ' + e(text) if text else ''}<br>"
                           f'<span class="muted">{links}</span></p>')
                continue
            out.append(f"<h3>{title}</h3>")
            shown = story_parts(shell, item)
            names = [p for p, _ in shown]
            for part in (layout.get(sec) or DEFAULT_LAYOUT.get(sec, [])):  # parts still streaming
                key = "text" if part in MAIN_PARTS else part
                live = streamed.get(n, "") if key == "text" else streamed_parts.get((n, part), "")
                if key not in names and live:
                    shown.append((key, live))
                    names.append(key)
            if not any(p == "text" for p in names):
                shown.insert(0, ("text", ""))
            if n == 0 and "why" not in names and parts.get("why"):
                shown.append(("why", parts["why"]))
            out += [_html_part(part, text, lb) for part, text in shown]
            out.append(f'<p class="muted">{links}</p>')
    closing = d.closing or parts.get("closing", "")
    if closing:
        out.append(f"<hr><p>{e(closing)}</p>")
    if not d.items and not writing:
        out.append('<p class="muted">No articles arrived on this day.</p>')
    out.append("</body></html>")
    return "\n".join(out)
