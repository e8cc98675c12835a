"""What every record shares: the base model, codes and ids, times in UTC, texts per language."""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone

from pydantic import BaseModel, ConfigDict

from .values import CODE_ALPHABET, parse_utc  # noqa: F401 (re-exported: codes are made and checked with it; times read back)

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    """A random (version 4) UUID as text; built directly, as ids are made for every record."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Record(BaseModel):
    """Base of every stored record: unknown keys are refused, text is stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_assignment=True, defer_build=True)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a time must carry its time zone (stored in UTC)")
    return value.astimezone(timezone.utc)


class LocalText(dict):
    """Marker type: a text given per language code, for example {"en": "...", "ar": "..."}."""


Localised = dict[str, str]


def _check_localised(value: dict[str, str], what: str, required: bool = True) -> dict[str, str]:
    clean: dict[str, str] = {}
    for lang, text in value.items():
        if not LANG.match(lang):
            raise ValueError(f"'{lang}' is not a language code such as 'en', 'zh' or 'ar'")
        text = text.strip()
        if text:
            clean[lang] = text
    if required and not clean:
        raise ValueError(f"{what} needs a text in at least one language")
    return clean


def pick(text: dict[str, str], language: str, fallback: str = "en") -> str:
    """The text in the asked language, else the fallback language, else any language."""
    if not text:
        return ""
    return text.get(language) or text.get(fallback) or next(iter(text.values()))
