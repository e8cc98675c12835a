"""Joining records that arrive one by one (a sync with a hub) by the rules of bundle merges.

``citizen.services.merge`` holds the rules; this module lets a caller that receives a study's
records in batches join each batch with the study and write it as one durable change.
"""

from __future__ import annotations

from typing import Any

from .common import ServiceError, Study, audit, change
from .merge import BUNDLE_TABLES, Bundle, MergePlan, conflict_events, plan_existing


def join_records(study: Study, records: dict[str, list[dict[str, Any]]]) -> MergePlan:
    """What joining another copy's records (any tables, valid records, one copy of each) would do.

    The caller holds the study's lock from this plan to ``write_joined``. Without a study record
    the study's own stands in; new protocol versions must follow the ones this laptop has.
    """
    recs = {name: list(records.get(name, ())) for name in BUNDLE_TABLES}
    if not recs["study"]:
        local = study.store.table("study").get(1)
        if local is None:
            raise ServiceError(f"The study '{study.id}' on this laptop has no study record; run `citizen check`.")
        recs["study"] = [local]
    return plan_existing(study, Bundle(study.id, "", "", recs))


def write_joined(study: Study, plan: MergePlan, laptop: str) -> None:
    """Write a join as one durable change, each conflict's losing value in the activity log."""
    if plan.report.nothing_to_merge:
        return
    with change(study) as tx:
        for name, row, doc in plan.puts:
            tx.put(name, row, doc)
        for name, doc in plan.inserts:
            tx.insert(name, doc)
        for doc in conflict_events(plan.report, laptop):
            tx.insert("audit", doc)


def record_sync(study: Study, actor: str, action: str, details: dict[str, Any], laptop: str) -> None:
    """This laptop's own note of a sync (kept on this laptop: it is not a record of the study)."""
    with change(study) as tx:
        audit(tx, actor, action, study.id, details, laptop=laptop)
