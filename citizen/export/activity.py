"""activity.csv: the study's activity log, as it may leave with the data, so a partner can audit the study.

Who did what, when, to which record: never an event's details (answers, feedback, reasons, contact
details live there), and participants only by the code they have in this export. A participant who
is not in the export (withdrawn with removal, or not sharing with partners) appears as no one, and
the contributions that did not leave are not named.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..domain.models import AuditEvent
from ..store.repo import AuditEntry

ACTIVITY_HEADER = ["at", "actor", "action", "target", "participant"]
WITHHELD = "(not in this export)"
PARTICIPANT_ACTIONS = {"participant enrolled", "participant withdrew", "consent changed", "consent renewed"}


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
        target = e.target
        raw_code = ""
        if target in contribution_owner:
            raw_code = contribution_owner[target]
            if target not in exported:
                target = WITHHELD
        elif target in codes or e.action in PARTICIPANT_ACTIONS:
            raw_code, target = target, ""
        elif e.action == "data exported":  # the folder's name, not where it lies on this laptop
            target = target.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
        elif isinstance(details.get("participant"), str):
            raw_code = details["participant"]
        actor = e.actor
        if actor in codes:
            raw_code = raw_code or actor
            actor = "participant"
        code = codes.get(raw_code, WITHHELD) if raw_code else ""
        if not target and raw_code:
            target = code
        at = e.at + shifts.get(raw_code, timedelta(0))
        rows.append([at.isoformat().replace("+00:00", "Z"), actor, e.action, target, code])
    return rows
