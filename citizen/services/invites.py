"""Invites as people type and see them: a label, a limit and an expiry day read from text, the
state of each invite in a word, and finding an invite by its label."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Optional

from ..domain.models import Invite, InviteState, utcnow
from .common import NotFound, Refused, Study
from .participation import create_invite

LABEL_MAX = 120


@dataclass(frozen=True)
class InviteRow:
    """One invite as a list shows it."""

    invite: Invite
    status: InviteState

    @property
    def label(self) -> str:
        return self.invite.label

    @property
    def uses(self) -> str:
        """Enrolments so far, out of the limit when there is one: '3/50', or '3'."""
        return f"{self.invite.uses}/{self.invite.limit}" if self.invite.limit else str(self.invite.uses)

    @property
    def is_open(self) -> bool:
        return self.status is InviteState.open

    @property
    def state_word(self) -> str:
        """The state as the desk's screens and the command line say it."""
        return STATE_WORDS[self.status]


# An invite's state in a word, for the team (the phone pages say why in the page's language).
STATE_WORDS = {
    InviteState.open: "open",
    InviteState.closed: "closed",
    InviteState.expired: "expired",
    InviteState.used_up: "used up",
}


def invite_rows(study: Study, now: Optional[datetime] = None) -> list[InviteRow]:
    """Every invite of the study, open ones first, then newest first."""
    now = now or utcnow()
    rows = [InviteRow(i, i.state(now)) for i in study.repo.invites()]
    rows.sort(key=lambda r: r.invite.created_at, reverse=True)
    rows.sort(key=lambda r: not r.is_open)
    return rows


def parse_limit(text: str) -> Optional[int]:
    """An empty box is no limit; otherwise a whole number of enrolments, 1 or more."""
    text = (text or "").strip().replace(",", "").replace("_", "")
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        message = f"The limit must be a whole number of people, 1 or more (not '{text[:40]}'); leave it empty for none."
        raise Refused(message, {"limit": message})
    if int(text) > 1_000_000:
        message = "The limit can be at most 1,000,000 people; leave it empty for none."
        raise Refused(message, {"limit": message})
    return int(text)


def parse_expiry(text: str, now: Optional[datetime] = None) -> Optional[datetime]:
    """An empty box never expires; a day (YYYY-MM-DD) lasts to the end of that day, local time;
    a date and time (ISO 8601) without a zone is local time. It must lie in the future."""
    text = (text or "").strip()
    if not text:
        return None
    now = now or utcnow()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            when = datetime.combine(day, time(23, 59, 59)).astimezone()
        else:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if when.tzinfo is None:
                when = when.astimezone()  # a time as typed on this laptop
    except ValueError:
        message = (
            f"'{text[:40]}' is not a date: write the last day as year-month-day, like 2026-12-31 "
            "(or a date and time, like 2026-12-31T18:00)."
        )
        raise Refused(message, {"expires": message}) from None
    when = when.astimezone(now.tzinfo)
    if when <= now:
        message = f"{text} has already passed; choose a day from today on, or leave it empty for no expiry."
        raise Refused(message, {"expires": message})
    return when


def create_invite_as_typed(study: Study, label: str, actor: str, limit: str = "", expires: str = "") -> Invite:
    """Create an invite from the boxes as typed (label, limit, last day), read through parse_limit and
    parse_expiry, then `create_invite`; each refusal names the box it is about."""
    errors: dict[str, str] = {}
    label = (label or "").strip()
    if not label:
        errors["label"] = "An invite needs a label, such as 'library poster'."
    elif len(label) > LABEL_MAX:
        errors["label"] = f"A label can be at most {LABEL_MAX} characters ({len(label)} given)."
    parsed_limit: Optional[int] = None
    parsed_expiry: Optional[datetime] = None
    try:
        parsed_limit = parse_limit(limit)
    except Refused as exc:
        errors.update(exc.errors)
    try:
        parsed_expiry = parse_expiry(expires)
    except Refused as exc:
        errors.update(exc.errors)
    if "label" not in errors and any(i.label == label and not i.closed for i in study.repo.invites()):
        errors["label"] = f"An open invite is already called '{label}'; choose another label, or close that one first."
    if errors:
        raise Refused(next(iter(errors.values())) if len(errors) == 1 else "Please correct the marked boxes.", errors)
    return create_invite(study, label, actor, limit=parsed_limit, expires_at=parsed_expiry)


def find_invite(study: Study, label: str) -> Invite:
    """The invite called ``label``: the open one if there is one, else the latest of that name."""
    named = [r for r in invite_rows(study) if r.label == label.strip()]
    if not named:
        known = ", ".join(f"'{r.label}'" for r in invite_rows(study)) or "none yet"
        raise NotFound(f"This study has no invite called '{label}' (invites: {known}).")
    return named[0].invite


def only_open_invite(study: Study) -> Invite:
    """The study's one open invite; when there are none or several, say what to do instead."""
    rows = [r for r in invite_rows(study) if r.is_open]
    if len(rows) == 1:
        return rows[0].invite
    if not rows:
        raise NotFound(
            f"Study '{study.id}' has no open invite. Create one with `citizen invite create {study.id} \"library poster\"`."
        )
    labels = ", ".join(f"'{r.label}'" for r in rows)
    raise Refused(f"Study '{study.id}' has {len(rows)} open invites ({labels}); choose one with --invite LABEL.")
