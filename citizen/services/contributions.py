"""Contributions, their review, feedback to contributors and updates to everyone."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Optional

from pydantic import ValidationError

from ..domain.models import (
    Contribution,
    ContributionSource,
    Feedback,
    ProtocolVersion,
    Reply,
    ReviewNote,
    ReviewState,
    Revision,
    Update,
    to_doc,
    utcnow,
)
from ..domain.protocol_file import explain
from ..domain.rules import reply_problem, validate_values
from .common import NotFound, Refused, ServiceError, Study, audit, change, row_of, serialised, volunteers_gate


def consent_gate(study: Study, participant_id: str) -> None:
    current = study.repo.current_protocol()
    if current is None:
        raise ServiceError("This study has no published protocol yet.")
    state = study.repo.consent_state(participant_id)
    if state.withdrawn:
        raise Refused("This participant has withdrawn; nothing more can be added for them.")
    if not state.enrolled:
        raise Refused("This participant has not given consent, so nothing can be added for them.")
    if state.needs_reconsent(current.consent):
        raise Refused("The consent document has changed: the participant needs to re-consent before contributing.")
    if not state.covers(current.consent):
        raise Refused("This participant's consent does not cover contributing.")


def checked_answers(
    study: Study,
    participant_id: str,
    source: ContributionSource,
    raw_values: Mapping[str, Any],
    current: Optional[ProtocolVersion],
    gate: bool,
) -> dict[str, Any]:
    """The checks of a new contribution of a known participant, in this order and with these messages:
    a phone's only while the study is open to volunteers (``gate``), the participant's consent, then
    the answers against the current form; the answers as stored."""
    if gate and ContributionSource(source) is ContributionSource.phone:
        volunteers_gate(study)
    consent_gate(study, participant_id)
    assert current is not None  # the consent gate refuses a study with no published protocol
    values, errors = validate_values(current.fields, raw_values)
    if errors:
        raise Refused("Some answers need another look.", errors)
    return values


@serialised
def add_contribution(
    study: Study,
    participant_id: str,
    raw_values: Mapping[str, Any],
    source: ContributionSource,
    actor: str,
    at: Optional[datetime] = None,
) -> Contribution:
    """Validate answers against the current form and store them, if the participant's consent covers it."""
    participant = study.repo.participant(participant_id)
    if participant is None:
        raise NotFound("This participant is not known.")
    current = study.repo.current_protocol()
    values = checked_answers(study, participant_id, source, raw_values, current, gate=True)
    assert current is not None
    contribution = Contribution(
        participant_id=participant_id,
        protocol_version=current.number,
        values=values,
        submitted_at=at or utcnow(),
        source=source,
        laptop=study.laptop,
    )
    with change(study) as tx:
        tx.insert("contributions", to_doc(contribution))
        audit(
            tx,
            actor,
            "contribution added",
            contribution.id,
            {"participant": participant.code, "source": source.value, "protocol_version": current.number},
            at=contribution.submitted_at,
            laptop=study.laptop,
        )
    return contribution


def _contribution(study: Study, contribution_id: str) -> tuple[int, Contribution]:
    row = row_of(study, "contributions", contribution_id)
    doc = study.store.table("contributions").get(row)
    return row, Contribution.model_validate(doc)


def _their_own(study: Study, participant_id: str, contribution_id: str) -> tuple[int, Contribution]:
    """A contribution its contributor changes from their phone: theirs, not removed, the study open to them."""
    try:
        row, old = _contribution(study, contribution_id)
    except NotFound:
        raise NotFound("This contribution is not known.") from None
    if old.participant_id != participant_id:
        raise NotFound("This contribution is not known.")
    if old.removed:
        raise Refused("This contribution was removed at the contributor's request.")
    volunteers_gate(study)
    return row, old


@serialised
def correct_contribution(
    study: Study,
    participant_id: str,
    contribution_id: str,
    raw_values: Mapping[str, Any],
    actor: str,
    at: Optional[datetime] = None,
) -> Contribution:
    """A contributor corrects their own contribution: a new revision, the old values kept in its history."""
    row, old = _their_own(study, participant_id, contribution_id)
    consent_gate(study, participant_id)
    version = study.repo.protocol_version(old.protocol_version)
    assert version is not None
    values, errors = validate_values(version.fields, raw_values)
    if errors:
        raise Refused("Some answers need another look.", errors)
    if values == old.values:
        raise Refused("Nothing was changed.")
    now = at or utcnow()
    # Each revision keeps when its values were given: first the submission, then each correction.
    previous_at = old.corrected_at or (old.history[-1].at if old.history else old.submitted_at)
    history = [*old.history, Revision(values=old.values, at=previous_at)]
    new = old.model_copy(update={"values": values, "history": history, "corrected_at": now, "review_state": ReviewState.received})
    new = Contribution.model_validate(to_doc(new))
    with change(study) as tx:
        tx.put("contributions", row, to_doc(new))
        changed = sorted(k for k in set(values) | set(old.values) if values.get(k) != old.values.get(k))
        who = study.repo.participant(participant_id)
        audit(
            tx,
            actor,
            "contribution corrected",
            contribution_id,
            {"participant": who.code if who else "", "fields": changed, "revision": len(history) + 1},
            at=now,
            laptop=study.laptop,
        )
    return new


@serialised
def review_contributions(study: Study, contribution_ids: Iterable[str], state: ReviewState, note: str, actor: str) -> int:
    """Set the review state of one or more contributions, with a note, as one change; returns how many."""
    ids = list(dict.fromkeys(contribution_ids))
    if not ids:
        raise Refused("Choose at least one contribution to review.")
    try:
        review = ReviewNote(state=state, note=note, by=actor)
    except ValidationError as exc:
        raise Refused("; ".join(explain(exc))) from None
    # The stored documents are already valid records: the new ones are made from them directly
    # (a model per contribution made reviewing a few thousand at once take seconds).
    note_doc = to_doc(review)
    table = study.store.table("contributions")
    updated = []
    with change(study) as tx:
        for cid in ids:
            row = row_of(study, "contributions", cid)
            old = table.get(row)
            assert old is not None
            if old.get("removed_at"):
                raise Refused("A removed contribution cannot be reviewed.")
            doc = {**old, "review_state": state.value, "reviews": [*old.get("reviews", []), note_doc]}
            tx.put("contributions", row, doc)
            updated.append(doc)
        audit(
            tx,
            actor,
            "contributions reviewed",
            ids[0] if len(ids) == 1 else f"{len(ids)} contributions",
            {"state": state.value, "note": note, "count": len(ids)},
            laptop=study.laptop,
        )
    return len(updated)


@serialised
def give_feedback(study: Study, contribution_id: str, text: str, actor: str) -> Contribution:
    """Feedback the contributor sees on their own page: what came of their work."""
    row, old = _contribution(study, contribution_id)
    if old.removed:
        raise Refused("A removed contribution cannot get feedback.")
    try:
        fb = Feedback(text=text, by=actor)
    except ValidationError as exc:
        raise Refused("; ".join(explain(exc))) from None
    new = old.model_copy(update={"feedback": [*old.feedback, fb]})
    with change(study) as tx:
        tx.put("contributions", row, to_doc(new))
        audit(tx, actor, "feedback given", contribution_id, {"text": text[:200]}, laptop=study.laptop)
    return new


@serialised
def reply_to_feedback(
    study: Study,
    participant_id: str,
    contribution_id: str,
    feedback_at: datetime,
    text: str,
    actor: str,
    at: Optional[datetime] = None,
) -> Contribution:
    """A contributor answers the team's feedback from their own page.

    The reply is kept with the contribution, in the conversation the team reads; it is never
    exported as data. The activity log records that a reply came, never its words.
    """
    row, old = _their_own(study, participant_id, contribution_id)
    if study.repo.consent_state(participant_id).withdrawn:
        raise Refused("This participant has withdrawn; nothing more can be added for them.")
    if not any(f.at == feedback_at for f in old.feedback):
        raise NotFound("This feedback is not known.")
    problem = reply_problem(text)
    if problem is not None:
        raise Refused(problem, {"reply": problem})
    reply = Reply(text=text, to=feedback_at, at=at or utcnow())
    new = old.model_copy(update={"replies": [*old.replies, reply]})
    with change(study) as tx:
        tx.put("contributions", row, to_doc(new))
        who = study.repo.participant(participant_id)
        details = {"participant": who.code if who else "", "feedback_at": to_doc(reply)["to"]}
        audit(tx, actor, "feedback replied", contribution_id, details, at=reply.at, laptop=study.laptop)
    return new


@serialised
def post_update(
    study: Study,
    title: str,
    body: dict[str, str],
    actor: str,
    at: Optional[datetime] = None,
    titles: Optional[dict[str, str]] = None,
) -> Update:
    """A 'what we learned' message every participant sees on their page (``titles``: the title in other languages)."""
    try:
        update = Update(title=title, body=body, author=actor, posted_at=at or utcnow(), title_text=titles or {})
    except ValidationError as exc:
        raise Refused("; ".join(explain(exc))) from None
    with change(study) as tx:
        tx.insert("updates", to_doc(update))
        audit(tx, actor, "update posted", update.title, at=update.posted_at, laptop=study.laptop)
    return update
