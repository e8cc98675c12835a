"""The REDCap hand-over checked against REDCap's own rules, on the demo study and on awkward names."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from citizen.domain.models import ConsentMethod, ContributionSource
from citizen.export.redcap import DICTIONARY_HEADER
from citizen.services import add_contribution, enrol_participant, open_study
from citizen.services import design as d
from citizen.store import DataFolder

from .support import exports
from .support.exports import problems
from .support.factories import STUDY, T0

REDCAP_HEADER = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
]
VARIABLE = re.compile(r"^[a-z][a-z0-9_]*$")
CHOICES = re.compile(r"^\d+, [^|]+( \| \d+, [^|]+)*$")


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def check_redcap_rules(folder: Path) -> dict[str, dict[str, str]]:
    """Every rule REDCap's data import holds a data dictionary and a records file to."""
    table = read_rows(folder / "redcap_data_dictionary.csv")
    assert table[0] == REDCAP_HEADER == DICTIONARY_HEADER
    rows = [dict(zip(REDCAP_HEADER, r, strict=True)) for r in table[1:]]
    names = [r["Variable / Field Name"] for r in rows]
    assert names[0] == "record_id" and len(set(names)) == len(names)
    for name in names:
        assert VARIABLE.match(name) and len(name) <= 26, name
    [form] = {r["Form Name"] for r in rows}
    assert VARIABLE.match(form)
    by_name = {r["Variable / Field Name"]: r for r in rows}
    expected_columns = []
    for r in rows:
        assert r["Field Label"], r
        choices = r["Choices, Calculations, OR Slider Labels"]
        if r["Field Type"] in ("radio", "checkbox"):
            assert CHOICES.match(choices), choices
        else:
            assert choices == ""
        if r["Field Type"] == "checkbox":
            expected_columns += [f"{r['Variable / Field Name']}___{c.split(',')[0]}" for c in choices.split(" | ")]
        else:
            expected_columns.append(r["Variable / Field Name"])
    records = read_rows(folder / "redcap_records.csv")
    header, data = records[0], records[1:]
    assert header == expected_columns + [f"{form}_complete"]
    assert len({row[0] for row in data}) == len(data)
    complete = header.index(f"{form}_complete")
    assert {row[complete] for row in data} <= {"0", "1", "2"}
    for i, name in enumerate(header):
        variable = name.split("___")[0]
        if "___" in name:
            assert {row[i] for row in data} <= {"0", "1"}
        elif variable in by_name and by_name[variable]["Field Type"] in ("radio", "yesno"):
            codes = {c.split(",")[0] for c in by_name[variable]["Choices, Calculations, OR Slider Labels"].split(" | ")}
            assert {row[i] for row in data} <= (codes if by_name[variable]["Field Type"] == "radio" else {"0", "1"}) | {""}
    return by_name


def export(study, out: Path, **options):
    return exports.export(study, out, format="redcap", **options)


def test_the_demo_hand_over_passes_redcaps_rules(demo_data_path, tmp_path):
    with DataFolder(demo_data_path) as data:
        result = export(open_study(data, STUDY), tmp_path / "rc")
    by_name = check_redcap_rules(result.folder)
    assert "route" in by_name and "symptoms" in by_name
    notes = read_rows(result.folder / "redcap_notes.csv")
    assert notes[0] == ["kind", "ours", "redcap", "note"]
    assert ["choice code", "route = canal_path", "route = 1", "Canal path"] in notes
    assert ["form status", "review_state = accepted", "air_quality_walk_complete = 2", "Complete"] in notes
    assert not [n for n in notes if n[0] == "variable renamed"]  # the demo's names are REDCap's already
    assert problems(result.folder) == []


def test_names_redcap_would_refuse_are_renamed_and_recorded(data, tmp_path):
    study = d.new_study(data, "Long names", "Ask with long names.", "Amina")
    draft = d.start_draft(study, "Amina")
    long_key = "how_many_minutes_did_you_walk_to_the_clinic"  # 43 characters
    twin_key = "how_many_minutes_did_you_walk_to_the_station"  # the same first 26
    for key, kind, extra in [
        (long_key, "integer", {}),
        (twin_key, "integer", {}),
        ("which_symptoms_did_you_notice_this_week", "multiple_choice", {"choices": "cough | Cough\nwheeze | Wheeze"}),
    ]:
        d.save_draft_field(study, draft.id, {"key": key, "label": {"en": key.replace("_", " ")}, "type": kind, **extra}, "Amina")
    d.save_consent_text(study, draft.id, {"en": "Taking part."}, "Amina")
    d.save_consent_item(study, draft.id, {"id": "take_part", "text": {"en": "I take part"}, "required": True}, "Amina")
    d.publish_draft(study, draft.id, "", "Amina")
    person = enrol_participant(study, {"take_part": True}, ConsentMethod.phone, "volunteer", at=T0)
    add_contribution(
        study,
        person.id,
        {long_key: "12", twin_key: "20", "which_symptoms_did_you_notice_this_week": ["wheeze"]},
        ContributionSource.desk,
        "Amina",
        at=T0,
    )
    result = export(study, tmp_path / "rc")
    by_name = check_redcap_rules(result.folder)
    assert {"how_many_minutes_did_you_w", "how_many_minutes_did_you_2", "which_symptoms_did_you_not"} <= set(by_name)
    renamed = {n[1]: n[2] for n in read_rows(result.folder / "redcap_notes.csv")[1:] if n[0] == "variable renamed"}
    assert renamed == {
        long_key: "how_many_minutes_did_you_w",
        twin_key: "how_many_minutes_did_you_2",
        "which_symptoms_did_you_notice_this_week": "which_symptoms_did_you_not",
    }
    records = read_rows(result.folder / "redcap_records.csv")
    row = dict(zip(records[0], records[1], strict=True))
    assert row["how_many_minutes_did_you_w"] == "12" and row["how_many_minutes_did_you_2"] == "20"
    assert row["which_symptoms_did_you_not___2"] == "1" and row["long_names_complete"] == "1"
    assert problems(result.folder) == []
