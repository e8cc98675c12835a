"""What a merge will do, said before anything is written: conflicts and how each was settled, counts per table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from ...domain.models import canonical_json
from ...domain.plural import count, plural
from ...store import StudyStore
from .bundle import Bundle


# -- the report shown before anything is written ---------------------------------------------------
@dataclass
class Conflict:
    table: str
    record: str
    field: str
    kept: Any
    lost: Any
    rule: str

    def describe(self) -> str:
        return f"{self.table} {self.record[:36]}: {self.field} kept {_short(self.kept)}, lost {_short(self.lost)} ({self.rule})"


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else canonical_json(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")


TABLE_WORDS = {  # each table's records, one and many
    "protocol_versions": ("protocol version", "protocol versions"),
    "invites": ("invite", "invites"),
    "participants": ("participant", "participants"),
    "contacts": ("contact record", "contact records"),
    "consent_events": ("consent event", "consent events"),
    "contributions": ("contribution", "contributions"),
    "proposals": ("proposal", "proposals"),
    "updates": ("update", "updates"),
    "audit": ("activity log entry", "activity log entries"),
    "study": ("study record", "study records"),
}


@dataclass
class MergeReport:
    study_id: str
    from_laptop: str
    bundle_created_at: str
    creates_study: bool
    new: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    code_clashes: list[str] = field(default_factory=list)
    only_bookkeeping: bool = False  # the only news are activity-log entries of other merges
    notices: list[str] = field(default_factory=list)  # what reading the bundle assumed, said plainly
    writes: int = 0  # durable changes a streamed merge wrote (a batch each)

    @property
    def changes(self) -> int:
        return sum(self.new.values()) + sum(self.updated.values())

    @property
    def nothing_to_merge(self) -> bool:
        return self.changes == 0

    def lines(self, limit: int = 20) -> list[str]:
        """The report in plain words, for the command line and the terminal app."""
        head = f"Bundle of study '{self.study_id}' from laptop {self.from_laptop or '?'}, made {self.bundle_created_at}."
        out = [head]
        if self.creates_study:
            out.append(f"The study '{self.study_id}' is not on this laptop yet: it will be created from the bundle.")
        out += self.notices
        if self.nothing_to_merge:
            out.append("Nothing new: this laptop already holds everything in the bundle.")
            return out
        if self.only_bookkeeping:
            out.append(
                f"Only {count(self.changes, 'activity log entry')} of other merges "
                f"{plural(self.changes, 'is', 'are')} new; they will be copied."
            )
            return out
        news = [count(n, *TABLE_WORDS[t]) for t, n in self.new.items() if n]
        if news:
            out.append("New: " + ", ".join(news) + ".")
        ups = [count(n, *TABLE_WORDS[t]) for t, n in self.updated.items() if n]
        if ups:
            out.append("Updated: " + ", ".join(ups) + ".")
        if self.conflicts:
            out.append(
                f"Conflicts ({len(self.conflicts)}), each resolved the same way on every laptop; "
                "the value that loses is kept in the activity log:"
            )
            out += ["  " + c.describe() for c in self.conflicts[:limit]]
            if len(self.conflicts) > limit:
                out.append(f"  ... and {len(self.conflicts) - limit} more.")
        else:
            out.append("No conflicts.")
        for clash in self.code_clashes[:limit]:
            out.append("Participant code clash: " + clash)
        return out


@dataclass
class MergePlan:
    report: MergeReport
    inserts: list[tuple[str, dict[str, Any]]]
    puts: list[tuple[str, int, dict[str, Any]]]
    bundle: Optional[Bundle] = None
    token: Any = None  # the study's state the plan was made against


def state_token(store: StudyStore) -> tuple[int, int, int]:
    """Changes with every commit (the journal grows) and every compaction (it is counted)."""
    return (store.compactions, store.journal.entries, store.journal.size)
