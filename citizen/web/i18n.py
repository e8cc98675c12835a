"""The phone pages' language: chosen per request, with the pages' own words from gettext catalogues.

The study's texts (summary, consent, questions) come per language from the study itself; the
pages' own words (buttons, headings, messages) come from ``locale/<lang>/LC_MESSAGES/citizen.po``,
compiled to ``.mo`` files that are committed (see README, "Languages").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

from markupsafe import Markup

from ..domain.words import DOMAIN, LOCALE_DIR, N_, Said, StudyWords, say
from ..domain.words import shipped as translations

RTL = {"ar", "fa", "he", "ur", "ps", "sd", "yi", "dv", "ckb"}
COOKIE = "lang"
__all__ = ["DOMAIN", "LOCALE_DIR", "N_", "StudyWords", "translations", "said_filter"]

# What the services may refuse with, as a phone shows it (the words are the services' own).
SERVICE_REFUSALS = (
    N_("Please answer every consent item; taking part needs the required ones."),
    N_("This participant has withdrawn; their consent cannot be changed."),
    N_("This participant has already withdrawn."),
    N_("This participant has withdrawn; nothing more can be added for them."),
    N_("This participant has not given consent, so nothing can be added for them."),
    N_("The consent document has changed: the participant needs to re-consent before contributing."),
    N_("This participant's consent does not cover contributing."),
    N_("Some answers need another look."),
    N_("This contribution was removed at the contributor's request."),
    N_("Nothing was changed."),
    N_("This cannot be left empty."),
)


def direction(lang: str) -> str:
    return "rtl" if lang.split("-")[0] in RTL else "ltr"


def said_filter(words: StudyWords):
    """A template filter: a message in the page's language, or marked as English when it has no translation."""

    def said(message: Any) -> Any:
        if not message:
            return ""
        msgid = message.msgid if isinstance(message, Said) else str(message)
        try:
            text = say(message, words.gettext)
        except (KeyError, ValueError, TypeError):  # a study's translation that lost a placeholder
            text, msgid = str(message), ""
        if words.knows(msgid):
            return text
        return Markup('<span lang="en" dir="ltr">%s</span>') % str(message)

    return said


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


def choose_language(
    languages: Sequence[str], query: Optional[str], cookies: Mapping[str, str], accept_language: str
) -> tuple[str, bool]:
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
    "en": "English",
    "zh": "中文",
    "ar": "العربية",
    "fr": "Français",
    "es": "Español",
    "pt": "Português",
    "de": "Deutsch",
    "it": "Italiano",
    "nl": "Nederlands",
    "pl": "Polski",
    "ro": "Română",
    "ru": "Русский",
    "uk": "Українська",
    "tr": "Türkçe",
    "fa": "فارسی",
    "ur": "اردو",
    "he": "עברית",
    "hi": "हिन्दी",
    "bn": "বাংলা",
    "pa": "ਪੰਜਾਬੀ",
    "so": "Soomaali",
    "sw": "Kiswahili",
    "am": "አማርኛ",
    "ti": "ትግርኛ",
    "vi": "Tiếng Việt",
    "ja": "日本語",
    "ko": "한국어",
    "ta": "தமிழ்",
    "gu": "ગુજરાતી",
    "yue": "粵語",
}


def native_name(lang: str) -> str:
    return NATIVE_NAMES.get(lang) or NATIVE_NAMES.get(lang.split("-")[0]) or lang
