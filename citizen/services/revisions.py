"""What a contributor's corrections changed: each one field by field, in the form's own words.

A contribution keeps the values it held before each correction (``Contribution.history``, each
with the time those values were given) and the time of its latest correction (``corrected_at``).
Contributions corrected before ``corrected_at`` was kept take their correction times from the
activity log, which has always recorded them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from ..domain.base import parse_utc
from ..domain.form import FormField
from ..domain.models import Contribution, FieldType, pick
from .common import NotFound, Study

NO_ANSWER = "(no answer)"


def shown_answer(f: FormField, value: Any, language: str = "en") -> str:
    """One answer as a person reads it: choices by their labels, yes/no as words."""
    if value is None or value == "" or value == []:
        return NO_ANSWER
    labels = {c.value: pick(c.label, language) for c in f.choices}
    if f.type is FieldType.multiple_choice and isinstance(value, list):
        return ", ".join(str(labels.get(v, v)) for v in value)
    if f.type is FieldType.single_choice:
        return labels.get(value, str(value))
    if f.type is FieldType.yes_no:
        return "yes" if value else "no"
    return str(value)


@dataclass(frozen=True)
class FieldChange:
    """One answer a correction changed: the question, and the answer before and after."""

    label: str
    old: str
    new: str


@dataclass(frozen=True)
class Correction:
    """One correction: its number (1 for the first), when it was made (None: not recorded), what changed."""

    number: int
    at: Optional[datetime]
    changes: list[FieldChange]


def _correction_times(study: Study, c: Contribution) -> list[Optional[datetime]]:
    """When each correction was made, oldest first (one time per revision kept)."""
    if c.corrected_at is not None:
        return [*(h.at for h in c.history[1:]), c.corrected_at]
    logged = sorted(
        parse_utc(d["at"])
        for d in study.store.table("audit").where("action", "contribution corrected")
        if d.get("target") == c.id
    )
    return [logged[i] if i < len(logged) else None for i in range(len(c.history))]


def contribution_corrections(study: Study, contribution_id: str, language: str = "en") -> list[Correction]:
    """Each correction of a contribution, newest first: what changed (old -> new, field by field) and when."""
    c = study.repo.contribution(contribution_id)
    if c is None:
        raise NotFound("This contribution is not known.")
    version = study.repo.protocol_version(c.protocol_version)
    fields = version.fields if version else []
    states = [h.values for h in c.history] + [c.values]
    times = _correction_times(study, c)
    out = []
    for n in range(1, len(states)):
        before, after = states[n - 1], states[n]
        changes = [
            FieldChange(f.text(language), *(shown_answer(f, values.get(f.key), language) for values in (before, after)))
            for f in fields
            if before.get(f.key) != after.get(f.key)
        ]
        out.append(Correction(n, times[n - 1], changes))
    return out[::-1]


def last_corrections(audit_events: Any) -> dict[str, datetime]:
    """When each contribution was last corrected, from the activity log (for contributions stored
    before they kept the time themselves)."""
    out: dict[str, datetime] = {}
    for e in audit_events:
        if e.action == "contribution corrected" and (e.target not in out or e.at > out[e.target]):
            out[e.target] = e.at
    return out
