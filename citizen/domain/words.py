"""The phone pages' own words: which languages ship a catalogue, every text the pages use, and messages
that can be said in another language.

The catalogues (``citizen/web/locale/<lang>/LC_MESSAGES/citizen.po``, compiled to ``.mo``) are kept
beside the pages they are made for; this module only reads them, with the standard library, so
every layer can ask what the pages say (the data dictionary, the publish check, the terminal app's
translation screen) without importing the web layer. A study may carry its own translation of these
words (``ProtocolVersion.page_words``); ``StudyWords`` lays it over the shipped catalogue.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

LOCALE_DIR = Path(__file__).resolve().parents[1] / "web" / "locale"
DOMAIN = "citizen"
SOURCE_LANGUAGE = "en"  # the msgids are the English words


def N_(message: str) -> str:
    """Mark a text for the catalogues; it is translated where it is shown."""
    return message


class Said(str):
    """A message in English that remembers its catalogue id and values, so a page can say it in its language.

    It is a ``str`` (the English words), so the terminal app and the command line use it as they
    always did; the phone pages call ``in_language`` with their catalogue's ``gettext``.
    """

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Said:
        made = super().__new__(cls, msgid % params if params else msgid)
        made.msgid = msgid
        made.params = params
        return made

    def in_language(self, gettext_fn) -> str:
        text = gettext_fn(self.msgid)
        return text % self.params if self.params else text


def say(message: str, gettext_fn) -> str:
    """Any message in the page's language: a ``Said`` by its id, other text if it is itself a msgid."""
    if isinstance(message, Said):
        return message.in_language(gettext_fn)
    return gettext_fn(message) if message else message


@lru_cache(maxsize=64)
def shipped(lang: str) -> gettext.NullTranslations:
    """The shipped catalogue for a language (its base language when a region has none), else none."""
    for code in dict.fromkeys((lang, lang.split("-")[0])):
        try:
            return gettext.translation(DOMAIN, str(LOCALE_DIR), languages=[code])
        except OSError:
            continue
    return gettext.NullTranslations()


def has_catalogue(lang: str) -> bool:
    return lang.split("-")[0] == SOURCE_LANGUAGE or isinstance(shipped(lang), gettext.GNUTranslations)


def shipped_languages() -> list[str]:
    """The languages with a compiled catalogue in this release."""
    return sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))


@lru_cache(maxsize=1)
def page_msgids() -> tuple[str, ...]:
    """Every text the phone pages (and the dictionary and report) use, from the English catalogue, which holds them all."""
    catalogue = shipped(SOURCE_LANGUAGE)
    texts = getattr(catalogue, "_catalog", {})
    counted = [text for key, text in texts.items() if isinstance(key, tuple)]  # a counted text's singular and plural
    return tuple(sorted({key for key in texts if isinstance(key, str) and key} | set(counted)))


@lru_cache(maxsize=1)
def counted_texts() -> dict[str, tuple[str, str, int]]:
    """Each counted text's English words (for one, for more) -> (singular, plural, a count that picks it)."""
    texts: dict[Any, str] = getattr(shipped(SOURCE_LANGUAGE), "_catalog", {})
    out: dict[str, tuple[str, str, int]] = {}
    for key in texts:
        if isinstance(key, tuple) and key[1] == 0:
            singular, plural = texts[key], texts.get((key[0], 1), texts[key])
            out[plural] = (singular, plural, 2)
            out[singular] = (singular, plural, 1)
    return out


def catalogue_word(catalogue: gettext.NullTranslations, msgid: str) -> str:
    """What a shipped catalogue says for one of ``page_msgids`` (a counted text in its form for one, or for more)."""
    if msgid in counted_texts():
        singular, plural, n = counted_texts()[msgid]
        return catalogue.ngettext(singular, plural, n)
    return catalogue.gettext(msgid)


class StudyWords(gettext.NullTranslations):
    """A language's page words: the study's own translation where it has one, else the shipped catalogue.

    The study wins: a community translator's correction of a shipped language is what the team
    chose for its volunteers. A text neither has is said in English.
    """

    def __init__(self, lang: str, own: Mapping[str, str]):
        super().__init__()
        self.lang = lang
        self.own = {k: v for k, v in own.items() if v and v.strip()}
        self.base = shipped(lang)
        self.catalogued = isinstance(self.base, gettext.GNUTranslations)

    def gettext(self, message: str) -> str:
        return self.own.get(message) or self.base.gettext(message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        """A counted text: the study's own words for one or for many (its translation gives two forms),
        else the catalogue's form for ``n`` in the language's own plural rule."""
        return self.own.get(msgid1 if n == 1 else msgid2) or self.base.ngettext(msgid1, msgid2, n)

    def knows(self, message: str) -> bool:
        """Whether the page can say this text in its own language (else it is shown in English)."""
        if self.lang.split("-")[0] == SOURCE_LANGUAGE or message in self.own:
            return True
        if not self.catalogued:
            return False
        texts = getattr(self.base, "_catalog", {})
        return bool(texts.get(message))


def missing_page_words(lang: str, own: Mapping[str, str]) -> list[str]:
    """The page texts a language lacks: none when a catalogue ships, else those the study leaves blank."""
    if has_catalogue(lang):
        return []
    return [m for m in page_msgids() if not (own.get(m) or "").strip()]


PLACEHOLDER = re.compile(r"%\(\w+\)s")
WHERE_TO_FIX = 'translate them on the Page words screen (w in the form builder) or in the protocol file\'s "page_words"'


def placeholders(text: str) -> set[str]:
    """The values a text has room for, such as ``%(count)s``: a translation keeps exactly these."""
    return set(PLACEHOLDER.findall(text))


def page_word_gaps(languages: list[str], page_words: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Each study language whose phone pages cannot be said in full: no catalogue ships and the study's
    own translation is incomplete; one plain line per language, with the count and where to fix it."""
    out = []
    total = len(page_msgids())
    for lang in languages:
        missing = missing_page_words(lang, page_words.get(lang, {}))
        if missing:
            out.append(
                f"The phone pages' words in '{lang}': {len(missing)} of {total} have no translation "
                f"(no catalogue ships for '{lang}'; {WHERE_TO_FIX})"
            )
    return out
