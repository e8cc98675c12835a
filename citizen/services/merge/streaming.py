"""Merging a bundle read as a stream: the joins of ``plan_existing``, a batch at a time, in bounded memory.

The bundle is checked whole first (its checksum, every record through its model, its counts:
``BundleSource.check``), so a refusal still changes nothing. Its records are then read again, a
run of one table at a time; each run is joined with this laptop's copies (found through the
persisted id indexes) and written as ONE durable change, one journal line. A stop part-way leaves
whole batches, each the join of this laptop's records with some of the bundle's: the study is as
if part of the bundle had been merged, and importing the same bundle again completes it (every
join is idempotent), to the same study an uninterrupted merge gives.

Before the batches: the study record and the protocol versions, and, kept from the checking
read, the few activity-log entries that decide review states and the study's status, and the
withdrawals with removal (applied to each batch, and at the end to this laptop's own copies). After them:
the invites (their use counts follow everyone enrolled), then the merge's own activity-log entry.
Conflicts are written with the first batch that changes the study after they were found.

A study this laptop does not have is built in a hidden folder in one reading of the file, its
records checked as they come and written straight into its segment files (no journal: nobody
sees the study before it is complete), fsynced and renamed into place only once the whole file
proved sound.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from functools import partial
from typing import Any, Optional, Protocol

from ...store import DataFolder
from ...store.building import StudyBuild
from ..common import ServiceError, Study, change
from ..opening import open_study
from .bundle import BUNDLE_TABLES, MERGE_ACTIONS, BundleRefused, Progress, paused_gc
from .joins import JOINS, join_contribution
from .planning import (
    check_same_study,
    corrections,
    invite_uses,
    joined_study,
    plan_invites,
    plan_protocol,
    plan_table,
    role_notices,
    settle_code_clashes,
)
from .removal import RemovalMemory, RemovalPass
from .report import Conflict, MergeReport
from .writing import conflict_events, incoming_study, merge_summary

BATCH = 2000  # records joined and written per durable change
CREATE_BATCH = 5000  # records read at a time while a new study is built in its hidden folder
WRITE_BACK = 4_000_000  # journal bytes after which the changed segments are written back and let go
HEAD_TABLES = ("study", "protocol_versions", "invites")
REMOVAL_TABLES = ("contributions", "proposals", "audit")  # where a withdrawal with removal reaches


class BundleSource(Protocol):
    """A bundle read from its file a batch at a time (``citizen.export.bundle_file.BundleFile``)."""

    study_id: str
    laptop: str
    created_at: str
    checked: bool
    head: dict[str, list[dict[str, Any]]]  # the study record, protocol versions and invites, after check
    deciding: list[dict[str, Any]]  # its corrections and status changes (activity log), after check
    removals: list[dict[str, Any]]  # its withdrawals with removal (consent events), after check

    @property
    def total(self) -> int: ...

    def count(self, table: str) -> int: ...

    def check(self, progress: Progress = None) -> Any: ...

    def batches(
        self, size: int, progress: Progress = None, check: bool = False, label: str = ""
    ) -> Iterator[tuple[str, list[dict[str, Any]]]]: ...


def _asked_for(source: BundleSource, into: Optional[str]) -> None:
    if into is not None and into != source.study_id:
        raise BundleRefused(f"This bundle holds the study '{source.study_id}', not '{into}'; nothing was changed.")


def plan_stream(data: DataFolder, source: BundleSource, into: Optional[str] = None, progress: Progress = None) -> MergeReport:
    """What merging the bundle would do, said before anything is written (the file is checked whole)."""
    _asked_for(source, into)
    with paused_gc():
        source.check(progress)
    if not data.has_study(source.study_id):
        new = {t: source.count(t) for t in BUNDLE_TABLES if t != "study"}
        report = MergeReport(source.study_id, source.laptop, source.created_at, creates_study=True, new=new)
    else:
        study = open_study(data, source.study_id)
        with study.store.lock:
            report = _StreamMerge(study, source, None, progress).run()
    report.notices = role_notices(source.head["protocol_versions"])
    return report


def merge_stream(
    data: DataFolder,
    source: BundleSource,
    actor: str,
    into: Optional[str] = None,
    progress: Progress = None,
    created_action: str = "study created from bundle",
) -> MergeReport:
    """Merge the bundle a batch at a time, each batch one durable change; says what it did."""
    if data.readonly:
        raise ServiceError("The data folder is open read-only; close the other copy of citizen first.")
    _asked_for(source, into)
    with paused_gc():  # the records hold no cycles: plain counting frees them
        if not data.has_study(source.study_id):
            report = _create(data, source, actor, progress, created_action)
        else:
            source.check(progress)
            study = open_study(data, source.study_id)
            with study.store.lock:
                report = _StreamMerge(study, source, actor, progress).run()
    report.notices = role_notices(source.head["protocol_versions"])
    return report


def _create(data: DataFolder, source: BundleSource, actor: str, progress: Progress, created_action: str) -> MergeReport:
    """A study new to this laptop, from one reading of the file (checked as it is read, unless it was already)."""
    report = MergeReport(source.study_id, source.laptop, source.created_at, creates_study=True)
    report.new = {t: 0 for t in BUNDLE_TABLES if t != "study"}
    with incoming_study(data, source.study_id) as store:
        build = StudyBuild(store)  # no journal: the study appears, whole and on disk, only when renamed
        for name, docs in source.batches(CREATE_BATCH, progress, not source.checked, "writing"):
            build.add(name, docs)
            if name in report.new:
                report.new[name] += len(docs)
        build.add("audit", [merge_summary(report, actor, data.laptop_id, created_action)])
        build.finish()
    return report


class _StreamMerge:
    """One merge (or, without an actor, its plan) of a bundle source into this laptop's copy of its study."""

    def __init__(self, study: Study, source: BundleSource, actor: Optional[str], progress: Progress):
        self.study = study
        self.store = study.store
        self.source = source
        self.actor = actor
        self.progress = progress
        self.report = MergeReport(source.study_id, source.laptop, source.created_at, creates_study=False)
        self.unwritten: list[Conflict] = []  # conflicts found, not yet in the activity log
        self.real = False  # a change other than copying the bookkeeping of other merges
        self.new_uses: dict[str, int] = {}  # enrolments through each invite, planned but not written
        self.removed = RemovalMemory()
        self.done = 0

    def _part(self) -> MergeReport:
        return MergeReport(self.report.study_id, self.report.from_laptop, self.report.bundle_created_at, creates_study=False)

    def run(self) -> MergeReport:
        store, source = self.store, self.source
        part = self._part()
        inserts: list[tuple[str, dict]] = []
        puts: list[tuple[str, int, dict]] = []
        incoming_study = source.head["study"][0]
        local_study = check_same_study(self.study, source.study_id, store.table("study").get(1), incoming_study)
        plan_protocol(store, source.head["protocol_versions"], part, inserts, puts)
        status = [d for d in source.deciding if d.get("action") == "study status changed"]
        audit = store.table("audit")
        new_status = {d["id"]: d for d in status if audit.find_row(d["id"]) is None}
        joined = joined_study(store, self.study, local_study, incoming_study, new_status, status, part)
        if joined != local_study:
            puts.append(("study", 1, joined))
            part.updated["study"] = 1
        self._land(part, inserts, puts, len(source.head["protocol_versions"]) + 1)

        corrected_at = corrections(store, [d for d in source.deciding if d.get("action") == "contribution corrected"])
        for name, docs in source.batches(BATCH):
            if name in HEAD_TABLES:
                continue
            join = partial(join_contribution, corrected_at=corrected_at) if name == "contributions" else JOINS[name]
            part, inserts, puts = self._part(), [], []
            fresh = plan_table(store, name, docs, join, part, puts)
            if name == "participants":
                settle_code_clashes(store, fresh, puts, part)
                if self.actor is None:  # written, they are counted from the store
                    invite_uses(fresh.values(), self.new_uses)
            if name in REMOVAL_TABLES:
                self._removals({name: docs}, {name: fresh}, puts, part, local=False)
            inserts += [(name, doc) for doc in fresh.values()]
            self._land(part, inserts, puts, len(docs))

        part, inserts, puts = self._part(), [], []
        self._removals({}, {}, puts, part, local=True)  # this laptop's own copies of the removed people's records
        plan_invites(store, source.head["invites"], self.new_uses, inserts, puts, part)
        self._land(part, inserts, puts, len(source.head["invites"]))
        report = self.report
        report.only_bookkeeping = bool(report.changes) and not self.real
        if self.actor is not None and report.changes and not report.only_bookkeeping:
            self._write([], [], self._conflict_events() + [merge_summary(report, self.actor, self.study.laptop)])
        return report

    def _removals(self, recs: dict, fresh: dict, puts: list, part: MergeReport, local: bool) -> None:
        """A withdrawal with removal, on either copy, applied to a batch (and, ``local``, to this laptop's copies)."""
        recs = {"contributions": [], "proposals": [], **recs, "consent_events": self.source.removals}
        fresh = {name: {} for name in REMOVAL_TABLES} | fresh
        RemovalPass(self.store, recs, fresh, puts, part, self.removed, local).run()

    def _land(self, part: MergeReport, inserts: list, puts: list, read: int) -> None:
        """Count a batch into the report and, when merging, write it as one durable change."""
        report = self.report
        for name, n in part.new.items():
            report.new[name] = report.new.get(name, 0) + n
        for name, n in part.updated.items():
            report.updated[name] = report.updated.get(name, 0) + n
        report.conflicts += part.conflicts
        report.code_clashes += part.code_clashes
        self.unwritten += part.conflicts
        real = bool(puts) or any(name != "audit" or doc.get("action") not in MERGE_ACTIONS for name, doc in inserts)
        self.real = self.real or real
        if self.actor is not None and (inserts or puts):
            self._write(inserts, puts, self._conflict_events() if real else [])
            if self.store.journal.size >= WRITE_BACK:
                self.store.compact(release=True)
        for table in self.store.tables.values():
            table.unload_clean(keep_newest=True)  # what was read for this batch is let go
        self.done += read
        if self.progress:
            what = "merging" if self.actor is not None else "comparing"
            self.progress(min(self.done, self.source.total), self.source.total, what)

    def _conflict_events(self) -> list[dict]:
        events = conflict_events(dataclasses.replace(self.report, conflicts=self.unwritten), self.study.laptop)
        self.unwritten = []
        return events

    def _write(self, inserts: list, puts: list, events: list[dict]) -> None:
        self.report.writes += 1
        with change(self.study) as tx:
            for name, row, doc in puts:
                tx.put(name, row, doc)
            for name, doc in inserts:
                tx.insert(name, doc)
            for doc in events:
                tx.insert("audit", doc)
