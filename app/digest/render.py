"""Digest -> Markdown (what the CLI prints) and self-contained HTML (an export that works offline).

Links: in Markdown every item links its stored articles as ``tidings://article/<id>`` (the digest
view opens those in the reader, offline) and the original page when there is one. The HTML
export carries the cited articles' stored text inside the file, so its links work with no network
and no Tidings.
"""

from __future__ import annotations

import html
from datetime import date as _date
from typing import Sequence

from app.digest.styles import DEFAULT_LABELS
from app.models import Article, Digest, DigestItem

ARTICLE_SCHEME = "tidings://article/"


def long_date(day: str) -> str:
    try:
        d = _date.fromisoformat(day)
    except ValueError:
        return day
    return f"{d:%A} {d.day} {d:%B %Y}"


def _labels(labels: dict | None) -> dict:
    return {**DEFAULT_LABELS, **(labels or {})}


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


def to_markdown(d: Digest, labels: dict | None = None) -> str:
    lb = _labels(labels)
    out = [f"# {long_date(d.date)}", "", f"**{d.headline}**", ""]
    if d.notice:
        out += [f"> {d.notice}", ""]
    sections = [("lead", lb["lead"]), ("also", lb["also"]), ("brief", lb["brief"])]
    for sec, title in sections:
        items = [i for i in d.items if i.section == sec]
        if not items:
            continue
        out += [f"## {title}", ""]
        for i in items:
            if sec == "brief":
                text = f": {i.text}" if i.text.strip() != i.title.strip() else ""  # no line of its own: title only
                out.append(f"- **{_md_escape(i.title)}** ({', '.join(i.sources)}){text} {_md_links(i)}")
                continue
            out += [f"### [{_md_escape(i.title)}]({ARTICLE_SCHEME}{i.article_ids[0]})", f"*{', '.join(i.sources)}*", "", i.text, ""]
            if i.why:
                out += [f"**{lb['why']}:** {i.why}", ""]
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
.closing{font-style:italic;border-top:1px solid #ddd;padding-top:1em;margin-top:2em}
details{margin:.8em 0;border-top:1px solid #eee;padding-top:.5em}
summary{cursor:pointer;font:600 .95em system-ui,sans-serif}
.article p{margin:.5em 0}
@media (prefers-color-scheme: dark){body{background:#161616;color:#e8e8e8}.why{background:#222}.notice{background:#3a3218;border-color:#6b5a1f}a{color:#8ab4f8}}
"""


def to_html(d: Digest, articles: Sequence[Article] = (), labels: dict | None = None) -> str:
    """A single HTML file: the digest plus the stored text of every cited article (links are anchors)."""
    from app.digest.text import article_text

    lb = _labels(labels)
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
    for sec in ("lead", "also", "brief"):
        items = [i for i in d.items if i.section == sec]
        if not items:
            continue
        body.append(f"<h2>{e(lb[sec])}</h2>")
        if sec == "brief":
            body.append('<ul class="brief">')
            for i in items:
                body.append(f'<li><a href="{e(first_href(i))}"><b>{e(i.title)}</b></a> '
                            f'<span class="sources">({e(", ".join(i.sources))})</span>'
                            f'{": " + e(i.text) if i.text.strip() != i.title.strip() else ""} '
                            f'<span class="links">{links(i)}</span></li>')
            body.append("</ul>")
            continue
        for i in items:
            body.append(f'<article><h3><a href="{e(first_href(i))}">{e(i.title)}</a></h3>'
                        f'<div class="sources">{e(", ".join(dict.fromkeys(i.sources)))}</div><p>{e(i.text)}</p>')
            if i.why:
                body.append(f'<p class="why"><b>{e(lb["why"])}:</b> {e(i.why)}</p>')
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
