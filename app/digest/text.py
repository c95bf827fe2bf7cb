"""Text helpers for the digest: plain text of an article, sentences, normalisation, tokens."""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata

from app.hashing import content_hash
from app.models import Article

from app.html import html_to_text


def article_text(a: Article) -> str:
    """The stored plain text of an article: extracted full text, else its content, else its summary."""
    if a.text and a.text.strip():
        return a.text.strip()
    for html in (a.content_html, a.summary):
        t = html_to_text(html or "")
        if t.strip():
            return t.strip()
    return ""


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


_TOKEN_QUOTES = str.maketrans({"’": "'", "‘": "'", "‛": "'", "`": "'", "´": "'", "“": '"', "”": '"', "„": '"',
                         "«": '"', "»": '"', "–": "-", "—": "-", "\u00a0": " "})
_TOKEN_WORD = re.compile(r"\d[\d,.]*\d|[^\W\d_][\w'\-]*", re.UNICODE)


def normalise_text(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").translate(_TOKEN_QUOTES)


def tokens(text: str, with_offsets: bool = False) -> list:
    """(stemmed content word, is it a name or a number?) in order (with ``with_offsets``:
    ((word, name), offset)). A name is a capitalised word that does not start a sentence."""
    text = normalise_text(text)
    out: list = []
    words = _WORDS
    if len(words) > 200_000:
        words.clear()
    for m in _TOKEN_WORD.finditer(text):
        raw = m.group(0)
        info = words.get(raw)
        if info is None:
            info = words[raw] = _word(raw)
        if info is _SKIP:
            continue
        w, digit, upper = info
        if digit:
            name = True
        elif upper:  # a capitalised word is a name unless it starts a sentence
            start = m.start()
            before = text[max(0, start - 3):start].strip()
            name = before != "" and before[-1] not in ".!?\":'"
        else:
            name = False
        tok = (w, name)
        out.append((tok, m.start()) if with_offsets else tok)
    return out


# What tokens() makes of a word, by the word as written (a day's articles repeat their words: the
# digest tokenises 3,000 articles in a fraction of the time with this): (token, digit, capitalised).
_WORDS: dict[str, tuple | object] = {}
_SKIP = object()


def _word(raw: str):
    w = raw.lower()
    if w.endswith("'s"):
        w = w[:-2]
    w = w.strip("'-").replace(",", "")
    if len(w) < 2 or w in STOPWORDS:
        return _SKIP
    digit = raw[0].isdigit()
    return (w if digit else stem(w), digit, raw[0].isupper())



def weighted_keywords(text: str) -> list[tuple[str, float]]:
    """Content words (stemmed), each with a weight: names and numbers count double — they are
    what tells one story from another ("Storm Elena", "4.5") more than common words do."""
    return [(w, 2.0 if name else 1.0) for w, name in tokens(text)]


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


# --- sentences that stand on their own (In brief lines, the extractive digest) --------------------

# whole sentences that are feed furniture, not news
_FURNITURE = re.compile(
    r"^(?:continue reading|read more|read the full|keep reading|click here|sign up|subscribe\b|"
    r"the post .+ appeared first on|this (?:article|story|post) (?:was|has been|is|first|originally)\b|"
    r"advertisement|share this|follow us|listen to this|related\b|see also|all rights reserved|copyright\b|"
    r"(?:photo(?:graph)?|image|picture|illustration|video|credit|caption)s?\s*[:/]|"
    r"(?:image|media|photo|video) (?:caption|source|copyright)\b|"
    r"(?:updated|published|posted|last (?:updated|modified))\b|"
    r"(?:reporting|editing|additional reporting|writing|compiled|produced) by\b)",
    re.I,
)
# a byline: "By" then only capitalised words, "and", "&" and commas ("By Jane Smith and Ed Li, Reuters.")
_BYLINE = re.compile(r"^(?:By|BY|Words by|Written by|Photos? by)\s+[A-Z][\w.'’-]*(?:(?:\s+|,\s*)(?:[A-Z][\w.'’-]*|and|&))*\.?$")
_LINKY = re.compile(r"https?://|www\.|\S@\S|©|\s\|\s|\b(?:use|accept|allow|manage) (?:of )?cookies\b|"
                    r"\bcookie (?:policy|settings|preferences)\b|\benable javascript\b|\bjavascript is\b", re.I)
# a dateline or label before the first words: "LISBON (Reuters) - ", "WASHINGTON — ", "(AP) — ", "BREAKING: "
_DATELINE = re.compile(
    r"^(?:[A-Z][A-Z.'’-]{2,}(?:(?:[ ,/]+)[A-Z][A-Za-z.'’-]*){0,3}(?:,?\s+[A-Z][a-z]{2,8}\.?\s+\d{1,2})?\s*"
    r"(?:\([^()]{1,30}\))?|\([^()]{1,30}\))\s*[-–—:]+\s+"
)
# a trailer glued to the last sentence: "… Continue reading", "[Read more]", "[+1234 chars]"
_TRAILER = re.compile(
    r"\s*(?:[\[(]?(?:continue reading|read more|keep reading|read the full (?:story|article))\W*[\])]?|"
    r"\[\+\d+ chars\])\s*$",
    re.I,
)
_CUT = re.compile(r"(?:\.\.\.|…|\[\s*(?:\.\.\.|…)\s*\])[\"'”’)\]]*$")  # "…", "[…]": the feed cut it short


def clean_sentence(s: str, complete: bool = True) -> str:
    """``s`` fit to stand on its own, or "" when it is boilerplate, a byline, a link line, cut
    short by the feed ("…", "[…]"), or (``complete``) lacks its full stop. What is kept is a
    substring of ``s``: a dateline before it or a "Continue reading" after it is taken off."""
    s = " ".join(s.split())
    s = _TRAILER.sub("", s)
    m = _DATELINE.match(s)
    if m and len(s) - m.end() > 20 and re.match(r"[\"'“‘(]?[A-Z0-9]", s[m.end():]):
        s = s[m.end():]
    if not s or _FURNITURE.match(s) or _BYLINE.match(s) or _LINKY.search(s) or _CUT.search(s):
        return ""
    if complete and not _END.search(s):
        return ""
    if not re.search(r"[a-z]", s):  # SHOUTED LINES, numbers only
        return ""
    return s


def clean_sentences(text: str, complete: bool = True) -> list[str]:
    """The sentences of ``text`` that :func:`clean_sentence` keeps, in order."""
    return [c for c in (clean_sentence(s, complete) for s in sentences(text)) if c]


def _balanced(s: str) -> bool:
    return normalise(s).count('"') % 2 == 0


def _restates(s: str, title: str) -> bool:
    """Does ``s`` say little besides the title (fewer than three content words of its own)?"""
    return len(set(keywords(s)) - set(keywords(title))) < 3


def clip_words(s: str, max_words: int) -> str:
    """At most ``max_words`` words of one sentence: cut at its last clause break (", ", "; ", " — ")
    that keeps at least half, else at a word; marked with " …"."""
    words = s.split()
    if len(words) <= max_words:
        return s
    head = " ".join(words[:max_words])
    breaks = [m.start() for m in re.finditer(r"[,;:]\s|\s[–—-]\s", head)]
    cut = breaks[-1] if breaks and len(head[:breaks[-1]].split()) >= max_words // 2 else len(head)
    return head[:cut].rstrip(" ,;:–—-") + " …"


def _leading_clean(text: str, complete: bool, n: int = 3, head_chars: int = 4000) -> list[str]:
    """The first ``n`` clean sentences of ``text`` (only its start is looked at: cheap on long texts)."""
    ss = sentences(text[:head_chars])
    if len(text) > head_chars and ss:
        ss.pop()  # cut by us, not by the writer
    return list(itertools.islice(filter(None, (clean_sentence(x, complete) for x in ss)), n))


BRIEF_MIN_WORDS = 6


def brief_sentence(texts: list[str], title: str, max_words: int) -> str:
    """The best leading sentence of a story for its one-line "In brief" entry, in the articles' own
    words: one of the first few clean sentences (see :func:`clean_sentence`) of its articles (the
    anchor article first) that is 6..``max_words`` words, adds something to the title, has its
    quotation marks paired and is not a question. Failing that, the nearest thing to it: such a
    sentence that restates the title, then a longer one clipped at a clause break (marked " …"),
    then a shorter one, then the same from lines without a full stop; "" when nothing is usable."""
    fallback: list[tuple[int, int, str]] = []
    order = 0
    for complete in (True, False):
        for text in texts:
            for s in _leading_clean(text, complete):
                order += 1
                n = len(s.split())
                if not complete:  # a line without its full stop: only when there is nothing else
                    if n >= BRIEF_MIN_WORDS:
                        fallback.append((4 if n <= max_words else 5, order, clip_words(s, max_words)))
                elif n < BRIEF_MIN_WORDS:
                    fallback.append((3, order, s))
                elif n > max_words:  # a long lede clipped at a clause beats a scrap of a sentence
                    fallback.append((2, order, clip_words(s, max_words)))
                elif _balanced(s) and not s.endswith("?") and not _restates(s, title):
                    return s
                else:
                    fallback.append((1, order, s))
        if fallback:
            break
    return min(fallback)[2] if fallback else ""
