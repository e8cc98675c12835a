"""Links that phones open, and what is kept of them: private links and invites (join links).

A private link's token is kept only as its fingerprint (SHA-256), so a copy of the data cannot
open anyone's page. An invite's state (open, or why it enrols no one) is a value here; the
pages and screens choose the words for it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import Enum
from typing import Any, Optional

from pydantic import Field

from .base import Record, new_id, utcnow

LINK_FINGERPRINT = "sha256:"
UNLINKED = "unlinked-"  # a participant received from a hub: no one holds a link to them here


def link_fingerprint(token: str) -> str:
    """What is stored of a link's token: its SHA-256, so a copy of the data cannot open a page.

    The token carries 144 random bits, so no salt is needed. Already a fingerprint (or a
    placeholder no one holds): kept as it is, so older data and bundles read the same.
    """
    if token.startswith((LINK_FINGERPRINT, UNLINKED)):
        return token
    return LINK_FINGERPRINT + hashlib.sha256(token.encode("utf-8")).hexdigest()


def fingerprinted(doc: dict[str, Any]) -> dict[str, Any]:
    """A participant's stored record with its link token as a fingerprint (records from older versions)."""
    token = doc.get("token")
    if isinstance(token, str) and not token.startswith((LINK_FINGERPRINT, UNLINKED)):
        return dict(doc, token=link_fingerprint(token))
    return doc


class InviteState(str, Enum):
    """Whether an invite enrols people now, and if not, why."""

    open = "open"
    closed = "closed"  # closed by the team
    expired = "expired"  # its last day has passed
    used_up = "used up"  # as many people as its limit allowed have joined


class Invite(Record):
    id: str = Field(default_factory=new_id)
    token: str = Field(min_length=22)
    label: str = Field(min_length=1, max_length=120)
    limit: Optional[int] = Field(default=None, ge=1)
    expires_at: Optional[datetime] = None
    uses: int = Field(default=0, ge=0)
    closed: bool = False
    created_at: datetime = Field(default_factory=utcnow)

    def state(self, now: Optional[datetime] = None) -> InviteState:
        """Whether this invite can enrol someone at ``now``; a closed invite says so before an expired one."""
        now = now or utcnow()
        if self.closed:
            return InviteState.closed
        if self.expires_at is not None and now >= self.expires_at:
            return InviteState.expired
        if self.limit is not None and self.uses >= self.limit:
            return InviteState.used_up
        return InviteState.open
