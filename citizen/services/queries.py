"""Read-only views the interfaces show: study summaries, participant rows, a data-folder check."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Optional

from pydantic import BaseModel, ValidationError

from ..domain import models
from ..domain.models import AuditEvent, ConsentRole
from ..domain.protocol_file import roles_note
from ..domain.rules import consent_changes, fold_consent
from ..store import StoreDamaged, StoreError
from ..store.durable import atomic_write
from ..store.journal import read_journal, readable_prefix
from ..store.segments import load_segment
from ..store.store import TABLES, read_laptop_id
from .common import Study
from .listing import StudySummary, damage_message, list_studies, summarise  # noqa: F401 (re-exported)

JOURNAL = "journal.jsonl"


@dataclass
class StudyFigures:
    """The overview's figures, counted from the records themselves."""

    participants: int = 0
    active: int = 0
    withdrawn: int = 0
    needs_reconsent: int = 0
    contributions: int = 0
    removed: int = 0
    by_review: Counter = field(default_factory=Counter)
    by_week: Counter = field(default_factory=Counter)
    enrolled_by_week: Counter = field(default_factory=Counter)
    open_proposals: int = 0
    updates: int = 0
    agreed: Counter = field(default_factory=Counter)  # per consent role: people taking part who said yes
    asked: set = field(default_factory=set)  # the roles the consent in force has an item for


def figures(study: Study) -> StudyFigures:
    """Counts for the study overview, folded from participants, consent events and contributions.

    Cheap at any size: contributions are counted through their per-segment summary.
    """
    repo = study.repo
    current = repo.current_protocol()
    fig = StudyFigures()
    states = repo.consent_states()
    documents = repo.consent_documents()
    optional_roles = [r for r in ConsentRole if r not in (ConsentRole.take_part, ConsentRole.plain)]
    fig.asked = {r for r in optional_roles if current is not None and current.consent.item_for(r) is not None}
    for p in repo.participants():
        fig.participants += 1
        week = p.enrolled_at.strftime("%G-W%V")
        fig.enrolled_by_week[week] += 1
        state = states.get(p.id)
        if state is None:
            continue
        if state.withdrawn:
            fig.withdrawn += 1
        else:
            fig.active += 1
            if current is not None and state.needs_reconsent(current.consent):
                fig.needs_reconsent += 1
            for role in optional_roles:
                if state.item_in_force(role, documents) is not None and state.allows_role(role, documents):
                    fig.agreed[role] += 1
    # From the per-segment counts kept beside the contributions: no contribution is read for them.
    counts = repo.contribution_counts()
    for key, n in counts.items():
        kind, _, value = key.partition(":")
        if kind == "review":
            fig.by_review[value] += n
        elif kind == "week":
            fig.by_week[value] += n
    fig.contributions = counts.get("live", 0)
    fig.removed = counts.get("removed", 0)
    fig.open_proposals = sum(1 for p in repo.proposals() if p.status.value == "open")
    fig.updates = len(repo.updates())
    return fig


def participant_allows(study: Study, participant_id: str, role: ConsentRole, at: Optional[datetime] = None) -> bool:
    """Whether a participant allows what ``role`` stands for now (or at time ``at``), asked by role.

    Read in the consent document they agreed to; a document with no item for the role means what
    ``ROLE_ABSENT`` says (no quoting item: free text may be used; no contact item: no contact).
    """
    events = study.repo.consent_events(participant_id)
    if at is not None:
        events = [e for e in events if e.at <= at]
    state = fold_consent(events) if at is not None else study.repo.consent_state(participant_id)
    return state.allows_role(role, study.repo.consent_documents())


def role_notices(study: Study) -> list[str]:
    """What opening a study made before consent items had roles assumed, said plainly (empty otherwise).

    Its stored protocol is never rewritten (published versions do not change); it is read with the
    roles of its items' ids every time, until a version published from the consent editor stores them.
    """
    table = study.store.table("protocol_versions")
    count = table.count_rows()
    doc = table.get(count) if count else None
    consent = doc.get("consent") if isinstance(doc, dict) else None
    items = consent.get("items") if isinstance(consent, dict) else None
    return roles_note(items) if isinstance(items, list) else []


@dataclass
class CheckReport:
    files: int = 0
    problems: list[str] = field(default_factory=list)
    damaged: list[StoreDamaged] = field(default_factory=list)


def check_data_folder(path: Path) -> CheckReport:
    """Read every study file without changing anything and report each damaged one."""
    report = CheckReport()
    laptop = path / "laptop.json"
    if laptop.exists():
        report.files += 1
        try:
            read_laptop_id(laptop)
        except StoreDamaged as exc:
            report.damaged.append(exc)
    studies = path / "studies"
    if not studies.is_dir():
        return report
    for folder in sorted(p for p in studies.iterdir() if p.is_dir()):
        try:
            report.files += 1
            read_journal(folder / "journal.jsonl")
        except StoreDamaged as exc:
            report.damaged.append(exc)
        for table in TABLES:
            tfolder = folder / table
            if not tfolder.is_dir():
                continue
            for seg in sorted(tfolder.glob("[0-9]*.json")):
                report.files += 1
                try:
                    check_records(seg, table, load_segment(seg, table)[table])
                except StoreDamaged as exc:
                    report.damaged.append(exc)
        if not (folder / "study").is_dir() and not (folder / "journal.jsonl").exists():
            report.problems.append(f"{folder}: this folder holds no study record")
    report.problems += [str(d) for d in report.damaged]
    return report


def can_restore(damage: StoreDamaged) -> bool:
    return damage.backup is not None or (damage.path.name == JOURNAL and "newer citizen" not in damage.reason)


# The record each table holds; ``check`` validates every stored record against it.
TABLE_MODELS: dict[str, type[BaseModel]] = {
    "study": models.Study,
    "protocol_versions": models.ProtocolVersion,
    "invites": models.Invite,
    "participants": models.Participant,
    "contacts": models.Contact,
    "consent_events": models.ConsentEvent,
    "contributions": models.Contribution,
    "proposals": models.Proposal,
    "updates": models.Update,
    "audit": models.AuditEvent,
}


def check_records(path: Path, table: str, rows: dict) -> None:
    model = TABLE_MODELS.get(table)
    if model is None:
        return
    for key, doc in rows.items():
        try:
            model.model_validate(doc)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "the record"
            raise StoreDamaged(
                path, f"record {key} is not a valid {table} record ({where}: {first['msg']})", path.with_name(path.name + ".bak")
            ) from None


def restore_last_good(damage: StoreDamaged) -> Path:
    """Put the last good copy of a damaged file back; the damaged file is kept beside it.

    A damaged journal has no copy: its readable changes (those before the damage) are kept, and
    the study opens from its segments with them.
    """
    if not can_restore(damage):
        raise StoreError(f"No last good copy of {damage.path} is kept.")
    good = readable_prefix(damage.path) if damage.backup is None else damage.backup.read_bytes()
    if damage.backup is not None and damage.path.parent.parent.parent.name == "studies":
        table = damage.path.parent.name  # a segment: its copy must itself be whole before it goes back
        try:
            check_records(damage.backup, table, load_segment(damage.backup, table)[table])
        except StoreDamaged as exc:
            raise StoreError(
                f"The last good copy of {damage.path} is damaged too ({exc.reason}); it was left as it is."
            ) from None
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    kept = damage.path.with_name(damage.path.name + f".damaged-{stamp}")
    if damage.path.exists():
        damage.path.rename(kept)
    atomic_write(damage.path, good)
    return kept


def activity(study: Study, actor: str = "", action: str = "") -> list[AuditEvent]:
    """The study's audit log, newest first, optionally only one person's or one kind of step."""
    events = study.repo.audit()
    if actor:
        needle = actor.casefold()
        events = [e for e in events if needle in e.actor.casefold()]
    if action:
        events = [e for e in events if e.action == action]
    return sorted(reversed(events), key=lambda e: e.at, reverse=True)


def reconsent_changes(study: Study, participant_id: str, language: str = "") -> Optional[dict[str, list[str]]]:
    """What changed in the consent document since this participant last agreed (None if nothing to ask).

    Re-consent shows the items added, reworded or removed and the new text, not the whole
    document as if it were new.
    """
    current = study.repo.current_protocol()
    if current is None:
        return None
    state = study.repo.consent_state(participant_id)
    if not state.needs_reconsent(current.consent):
        return None
    old = next((v.consent for v in study.repo.protocol_versions() if v.consent.version == state.document_version), None)
    if old is None:
        return None
    return consent_changes(old, current.consent, language or state.language)
