"""A protocol being designed: the draft a team edits freely before it is published as a version.

A draft holds field definitions and consent items that are each valid on their own (the form
builder refuses a bad one beside the field); what spans the whole draft (duplicate keys, a
consent document with no required item, no field at all) is listed by ``draft_problems`` and
checked once more when the draft is published.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any, Optional

from pydantic import Field, ValidationError, field_validator, model_validator

from .consent import with_legacy_roles
from .models import (
    ROLE_NAMES,
    ConsentDocument,
    ConsentItem,
    ConsentRole,
    FormField,
    Localised,
    PageWords,
    ProtocolVersion,
    Record,
    _check_localised,
    _check_page_words,
    new_id,
    utcnow,
)


class Draft(Record):
    id: str = Field(default_factory=new_id)
    based_on: Optional[int] = None
    fields: list[FormField] = Field(default_factory=list)
    consent_text: Localised = Field(default_factory=dict)
    consent_items: list[ConsentItem] = Field(default_factory=list)
    proposal_id: Optional[str] = None
    created_by: str = Field(min_length=1, max_length=120)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    published_as: Optional[int] = None
    discarded: bool = False
    page_words: PageWords = Field(default_factory=dict)

    @field_validator("consent_text")
    @classmethod
    def _text(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_localised(value, "the consent text", required=False)

    @field_validator("page_words")
    @classmethod
    def _page_words(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        return _check_page_words(value)

    @model_validator(mode="before")
    @classmethod
    def _legacy_roles(cls, data: Any) -> Any:
        # A draft saved before consent items had roles: the same roles its published version gets.
        return with_legacy_roles(data, "consent_items")

    @property
    def is_open(self) -> bool:
        return self.published_as is None and not self.discarded

    def field_index(self, key: str) -> Optional[int]:
        for i, f in enumerate(self.fields):
            if f.key == key:
                return i
        return None


def draft_problems(draft: Draft) -> list[str]:
    """What stands between this draft and publication, in plain words (empty when none)."""
    problems = []
    if not draft.fields:
        problems.append("The form has no fields yet: add at least one.")
    keys = [f.key for f in draft.fields]
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        problems.append(f"The field key '{key}' is used twice; each field needs its own key.")
    if not draft.consent_text:
        problems.append("The consent document has no text yet: write what taking part means.")
    if not draft.consent_items:
        problems.append("The consent document has no items yet: add at least one about taking part.")
    else:
        for role in ConsentRole:
            holders = [i.id for i in draft.consent_items if i.role is role]
            if role is ConsentRole.take_part and not holders:
                problems.append("No consent item has the role 'taking part': give it to the item about taking part.")
            elif role is not ConsentRole.plain and len(holders) > 1:
                problems.append(
                    f"The consent items {', '.join(repr(h) for h in holders)} all have the role "
                    f"'{ROLE_NAMES[role]}'; give it to one item only."
                )
    ids = [i.id for i in draft.consent_items]
    for item_id in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"The consent item '{item_id}' appears twice.")
    return problems


def role_meanings(items: list[ConsentItem]) -> list[str]:
    """What the consent items' roles mean for the study's data, in plain words, one line each."""
    by_role = {i.role: i for i in items if i.role is not ConsentRole.plain}
    lines = []
    quote = by_role.get(ConsentRole.quote_words)
    lines.append(
        f"Free-text answers are exported only for participants who said yes to '{quote.id}'."
        if quote
        else "No item asks about quoting: free-text answers will be exported."
    )
    share = by_role.get(ConsentRole.share_partners)
    lines.append(
        f"An export for partner organisations holds only those who said yes to '{share.id}'."
        if share
        else "No item asks about sharing with partner organisations: nothing can be exported for them."
    )
    contact = by_role.get(ConsentRole.contact_later)
    lines.append(
        f"Contacts are kept and exported only for participants who said yes to '{contact.id}'."
        if contact
        else "No item asks about contacting participants later: no contacts are ever exported, "
        "and the phone does not ask for one."
    )
    return lines


def missing_translations(draft: Draft, languages: list[str]) -> list[str]:
    """Every text a participant reads that lacks one of the study's languages, in plain words.

    Labels, choices, consent text and items need every language; help only where help is given
    in some language. Each line names the text and the languages it lacks, e.g.
    "Question 'symptoms': the label in zh, ar".
    """
    out: list[str] = []

    def check(text: dict[str, str], what: str, required: bool = True) -> None:
        if not text and not required:
            return
        gaps = [lang for lang in languages if not (text.get(lang) or "").strip()]
        if gaps:
            out.append(f"{what} in {', '.join(gaps)}")

    if draft.consent_text:
        check(draft.consent_text, "The consent text")
    for item in draft.consent_items:
        check(item.text, f"Consent item '{item.id}'")
    for f in draft.fields:
        check(f.label, f"Question '{f.key}': the label")
        check(f.help, f"Question '{f.key}': the help", required=False)
        for c in f.choices:
            check(c.label, f"Question '{f.key}': the choice '{c.value}'")
    return out


def draft_as_version(
    draft: Draft, current: Optional[ProtocolVersion], approved_by: str = "draft", change_summary: str = ""
) -> Optional[ProtocolVersion]:
    """The version this draft would become if published now (None while it has problems)."""
    if draft_problems(draft):
        return None
    number = 1 if current is None else current.number + 1
    consent_version = 1 if current is None else current.consent.version
    try:
        consent = ConsentDocument(version=consent_version, text=draft.consent_text, items=draft.consent_items)
        if current is not None and (consent.text != current.consent.text or consent.items != current.consent.items):
            consent = consent.model_copy(update={"version": consent_version + 1})
        return ProtocolVersion(
            number=number,
            fields=draft.fields,
            consent=consent,
            change_summary=change_summary,
            approved_by=approved_by or "draft",
            proposal_id=draft.proposal_id,
            page_words=draft.page_words,
        )
    except ValidationError:
        return None


# -- where a refusal belongs -----------------------------------------------------------------

_MODEL_RULES = (
    ("choice", "choices"),
    ("lowest value", "min"),
    ("bounds", "min"),
)


def locate_errors(error: ValidationError, default: str = "_") -> dict[str, str]:
    """pydantic's messages keyed by the form entry they belong beside ('label', 'min', ...).

    Rules that look at the whole field (no location of their own) are placed beside the entry
    they are about: a missing choice list beside the choices, crossed bounds beside the lowest value.
    """
    out: dict[str, str] = {}
    for e in error.errors():
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "missing" or (e["type"] == "string_too_short" and e.get("ctx", {}).get("min_length") == 1):
            msg = "This cannot be left empty."
        elif e["type"] == "enum":
            msg = "Please pick one of the options."
        msg = msg[:1].upper() + msg[1:]
        loc = [p for p in e["loc"] if isinstance(p, str)]
        if loc:
            name = loc[0]
        else:
            name = default
            low = msg.lower()
            for needle, entry in _MODEL_RULES:
                if needle in low:
                    name = entry
                    break
        out.setdefault(name, msg if msg.endswith(".") else msg + ".")
    return out


# -- turning what a person typed into codes ---------------------------------------------------


def make_code(text: str, prefix: str = "item") -> str:
    """A lower-case code from a label ('Canal path' -> 'canal_path'), valid as a key or choice code."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    code = re.sub(r"[^a-z0-9]+", "_", folded).strip("_")[:50]
    if not code:
        code = prefix
    if not code[0].isalpha():
        code = f"{prefix}_{code}"
    return code


def study_id_from(text: str) -> str:
    """A study id made from a title or form name ('Safe Crossings' -> 'safe-crossings')."""
    return make_code(text, "study").replace("_", "-")[:63]


def parse_choices(text: str, languages: list[str]) -> list[dict[str, Any]]:
    """Choices typed one per line: 'Label', or 'code | label' (and a label per further language)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 1:
            code, labels = make_code(parts[0], "option"), [parts[0]]
        else:
            code, labels = parts[0], parts[1:]
        out.append({"value": code, "label": {lang: lab for lang, lab in zip(languages, labels, strict=False) if lab}})
    return out


def choices_as_text(field: FormField, languages: list[str]) -> str:
    return "\n".join(" | ".join([c.value, *(c.label.get(lang, "") for lang in languages)]).rstrip(" |") for c in field.choices)


def parse_bound(text: str) -> Optional[float]:
    """A bound as typed ('' for none); ValueError with a plain message otherwise."""
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a number.") from None
