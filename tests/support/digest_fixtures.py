"""A day of news for digest tests: several stories, some covered by several sources, some distinct
stories sharing words (so grouping must not lump them), one quote per big story."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.models import Article, ParsedEntry, ParsedFeed

DAY = "2026-11-20"
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)

# (story key, source, title, text)
STORIES = [
    ("storm", "Harbour Times", "Storm Elena floods coastal towns in northern Portugal",
     "Storm Elena brought record rainfall to northern Portugal on Thursday, flooding the coastal towns of "
     "Viana do Castelo and Póvoa de Varzim. Civil protection officials said 1,200 people were evacuated overnight. "
     "\u201cWe have never seen the river rise this fast,\u201d said mayor Luísa Costa. Rail services between Porto "
     "and Vigo were suspended and schools will stay closed on Friday. Forecasters expect the rain to ease by Saturday."),
    ("storm", "Daily Ledger", "Thousands evacuated as Storm Elena hits Portugal's north coast",
     "About 1,200 residents were evacuated as Storm Elena struck northern Portugal, officials said. The storm "
     "flooded streets in Viana do Castelo and cut the Porto to Vigo railway. Mayor Luísa Costa said the river "
     "rose faster than ever before. Portugal's weather service kept a red warning in place until Saturday."),
    ("storm", "Continental Wire", "Portugal: Storm Elena floods towns, rail line to Vigo cut",
     "Storm Elena flooded towns on Portugal's northern coast on Thursday. Authorities evacuated about 1,200 "
     "people from Viana do Castelo and Póvoa de Varzim, and suspended trains between Porto and Vigo. The "
     "red weather warning stays in force until Saturday morning."),
    ("rates", "Daily Ledger", "Central bank raises interest rates to 4.5 percent",
     "The central bank raised its main interest rate by a quarter point to 4.5 percent on Thursday, its third "
     "increase this year. Governor Anna Berg said inflation of 5.1 percent was \u201cstill far too high\u201d. "
     "Mortgage lenders are expected to pass the rise on to borrowers within weeks. Two members of the rate "
     "committee voted to hold rates steady."),
    ("rates", "Money Matters", "Interest rate rise to 4.5% as central bank fights inflation",
     "Borrowing costs rose again on Thursday as the central bank lifted its main interest rate to 4.5 percent. "
     "Governor Anna Berg said inflation at 5.1 percent remained too high. The vote on the rate committee was "
     "seven to two. Economists expect one more increase early next year."),
    ("telescope", "Science Weekly", "New telescope captures sharpest image yet of a distant galaxy",
     "Astronomers using the new Atacama Survey Telescope have released the sharpest image yet of the spiral "
     "galaxy NGC 4414, which lies about 62 million light years away. The image, taken over six nights, shows "
     "individual star clusters in the galaxy's arms. The telescope's 8.4 metre mirror was completed last "
     "spring. Project scientist Tomás Reyes said the team would publish a survey of 10,000 galaxies next year. "
     "The data will be free for researchers to use."),
    ("football", "Sports Desk", "Portugal beat Spain 2-1 in Lisbon friendly",
     "Portugal came from behind to beat Spain 2-1 in a friendly at the Estádio da Luz on Thursday night. "
     "Spain led at half-time through a header from Pedro Ruiz. Two goals in the last twenty minutes, from "
     "João Mendes and Rui Alves, won it for the hosts."),
    ("cycling", "City Life", "Cycling in cities rises for a third year",
     "The number of people cycling to work in the country's ten largest cities rose for a third year running, "
     "a transport survey found. Cycle lanes opened since 2023 account for most of the rise, the survey said."),
    ("bakery", "Local Gazette", "Riverside bakery wins national bread award",
     "A small bakery on Riverside Road won the national bread award on Thursday for its rye sourdough. "
     "Owner Mia Lund said the recipe came from her grandmother."),
]


def make_articles(stories=STORIES, start_id: int = 1, base: datetime = NOON) -> list[Article]:
    out = []
    feeds: dict[str, int] = {}
    for n, (key, source, title, text) in enumerate(stories):
        fid = feeds.setdefault(source, len(feeds) + 1)
        aid = start_id + n
        when = base - timedelta(minutes=17 * n)
        out.append(Article(
            id=aid, feed_id=fid, feed_title=source, guid=f"g{aid}", url=f"https://example.org/{key}/{aid}",
            title=title, authors="", published=when, updated=None, first_seen=when,
            summary="", content_html="", text=text, read=False, starred=False,
        ))
    return out


def story_of(articles: list[Article], stories=STORIES) -> dict[int, str]:
    """article id -> story key (the ground truth of grouping)."""
    return {a.id: stories[i][0] for i, a in enumerate(articles)}


def fill_store(store, stories=STORIES, now: datetime = NOON) -> dict[str, int]:
    """Put the stories into a real Store, one feed per source; returns {title: article id}."""
    by_source: dict[str, list] = {}
    for n, (key, source, title, text) in enumerate(stories):
        html = "".join(f"<p>{p}</p>" for p in text.split("\n\n"))
        by_source.setdefault(source, []).append(ParsedEntry(
            guid=f"{key}-{n}-{title}", url=f"https://example.org/{key}/{n}", title=title, authors="",
            published=now - timedelta(minutes=17 * n), updated=None, summary=html, content_html=html,
        ))
    for source, entries in by_source.items():
        fid, _ = store.add_feed(f"https://{source.lower().replace(' ', '-')}.example/feed", now=now, title=source)
        store.save_entries(fid, ParsedFeed(title=source, site_url=None, entries=entries), now=now)
    return {a.title: a.id for a in store.articles_between(now - timedelta(days=1), now + timedelta(days=1))}
