"""The data-sharing check: what an export will let leave the laptop, in plain words, before it is written."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import is_not, itemgetter
from typing import TYPE_CHECKING, Any, Optional

from ..domain.models import CHOICE_TYPES, FREE_TEXT_TYPES, FieldType
from ..domain.plural import count, plural

if TYPE_CHECKING:
    from .plan import Column, ExportOptions

SIMPLE = frozenset((str, int, bool, type(None)))  # answers whose equal values always read the same as text
SMALL_COUNT = 5  # an answer category held by fewer participants than this can identify them


@dataclass
class SharingCheck:
    """What will leave the laptop, for the person exporting to read before confirming."""

    summary: list[str]
    small_counts: list[tuple[str, str, int]]  # column, category, participants holding it
    free_text: list[str]
    identifying: list[str]
    contacts: bool
    consent_roles: list[str] = field(default_factory=list)  # what the consent items' roles mean here

    def lines(self) -> list[str]:
        out = ["What will leave this laptop:"] + [f"  {line}" for line in self.summary]
        out.append("Free-text fields included: " + (", ".join(self.free_text) if self.free_text else "none"))
        out.append("Identifying fields included: " + (", ".join(self.identifying) if self.identifying else "none"))
        out.append("Contact details included: " + ("yes, of those who agreed to be contacted" if self.contacts else "no"))
        if self.consent_roles:
            out.append("What the consent in force means for this export:")
            out += [f"  {line}" for line in self.consent_roles]
        if self.small_counts:
            out.append(f"Answers held by fewer than {SMALL_COUNT} participants (small counts can identify someone):")
            out += [f"  {col} = {cat}: {count(n, 'participant')}" for col, cat, n in self.small_counts]
        else:
            out.append(f"No answer category is held by fewer than {SMALL_COUNT} participants.")
        return out


def category_holders(columns: list[Column], rows: list[list[Any]]) -> dict[tuple[str, str], set[Any]]:
    """Who holds each answer category: (field key, category) -> participant codes (``row[1]``).

    Worked out a column at a time: the distinct (answer, participant) pairs of a column are
    gathered by the interpreter's own set, zip and map, and only those pairs, not every cell, are
    looked at in Python. The categories are those of the cell-by-cell rule: an option column's
    option where it is chosen (1; not 0, not empty), else the answer as text (``str``), so answers
    are told apart by type too (1 and True read differently), and a column holding decimals or
    anything unusual is read cell by cell as text.
    """
    holders: dict[tuple[str, str], set[Any]] = defaultdict(set)
    codes = list(map(itemgetter(1), rows))
    for i, col in enumerate(columns):
        f = col.field
        if f is None or not (f.type in CHOICE_TYPES or f.type in (FieldType.yes_no, FieldType.rating)):
            continue
        cells = list(map(itemgetter(i), rows))
        if col.option is not None:  # 1 (chosen), 0 or None (the field not in the row's version): cells.row_maker
            chosen = set(compress(codes, cells))
            if chosen:
                holders[(f.key, col.option)] |= chosen
            continue
        kinds = set(map(type, cells))
        if float in kinds or not kinds <= SIMPLE:  # 0.0 and -0.0 are one value but two texts: each cell as text
            answers = set(zip(map(is_not, cells, repeat(None)), map(str, cells), codes, strict=True))
            for given, category, code in answers:
                if given:
                    holders[(f.key, category)].add(code)
            continue
        for _kind, value, code in set(zip(map(type, cells), cells, codes, strict=True)):  # equal values, one text
            if value is not None:
                holders[(f.key, str(value))].add(code)
    return holders


def sharing_check(
    title: str,
    options: ExportOptions,
    columns: list[Column],
    rows: list[list[Any]],
    people: int,
    exclusions: Counter,
    contacts_given: int,
    checked: Optional[list[Column]] = None,
) -> SharingCheck:
    """Small counts, free text and identifying fields, and a summary in plain words.

    ``checked``: the columns ``rows`` hold, when they hold only some (the id, the code, then these).
    """
    holders = category_holders(columns if checked is None else checked, rows)
    small = sorted((key, cat, len(who)) for (key, cat), who in holders.items() if len(who) < SMALL_COUNT)
    free = [c.name for c in columns if c.field is not None and c.field.type in FREE_TEXT_TYPES]
    identifying = [c.name for c in columns if c.identifying]
    excluded = sum(n for reason, n in exclusions.items() if not reason.startswith("participants:"))
    contributors = len(set(map(itemgetter(1), rows)))
    summary = [
        f"{count(len(rows), 'contribution')} from {count(contributors, 'participant')} of '{title}', "
        f"and the consent records of {count(people, 'participant')}"
        + (", for partner organisations" if options.audience.value == "partners" else ", for the study team")
        + ".",
        "Participant codes are "
        + (
            "replaced by a hash salted for this export only."
            if options.hash_codes
            else "the study's pseudonymous codes (no names)."
        ),
        "Dates are " + ("shifted per participant by a secret number of days." if options.shift_dates else "the real dates."),
        f"{count(excluded, 'contribution')} {plural(excluded, 'is')} left out (consent or the filters chosen)"
        + (":" if exclusions else "."),
    ]
    summary += [f"  {n}: {reason}" for reason, n in sorted(exclusions.items())]
    if options.contacts:
        summary.append(f"Contact details of {count(contacts_given, 'participant')} who agreed to be contacted are included.")
    return SharingCheck(summary, small, free, identifying, options.contacts)
