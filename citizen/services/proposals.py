"""Co-design proposals: anyone proposes, the discussion is kept, every decision is attributed."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from pydantic import ValidationError

from ..domain.design import locate_errors
from ..domain.models import Proposal, ProposalNote, ProposalStatus, to_doc, utcnow
from ..domain.protocol_file import explain
from .common import Refused, Study, audit, change, row_of, serialised, volunteers_gate


@serialised
def propose_change(
    study: Study,
    title: str,
    rationale: str,
    proposed_by: str,
    participant_id: Optional[str] = None,
    at: Optional[datetime] = None,
    from_phone: bool = False,
) -> Proposal:
    if from_phone:
        volunteers_gate(study)
    try:
        proposal = Proposal(
            title=title, rationale=rationale, proposed_by=proposed_by, participant_id=participant_id, created_at=at or utcnow()
        )
    except ValidationError as exc:
        raise Refused("; ".join(explain(exc)), locate_errors(exc)) from None
    with change(study) as tx:
        tx.insert("proposals", to_doc(proposal))
        audit(
            tx,
            proposed_by,
            "change proposed",
            proposal.title,
            {"by_participant": participant_id is not None},
            at=proposal.created_at,
            laptop=study.laptop,
        )
    return proposal


def _proposal(study: Study, proposal_id: str) -> tuple[int, Proposal]:
    row = row_of(study, "proposals", proposal_id)
    return row, Proposal.model_validate(study.store.table("proposals").get(row))


@serialised
def add_proposal_note(study: Study, proposal_id: str, text: str, by: str) -> Proposal:
    row, old = _proposal(study, proposal_id)
    try:
        note = ProposalNote(text=text, by=by)
    except ValidationError as exc:
        raise Refused("; ".join(explain(exc)), locate_errors(exc)) from None
    new = old.model_copy(update={"notes": [*old.notes, note]})
    with change(study) as tx:
        tx.put("proposals", row, to_doc(new))
        audit(tx, by, "proposal note added", old.title, laptop=study.laptop)
    return new


@serialised
def decide_proposal(
    study: Study, proposal_id: str, accepted: bool, reason: str, decided_by: str, at: Optional[datetime] = None
) -> Proposal:
    row, old = _proposal(study, proposal_id)
    if old.status is not ProposalStatus.open:
        raise Refused(f"This proposal was already {old.status.value} by {old.decided_by}.")
    if not reason.strip():
        msg = "Please give the reason for the decision; the community will read it."
        raise Refused(msg, {"reason": msg})
    if not decided_by.strip():
        raise Refused("Please say who decided.", {"decided_by": "Please say who decided."})
    new = old.model_copy(
        update={
            "status": ProposalStatus.accepted if accepted else ProposalStatus.declined,
            "decision_reason": reason.strip(),
            "decided_by": decided_by.strip(),
            "decided_at": at or utcnow(),
        }
    )
    with change(study) as tx:
        tx.put("proposals", row, to_doc(Proposal.model_validate(to_doc(new))))
        audit(
            tx, decided_by, "proposal " + new.status.value, old.title, {"reason": reason}, at=new.decided_at, laptop=study.laptop
        )
    return new


def propose(study: Study, title: str, rationale: str, proposed_by: str, participant_code: str = "") -> Proposal:
    """A proposal from a team member, or from a participant (by their code) as recorded by the team."""
    participant_id = None
    code = participant_code.strip().upper()
    if code:
        participant = study.repo.participant_by("code", code)
        if participant is None:
            msg = f"No participant has the code {code}; check it on their card."
            raise Refused(msg, {"participant_code": msg})
        participant_id = participant.id
    return propose_change(study, title, rationale, proposed_by, participant_id=participant_id)
