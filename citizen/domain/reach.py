"""How to reach a participant who asked to be contacted: one phone number or one e-mail address.

A volunteer writes it in one box, as they would say it; it is read as a phone number when it is
made of digits (with the usual ``+ - ( ) .`` and spaces) and as an e-mail address when it has an
``@``. Anything else is refused with the reason, by a fixed key that each interface words in its
own language.
"""

from __future__ import annotations

import re
from typing import Optional

MAX_REACH = 200  # the longest e-mail address kept (Contact.email); a phone number is at most 40
PHONE = re.compile(r"^\+?[0-9 ()./-]+$")
EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]{2,}$")

# Why a text cannot be kept, by key (the interfaces word each key for the person who typed it).
EMPTY, TOO_LONG, UNREADABLE = "empty", "too_long", "unreadable"


def read_reach(text: object) -> tuple[dict[str, str], Optional[str]]:
    """``({"phone": ...} or {"email": ...}, None)``, or ``({}, reason)`` when it cannot be kept."""
    if not isinstance(text, str):
        return {}, UNREADABLE
    value = " ".join(text.split())
    if not value:
        return {}, EMPTY
    if len(value) > MAX_REACH:
        return {}, TOO_LONG
    if "@" in value:
        return ({"email": value}, None) if EMAIL.match(value) and ".." not in value else ({}, UNREADABLE)
    if PHONE.match(value):
        digits = sum(ch.isdigit() for ch in value)
        if digits > 15 or len(value) > 40:  # the longest number there is has 15 digits
            return {}, TOO_LONG
        return ({"phone": value}, None) if digits >= 6 else ({}, UNREADABLE)
    return {}, UNREADABLE


def shown_reach(phone: str, email: str) -> str:
    """The one way to reach them that the phone pages show and edit (a phone number first)."""
    return phone or email
