"""Exports honour consent case by case, de-identify on request, and the data-sharing check says what leaves."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from citizen.domain.models import ConsentMethod, ReviewState
from citizen.export.plan import make_options
from citizen.services import (
    Refused,
    change_consent,
    review_contributions,
    withdraw,
)

from .support.exports import by_id, enrol, export, give, plan_of, read
from .support.factories import T0, YES_ALL


# -- consent, case by case -----------------------------------------------------------------------------
def test_withdrawal_with_removal_leaves_nothing_and_is_counted(study, tmp_path):
    stays, goes = enrol(study), enrol(study)
    give(study, stays, T0 + timedelta(hours=1))
    gone = [give(study, goes, T0 + timedelta(hours=h)) for h in (2, 3)]
    withdraw(study, goes.id, True, ConsentMethod.phone, "participant", at=T0 + timedelta(days=1))
    result = export(study, tmp_path / "out")
    assert {r["participant"] for r in read(result.folder / "contributions.csv")} == {stays.code}
    assert goes.code not in (result.folder / "participants.csv").read_text()
    assert goes.code not in (result.folder / "consent_log.csv").read_text()
    reasons = {e["reason"]: e["count"] for e in result.manifest["exclusions"]}
    assert reasons["the contributor withdrew and asked for their data to be removed"] == len(gone)
    assert goes.code not in json.dumps(result.manifest)


def test_declined_quotes_blank_free_text_and_a_later_decline_still_applies(study, tmp_path):
    quiet = enrol(study, {**YES_ALL, "quote_words": False})
    later = enrol(study)
    joined = enrol(study, {**YES_ALL, "quote_words": False})
    a = give(study, quiet, T0 + timedelta(hours=1), notes="my words")
    b = give(study, later, T0 + timedelta(hours=2), notes="said before")
    c = give(study, joined, T0 + timedelta(hours=3), notes="said while declining")
    change_consent(
        study, later.id, {**YES_ALL, "quote_words": False}, ConsentMethod.phone, "participant", at=T0 + timedelta(days=1)
    )
    change_consent(study, joined.id, YES_ALL, ConsentMethod.phone, "participant", at=T0 + timedelta(days=1))
    d = give(study, joined, T0 + timedelta(days=2), notes="said after agreeing")
    rows = by_id(read(export(study, tmp_path / "out").folder / "contributions.csv"))
    assert rows[a.id]["notes"] == rows[a.id]["worst_spot"] == ""
    assert rows[a.id]["route"] == "canal_path" and rows[a.id]["walk_minutes"] == "30"
    assert rows[b.id]["notes"] == ""  # agreed when given, declined since: the later choice applies
    assert rows[c.id]["notes"] == ""  # declined when given: agreeing later does not reach back
    assert rows[d.id]["notes"] == "said after agreeing"


def test_partners_see_only_what_participants_agreed_to_share(study, tmp_path):
    sharer = enrol(study)
    private = enrol(study, {**YES_ALL, "share_partners": False})
    kept = enrol(study)
    s = give(study, sharer, T0 + timedelta(hours=1))
    give(study, private, T0 + timedelta(hours=2))
    k = give(study, kept, T0 + timedelta(hours=3))
    withdraw(study, kept.id, False, ConsentMethod.phone, "participant", at=T0 + timedelta(days=1))
    team = by_id(read(export(study, tmp_path / "team").folder / "contributions.csv"))
    assert len(team) == 3 and team[k.id]["notes"] == ""  # kept after withdrawal, optional items no longer given
    result = export(study, tmp_path / "partners", audience="partners")
    rows = by_id(read(result.folder / "contributions.csv"))
    assert set(rows) == {s.id}
    assert {r["participant"] for r in read(result.folder / "participants.csv")} == {sharer.code}
    reasons = {e["reason"]: e["count"] for e in result.manifest["exclusions"]}
    assert reasons["the contributor did not agree to sharing with partner organisations"] == 2


def test_contacts_only_when_asked_for_and_agreed(study, tmp_path):
    yes = enrol(study, contact={"name": "Rosa Diaz", "phone": "07700 900123"})
    no = enrol(study, contact={"name": "Sam Lee", "email": "sam@example.org"})
    change_consent(
        study, no.id, {**YES_ALL, "contact_later": False}, ConsentMethod.phone, "volunteer", at=T0 + timedelta(hours=1)
    )
    assert study.repo.contact(no.id).email == ""  # declining it later deleted it
    default = export(study, tmp_path / "plain")
    for name in ("participants.csv", "contributions.csv", "consent_log.csv", "activity.csv", "datapackage.json"):
        text = (default.folder / name).read_text()
        assert "Rosa" not in text and "Sam Lee" not in text and "07700" not in text
    result = export(study, tmp_path / "contacts", contacts=True)
    people = {r["participant"]: r for r in read(result.folder / "participants.csv")}
    assert people[yes.code]["contact_name"] == "Rosa Diaz" and people[yes.code]["contact_phone"] == "07700 900123"
    assert people[no.code]["contact_name"] == people[no.code]["contact_email"] == ""
    assert result.manifest["options"]["contacts"] is True


def test_filters_review_state_versions_and_dates(study, tmp_path):
    p = enrol(study)
    first = give(study, p, T0 + timedelta(days=1))
    second = give(study, p, T0 + timedelta(days=5))
    third = give(study, p, T0 + timedelta(days=9))
    review_contributions(study, [second.id], ReviewState.accepted, "", "Amina Yusuf")
    rows = read(export(study, tmp_path / "a", review_states=["accepted"]).folder / "contributions.csv")
    assert [r["contribution_id"] for r in rows] == [second.id]
    rows = read(
        export(study, tmp_path / "b", date_from=(T0 + timedelta(days=2)).date(), date_to=(T0 + timedelta(days=9)).date()).folder
        / "contributions.csv"
    )
    assert {r["contribution_id"] for r in rows} == {second.id, third.id}
    assert first.id
    with pytest.raises(Refused, match="date range starts"):
        make_options(date_from=T0.date(), date_to=(T0 - timedelta(days=1)).date())
    with pytest.raises(Refused, match="review state"):
        make_options(review_states=[])
    with pytest.raises(Refused, match="no protocol version 7"):
        plan_of(study, versions=[7])


# -- de-identification ---------------------------------------------------------------------------------
def test_identifying_fields_only_on_request(study, tmp_path):
    p = enrol(study)
    give(study, p, T0 + timedelta(hours=1))
    plain = export(study, tmp_path / "plain")
    assert "home_street" not in read(plain.folder / "contributions.csv")[0]
    assert "Elm Row" not in (plain.folder / "contributions.csv").read_text()
    assert "home_street" not in (plain.folder / "data_dictionary.csv").read_text()
    wide = export(study, tmp_path / "wide", identifying=True)
    assert read(wide.folder / "contributions.csv")[0]["home_street"] == "Elm Row"
    assert {r["column"]: r for r in read(wide.folder / "data_dictionary.csv")}["home_street"]["identifying"] == "yes"
    assert "home_street" in plan_of(study, identifying=True).check.identifying


def test_hashed_codes_differ_per_export_and_agree_across_files(study, tmp_path):
    p = enrol(study)
    give(study, p, T0 + timedelta(hours=1))
    one = export(study, tmp_path / "one", hash_codes=True)
    two = export(study, tmp_path / "two", hash_codes=True)
    h1 = read(one.folder / "contributions.csv")[0]["participant"]
    h2 = read(two.folder / "contributions.csv")[0]["participant"]
    assert h1 != h2 and p.code not in (h1, h2)
    assert read(one.folder / "participants.csv")[0]["participant"] == h1
    assert {r["participant"] for r in read(one.folder / "consent_log.csv")} == {h1}
    for name in ("contributions.csv", "participants.csv", "consent_log.csv", "activity.csv", "datapackage.json"):
        assert p.code not in (one.folder / name).read_text()


def test_dates_shift_by_one_secret_offset_per_participant(study, tmp_path):
    people = [enrol(study, at=T0 + timedelta(minutes=i)) for i in range(4)]
    for i, p in enumerate(people):
        for day in (1, 3):
            give(study, p, T0 + timedelta(days=day, hours=i), walk_date=(T0 + timedelta(days=day)).date().isoformat())
    result = export(study, tmp_path / "out", shift_dates=True)
    offsets: dict[str, set] = {}
    for row in read(result.folder / "contributions.csv"):
        shifted = datetime.fromisoformat(row["submitted_at"].replace("Z", "+00:00"))
        walk = datetime.fromisoformat(row["walk_date"]).date()
        offsets.setdefault(row["participant"], set()).add((shifted.date() - walk).days)
    # The walk date and the submission moved together: their distance is kept for every row.
    assert all(gaps == {0} for gaps in offsets.values())
    enrolled = {r["participant"]: r["enrolled_at"] for r in read(result.folder / "participants.csv")}
    for p in people:
        moved = datetime.fromisoformat(enrolled[p.code].replace("Z", "+00:00")) - p.enrolled_at
        assert moved.days != 0 and moved == timedelta(days=moved.days)
        rows = [r for r in read(result.folder / "contributions.csv") if r["participant"] == p.code]
        walks = {
            (datetime.fromisoformat(r["walk_date"]).date() - (T0.date() + timedelta(days=d))).days
            for r, d in zip(sorted(rows, key=lambda r: r["submitted_at"]), (1, 3), strict=True)
        }
        assert walks == {moved.days}
    assert result.manifest["dates"].startswith("shifted")


# -- the data-sharing check ----------------------------------------------------------------------------
def test_the_check_names_small_counts_free_text_and_identifying_fields(study):
    people = [enrol(study) for _ in range(6)]
    for i, p in enumerate(people):
        give(study, p, T0 + timedelta(hours=i + 1), route="park_loop" if i == 0 else "canal_path")
    check = plan_of(study, identifying=True).check
    assert ("route", "park_loop", 1) in check.small_counts
    assert not any(c[:2] == ("route", "canal_path") for c in check.small_counts)
    assert ("symptoms", "cough", 6) not in check.small_counts
    assert "notes" in check.free_text and "home_street" in check.identifying
    text = "\n".join(check.lines())
    assert "route = park_loop: 1 participant" in text and "6 contributions from 6 participants" in text
    assert "notes" not in plan_of(study, drop_free_text=True).check.free_text
