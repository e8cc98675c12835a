"""Links that phones open, and what is kept of them: private links and invites (join links).

A private link's token is kept only as its fingerprint (SHA-256), so a copy of the data cannot
open anyone's page. An invite's token is kept as its fingerprint too (to check a link a phone
opens), and sealed with a key that stays on the laptop that made it (outside the data folder), so
that laptop, and only it, can show the invite's link and QR code again. The seal is the token
XORed with a keystream of HMAC-SHA256 blocks under that key, bound to the invite's id; it is
opened only when what comes out has the stored fingerprint (another laptop's key gives nothing).

An invite's state (open, or why it enrols no one) is a value here; the pages and screens choose
the words for it.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from enum import Enum
from typing import Any, Optional

from pydantic import Field, model_validator

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


SEAL_CONTEXT = b"citizen invite link v1\0"


def _keystream(key: bytes, invite_id: str, length: int) -> bytes:
    blocks = []
    for counter in range((length + 31) // 32):
        message = SEAL_CONTEXT + invite_id.encode("utf-8") + b"\0" + counter.to_bytes(4, "big")
        blocks.append(hmac.new(key, message, hashlib.sha256).digest())
    return b"".join(blocks)[:length]


def _xor(data: bytes, stream: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, stream, strict=True))


def seal_token(key: bytes, invite_id: str, token: str) -> str:
    """The invite's token sealed with this laptop's key (hexadecimal), bound to the invite's id."""
    raw = token.encode("ascii")
    return _xor(raw, _keystream(key, invite_id, len(raw))).hex()


def open_seal(key: bytes, invite_id: str, sealed: str, fingerprint: str) -> Optional[str]:
    """The token back from its seal, or None when this key did not seal it (another laptop's)."""
    try:
        raw = bytes.fromhex(sealed)
        token = _xor(raw, _keystream(key, invite_id, len(raw))).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
    return token if token and hmac.compare_digest(link_fingerprint(token), fingerprint) else None


def stored_invite(doc: dict[str, Any]) -> dict[str, Any]:
    """An invite's record as it is kept and carried: from an older version's record (its token
    stored as it is), the token's fingerprint, and no token."""
    token = doc.get("token")
    if "token" not in doc:
        return doc
    out = {k: v for k, v in doc.items() if k != "token"}
    if isinstance(token, str) and token and "fingerprint" not in out:
        out["fingerprint"] = link_fingerprint(token)
    out.setdefault("sealed", "")
    return out


class InviteState(str, Enum):
    """Whether an invite enrols people now, and if not, why."""

    open = "open"
    closed = "closed"  # closed by the team
    expired = "expired"  # its last day has passed
    used_up = "used up"  # as many people as its limit allowed have joined


class Invite(Record):
    id: str = Field(default_factory=new_id)
    fingerprint: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")  # what checks a link a phone opens
    sealed: str = Field(default="", pattern=r"^([0-9a-f]{2}){0,64}$")  # the token, for the laptop that made it
    # The link's token when it is known here (just made, opened with this laptop's key, or read from
    # an older version's record that kept it as it is); never stored.
    token: Optional[str] = Field(default=None, exclude=True, repr=False)
    label: str = Field(min_length=1, max_length=120)
    limit: Optional[int] = Field(default=None, ge=1)
    expires_at: Optional[datetime] = None
    uses: int = Field(default=0, ge=0)
    closed: bool = False
    created_at: datetime = Field(default_factory=utcnow)

    @model_validator(mode="before")
    @classmethod
    def _from_token(cls, data: Any) -> Any:
        if isinstance(data, dict) and "fingerprint" not in data and isinstance(data.get("token"), str) and data["token"]:
            return dict(data, fingerprint=link_fingerprint(data["token"]))
        return data

    @property
    def kept_as_is(self) -> bool:
        """Read from a record that holds its token as it is (an older version's, not converted yet)."""
        return self.token is not None and not self.sealed

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
