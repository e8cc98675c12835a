"""Writing a merge as one durable change, or a new study in a folder of its own, put in place whole."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from typing import Optional

from ...domain.models import (
    AuditEvent,
    to_doc,
    utcnow,
)
from ...store import DataFolder, StoreError, StudyStore
from ...store.durable import fsync_dir
from ..common import ServiceError, change
from ..opening import open_study
from .bundle import CHUNK, MERGE_ACTOR, Bundle, BundleRefused, Progress, paused_gc
from .planning import plan_existing, plan_merge
from .report import MergePlan, MergeReport, state_token


# -- writing ----------------------------------------------------------------------------------------
def conflict_events(report: MergeReport, laptop: str) -> list[dict]:
    now = utcnow()
    return [
        to_doc(
            AuditEvent(
                actor=MERGE_ACTOR,
                action="merge conflict",
                target=f"{c.table} {c.record}"[:200],
                details={"table": c.table, "record": c.record, "field": c.field, "kept": c.kept, "lost": c.lost, "rule": c.rule},
                at=now,
                laptop=laptop,
            )
        )
        for c in report.conflicts
    ]


def merge_summary(report: MergeReport, actor: str, laptop: str, created_action: str = "study created from bundle") -> dict:
    """The activity-log entry that says a bundle was merged (or a study made from one), with its counts."""
    return to_doc(
        AuditEvent(
            actor=actor or "unknown",
            action=created_action if report.creates_study else "bundle merged",
            target=report.study_id,
            details={
                "from_laptop": report.from_laptop,
                "bundle_made": report.bundle_created_at,
                "new": {k: v for k, v in report.new.items() if v},
                "updated": {k: v for k, v in report.updated.items() if v},
                "conflicts": len(report.conflicts),
            },
            at=utcnow(),
            laptop=laptop,
        )
    )


def _merge_audit(report: MergeReport, actor: str, laptop: str, created_action: str = "study created from bundle") -> list[dict]:
    return [*conflict_events(report, laptop), merge_summary(report, actor, laptop, created_action)]


def merge_bundle(
    data: DataFolder,
    bundle: Bundle,
    actor: str,
    into: Optional[str] = None,
    progress: Progress = None,
    plan: Optional[MergePlan] = None,
    created_action: str = "study created from bundle",
) -> MergeReport:
    """Merge a (checked) bundle into this data folder as ONE durable change, and say what it did.

    ``plan`` is the one whose report the person confirmed: it is used as it is when the study has
    not changed since; otherwise the plan is made again here, under the study's lock, so that the
    change written is always the join of the bundle and the study as it is now.
    """
    if data.readonly:
        raise ServiceError("The data folder is open read-only; close the other copy of citizen first.")
    if into is not None and into != bundle.study_id:
        raise BundleRefused(f"This bundle holds the study '{bundle.study_id}', not '{into}'; nothing was changed.")
    with paused_gc():
        if not data.has_study(bundle.study_id):
            return _create_from_bundle(data, bundle, actor, progress, created_action)
        return _merge_existing(data, bundle, actor, progress, plan)


def _merge_existing(data: DataFolder, bundle: Bundle, actor: str, progress: Progress, plan: Optional[MergePlan]) -> MergeReport:
    study = open_study(data, bundle.study_id)
    with study.store.lock:
        if plan is None or plan.bundle is not bundle or plan.token != state_token(study.store):
            plan = plan_existing(study, bundle, progress)
        if plan.report.nothing_to_merge:
            return plan.report
        ops_count = len(plan.inserts) + len(plan.puts)
        if progress:
            progress(0, ops_count, "writing")
        with change(study) as tx:
            for name, row, doc in plan.puts:
                tx.put(name, row, doc)
            for name, doc in plan.inserts:
                tx.insert(name, doc)
            if not plan.report.only_bookkeeping:
                for doc in _merge_audit(plan.report, actor, data.laptop_id):
                    tx.insert("audit", doc)
        if progress:
            progress(ops_count, ops_count, "written")
    return plan.report


INCOMING_PREFIX = ".incoming-"


def _create_from_bundle(
    data: DataFolder, bundle: Bundle, actor: str, progress: Progress, created_action: str = "study created from bundle"
) -> MergeReport:
    """A study this laptop does not have yet: built in a hidden folder, then renamed into place."""
    plan = plan_merge(data, bundle)
    with incoming_study(data, bundle.study_id) as store:
        ops = [(name, doc) for name, doc in plan.inserts]
        ops += [("audit", d) for d in _merge_audit(plan.report, actor, data.laptop_id, created_action)]
        with store.batch():
            for start in range(0, len(ops), CHUNK):
                store.commit(rows_for(store, ops[start : start + CHUNK]))
                if progress:
                    progress(min(start + CHUNK, len(ops)), len(ops), "writing")
    return plan.report


@contextlib.contextmanager
def incoming_study(data: DataFolder, study_id: str) -> Iterator[StudyStore]:
    """The store of a new study, built in a hidden folder and renamed into place when the block ends.

    The rename is the one moment the study appears, whole; a crash before it leaves only the
    hidden folder, which the next import clears away. An error in the block removes the folder.
    """
    studies = data.studies_folder
    final = studies / study_id
    temp = studies / f"{INCOMING_PREFIX}{study_id}"
    try:
        studies.mkdir(mode=0o700, parents=True, exist_ok=True)
        _remove_tree(temp)
        temp.mkdir(mode=0o700)
        store = StudyStore(temp)
    except OSError as exc:
        raise ServiceError(f"Cannot prepare the study folder in {studies}: {exc.strerror}.") from None
    try:
        yield store
        store.close()  # writes every segment and empties the journal
        if final.exists():
            raise ServiceError(f"A study '{study_id}' appeared in {data.path} meanwhile; nothing was changed.")
        os.rename(temp, final)
        fsync_dir(studies)
    except (StoreError, OSError) as exc:
        store.journal.close()
        _remove_tree(temp)
        message = str(exc) if isinstance(exc, StoreError) else f"Cannot write the study ({exc.strerror})."
        raise ServiceError(message + " Nothing was changed.") from None
    except BaseException:
        store.journal.close()
        _remove_tree(temp)
        raise


def rows_for(store: StudyStore, ops: list[tuple[str, dict]]) -> list[tuple[str, int, dict]]:
    out = []
    next_rows: dict[str, int] = {}
    for name, doc in ops:
        row = next_rows.get(name) or store.next_row(name)
        next_rows[name] = row + 1
        out.append((name, row, doc))
    return out


def _remove_tree(path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def clear_unfinished_imports(data: DataFolder) -> int:
    """Remove hidden folders left by an import that a crash interrupted (they were never a study)."""
    if not data.studies_folder.is_dir():
        return 0
    leftovers = [p for p in data.studies_folder.iterdir() if p.name.startswith(INCOMING_PREFIX)]
    for p in leftovers:
        _remove_tree(p)
    return len(leftovers)
