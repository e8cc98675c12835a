"""Invite links kept sealed: made with this laptop's key, shown again only where that key is."""

from __future__ import annotations

from typing import Optional

from ..domain.links import Invite, open_seal, seal_token
from ..store import KeyFileProblem, key_path, laptop_key
from .common import Refused, Study


class LinkNotHere(Refused):
    """This laptop cannot show the invite's link: it was made elsewhere (or the key was lost)."""


def sealing_key(create: bool) -> Optional[bytes]:
    """This laptop's key (made on first use when ``create``); a key file that cannot be used is a plain refusal."""
    try:
        return laptop_key(create=create)
    except KeyFileProblem as exc:
        raise Refused(str(exc)) from None


def sealed(invite: Invite, token: str) -> Invite:
    """The invite as it is stored: its token sealed with this laptop's key (made if need be)."""
    key = sealing_key(create=True)
    assert key is not None
    return invite.model_copy(update={"sealed": seal_token(key, invite.id, token), "token": token})


def invite_token(study: Study, invite: Invite) -> str:
    """The invite's link token, when this laptop can show it; else a refusal saying where it can."""
    if invite.token:
        return invite.token
    key = sealing_key(create=False) if invite.sealed else None
    token = open_seal(key, invite.id, invite.sealed, invite.fingerprint) if key else None
    if token:
        return token
    raise LinkNotHere(
        f"The link of the invite '{invite.label}' can only be shown on the laptop that made it: this "
        f"laptop keeps a fingerprint of it, which lets phones join through it but cannot show it "
        f"(the key that would, {key_path()}, is not the one that sealed it). Make a new invite here "
        f"to show a QR code: `citizen invite create {study.id} LABEL`, or n on the Enrolment screen."
    )


def invite_link_or_none(study: Study, invite: Invite) -> Optional[str]:
    try:
        return invite_token(study, invite)
    except Refused:
        return None
