"""Typed reading of one study: records come out as domain models, never as TinyDB documents."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Optional

from ..domain.models import (
    AuditEvent,
    ConsentEvent,
    Contact,
    Contribution,
    Invite,
    Participant,
    Proposal,
    ProtocolVersion,
    Study,
    Update,
)
from ..domain.rules import ConsentState, fold_consent
from .durable import StoreDamaged
from .store import StudyStore


class StudyRepo:
    """Read access to one study's records (the services write; everyone may read)."""

    def __init__(self, store: StudyStore):
        self.store = store
        self._versions: dict[int, ProtocolVersion] = {}

    def _t(self, name: str):
        return self.store.table(name)

    # -- study and protocol -----------------------------------------------------------------
    def study(self) -> Study:
        doc = self._t("study").get(1)
        if doc is None:
            raise StoreDamaged(self.store.folder / "study", "the study record is missing")
        return Study.model_validate(doc)

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

    # -- participants and consent -----------------------------------------------------------
    def participants(self) -> list[Participant]:
        return [Participant.model_validate(d) for d in self._t("participants")]

    def participant_count(self) -> int:
        return self._t("participants").count_rows()

    def participant(self, participant_id: str) -> Optional[Participant]:
        doc = self._t("participants").find(participant_id)
        return None if doc is None else Participant.model_validate(doc)

    def participant_by(self, field: str, value: str) -> Optional[Participant]:
        docs = self._t("participants").where(field, value)
        return Participant.model_validate(docs[0]) if docs else None

    def contact(self, participant_id: str) -> Optional[Contact]:
        docs = self._t("contacts").where("participant_id", participant_id)
        return Contact.model_validate(docs[-1]) if docs else None

    def consent_events(self, participant_id: Optional[str] = None) -> list[ConsentEvent]:
        table = self._t("consent_events")
        docs = table.where("participant_id", participant_id) if participant_id else list(table)
        return [ConsentEvent.model_validate(d) for d in docs]

    def consent_state(self, participant_id: str) -> ConsentState:
        return fold_consent(self.consent_events(participant_id))

    def consent_states(self) -> dict[str, ConsentState]:
        events: dict[str, list[ConsentEvent]] = {}
        for doc in self._t("consent_events"):
            events.setdefault(doc["participant_id"], []).append(ConsentEvent.model_validate(doc))
        return {pid: fold_consent(evs) for pid, evs in events.items()}

    # -- contributions -----------------------------------------------------------------------
    def contribution(self, contribution_id: str) -> Optional[Contribution]:
        doc = self._t("contributions").find(contribution_id)
        return None if doc is None else Contribution.model_validate(doc)

    def contributions_of(self, participant_id: str) -> list[Contribution]:
        return [Contribution.model_validate(d) for d in self._t("contributions").where("participant_id", participant_id)]

    def contribution_docs(self) -> Iterator[dict[str, Any]]:
        """Every contribution as the stored document (fast path for tables and exports)."""
        return iter(self._t("contributions"))

    def contribution_count(self) -> int:
        return self._t("contributions").count_rows()

    # -- the rest ----------------------------------------------------------------------------
    def invites(self) -> list[Invite]:
        return [Invite.model_validate(d) for d in self._t("invites")]

    def invite_by_token(self, token: str) -> Optional[Invite]:
        docs = self._t("invites").where("token", token)
        return Invite.model_validate(docs[0]) if docs else None

    def proposals(self) -> list[Proposal]:
        return [Proposal.model_validate(d) for d in self._t("proposals")]

    def proposal(self, proposal_id: str) -> Optional[Proposal]:
        doc = self._t("proposals").find(proposal_id)
        return None if doc is None else Proposal.model_validate(doc)

    def updates(self) -> list[Update]:
        return sorted((Update.model_validate(d) for d in self._t("updates")), key=lambda u: u.posted_at, reverse=True)

    def audit(self) -> list[AuditEvent]:
        return [AuditEvent.model_validate(d) for d in self._t("audit")]

    def last_audit(self) -> Optional[AuditEvent]:
        table = self._t("audit")
        count = table.count_rows()
        doc = table.get(count) if count else None
        return None if doc is None else AuditEvent.model_validate(doc)
