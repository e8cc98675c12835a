"""activity.csv: the study's activity log, as it may leave with the data, so a partner can audit the study.

Who did what, when, to which record: never an event's details (answers, feedback, reasons, contact
details live there), and participants only by the code they have in this export. A participant who
is not in the export (withdrawn with removal, or not sharing with partners) appears as no one, and
the contributions that did not leave are not named.
"""

from __future__ import annotations

from datetime import timedelta
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple, Optional

from ..domain.models import AuditEvent
from ..store.export_ready import EPOCH, plain
from ..store.repo import AuditEntry
from .ready import cell_text

if TYPE_CHECKING:
    from .rows import StudyReading

ACTIVITY_HEADER = ["at", "actor", "action", "target", "participant"]
WITHHELD = "(not in this export)"
PARTICIPANT_ACTIONS = {"participant enrolled", "participant withdrew", "consent changed", "consent renewed"}


def placed(
    actor: str,
    action: str,
    target: str,
    named: Optional[str],
    codes: dict[str, str],
    contribution_owner: dict[str, str],
    exported: set[str],
) -> tuple[str, str, str, str]:
    """One event's actor and target as activity.csv shows them, the study code of the participant it
    concerns ("" if none) and the code the export gives them. ``named``: a participant named in its details."""
    raw_code = ""
    if target in contribution_owner:
        raw_code = contribution_owner[target]
        if target not in exported:
            target = WITHHELD
    elif target in codes or action in PARTICIPANT_ACTIONS:
        raw_code, target = target, ""
    elif action == "data exported":  # the folder's name, not where it lies on this laptop
        target = target.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    elif named is not None:
        raw_code = named
    if actor in codes:
        raw_code = raw_code or actor
        actor = "participant"
    code = codes.get(raw_code, WITHHELD) if raw_code else ""
    if not target and raw_code:
        target = code
    return actor, target, raw_code, code


def activity_rows(
    events: list[AuditEvent] | list[AuditEntry],
    codes: dict[str, str],
    shifts: dict[str, timedelta],
    contribution_owner: dict[str, str],
    exported: set[str],
) -> list[list[Any]]:
    """One row per audit event, oldest first.

    ``codes`` maps each exported participant's study code to the code the export uses (hashed or not);
    ``contribution_owner`` maps contribution ids to their participant's study code; ``exported`` is the
    set of contribution ids in contributions.csv. A participant's events move by their date shift.
    """
    rows: list[list[Any]] = []
    for e in sorted(events, key=lambda e: e.at):  # stable: events of one moment keep the log's order
        details = e.details or {}
        named = details["participant"] if isinstance(details.get("participant"), str) else None
        actor, target, raw_code, code = placed(e.actor, e.action, e.target, named, codes, contribution_owner, exported)
        at = e.at + shifts.get(raw_code, timedelta(0))
        rows.append([at.isoformat().replace("+00:00", "Z"), actor, e.action, target, code])
    return rows


class Activity(NamedTuple):
    rows: list[list[Any]]  # activity.csv's rows, when read from the log's records
    lines: Optional[list[str]]  # else its rows as CSV text, read from the export-ready form


def activity_of(
    reading: StudyReading,
    codes: dict[str, str],
    shifts: dict[str, timedelta],
    contribution_owner: dict[str, str],
    exported: set[str],
) -> Activity:
    """activity.csv (see ``activity_rows``), from the log as an export reads it, kept per segment
    (store/export_ready.py), or from its records where a segment is odd. Called under the study's lock."""
    kept = reading.activity_ready() if reading.activity_ready is not None else None
    if kept is None:
        return Activity(activity_rows(reading.audit_events, codes, shifts, contribution_owner, exported), None)
    return Activity([], activity_lines(kept, codes, shifts, contribution_owner, exported))


def activity_lines(
    kept: list[tuple[Any, ...]],
    codes: dict[str, str],
    shifts: dict[str, timedelta],
    contribution_owner: dict[str, str],
    exported: set[str],
) -> list[str]:
    """activity.csv's rows as CSV text, exactly as ``activity_rows`` makes them and the csv module writes them.

    ``kept``: every event as ``[microseconds, time as written, actor, action, target, participant named]``.
    """
    lines: list[str] = []
    texts: dict[str, str] = {"": ""}  # actors, actions and codes repeat: each laid out once

    def text(value: str) -> str:
        found = texts.get(value)
        if found is None:
            found = texts[value] = value if plain(value) else cell_text(value, False)
        return found

    no_shift = timedelta(0)
    get = texts.get
    for us, when, actor, action, target, named in sorted(kept, key=itemgetter(0)):  # stable, as the times sort
        actor, target, raw_code, code = placed(actor, action, target, named, codes, contribution_owner, exported)
        shift = shifts.get(raw_code, no_shift)
        if shift:
            when = (EPOCH + timedelta(microseconds=us) + shift).isoformat().replace("+00:00", "Z")
        target_text = target if plain(target) else cell_text(target, False)
        lines.append(
            f"{when},{get(actor) or text(actor)},{get(action) or text(action)},{target_text},{get(code) or text(code)}\r\n"
        )
    return lines
