"""Many contributions in one change: the demo at scale and any bulk source (issue 16).

Each contribution passes the same checks as ``add_contribution`` (the participant is known, their
consent covers the current form, every answer is validated against it) and gets its own
"contribution added" audit event; the whole batch is then one journal line, so it lands
together or not at all. The documents are built from one model-made template per batch, so no
pydantic model is made per record: that is where the time of a per-record call went.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional

from ..domain.models import AuditEvent, Contribution, ContributionSource, new_id, to_doc, utcnow
from ..domain.rules import validate_values
from .common import NotFound, Refused, Study, change, serialised
from .contributions import _consent_gate


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


@serialised
def add_contributions(study: Study, items: Sequence[NewContribution]) -> list[str]:
    """Store many contributions as one durable change; returns their ids, in order.

    Refused as a whole (nothing stored) when any one of them would be refused alone; the
    message names the first such contribution by its place in the batch.
    """
    if not items:
        return []
    current = study.repo.current_protocol()
    if current is None:
        raise Refused("This study has no published protocol yet.")
    codes: dict[str, str] = {}
    for n, item in enumerate(items, start=1):
        if item.participant_id not in codes:
            participant = study.repo.participant(item.participant_id)
            if participant is None:
                raise NotFound(f"Contribution {n}: this participant is not known.")
            try:
                _consent_gate(study, item.participant_id)
            except Refused as exc:
                raise Refused(f"Contribution {n}: {exc}") from None
            codes[item.participant_id] = participant.code
    first = items[0]
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
        AuditEvent(
            actor=first.actor.strip() or "unknown", action="contribution added", target=model.id, at=when, laptop=study.laptop
        )
    )
    docs: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    sources = {s: s.value for s in ContributionSource}
    for n, item in enumerate(items, start=1):
        values, errors = validate_values(current.fields, item.values)
        if errors:
            raise Refused(f"Contribution {n}: some answers need another look.", errors)
        actor = (item.actor or "").strip() or "unknown"
        if len(actor) > 120:
            raise Refused(f"Contribution {n}: the name in the activity log is too long (120 characters at most).")
        at = stamp(item.at or utcnow())
        cid = new_id()
        source = sources[ContributionSource(item.source)]
        docs.append(
            {
                **template,
                "id": cid,
                "participant_id": item.participant_id,
                "values": values,
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
                "actor": actor,
                "target": cid,
                "at": at,
                "details": {"participant": codes[item.participant_id], "source": source, "protocol_version": current.number},
            }
        )
    with change(study) as tx:
        for doc, event in zip(docs, events, strict=True):
            tx.insert("contributions", doc)
            tx.insert("audit", event)
    return [doc["id"] for doc in docs]
