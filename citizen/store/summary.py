"""What a table's summary counts per segment: the figures the overview and the studies list show."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from typing import Any

_WEEKS: dict[str, str] = {}


def iso_week(stamp: str) -> str:
    """The ISO week ("2026-W07") of a stored UTC time stamp; times are stored in UTC, so the date decides."""
    day = stamp[:10]
    week = _WEEKS.get(day)
    if week is None:
        week = _WEEKS[day] = date.fromisoformat(day).strftime("%G-W%V")
    return week


def contribution_counts(docs: Iterable[dict[str, Any]]) -> Counter:
    """rows (every row, tombstones too), live, removed, and per review state and per week of the live ones."""
    counts: Counter = Counter()
    for doc in docs:
        counts["rows"] += 1
        if doc.get("removed_at"):
            counts["removed"] += 1
            continue
        counts["live"] += 1
        counts["review:" + str(doc.get("review_state", "received"))] += 1
        at = doc.get("submitted_at")
        if isinstance(at, str):
            try:
                counts["week:" + iso_week(at)] += 1
            except ValueError:
                pass
    return counts


contribution_counts.version = 1  # type: ignore[attr-defined]  # bump when the counting changes

SUMMARISERS = {"contributions": contribution_counts}
