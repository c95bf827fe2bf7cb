"""Rules: conditions on an article's title, author, text, link or feed, scoped to a feed, a folder
or everything, with actions (mark read, star, hide, keep out of the digest, notify).

Matching never runs unbounded: every pattern (keywords and phrases too) is compiled with RE2,
whose matching time is linear in the text, and all of a feed's conditions on one field go into one
RE2 set, so an article's text is scanned once per field however many rules there are. A pattern
RE2 refuses (back-references, look-arounds, a syntax error) is refused with RE2's reason.

Pure apart from the store calls at the bottom (`RuleEngine`), which the store makes inside its
insert transaction during sync and `Tidings.apply_rules` makes for existing articles.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import re2

from app.errors import TidingsError

FIELDS = ("title", "author", "text", "link", "feed", "any")
KINDS = ("keyword", "phrase", "regex")
ACTIONS = ("read", "star", "hide", "no_digest", "notify")
ACTION_LABELS = {"read": "mark read", "star": "star", "hide": "hide", "no_digest": "keep out of the digest",
                 "notify": "notify"}
SCOPES = ("all", "feed", "folder")
MAX_PATTERN = 2000  # characters; a longer "condition" is a mistake (pasted text)
_MEMORY = 32 << 20  # RE2's budget per compiled set; a pattern needing more is refused


class BadRule(TidingsError):
    """A rule that cannot be used: the message says which part and why."""

    def __init__(self, message: str, hint: str = "Fix the rule and save it again."):
        super().__init__(message, hint)


@dataclass(frozen=True)
class Condition:
    field: str = "any"  # title | author | text | link | feed | any
    kind: str = "keyword"  # keyword: any of comma-separated words | phrase | regex
    value: str = ""
    negate: bool = False  # "does not contain"


@dataclass(frozen=True)
class Rule:
    name: str
    conditions: tuple[Condition, ...]
    actions: tuple[str, ...]
    match: str = "all"  # all | any of the conditions
    scope: str = "all"  # all | feed | folder
    feed_id: int | None = None  # scope "feed"
    folder: str | None = None  # scope "folder": the folder and its subfolders
    enabled: bool = True
    id: int | None = None

    def to_json(self) -> dict:
        d = asdict(self)
        d["conditions"] = [asdict(c) for c in self.conditions]
        d["actions"] = list(self.actions)
        return d

    @classmethod
    def from_json(cls, d: dict) -> "Rule":
        """A rule from JSON (the store, an import, the CLI), checked: BadRule says what is wrong."""
        if not isinstance(d, dict):
            raise BadRule("A rule must be a JSON object.")
        try:
            conds = tuple(Condition(field=str(c.get("field", "any")), kind=str(c.get("kind", "keyword")),
                                    value=str(c.get("value", "")), negate=bool(c.get("negate", False)))
                          for c in d.get("conditions") or ())
            feed_id = d.get("feed_id")
            rule = cls(name=str(d.get("name") or "").strip(), conditions=conds,
                       actions=tuple(str(a) for a in d.get("actions") or ()), match=str(d.get("match", "all")),
                       scope=str(d.get("scope", "all")), feed_id=int(feed_id) if feed_id is not None else None,
                       folder=(str(d["folder"]).strip("/ ") or None) if d.get("folder") else None,
                       enabled=bool(d.get("enabled", True)), id=d.get("id"))
        except (AttributeError, TypeError, ValueError) as e:
            raise BadRule(f"The rule is not in the expected shape ({e}).") from None
        validate(rule)
        return rule

    def describe(self) -> str:
        """One line for lists: 'title has keyword "apple" → star, hide'."""
        joiner = " and " if self.match == "all" else " or "
        conds = joiner.join(f'{"anywhere" if c.field == "any" else c.field} {"lacks" if c.negate else "has"} '
                            f'{c.kind} "{c.value}"' for c in self.conditions)
        where = {"all": "", "feed": f" [feed {self.feed_id}]", "folder": f" [folder {self.folder}]"}[self.scope]
        return f"{conds}{where} → {', '.join(ACTION_LABELS.get(a, a) for a in self.actions)}"


def validate(rule: Rule) -> None:
    """Refuse a rule that cannot work, with the reason (a bad regular expression: RE2's own words)."""
    if not rule.name:
        raise BadRule("A rule needs a name.")
    if not rule.conditions:
        raise BadRule(f"Rule “{rule.name}” has no condition.", "Add at least one condition.")
    if not rule.actions:
        raise BadRule(f"Rule “{rule.name}” has no action.", "Choose what the rule does: " + ", ".join(ACTIONS) + ".")
    bad = [a for a in rule.actions if a not in ACTIONS]
    if bad:
        raise BadRule(f"Rule “{rule.name}”: unknown action {bad[0]!r}.", "Actions are " + ", ".join(ACTIONS) + ".")
    if rule.match not in ("all", "any"):
        raise BadRule(f"Rule “{rule.name}”: match must be 'all' or 'any', not {rule.match!r}.")
    if rule.scope not in SCOPES:
        raise BadRule(f"Rule “{rule.name}”: scope must be one of {', '.join(SCOPES)}, not {rule.scope!r}.")
    if rule.scope == "feed" and rule.feed_id is None:
        raise BadRule(f"Rule “{rule.name}” is scoped to a feed but names none.")
    if rule.scope == "folder" and not rule.folder:
        raise BadRule(f"Rule “{rule.name}” is scoped to a folder but names none.")
    for c in rule.conditions:
        if c.field not in FIELDS:
            raise BadRule(f"Rule “{rule.name}”: unknown field {c.field!r}.", "Fields are " + ", ".join(FIELDS) + ".")
        if c.kind not in KINDS:
            raise BadRule(f"Rule “{rule.name}”: unknown kind {c.kind!r}.", "Kinds are " + ", ".join(KINDS) + ".")
        pattern_for(c, rule.name)


def _options() -> re2.Options:
    o = re2.Options()
    o.case_sensitive = False
    o.log_errors = False
    o.max_mem = _MEMORY
    return o


def pattern_for(c: Condition, rule_name: str = "") -> str:
    """The RE2 pattern of a condition (case-insensitive), checked to compile."""
    try:
        return _pattern(c.kind, c.value)
    except BadRule as e:
        who = f"Rule “{rule_name}”: " if rule_name else ""
        raise BadRule(who + str(e).replace("{field}", c.field), e.hint) from None


@functools.lru_cache(maxsize=4096)
def _pattern(kind: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise BadRule("a condition on {field} is empty.", "Type a word, a phrase or a pattern.")
    if len(value) > MAX_PATTERN:
        raise BadRule(f"a condition is {len(value)} characters long (at most {MAX_PATTERN}).")
    if kind == "regex":
        pattern = value
    elif kind == "phrase":
        pattern = _edges(value, r"\s+".join(re2.escape(w) for w in value.split()))
    else:  # keyword: any of the comma-separated words, as whole words
        words = [w.strip() for w in value.split(",") if w.strip()]
        if not words:
            raise BadRule("a keyword condition has no word.")
        pattern = "|".join(_edges(w, re2.escape(w)) for w in words)
    try:
        re2.compile(pattern, _options())
    except re2.error as e:
        reason = e.args[0].decode("utf-8", "replace") if e.args and isinstance(e.args[0], bytes) else str(e)
        raise BadRule(f"the regular expression {value!r} cannot be used: {reason}.",
                      "Tidings uses RE2 syntax (no back-references or look-arounds), so no pattern can stall a sync.") from None
    return pattern


def _edges(word: str, pattern: str) -> str:
    """Whole-word edges where the word starts or ends with a word character ("C++" has no end edge)."""
    start = r"\b" if word[:1].isalnum() or word[:1] == "_" else ""
    end = r"\b" if word[-1:].isalnum() or word[-1:] == "_" else ""
    return f"(?:{start}{pattern}{end})"


# --- matching -----------------------------------------------------------------------------------

_ITEM_FIELDS = ("title", "author", "text", "link", "feed")


@dataclass
class Outcome:
    """What the rules do to one article."""
    actions: set[str] = field(default_factory=set)
    notify_rule: str | None = None  # the first rule that asked to notify


class RuleSet:
    """Rules compiled for one feed: one RE2 set per field over every condition that applies."""

    def __init__(self, rules: Sequence[Rule]):
        self.rules = [r for r in rules if r.enabled]
        self._conds: list[tuple[int, Condition]] = []  # condition index -> (rule index, condition)
        self._sets: dict[str, re2.Set] = {}
        per_field: dict[str, list[tuple[int, str]]] = {f: [] for f in _ITEM_FIELDS}
        for ri, rule in enumerate(self.rules):
            for c in rule.conditions:
                ci = len(self._conds)
                self._conds.append((ri, c))
                pattern = pattern_for(c, rule.name)
                for f in (_ITEM_FIELDS if c.field == "any" else (c.field,)):
                    per_field[f].append((ci, pattern))
        self._rule_conds: dict[int, list[tuple[int, Condition]]] = {}
        for ci, (ri, c) in enumerate(self._conds):
            self._rule_conds.setdefault(ri, []).append((ci, c))
        self._negating = {ri for ri, c in self._conds if c.negate}  # rules that can match on no hit
        self._index: dict[str, list[int]] = {}
        for f, items in per_field.items():
            if not items:
                continue
            s = re2.Set.SearchSet(_options())
            for _, pattern in items:
                s.Add(pattern)
            try:
                s.Compile()
            except re2.error:
                raise BadRule("The rules together need more memory than Tidings allows for matching.",
                              "Simplify or remove some regular expressions.") from None
            self._sets[f] = s
            self._index[f] = [ci for ci, _ in items]

    def __bool__(self) -> bool:
        return bool(self.rules)

    def evaluate(self, item: dict[str, str]) -> Outcome:
        """`item`: title, author, text, link, feed (strings). Linear in the text, once per field."""
        hit: set[int] = set()
        for f, s in self._sets.items():
            text = item.get(f) or ""
            found = s.Match(text) if text else None
            if found:
                index = self._index[f]
                hit.update(index[i] for i in found)
        out = Outcome()
        if not hit and not self._negating:
            return out  # the common case: nothing matched, no rule to look at
        # Only rules with a matched or a negated condition can apply.
        candidates = {self._conds[ci][0] for ci in hit} | self._negating
        for ri in sorted(candidates):
            rule = self.rules[ri]
            results = [(ci in hit) != c.negate for ci, c in self._rule_conds[ri]]
            if results and (all(results) if rule.match == "all" else any(results)):
                out.actions.update(rule.actions)
                if "notify" in rule.actions and out.notify_rule is None:
                    out.notify_rule = rule.name
        return out


def applies_to(rule: Rule, feed_id: int, folder: str | None) -> bool:
    if rule.scope == "feed":
        return rule.feed_id == feed_id
    if rule.scope == "folder":
        return bool(folder) and (folder == rule.folder or folder.startswith(rule.folder + "/"))
    return True


# Article columns each action sets.
ACTION_COLUMNS = {"read": "read", "star": "starred", "hide": "hidden", "no_digest": "no_digest"}


# --- the store side ------------------------------------------------------------------------------


def load_rules(db: sqlite3.Connection) -> list[Rule]:
    out = []
    for r in db.execute("SELECT id, enabled, spec FROM rules ORDER BY position, id"):
        d = json.loads(r[2])
        d["id"], d["enabled"] = r[0], bool(r[1])
        try:
            out.append(Rule.from_json(d))
        except BadRule:
            continue  # stored before a check got stricter: skipped, still listed for the person to fix
    return out


class RuleEngine:
    """Compiled rules per feed, rebuilt when the rules table changes (in this or another process)."""

    def __init__(self):
        self._stamp = None
        self._rules: list[Rule] = []
        self._per_feed: dict[tuple[int, str | None], RuleSet] = {}
        self._compiled: dict[tuple[int, ...], RuleSet] = {}  # feeds with the same rules share one set

    def _refresh(self, db: sqlite3.Connection) -> None:
        row = db.execute("SELECT value FROM settings WHERE key = 'rules_version'").fetchone()
        stamp = row[0] if row else None  # bumped by every rules change (Store.add_rule, ...)
        if stamp != self._stamp:
            self._rules = load_rules(db) if stamp is not None else []
            self._per_feed.clear()
            self._compiled.clear()
            self._stamp = stamp

    def for_feed(self, db: sqlite3.Connection, feed_id: int, folder: str | None) -> RuleSet:
        self._refresh(db)
        key = (feed_id, folder)
        rs = self._per_feed.get(key)
        if rs is None:
            ids = tuple(i for i, r in enumerate(self._rules) if applies_to(r, feed_id, folder))
            rs = self._compiled.get(ids)
            if rs is None:
                rs = self._compiled[ids] = RuleSet([self._rules[i] for i in ids])
            self._per_feed[key] = rs
        return rs

    def on_insert(self, db: sqlite3.Connection, feed_id: int, new: Sequence[tuple[int, object, str]],
                  stamp: str) -> None:
        """Called by Store.save_entries inside its transaction with the new articles
        (id, ParsedEntry, plain text): set the rules' flags and queue notifications."""
        if not new:
            return
        feed = db.execute("SELECT folder, coalesce(user_title, nullif(title, ''), url), notify, last_success "
                          "FROM feeds WHERE id = ?", (feed_id,)).fetchone()
        folder, feed_title, notify, last_success = feed[0], feed[1], feed[2], feed[3]
        rules = self.for_feed(db, feed_id, folder)
        row = db.execute("SELECT value FROM settings WHERE key = 'notify_folders'").fetchone()
        notify_folders = json.loads(row[0]) if row else ()
        first_fetch = last_success is None  # a new subscription's archive is not news to announce
        notify_all = not first_fetch and (bool(notify) or any(
            folder and (folder == f or folder.startswith(f + "/")) for f in notify_folders))
        if not rules and not notify_all:
            return
        updates: dict[str, list[int]] = {}
        queue: list[tuple[int, str, str]] = []
        for article_id, e, text in new:
            reason = "" if notify_all else None
            if rules:
                out = rules.evaluate({"title": e.title, "author": e.authors, "text": text or "",
                                      "link": e.url or "", "feed": feed_title})
                for a in out.actions:
                    if a in ACTION_COLUMNS:
                        updates.setdefault(ACTION_COLUMNS[a], []).append(article_id)
                if out.notify_rule is not None and not first_fetch:
                    reason = out.notify_rule
                if "hide" in out.actions:
                    reason = None  # hidden is hidden: never announced
            if reason is not None:
                queue.append((article_id, reason, stamp))
        for column, ids in updates.items():
            db.executemany(f"UPDATE articles SET {column} = 1 WHERE id = ?", [(i,) for i in ids])
        if queue:
            db.executemany("INSERT OR REPLACE INTO notify_queue (article_id, reason, queued) VALUES (?, ?, ?)", queue)


@dataclass
class RulesApplied:
    matched: int = 0  # articles at least one rule matches
    changed: dict[str, int] = field(default_factory=dict)  # action -> articles it changes (not already so)

    def describe(self) -> str:
        if not self.matched:
            return "No article matches."
        parts = [f"{ACTION_LABELS[a]}: {n}" for a, n in sorted(self.changed.items())]
        return f"{self.matched} article{'s' if self.matched != 1 else ''} match" + (" (" + ", ".join(parts) + ")" if parts else ", nothing to change")
