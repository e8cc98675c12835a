"""Reading how to reach someone, and which copy of their details a bundle merge keeps."""

from __future__ import annotations

import itertools

import pytest

from citizen.domain.reach import EMPTY, TOO_LONG, UNREADABLE, read_reach
from citizen.services.merge.joins import join_contact


@pytest.mark.parametrize(
    "typed,kept",
    [
        ("07700 900123", {"phone": "07700 900123"}),
        ("  +44 (0)7700-900.123 ", {"phone": "+44 (0)7700-900.123"}),
        ("+254 712 345678", {"phone": "+254 712 345678"}),
        ("jo@example.org", {"email": "jo@example.org"}),
        ("李雷@例子.中国", {"email": "李雷@例子.中国"}),
        ("o'brien@example.org", {}),
    ],
)
def test_one_phone_number_or_one_e_mail_address_is_kept_as_typed(typed, kept):
    fields, problem = read_reach(typed)
    assert fields == kept and (problem is None) == bool(kept)


@pytest.mark.parametrize(
    "typed,problem",
    [
        ("", EMPTY),
        ("   ", EMPTY),
        (None, UNREADABLE),
        (["07700"], UNREADABLE),
        ("call me", UNREADABLE),
        ("12345", UNREADABLE),
        ("jo@", UNREADABLE),
        ("@example.org", UNREADABLE),
        ("jo@example", UNREADABLE),
        ("jo@@example.org", UNREADABLE),
        ("jo..x@example.org", UNREADABLE),
        ("jo@example.org, sam@example.org", UNREADABLE),
        ("07700 900123 / 07700 900124", TOO_LONG),
        ("1" * 16, TOO_LONG),
        ("a" * 195 + "@x.org", TOO_LONG),
    ],
)
def test_anything_else_is_refused_with_its_reason(typed, problem):
    assert read_reach(typed) == ({}, problem)


def contact(phone="", email="", at=None):
    doc = {"participant_id": "p1", "name": "", "phone": phone, "email": email}
    if at is not None:
        doc["changed_at"] = at
    return doc


def test_a_merge_keeps_the_latest_change_and_a_withdrawal_always_wins():
    old = contact(phone="0700 111111", at="2026-05-01T10:00:00Z")
    new = contact(email="jo@example.org", at="2026-05-02T10:00:00Z")
    removed = contact(at="2026-05-03T10:00:00Z")
    legacy = contact(phone="0700 222222")
    withdrawn = contact()
    assert join_contact(old, new) == (new, []) and join_contact(new, old) == (new, [])
    assert join_contact(new, removed)[0] == removed  # removed by them, later
    assert join_contact(removed, contact(phone="0700 3", at="2026-05-04T10:00:00Z"))[0]["phone"] == "0700 3"
    assert join_contact(legacy, old)[0] == old  # a record without a time is the older one
    later = contact(phone="0700 999999", at="2027-01-01T00:00:00Z")
    assert join_contact(later, withdrawn)[0] == withdrawn and join_contact(withdrawn, later)[0] == withdrawn
    docs = [old, new, removed, legacy, withdrawn, later]
    for a, b in itertools.product(docs, repeat=2):  # the same answer whichever laptop merges
        assert join_contact(a, b)[0] == join_contact(b, a)[0]
    for a, b, c in itertools.product(docs, repeat=3):
        assert join_contact(join_contact(a, b)[0], c)[0] == join_contact(a, join_contact(b, c)[0])[0]
