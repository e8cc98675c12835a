"""What phones (and the desk) bring in, read off the activity log: who joined, contributed, corrected,
changed their consent or withdrew, today or in a change just committed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from .common import Study

WATCHED = {
    "participant enrolled": "joined",
    "contribution added": "contributed",
    "contribution corrected": "corrected a contribution",
    "feedback replied": "replied to feedback",
    "participant withdrew": "withdrew",
    "consent changed": "changed their consent",
    "consent renewed": "renewed their consent",
}


class Arrival(NamedTuple):
    at: str  # ISO 8601, UTC, as stored
    who: str  # the participant's code, or "-"
    what: str


def arrival_of(doc: Any) -> Arrival | None:
    """The arrival an activity log entry records, if it records one."""
    if not isinstance(doc, dict) or doc.get("action") not in WATCHED:
        return None
    details = doc.get("details") or {}
    action = doc["action"]
    who = details.get("participant") if action.startswith(("contribution", "feedback")) else doc.get("target", "")
    if action == "contribution corrected" and not who:
        who = doc.get("actor")  # corrections recorded before they named the participant: made from their page
    what = WATCHED[action]
    if action == "participant enrolled":
        route = details.get("route", "")
        what += f" ({route}" + (f", invite '{details['invite']}'" if details.get("invite") else "") + ")"
    elif action == "contribution added" and details.get("source"):
        what += f" ({details['source']})"
    return Arrival(str(doc.get("at", "")), str(who or "-"), what)


def arrivals_in(ops: Iterable[tuple[str, Any, Any]]) -> list[Arrival]:
    """What a committed change brought in (its activity log entries that record an arrival)."""
    return [a for table, _row, doc in ops if table == "audit" and (a := arrival_of(doc)) is not None]


def arrivals_since(study: Study, since: datetime) -> list[Arrival]:
    """Every arrival from ``since`` on, oldest first (the newest part of the activity log alone is read)."""
    with study.store.lock:
        docs = study.repo.audit_since(since)
    return [a for doc in docs if (a := arrival_of(doc)) is not None]


def start_of_today() -> datetime:
    """Midnight of this laptop's day, as a time that compares with the stored (UTC) ones."""
    return datetime.combine(date.today(), time()).astimezone()
