"""What was read from an XLSForm (or written to one), and the language names the format uses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from ...domain.models import LANG, FormField

LANGUAGE_NAMES = {
    "en": "English",
    "fr": "French",
    "es": "Spanish",
    "pt": "Portuguese",
    "ar": "Arabic",
    "sw": "Swahili",
    "hi": "Hindi",
    "ur": "Urdu",
    "bn": "Bengali",
    "zh": "Chinese",
    "de": "German",
    "it": "Italian",
    "pl": "Polish",
    "ro": "Romanian",
    "so": "Somali",
    "am": "Amharic",
    "ha": "Hausa",
    "yo": "Yoruba",
    "tr": "Turkish",
    "fa": "Persian",
    "ru": "Russian",
    "uk": "Ukrainian",
    "pa": "Punjabi",
    "ne": "Nepali",
}
NAME_TO_CODE = {name.casefold(): code for code, name in LANGUAGE_NAMES.items()}


def language_code(label: str) -> Optional[str]:
    """'English (en)' -> 'en'; 'fr' -> 'fr'; 'Swahili' -> 'sw'; None when it cannot be told."""
    label = label.strip()
    m = re.search(r"\(([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})?)\)\s*$", label)
    if m:
        return m.group(1).lower() if "-" not in m.group(1) else m.group(1)
    if LANG.match(label):
        return label
    if re.fullmatch(r"[A-Za-z]{2,3}", label):
        return label.lower()
    return NAME_TO_CODE.get(label.casefold())


def language_header(lang: str) -> str:
    """The language as XLSForm writes it in a column header: 'English (en)'."""
    return f"{LANGUAGE_NAMES.get(lang, lang)} ({lang})"


@dataclass
class XLSFormReport:
    """What was read from a workbook (or written to one), and what was not carried over."""

    title: str = ""
    form_id: str = ""
    languages: list[str] = field(default_factory=lambda: ["en"])
    fields: list[FormField] = field(default_factory=list)
    left_out: dict[str, list[str]] = field(default_factory=dict)
    draft: bool = False  # the workbook is a draft citizen wrote for review, not a published version
    draft_of: Optional[int] = None  # the published version that draft is based on, if any

    def note(self, kind: str, what: str) -> None:
        self.left_out.setdefault(kind, []).append(what)

    @property
    def not_carried_over(self) -> list[str]:
        """One plain line per kind of feature that was not carried over, naming the questions."""
        return [f"{kind}: {', '.join(names)}" for kind, names in self.left_out.items()]

    def summary(self) -> str:
        lines = [f"{len(self.fields)} questions carried over."]
        if self.left_out:
            lines.append("Not carried over:")
            lines += [f"- {line}" for line in self.not_carried_over]
        return "\n".join(lines)
