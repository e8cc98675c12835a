"""Browsing contributions and participants: filters, paging and search answer from the records."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from citizen.domain.models import ConsentMethod, ContributionSource, ReviewState
from citizen.services import NotFound, Refused, add_contribution, enrol_participant, review_contributions, withdraw
from citizen.services.browse import filter_participants, participant_by_code, participant_detail, participant_rows
from citizen.services.contribution_index import ContributionFilter, ContributionIndex, parse_day

from .support.factories import SHORT_WALK as WALK

YES = {"take_part": True, "share_partners": True, "quote_words": False, "contact_later": False}


def walk(study, pid, at, **values):
    return add_contribution(study, pid, {**WALK, **values}, ContributionSource.desk, "Tom", at=at)


@pytest.fixture
def walked(study):
    """Two participants, five contributions on known days, one reviewed."""
    a = enrol_participant(study, YES, ConsentMethod.desk, "Tom", witness="Tom Hale")
    b = enrol_participant(study, YES, ConsentMethod.paper, "Tom")
    t0 = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
    made = [
        walk(study, a.id, t0, notes="Fumes by the [bold]bus station[/bold]"),
        walk(study, a.id, t0 + timedelta(days=1), notes="quiet canal"),
        walk(study, b.id, t0 + timedelta(days=2), worst_spot="Mill Lane"),
        walk(study, b.id, t0 + timedelta(days=3)),
        walk(study, a.id, t0 + timedelta(days=4), notes="Bus lane roadworks"),
    ]
    review_contributions(study, [made[1].id], ReviewState.accepted, "fine", "Amina")
    return study, a, b, made


def ids(index, flt):
    sel = index.select(flt)
    return [line.id for line in index.page(sel.rows, 0, 100)]


def test_filters_by_state_participant_version_dates_and_words(walked):
    study, a, b, made = walked
    index = ContributionIndex(study).build()
    assert ids(index, ContributionFilter()) == [c.id for c in reversed(made)]  # newest first
    assert ids(index, ContributionFilter(review_state="accepted")) == [made[1].id]
    assert ids(index, ContributionFilter(review_state="received")) == [made[4].id, made[3].id, made[2].id, made[0].id]
    assert ids(index, ContributionFilter(participant=b.code.lower())) == [made[3].id, made[2].id]
    assert ids(index, ContributionFilter(protocol_version=2)) == []
    assert len(ids(index, ContributionFilter(protocol_version=1))) == 5
    day = made[2].submitted_at.astimezone().date()
    assert ids(index, ContributionFilter(since=day, until=day)) == [made[2].id]
    assert ids(index, ContributionFilter(since=day)) == [made[4].id, made[3].id, made[2].id]
    assert ids(index, ContributionFilter(text="bus")) == [made[4].id, made[0].id]
    assert ids(index, ContributionFilter(text="BUS station")) == [made[0].id]
    assert ids(index, ContributionFilter(text="mill")) == [made[2].id]  # place answers are searched too
    assert ids(index, ContributionFilter(text="bus", participant=b.code)) == []


def test_the_index_follows_changes_and_removals(walked):
    study, a, b, made = walked
    index = ContributionIndex(study).build()
    index.attach()
    later = walk(study, b.id, datetime(2026, 6, 1, tzinfo=timezone.utc), notes="new bus stop")
    assert ids(index, ContributionFilter(text="bus"))[0] == later.id
    review_contributions(study, [later.id], ReviewState.needs_attention, "check minutes", "Amina")
    assert ids(index, ContributionFilter(review_state="needs attention")) == [later.id]
    withdraw(study, a.id, True, ConsentMethod.desk, "Amina", witness="Tom Hale")
    assert ids(index, ContributionFilter(review_state="removed")) == [made[4].id, made[1].id, made[0].id]
    assert made[0].id not in ids(index, ContributionFilter())
    assert index.counts()["removed"] == 3
    index.detach()


def test_a_page_shows_stored_text_and_codes(walked):
    study, a, b, made = walked
    index = ContributionIndex(study).build()
    sel = index.select(ContributionFilter())
    lines = index.page(sel.rows, 4, 10)
    assert len(lines) == 1 and lines[0].id == made[0].id
    assert lines[0].code == a.code and lines[0].preview == "Fumes by the [bold]bus station[/bold]"
    assert lines[0].source == "desk" and lines[0].review_state == "received"


def test_a_bad_day_is_refused_in_plain_words():
    assert parse_day(" ") is None
    assert parse_day("2026-05-31") == date(2026, 5, 31)
    with pytest.raises(ValueError, match="year-month-day"):
        parse_day("31/05/2026")


def test_participant_rows_detail_and_search(walked):
    study, a, b, made = walked
    withdraw(study, b.id, False, ConsentMethod.desk, "Amina", witness="Tom Hale")
    rows = {r.code: r for r in participant_rows(study)}
    assert rows[a.code].consent == "current" and rows[a.code].status == "active"
    assert rows[a.code].contributions == 3 and rows[a.code].route == "desk"
    assert rows[b.code].status == "withdrawn" and rows[b.code].consent == "withdrawn: kept"
    assert rows[b.code].contributions == 2 and rows[b.code].route == "paper"
    assert [r.code for r in filter_participants(rows.values(), status="withdrawn")] == [b.code]
    assert [r.code for r in filter_participants(rows.values(), text=a.code[-3:].lower())] == [a.code]
    detail = participant_detail(study, b.id)
    assert [e.kind.value for e in detail.events] == ["enrol", "withdraw"]
    assert detail.events[1].witness == "Tom Hale"
    assert participant_by_code(study, f" {a.code.lower()} ").id == a.id
    with pytest.raises(NotFound):
        participant_by_code(study, "ZZ-ZZZZ")


def test_desk_enrolment_without_a_witness_is_refused_beside_the_field(study):
    with pytest.raises(Refused) as exc:
        enrol_participant(study, YES, ConsentMethod.desk, "Amina", witness=" ")
    assert "witness" in exc.value.errors
    assert study.repo.participant_count() == 0
