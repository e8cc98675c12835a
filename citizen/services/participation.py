"""Invites, enrolment, consent and withdrawal: consent gates everything."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Optional

from pydantic import ValidationError

from ..domain.models import (
    ConsentEvent,
    ConsentKind,
    ConsentMethod,
    Contact,
    Invite,
    InviteState,
    Participant,
    ParticipantRoute,
    ProtocolVersion,
    link_fingerprint,
    to_doc,
    utcnow,
)
from ..domain.protocol_file import explain
from ..domain.reach import read_reach
from ..domain.rules import decide_consent
from .common import (
    NotFound,
    Refused,
    ServiceError,
    Study,
    audit,
    change,
    new_code,
    new_token,
    row_of,
    serialised,
    volunteers_gate,
)
from .contacts import REACH_PROBLEMS, contact_item, put_contact
from .invite_links import sealed

NOT_CONTACTABLE = "They did not agree to be contacted: leave the contact details empty, or record a yes to it."
NO_CONTACT_ITEM = "This study does not ask to contact its participants: leave the contact details empty."


def _reach(reach: object, item: Optional[str], granted: list[str], errors: dict[str, str]) -> Optional[dict[str, str]]:
    """How to reach them, read when they were asked (``reach`` not None) and said yes to being contacted."""
    if reach is None or item is None or item not in granted:
        return None  # not asked, or declined: whatever was typed is not kept
    fields, problem = read_reach(reach)
    if problem is not None:
        errors["reach"] = REACH_PROBLEMS[problem]
    return fields or None


# Why an invite enrols no one, as the desk and the command line say it (the phone pages say it in
# the page's language, from the same state).
INVITE_REFUSALS = {
    InviteState.closed: "This invitation has been closed by the study team.",
    InviteState.expired: "This invitation has expired.",
    InviteState.used_up: "This invitation has been used as many times as the team allowed.",
}


class InviteNotOpen(Refused):
    """The invite is closed, expired or used up (``state`` says which)."""

    def __init__(self, state: InviteState):
        self.state = state
        super().__init__(INVITE_REFUSALS[state])


def _refusal(errors: dict[str, str]) -> str:
    if set(errors) - {"witness", "reach", "contact"}:
        return "Please answer every consent item; taking part needs the required ones."
    return next(errors[k] for k in ("witness", "reach", "contact") if k in errors)


@serialised
def create_invite(
    study: Study, label: str, actor: str, limit: Optional[int] = None, expires_at: Optional[datetime] = None
) -> Invite:
    """A new invite; the returned one carries its link's token in ``token``. Only the token's
    fingerprint is stored, and the token sealed with this laptop's key (so this laptop can show it again)."""
    token = new_token()
    try:
        invite = Invite(token=token, fingerprint=link_fingerprint(token), label=label, limit=limit, expires_at=expires_at)
    except ValidationError as exc:
        raise Refused("This invite cannot be made: " + "; ".join(explain(exc))) from None
    if any(i.label == invite.label and not i.closed for i in study.repo.invites()):
        raise Refused(f"An open invite is already called '{invite.label}'; choose another label.")
    invite = sealed(invite, token)  # a key file that cannot be used is refused here: nothing is stored
    with change(study) as tx:
        tx.insert("invites", to_doc(invite))
        audit(
            tx, actor, "invite created", invite.label, {"limit": limit, "expires_at": str(expires_at or "")}, laptop=study.laptop
        )
    return invite


@serialised
def close_invite(study: Study, invite_id: str, actor: str) -> Invite:
    row = row_of(study, "invites", invite_id)
    invite = Invite.model_validate(study.store.table("invites").get(row))
    closed = invite.model_copy(update={"closed": True})
    with change(study) as tx:
        tx.put("invites", row, to_doc(closed))
        audit(tx, actor, "invite closed", invite.label, laptop=study.laptop)
    return closed


def _current(study: Study) -> ProtocolVersion:
    current = study.repo.current_protocol()
    if current is None:
        raise ServiceError("This study has no published protocol yet, so no one can enrol.")
    return current


def _unique_code(study: Study) -> str:
    for _ in range(200):
        code = new_code(study.laptop or "XX")
        if study.repo.participant_by("code", code) is None:
            return code
    raise ServiceError("Could not find a free participant code; the study is very large for this laptop id.")


@serialised
def enrol_participant(
    study: Study,
    answers: Mapping[str, Optional[bool]],
    method: ConsentMethod,
    actor: str,
    language: str = "en",
    invite_token: Optional[str] = None,
    witness: str = "",
    contact: Optional[dict[str, str]] = None,
    at: Optional[datetime] = None,
    reach: object = None,
) -> Participant:
    """Enrol a volunteer with their consent decisions; refused unless every required item is granted.

    ``contact`` is what the desk typed (name, phone, email); ``reach`` is the phone page's one box,
    read only when they agreed to be contacted, and then required. Either is refused for someone
    who did not agree to be contacted, so that no one's details are kept against their choice.
    """
    now = at or utcnow()
    current = _current(study)
    invite = None
    if invite_token is not None:
        invite = study.repo.invite_by_token(invite_token)
        if invite is None:
            raise NotFound("This invitation link is not known. Please ask the study team for a new one.")
        state = invite.state(now)
        if state is not InviteState.open:
            raise InviteNotOpen(state)
        volunteers_gate(study)  # joining through an invite is a volunteer's phone
    if language not in current.consent.text:
        language = next(iter(current.consent.text))
    decision, errors = decide_consent(current.consent, answers)
    if method is ConsentMethod.desk and not witness.strip():
        errors["witness"] = "Consent given at the desk needs the name of the person who witnessed it."
    item = contact_item(current.consent)
    fields = _reach(reach, item, decision.granted, errors)
    if contact and isinstance(contact, Mapping) and any(contact.values()) and item not in decision.granted:
        errors["contact"] = NOT_CONTACTABLE if item is not None else NO_CONTACT_ITEM
    if errors:
        raise Refused(_refusal(errors), errors)
    contact = fields if fields is not None else contact
    route = {
        ConsentMethod.phone: ParticipantRoute.phone,
        ConsentMethod.desk: ParticipantRoute.desk,
        ConsentMethod.paper: ParticipantRoute.paper,
    }[method]
    try:
        link = new_token()
        participant = Participant(
            code=_unique_code(study),
            token=link,
            link=link,
            route=route,
            invite_id=invite.id if invite else None,
            enrolled_at=now,
            laptop=study.laptop,
        )
        event = ConsentEvent(
            participant_id=participant.id,
            kind=ConsentKind.enrol,
            document_version=current.consent.version,
            text_sha256=current.consent.text_sha256(language),
            language=language,
            granted=decision.granted,
            declined=decision.declined,
            method=method,
            witness=witness,
            at=now,
            laptop=study.laptop,
        )
        if contact is not None and not isinstance(contact, Mapping):
            raise Refused("The contact details could not be read; please enter them again.")
        contact_record = (
            Contact.model_validate({**contact, "participant_id": participant.id, "changed_at": now})
            if contact and any(contact.values())
            else None
        )
    except ValidationError as exc:
        raise Refused("; ".join(explain(exc))) from None
    with change(study) as tx:
        tx.insert("participants", to_doc(participant))
        tx.insert("consent_events", to_doc(event))
        if contact_record is not None:
            tx.insert("contacts", to_doc(contact_record))
        if invite is not None:
            tx.put("invites", row_of(study, "invites", invite.id), to_doc(invite.model_copy(update={"uses": invite.uses + 1})))
        audit(
            tx,
            actor,
            "participant enrolled",
            participant.code,
            {
                "route": route.value,
                "consent_version": current.consent.version,
                "declined": decision.declined,
                "invite": invite.label if invite else "",
                "witness": witness,
            },
            at=now,
            laptop=study.laptop,
        )
    return participant


@serialised
def relink_participant(study: Study, participant_id: str, actor: str) -> Participant:
    """A new private link for a participant (a lost phone, a photographed code): the old one stops at once.

    The returned participant carries the new link's token in ``link``; only its fingerprint is stored.
    """
    row = row_of(study, "participants", participant_id)
    old = Participant.model_validate(study.store.table("participants").get(row))
    link = new_token()
    new = old.model_copy(update={"token": link_fingerprint(link)})
    with change(study) as tx:
        tx.put("participants", row, to_doc(new))
        audit(tx, actor, "private link replaced", old.code, laptop=study.laptop)
    return new.model_copy(update={"link": link})


@serialised
def change_consent(
    study: Study,
    participant_id: str,
    answers: Mapping[str, Optional[bool]],
    method: ConsentMethod,
    actor: str,
    language: str = "en",
    witness: str = "",
    at: Optional[datetime] = None,
    reach: object = None,
) -> ConsentEvent:
    """Record new consent choices (a change of optional items, or re-consent to a new version).

    Not (or no longer) agreeing to be contacted deletes their contact details in the same change;
    ``reach`` (the phone page's box, when it asked) keeps or replaces them for someone who agrees.
    """
    participant = study.repo.participant(participant_id)
    if participant is None:
        raise NotFound("This participant is not known.")
    state = study.repo.consent_state(participant_id)
    if state.withdrawn:
        raise Refused("This participant has withdrawn; their consent cannot be changed.")
    current = _current(study)
    if language not in current.consent.text:
        language = next(iter(current.consent.text))
    decision, errors = decide_consent(current.consent, answers)
    item = contact_item(current.consent)
    fields = _reach(reach, item, decision.granted, errors)
    if errors:
        raise Refused(_refusal(errors), errors)
    kind = ConsentKind.reconsent if state.document_version != current.consent.version else ConsentKind.change
    try:
        event = ConsentEvent(
            participant_id=participant_id,
            kind=kind,
            document_version=current.consent.version,
            text_sha256=current.consent.text_sha256(language),
            language=language,
            granted=decision.granted,
            declined=decision.declined,
            method=method,
            witness=witness,
            at=at or utcnow(),
            laptop=study.laptop,
        )
    except ValidationError as exc:
        raise Refused("; ".join(explain(exc))) from None
    with change(study) as tx:
        tx.insert("consent_events", to_doc(event))
        if item is None or item not in decision.granted:
            put_contact(study, tx, participant_id, None, event.at)  # no longer to be contacted: details deleted
        elif fields is not None:
            put_contact(study, tx, participant_id, fields, event.at)
        audit(
            tx,
            actor,
            "consent " + ("renewed" if kind is ConsentKind.reconsent else "changed"),
            participant.code,
            {
                "consent_version": current.consent.version,
                "granted": decision.granted,
                "declined": decision.declined,
                "method": method.value,
            },
            at=event.at,
            laptop=study.laptop,
        )
    return event


REMOVED_WORDS = "(removed at the participant's request)"
PROPOSAL_ACTIONS = ("change proposed", "proposal note added", "proposal accepted", "proposal declined")


def remove_proposal_words(study: Study, tx: Any, participant_id: str) -> int:
    """Blank a withdrawing participant's own words in their proposals and in the audit lines naming them.

    The proposal, its status and the team's decision stay (what was decided, by whom and why).
    """
    table, trail = study.store.table("proposals"), study.store.table("audit")
    removed = 0
    for row in table.rows_where("participant_id", participant_id):
        doc = table.get(row)
        if doc is None or doc.get("title") == REMOVED_WORDS:
            continue
        tx.put("proposals", row, dict(doc, title=REMOVED_WORDS, rationale=REMOVED_WORDS))
        removed += 1
        for line in trail.rows_where("target", doc.get("title")):
            entry = trail.get(line)
            if entry is not None and entry.get("action") in PROPOSAL_ACTIONS and entry.get("at", "") >= doc.get("created_at", ""):
                tx.put("audit", line, dict(entry, target=REMOVED_WORDS))
    return removed


def tombstone(doc: dict[str, Any], removed_at: str) -> dict[str, Any]:
    """A contribution as a withdrawal with removal leaves it, on this laptop or in a merge: no answers,
    revisions, reviews, feedback or replies; its id, participant and times stay for the audit trail."""
    return dict(doc, values={}, history=[], feedback=[], replies=[], reviews=[], removed_at=removed_at)


@serialised
def withdraw(
    study: Study,
    participant_id: str,
    remove_data: bool,
    method: ConsentMethod,
    actor: str,
    witness: str = "",
    at: Optional[datetime] = None,
    language: Optional[str] = None,
) -> ConsentEvent:
    """Withdraw a participant; with ``remove_data`` their contributions become tombstones.

    Their contact details are deleted either way (leaving withdraws the consent to be contacted);
    the participant record and every consent event stay, as the record of what they decided.

    ``language`` is the language the withdrawal was asked in (else the one they last consented in).
    """
    participant = study.repo.participant(participant_id)
    if participant is None:
        raise NotFound("This participant is not known.")
    state = study.repo.consent_state(participant_id)
    if state.withdrawn:
        raise Refused("This participant has already withdrawn.")
    now = at or utcnow()
    current = _current(study)
    shown = language if language and language in current.consent.text else state.language
    event = ConsentEvent(
        participant_id=participant_id,
        kind=ConsentKind.withdraw,
        document_version=state.document_version or current.consent.version,
        text_sha256=current.consent.text_sha256(shown),
        language=shown,
        granted=[],
        declined=sorted(state.granted | state.declined),
        method=method,
        witness=witness,
        remove_data=remove_data,
        at=now,
        laptop=study.laptop,
    )
    table = study.store.table("contributions")
    removed = 0
    with change(study) as tx:
        tx.insert("consent_events", to_doc(event))
        if remove_data:
            for row in table.rows_where("participant_id", participant_id):
                doc = table.get(row)
                if doc is None or doc.get("removed_at"):
                    continue
                tx.put("contributions", row, tombstone(doc, now.isoformat()))
                removed += 1
            proposals = remove_proposal_words(study, tx, participant_id)
        # Leaving ends every consent, contact included: how to reach them is deleted either way.
        contact_row = study.store.table("contacts").find_row(participant_id)
        if contact_row is not None:
            tx.put("contacts", contact_row, {"participant_id": participant_id, "name": "", "phone": "", "email": ""})
        audit(
            tx,
            actor,
            "participant withdrew",
            participant.code,
            {
                "remove_data": remove_data,
                "contributions_removed": removed,
                "method": method.value,
                **({"proposals_removed": proposals} if remove_data else {}),
            },
            at=now,
            laptop=study.laptop,
        )
    return event
