"""The rows an export writes, step by step: the study read once, each participant's consent folded
through the domain rules, then the contributions (contributions.py), the participants and the
consent log that may leave.

``plan.prepare_export`` runs these steps in order; nothing here writes a file or changes the study.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Optional

from ..domain.models import (
    ConsentDocument,
    ConsentEvent,
    ConsentRole,
    Contact,
    Participant,
    ProtocolVersion,
)
from ..domain.models import Study as StudyRecord
from ..domain.rules import ConsentState, fold_consent
from ..services.common import Refused, ServiceError, Study
from ..store.repo import AuditEntry

if TYPE_CHECKING:
    from .plan import ExportOptions

SHIFT_DAYS = 182  # dates move by a secret whole number of days, at most this many either way


def _stamp(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


@dataclass
class StudyReading:
    """Everything an export reads, read once under the study's lock."""

    record: StudyRecord
    versions: list[ProtocolVersion]
    participants: list[Participant]
    events_by: dict[str, list[ConsentEvent]]
    contacts: dict[str, Optional[Contact]]
    invites: dict[str, str]
    batches: Iterable[list[dict[str, Any]]]  # the stored contributions a segment at a time, read as they come (under the lock)
    contribution_total: int
    audit: Callable[[], list[AuditEntry]]  # the activity log, read when first asked for (under the lock)
    language: str
    ready: Optional[Callable[[], Iterable[tuple[dict[str, Any], Optional[list[dict[str, Any]]]]]]] = None  # see ready.py
    activity_ready: Optional[Callable[[], Optional[list[tuple[Any, ...]]]]] = None  # the log as activity.csv reads it
    _audit_events: Optional[list[AuditEntry]] = None

    @property
    def audit_events(self) -> list[AuditEntry]:
        if self._audit_events is None:
            self._audit_events = self.audit()
        return self._audit_events


def read_study(study: Study, options: ExportOptions) -> StudyReading:
    """One consistent reading of the study (no change lands half-way through), and the options checked against it.

    The contributions are not read here but as ``reading.batches`` is walked: the caller holds the
    study's lock from this call until it has walked them.
    """
    with study.store.lock:
        record = study.repo.study()
        versions = study.repo.protocol_versions()
        if not versions:
            raise ServiceError("This study has no published protocol yet, so there is nothing to export.")
        participants = study.repo.participants()
        events_by: dict[str, list[ConsentEvent]] = defaultdict(list)
        for event in study.repo.consent_events():
            events_by[event.participant_id].append(event)
        contacts = {p.id: study.repo.contact(p.id) for p in participants} if options.contacts else {}
        invites = {i.id: i.label for i in study.repo.invites()}
        batches = study.repo.contribution_batches()
        total = study.repo.contribution_counts().get("rows", 0)
    if options.language and options.language not in record.languages:
        raise Refused(f"'{options.language}' is not one of this study's languages ({', '.join(record.languages)}).")
    known_versions = {v.number for v in versions}
    unknown = [v for v in options.versions if v not in known_versions]
    if unknown:
        raise Refused(
            f"This study has no protocol version {', '.join(map(str, unknown))}; "
            f"it has {', '.join(map(str, sorted(known_versions)))}."
        )
    return StudyReading(
        record,
        versions,
        participants,
        events_by,
        contacts,
        invites,
        batches,
        total,
        study.repo.audit_entries,
        options.language or record.main_language,
        study.repo.contribution_export_rows,
        study.repo.activity_export_rows,
    )


class ConsentTimeline:
    """One participant's consent, folded through the domain rule at each of their events."""

    def __init__(self, events: list[ConsentEvent]):
        events = sorted(events, key=lambda e: (e.at, e.id))
        self.times = [e.at for e in events]
        self.states = [fold_consent(events[: i + 1]) for i in range(len(events))]
        self.now = self.states[-1] if self.states else ConsentState()

    def at(self, when: datetime) -> ConsentState:
        i = bisect_right(self.times, when)
        return self.states[i - 1] if i else ConsentState()


class ConsentRules:
    """Each participant's consent through time, and what it allows, read by role in the documents they agreed to."""

    def __init__(self, versions: list[ProtocolVersion], events_by: dict[str, list[ConsentEvent]]):
        self.documents: dict[int, ConsentDocument] = {v.consent.version: v.consent for v in versions}
        self.items = sorted({i.id for d in self.documents.values() for i in d.items})
        self.required_of = {number: d.required_ids for number, d in self.documents.items()}
        self.timelines = {pid: ConsentTimeline(evs) for pid, evs in events_by.items()}
        self._verdicts: dict[tuple[ConsentRole, int, int], bool] = {}  # one per participant's states, not per row

    def now(self, participant_id: str) -> ConsentState:
        timeline = self.timelines.get(participant_id)
        return timeline.now if timeline else ConsentState()

    def then(self, participant_id: str, when: datetime) -> ConsentState:
        timeline = self.timelines.get(participant_id)
        return timeline.at(when) if timeline else ConsentState()

    def covered(self, then: ConsentState) -> bool:
        """A consent covering a contribution was in force when it was given."""
        required = self.required_of.get(then.document_version or 0)
        return required is not None and then.enrolled and not then.withdrawn and required <= then.granted

    def allowed(self, role: ConsentRole, then: ConsentState, now: ConsentState) -> bool:
        # The consent in force when it was given AND the participant's choices today, each read
        # by role in the document that participant agreed to (ids differ between studies).
        key = (role, id(then), id(now))  # the states live in ``timelines`` for the whole export
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = then.allows_role(role, self.documents) and now.allows_role(role, self.documents)
        return verdict


def _hasher(enabled: bool) -> Callable[[str], str]:
    if not enabled:
        return lambda code: code
    salt = secrets.token_bytes(32)  # made for this export and never kept
    return lambda code: hmac.new(salt, code.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


class Pseudonyms:
    """Participant codes as the export shows them (hashed on request) and each one's secret date shift."""

    def __init__(self, participants: list[Participant], hash_codes: bool, shift_dates: bool):
        self.code_of = _hasher(hash_codes)
        self.codes = {p.id: p.code for p in participants}
        self.offsets = (
            {p.id: timedelta(days=secrets.choice([d for d in range(-SHIFT_DAYS, SHIFT_DAYS + 1) if d])) for p in participants}
            if shift_dates
            else {}
        )

    def shift(self, participant_id: str) -> timedelta:
        return self.offsets.get(participant_id, timedelta(0))


@dataclass
class ParticipantRows:
    header: list[str]
    consent_header: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    consent_log: list[list[Any]] = field(default_factory=list)
    left_out: Counter = field(default_factory=Counter)
    contacts_given: int = 0
    exported_codes: dict[str, str] = field(default_factory=dict)
    code_shifts: dict[str, timedelta] = field(default_factory=dict)


CONSENT_LOG_HEADER = [
    "participant",
    "event",
    "document_version",
    "language",
    "granted",
    "declined",
    "method",
    "witnessed",
    "remove_data",
    "at",
    "text_sha256",
]


def _contact_cells(contact: Optional[Contact], agreed: bool, out: ParticipantRows, redactions: Counter) -> list[Any]:
    if contact is not None and agreed and any((contact.name, contact.phone, contact.email)):
        out.contacts_given += 1
        return [contact.name, contact.phone, contact.email]
    if contact is not None and any((contact.name, contact.phone, contact.email)):
        redactions["contact details left out: the participant did not agree to be contacted"] += 1
    return [None, None, None]


def participant_rows(
    reading: StudyReading,
    options: ExportOptions,
    consent: ConsentRules,
    pseudonyms: Pseudonyms,
    exported_by: Counter,
    redactions: Counter,
) -> ParticipantRows:
    """participants.csv and consent_log.csv: everyone whose data may leave, pseudonymous."""
    header = [
        "participant",
        "enrolled_at",
        "route",
        "invite",
        "consent_version",
        "consent_language",
        "status",
        "contributions_exported",
    ] + [f"consent_{i}" for i in consent.items]
    if options.contacts:
        header += ["contact_name", "contact_phone", "contact_email"]
    out = ParticipantRows(header, list(CONSENT_LOG_HEADER))
    partners_only = options.audience.value == "partners"
    for p in reading.participants:
        now_state = consent.now(p.id)
        if now_state.remove_data:
            out.left_out["the participant withdrew and asked for their data to be removed"] += 1
            continue
        if partners_only and not now_state.allows_role(ConsentRole.share_partners, consent.documents):
            out.left_out["the participant did not agree to sharing with partner organisations"] += 1
            continue
        shift = pseudonyms.shift(p.id)
        code = pseudonyms.code_of(p.code)
        out.exported_codes[p.code], out.code_shifts[p.code] = code, shift
        row = [
            code,
            _stamp(p.enrolled_at + shift),
            p.route.value,
            reading.invites.get(p.invite_id or "", ""),
            now_state.document_version,
            now_state.language,
            now_state.status,
            exported_by.get(p.id, 0),
        ] + [("yes" if now_state.allows(i) else "no") for i in consent.items]
        if options.contacts:
            agreed = now_state.allows_role(ConsentRole.contact_later, consent.documents)
            row += _contact_cells(reading.contacts.get(p.id), agreed, out, redactions)
        out.rows.append(row)
        for e in sorted(reading.events_by.get(p.id, []), key=lambda e: (e.at, e.id)):
            out.consent_log.append(
                [
                    code,
                    e.kind.value,
                    e.document_version,
                    e.language,
                    " ".join(e.granted),
                    " ".join(e.declined),
                    e.method.value,
                    "yes" if e.witness else "no",
                    "yes" if e.remove_data else "no",
                    _stamp(e.at + shift),
                    e.text_sha256,
                ]
            )
    return out
