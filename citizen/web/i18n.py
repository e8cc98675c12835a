"""The phone pages' language: chosen per request, with the pages' own words from gettext catalogues.

The study's texts (summary, consent, questions) come per language from the study itself; the
pages' own words (buttons, headings, messages) come from ``locale/<lang>/LC_MESSAGES/citizen.po``,
compiled to ``.mo`` files that are committed (see README, "Languages").
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Optional

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "citizen"
RTL = {"ar", "fa", "he", "ur", "ps", "sd", "yi", "dv", "ckb"}
COOKIE = "lang"


def N_(message: str) -> str:
    """Mark a text for the catalogues; it is translated where it is shown."""
    return message


def direction(lang: str) -> str:
    return "rtl" if lang.split("-")[0] in RTL else "ltr"


@lru_cache(maxsize=32)
def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue for a language (its base language when a region has none); English words otherwise."""
    for code in (lang, lang.split("-")[0]):
        try:
            return gettext.translation(DOMAIN, str(LOCALE_DIR), languages=[code])
        except OSError:
            continue
    return gettext.NullTranslations()


def parse_accept_language(header: str) -> list[str]:
    """Language tags from an Accept-Language header, most wanted first (q=0 dropped)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:20]):
        pieces = part.strip().split(";")
        tag = pieces[0].strip()
        if not tag or tag == "*" or len(tag) > 20:
            continue
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


def _match(tag: str, languages: Sequence[str]) -> Optional[str]:
    tag = tag.strip()
    lowered = {lang.lower(): lang for lang in languages}
    if tag.lower() in lowered:
        return lowered[tag.lower()]
    base = tag.split("-")[0].lower()
    if base in lowered:
        return lowered[base]
    for lang in languages:
        if lang.split("-")[0].lower() == base:
            return lang
    return None


def choose_language(languages: Sequence[str], query: Optional[str], cookies: Mapping[str, str],
                    accept_language: str) -> tuple[str, bool]:
    """The page's language: ?lang=, then the cookie, then Accept-Language, then the study's main language.

    Returns the language and whether it was asked for in the query (so it is remembered in a cookie).
    """
    if query and (found := _match(query, languages)):
        return found, True
    cookie = cookies.get(COOKIE)
    if cookie and (found := _match(cookie, languages)):
        return found, False
    for tag in parse_accept_language(accept_language or ""):
        if found := _match(tag, languages):
            return found, False
    return languages[0], False


# The name of each language in itself, for the language switch (any other code is shown as is).
NATIVE_NAMES = {
    "en": "English", "zh": "中文", "ar": "العربية", "fr": "Français", "es": "Español", "pt": "Português",
    "de": "Deutsch", "it": "Italiano", "nl": "Nederlands", "pl": "Polski", "ro": "Română", "ru": "Русский",
    "uk": "Українська", "tr": "Türkçe", "fa": "فارسی", "ur": "اردو", "he": "עברית", "hi": "हिन्दी",
    "bn": "বাংলা", "pa": "ਪੰਜਾਬੀ", "so": "Soomaali", "sw": "Kiswahili", "am": "አማርኛ", "ti": "ትግርኛ",
    "vi": "Tiếng Việt", "ja": "日本語", "ko": "한국어", "ta": "தமிழ்", "gu": "ગુજરાતી", "yue": "粵語",
}


def native_name(lang: str) -> str:
    return NATIVE_NAMES.get(lang) or NATIVE_NAMES.get(lang.split("-")[0]) or lang
