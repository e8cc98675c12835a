"""Plain values without a record model: what the studies list and the store use before any
record is parsed (so the terminal app's first screen starts without loading pydantic)."""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Any


def parse_utc(text: str) -> datetime:
    """A stored time read back: ISO 8601, with a trailing Z for UTC; a time without a zone is taken as UTC."""
    value = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


# The characters of every code read aloud or copied by hand (laptop ids, participant codes):
# no 0/O, 1/I/L, 2/Z, 5/S, 8/B.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"


class StudyStatus(str, Enum):
    draft = "draft"
    recruiting = "recruiting"
    active = "active"
    paused = "paused"
    closed = "closed"


class ReviewState(str, Enum):
    received = "received"
    accepted = "accepted"
    needs_attention = "needs attention"
    rejected = "rejected"


def replied(feedback: list[Any], replies: list[Any]) -> bool:
    """Whether the latest reply is newer than the latest feedback (records or their stored documents)."""
    if not replies:
        return False
    when = [_time(r) for r in replies]
    given = [_time(f) for f in feedback]
    return not given or max(when) > max(given)


def _time(item: Any) -> datetime:
    at = item["at"] if isinstance(item, dict) else item.at
    return at if isinstance(at, datetime) else datetime.fromisoformat(at.replace("Z", "+00:00"))
