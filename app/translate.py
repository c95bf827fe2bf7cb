"""Local translation: an article (or a digest) written in the person's language by their own Ollama
model, paragraph by paragraph, streamed, each paragraph cached in the store (so a second look, or
the same paragraph in another article, costs nothing and works offline).

The language is Settings' `translate_language`, else the system's (`system_language`). Pure apart
from the model and the cache, both handed in.
"""

from __future__ import annotations

import hashlib
import locale
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from app.errors import LLMError

# ISO 639-1 codes the system may report, named as a model understands them best (in English).
LANGUAGES = {
    "ar": "Arabic", "bg": "Bulgarian", "ca": "Catalan", "cs": "Czech", "da": "Danish", "de": "German",
    "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian", "fa": "Persian", "fi": "Finnish",
    "fr": "French", "ga": "Irish", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian",
    "id": "Indonesian", "is": "Icelandic", "it": "Italian", "ja": "Japanese", "ko": "Korean", "lt": "Lithuanian",
    "lv": "Latvian", "ms": "Malay", "nb": "Norwegian", "nl": "Dutch", "nn": "Norwegian", "no": "Norwegian",
    "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sk": "Slovak", "sl": "Slovenian",
    "sr": "Serbian", "sv": "Swedish", "th": "Thai", "tr": "Turkish", "uk": "Ukrainian", "vi": "Vietnamese",
    "zh": "Chinese",
}
MAX_PARAGRAPH = 4000  # characters per model call; longer paragraphs are cut at sentence ends


def system_language(environ=os.environ) -> str:
    """The system's language as a name ("German"), from LANGUAGE/LC_ALL/LC_MESSAGES/LANG or the locale."""
    candidates = [environ.get(k, "") for k in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")]
    try:
        candidates.append(locale.getlocale()[0] or "")
    except ValueError:
        pass
    for value in candidates:
        code = value.split(":")[0].split(".")[0].split("_")[0].split("-")[0].lower()
        if code in LANGUAGES:
            return LANGUAGES[code]
    return "English"


def language_name(value: str | None) -> str:
    """Settings may hold a code ("de") or a name ("German"); None: the system's."""
    if not value:
        return system_language()
    value = value.strip()
    return LANGUAGES.get(value.lower(), value[:1].upper() + value[1:])


def paragraphs_of_text(text: str) -> list[str]:
    """Blank-line separated paragraphs (as app.html.html_to_text writes them), long ones cut."""
    out: list[str] = []
    for p in re.split(r"\n\s*\n", text or ""):
        p = " ".join(p.split())
        while len(p) > MAX_PARAGRAPH:
            cut = max(p.rfind(". ", 0, MAX_PARAGRAPH), p.rfind("? ", 0, MAX_PARAGRAPH), p.rfind("! ", 0, MAX_PARAGRAPH))
            cut = cut + 1 if cut > MAX_PARAGRAPH // 4 else MAX_PARAGRAPH
            out.append(p[:cut].strip())
            p = p[cut:].strip()
        if p:
            out.append(p)
    return out


def prompt(language: str, text: str) -> list[dict]:
    return [
        {"role": "system", "content": f"You are a translator. Translate the user's text into {language}. "
                                      "Keep names, numbers and links as they are. Reply with the translation "
                                      f"only, no notes. If the text is already in {language}, repeat it unchanged."},
        {"role": "user", "content": text},
    ]


@dataclass
class TranslationEvent:
    kind: str  # "start" (index, total) | "text" (index, delta) | "paragraph" (index, whole text) | "done"
    index: int = 0
    text: str = ""
    total: int = 0
    cached: bool = False


@dataclass
class Translation:
    language: str
    model: str
    source: list[str]  # the original paragraphs (the first is the title, for an article)
    paragraphs: list[str] = field(default_factory=list)
    complete: bool = False  # False: cancelled, or the model failed part way (`error`)
    error: str | None = None


def cache_key(model: str, language: str, text: str) -> str:
    return "translate:" + hashlib.sha256(f"{model}\x00{language}\x00{text}".encode()).hexdigest()


def translate(paragraphs: Sequence[str], *, language: str, model: str, client,
              cache_get: Callable[[str], str | None], cache_put: Callable[[str, str], None],
              on_event: Callable[[TranslationEvent], None] | None = None,
              cancel: threading.Event | None = None) -> Translation:
    """Translate each paragraph in turn, streaming deltas through `on_event`. A model failure part
    way keeps what was translated (error set, complete False); it never raises for Ollama trouble
    once started (the caller checks Ollama first, see Tidings.translate_article)."""
    emit = on_event or (lambda ev: None)
    result = Translation(language=language, model=model, source=list(paragraphs))
    emit(TranslationEvent("start", total=len(paragraphs)))
    for i, source in enumerate(paragraphs):
        if cancel is not None and cancel.is_set():
            return result
        key = cache_key(model, language, source)
        done = cache_get(key)
        if done is not None:
            result.paragraphs.append(done)
            emit(TranslationEvent("paragraph", i, done, cached=True))
            continue
        parts: list[str] = []
        stream = client.chat_stream(model, prompt(language, source), {"temperature": 0})
        try:
            for delta in stream:
                parts.append(delta)
                emit(TranslationEvent("text", i, delta))
                if cancel is not None and cancel.is_set():
                    stream.close()  # stops Ollama generating
                    result.paragraphs.append("".join(parts).strip())
                    return result
        except LLMError as e:
            result.error = e.explain() if hasattr(e, "explain") else str(e)
            if parts:
                result.paragraphs.append("".join(parts).strip())
            return result
        text = "".join(parts).strip() or source
        cache_put(key, text)
        result.paragraphs.append(text)
        emit(TranslationEvent("paragraph", i, text))
    result.complete = True
    emit(TranslationEvent("done", total=len(paragraphs)))
    return result
