"""Counts said in English as a person would say them: "1 participant", "2 participants", "1 is", "2 are".

Every count the terminal app, the command line and the reports show goes through here, so no text
reads "1 participants" or "1 are taking part" (the phone pages count through their catalogues).
"""

from __future__ import annotations

from typing import Optional

IRREGULAR = {
    "person": "people",
    "is": "are",
    "was": "were",
    "has": "have",
    "entry": "entries",
    "reply": "replies",
    "this": "these",
}


def plural(n: int, singular: str, many: Optional[str] = None) -> str:
    """The word for ``n`` of them: ``singular`` for exactly one, else ``many`` (by default the usual English plural)."""
    if n == 1:
        return singular
    if many is not None:
        return many
    if singular in IRREGULAR:
        return IRREGULAR[singular]
    if singular.endswith("y") and singular[-2:-1] not in "aeiou":
        return singular[:-1] + "ies"
    if singular.endswith(("s", "x", "ch", "sh")):
        return singular + "es"
    return singular + "s"


def count(n: int, singular: str, many: Optional[str] = None) -> str:
    """``n`` with its word, thousands separated: "1 participant", "1,204 contributions"."""
    return f"{n:,} {plural(n, singular, many)}"
