"""Planning a merge: every record of the bundle matched with this laptop's by identity, joined, and counted."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from typing import Optional

from ...domain.models import (
    ProtocolVersion,
    canonical_json,
)
from ...domain.protocol_file import roles_note
from ...store import DataFolder, StudyStore
from ..common import ServiceError, Study
from ..opening import open_study
from .bundle import BUNDLE_TABLES, MERGE_ACTIONS, Bundle, BundleRefused, Progress, as_time, key_of, paused_gc
from .joins import JOINS, join_contribution, reassigned_code
from .removal import plan_removals
from .report import Conflict, MergePlan, MergeReport, state_token

# -- planning ---------------------------------------------------------------------------------------
STUDY_FIXED = ("id", "title", "shared_aim", "summary", "shared_aim_text", "team", "languages")


def _protocol_content(doc: dict) -> dict:
    # Read through the model, so a copy written before consent items had roles (or before studies
    # carried page words) equals one with them.
    return ProtocolVersion.model_validate(doc).model_dump(mode="json", exclude={"effective_at"})


def plan_merge(data: DataFolder, bundle: Bundle, into: Optional[str] = None, progress: Progress = None) -> MergePlan:
    """What merging this bundle would do, computed without writing anything."""
    if into is not None and into != bundle.study_id:
        raise BundleRefused(f"This bundle holds the study '{bundle.study_id}', not '{into}'; nothing was changed.")
    if not data.has_study(bundle.study_id):
        report = MergeReport(
            bundle.study_id,
            bundle.laptop,
            bundle.created_at,
            creates_study=True,
            new={t: bundle.count(t) for t in BUNDLE_TABLES if t != "study"},
        )
        plan = MergePlan(report, [(t, d) for t in BUNDLE_TABLES for d in bundle.records[t]], [])
    else:
        study = open_study(data, bundle.study_id)
        with study.store.lock, paused_gc():  # no change lands half-way through the comparison
            plan = plan_existing(study, bundle, progress)
    plan.report.notices = role_notices([d for t, d in plan.inserts if t == "protocol_versions"])
    return plan


def role_notices(versions: list[dict]) -> list[str]:
    """A line per protocol version from a citizen before consent roles, saying which roles it was read with."""
    out = []
    for doc in sorted(versions, key=lambda d: d.get("number", 0)):
        consent = doc.get("consent")
        items = consent.get("items") if isinstance(consent, dict) else None
        out += [f"Protocol version {doc.get('number')}: {line}" for line in roles_note(items or [])]
    return out


def check_same_study(study: Study, bundle_study: str, local_study: Optional[dict], incoming_study: dict) -> dict:
    if local_study is None:
        raise ServiceError(f"The study '{study.id}' on this laptop has no study record; run `citizen check`.")
    fixed_differs = [f for f in STUDY_FIXED if local_study.get(f) != incoming_study.get(f)]
    if fixed_differs:
        raise BundleRefused(
            f"The bundle's study '{bundle_study}' is a different study with the same id "
            f"(its {', '.join(fixed_differs)} differ); nothing was changed."
        )
    return local_study


def plan_protocol(store: StudyStore, incoming: list[dict], report: MergeReport, inserts: list, puts: list) -> None:
    """Protocol versions must be the same on both sides; new ones are added, the earliest effective time kept."""
    pv_table = store.table("protocol_versions")
    for doc in incoming:
        row = pv_table.find_row(doc["number"])
        if row is None:
            continue
        local = pv_table.get(row)
        assert local is not None
        if _protocol_content(local) != _protocol_content(doc):
            raise BundleRefused(
                f"Protocol version {doc['number']} in the bundle is not the same as version "
                f"{doc['number']} on this laptop; these copies cannot be merged. Nothing was changed."
            )
        if as_time(doc["effective_at"]) < as_time(local["effective_at"]):
            puts.append(("protocol_versions", row, dict(local, effective_at=doc["effective_at"])))
            report.updated["protocol_versions"] = report.updated.get("protocol_versions", 0) + 1
    local_count = pv_table.count_rows()
    for doc in sorted(incoming, key=lambda d: d["number"]):
        if doc["number"] > local_count:
            inserts.append(("protocol_versions", doc))
            report.new["protocol_versions"] = report.new.get("protocol_versions", 0) + 1


def plan_table(
    store: StudyStore,
    name: str,
    incoming: list[dict],
    join: Callable[[dict, dict], tuple[dict, list]],
    report: MergeReport,
    puts: list,
) -> dict[str, dict]:
    """Join each incoming record with this laptop's copy; returns the records this laptop does not have yet."""
    table = store.table(name)
    key = key_of(name)
    fresh: dict[str, dict] = {}
    changed = 0
    for doc in incoming:
        ident = doc[key]
        row = table.find_row(ident)
        if row is None:
            fresh[ident] = join(fresh[ident], doc)[0] if ident in fresh else doc
            continue
        local = table.get(row)
        assert local is not None
        joined, conflicts = join(local, doc)
        report.conflicts += conflicts
        if joined != local:
            puts.append((name, row, joined))
            changed += 1
    if fresh:
        report.new[name] = len(fresh)
    if changed:
        report.updated[name] = changed
    return fresh


def joined_study(
    store: StudyStore,
    study: Study,
    local_study: dict,
    incoming_study: dict,
    new_audit: dict[str, dict],
    incoming_audit: list[dict],
    report: MergeReport,
) -> dict:
    """The study record joined: the first creation kept; when the copies' status differs, the latest change decides."""
    joined_study = dict(local_study)
    created = min((local_study, incoming_study), key=lambda d: (as_time(d["created_at"]), d.get("source", "")))
    joined_study["created_at"], joined_study["source"] = created["created_at"], created.get("source", "")
    if local_study["status"] == incoming_study["status"]:
        return joined_study
    audit_table = store.table("audit")
    changes = [d for d in audit_table.where("action", "study status changed")]
    changes += [d for d in new_audit.values() if d.get("action") == "study status changed"]
    if changes:
        latest = max(changes, key=lambda d: (as_time(d["at"]), d.get("laptop", ""), d["id"]))
        status = latest.get("details", {}).get("to", local_study["status"])
    else:
        status = max(local_study["status"], incoming_study["status"])
    joined_study["status"] = status
    local_ids = {d["id"] for d in audit_table.where("action", "study status changed")}
    incoming_ids = {d["id"] for d in incoming_audit if d.get("action") == "study status changed"}
    if (local_ids - incoming_ids) and (incoming_ids - local_ids):  # changed on both laptops
        lost = incoming_study["status"] if status == local_study["status"] else local_study["status"]
        report.conflicts.append(
            Conflict("study", study.id, "status", status, lost, "changed on two laptops; the latest change decides")
        )
    return joined_study


JOINED_TABLES = ("participants", "contacts", "consent_events", "contributions", "proposals", "updates", "audit")


def plan_existing(study: Study, bundle: Bundle, progress: Progress = None) -> MergePlan:
    """What merging the bundle into this laptop's copy of its study would write (nothing is written)."""
    store = study.store
    recs = bundle.records
    report = MergeReport(bundle.study_id, bundle.laptop, bundle.created_at, creates_study=False)
    inserts: list[tuple[str, dict]] = []
    puts: list[tuple[str, int, dict]] = []
    total = sum(len(v) for v in recs.values())
    done = 0

    def tick(n: int, what: str) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total, what)

    # The study record and the protocol: they must be the same study and the same versions.
    incoming_study = recs["study"][0]
    local_study = check_same_study(study, bundle.study_id, store.table("study").get(1), incoming_study)
    plan_protocol(store, recs["protocol_versions"], report, inserts, puts)
    tick(len(recs["protocol_versions"]) + 1, "protocol")

    new_docs: dict[str, dict[str, dict]] = {}
    corrected_at = corrections(store, recs["audit"])
    for name in JOINED_TABLES:
        join = partial(join_contribution, corrected_at=corrected_at) if name == "contributions" else JOINS[name]
        new_docs[name] = plan_table(store, name, recs[name], join, report, puts)
        tick(len(recs[name]), name)

    settle_code_clashes(store, new_docs["participants"], puts, report)
    plan_removals(store, recs, new_docs, puts, report)
    plan_invites(store, recs["invites"], invite_uses(new_docs["participants"].values()), inserts, puts, report)

    joined = joined_study(store, study, local_study, incoming_study, new_docs["audit"], recs["audit"], report)
    if joined != local_study:
        puts.append(("study", 1, joined))
        report.updated["study"] = 1

    for name in JOINED_TABLES:
        inserts += [(name, d) for d in new_docs[name].values()]
    # News that are only the bookkeeping of other merges are copied, without a merge entry of our
    # own: so two laptops that swap bundles back and forth come to rest.
    audit_only = all(d.get("action") in MERGE_ACTIONS for d in new_docs["audit"].values())
    report.only_bookkeeping = bool(report.changes) and audit_only and report.changes == report.new.get("audit", 0)
    return MergePlan(report, inserts, puts, bundle, state_token(store))


def corrections(store: StudyStore, incoming_audit: list[dict]) -> dict[str, datetime]:
    """When each contribution was last corrected, from both copies of the activity log."""
    out: dict[str, datetime] = {}
    events = store.table("audit").where("action", "contribution corrected")
    events += [d for d in incoming_audit if d.get("action") == "contribution corrected"]
    for doc in events:
        at = as_time(doc["at"])
        if doc["target"] not in out or at > out[doc["target"]]:
            out[doc["target"]] = at
    return out


def settle_code_clashes(store: StudyStore, fresh: dict[str, dict], puts: list, report: MergeReport) -> None:
    """Two different participants with one code: the first enrolled keeps it, the other gets a new one."""
    table = store.table("participants")
    by_code: dict[str, list[dict]] = {}
    for doc in fresh.values():
        by_code.setdefault(doc["code"], []).append(doc)
    for code, docs in by_code.items():
        group: dict[str, tuple[Optional[int], dict]] = {d["id"]: (None, d) for d in docs}
        for local_row in table.rows_where("code", code):
            local = table.get(local_row)
            if local is not None:
                group[local["id"]] = (local_row, local)
        if len(group) < 2:
            continue
        ordered = sorted(group.values(), key=lambda rd: (as_time(rd[1]["enrolled_at"]), rd[1]["id"]))
        for row, doc in ordered[1:]:
            new_code = reassigned_code(doc["id"])
            changed = dict(doc, code=new_code)
            if row is None:
                fresh[doc["id"]] = changed
            else:
                puts.append(("participants", row, changed))
                report.updated["participants"] = report.updated.get("participants", 0) + 1
            report.code_clashes.append(
                f"{code} was given on two laptops; participant {doc['id'][:8]} (enrolled later) now has {new_code}."
            )
            report.conflicts.append(
                Conflict(
                    "participants", doc["id"], "code", new_code, code, "two people had one code; the first enrolled keeps it"
                )
            )


def invite_uses(participants: Iterable[dict], into: Optional[dict[str, int]] = None) -> dict[str, int]:
    """How many of these (new) participants enrolled through each invite, added to ``into``."""
    uses = {} if into is None else into
    for p in participants:
        if p.get("invite_id"):
            uses[p["invite_id"]] = uses.get(p["invite_id"], 0) + 1
    return uses


def plan_invites(
    store: StudyStore, incoming: list[dict], new_uses: dict[str, int], inserts: list, puts: list, report: MergeReport
) -> None:
    """Invites joined: closed once closed anywhere, used as often as people enrolled through them
    (``new_uses``: enrolments planned, not stored yet)."""
    table = store.table("invites")
    participants = store.table("participants")
    seen: set[str] = set()
    for doc in incoming:
        seen.add(doc["id"])
        row = table.find_row(doc["id"])
        enrolled = len(participants.rows_where("invite_id", doc["id"])) + new_uses.get(doc["id"], 0)
        if row is None:
            inserts.append(("invites", dict(doc, uses=max(doc["uses"], enrolled))))
            report.new["invites"] = report.new.get("invites", 0) + 1
            continue
        local = table.get(row)
        assert local is not None
        joined = dict(
            max((local, doc), key=canonical_json),
            uses=max(local["uses"], doc["uses"], enrolled),
            closed=bool(local["closed"] or doc["closed"]),
            sealed=max(local.get("sealed", ""), doc.get("sealed", "")),  # only the laptop that made it can open it
        )
        if joined != local:
            puts.append(("invites", row, joined))
            report.updated["invites"] = report.updated.get("invites", 0) + 1
    for invite_id, count in new_uses.items():
        if invite_id in seen:
            continue
        row = table.find_row(invite_id)
        local = table.get(row) if row is not None else None
        if local is not None:
            enrolled = len(participants.rows_where("invite_id", invite_id)) + count
            if enrolled > local["uses"]:
                puts.append(("invites", row, dict(local, uses=enrolled)))
                report.updated["invites"] = report.updated.get("invites", 0) + 1
