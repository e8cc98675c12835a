"""A study's own translation of the phone pages' words, for a language no catalogue ships (or to correct one).

The words are kept in the draft, like the study's other texts, and published with it as part of
the protocol version; they travel in protocol files and bundles. Publishing is refused while a
study language has neither a shipped catalogue nor a complete translation of its own
(``page_word_gaps``).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from ..domain.design import Draft, locate_errors
from ..domain.words import SOURCE_LANGUAGE, catalogue_word, has_catalogue, page_msgids, placeholders, shipped
from .common import Refused, Study
from .design import _draft, _language, _save


@dataclass(frozen=True)
class PageWord:
    """One text of the phone pages in one language: the English, the shipped words, the study's own."""

    msgid: str
    shipped: str  # the shipped catalogue's translation ("" when none ships)
    own: str  # the study's own translation ("" when it has none)

    @property
    def shown(self) -> str:
        """What a phone shows: the study's words win over the catalogue's."""
        return self.own or self.shipped

    @property
    def missing(self) -> bool:
        return not self.shown


def translatable_languages(study: Study) -> list[str]:
    """The study languages whose page words can be translated (English is what they are written in)."""
    return [lang for lang in study.repo.study().languages if lang.split("-")[0] != SOURCE_LANGUAGE]


def page_words(draft: Draft, language: str) -> list[PageWord]:
    """Every text of the phone pages, with the catalogue's and the study's words in ``language``."""
    catalogue = shipped(language)
    has = has_catalogue(language)
    own = draft.page_words.get(language, {})
    rows = []
    for msgid in page_msgids():
        rows.append(PageWord(msgid, catalogue_word(catalogue, msgid) if has else "", own.get(msgid, "")))
    return rows


def save_page_word(study: Study, draft_id: str, language: str, msgid: str, text: str, actor: str) -> Draft:
    """Save the study's words for one page text in one language (empty text: back to the catalogue's, or missing)."""
    row, draft = _draft(study, draft_id)
    if not language or language.split("-")[0] == SOURCE_LANGUAGE:
        raise Refused("The page texts are written in English; choose another of the study's languages.")
    language = _language(study, language)
    if msgid not in page_msgids():
        raise Refused("This is not one of the phone pages' texts.")
    text = " ".join(text.split())
    if text and placeholders(text) != placeholders(msgid):
        wanted = ", ".join(sorted(placeholders(msgid)))
        msg = (
            f"Keep {wanted} exactly as written: the page puts a value there."
            if wanted
            else "This text has no value to fill in: remove the %(...)s part."
        )
        raise Refused(msg, {"text": msg})
    words = {lang: dict(texts) for lang, texts in draft.page_words.items()}
    mine = words.setdefault(language, {})
    if text:
        mine[msgid] = text
    else:
        mine.pop(msgid, None)
    try:
        updated = Draft.model_validate(draft.model_dump() | {"page_words": words})
    except ValidationError as exc:
        msg = " ".join(locate_errors(exc).values())
        raise Refused(msg, {"text": msg}) from None
    return _save(
        study, row, updated, actor, "page words translated" if text else "page words cleared", f"{language}: {msgid[:60]}"
    )
