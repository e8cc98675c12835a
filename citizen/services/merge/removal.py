"""A withdrawal with removal wins over every copy: what another laptop still holds of the
participant's words (their contributions, their proposals' title and rationale, the activity-log
lines naming those proposals) is removed as the merge is planned, whichever copy arrives first.

The removal is a join like the others: a participant is removed when either copy holds their
withdrawal with removal, and every laptop then writes the same tombstone (its time is that of the
first such withdrawal), so laptops that swap bundles in any order hold the same study.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ...store import StudyStore
from ..participation import PROPOSAL_ACTIONS, REMOVED_WORDS, tombstone
from .bundle import as_time
from .report import MergeReport


def _removals(events: list[dict]) -> dict[str, str]:
    """Participant -> the time of their first withdrawal with removal, among ``events``."""
    out: dict[str, str] = {}
    for e in events:
        if e.get("kind") == "withdraw" and e.get("remove_data"):
            pid, at = e["participant_id"], e["at"]
            if pid not in out or as_time(at) < as_time(out[pid]):
                out[pid] = at
    return out


@dataclass
class RemovalMemory:
    """What a merge read in batches learns once and keeps from batch to batch."""

    known: dict[str, Optional[str]] = field(default_factory=dict)  # participant -> removed at (None: not)
    titles: dict[str, str] = field(default_factory=dict)  # a removed proposal's title -> when it was made


class RemovalPass:
    """Applies every known withdrawal with removal to a planned merge (``fresh`` and ``puts`` are changed in place)."""

    def __init__(
        self,
        store: StudyStore,
        recs: dict[str, list[dict]],
        fresh: dict[str, dict[str, dict]],
        puts: list,
        report: MergeReport,
        memory: Optional[RemovalMemory] = None,
        local: bool = True,
    ):
        self.store, self.recs, self.fresh, self.puts, self.report = store, recs, fresh, puts, report
        self.incoming = _removals(recs["consent_events"])
        memory = memory if memory is not None else RemovalMemory()
        self._known = memory.known
        self.titles = memory.titles  # a removed proposal's title -> when it was made (to find its log lines)
        self.local = local  # also this laptop's own copies of the removed people's records
        self.planned = {(name, row): i for i, (name, row, _) in enumerate(puts)}
        self.touched: set[tuple[str, str]] = set()  # (table, record id) whose conflicts would keep the words

    def removed_at(self, participant_id: Optional[str]) -> Optional[str]:
        """When the participant was withdrawn with removal, on either copy (None: they were not)."""
        if not participant_id:
            return None
        if participant_id not in self._known:
            table = self.store.table("consent_events")
            local = _removals(table.where("participant_id", participant_id)).get(participant_id)
            times = [t for t in (local, self.incoming.get(participant_id)) if t]
            self._known[participant_id] = min(times, key=as_time) if times else None
        return self._known[participant_id]

    def run(self) -> None:
        self.contributions()
        self.proposals()
        if self.titles:
            self.audit()
        self.drop_conflicts()

    # -- what to look at, and writing it ----------------------------------------------------------
    def _rows(self, name: str, extra: set[int]) -> list[int]:
        """Rows of ``name`` the merge already writes, and ``extra``."""
        return sorted({row for table, row, _ in self.puts if table == name} | extra)

    def _planned(self, name: str, row: int) -> Optional[dict]:
        index = self.planned.get((name, row))
        return self.puts[index][2] if index is not None else self.store.table(name).get(row)

    def _put(self, name: str, row: int, doc: dict) -> None:
        index = self.planned.get((name, row))
        if index is not None:
            self.puts[index] = (name, row, doc)
            return
        self.planned[(name, row)] = len(self.puts)
        self.puts.append((name, row, doc))
        self.report.updated[name] = self.report.updated.get(name, 0) + 1

    def _theirs(self, name: str) -> set[int]:
        """Rows of this laptop's ``name`` that belong to people the incoming copy removed."""
        if not self.local:
            return set()
        table = self.store.table(name)
        return {r for pid in self.incoming for r in table.rows_where("participant_id", pid)}

    # -- each table --------------------------------------------------------------------------------
    def contributions(self) -> None:
        fresh = self.fresh["contributions"]
        for ident, new in list(fresh.items()):
            at = self.removed_at(new["participant_id"])
            if at and not new.get("removed_at"):
                fresh[ident] = tombstone(new, at)
        for row in self._rows("contributions", self._theirs("contributions")):
            doc = self._planned("contributions", row)
            at = self.removed_at(doc["participant_id"]) if doc else None
            if doc and at and not doc.get("removed_at"):
                self._put("contributions", row, tombstone(doc, at))

    def _blank(self, doc: dict) -> dict:
        if doc.get("title") != REMOVED_WORDS:
            self.titles[doc["title"]] = min(self.titles.get(doc["title"], doc["created_at"]), doc["created_at"])
        return dict(doc, title=REMOVED_WORDS, rationale=REMOVED_WORDS)

    def proposals(self) -> None:
        """Their words go; the proposal, its notes and the team's decision stay."""
        fresh = self.fresh["proposals"]
        for ident, new in list(fresh.items()):
            if self.removed_at(new.get("participant_id")) and new.get("title") != REMOVED_WORDS:
                fresh[ident] = self._blank(new)
        table = self.store.table("proposals")
        incoming = {d["id"]: d for d in self.recs["proposals"]}
        joined = {table.find_row(i) for i, d in incoming.items() if self.removed_at(d.get("participant_id"))}
        for row in self._rows("proposals", self._theirs("proposals") | {r for r in joined if r is not None}):
            local, doc = table.get(row), self._planned("proposals", row)
            if not doc or not self.removed_at(doc.get("participant_id")):
                continue
            for copy in (local, incoming.get(doc["id"])):  # every title it had, to find its log lines
                if copy and copy.get("title") != REMOVED_WORDS:
                    self._blank(copy)
            if doc.get("title") != REMOVED_WORDS or doc.get("rationale") != REMOVED_WORDS:
                self._put("proposals", row, self._blank(doc))

    def names_removed(self, entry: object) -> bool:
        """An activity-log line about a removed proposal, naming it by its title."""
        if not isinstance(entry, dict):
            return False
        made = self.titles.get(entry.get("target", ""))
        return made is not None and entry.get("action") in PROPOSAL_ACTIONS and entry.get("at", "") >= made

    def audit(self) -> None:
        fresh = self.fresh["audit"]
        for ident, new in list(fresh.items()):
            if self.names_removed(new):
                fresh[ident] = dict(new, target=REMOVED_WORDS)
        trail = self.store.table("audit")
        named = {r for title in self.titles for r in trail.rows_where("target", title)} if self.local else set()
        for row in self._rows("audit", named):
            doc = self._planned("audit", row)
            if doc and self.names_removed(doc):
                self._put("audit", row, dict(doc, target=REMOVED_WORDS))
                self.touched.add(("audit", doc["id"]))

    def drop_conflicts(self) -> None:
        """A conflict between a copy with the words and one without would write the words into the log."""
        for name in ("contributions", "proposals"):
            self.touched |= {(name, d["id"]) for d in self.recs[name] if self.removed_at(d.get("participant_id"))}
        self.report.conflicts = [
            c
            for c in self.report.conflicts
            if (c.table, c.record) not in self.touched
            and not (c.table == "audit" and (self.names_removed(c.kept) or self.names_removed(c.lost)))
        ]


def plan_removals(
    store: StudyStore, recs: dict[str, list[dict]], fresh: dict[str, dict[str, dict]], puts: list, report: MergeReport
) -> None:
    """Apply every known withdrawal with removal to what the merge would write, and to this laptop's own copies."""
    RemovalPass(store, recs, fresh, puts, report).run()
