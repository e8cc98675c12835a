"""One helper says every count in English: no "1 participants", no "1 are taking part"."""

from __future__ import annotations

from citizen.domain.plural import count, plural


def test_one_is_singular_and_every_other_number_plural():
    assert count(1, "participant") == "1 participant"
    assert count(0, "participant") == "0 participants"
    assert count(100025, "contribution") == "100,025 contributions"
    assert count(1, "activity log entry") == "1 activity log entry"
    assert count(3, "activity log entry") == "3 activity log entries"
    assert count(2, "person", "people") == "2 people" and count(2, "person") == "2 people"
    assert plural(1, "is") == "is" and plural(4, "is") == "are" and plural(1, "was") == "was"
    assert count(2, "box") == "2 boxes" and count(2, "day") == "2 days"
