"""Typed reading of one study: records come out as domain models, never as TinyDB documents."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any, NamedTuple, Optional

from ..domain.models import (
    AuditEvent,
    ConsentDocument,
    ConsentEvent,
    Contact,
    Contribution,
    Invite,
    Participant,
    Proposal,
    ProtocolVersion,
    Study,
    Update,
    link_fingerprint,
)
from ..domain.rules import ConsentState, fold_consent
from .store import StudyStore
from .stored import StoredStudy


class AuditEntry(NamedTuple):
    """One event of the activity log, as an export reads it (the fields activity.csv needs)."""

    at: datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any]


class StudyRepo(StoredStudy):
    """Read access to one study's records (the services write; everyone may read)."""

    def __init__(self, store: StudyStore):
        super().__init__(store)
        self._versions: dict[int, ProtocolVersion] = {}
        # Parsed records and folded consent, each kept with the very stored documents it came
        # from: the store replaces a document on every change, so ``is`` tells when it is stale.
        self._participants: dict[int, tuple[dict[str, Any], Participant]] = {}
        self._consent: dict[str, tuple[list[dict[str, Any]], ConsentState]] = {}

    # -- study and protocol -----------------------------------------------------------------
    def study(self) -> Study:
        return Study.model_validate(self.study_doc())

    def protocol_versions(self) -> list[ProtocolVersion]:
        table = self._t("protocol_versions")
        return [v for row in range(1, table.count_rows() + 1) if (v := self._version_at(row)) is not None]

    def _version_at(self, row: int) -> Optional[ProtocolVersion]:
        # Published versions never change, so each is parsed once.
        version = self._versions.get(row)
        if version is None:
            doc = self._t("protocol_versions").get(row)
            if doc is None:
                return None
            version = self._versions[row] = ProtocolVersion.model_validate(doc)
        return version

    def protocol_version(self, number: int) -> Optional[ProtocolVersion]:
        row = self._t("protocol_versions").find_row(number)
        return None if row is None else self._version_at(row)

    def current_protocol(self) -> Optional[ProtocolVersion]:
        count = self._t("protocol_versions").count_rows()
        return self._version_at(count) if count else None

    def consent_documents(self) -> dict[int, ConsentDocument]:
        """Every consent document by its version: what ``ConsentState.allows_role`` looks roles up in."""
        return {v.consent.version: v.consent for v in self.protocol_versions()}

    # -- participants and consent -----------------------------------------------------------
    def _participant_at(self, row: int, doc: dict[str, Any]) -> Participant:
        hit = self._participants.get(row)
        if hit is not None and hit[0] is doc:
            return hit[1]
        participant = Participant.model_validate(doc)
        self._participants[row] = (doc, participant)
        return participant

    def participants(self) -> list[Participant]:
        return [self._participant_at(row, doc) for row, doc in self._t("participants").rows()]

    def participant(self, participant_id: str) -> Optional[Participant]:
        table = self._t("participants")
        row = table.find_row(participant_id)
        doc = None if row is None else table.get(row)
        return None if doc is None or row is None else self._participant_at(row, doc)

    def participant_by(self, field: str, value: str) -> Optional[Participant]:
        docs = self._t("participants").where(field, value)
        return Participant.model_validate(docs[0]) if docs else None

    def participant_by_link(self, token: str) -> Optional[Participant]:
        """The participant a private link opens (only its fingerprint is stored)."""
        return self.participant_by("token", link_fingerprint(token))

    def contact(self, participant_id: str) -> Optional[Contact]:
        docs = self._t("contacts").where("participant_id", participant_id)
        return Contact.model_validate(docs[-1]) if docs else None

    def consent_events(self, participant_id: Optional[str] = None) -> list[ConsentEvent]:
        table = self._t("consent_events")
        docs = table.where("participant_id", participant_id) if participant_id else list(table)
        return [ConsentEvent.model_validate(d) for d in docs]

    def _folded(self, participant_id: str, docs: list[dict[str, Any]]) -> ConsentState:
        hit = self._consent.get(participant_id)
        if hit is not None and len(hit[0]) == len(docs) and all(a is b for a, b in zip(hit[0], docs, strict=True)):
            return hit[1]
        state = fold_consent(ConsentEvent.model_validate(d) for d in docs)
        self._consent[participant_id] = (docs, state)
        return state

    def consent_state(self, participant_id: str) -> ConsentState:
        """The fold of the participant's consent events; folded again only when they change."""
        return self._folded(participant_id, self._t("consent_events").where("participant_id", participant_id))

    def consent_states(self) -> dict[str, ConsentState]:
        events: dict[str, list[dict[str, Any]]] = {}
        for doc in self._t("consent_events"):
            events.setdefault(doc["participant_id"], []).append(doc)
        return {pid: self._folded(pid, docs) for pid, docs in events.items()}

    # -- contributions -----------------------------------------------------------------------
    def contribution(self, contribution_id: str) -> Optional[Contribution]:
        doc = self._t("contributions").find(contribution_id)
        return None if doc is None else Contribution.model_validate(doc)

    def contributions_of(self, participant_id: str) -> list[Contribution]:
        return [Contribution.model_validate(d) for d in self._t("contributions").where("participant_id", participant_id)]

    def contribution_docs(self) -> Iterator[dict[str, Any]]:
        """Every contribution as the stored document (fast path for exports), in row order.

        Read a segment at a time and let go once walked (nothing kept loaded): the caller holds the
        study's lock for a consistent reading.
        """
        return (doc for _, doc in self._t("contributions").stream())

    def contribution_batches(self) -> Iterator[list[dict[str, Any]]]:
        """The stored contributions a segment at a time (each a list in row order), as ``contribution_docs`` reads them."""
        return self._t("contributions").stream_batches()

    def contribution_export_rows(self) -> Iterator[tuple[dict[str, Any], Optional[list[dict[str, Any]]]]]:
        """Each segment's contributions as an export reads them (export_ready.py), oldest first; with the
        stored records of a segment kept as odd. The caller holds the study's lock while walking them."""
        table = self._t("contributions")
        for number, value in table.kept["export"].walk():
            yield value, table.segment_docs(number) if "odd" in value else None

    def activity_export_rows(self) -> Optional[list[tuple[Any, ...]]]:
        """The activity log as activity.csv reads it (export_ready.py), in stored order; None when a
        segment of it is odd (then ``audit_entries`` is read). The caller holds the study's lock."""
        out: list[tuple[Any, ...]] = []
        for _, value in self._t("audit").kept["activity"].walk():
            if "odd" in value:
                return None
            out += zip(*value["columns"], strict=True)
        return out

    # -- the rest ----------------------------------------------------------------------------
    def invites(self) -> list[Invite]:
        return [Invite.model_validate(d) for d in self._t("invites")]

    def invite_by_token(self, token: str) -> Optional[Invite]:
        """The invite a join link names (only its fingerprint is stored; an older version's record,
        not converted yet, kept the token as it is)."""
        fingerprint = link_fingerprint(token)
        docs = self._t("invites").where("fingerprint", fingerprint)
        if docs:
            return Invite.model_validate(docs[0])
        return next((i for i in self.invites() if i.kept_as_is and i.fingerprint == fingerprint), None)

    def proposals(self) -> list[Proposal]:
        return [Proposal.model_validate(d) for d in self._t("proposals")]

    def proposal(self, proposal_id: str) -> Optional[Proposal]:
        doc = self._t("proposals").find(proposal_id)
        return None if doc is None else Proposal.model_validate(doc)

    def updates(self) -> list[Update]:
        return sorted((Update.model_validate(d) for d in self._t("updates")), key=lambda u: u.posted_at, reverse=True)

    def audit(self) -> list[AuditEvent]:
        return [AuditEvent.model_validate(d) for d in self._t("audit")]

    def audit_entries(self) -> list[AuditEntry]:
        """The activity log read for an export: every event, without a model per event.

        The events were checked as records when they were written; a study of 100,000
        contributions has over 100,000 of them, and a model each took longer than the export.
        Read a segment at a time (nothing kept loaded).
        """
        return [
            AuditEntry(
                datetime.fromisoformat(d["at"]),
                d.get("actor", ""),
                d.get("action", ""),
                d.get("target", ""),
                d.get("details") or {},
            )
            for _, d in self._t("audit").stream()
        ]

    def audit_since(self, since: datetime) -> list[dict[str, Any]]:
        """The activity log's events from ``since`` on, oldest first: its newest segments alone are
        read, back to the first that began before ``since`` (a day's events, not the whole log)."""
        table = self._t("audit")
        found: list[dict[str, Any]] = []
        for number in reversed(table.segment_numbers()):
            rows = [doc for _, doc in sorted(table.segment_rows(number), key=lambda pair: pair[0])]
            kept = [doc for doc in rows if _at(doc) >= since]
            found[:0] = kept
            if len(kept) < len(rows):
                break
        return found

    def last_activity(self) -> Optional[datetime]:
        """When the study last changed (the time of its newest audit event)."""
        try:
            return super().last_activity()
        except ValueError:
            last = self.last_audit()
            return last.at if last else None

    def last_audit(self) -> Optional[AuditEvent]:
        table = self._t("audit")
        count = table.count_rows()
        doc = table.get(count) if count else None
        return None if doc is None else AuditEvent.model_validate(doc)


def _at(doc: dict[str, Any]) -> datetime:
    try:
        at = datetime.fromisoformat(doc["at"])
    except (KeyError, TypeError, ValueError):
        return datetime.min.replace(tzinfo=timezone.utc)
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)
