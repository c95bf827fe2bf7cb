"""`tidings`: with no command, the desktop app; with a command, the same jobs headless.

Exit codes: 0 done (a sync with some failed feeds is still done), 1 an error the person can act
on (printed with what to do), 2 bad usage, 3 a bug (logged with its traceback).

Arguments are checked by the parser (exit 2 with the reason): dates Tidings can handle, ids and
limits SQLite can hold, http(s) addresses with a valid host and port. Files and folders that
cannot be read or written are exit 1 with the reason. Text from feeds is printed through
`app.normalise.printable`: terminal escapes and bidi overrides never reach the terminal raw.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path

from app import __version__, urls
from app.core import Tidings, default_data_dir, make_tidings
from app.errors import BadAddress, StoreError, TidingsError
from app.models import ArticleQuery, FeedResult
from app.normalise import SQLITE_MAX_INT, printable as _p

log = logging.getLogger("tidings")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tidings", description="A feed reader that reads the day for you.")
    p.add_argument("--data-dir", type=Path, help="where the library lives (default: TIDINGS_DATA_DIR or the "
                   "platform's user data directory)")
    p.add_argument("--version", action="version", version=f"Tidings {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug details to stderr")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser("add", help="subscribe to a feed URL or a site page (its feed is discovered)")
    c.add_argument("url", type=_url)
    c.add_argument("--folder")
    c = sub.add_parser("import", help="subscribe to the feeds in an OPML file")
    c.add_argument("file", type=Path)
    c = sub.add_parser("export", help="write subscriptions as OPML (to FILE or stdout)")
    c.add_argument("file", type=Path, nargs="?")
    c = sub.add_parser("sync", help="fetch new articles (progress on stderr)")
    c.add_argument("--feed", type=_id, action="append", dest="feeds", metavar="ID")
    c.add_argument("--timed", action="store_true",
                   help="as a timer would (cron): skip feeds backing off after errors")
    c = sub.add_parser("feeds", help="list subscriptions")
    c.add_argument("--json", action="store_true")
    c = sub.add_parser("feed-options", help="show or change a feed's offline reading (full text, images)")
    c.add_argument("id", type=_id)
    c.add_argument("--full-text", action=argparse.BooleanOptionalAction, default=None,
                   help="fetch each article's page when the feed gives only a teaser")
    c.add_argument("--images", action=argparse.BooleanOptionalAction, default=None,
                   help="download the images articles show")
    c = sub.add_parser("articles", help="list articles, newest first")
    c.add_argument("--feed", type=_id, metavar="ID")
    c.add_argument("--unread", action="store_true")
    c.add_argument("--starred", action="store_true")
    c.add_argument("--since", type=_day, metavar="YYYY-MM-DD", help="published (or, undated, first seen) on/after this local day")
    c.add_argument("--limit", type=_count)
    c.add_argument("--json", action="store_true")
    c = sub.add_parser("show", help="print a stored article as plain text (works offline)")
    c.add_argument("id", type=_id)
    c = sub.add_parser("search", help="full-text search over title, author and text")
    c.add_argument("query")
    c.add_argument("--limit", type=_count, default=100)
    c.add_argument("--json", action="store_true")
    c = sub.add_parser("mark-read", help="mark articles read: IDs, a whole feed, or everything")
    c.add_argument("ids", type=_id, nargs="*")
    c.add_argument("--feed", type=_id, metavar="ID")
    c.add_argument("--all", action="store_true")
    c.add_argument("--unread", action="store_true", help="mark the IDs unread instead")
    c = sub.add_parser("star", help="star articles (--off to unstar)")
    c.add_argument("ids", type=_id, nargs="+")
    c.add_argument("--off", action="store_true")
    c = sub.add_parser("screenshot", help="render the main window offscreen to a PNG")
    c.add_argument("file", type=Path)
    c.add_argument("--size", type=_size, default=(1280, 800), metavar="WxH")
    sub.add_parser("selftest", help="check this installation end to end, headless (exit 0 when fine)")
    c = sub.add_parser("digest", help="write the day's digest with the local Ollama model (Markdown on stdout)")
    c.add_argument("--date", type=_day, metavar="YYYY-MM-DD", help="the local day (default today)")
    c.add_argument("--since-last", action="store_true", help="the articles since the last digest")
    c.add_argument("--style", help="a digest style (briefing, newsletter, or your own)")
    c.add_argument("--model", help="an installed Ollama model (default: Settings, else a sensible one)")
    c.add_argument("--folder", action="append", dest="folders", metavar="FOLDER", help="only these folders")
    c.add_argument("--extractive", action="store_true", help="no model: the articles' own sentences")
    c.add_argument("--html", type=Path, metavar="FILE", help="also write a self-contained HTML export")
    c.add_argument("--json", action="store_true")
    # --- server accounts (app/accounts/) ---
    c = sub.add_parser("account", help="server accounts: Tiny Tiny RSS, Google Reader API (FreshRSS, Miniflux, ...)")
    acc = c.add_subparsers(dest="account_command", metavar="ACTION", required=True)
    a = acc.add_parser("add", help="add an account (the password is asked for, or read from stdin)")
    a.add_argument("server", type=_url, help="the server's address (FreshRSS: https://host/api/greader.php)")
    a.add_argument("username")
    a.add_argument("--kind", choices=("ttrss", "greader"), required=True,
                   help="ttrss: Tiny Tiny RSS; greader: the Google Reader API")
    a.add_argument("--name", help="what to call it (default user@host)")
    a.add_argument("--password-stdin", action="store_true", help="read the password from stdin, not a prompt")
    a.add_argument("--allow-password-file", action="store_true",
                   help="where there is no OS keyring, keep the password in a file only you can read (0600)")
    a.add_argument("--no-check", action="store_true", help="do not sign in first (add it offline)")
    a = acc.add_parser("list", help="accounts, with their queued and refused changes")
    a.add_argument("--json", action="store_true")
    a = acc.add_parser("remove", help="forget an account here (its feeds, articles, queue, password)")
    a.add_argument("id", type=_id)
    a = acc.add_parser("sync", help="send queued changes and mirror the server (progress on stderr)")
    a.add_argument("id", type=_id, nargs="?", help="one account (default: all)")
    a.add_argument("--no-extras", action="store_true", help="skip fetching full text and images")
    a = acc.add_parser("subscribe", help="subscribe an account to a feed (sent at the next sync)")
    a.add_argument("id", type=_id)
    a.add_argument("url", type=_url)
    a.add_argument("--folder")
    a = acc.add_parser("queue", help="show an account's queued changes; retry or drop refused ones")
    a.add_argument("id", type=_id)
    a.add_argument("--retry", action="store_true", help="put every refused change back in the queue")
    a.add_argument("--drop", type=_id, nargs="+", metavar="CHANGE", help="drop these changes")
    add_power_parsers(sub)  # issue 11: rules, retention, translate, notify, podcasts
    return p


#: what needs the desktop app: the launcher (ui/launch.py) hands these in as `front_end`
UI_COMMANDS = ("window", "selftest", "screenshot")


def main(argv: list[str] | None = None, front_end: dict | None = None) -> int:
    """Run a command. `front_end` maps "window" -> fn(data_dir), "selftest" -> fn() and
    "screenshot" -> fn(t, args): the launcher passes them; app/ itself never imports Qt."""
    front_end = front_end or {}
    parser = build_parser()
    args = parser.parse_args(argv)
    data_dir = args.data_dir or default_data_dir()
    if data_dir.exists() and not data_dir.is_dir():
        print(f"tidings: the data folder {_p(str(data_dir))} is a file, not a folder.", file=sys.stderr)
        print("Pick a folder with --data-dir (or TIDINGS_DATA_DIR).", file=sys.stderr)
        return 1
    _setup_logging(data_dir, args.verbose)
    command = args.command or "window"
    if command in UI_COMMANDS and command not in front_end:
        print(f"tidings: {'the window' if command == 'window' else command} needs the desktop app: run `tidings"
              f"{'' if command == 'window' else ' ' + command}` (python -m ui.launch).", file=sys.stderr)
        return 1
    if command == "window":
        return front_end["window"](data_dir)
    if command == "selftest":
        return front_end["selftest"]()
    handler = COMMANDS.get(command) or front_end.get(command)
    if handler is None:
        parser.error(f"unknown command {args.command}")
    try:
        with make_tidings(data_dir) as t:
            return handler(t, args) or 0
    except TidingsError as e:
        print(f"tidings: {_p(str(e))}", file=sys.stderr)
        if e.hint:
            print(_p(e.hint), file=sys.stderr)
        return 1
    except OSError as e:  # the data folder cannot be made or read (permissions, a file in the way)
        print(f"tidings: the data folder {_p(str(data_dir))} cannot be used: {_p(e.strerror or str(e))}.",
              file=sys.stderr)
        print("Pick a folder you can write to with --data-dir (or TIDINGS_DATA_DIR).", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tidings: interrupted; everything saved so far is kept.", file=sys.stderr)
        return 130
    except Exception:
        log.exception("bug in `tidings %s`", " ".join(argv if argv is not None else sys.argv[1:]))
        print(f"tidings: something went wrong (a bug). Details are in {data_dir / 'tidings.log'}", file=sys.stderr)
        return 3


# --- commands ------------------------------------------------------------------------------------


def cmd_add(t: Tidings, args) -> int:
    found = t.discover(args.url)
    feed = t.subscribe(found[0][0], folder=args.folder, title=found[0][1])
    print(_p(f"Subscribed to {feed.title} <{feed.url}> (feed {feed.id})."))
    for url, title in found[1:]:
        print(_p(f"  The site also offers: {title or url} <{url}>"), file=sys.stderr)
    return 0


def cmd_import(t: Tidings, args) -> int:
    added = t.import_opml(_read_file(args.file))
    print(f"Imported {added} new feed{'s' if added != 1 else ''} ({len(t.feeds())} in all).")
    if t.rules_beside(args.file).is_file():  # issue 11: rules exported beside the OPML
        n = t.import_rules(_read_file(t.rules_beside(args.file)))
        print(f"Imported {n} rule{'s' if n != 1 else ''} from {t.rules_beside(args.file)}.")
    return 0


def cmd_export(t: Tidings, args) -> int:
    text = t.export_opml()
    if args.file:
        _write_file(args.file, text)
        print(f"Wrote {len(t.feeds())} feeds to {args.file}.", file=sys.stderr)
        if t.rules():  # issue 11: the rules travel beside the OPML
            _write_file(t.rules_beside(args.file), t.export_rules())
            print(f"Wrote the rules to {t.rules_beside(args.file)}.", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_sync(t: Tidings, args) -> int:
    def progress(r: FeedResult, done: int, total: int) -> None:
        if r.status == "error":
            what = f"failed: {r.error}"
        elif r.status == "not_modified":
            what = "not modified"
        elif r.status == "cancelled":
            what = "cancelled"
        else:
            what = f"{r.new} new" + (f", {r.updated} updated" if r.updated else "")
        if r.fulltext or r.images:  # offline reading: pages and images fetched for this feed's articles
            what += f" ({r.fulltext} full text{'s' if r.fulltext != 1 else ''}, {r.images} image{'s' if r.images != 1 else ''})"
        print(_p(f"[{done}/{total}] {r.title or r.url}: {what}"), file=sys.stderr, flush=True)

    report = t.sync(args.feeds, on_progress=progress, automatic=args.timed)
    if report.offline:  # nothing was reached: one plain line, no per-feed errors were kept
        print(report.summary(), file=sys.stderr)
        return 0
    indexed = t.update_search()
    failed = len(report.failed)
    print(f"Synced {len(report.results)} feeds in {report.seconds:.1f} s: {report.new} new articles"
          + (f", {failed} feed{'s' if failed != 1 else ''} failed" if failed else "")
          + (f"; indexed {indexed} for search" if indexed else "") + ".", file=sys.stderr)
    return 0


def cmd_feeds(t: Tidings, args) -> int:
    feeds = t.feeds()
    if args.json:
        _print_json([f.to_json() for f in feeds])
        return 0
    for f in feeds:
        flag = "  ! " + f.last_error if f.last_error else ""
        folder = f"[{f.folder}] " if f.folder else ""
        print(_p(f"{f.id:>5}  {f.unread:>5} unread  {folder}{f.title} <{f.url}>{flag}"))
    return 0


def cmd_feed_options(t: Tidings, args) -> int:
    t.set_feed_options(args.id, fetch_full_text=args.full_text, fetch_images=args.images)
    f = t.feed(args.id)
    print(_p(f"{f.title}: full text {'on' if f.fetch_full_text else 'off'}, images {'on' if f.fetch_images else 'off'}."))
    return 0


def cmd_articles(t: Tidings, args) -> int:
    since = t.local_day_bounds(args.since)[0] if args.since else None
    q = ArticleQuery(feed_id=args.feed, unread=args.unread, starred=args.starred, since=since, limit=args.limit)
    if args.json:
        _print_json([a.to_json() for a in t.articles(q)])
        return 0
    _print_rows(t, t.article_ids(q))
    return 0


def cmd_show(t: Tidings, args) -> int:
    a = t.article(args.id)
    from app.html import html_to_text

    print(_p(a.title))
    print(_p(f"{a.feed_title}" + (f" · {a.authors}" if a.authors else "") + f" · {_local(a.date)}"))
    if a.url:
        print(_p(a.url))
    print()
    print(_p(a.text or html_to_text(a.content_html or a.summary)))
    for e in a.enclosures:
        print(_p(f"\nAttachment: {e.url}" + (f" ({e.type})" if e.type else "")))
    if a.images:
        print(f"\n{len(a.images)} image(s) cached for offline reading.")
    return 0


def cmd_search(t: Tidings, args) -> int:
    ids = t.search(args.query, limit=args.limit)
    if args.json:
        _print_json([a.to_json() for a in t.articles_by_id(ids)])
        return 0
    if not ids:
        print(_p(f"Nothing matches “{args.query}”."), file=sys.stderr)
    _print_rows(t, ids)
    return 0


def cmd_mark_read(t: Tidings, args) -> int:
    if args.all:
        n = t.mark_all_read().count
    elif args.feed is not None:
        n = t.mark_feed_read(args.feed).count
    elif args.ids:
        n = t.mark_read(args.ids, read=not args.unread).count
    else:
        print("tidings mark-read: give article IDs, --feed ID or --all.", file=sys.stderr)
        return 2
    print(f"Marked {n} article{'s' if n != 1 else ''} {'unread' if args.unread else 'read'}.", file=sys.stderr)
    return 0


def cmd_star(t: Tidings, args) -> int:
    n = t.star(args.ids, not args.off).count  # one transaction: all or none
    print(f"{'Unstarred' if args.off else 'Starred'} {len(set(args.ids))} article{'s' if len(set(args.ids)) != 1 else ''}"
          + ("" if n == len(set(args.ids)) else f" ({len(set(args.ids)) - n} already were)") + ".", file=sys.stderr)
    return 0


def cmd_digest(t: Tidings, args) -> int:
    tty = sys.stderr.isatty()

    def on_event(ev) -> None:
        if ev.kind == "notice":
            print(f"tidings: {ev.message}", file=sys.stderr)
        elif ev.kind == "progress" and tty and ev.total:
            print(f"\rWriting the digest: {ev.done}/{ev.total} stories", end="", file=sys.stderr, flush=True)

    unsaved: StoreError | None = None
    try:
        d = t.digest(args.date, style=args.style, model=args.model, folders=args.folders,
                     since_last=args.since_last, extractive=args.extractive, on_event=on_event)
    except StoreError as e:
        if getattr(e, "digest", None) is None:
            raise
        d, unsaved = e.digest, e  # written, but the library was busy or read-only: print it all the same
    if tty:
        print(file=sys.stderr)
    if args.json:
        _print_json(d.to_json())
    else:
        sys.stdout.write(_p(t.digest_markdown(d)))
    sys.stdout.flush()
    if args.html:
        _write_file(args.html, t.digest_html(d))  # after printing: a bad path never costs the digest
    if unsaved is not None:
        raise unsaved
    return 0


# --- server accounts (app/accounts/) --------------------------------------------------------------


def cmd_account(t: Tidings, args) -> int:
    return {"add": _account_add, "list": _account_list, "remove": _account_remove, "sync": _account_sync,
            "subscribe": _account_subscribe, "queue": _account_queue}[args.account_command](t, args)


def _account_add(t: Tidings, args) -> int:
    if args.password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        import getpass

        password = getpass.getpass(f"Password for {args.username}: ")
    if not password:
        print("tidings: no password given.", file=sys.stderr)
        return 2
    a = t.add_account(args.kind, args.server, args.username, password, name=args.name,
                      allow_password_file=args.allow_password_file, check=not args.no_check)
    print(_p(f"Added account {a.id}: {a.name} ({t.account_kinds()[a.kind]}). "
             f"Run `tidings account sync {a.id}` to fetch its feeds."))
    return 0


def _account_list(t: Tidings, args) -> int:
    accounts = t.accounts()
    if args.json:
        _print_json([a.to_json() for a in accounts])
        return 0
    if not accounts:
        print("No accounts: the local library only. Add one with `tidings account add`.", file=sys.stderr)
    for a in accounts:
        when = _local(a.last_sync) if a.last_sync else "never synced"
        line = f"{a.id:>4}  {a.name} [{a.kind}] {a.feeds} feeds, {a.pending} to send"
        if a.rejected:
            line += f", {a.rejected} refused (tidings account queue {a.id})"
        print(_p(f"{line}; {when}" + (f"\n      ! {a.last_error}" if a.last_error else "")))
    return 0


def _account_remove(t: Tidings, args) -> int:
    a = t.account(args.id)
    t.remove_account(args.id)
    print(_p(f"Removed {a.name} here (the server keeps its feeds)."))
    return 0


def _account_sync(t: Tidings, args) -> int:
    from app.errors import AccountError

    def progress(p) -> None:
        total = f" {p.done}/{p.total}" if p.total else ""
        print(_p(f"[account {p.account_id}] {p.message or p.stage}{total}"), file=sys.stderr, flush=True)

    ids = [args.id] if args.id else [a.id for a in t.accounts()]
    failed = 0
    for account_id in ids:
        try:
            r = t.sync_account(account_id, on_progress=progress, extras=not args.no_extras)
        except AccountError as e:
            failed += 1
            print(_p(f"tidings: account {account_id}: {e}"), file=sys.stderr)
            if e.hint:
                print(_p(e.hint), file=sys.stderr)
            continue
        print(_p(f"Account {account_id}: {r.new} new articles, {r.sent} changes sent"
                 + (f", {r.rejected} refused (see `tidings account queue {account_id}`)" if r.rejected else "")
                 + f"; {r.requests} requests in {r.seconds:.1f} s."), file=sys.stderr)
    t.update_search()
    return 1 if failed else 0


def _account_subscribe(t: Tidings, args) -> int:
    f = t.account_subscribe(args.id, args.url, folder=args.folder)
    print(_p(f"Subscribed (feed {f.id}); it is sent to the server at the next sync."))
    return 0


def _account_queue(t: Tidings, args) -> int:
    if args.retry:
        print(f"{t.retry_account_changes(args.id)} refused changes are queued again.", file=sys.stderr)
    if args.drop:
        print(f"Dropped {t.drop_account_changes(args.id, args.drop)} changes.", file=sys.stderr)
    for c in t.account_changes(args.id):
        what = c.remote_id or c.url or ""
        if c.folder:
            what += f" → {c.folder}"
        print(_p(f"{c.id:>6}  {c.action:<11} {what}" + (f"\n        refused: {c.error}" if c.error else "")))
    return 0


COMMANDS = {
    "digest": cmd_digest,
    "add": cmd_add,
    "import": cmd_import,
    "export": cmd_export,
    "sync": cmd_sync,
    "feeds": cmd_feeds,
    "feed-options": cmd_feed_options,
    "articles": cmd_articles,
    "show": cmd_show,
    "search": cmd_search,
    "mark-read": cmd_mark_read,
    "star": cmd_star,
    "account": cmd_account,
}


# --- issue 11: rules, retention, translation, notifications, podcasts ------------------------------


def add_power_parsers(sub) -> None:
    from app.rules import ACTIONS, FIELDS, KINDS

    c = sub.add_parser("rules", help="rules that mark read, star, hide, keep out of the digest or notify")
    rs = c.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    r = rs.add_parser("list", help="list the rules")
    r.add_argument("--json", action="store_true")
    r = rs.add_parser("add", help="add a rule, e.g. rules add Crypto --if title keyword bitcoin,ethereum --do hide")
    r.add_argument("name")
    r.add_argument("--if", nargs=3, action="append", dest="conds", default=[], metavar=("FIELD", "KIND", "VALUE"),
                   help=f"a condition: FIELD is {'|'.join(FIELDS)}, KIND is {'|'.join(KINDS)} "
                        "(keyword: any of comma-separated whole words)")
    r.add_argument("--unless", nargs=3, action="append", dest="negs", default=[], metavar=("FIELD", "KIND", "VALUE"),
                   help="a condition that must not hold")
    r.add_argument("--do", action="append", dest="actions", default=[], choices=ACTIONS, help="an action (repeatable)")
    r.add_argument("--any", action="store_true", help="any condition is enough (default: all)")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--feed", type=_id, metavar="ID", help="only for this feed")
    g.add_argument("--folder", help="only for this folder and its subfolders")
    r.add_argument("--apply", action="store_true", help="also apply it to the articles already stored")
    r = rs.add_parser("remove", help="remove rules by id")
    r.add_argument("ids", type=_id, nargs="+")
    r = rs.add_parser("apply", help="apply rules (all, or IDS) to the stored articles")
    r.add_argument("ids", type=_id, nargs="*")
    r.add_argument("--dry-run", action="store_true", help="only count what would change")
    r = rs.add_parser("export", help="write the rules as JSON (to FILE or stdout)")
    r.add_argument("file", type=Path, nargs="?")
    r = rs.add_parser("import", help="add the rules of a JSON export")
    r.add_argument("file", type=Path)
    r = rs.add_parser("hidden", help="list the articles rules hid")

    c = sub.add_parser("retention", help="show or set how long articles are kept (starred and digest-cited: always)")
    c.add_argument("--days", type=_limit, default=..., metavar="N",
                   help="keep N days (0: forever; with --feed, 'default': as for every feed)")
    c.add_argument("--per-feed", type=_limit, default=..., metavar="N", help="keep the newest N per feed (0: no limit)")
    c.add_argument("--feed", type=_id, metavar="ID", help="set this feed's own limits")
    c = sub.add_parser("clean", help="remove what retention lets go (with images and downloads), then compact")
    c.add_argument("--dry-run", action="store_true", help="only count what would go")
    c.add_argument("--no-compact", action="store_true", help="skip the VACUUM (it needs the library to itself)")

    c = sub.add_parser("notify", help="desktop notifications: for feeds, folders; what is waiting to be announced")
    ns = c.add_subparsers(dest="notify_command", metavar="ACTION", required=True)
    n = ns.add_parser("feed", help="notify (or not) for a feed's new articles")
    n.add_argument("id", type=_id)
    n.add_argument("state", choices=("on", "off"))
    n = ns.add_parser("folder", help="notify (or not) for new articles in a folder and its subfolders")
    n.add_argument("folder")
    n.add_argument("state", choices=("on", "off"))
    n = ns.add_parser("list", help="what notifies: feeds, folders, the timed Summarise today")
    n = ns.add_parser("pending", help="print (and hand out) the notifications waiting, batched as the app shows them")
    n.add_argument("--json", action="store_true")
    n = ns.add_parser("summarise-at", help="write today's digest in the app at HH:MM (local), 'off' for never")
    n.add_argument("time")
    c = sub.add_parser("podcasts", help="articles with audio or video, with download and played state")
    c.add_argument("--json", action="store_true")
    c = sub.add_parser("download", help="download an article's audio or video for offline listening (resumes)")
    c.add_argument("id", type=_id)
    c.add_argument("--url", help="which enclosure (default: the first)")
    c.add_argument("--remove", action="store_true", help="delete the downloaded file instead")
    c = sub.add_parser("play", help="open an article's audio or video in the system player (the download if any)")
    c.add_argument("id", type=_id)
    c.add_argument("--url", help="which enclosure (default: the first)")
    c.add_argument("--print", action="store_true", help="only print what would be opened (and mark it played)")
    c = sub.add_parser("played", help="mark an article's audio or video played (--off: not played)")
    c.add_argument("id", type=_id)
    c.add_argument("--off", action="store_true")
    c = sub.add_parser("translate", help="translate an article (or --digest ID) with the local Ollama model")
    c.add_argument("id", type=_id, nargs="?", help="the article")
    c.add_argument("--digest", type=_id, metavar="ID", help="a stored digest instead")
    c.add_argument("--to", metavar="LANGUAGE", help="e.g. German or de (default: Settings, else the system's)")
    c.add_argument("--model", help="an installed Ollama model (default: Settings, else a sensible one)")


def cmd_rules(t: Tidings, args) -> int:
    from app.rules import Condition, Rule

    what = args.rules_command
    if what == "list":
        rules = t.rules()
        if args.json:
            _print_json([r.to_json() for r in rules])
        elif not rules:
            print("No rules yet: add one with `tidings rules add NAME --if FIELD KIND VALUE --do ACTION`.", file=sys.stderr)
        for r in rules:
            print(_p(f"{r.id:>4}  {r.name}{'' if r.enabled else ' (off)'}: {r.describe()}"))
    elif what == "add":
        conds = [Condition(f, k, v) for f, k, v in args.conds] + [Condition(f, k, v, negate=True) for f, k, v in args.negs]
        scope = "feed" if args.feed is not None else "folder" if args.folder else "all"
        rule = t.add_rule(Rule(name=args.name, conditions=tuple(conds), actions=tuple(dict.fromkeys(args.actions)),
                               match="any" if args.any else "all", scope=scope, feed_id=args.feed, folder=args.folder))
        print(_p(f"Added rule {rule.id}: {rule.name}: {rule.describe()}"))
        if args.apply:
            print(_p(t.apply_rules([rule.id]).describe()))
        else:
            preview = t.apply_rules([rule.id], dry_run=True)
            if preview.matched:
                print(_p(f"{preview.describe()} among the stored articles; "
                         f"`tidings rules apply {rule.id}` applies it to them."), file=sys.stderr)
    elif what == "remove":
        for i in args.ids:
            t.remove_rule(i)
        print(f"Removed {len(args.ids)} rule{'s' if len(args.ids) != 1 else ''}.", file=sys.stderr)
    elif what == "apply":
        report = t.apply_rules(args.ids or None, dry_run=args.dry_run)
        print(_p(("Would change: " if args.dry_run else "") + report.describe()))
    elif what == "export":
        text = t.export_rules()
        if args.file:
            _write_file(args.file, text)
        else:
            sys.stdout.write(text)
    elif what == "import":
        n = t.import_rules(_read_file(args.file))
        print(f"Imported {n} rule{'s' if n != 1 else ''}.", file=sys.stderr)
    elif what == "hidden":
        _print_rows(t, t.hidden_ids())
    return 0


def _limit(s: str):
    if s.strip().lower() in ("default", "none"):
        return None
    return 0 if s.strip() == "0" else _count(s)


def cmd_retention(t: Tidings, args) -> int:
    if args.feed is not None:
        t.set_feed_extras(args.feed, keep_days=args.days, keep_count=args.per_feed)
    else:
        for key, value in (("retention_days", args.days), ("retention_per_feed", args.per_feed)):
            if value is None:
                print("tidings retention: 'default' is for a feed's own limits (with --feed ID).", file=sys.stderr)
                return 2
            if value is not ...:
                t.set_setting(key, value)
    days, count = t.setting("retention_days"), t.setting("retention_per_feed")
    print(f"Keep: {f'{days} days' if days else 'forever'}, {f'the newest {count} per feed' if count else 'any number per feed'}"
          " (starred and digest-cited articles always).")
    for f in t.feeds():
        if f.keep_days is not None or f.keep_count is not None:
            print(_p(f"  {f.id:>5}  {f.title}: " + ", ".join(
                x for x in ((f"{f.keep_days} days" if f.keep_days else "forever") if f.keep_days is not None else "",
                            (f"newest {f.keep_count}" if f.keep_count else "no count limit") if f.keep_count is not None else "")
                if x)))
    print(f"Now: {t.library_sizes().describe()}.")
    return 0


def cmd_clean(t: Tidings, args) -> int:
    report = t.apply_retention(dry_run=args.dry_run)
    print(_p(report.describe()))
    if not args.dry_run and not args.no_compact:
        before, after = t.compact()
        from app.retention import human_size

        print(f"Compacted: {human_size(before.total)} before ({before.describe()}), "
              f"{human_size(after.total)} after ({after.describe()}).")
    return 0


def cmd_translate(t: Tidings, args) -> int:
    if (args.id is None) == (args.digest is None):
        print("tidings translate: give an article ID or --digest ID.", file=sys.stderr)
        return 2
    current = {"index": -1}
    marks: list[str] = []

    def begin(i: int) -> None:
        if current["index"] >= 0:
            sys.stdout.write("\n\n")
        current["index"] = i
        if i < len(marks):
            sys.stdout.write(marks[i])

    def on_event(ev) -> None:  # "text": a delta of paragraph i; "paragraph": i whole (cached: no deltas came)
        if ev.kind not in ("text", "paragraph"):
            return
        if ev.index != current["index"]:
            begin(ev.index)
            if ev.kind == "paragraph":
                sys.stdout.write(_p(ev.text))
        if ev.kind == "text":
            sys.stdout.write(_p(ev.text))
        sys.stdout.flush()

    if args.digest is not None:
        import re

        text = t.digest_markdown(t.get_digest(args.digest))
        marks[:] = [re.match(r"^(#+\s+|[-*]\s+|>\s+)?", b.strip()).group(0) or ""
                    for b in re.split(r"\n\s*\n", text) if b.strip()]
        result = t.translate_digest(args.digest, language=args.to, model=args.model, on_event=on_event)
    else:
        result = t.translate_article(args.id, language=args.to, model=args.model, on_event=on_event)
    sys.stdout.write("\n")
    print(f"Translated into {result.language} by {result.model}.", file=sys.stderr)
    if result.error:
        print(_p(f"tidings: stopped part way: {result.error}"), file=sys.stderr)
        return 1
    return 0


def cmd_notify(t: Tidings, args) -> int:
    what = args.notify_command
    if what == "feed":
        t.set_feed_extras(args.id, notify=args.state == "on")
        print(_p(f"{t.feed(args.id).title}: notifications {args.state}."))
    elif what == "folder":
        t.set_folder_notify(args.folder, args.state == "on")
        print(_p(f"Folder {args.folder}: notifications {args.state}."))
    elif what == "summarise-at":
        from app.notify import parse_time

        value = None if args.time.lower() in ("off", "never", "none") else args.time
        try:
            parse_time(value)
        except ValueError as e:
            print(f"tidings notify summarise-at: {e}.", file=sys.stderr)
            return 2
        t.set_setting("summarise_at", value)
        print(f"Summarise today: {'at ' + value + ' (while the app runs)' if value else 'by hand only'}.")
    elif what == "list":
        feeds = [f for f in t.feeds() if f.notify]
        folders = t.setting("notify_folders") or []
        for f in feeds:
            print(_p(f"feed {f.id:>5}  {f.title}"))
        for name in folders:
            print(_p(f"folder       {name}"))
        rules = [r for r in t.rules() if "notify" in r.actions]
        for r in rules:
            print(_p(f"rule {r.id:>5}  {r.name}"))
        if not (feeds or folders or rules):
            print("Nothing notifies yet: `tidings notify feed ID on`, `notify folder NAME on`, or a rule with --do notify.",
                  file=sys.stderr)
        at = t.setting("summarise_at")
        print(f"Summarise today: {'at ' + at if at else 'by hand only'}.")
    elif what == "pending":
        notes = t.take_notifications()
        if args.json:
            _print_json([n.to_json() for n in notes])
        else:
            for n in notes:
                print(_p(f"{n.title}\n  " + n.body.replace("\n", "\n  ")))
            if not notes:
                print("Nothing new to announce.", file=sys.stderr)
    return 0


def cmd_podcasts(t: Tidings, args) -> int:
    ids = t.article_ids(ArticleQuery(podcasts=True))
    rows = {r.id: r for r in t.article_rows(ids)}
    out = []
    for i in ids:
        for m in t.media(i):
            out.append((rows[i], m))
    if args.json:
        _print_json([{"article_id": m.article_id, "title": r.title, "feed_title": r.feed_title, "url": m.url,
                      "type": m.type, "state": m.state, "received": m.received, "total": m.total,
                      "path": m.path, "played": m.played} for r, m in out])
        return 0
    for r, m in out:
        state = {"done": "downloaded", "partial": f"partial ({m.received // 1_000_000} MB)", "failed": "failed"}.get(m.state, "")
        print(_p(f"{r.id:>6}  {'played ' if m.played else 'new    '} {r.feed_title}: {r.title}"
                 + (f"  [{state}]" if state else "")))
    if not out:
        print("No podcasts or videos yet: they appear when a feed has audio or video enclosures.", file=sys.stderr)
    return 0


def cmd_download(t: Tidings, args) -> int:
    if args.remove:
        t.remove_download(args.id, args.url)
        print("Removed the download.", file=sys.stderr)
        return 0
    tty = sys.stderr.isatty()

    def progress(received, total):
        if tty:
            of = f" of {total / 1_000_000:.1f}" if total else ""
            print(f"\r{received / 1_000_000:.1f}{of} MB", end="", file=sys.stderr, flush=True)

    m = t.download_media(args.id, args.url, on_progress=progress)
    if tty:
        print(file=sys.stderr)
    print(_p(f"Saved {m.path} ({(m.total or m.received) / 1_000_000:.1f} MB)."))
    return 0


def cmd_play(t: Tidings, args) -> int:
    target = t.play_target(args.id, args.url)
    print(_p(target))
    if not args.print:
        import subprocess

        opener = {"win32": None, "darwin": ["open"]}.get(sys.platform, ["xdg-open"])
        try:
            if opener is None:
                import os

                os.startfile(target)  # type: ignore[attr-defined]
            else:
                subprocess.Popen([*opener, target], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError as e:
            print(_p(f"tidings: could not start a player ({e.strerror or e}); open the path above yourself."),
                  file=sys.stderr)
            return 1
    return 0


def cmd_played(t: Tidings, args) -> int:
    t.set_played(args.id, not args.off)
    print(f"Marked {'not ' if args.off else ''}played.", file=sys.stderr)
    return 0


POWER_COMMANDS = {"rules": cmd_rules, "retention": cmd_retention, "clean": cmd_clean, "translate": cmd_translate,
                  "notify": cmd_notify, "podcasts": cmd_podcasts, "download": cmd_download, "play": cmd_play,
                  "played": cmd_played}
COMMANDS.update(POWER_COMMANDS)


# --- helpers -------------------------------------------------------------------------------------


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _print_json(value) -> None:
    # json escapes C0 controls itself; C1 controls (8-bit CSI/OSC) and bidi overrides are escaped
    # here too, so feed text never reaches a terminal raw (they can occur only inside strings).
    text = json.dumps(value, ensure_ascii=False, indent=1)
    sys.stdout.write(_JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text))
    sys.stdout.write("\n")


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except IsADirectoryError:
        raise TidingsError(f"{_p(str(path))} is a folder, not a file.", "Give the path of an OPML file.") from None
    except FileNotFoundError:
        raise TidingsError(f"There is no file {_p(str(path))}.", "Check the path and try again.") from None
    except OSError as e:
        raise TidingsError(f"Cannot read {_p(str(path))}: {e.strerror or e}.", "Check the path and its permissions.") from None


def _write_file(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except FileNotFoundError:
        raise TidingsError(f"Cannot write {_p(str(path))}: the folder {_p(str(path.parent))} does not exist.",
                           "Create the folder first, or give another path.") from None
    except IsADirectoryError:
        raise TidingsError(f"Cannot write {_p(str(path))}: it is a folder.", "Give a file name.") from None
    except OSError as e:
        raise TidingsError(f"Cannot write {_p(str(path))}: {e.strerror or e}.",
                           "Check the path and its permissions.") from None


def _print_rows(t: Tidings, ids: list[int]) -> None:
    for r in t.article_rows(ids):
        flags = ("*" if r.starred else " ") + (" " if r.read else "•")
        print(_p(f"{r.id:>7} {flags} {_local(r.date)}  {r.feed_title[:24]:<24}  {r.title}"))


def _local(d: datetime) -> str:
    return d.astimezone().strftime("%Y-%m-%d %H:%M")


def _day(s: str) -> date:
    try:
        d = date.fromisoformat(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a date like 2026-11-21") from None
    try:  # the local day's bounds must exist: the calendar's ends do not have a next day or a zone
        if not 1900 <= d.year <= 9998:
            raise OverflowError
        datetime.combine(d, time.min).astimezone()
        datetime.combine(d + timedelta(days=1), time.min).astimezone()
    except (OverflowError, ValueError, OSError):
        raise argparse.ArgumentTypeError(f"{s} is outside the dates Tidings handles (1900-01-01 to 9998-12-31)") from None
    return d


def _id(s: str) -> int:
    """An id: a positive whole number SQLite can hold."""
    try:
        n = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not an id (a whole number)") from None
    if not 1 <= n <= SQLITE_MAX_INT:
        raise argparse.ArgumentTypeError(f"{s} is not an id: ids are from 1 to {SQLITE_MAX_INT}")
    return n


def _count(s: str) -> int:
    try:
        n = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a whole number") from None
    if not 1 <= n <= SQLITE_MAX_INT:
        raise argparse.ArgumentTypeError(f"{s} is out of range: give a number from 1 to {SQLITE_MAX_INT}")
    return n


def _url(s: str) -> str:
    """A feed or site address: http(s), feed:, or a bare host ("example.com/feed", tried as https)."""
    raw = s.strip()
    low = raw.lower()
    if low.startswith("feed:"):
        rest = raw[5:]
        candidate = rest if rest.lower().startswith(("http://", "https://")) else "http://" + rest.lstrip("/")
    elif "://" in raw or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:(?!\d)", raw):
        candidate = raw  # has a scheme: it must be http(s)
    else:
        candidate = "https://" + raw
    try:
        urls.check(candidate)
    except BadAddress as e:
        raise argparse.ArgumentTypeError(_p(str(e))) from None
    return raw


def _size(s: str) -> tuple[int, int]:
    try:
        w, h = s.lower().split("x")
        w, h = int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a size like 1280x800") from None
    if not (1 <= w <= 16384 and 1 <= h <= 16384):
        raise argparse.ArgumentTypeError(f"{s} is out of range: width and height from 1 to 16384")
    return w, h


def _setup_logging(data_dir: Path, verbose: bool) -> None:
    """Warnings and bugs go to tidings.log in the data dir (with tracebacks); -v adds stderr."""
    root = logging.getLogger()
    if root.handlers:
        return
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    try:
        from logging.handlers import RotatingFileHandler

        data_dir.mkdir(parents=True, exist_ok=True)
        fh = RotatingFileHandler(data_dir / "tidings.log", maxBytes=2_000_000, backupCount=2, encoding="utf-8")
        fh.setLevel(logging.WARNING)
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(fh)
    except OSError:
        pass
    if verbose:
        sh = logging.StreamHandler(sys.stderr)
        sh.setLevel(logging.DEBUG)
        root.addHandler(sh)


if __name__ == "__main__":
    sys.exit(main())
