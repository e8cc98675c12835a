"""Exports: round trips, CSV safety, consent honoured case by case, de-identification, all or nothing."""

from __future__ import annotations

import csv
import errno
import hashlib
import json
import os
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from citizen.domain.models import ConsentMethod, ContributionSource, ReviewState
from citizen.export import sink as export_sink
from citizen.export.files import clear_leftovers
from citizen.export.plan import make_options
from citizen.export.redcap import DICTIONARY_HEADER
from citizen.export.report import study_report, write_report
from citizen.export.sink import safe_cell
from citizen.services import (
    Refused,
    ServiceError,
    add_contribution,
    change_consent,
    open_study,
    review_contributions,
    withdraw,
)
from citizen.store import DataFolder, durable

from .support import factories
from .support.exports import WALK, export, plan_of, read
from .support.factories import STUDY, T0, YES_ALL

ADVERSARIAL = [
    'She said "stop", then left',
    "line one\nline two\r\nline three",
    "a, b, and c",
    '=HYPERLINK("http://evil.example","click")',
    "+44 20 7946 0000",
    "-12 degrees felt",
    "@SUM(A1:A9)",
    "\uff1d1+1",
    "Smoggy again 😷🚌💨",
    "الهواء كان سيئًا عند الجسر",
    "空气很差",
    "x" * 10_000,
    "'already quoted",
    "",
]


def enrol(study, answers=None, at=T0, contact=None):
    """Every enrolment here happens at T0 unless a test says otherwise, so the exported dates are known."""
    return factories.enrol(study, answers, at=at, contact=contact)


def give(study, who, at, **values):
    return add_contribution(study, who.id, {**WALK, **values}, ContributionSource.phone, "volunteer", at=at)


def expected(text: str) -> str:
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r", "\uff1d")) else text


def by_id(rows):
    return {r["contribution_id"]: r for r in rows}


# -- CSV safety ----------------------------------------------------------------------------------------
def test_formula_cells_are_neutralised_but_numbers_in_numeric_fields_are_not():
    for text in ["=1+1", "+1", "-1", "@a", "\tx", "\rx", "\uff1dx"]:
        assert safe_cell(text) == "'" + text
    assert safe_cell(-3, numeric=True) == "-3"
    assert safe_cell(-2.5, numeric=True) == "-2.5"
    assert safe_cell(-3) == "'-3"  # a number in a text column is still neutralised
    assert safe_cell("-3", numeric=True) == "'-3"  # text that only looks like a number
    assert safe_cell(None) == "" and safe_cell(True) == "1" and safe_cell("plain") == "plain"


def test_adversarial_answers_round_trip_with_csv_and_pandas(study, tmp_path):
    people = [enrol(study) for _ in range(2)]
    made = {}
    for n, text in enumerate(ADVERSARIAL):
        spot = text[:200]
        c = give(study, people[n % 2], T0 + timedelta(hours=n + 1), notes=text, worst_spot=spot)
        made[c.id] = (c.values.get("notes", ""), c.values.get("worst_spot", ""))
    result = export(study, tmp_path / "out", bom=True)
    path = result.folder / "contributions.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = by_id(csv.DictReader(fh))
    frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False).set_index("contribution_id")
    assert len(rows) == len(ADVERSARIAL) == len(frame)
    for cid, (notes, spot) in made.items():
        assert rows[cid]["notes"] == expected(notes) == frame.loc[cid, "notes"]
        assert rows[cid]["worst_spot"] == expected(spot) == frame.loc[cid, "worst_spot"]
    assert any(len(r["notes"]) == 10_000 for r in rows.values())
    assert frame["walk_minutes"].tolist() == ["30"] * len(made)


def test_every_file_reads_back_the_stored_values(demo_data_path, tmp_path):
    with DataFolder(demo_data_path) as data:
        study = open_study(data, STUDY)
        result = export(study, tmp_path / "out")
        kept = {c["id"]: c for c in study.repo.contribution_docs() if not c.get("removed_at")}
        codes = {p.id: p.code for p in study.repo.participants()}
        versions = {v.number: {f.key for f in v.fields} for v in study.repo.protocol_versions()}
    rows = read(result.folder / "contributions.csv")
    frame = pd.read_csv(result.folder / "contributions.csv")
    assert len(frame) == len(rows) > 100
    assert frame["walk_minutes"].dtype.kind == "i" and frame["breathing"].between(1, 5).all()
    for row in rows:
        doc = kept[row["contribution_id"]]
        values = doc["values"]
        assert row["participant"] == codes[doc["participant_id"]]
        assert datetime.fromisoformat(row["submitted_at"].replace("Z", "+00:00")) == datetime.fromisoformat(
            doc["submitted_at"].replace("Z", "+00:00")
        )
        assert row["walk_minutes"] == str(values["walk_minutes"]) and row["route"] == values["route"]
        for code in ("cough", "wheeze", "short_breath", "itchy_eyes", "headache", "none"):
            assert row[f"symptoms__{code}"] == ("1" if code in values.get("symptoms", []) else "0")
        if "inhaler_used" not in versions[doc["protocol_version"]]:
            assert row["inhaler_used"] == ""
        elif "inhaler_used" in values:
            assert row["inhaler_used"] == ("1" if values["inhaler_used"] else "0")
        assert row["pm25"] == ("" if "pm25" not in values else repr(float(values["pm25"])))
    manifest = json.loads((result.folder / "datapackage.json").read_text())
    for resource in manifest["resources"]:
        data = (result.folder / resource["path"]).read_bytes()
        assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest() and resource["bytes"] == len(data)
    assert manifest["rows"]["contributions.csv"] == len(rows)
    assert manifest["approved_by"] == "Amina Yusuf" and manifest["options"]["identifying"] is False
    for name in ("participants.csv", "consent_log.csv", "data_dictionary.csv"):
        assert len(pd.read_csv(result.folder / name, dtype=str)) == manifest["rows"][name]


def test_the_data_dictionary_carries_every_language(demo_data_path, tmp_path):
    with DataFolder(demo_data_path) as data:
        result = export(open_study(data, STUDY), tmp_path / "out")
    rows = {r["column"]: r for r in read(result.folder / "data_dictionary.csv")}
    header = list(read(result.folder / "data_dictionary.csv")[0])
    assert {
        "label_en",
        "label_zh",
        "label_ar",
        "choices_en",
        "choices_zh",
        "choices_ar",
        "versions",
        "identifying",
        "type",
    } <= set(header)
    assert list(rows) == list(read(result.folder / "contributions.csv")[0])  # every column, in order
    assert rows["route"]["label_zh"] == "你走的是哪条路线？" and rows["route"]["label_ar"] == "أي طريق مشيت؟"
    assert "canal_path = 运河小路" in rows["route"]["choices_zh"]
    assert "canal_path = طريق القناة" in rows["route"]["choices_ar"]
    assert rows["inhaler_used"]["versions"] == "2" and rows["walk_date"]["versions"] == "1 2"
    assert all(rows[c]["label_zh"] and rows[c]["label_ar"] for c in rows)  # every column, in every language
    assert rows["smelled_fumes"]["choices_zh"] == "1 = 是 | 0 = 否"


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


# -- all or nothing ------------------------------------------------------------------------------------
def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.mark.parametrize("failure", ["disk full", "interrupt"])
def test_an_interrupted_export_leaves_no_folder_and_the_earlier_one_untouched(study, tmp_path, monkeypatch, failure):
    p = enrol(study)
    for h in range(30):
        give(study, p, T0 + timedelta(hours=h + 1), notes="n" * 2000)
    earlier = export(study, tmp_path / "exports" / "first")
    before = _snapshot(earlier.folder)
    audit_before = len(study.repo.audit())
    real = durable.write_all
    calls = []

    def failing(fd, data):
        calls.append(len(data))
        if len(calls) == 2:
            if failure == "disk full":
                raise OSError(errno.ENOSPC, "No space left on device")
            raise KeyboardInterrupt
        real(fd, data)

    monkeypatch.setattr(export_sink, "CHUNK", 4096)
    monkeypatch.setattr(durable, "write_all", failing)
    target = tmp_path / "exports" / "second"
    if failure == "disk full":
        with pytest.raises(ServiceError, match="disk is full"):
            export(study, target)
    else:
        with pytest.raises(KeyboardInterrupt):
            export(study, target)
    assert len(calls) == 2
    assert sorted(os.listdir(tmp_path / "exports")) == ["first"]
    assert _snapshot(earlier.folder) == before
    assert len(study.repo.audit()) == audit_before  # nothing recorded for an export that did not happen


def test_a_partial_folder_left_by_a_crash_is_cleared_at_the_next_export(study, tmp_path):
    parent = tmp_path / "exports"
    parent.mkdir()
    leftover = parent / ".walks-20260101T000000Z.999999999.partial"
    leftover.mkdir()
    (leftover / "contributions.csv").write_text("half")
    enrol(study)
    export(study, parent / "next")
    assert sorted(os.listdir(parent)) == ["next"]
    assert clear_leftovers(parent) == 0


def test_an_existing_folder_is_never_overwritten(study, tmp_path):
    enrol(study)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "mine.txt").write_text("keep")
    with pytest.raises(ServiceError, match="already exists"):
        export(study, taken)
    assert os.listdir(taken) == ["mine.txt"]


def test_the_export_is_in_the_audit_log_with_who_approved_it(study, tmp_path):
    enrol(study)
    result = export(study, tmp_path / "out")
    last = study.repo.last_audit()
    assert last.action == "data exported" and last.actor == "Amina Yusuf"
    assert last.details["approved_by"] == "Amina Yusuf" and str(result.folder).endswith(last.target)


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


# -- REDCap --------------------------------------------------------------------------------------------
def test_redcap_dictionary_and_records(demo_data_path, tmp_path):
    with DataFolder(demo_data_path) as data:
        result = export(open_study(data, STUDY), tmp_path / "rc", format="redcap")
    names = sorted(os.listdir(result.folder))
    assert names == ["activity.csv", "datapackage.json", "redcap_data_dictionary.csv", "redcap_notes.csv", "redcap_records.csv"]
    with (result.folder / "redcap_data_dictionary.csv").open(newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    assert table[0] == DICTIONARY_HEADER and len(DICTIONARY_HEADER) == 18
    rows = {r[0]: dict(zip(DICTIONARY_HEADER, r, strict=True)) for r in table[1:]}
    assert table[1][0] == "record_id"
    assert rows["route"]["Field Type"] == "radio"
    assert rows["route"]["Choices, Calculations, OR Slider Labels"].startswith("1, Canal path | 2, High Street")
    assert rows["symptoms"]["Field Type"] == "checkbox" and rows["smelled_fumes"]["Field Type"] == "yesno"
    assert rows["notes"]["Field Type"] == "notes"
    assert rows["walk_minutes"]["Text Validation Type OR Show Slider Number"] == "integer"
    assert rows["pm25"]["Text Validation Type OR Show Slider Number"] == "number"
    assert rows["walk_date"]["Text Validation Type OR Show Slider Number"] == "date_ymd"
    assert rows["start_time"]["Text Validation Type OR Show Slider Number"] == "time"
    assert rows["walk_date"]["Required Field?"] == "y"
    assert {r["Form Name"] for r in rows.values()} == {"air_quality_walk"}
    records = pd.read_csv(result.folder / "redcap_records.csv", dtype=str, keep_default_na=False)
    assert records.columns[0] == "record_id" and records["record_id"].is_unique
    n_symptoms = rows["symptoms"]["Choices, Calculations, OR Slider Labels"].count("|") + 1
    assert [c for c in records.columns if c.startswith("symptoms___")] == [f"symptoms___{i}" for i in range(1, n_symptoms + 1)]
    assert records.columns[-1] == "air_quality_walk_complete"  # REDCap's form status, made by REDCap itself
    for column in records.columns[:-1]:  # every other column is a variable of the dictionary (checkboxes expanded)
        assert column.split("___")[0] in rows
    assert set(records["route"]) <= {"1", "2", "3", "4", "5"}
    assert set(records["smelled_fumes"]) <= {"0", "1", ""}
    assert set(records["symptoms___1"]) <= {"0", "1"}


# -- the study report ----------------------------------------------------------------------------------
def test_the_report_tells_the_story_without_personal_data(demo_data_path, tmp_path):
    with DataFolder(demo_data_path) as data:
        study = open_study(data, STUDY)
        text = study_report(study)
        codes = [p.code for p in study.repo.participants()]
        path = write_report(study, tmp_path / "report.md")
        record = study.repo.study()
    assert path.read_text(encoding="utf-8") == text
    assert record.shared_aim in text
    assert "## Participation" in text and "### By week" in text and "### By review state" in text
    assert "### Version 2" in text and "Ask whether people used their inhaler" in text
    assert "decided by Amina Yusuf" in text and "Record people's exact home address" in text
    assert "First map of hotspots" in text
    assert not [c for c in codes if c in text]
    assert not [note for note in ("burning garden waste", "Bus station") if note in text]


def test_choice_labels_in_the_chosen_language(study, tmp_path):
    p = enrol(study)
    give(study, p, T0 + timedelta(hours=1), smelled_fumes="yes")
    row = read(export(study, tmp_path / "en", labels=True).folder / "contributions.csv")[0]
    assert row["route"] == "Canal path" and row["smelled_fumes"] == "yes" and row["symptoms__cough"] == "1"
    row = read(export(study, tmp_path / "zh", labels=True, language="zh").folder / "contributions.csv")[0]
    assert row["route"] == "运河小路"
    with pytest.raises(Refused, match="not one of this study's languages"):
        plan_of(study, labels=True, language="fr")
