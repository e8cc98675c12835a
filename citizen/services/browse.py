"""Browsing a study's participants, and a contribution's answers in its form's order.

The contributions table (filters, paging, word search) is ``contribution_index.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from ..domain.models import ConsentEvent, Contact, Participant
from ..domain.rules import ConsentState, fold_consent
from .common import NotFound, Study
from .revisions import shown_answer


def contribution_answers(study: Study, contribution_id: str, language: str = "en") -> list[tuple[str, str]]:
    """A contribution's answers as (question, answer) in the order of its protocol version's form."""
    doc = study.store.table("contributions").find(contribution_id)
    if doc is None:
        raise NotFound("This contribution is not known.")
    version = study.repo.protocol_version(int(doc["protocol_version"]))
    values = doc.get("values") or {}
    fields = version.fields if version else []
    return [(f.text(language), shown_answer(f, values[f.key], language)) for f in fields if f.key in values]


# -- participants ------------------------------------------------------------------------------
PARTICIPANT_STATUSES = ["active", "needs re-consent", "withdrawn", "not enrolled"]


@dataclass
class ParticipantRow:
    id: str
    code: str
    enrolled_at: datetime
    route: str
    consent_version: Optional[int]
    consent: str
    contributions: int
    status: str


def _consent_words(state: ConsentState, current_version: Optional[int]) -> tuple[str, str]:
    """(consent state, status) in the words the participants table shows."""
    if not state.enrolled:
        return "no consent", "not enrolled"
    if state.withdrawn:
        return ("withdrawn: removed" if state.remove_data else "withdrawn: kept"), "withdrawn"
    if current_version is not None and state.document_version != current_version:
        return "needs re-consent", "needs re-consent"
    return "current", "active"


def participant_rows(study: Study) -> list[ParticipantRow]:
    """Every participant with their consent and contribution counts, newest enrolment first."""
    repo = study.repo
    current = repo.current_protocol()
    current_version = current.consent.version if current else None
    states = repo.consent_states()
    table = study.store.table("contributions")
    out = []
    for p in repo.participants():
        state = states.get(p.id, ConsentState())
        consent, status = _consent_words(state, current_version)
        rows = table.rows_where("participant_id", p.id)
        count = sum(1 for r in rows if (d := table.get(r)) is not None and not d.get("removed_at"))
        out.append(
            ParticipantRow(
                id=p.id,
                code=p.code,
                enrolled_at=p.enrolled_at,
                route=p.route.value,
                consent_version=state.document_version,
                consent=consent,
                contributions=count,
                status=status,
            )
        )
    out.sort(key=lambda r: r.enrolled_at, reverse=True)
    return out


def filter_participants(rows: Iterable[ParticipantRow], text: str = "", status: Optional[str] = None) -> list[ParticipantRow]:
    """Participants whose code contains the text (any case) and whose status is the one asked."""
    needle = text.strip().upper()
    return [r for r in rows if (not needle or needle in r.code.upper()) and (not status or r.status == status)]


@dataclass
class ParticipantDetail:
    participant: Participant
    state: ConsentState
    consent: str
    status: str
    events: list[ConsentEvent]
    contact: Optional[Contact]
    contributions: int


def participant_detail(study: Study, participant_id: str) -> ParticipantDetail:
    """One participant with their whole consent history, oldest event first."""
    repo = study.repo
    p = repo.participant(participant_id)
    if p is None:
        raise NotFound("This participant is not known.")
    events = sorted(repo.consent_events(participant_id), key=lambda e: (e.at, e.id))
    state = fold_consent(events)
    current = repo.current_protocol()
    consent, status = _consent_words(state, current.consent.version if current else None)
    table = study.store.table("contributions")
    count = sum(
        1
        for r in table.rows_where("participant_id", participant_id)
        if (d := table.get(r)) is not None and not d.get("removed_at")
    )
    contact = repo.contact(participant_id)
    if contact is not None and not (contact.name or contact.phone or contact.email):
        contact = None
    return ParticipantDetail(
        participant=p, state=state, consent=consent, status=status, events=events, contact=contact, contributions=count
    )


def participant_by_code(study: Study, code: str) -> Participant:
    """The participant with this code (typed in any case, spaces ignored)."""
    wanted = "".join(code.split()).upper()
    if not wanted:
        raise NotFound("Please enter the participant's code (like AB-C3D4).")
    p = study.repo.participant_by("code", wanted)
    if p is None:
        raise NotFound(f"No participant has the code '{code.strip()}'.")
    return p
