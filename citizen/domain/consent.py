"""The consent document and its items; each item has a role, and the rules read roles, never ids."""

from __future__ import annotations

import hashlib
from enum import Enum
from typing import Any, Optional

from pydantic import Field, field_validator, model_validator

from .base import KEY, Localised, Record, _check_localised, pick


class ConsentRole(str, Enum):
    """What saying yes to a consent item lets the team do; every rule reads the role, never the id."""

    take_part = "take_part"
    share_partners = "share_partners"
    quote_words = "quote_words"
    contact_later = "contact_later"
    plain = "plain"


ROLE_NAMES = {
    ConsentRole.take_part: "taking part",
    ConsentRole.share_partners: "sharing with partner organisations",
    ConsentRole.quote_words: "quoting the participant's own words",
    ConsentRole.contact_later: "contacting them later",
    ConsentRole.plain: "plain (recorded and exported, no rule attached)",
}

# Before items had roles, the rules knew these ids; a record or file without roles gets them from here.
LEGACY_ROLE_IDS = {
    "take_part": ConsentRole.take_part,
    "share_partners": ConsentRole.share_partners,
    "quote_words": ConsentRole.quote_words,
    "contact_later": ConsentRole.contact_later,
}


def assign_roles(items: list[Any]) -> tuple[list[Any], list[str]]:
    """Consent items (as stored, dicts) given the roles they had before items carried one.

    Only items without a role are touched, on copies: the item with id ``take_part`` (else the
    first required one) takes part; ``share_partners``, ``quote_words`` and ``contact_later`` keep
    the meaning their ids had; any other item is plain. Returns the items and, per item given a
    role, a line saying so (empty when every item already had one).
    """
    if not isinstance(items, list) or not any(isinstance(i, dict) and "role" not in i for i in items):
        return items, []
    out = [dict(i) if isinstance(i, dict) else i for i in items]
    bare = [i for i in out if isinstance(i, dict) and "role" not in i]
    taken = {str(getattr(i.get("role"), "value", i.get("role"))) for i in out if isinstance(i, dict) and "role" in i}
    if ConsentRole.take_part.value not in taken:
        required = [i for i in bare if i.get("required") is True]
        part = next((i for i in required if i.get("id") == "take_part"), required[0] if required else None)
        if part is not None:
            part["role"] = ConsentRole.take_part.value
            taken.add(ConsentRole.take_part.value)
    for item in bare:
        if "role" in item:
            continue
        role = LEGACY_ROLE_IDS.get(item.get("id"))  # type: ignore[arg-type]
        if role is None or role is ConsentRole.take_part or role.value in taken:
            role = ConsentRole.plain
        item["role"] = role.value
        if role is not ConsentRole.plain:
            taken.add(role.value)
    notes = [f"'{i.get('id')}' is {ROLE_NAMES[ConsentRole(i['role'])]}" for i in bare]
    return out, notes


def with_legacy_roles(data: Any, key: str) -> Any:
    """A record's raw data with roles given to the consent items under ``key`` that have none."""
    if isinstance(data, dict) and isinstance(data.get(key), list):
        items, notes = assign_roles(data[key])
        if notes:
            return {**data, key: items}
    return data


class ConsentItem(Record):
    id: str
    text: Localised
    required: bool = False
    role: ConsentRole = ConsentRole.plain

    @model_validator(mode="before")
    @classmethod
    def _role(cls, data: Any) -> Any:
        # An item stored before roles existed gets one from its id; taking part is always required.
        if isinstance(data, dict):
            if "role" not in data:
                data = assign_roles([data])[0][0]
            role = data.get("role")
            if role == ConsentRole.take_part.value or role is ConsentRole.take_part:
                data = {**data, "required": True}
        return data

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not KEY.match(value):
            raise ValueError("a consent item id is lower-case letters, digits or '_', starting with a letter")
        return value

    @field_validator("text")
    @classmethod
    def _text(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_localised(value, "a consent item")


def role_problems(items: list[ConsentItem]) -> list[str]:
    """What is wrong with the roles of a document's items, in plain words (empty when nothing)."""
    problems = []
    if not any(i.role is ConsentRole.take_part for i in items):
        problems.append("no consent item has the role 'taking part': give it to the item about taking part")
    for role in ConsentRole:
        holders = [i.id for i in items if i.role is role]
        if role is not ConsentRole.plain and len(holders) > 1:
            problems.append(
                f"the items {', '.join(repr(h) for h in holders)} all have the role "
                f"'{ROLE_NAMES[role]}'; give it to one item only (the others can be plain)"
            )
    return problems


class ConsentDocument(Record):
    version: int = Field(ge=1)
    text: Localised
    items: list[ConsentItem]

    @model_validator(mode="before")
    @classmethod
    def _legacy_roles(cls, data: Any) -> Any:
        return with_legacy_roles(data, "items")

    @field_validator("text")
    @classmethod
    def _text(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_localised(value, "the consent text")

    @model_validator(mode="after")
    def _items(self) -> ConsentDocument:
        if not self.items:
            raise ValueError("a consent document needs at least one item")
        ids = [i.id for i in self.items]
        if len(set(ids)) != len(ids):
            raise ValueError("two consent items have the same id")
        problems = role_problems(self.items)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def shown_text(self, language: str) -> str:
        """The exact words a person is shown in one language: the text and every item."""
        parts = [pick(self.text, language)]
        parts += [f"[{i.id}{' (required)' if i.required else ''}] {pick(i.text, language)}" for i in self.items]
        return "\n".join(parts)

    def text_sha256(self, language: str) -> str:
        return hashlib.sha256(self.shown_text(language).encode("utf-8")).hexdigest()

    @property
    def required_ids(self) -> set[str]:
        return {i.id for i in self.items if i.required}

    @property
    def item_ids(self) -> list[str]:
        return [i.id for i in self.items]

    def item_for(self, role: ConsentRole) -> Optional[ConsentItem]:
        """The item that carries this role (None when the document has none, or for 'plain')."""
        if role is ConsentRole.plain:
            return None
        return next((i for i in self.items if i.role is role), None)

    def role_of(self, item_id: str) -> Optional[ConsentRole]:
        return next((i.role for i in self.items if i.id == item_id), None)
