"""Exports: every file reads back what was stored, CSV safety, all or nothing, REDCap, the report."""

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

from citizen.export import sink as export_sink
from citizen.export.files import clear_leftovers
from citizen.export.redcap import DICTIONARY_HEADER
from citizen.export.report import study_report, write_report
from citizen.export.sink import safe_cell
from citizen.services import (
    Refused,
    ServiceError,
    open_study,
)
from citizen.store import DataFolder, durable

from .support.exports import by_id, enrol, export, give, plan_of, read
from .support.factories import STUDY, T0

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


def expected(text: str) -> str:
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r", "\uff1d")) else text


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
