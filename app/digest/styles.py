"""Digest styles: prompt templates in ``resources/prompts/<name>.toml``, plus the person's own in
``<data_dir>/styles/<name>.toml`` (which add styles or override built-in ones, key by key)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from app.hashing import content_hash
from app.errors import NotFound, TidingsError
from app.resources import resources_dir

BASE_STYLE = "briefing"
# prompts every style has (briefing.toml defines them all; a style may add prompts for parts of its own)
PROMPT_KEYS = ("system", "lead", "also", "brief", "why", "headline", "closing", "same_story", "check", "significance")
DEFAULT_LIMITS = {
    "lead_words": 90, "also_words": 60, "brief_words": 25, "why_words": 40,
    "headline_words": 18, "closing_words": 20, "opening_words": 60, "also_max": 5,
}
DEFAULT_LABELS = {"lead": "Today's lead", "also": "Also today", "brief": "In brief", "why": "Why it matters"}

# The parts a story can have. "summary" is written with the section's own prompt ("lead" or
# "also"), "line" is an *In brief* line (see ``brief`` below), "quote" is a verbatim pull-quote
# picked in code from the story's articles; any other name is written with the prompt of that
# name (``<name>_words`` its word limit, ``[labels] <name>`` its heading).
SECTIONS = ("lead", "also", "brief")
MAIN_PARTS = ("summary", "line", "prose")  # the story's main text (DigestItem.text)
CODE_PARTS = ("quote",)
DEFAULT_LAYOUT = {"lead": ["summary", "why"], "also": ["summary"], "brief": ["line"]}
FRAME_PARTS = ("opening",)  # digest-wide parts besides the headline and the closing line
# how "In brief" lines are written: "extractive" = in code, the story's best leading sentence in its
# articles' own words (no model call); "model" = one model call per brief story (the ``brief`` prompt)
BRIEF_MODES = ("extractive", "model")


@dataclass
class Style:
    name: str
    description: str = ""
    labels: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_LABELS))
    limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    prompts: dict[str, str] = field(default_factory=dict)
    brief: str = "extractive"  # one of BRIEF_MODES
    path: Path | None = None
    shape: str = "briefing"  # the layout renderers use: "briefing", "narrative", "analyst"
    layout: dict[str, list[str]] = field(default_factory=lambda: {k: list(v) for k, v in DEFAULT_LAYOUT.items()})
    frame: list[str] = field(default_factory=list)  # digest-wide parts, e.g. ["opening"]

    def words(self, part: str, default: int = 60) -> int:
        return int(self.limits.get(f"{part}_words", default))

    def prompt_for(self, section: str, part: str) -> str:
        """The prompt key that writes ``part`` of a story in ``section``."""
        if part == "summary":
            return section
        if part == "line":
            return "brief"
        return part

    def version(self, kind: str) -> str:
        """A hash of everything that shapes the ``kind`` prompt: cache keys change when it does."""
        return content_hash(self.prompts.get("system", ""), self.prompts.get(kind, ""),
                            self.limits.get(f"{kind}_words", ""))

    def render(self, kind: str, **values) -> str:
        text = self.prompts[kind]
        for k, v in values.items():
            text = text.replace("{" + k + "}", str(v))
        return text


def builtin_dir() -> Path:
    return resources_dir() / "prompts"


def _user_dir(data_dir: Path | None) -> Path | None:
    return Path(data_dir) / "styles" if data_dir else None


def list_styles(data_dir: Path | None = None) -> list[str]:
    names = {p.stem for p in builtin_dir().glob("*.toml")}
    ud = _user_dir(data_dir)
    if ud and ud.is_dir():
        names |= {p.stem for p in ud.glob("*.toml")}
    return sorted(names, key=lambda n: (n != BASE_STYLE, n))


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise TidingsError(
            f"The digest style file {path} cannot be read: {e}",
            "Fix the file (it is TOML, like resources/prompts/briefing.toml) or remove it.",
        ) from None


def _merge(style: Style, data: dict, path: Path) -> None:
    style.description = str(data.get("description", style.description))
    if "brief" in data:
        mode = str(data["brief"]).strip().lower()
        if mode not in BRIEF_MODES:
            raise TidingsError(
                f"The digest style file {path} says brief = “{data['brief']}”.",
                'Use brief = "extractive" (In brief lines from the articles\' own sentences, no model call) '
                'or brief = "model" (one model call per In brief line).',
            )
        style.brief = mode
    misplaced = str((data.get("prompts") or {}).get("brief", "")).strip().lower()
    if misplaced in BRIEF_MODES:  # `brief = "model"` written under [prompts] would become the prompt
        raise TidingsError(
            f"The digest style file {path} sets the brief *prompt* to “{misplaced}”.",
            f'Put brief = "{misplaced}" at the top of the file, before [labels] (keys after a [table] line belong to it).',
        )
    style.labels.update({k: str(v) for k, v in (data.get("labels") or {}).items()})
    for k, v in (data.get("limits") or {}).items():
        if isinstance(v, int) and v >= 0:
            style.limits[k] = v
    style.prompts.update({k: str(v) for k, v in (data.get("prompts") or {}).items()})
    if "shape" in data:
        style.shape = str(data["shape"]).strip().lower() or "briefing"
    layout = data.get("parts") or {}
    if not isinstance(layout, dict):
        raise TidingsError(f"The digest style file {path} has a [parts] that is not a table.",
                           'Write it as [parts] with lines like lead = ["summary", "why"].')
    for section, parts in layout.items():
        if section == "digest":
            style.frame = [str(p) for p in parts]
            continue
        if section not in SECTIONS or not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
            raise TidingsError(
                f"The digest style file {path} has parts.{section} = {parts!r}.",
                f"[parts] takes {', '.join(SECTIONS)} and digest, each a list of part names, "
                'e.g. lead = ["summary", "why"].')
        style.layout[section] = list(parts)
    style.path = path


def load_style(name: str | None = None, data_dir: Path | None = None) -> Style:
    """The style ``name``: briefing's keys, overlaid by the built-in file, overlaid by the user's."""
    name = (name or BASE_STYLE).strip()
    style = Style(name=name)
    files = [builtin_dir() / f"{BASE_STYLE}.toml"]
    if name != BASE_STYLE:
        files.append(builtin_dir() / f"{name}.toml")
    ud = _user_dir(data_dir)
    if ud:
        files.append(ud / f"{name}.toml")
    found = False
    for i, p in enumerate(files):
        if p.is_file():
            _merge(style, _read(p), p)
            found = found or i > 0 or name == BASE_STYLE
    if not found:
        raise NotFound(
            f"There is no digest style “{name}”.",
            f"Styles: {', '.join(list_styles(data_dir))}. Add your own as {ud or 'styles'}/{name}.toml.",
        )
    missing = [k for k in PROMPT_KEYS if not style.prompts.get(k)]
    for section, parts in style.layout.items():
        missing += [style.prompt_for(section, p) for p in parts
                    if p not in CODE_PARTS and not style.prompts.get(style.prompt_for(section, p))]
    missing += [p for p in style.frame if not style.prompts.get(p)]
    missing = list(dict.fromkeys(missing))
    if missing:
        raise TidingsError(f"The digest style “{name}” has no prompt for: {', '.join(missing)}.",
                           "Copy resources/prompts/briefing.toml as a starting point.")
    return style
