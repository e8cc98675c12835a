"""XLSForm in and out: every field type both ways, and a plain list of what was not carried over."""

from __future__ import annotations

import pytest
from openpyxl import Workbook, load_workbook

from citizen.domain.models import FieldType
from citizen.services import Refused, queries
from citizen.services import design as d
from citizen.services.xlsform import export_xlsform, import_xlsform, import_xlsform_into_draft, read_xlsform

from .support.studies import every_kind_study


def test_every_field_type_survives_a_round_trip(data, tmp_path):
    study = every_kind_study(data)
    path = tmp_path / "every.xlsx"
    report = export_xlsform(study, path)
    assert any("geopoint" in line for line in report.not_carried_over)
    sheets = load_workbook(path).sheetnames
    assert sheets == ["survey", "choices", "settings"]
    back = read_xlsform(path)
    assert back.languages == ["en", "fr"] and back.title == "Every kind" and back.form_id == "every-kind"
    assert back.fields == study.repo.current_protocol().fields
    assert back.left_out == {}
    copy, _ = import_xlsform(data, path, "Li", study_id="every-copy")
    draft = d.open_draft(copy)
    assert [f.type for f in draft.fields] == list(FieldType)
    assert "every.xlsx" in copy.repo.study().source and copy.repo.study().languages == ["en", "fr"]


def realistic_workbook(path):
    """A household survey as KoboToolbox users publish them: groups, a repeat, logic, metadata."""
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(
        [
            "type",
            "name",
            "label::English (en)",
            "label::Français (fr)",
            "hint::English (en)",
            "required",
            "relevant",
            "constraint",
            "calculation",
            "appearance",
            "choice_filter",
            "parameters",
        ]
    )
    rows = [
        ["start", "start"],
        ["end", "end"],
        ["deviceid", "deviceid"],
        ["note", "intro", "Welcome to the survey", "Bienvenue"],
        ["begin_group", "household", "Household", "Ménage"],
        ["integer", "Members", "How many people live here?", "Combien ?", "Count yourself", "yes", "", ". > 0 and . <= 30"],
        ["select_one district", "district", "District", "Quartier", "", "yes"],
        ["select_one ward", "ward", "Ward", "Secteur", "", "", "", "", "", "", "district=${district}"],
        ["end_group"],
        ["begin_repeat", "person", "Each person", "Chaque personne"],
        ["text", "person_name", "Name", "Nom", "", "yes"],
        ["integer", "age", "Age", "Âge", "", "", "", ". >= 0 and . < 120"],
        ["select_one yn", "smokes", "Does this person smoke?", "Fume ?", "", "${age} > 12", "${age} > 12"],
        ["end_repeat"],
        ["calculate", "adults", "", "", "", "", "", "", "count(${person})"],
        ["select_multiple symptoms", "symptoms", "Symptoms this week", "Symptômes", "", "", "", "count-selected(.) <= 3"],
        ["range", "pain", "Pain from 0 to 10", "Douleur", "", "", "", "", "", "", "", "start=0 end=10 step=1"],
        ["range", "mood", "Mood", "Humeur", "", "", "", "", "", "", "", "start=1 end=5 step=1"],
        ["geopoint", "home", "Where do you live?", "Où ?"],
        ["geotrace", "route", "Your usual route", "Trajet"],
        ["image", "photo", "A photo of the kitchen", "Photo"],
        ["datetime", "visit", "Visit time", "Heure"],
        ["text", "notes", "Anything else?", "Autre ?", "", "", "", "", "", "multiline"],
    ]
    for row in rows:
        survey.append(row)
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label::English (en)", "label::Français (fr)"])
    for row in [
        ["district", "north", "North", "Nord"],
        ["district", "south", "South", "Sud"],
        ["ward", "n1", "North 1", "Nord 1"],
        ["ward", "s1", "South 1", "Sud 1"],
        ["yn", "yes", "Yes", "Oui"],
        ["yn", "no", "No", "Non"],
        ["symptoms", "1", "Cough", "Toux"],
        ["symptoms", "2", "Fever", "Fièvre"],
    ]:
        choices.append(row)
    settings = book.create_sheet("settings")
    settings.append(["form_title", "form_id", "default_language"])
    settings.append(["Household health 2024", "hh_health_2024", "English (en)"])
    book.save(path)


def test_a_realistic_xlsform_reports_what_was_not_carried_over(data, tmp_path):
    path = tmp_path / "household.xlsx"
    realistic_workbook(path)
    study, report = import_xlsform(data, path, "Amina")
    fields = {f.key: f for f in d.open_draft(study).fields}
    assert list(fields) == [
        "members",
        "district",
        "ward",
        "person_name",
        "age",
        "smokes",
        "symptoms",
        "pain",
        "mood",
        "home",
        "route",
        "visit",
        "notes",
    ]
    assert fields["members"].type is FieldType.integer and (fields["members"].min, fields["members"].max) == (1, 30)
    assert fields["members"].help == {"en": "Count yourself"} and fields["members"].required
    assert fields["members"].label == {"en": "How many people live here?", "fr": "Combien ?"}
    assert (fields["age"].min, fields["age"].max) == (0, 119)
    assert fields["smokes"].type is FieldType.yes_no and not fields["smokes"].required
    assert fields["symptoms"].type is FieldType.multiple_choice
    assert [c.value for c in fields["symptoms"].choices] == ["option_1", "option_2"]
    assert (fields["pain"].type, fields["pain"].min, fields["pain"].max) == (FieldType.integer, 0, 10)
    assert fields["mood"].type is FieldType.rating
    assert fields["home"].type is FieldType.place and fields["route"].type is FieldType.place
    assert fields["visit"].type is FieldType.date and fields["notes"].type is FieldType.long_text
    text = report.summary()
    for expected in [
        "Groups",
        "household",
        "Repeats",
        "person",
        "Calculations left out: adults",
        "Skip logic (relevant) not carried over",
        "smokes",
        "Constraints not carried over",
        "count-selected",
        "Choice filters",
        "ward",
        "Metadata left out",
        "deviceid",
        "Notes left out",
        "intro",
        "photo",
        "Conditional 'required'",
        "Lines and shapes",
        "Date-and-time",
        "Question names changed",
        "Members -> members",
        "Choice codes changed",
    ]:
        assert expected in text, expected
    record = study.repo.study()
    assert record.title == "Household health 2024" and record.id == "hh-health-2024"
    assert record.languages == ["en", "fr"] and "household.xlsx" in record.source
    assert study.repo.current_protocol() is None  # the consent document is written before publishing
    [event] = [e for e in queries.activity(study) if e.action == "XLSForm imported"]
    assert event.details["questions"] == 13 and event.details["not_carried_over"] == report.not_carried_over


def test_an_xlsform_added_to_an_open_draft_keeps_keys_apart(data, tmp_path, study):
    path = tmp_path / "walks.xlsx"
    export_xlsform(study, path)
    draft = d.start_draft(study, "Amina")
    report = import_xlsform_into_draft(study, draft.id, path, "Amina")
    keys = [f.key for f in d.open_draft(study).fields]
    assert len(keys) == 24 and len(set(keys)) == 24 and "walk_date_2" in keys
    assert len(report.fields) == 12


def test_a_workbook_without_a_survey_sheet_is_refused(data, tmp_path):
    path = tmp_path / "not-a-form.xlsx"
    book = Workbook()
    book.active.title = "Budget"
    book.save(path)
    with pytest.raises(Refused, match="not a valid XLSForm: You must have a sheet named 'survey'"):
        read_xlsform(path)
    assert data.study_ids() == []
