"""Plain values without a record model: what the studies list and the store use before any
record is parsed (so the terminal app's first screen starts without loading pydantic)."""

from __future__ import annotations

from enum import Enum

# The characters of every code read aloud or copied by hand (laptop ids, participant codes):
# no 0/O, 1/I/L, 2/Z, 5/S, 8/B.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"


class StudyStatus(str, Enum):
    draft = "draft"
    recruiting = "recruiting"
    active = "active"
    paused = "paused"
    closed = "closed"
