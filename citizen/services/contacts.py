"""How to reach a participant: kept apart, only while they allow contact, changed or removed by them.

The rule: contact details are kept only for someone who granted the study's contact item (the
consent item whose role is "contacting them later"). Declining it, or leaving the study, deletes
them; a study without such an item keeps none. Each change is audited without the details
themselves, which never enter the activity log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from pydantic import ValidationError

from ..domain.models import ConsentDocument, ConsentRole, Contact, Participant, to_doc, utcnow
from ..domain.protocol_file import explain
from ..domain.reach import EMPTY, TOO_LONG, UNREADABLE, read_reach
from ..store import Transaction
from .common import NotFound, Refused, Study, audit, change, serialised

# Why a way to reach someone is refused (the phone pages translate these very words).
REACH_PROBLEMS = {
    EMPTY: "Please write a phone number or an e-mail address, or answer No to being contacted.",
    TOO_LONG: "This is too long: please write one phone number or one e-mail address.",
    UNREADABLE: "This does not look like a phone number or an e-mail address. Please check it.",
}


def contact_item(document: Optional[ConsentDocument]) -> Optional[str]:
    """The id of the item by which a participant asks to be contacted later, if the study has one."""
    item = document.item_for(ConsentRole.contact_later) if document is not None else None
    return item.id if item is not None else None


def reach_fields(text: object) -> dict[str, str]:
    """``{"phone": ...}`` or ``{"email": ...}`` from what they typed; Refused with the reason otherwise."""
    fields, problem = read_reach(text)
    if problem is not None:
        raise Refused(REACH_PROBLEMS[problem], {"reach": REACH_PROBLEMS[problem]})
    return fields


def has_details(contact: Optional[Contact]) -> bool:
    return contact is not None and bool(contact.name or contact.phone or contact.email)


def put_contact(study: Study, tx: Transaction, participant_id: str, fields: Optional[dict[str, str]], at: datetime) -> None:
    """Store their details in this change (``None``: delete them), keeping a name given at the desk."""
    table = study.store.table("contacts")
    row = table.find_row(participant_id)
    old = Contact.model_validate(table.get(row)) if row is not None else None
    if fields is None:
        if not has_details(old):
            return
        record = Contact(participant_id=participant_id, changed_at=at)
    else:
        try:
            record = Contact(
                participant_id=participant_id,
                name=old.name if old else "",
                phone=fields.get("phone", ""),
                email=fields.get("email", ""),
                changed_at=at,
            )
        except ValidationError as exc:
            raise Refused("; ".join(explain(exc)), {"reach": "; ".join(explain(exc))}) from None
    if row is None:
        tx.insert("contacts", to_doc(record))
    else:
        tx.put("contacts", row, to_doc(record))


def _contactable(study: Study, participant_id: str) -> Participant:
    participant = study.repo.participant(participant_id)
    if participant is None:
        raise NotFound("This participant is not known.")
    state = study.repo.consent_state(participant_id)
    if state.withdrawn:
        raise Refused("This participant has withdrawn; their contact details are not kept.")
    current = study.repo.current_protocol()
    if contact_item(current.consent if current is not None else None) is None:
        raise Refused("This study does not ask to contact its participants, so it keeps no contact details.")
    # Asked by role in the document they agreed to (their item may have had another id then).
    agreed = {v.consent.version: v.consent for v in study.repo.protocol_versions()}
    if not state.allows_role(ConsentRole.contact_later, agreed, absent=False):
        raise Refused("This participant has not agreed to be contacted, so no contact details are kept.")
    return participant


@serialised
def set_contact(study: Study, participant_id: str, reach: object, actor: str, at: Optional[datetime] = None) -> Contact:
    """Keep (or change) how to reach someone who agreed to be contacted: one phone number or e-mail."""
    participant = _contactable(study, participant_id)
    fields = reach_fields(reach)
    now = at or utcnow()
    with change(study) as tx:
        put_contact(study, tx, participant_id, fields, now)
        audit(tx, actor, "contact details changed", participant.code, {"kind": next(iter(fields))}, at=now, laptop=study.laptop)
    contact = study.repo.contact(participant_id)
    assert contact is not None
    return contact


@serialised
def remove_contact(study: Study, participant_id: str, actor: str, at: Optional[datetime] = None) -> None:
    """Delete how to reach them; their consent choices stay as they are."""
    participant = study.repo.participant(participant_id)
    if participant is None:
        raise NotFound("This participant is not known.")
    if not has_details(study.repo.contact(participant_id)):
        raise Refused("There are no contact details to remove.")
    now = at or utcnow()
    with change(study) as tx:
        put_contact(study, tx, participant_id, None, now)
        audit(tx, actor, "contact details removed", participant.code, at=now, laptop=study.laptop)
