"""Many contributions in one change: the demo at scale, phones posting at once, any bulk source (issue 16).

Each contribution passes the same checks as ``add_contribution`` (the participant is known, a
phone's only while the study is open to volunteers, their consent covers the current form, every
answer is validated against it) and gets its own "contribution added" audit event; the batch is
then one journal line, so it lands together or not at all. The documents are built from one
model-made template per batch, so no pydantic model is made per record: that is where the time of
a per-record call went.

``add_contributions`` refuses the whole batch when one would be refused (the demo, imports);
``add_contributions_each`` refuses each bad one alone, with the message ``add_contribution``
would give it, and stores the others (phones posting at the same moment, stored with one fsync).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional, Union

from ..domain.models import AuditEvent, Contribution, ContributionSource, ProtocolVersion, new_id, to_doc, utcnow
from .common import NotFound, Refused, ServiceError, Study, change, serialised
from .contributions import checked_answers


@dataclass(frozen=True)
class NewContribution:
    """One contribution of a batch: whose, the answers as typed, where from, who keyed it, when."""

    participant_id: str
    values: Mapping[str, Any]
    source: ContributionSource
    actor: str
    at: Optional[datetime] = None


def stamp(at: datetime) -> str:
    """A time as the store keeps it (UTC, ISO 8601 with ``Z``): what pydantic writes for a record."""
    if at.tzinfo is None:
        raise ValueError("a contribution's time needs a time zone")
    return at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class _Checked:
    """A contribution that passed every check: its answers as stored, who keyed it, the participant's code."""

    item: NewContribution
    values: dict[str, Any]
    actor: str
    code: str


def _check(study: Study, item: NewContribution, current: ProtocolVersion, codes: dict[str, str], gate: bool) -> _Checked:
    """The checks of ``add_contribution``, in its order and with its messages (``gate``: a phone's
    contribution only while the study is open to volunteers)."""
    if item.participant_id not in codes:
        participant = study.repo.participant(item.participant_id)
        if participant is None:
            raise NotFound("This participant is not known.")
        codes[item.participant_id] = participant.code
    values = checked_answers(study, item.participant_id, item.source, item.values, current, gate)
    actor = (item.actor or "").strip() or "unknown"
    if len(actor) > 120:
        raise Refused("The name in the activity log is too long (120 characters at most).")
    return _Checked(item, values, actor, codes[item.participant_id])


def _lower(exc: Exception) -> str:
    said = str(exc)
    return said[:1].lower() + said[1:]


def _current(study: Study) -> ProtocolVersion:
    current = study.repo.current_protocol()
    if current is None:
        raise Refused("This study has no published protocol yet.")
    return current


def _store(study: Study, current: ProtocolVersion, checked: Sequence[_Checked]) -> list[str]:
    """One durable change holding every checked contribution and its audit event; their ids, in order."""
    if not checked:
        return []
    first = checked[0].item
    when = first.at or utcnow()
    model = Contribution(
        participant_id=first.participant_id,
        protocol_version=current.number,
        values={},
        submitted_at=when,
        source=first.source,
        laptop=study.laptop,
    )
    template = to_doc(model)
    audit_template = to_doc(
        AuditEvent(actor=checked[0].actor, action="contribution added", target=model.id, at=when, laptop=study.laptop)
    )
    sources = {s: s.value for s in ContributionSource}
    docs: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for one in checked:
        at = stamp(one.item.at or utcnow())
        cid = new_id()
        source = sources[ContributionSource(one.item.source)]
        docs.append(
            {
                **template,
                "id": cid,
                "participant_id": one.item.participant_id,
                "values": one.values,
                "submitted_at": at,
                "source": source,
                "reviews": [],
                "feedback": [],
                "history": [],
            }
        )
        events.append(
            {
                **audit_template,
                "id": new_id(),
                "actor": one.actor,
                "target": cid,
                "at": at,
                "details": {"participant": one.code, "source": source, "protocol_version": current.number},
            }
        )
    with change(study) as tx:
        for doc, event in zip(docs, events, strict=True):
            tx.insert("contributions", doc)
            tx.insert("audit", event)
    return [doc["id"] for doc in docs]


@serialised
def add_contributions(study: Study, items: Sequence[NewContribution]) -> list[str]:
    """Store many contributions as one durable change; returns their ids, in order.

    Refused as a whole (nothing stored) when any one of them would be refused alone; the
    message names the first such contribution by its place in the batch. Made for what was
    given earlier (a history, an import): a phone's is not refused because the study is paused now.
    """
    if not items:
        return []
    current = _current(study)
    codes: dict[str, str] = {}
    checked: list[_Checked] = []
    for n, item in enumerate(items, start=1):
        try:
            checked.append(_check(study, item, current, codes, gate=False))
        except NotFound as exc:
            raise NotFound(f"Contribution {n}: {_lower(exc)}") from None
        except Refused as exc:
            raise Refused(f"Contribution {n}: {_lower(exc)}", exc.errors) from None
    return _store(study, current, checked)


@serialised
def add_contributions_each(study: Study, items: Sequence[NewContribution]) -> list[Union[str, ServiceError]]:
    """Store the contributions that pass their checks as one durable change; refuse each other one alone.

    Returns, in order, each stored contribution's id or the refusal ``add_contribution`` would
    have raised for it. A change that cannot be written (a full disk) raises: none is stored.
    """
    if not items:
        return []
    current = _current(study)
    codes: dict[str, str] = {}
    refusals: list[Optional[ServiceError]] = []
    checked: list[_Checked] = []
    for item in items:
        try:
            checked.append(_check(study, item, current, codes, gate=True))
            refusals.append(None)
        except ServiceError as exc:
            refusals.append(exc)
    ids = iter(_store(study, current, checked))
    return [next(ids) if refusal is None else refusal for refusal in refusals]
