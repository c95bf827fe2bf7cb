"""A real Tiny Tiny RSS (Debian 12's `tt-rss` package) on 127.0.0.1 for tests and the benchmark.

    from tests.support.ttrss_server import TtrssServer, ttrss_server   # a session-scoped fixture

    def test_x(ttrss):                      # function-scoped: a clean account each test
        feed = ttrss.add_feed("https://example.org/a.xml", "A", category="News")
        ttrss.add_entries(feed, 3)           # straight into its tables (see below)
        ttrss.url, ttrss.user, ttrss.password

It runs a private Postgres cluster (initdb in a temporary folder, its own port and socket) and
`php -S` over a private copy of /usr/share/tt-rss/www whose config.php points at that cluster, so
nothing in /etc or the system's Postgres is touched. Both run as a non-root user when started as
root (Postgres refuses root, and tt-rss's front page does). tt-rss refuses to subscribe to feeds on
127.x or on ports other than 80/443 (shared/NOTES.md), and nothing here runs its feed updater:
tests put feeds and entries into its Postgres tables directly, as its updater would.

`missing()` names what is not installed; the fixture skips with that reason, nothing else.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

TTRSS_WWW = Path("/usr/share/tt-rss/www")
TTRSS_SCHEMA = Path("/usr/share/tt-rss/schema/ttrss_schema_pgsql.sql")
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), Path("/usr/lib/postgresql/15/bin"))
PASSWORD = "correct-horse-7f3a"  # set on the schema's admin user (distinct: tests look for it in files)
PASSWORD_HASH = "SHA1:" + hashlib.sha1(PASSWORD.encode()).hexdigest()


def missing() -> str | None:
    """Why a real tt-rss cannot run here, or None."""
    need = {"tt-rss": TTRSS_WWW / "api" / "index.php", "postgresql": PG_BIN / "initdb",
            "php-cli": shutil.which("php")}
    gone = [name for name, path in need.items() if not path or not Path(path).exists()]
    if not gone:
        try:
            mods = subprocess.run(["php", "-m"], capture_output=True, text=True, timeout=20).stdout.lower()
        except (OSError, subprocess.SubprocessError):
            mods = ""
        gone = [p for p, m in (("php-pgsql", "pdo_pgsql"), ("php-mbstring", "mbstring"),
                               ("php-intl", "intl"), ("php-xml", "dom")) if m not in mods]
    if gone:
        return ("Tiny Tiny RSS tests need " + ", ".join(gone) + " (scripts/setup.sh --test installs them: "
                "apt-get install tt-rss dbconfig-no-thanks php-cli php-pgsql php-curl php-intl php-mbstring php-xml postgresql)")
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TtrssServer:
    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="tidings-ttrss-"))
        self.pg_port = _free_port()
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.user = "admin"
        self.password = PASSWORD
        self._php: subprocess.Popen | None = None
        self._run_as = None
        if os.geteuid() == 0:
            self._run_as = "postgres" if _has_user("postgres") else "nobody"

    # --- life cycle ----------------------------------------------------------------------------

    def start(self) -> "TtrssServer":
        os.chmod(self.root, 0o755)
        data = self.root / "pg"
        for d in ("pg", "sock", "lock", "cache", "cache/images", "cache/upload", "cache/export", "icons"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        self._chown(self.root)
        self._as_user([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync",
                       "-E", "UTF8", "--locale", "C"], check=True)
        (data / "postgresql.conf").open("a").write(
            f"\nport = {self.pg_port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.root / 'sock'}'\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
        self._as_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(self.root / "pg.log"), "-w", "start"],
                      check=True)
        self.psql("CREATE DATABASE ttrss", db="postgres")
        self._as_user([str(PG_BIN / "psql"), "-q", "-h", str(self.root / "sock"), "-p", str(self.pg_port),
                       "-U", "postgres", "-d", "ttrss", "-v", "ON_ERROR_STOP=1", "-f", str(TTRSS_SCHEMA)], check=True)
        self.reset()
        self._make_www()
        self.start_php()
        return self

    def start_php(self) -> None:
        """(Re)start the web server: tests stop it to play a server that is down."""
        log = (self.root / "php.log").open("ab")
        cmd = ["php", "-S", f"127.0.0.1:{self.port}", "-t", str(self.root / "www")]
        self._php = subprocess.Popen(self._user_cmd(cmd), stdout=log, stderr=log, cwd=self.root / "www")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"php -S did not start; see {self.root / 'php.log'}")

    def stop_php(self) -> None:
        if self._php is not None:
            self._php.terminate()
            try:
                self._php.wait(10)
            except subprocess.TimeoutExpired:
                self._php.kill()
            self._php = None

    def stop(self) -> None:
        self.stop_php()
        try:
            self._as_user([str(PG_BIN / "pg_ctl"), "-D", str(self.root / "pg"), "-m", "immediate", "stop"],
                          check=False)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- what tests do to the server ------------------------------------------------------------

    def psql(self, sql: str, db: str = "ttrss") -> str:
        out = self._as_user([str(PG_BIN / "psql"), "-qAt", "-h", str(self.root / "sock"), "-p", str(self.pg_port),
                             "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-c", sql], check=True)
        return out.strip()

    def reset(self) -> None:
        """A clean account: no feeds, categories or articles; the API on; the password back."""
        self.psql("DELETE FROM ttrss_user_entries; DELETE FROM ttrss_entries; DELETE FROM ttrss_feeds; "
                  "DELETE FROM ttrss_feed_categories; "
                  f"UPDATE ttrss_users SET pwd_hash = '{PASSWORD_HASH}', salt = '' WHERE login = 'admin'")
        self.enable_api(True)

    def enable_api(self, on: bool) -> None:
        self.psql("DELETE FROM ttrss_user_prefs WHERE pref_name = 'ENABLE_API_ACCESS'; "
                  "INSERT INTO ttrss_user_prefs (owner_uid, pref_name, value) "
                  f"SELECT id, 'ENABLE_API_ACCESS', '{'true' if on else 'false'}' FROM ttrss_users WHERE login = 'admin'")

    def add_category(self, title: str) -> int:
        return int(self.psql("INSERT INTO ttrss_feed_categories (owner_uid, title) SELECT id, "
                             f"{_lit(title)} FROM ttrss_users WHERE login = 'admin' RETURNING id").splitlines()[0])

    def add_feed(self, url: str, title: str, category: str | None = None, site_url: str = "") -> int:
        cat = "NULL"
        if category:
            found = self.psql(f"SELECT id FROM ttrss_feed_categories WHERE title = {_lit(category)}")
            cat = found.splitlines()[0] if found else str(self.add_category(category))
        return int(self.psql(
            "INSERT INTO ttrss_feeds (owner_uid, title, cat_id, feed_url, site_url) SELECT id, "
            f"{_lit(title)}, {cat}, {_lit(url)}, {_lit(site_url)} FROM ttrss_users WHERE login = 'admin' RETURNING id"
        ).splitlines()[0])

    def add_entries(self, feed_id: int, n: int, *, unread: bool = True, prefix: str = "Story",
                    content: str = "<p>Body of {i}.</p>") -> list[int]:
        """`n` entries on a feed, as tt-rss's updater stores them; returns their ids (oldest first)."""
        body = _lit(content).replace("{i}", "' || i || '")
        out = self.psql(
            "WITH e AS (INSERT INTO ttrss_entries (title, guid, link, updated, content, content_hash, "
            "date_entered, date_updated, author) SELECT "
            f"{_lit(prefix)} || ' ' || i, 'tidings-test:' || {feed_id} || ':' || {_lit(prefix)} || ':' || i, "
            f"'https://example.org/{feed_id}/' || i, now() - (i || ' seconds')::interval, {body}, md5(i::text), "
            f"now(), now(), 'Ann Author' FROM generate_series({n}, 1, -1) AS i RETURNING id) "
            "INSERT INTO ttrss_user_entries (ref_id, uuid, feed_id, owner_uid, tag_cache, label_cache, unread) "
            f"SELECT e.id, '', {feed_id}, u.id, '', '', {'true' if unread else 'false'} FROM e, ttrss_users u "
            "WHERE u.login = 'admin' RETURNING ref_id")
        return sorted(int(x) for x in out.split())

    def flags(self, entry_id: int) -> tuple[bool, bool]:
        """(unread, marked) of an entry, as the server holds them."""
        u, m = self.psql(f"SELECT unread, marked FROM ttrss_user_entries WHERE ref_id = {entry_id}").split("|")
        return u == "t", m == "t"

    def set_flags(self, entry_id: int, *, unread: bool | None = None, marked: bool | None = None) -> None:
        """What another reader (a phone, the web page) does to an entry."""
        sets = [f"{k} = {'true' if v else 'false'}" for k, v in (("unread", unread), ("marked", marked)) if v is not None]
        self.psql(f"UPDATE ttrss_user_entries SET {', '.join(sets)} WHERE ref_id = {entry_id}")

    def feeds(self) -> list[dict]:
        out = self.psql("SELECT json_agg(json_build_object('id', f.id, 'url', f.feed_url, 'title', f.title, "
                        "'category', c.title)) FROM ttrss_feeds f LEFT JOIN ttrss_feed_categories c ON c.id = f.cat_id")
        return json.loads(out) if out else []

    def api(self, op: str, **params) -> dict:
        """One raw API call (login included), for checks that bypass Tidings."""
        def call(body):
            req = urllib.request.Request(self.url + "api/", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=20) as r:
                return json.loads(r.read())
        sid = call({"op": "login", "user": self.user, "password": self.password})["content"]["session_id"]
        return call({"op": op, "sid": sid, **params})

    # --- internals -----------------------------------------------------------------------------

    def _make_www(self) -> None:
        """A private copy of tt-rss's www (its code finds config.php next to its real files)."""
        www = self.root / "www"
        shutil.copytree(TTRSS_WWW, www, symlinks=False, ignore=shutil.ignore_patterns("locale"))
        (www / "locale").mkdir()
        (www / "config.php").unlink(missing_ok=True)
        shutil.rmtree(www / "feed-icons", ignore_errors=True)
        (www / "feed-icons").mkdir(exist_ok=True)
        (www / "config.php").write_text(f"""<?php
define('DB_TYPE', 'pgsql'); define('DB_HOST', '127.0.0.1'); define('DB_PORT', '{self.pg_port}');
define('DB_USER', 'postgres'); define('DB_NAME', 'ttrss'); define('DB_PASS', '');
define('MYSQL_CHARSET', 'UTF8');
define('SELF_URL_PATH', '{self.url}');
define('SINGLE_USER_MODE', false); define('SIMPLE_UPDATE_MODE', false);
define('PHP_EXECUTABLE', '/usr/bin/php');
define('LOCK_DIRECTORY', '{self.root / "lock"}'); define('CACHE_DIR', '{self.root / "cache"}');
define('ICONS_DIR', 'feed-icons'); define('ICONS_URL', 'feed-icons');
define('AUTH_AUTO_CREATE', true); define('AUTH_AUTO_LOGIN', true);
define('FORCE_ARTICLE_PURGE', 0); define('ENABLE_REGISTRATION', false);
define('REG_NOTIFY_ADDRESS', 'user@example.org'); define('REG_MAX_USERS', 10);
define('SESSION_COOKIE_LIFETIME', 86400);
define('SMTP_FROM_NAME', 'Tiny Tiny RSS'); define('SMTP_FROM_ADDRESS', 'noreply@example.org');
define('DIGEST_SUBJECT', '[tt-rss] New headlines');
define('CHECK_FOR_UPDATES', false); define('ENABLE_GZIP_OUTPUT', false);
define('PLUGINS', 'auth_internal, note'); define('LOG_DESTINATION', 'sql');
define('CONFIG_VERSION', 26);
""")
        self._chown(www)

    def _chown(self, path: Path) -> None:
        if self._run_as:
            subprocess.run(["chown", "-R", self._run_as, str(path)], check=True)

    def _user_cmd(self, cmd: list[str]) -> list[str]:
        return ["runuser", "-u", self._run_as, "--", *cmd] if self._run_as else cmd

    def _as_user(self, cmd: list[str], check: bool) -> str:
        r = subprocess.run(self._user_cmd(cmd), capture_output=True, text=True, timeout=120)
        if check and r.returncode:
            raise RuntimeError(f"{cmd[0]} failed: {r.stderr.strip() or r.stdout.strip()}")
        return r.stdout


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


try:  # the fixtures, when pytest is there (the benchmark imports this module without it)
    import pytest

    @pytest.fixture(scope="session")
    def ttrss_server():
        why = missing()
        if why:
            pytest.skip(why)
        server = TtrssServer().start()
        try:
            yield server
        finally:
            server.stop()

    @pytest.fixture
    def ttrss(ttrss_server):
        ttrss_server.reset()
        if ttrss_server._php is None:
            ttrss_server.start_php()
        yield ttrss_server
except ImportError:  # pragma: no cover
    pass
