"""Several laptops, one study: merging another laptop's copy of a study into this one.

A bundle (``citizen.export.bundle`` reads and writes the file) carries every record of a study. The
merge is a join: idempotent (the same bundle twice changes nothing), commutative and associative
(any order of laptops gives the same study), and it loses nothing:

- records are identified by their ``id`` (protocol versions by number, contacts by participant);
  a record only one side has is added;
- append-only logs (consent events, audit events) are unioned;
- lists that grow on several laptops (review notes, feedback, proposal notes) are unioned and
  sorted by (time, content); a contribution's review state follows its latest review note (a
  correction, which resets the review, counts first: the side with more corrections decides);
- a withdrawal with removal wins over everything (its tombstone stays a tombstone), an invite once
  closed stays closed and its use count is the number of people who enrolled through it;
- a proposal decided on two laptops keeps the first decision (time, then content); a contribution
  corrected on two laptops keeps the version with more corrections (then a fixed order);
- a value that loses is written to the audit log ("merge conflict", with the kept and the lost value).

Row numbers are local to each laptop: records are matched by identity, new ones appended, changed
ones replaced in place. ``canonical_form`` is the order-free content used to compare two laptops.
Contacts travel in the bundle: the coordinator's laptop needs them to reach people who asked to be
contacted; they stay out of every default export as before. Drafts stay on their laptop.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from typing import Any, Optional

from pydantic import ValidationError

from ..domain.models import (
    UNLINKED,
    AuditEvent,
    ConsentEvent,
    Contact,
    Contribution,
    Invite,
    Participant,
    Proposal,
    ProtocolVersion,
    Update,
    fingerprinted,
    to_doc,
    utcnow,
)
from ..domain.models import Study as StudyRecord
from ..domain.protocol_file import roles_note
from ..store import DataFolder, StoreError, StudyStore
from ..store.durable import fsync_dir
from ..store.store import TABLES
from .common import CODE_ALPHABET, Refused, ServiceError, Study, change, open_study

BUNDLE_TABLES = ("study", "protocol_versions", "invites", "participants", "contacts", "consent_events",
                 "contributions", "proposals", "updates", "audit")
MODELS: dict[str, Any] = {
    "study": StudyRecord, "protocol_versions": ProtocolVersion, "invites": Invite, "participants": Participant,
    "contacts": Contact, "consent_events": ConsentEvent, "contributions": Contribution, "proposals": Proposal,
    "updates": Update, "audit": AuditEvent,
}
# Audit events written by merges themselves: local history of how copies came together, left out
# of the canonical form (they differ with the order of merges, the study content does not).
# Syncs with a hub (citizen.sync) keep their own bookkeeping the same way.
MERGE_ACTIONS = frozenset({"bundle merged", "merge conflict", "study created from bundle",
                           "study synced", "study cloned from hub"})
MERGE_ACTOR = "merge"
CHUNK = 5000  # documents per journal line when a new study is built in its own folder

Progress = Optional[Callable[[int, int, str], None]]


class BundleRefused(Refused):
    """A bundle that cannot be merged here; nothing was changed."""


def _key_text(key: str, doc: dict) -> str:
    return str(doc.get(key))


def key_of(table: str) -> str:
    return TABLES[table][1]


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _time(value: Any) -> datetime:
    if not value:
        return datetime.min.replace(tzinfo=timezone.utc)
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Hold off the cycle collector while a bundle's many records are built (it would rescan them
    all again and again, doubling the time); the records hold no cycles, plain counting frees them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# -- the bundle's content, whatever file it came from ---------------------------------------------
@dataclass
class Bundle:
    study_id: str
    laptop: str
    created_at: str
    records: dict[str, list[dict[str, Any]]]

    def count(self, table: str) -> int:
        return len(self.records.get(table, ()))


def bundle_records(study: Study) -> dict[str, Iterator[dict[str, Any]]]:
    """Every record a bundle carries, table by table, as the store keeps them (links as fingerprints only)."""
    records: dict[str, Iterator[dict[str, Any]]] = {
        name: (doc for _, doc in study.store.table(name).stream()) for name in BUNDLE_TABLES}
    records["participants"] = (fingerprinted(doc) for _, doc in study.store.table("participants").stream())
    return records


def canonical_form(study: Study) -> dict[str, list[dict[str, Any]]]:
    """The study's content without row numbers: records sorted by identity, merge bookkeeping left out.

    Two laptops hold the same study exactly when their canonical forms are equal.
    """
    form: dict[str, list[dict[str, Any]]] = {}
    for name in BUNDLE_TABLES:
        docs = [d for d in study.store.table(name)
                if not (name == "audit" and d.get("action") in MERGE_ACTIONS)]
        form[name] = sorted(docs, key=partial(_key_text, key_of(name)))
    return form


def canonical_digest(study: Study) -> str:
    return hashlib.sha256(canonical(canonical_form(study)).encode("utf-8")).hexdigest()


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
    text = value if isinstance(value, str) else canonical(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")


TABLE_WORDS = {
    "protocol_versions": "protocol versions", "invites": "invites", "participants": "participants",
    "contacts": "contact details", "consent_events": "consent events", "contributions": "contributions",
    "proposals": "proposals", "updates": "updates", "audit": "activity log entries", "study": "study record",
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

    @property
    def changes(self) -> int:
        return sum(self.new.values()) + sum(self.updated.values())

    @property
    def nothing_to_merge(self) -> bool:
        return self.changes == 0

    def lines(self, limit: int = 20) -> list[str]:
        """The report in plain words, for the command line and the terminal app."""
        head = (f"Bundle of study '{self.study_id}' from laptop {self.from_laptop or '?'}, "
                f"made {self.bundle_created_at}.")
        out = [head]
        if self.creates_study:
            out.append(f"The study '{self.study_id}' is not on this laptop yet: it will be created from the bundle.")
        out += self.notices
        if self.nothing_to_merge:
            out.append("Nothing new: this laptop already holds everything in the bundle.")
            return out
        if self.only_bookkeeping:
            out.append(f"Only {self.changes} activity log entries of other merges are new; they will be copied.")
            return out
        news = [f"{n} {TABLE_WORDS[t]}" for t, n in self.new.items() if n]
        if news:
            out.append("New: " + ", ".join(news) + ".")
        ups = [f"{n} {TABLE_WORDS[t]}" for t, n in self.updated.items() if n]
        if ups:
            out.append("Updated: " + ", ".join(ups) + ".")
        if self.conflicts:
            out.append(f"Conflicts ({len(self.conflicts)}), each resolved the same way on every laptop; "
                       "the value that loses is kept in the activity log:")
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


def _state_token(store: StudyStore) -> tuple[int, int, int]:
    """Changes with every commit (the journal grows) and every compaction (it is counted)."""
    return (store.compactions, store.journal.entries, store.journal.size)


# -- reading and checking the bundle's records -----------------------------------------------------
def check_bundle(bundle: Bundle) -> Bundle:
    """Validate every record through its model; a record that is not ours refuses the whole bundle."""
    clean: dict[str, list[dict[str, Any]]] = {}
    for name in BUNDLE_TABLES:
        model = MODELS[name]
        docs = []
        for i, doc in enumerate(bundle.records.get(name, [])):
            try:
                model.model_validate(doc)
                docs.append(doc)  # kept as written: the copy on every laptop stays byte for byte the same
            except (ValidationError, TypeError, ValueError) as exc:
                raise BundleRefused(f"The bundle holds a record that is not valid ({name} {i + 1}: "
                                    f"{str(exc).splitlines()[0]}); nothing was changed.") from None
        clean[name] = docs
    unknown = set(bundle.records) - set(BUNDLE_TABLES)
    if unknown:
        raise BundleRefused(f"The bundle holds tables this citizen does not know ({', '.join(sorted(unknown))}); "
                            "update citizen. Nothing was changed.")
    if len(clean["study"]) != 1 or clean["study"][0]["id"] != bundle.study_id:
        raise BundleRefused("The bundle's study record is missing or does not match its header; nothing was changed.")
    numbers = sorted(d["number"] for d in clean["protocol_versions"])
    if numbers != list(range(1, len(numbers) + 1)):
        raise BundleRefused("The bundle's protocol versions are not numbered 1, 2, 3 ...; nothing was changed.")
    return Bundle(bundle.study_id, bundle.laptop, bundle.created_at, clean)


# -- joins of two copies of one record --------------------------------------------------------------
def _item_key(item: dict) -> Any:
    try:
        return tuple(sorted(item.items()))  # notes hold plain strings: a cheap, exact identity
    except TypeError:
        return canonical(item)


def _union_sorted(a: list[dict], b: list[dict], time_key: str = "at") -> list[dict]:
    """Both lists joined, each item once, in (time, content) order."""
    if a == b or not b:
        return a
    if not a:
        return b
    seen: dict[Any, dict] = {}
    for item in [*a, *b]:
        seen.setdefault(_item_key(item), item)
    return [seen[k] for k in sorted(seen, key=lambda k: (_time(seen[k].get(time_key)), canonical(seen[k])))]


def _immutable(table: str) -> Callable[[dict, dict], tuple[dict, list[Conflict]]]:
    def join(a: dict, b: dict) -> tuple[dict, list[Conflict]]:
        if a == b:
            return a, []
        ka, kb = canonical(a), canonical(b)
        win, lose = (a, b) if ka >= kb else (b, a)
        return win, [Conflict(table, str(a.get(key_of(table))), "record", win, lose, "copies differ; a fixed order decides")]
    return join


# A participant received from a hub comes without their private link token (it never leaves the
# laptop where they enrolled); the laptop gives them one nobody holds, marked so a real one wins.


def _linked(a: dict, b: dict) -> tuple[dict, dict]:
    ta, tb = a.get("token", ""), b.get("token", "")
    if ta == tb:
        return a, b
    if ta.startswith(UNLINKED) and tb.startswith(UNLINKED):
        return dict(a, token=max(ta, tb)), dict(b, token=max(ta, tb))
    if ta.startswith(UNLINKED):
        return dict(a, token=tb), b
    if tb.startswith(UNLINKED):
        return a, dict(b, token=ta)
    return a, b


def _join_participant(a: dict, b: dict) -> tuple[dict, list[Conflict]]:
    if a == b:
        return a, []
    a, b = _linked(a, b)
    # A code given anew to settle a clash (it starts with Z, which no laptop id has) wins over the old one.
    ka = (a["code"].startswith(REASSIGNED), canonical(a))
    kb = (b["code"].startswith(REASSIGNED), canonical(b))
    win, lose = (a, b) if ka >= kb else (b, a)
    if {k: v for k, v in win.items() if k != "code"} == {k: v for k, v in lose.items() if k != "code"}:
        return win, []
    return win, [Conflict("participants", a["id"], "record", win, lose, "copies differ; a fixed order decides")]


def _blank_contact(doc: dict) -> bool:
    return not (doc.get("name") or doc.get("phone") or doc.get("email"))


def _contact_rank(doc: dict) -> tuple:
    # A withdrawal deletes the details without a time: that always wins. Otherwise the latest change
    # the participant made (given, changed, removed) wins; a record without a time is the oldest.
    blank = _blank_contact(doc)
    return (blank and not doc.get("changed_at"), _time(doc.get("changed_at")), blank, canonical(doc))


def _join_contact(a: dict, b: dict) -> tuple[dict, list[Conflict]]:
    if a == b:
        return a, []
    win, lose = (a, b) if _contact_rank(a) >= _contact_rank(b) else (b, a)
    if _contact_rank(win)[:3] != _contact_rank(lose)[:3]:
        return win, []
    return win, [Conflict("contacts", a["participant_id"], "contact", "(kept)", "(other details)",
                          "contact details differ; a fixed order decides")]


def _join_contribution(a: dict, b: dict, corrected_at: Optional[dict[str, datetime]] = None
                       ) -> tuple[dict, list[Conflict]]:
    if a == b:
        return a, []
    cid = a["id"]
    ra, rb = a.get("removed_at"), b.get("removed_at")
    if ra or rb:
        # The participant asked for removal: the tombstone stays, whatever the other copy holds.
        if ra and rb:
            return min((a, b), key=lambda d: (_time(d["removed_at"]), canonical(d))), []
        return (a if ra else b), []
    conflicts: list[Conflict] = []
    if a["values"] == b["values"] and a["history"] == b["history"]:
        win, lose = a, b
    else:
        ka = (len(a["history"]), canonical(a["values"]))
        kb = (len(b["history"]), canonical(b["values"]))
        win, lose = (a, b) if ka >= kb else (b, a)
    if a["values"] != b["values"] and not any(h["values"] == lose["values"] for h in win["history"]):
        conflicts.append(Conflict("contributions", cid, "values", win["values"], lose["values"],
                                  "corrected on two laptops; the one with more corrections, then a fixed order, stays"))
    reviews = _union_sorted(a["reviews"], b["reviews"])
    feedback = _union_sorted(a["feedback"], b["feedback"])
    sa, sb = a["review_state"], b["review_state"]
    # The state follows the latest review note made after the latest correction (a correction,
    # found in the joined activity log, sends the contribution back to "received").
    last_correction = (corrected_at or {}).get(cid)
    after = [r for r in reviews if last_correction is None or _time(r["at"]) > last_correction]
    state = after[-1]["state"] if after else ("received" if last_correction or not reviews else reviews[-1]["state"])
    if sa != sb:
        ca = {canonical(r) for r in a["reviews"]}
        cb = {canonical(r) for r in b["reviews"]}
        if (ca - cb) and (cb - ca):  # both laptops reviewed it: a real conflict
            conflicts.append(Conflict("contributions", cid, "review_state", state, sb if state == sa else sa,
                                      "reviewed on two laptops; the latest review note decides"))
    doc = dict(win, reviews=reviews, feedback=feedback, review_state=state)
    return doc, conflicts


def _join_proposal(a: dict, b: dict) -> tuple[dict, list[Conflict]]:
    if a == b:
        return a, []
    conflicts: list[Conflict] = []
    notes = _union_sorted(a["notes"], b["notes"])
    decided = [d for d in (a, b) if d["status"] != "open"]
    base = max((a, b), key=canonical)
    decision_fields = ("status", "decision_reason", "decided_by", "decided_at")
    if decided:
        first = min(decided, key=lambda d: (_time(d["decided_at"]), canonical([d[f] for f in decision_fields])))
        decision = {f: first[f] for f in decision_fields}
        if len(decided) == 2 and a["status"] != "open" and [a[f] for f in decision_fields] != [b[f] for f in decision_fields]:
            other = b if first is a else a
            conflicts.append(Conflict("proposals", a["id"], "decision", decision, {f: other[f] for f in decision_fields},
                                      "decided on two laptops; the first decision stands"))
    else:
        decision = {f: base[f] for f in decision_fields}
    versions = [v for v in (a.get("protocol_version"), b.get("protocol_version")) if v is not None]
    doc = dict(base, notes=notes, protocol_version=max(versions) if versions else None, **decision)
    return doc, conflicts


JOINS: dict[str, Callable[[dict, dict], tuple[dict, list[Conflict]]]] = {
    "participants": _join_participant,
    "contacts": _join_contact,
    "contributions": _join_contribution,
    "proposals": _join_proposal,
    "consent_events": _immutable("consent_events"),
    "updates": _immutable("updates"),
    "audit": _immutable("audit"),
}

REASSIGNED = "Z"  # first letter of a code given anew after a clash: never the first letter of a laptop id


def reassigned_code(participant_id: str) -> str:
    """The code a participant gets when their code clashed: a pure function of their id."""
    digest = hashlib.sha256(participant_id.encode()).digest()
    chars = [CODE_ALPHABET[b % len(CODE_ALPHABET)] for b in digest[:5]]
    return f"{REASSIGNED}{chars[0]}-{''.join(chars[1:])}"


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
        report = MergeReport(bundle.study_id, bundle.laptop, bundle.created_at, creates_study=True,
                             new={t: bundle.count(t) for t in BUNDLE_TABLES if t != "study"})
        plan = MergePlan(report, [(t, d) for t in BUNDLE_TABLES for d in bundle.records[t]], [])
    else:
        study = open_study(data, bundle.study_id)
        with study.store.lock, paused_gc():  # no change lands half-way through the comparison
            plan = _plan_existing(study, bundle, progress)
    plan.report.notices = _role_notices([d for t, d in plan.inserts if t == "protocol_versions"])
    return plan


def _role_notices(versions: list[dict]) -> list[str]:
    """A line per protocol version from a citizen before consent roles, saying which roles it was read with."""
    out = []
    for doc in sorted(versions, key=lambda d: d.get("number", 0)):
        consent = doc.get("consent")
        items = consent.get("items") if isinstance(consent, dict) else None
        out += [f"Protocol version {doc.get('number')}: {line}" for line in roles_note(items or [])]
    return out


def _plan_existing(study: Study, bundle: Bundle, progress: Progress = None) -> MergePlan:
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
    local_study = store.table("study").get(1)
    incoming_study = recs["study"][0]
    if local_study is None:
        raise ServiceError(f"The study '{study.id}' on this laptop has no study record; run `citizen check`.")
    fixed_differs = [f for f in STUDY_FIXED if local_study.get(f) != incoming_study.get(f)]
    if fixed_differs:
        raise BundleRefused(f"The bundle's study '{bundle.study_id}' is a different study with the same id "
                            f"(its {', '.join(fixed_differs)} differ); nothing was changed.")
    pv_table = store.table("protocol_versions")
    for doc in recs["protocol_versions"]:
        row = pv_table.find_row(doc["number"])
        if row is None:
            continue
        local = pv_table.get(row)
        assert local is not None
        if _protocol_content(local) != _protocol_content(doc):
            raise BundleRefused(f"Protocol version {doc['number']} in the bundle is not the same as version "
                                f"{doc['number']} on this laptop; these copies cannot be merged. Nothing was changed.")
        if _time(doc["effective_at"]) < _time(local["effective_at"]):
            puts.append(("protocol_versions", row, dict(local, effective_at=doc["effective_at"])))
            report.updated["protocol_versions"] = report.updated.get("protocol_versions", 0) + 1
    local_count = pv_table.count_rows()
    for doc in sorted(recs["protocol_versions"], key=lambda d: d["number"]):
        if doc["number"] > local_count:
            inserts.append(("protocol_versions", doc))
            report.new["protocol_versions"] = report.new.get("protocol_versions", 0) + 1
    tick(len(recs["protocol_versions"]) + 1, "protocol")

    new_docs: dict[str, dict[str, dict]] = {}

    corrected_at = _corrections(store, recs["audit"])
    for name in ("participants", "contacts", "consent_events", "contributions", "proposals", "updates", "audit"):
        table = store.table(name)
        key = key_of(name)
        join = JOINS[name]
        if name == "contributions":
            join = partial(_join_contribution, corrected_at=corrected_at)
        fresh: dict[str, dict] = {}
        changed = 0
        for doc in recs[name]:
            ident = doc[key]
            row = table.find_row(ident)
            if row is None:
                if ident in fresh:
                    fresh[ident], _ = join(fresh[ident], doc)
                else:
                    fresh[ident] = doc
                continue
            local = table.get(row)
            assert local is not None
            joined, conflicts = join(local, doc)
            report.conflicts += conflicts
            if joined != local:
                puts.append((name, row, joined))
                changed += 1
        new_docs[name] = fresh
        if fresh:
            report.new[name] = len(fresh)
        if changed:
            report.updated[name] = changed
        tick(len(recs[name]), name)

    _settle_code_clashes(store, new_docs["participants"], puts, report)
    _plan_invites(store, recs["invites"], new_docs["participants"], inserts, puts, report)

    # The study's status: when the copies differ, the latest status change in the joined log decides.
    joined_study = dict(local_study)
    created = min((local_study, incoming_study), key=lambda d: (_time(d["created_at"]), d.get("source", "")))
    joined_study["created_at"], joined_study["source"] = created["created_at"], created.get("source", "")
    if local_study["status"] != incoming_study["status"]:
        audit_table = store.table("audit")
        changes = [d for d in audit_table.where("action", "study status changed")]
        changes += [d for d in new_docs["audit"].values() if d.get("action") == "study status changed"]
        if changes:
            latest = max(changes, key=lambda d: (_time(d["at"]), d.get("laptop", ""), d["id"]))
            status = latest.get("details", {}).get("to", local_study["status"])
        else:
            status = max(local_study["status"], incoming_study["status"])
        joined_study["status"] = status
        local_ids = {d["id"] for d in audit_table.where("action", "study status changed")}
        incoming_ids = {d["id"] for d in recs["audit"] if d.get("action") == "study status changed"}
        if (local_ids - incoming_ids) and (incoming_ids - local_ids):  # changed on both laptops
            lost = incoming_study["status"] if status == local_study["status"] else local_study["status"]
            report.conflicts.append(Conflict("study", study.id, "status", status, lost,
                                             "changed on two laptops; the latest change decides"))
    if joined_study != local_study:
        puts.append(("study", 1, joined_study))
        report.updated["study"] = 1

    for name in ("participants", "contacts", "consent_events", "contributions", "proposals", "updates", "audit"):
        inserts += [(name, d) for d in new_docs[name].values()]
    # News that are only the bookkeeping of other merges are copied, without a merge entry of our
    # own: so two laptops that swap bundles back and forth come to rest.
    audit_only = all(d.get("action") in MERGE_ACTIONS for d in new_docs["audit"].values())
    report.only_bookkeeping = bool(report.changes) and audit_only and report.changes == report.new.get("audit", 0)
    return MergePlan(report, inserts, puts, bundle, _state_token(store))


def _corrections(store: StudyStore, incoming_audit: list[dict]) -> dict[str, datetime]:
    """When each contribution was last corrected, from both copies of the activity log."""
    out: dict[str, datetime] = {}
    events = store.table("audit").where("action", "contribution corrected")
    events += [d for d in incoming_audit if d.get("action") == "contribution corrected"]
    for doc in events:
        at = _time(doc["at"])
        if doc["target"] not in out or at > out[doc["target"]]:
            out[doc["target"]] = at
    return out


def _settle_code_clashes(store: StudyStore, fresh: dict[str, dict], puts: list, report: MergeReport) -> None:
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
        ordered = sorted(group.values(), key=lambda rd: (_time(rd[1]["enrolled_at"]), rd[1]["id"]))
        for row, doc in ordered[1:]:
            new_code = reassigned_code(doc["id"])
            changed = dict(doc, code=new_code)
            if row is None:
                fresh[doc["id"]] = changed
            else:
                puts.append(("participants", row, changed))
                report.updated["participants"] = report.updated.get("participants", 0) + 1
            report.code_clashes.append(
                f"{code} was given on two laptops; participant {doc['id'][:8]} (enrolled later) now has {new_code}.")
            report.conflicts.append(Conflict("participants", doc["id"], "code", new_code, code,
                                             "two people had one code; the first enrolled keeps it"))


def _plan_invites(store: StudyStore, incoming: list[dict], fresh_participants: dict[str, dict],
                  inserts: list, puts: list, report: MergeReport) -> None:
    table = store.table("invites")
    participants = store.table("participants")
    new_uses: dict[str, int] = {}
    for p in fresh_participants.values():
        if p.get("invite_id"):
            new_uses[p["invite_id"]] = new_uses.get(p["invite_id"], 0) + 1
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
        joined = dict(max((local, doc), key=canonical), uses=max(local["uses"], doc["uses"], enrolled),
                      closed=bool(local["closed"] or doc["closed"]))
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


# -- writing ----------------------------------------------------------------------------------------
def conflict_events(report: MergeReport, laptop: str) -> list[dict]:
    now = utcnow()
    return [to_doc(AuditEvent(actor=MERGE_ACTOR, action="merge conflict", target=f"{c.table} {c.record}"[:200],
                              details={"table": c.table, "record": c.record, "field": c.field,
                                       "kept": c.kept, "lost": c.lost, "rule": c.rule},
                              at=now, laptop=laptop))
            for c in report.conflicts]


def _merge_audit(report: MergeReport, actor: str, laptop: str, created_action: str = "study created from bundle") -> list[dict]:
    now = utcnow()
    events = conflict_events(report, laptop)
    action = created_action if report.creates_study else "bundle merged"
    events.append(to_doc(AuditEvent(actor=actor or "unknown", action=action, target=report.study_id,
                                    details={"from_laptop": report.from_laptop, "bundle_made": report.bundle_created_at,
                                             "new": {k: v for k, v in report.new.items() if v},
                                             "updated": {k: v for k, v in report.updated.items() if v},
                                             "conflicts": len(report.conflicts)},
                                    at=now, laptop=laptop)))
    return events


def merge_bundle(data: DataFolder, bundle: Bundle, actor: str, into: Optional[str] = None,
                 progress: Progress = None, plan: Optional[MergePlan] = None,
                 created_action: str = "study created from bundle") -> MergeReport:
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


def _merge_existing(data: DataFolder, bundle: Bundle, actor: str, progress: Progress,
                    plan: Optional[MergePlan]) -> MergeReport:
    study = open_study(data, bundle.study_id)
    with study.store.lock:
        if plan is None or plan.bundle is not bundle or plan.token != _state_token(study.store):
            plan = _plan_existing(study, bundle, progress)
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


def _create_from_bundle(data: DataFolder, bundle: Bundle, actor: str, progress: Progress,
                        created_action: str = "study created from bundle") -> MergeReport:
    """A study this laptop does not have yet: built in a hidden folder, then renamed into place.

    The rename is the one moment the study appears, whole; a crash before it leaves only the
    hidden folder, which the next import clears away.
    """
    plan = plan_merge(data, bundle)
    studies = data.studies_folder
    final = studies / bundle.study_id
    temp = studies / f"{INCOMING_PREFIX}{bundle.study_id}"
    try:
        studies.mkdir(mode=0o700, parents=True, exist_ok=True)
        _remove_tree(temp)
        temp.mkdir(mode=0o700)
        store = StudyStore(temp)
    except OSError as exc:
        raise ServiceError(f"Cannot prepare the study folder in {studies}: {exc.strerror}.") from None
    try:
        ops = [(name, doc) for name, doc in plan.inserts]
        ops += [("audit", d) for d in _merge_audit(plan.report, actor, data.laptop_id, created_action)]
        with store.batch():
            for start in range(0, len(ops), CHUNK):
                store.commit(_rows(store, ops[start:start + CHUNK]))
                if progress:
                    progress(min(start + CHUNK, len(ops)), len(ops), "writing")
        store.close()  # writes every segment and empties the journal
        if final.exists():
            raise ServiceError(f"A study '{bundle.study_id}' appeared in {data.path} meanwhile; nothing was changed.")
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
    return plan.report


def _rows(store: StudyStore, ops: list[tuple[str, dict]]) -> list[tuple[str, int, dict]]:
    out = []
    next_rows: dict[str, int] = {}
    for name, doc in ops:
        row = next_rows.get(name) or store.next_row(name)
        next_rows[name] = row + 1
        out.append((name, row, doc))
    return out


def _remove_tree(path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def clear_unfinished_imports(data: DataFolder) -> int:
    """Remove hidden folders left by an import that a crash interrupted (they were never a study)."""
    if not data.studies_folder.is_dir():
        return 0
    leftovers = [p for p in data.studies_folder.iterdir() if p.name.startswith(INCOMING_PREFIX)]
    for p in leftovers:
        _remove_tree(p)
    return len(leftovers)
