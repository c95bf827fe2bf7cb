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
PROMPT_KEYS = ("system", "lead", "also", "brief", "why", "headline", "closing", "same_story")
DEFAULT_LIMITS = {
    "lead_words": 90, "also_words": 60, "brief_words": 25, "why_words": 40,
    "headline_words": 18, "closing_words": 20, "also_max": 5,
}
DEFAULT_LABELS = {"lead": "Today's lead", "also": "Also today", "brief": "In brief", "why": "Why it matters"}
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
    style.prompts.update({k: str(v) for k, v in (data.get("prompts") or {}).items() if k in PROMPT_KEYS})
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
    if missing:
        raise TidingsError(f"The digest style “{name}” has no prompt for: {', '.join(missing)}.",
                           "Copy resources/prompts/briefing.toml as a starting point.")
    return style
