"""Text helpers for the digest: plain text of an article, sentences, normalisation, tokens."""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata

from app.models import Article

try:  # the lead's fast regex converter; fall back to a local one if it moves
    from app.html import html_to_text
except ImportError:  # pragma: no cover
    import html as _html

    def html_to_text(fragment: str) -> str:
        text = re.sub(r"(?i)</?(p|div|br|li|h\d|blockquote|tr)[^>]*>", "\n\n", fragment or "")
        text = _html.unescape(re.sub(r"<[^>]+>", "", text))
        return re.sub(r"\n\s*\n+", "\n\n", re.sub(r"[ \t]+", " ", text)).strip()


def article_text(a: Article) -> str:
    """The stored plain text of an article: extracted full text, else its content, else its summary."""
    if a.text and a.text.strip():
        return a.text.strip()
    for html in (a.content_html, a.summary):
        t = html_to_text(html or "")
        if t.strip():
            return t.strip()
    return ""


def content_hash(*parts) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(str(p).encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def article_hash(a: Article) -> str:
    return content_hash(a.id, a.title, article_text(a))


# --- normalisation (for verbatim checks) ------------------------------------------------------

_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'", "‚": "'",
                         "′": "'", "–": "-", "—": "-", "\u00a0": " ", "…": "..."})


def normalise(text: str) -> str:
    """Whitespace, quote-mark and dash differences removed; case and words kept."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return " ".join(text.split())


# --- sentences --------------------------------------------------------------------------------

# Split after . ! ? (optionally followed by a closing quote/bracket) before an upper-case start,
# but not after common abbreviations or initials ("U.S.", "Mr.", "J. Smith").
_ABBREV = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|Gen|Gov|Sen|Rep|Lt|Col|Capt|Inc|Ltd|Corp|Co|No|vs|etc|approx|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)|\b[A-Z]|(?:[A-Z]\.)+[A-Z])\.$"
)
_SPLIT = re.compile(r"(?<=[.!?])([\"'”’)\]]*)\s+(?=[\"'“‘(\[]?[A-Z0-9])")


def sentences(text: str) -> list[str]:
    out: list[str] = []
    for para in re.split(r"\n\s*\n", text or ""):
        para = " ".join(para.split())
        if not para:
            continue
        start = 0
        for m in _SPLIT.finditer(para):
            end = m.start() + len(m.group(1))
            head = para[start:m.start()]
            if _ABBREV.search(head):
                continue
            out.append(para[start:end].strip())
            start = m.end()
        tail = para[start:].strip()
        if tail:
            out.append(tail)
    return [s for s in out if s]


def leading_sentences(text: str, max_words: int, min_sentences: int = 1) -> str:
    """The first sentences of ``text`` up to about ``max_words`` words (at least ``min_sentences``)."""
    picked: list[str] = []
    words = 0
    for s in sentences(text):
        n = len(s.split())
        if picked and len(picked) >= min_sentences and words + n > max_words:
            break
        picked.append(s)
        words += n
        if words >= max_words:
            break
    return " ".join(picked)


_END = re.compile(r"[.!?][\"'”’)\]]*$")


def trim_to_sentence(text: str) -> str:
    """Cut text to its last full sentence (for output cut at the token cap)."""
    text = text.strip()
    if not text or _END.search(text):
        return text
    ss = sentences(text)
    while ss and not _END.search(ss[-1]):
        ss.pop()
    return " ".join(ss)


def truncate_words(text: str, max_words: int) -> str:
    """At most ``max_words`` words, preferring to end at a sentence boundary."""
    words = text.split()
    if len(words) <= max_words:
        return " ".join(words)
    cut = " ".join(words[:max_words])
    trimmed = trim_to_sentence(cut)
    return trimmed if len(trimmed.split()) >= max_words // 2 else cut + " …"


# --- tokens for similarity --------------------------------------------------------------------

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me more
    most my myself no nor not now of off on once only or other our ours out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your
    said says say saying new news today report reports year years week day told according one two first last
    percent per cent mr mrs ms will may might just""".split()
)
_WORD = re.compile(r"\d[\d,.]*\d|[A-Za-z0-9\u00c0-\u024f][A-Za-z0-9\u00c0-\u024f'’\-]*")


def weighted_keywords(text: str) -> list[tuple[str, float]]:
    """Content words (stemmed), each with a weight: names and numbers count double — they are
    what tells one story from another ("Storm Elena", "4.5") more than common words do."""
    out = []
    for m in _WORD.finditer(text):
        raw = m.group(0)
        w = raw.lower().replace("’", "'")
        if w.endswith("'s"):
            w = w[:-2]
        w = w.strip("'-").replace(",", "")
        if len(w) < 2 or w in STOPWORDS:
            continue
        before = text[max(0, m.start() - 3):m.start()].strip()
        is_name = raw[0].isupper() and before != "" and before[-1] not in ".!?\"“:"
        weight = 2.0 if (is_name or raw[0].isdigit()) else 1.0
        out.append((w if raw[0].isdigit() else stem(w), weight))
    return out


def keywords(text: str) -> list[str]:
    return [w for w, _ in weighted_keywords(text)]


_SUFFIXES = ("ations", "ation", "ings", "ing", "edly", "ed", "ers", "er", "es", "s", "ly")


@functools.lru_cache(maxsize=65536)
def stem(w: str) -> str:
    """A crude suffix stripper: floods/flooded/flooding -> flood, evacuated/evacuate -> evacuat."""
    if len(w) > 4 and not w[0].isdigit():
        for suf in _SUFFIXES:
            if w.endswith(suf) and len(w) - len(suf) >= 3 and not (suf == "s" and w.endswith("ss")):
                w = w[: -len(suf)]
                break
        if len(w) > 4 and w.endswith("e"):
            w = w[:-1]
    return w
