"""XLSForm held against pyxform, the format's reference implementation, on its own public workbooks.

Every example workbook of pyxform's test suite (tests/data/pyxform, see its README) is read: those
pyxform accepts import as pyxform reads them, with every question either carried over or named in
the report; those it refuses are refused with pyxform's reason on one line, and nothing is stored.
What citizen writes converts with pyxform without an error or a warning.
"""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from pyxform.errors import PyXFormError
from pyxform.xls2xform import convert

from citizen.domain.models import FieldType, FormField
from citizen.services import Refused
from citizen.services import design as d
from citizen.services.xlsform import export_xlsform, import_xlsform, read_xlsform

EXAMPLES = Path(__file__).parent / "data" / "pyxform"
WORKBOOKS = sorted(p for p in EXAMPLES.glob("*/*") if p.suffix in (".xls", ".xlsx", ".xlsm", ".csv", ".md"))


def pyxform_reads(path: Path) -> Any:
    """pyxform's verdict: its reading of the form, or the exception it refuses the form with."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return convert(xlsform=str(path), validate=False)
        except PyXFormError as exc:
            return exc


def questions(node: dict[str, Any]) -> list[str]:
    """The names of every question in pyxform's reading, groups and repeats opened."""
    out = []
    for child in node.get("children", []):
        if child.get("type") == "entity":  # an entity's children declare it; they ask nothing
            out.append(str(child["name"]))
        elif "children" in child:
            out += questions(child)
        elif child.get("name") not in ("instanceID", "instanceName"):
            out.append(str(child["name"]))
    return out


def test_the_public_examples_are_all_here():
    assert len(WORKBOOKS) == 60
    assert sum(1 for p in WORKBOOKS if isinstance(pyxform_reads(p), PyXFormError)) == 8


@pytest.mark.parametrize("path", WORKBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_public_example_is_read_as_pyxform_reads_it(path, data):
    verdict = pyxform_reads(path)
    if isinstance(verdict, PyXFormError):
        with pytest.raises(Refused) as refused:
            import_xlsform(data, path, "Amina")
        reason = " ".join(str(verdict).split())
        assert str(refused.value) == f"{path.name} is not a valid XLSForm: {reason}"
        assert "\n" not in str(refused.value)
        assert data.study_ids() == []
        return
    names = questions(verdict._pyxform)
    try:
        report = read_xlsform(path)
    except Refused as exc:  # pyxform reads it, but nothing in it is a question citizen can ask
        assert str(exc).startswith(f"{path.name} has no question citizen can use (")
        assert all(name in str(exc) for name in names)
        return
    keys = {f.key for f in report.fields}
    summary = report.summary()
    for name in names:  # each question carried over, or named in the report
        assert name.lower() in keys or name in summary, name
    assert report.title == verdict._pyxform["title"]


def test_older_spellings_and_a_first_sheet_not_named_survey(data):
    """The three workbooks the hand-written reader refused, read as pyxform reads them."""
    yes_no = read_xlsform(EXAMPLES / "example_xls" / "yes_or_no_question.xlsx")  # 'select one from', 'label:english'
    [good_day] = yes_no.fields
    assert good_day.type is FieldType.yes_no and good_day.label == {"en": "have you had a good day today?"}
    assert yes_no.languages == ["en"] and yes_no.left_out == {}
    other = read_xlsform(EXAMPLES / "example_xls" / "specify_other.xls")  # 'select one from sexes or specify other'
    sex, sex_other = other.fields
    assert sex.type is FieldType.single_choice and [c.value for c in sex.choices] == ["male", "female", "other"]
    assert sex_other.key == "sex_other" and sex_other.type is FieldType.text
    assert "Skip logic (relevant) not carried over: the question is always asked: sex_other" in other.not_carried_over
    study, report = import_xlsform(data, EXAMPLES / "example_xls" / "survey_no_name.xlsx", "Amina")  # sheet 'Sheet1'
    assert [(f.key, f.label) for f in d.open_draft(study).fields] == [("state", {"en": "The State"})]


def test_a_workbook_pyxform_refuses_is_refused_even_if_it_looks_fine(data):
    """Two 'label' columns: the hand-written reader took one silently; pyxform refuses it."""
    with pytest.raises(Refused, match=r"^duplicate_columns.xlsx is not a valid XLSForm: Duplicate column header: label$"):
        import_xlsform(data, EXAMPLES / "bug_example_xls" / "duplicate_columns.xlsx", "Amina")
    assert data.study_ids() == []


def test_an_old_xls_workbook_and_the_text_forms_read_alike():
    readings = [read_xlsform(EXAMPLES / "example_xls" / f"text_and_integer.{ext}") for ext in ("xlsx", "xls", "md", "csv")]
    assert [(f.key, f.type) for f in readings[0].fields] == [("your_name", FieldType.text), ("your_age", FieldType.integer)]
    assert all(r.fields == readings[0].fields for r in readings)


def test_no_library_warning_reaches_the_terminal(data_path, run_env, tmp_path):
    """bad_calc.xlsx makes openpyxl warn 'Unknown extension is not supported'; the user sees citizen's words only."""
    from .support.commands import citizen_command

    for name in ("xl_date_ambiguous.xlsx", "bad_calc.xlsx"):
        done = subprocess.run(
            [
                *citizen_command(),
                "--data",
                str(data_path),
                "--as",
                "Amina",
                "study",
                "import",
                str(EXAMPLES / "bug_example_xls" / name),
            ],
            capture_output=True,
            text=True,
            env={**run_env, "PYTHONWARNINGS": "always"},
            timeout=120,
        )
        assert "Unknown extension" not in done.stderr + done.stdout and "Warning" not in done.stderr
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "citizen: bad_calc.xlsx has no question citizen can use (Calculations left out: badcalc)."
    ]


def assert_pyxform_converts_cleanly(path: Path) -> None:
    result = pyxform_reads(path)
    assert not isinstance(result, PyXFormError), result
    assert result.warnings == []


def as_pyxform_reads(fields: list) -> list:
    """pyxform reads curly quotes as straight ones (the form ODK gets has them so)."""
    text = json.dumps([f.model_dump(mode="json") for f in fields], ensure_ascii=False)
    for curly, straight in {"\u2018": "'", "\u2019": "'", "\u201c": '\\"', "\u201d": '\\"'}.items():
        text = text.replace(curly, straight)
    return [FormField.model_validate(f) for f in json.loads(text)]


def test_the_demo_study_exports_an_xlsform_pyxform_converts_without_a_warning(study, tmp_path):
    path = tmp_path / "walks.xlsx"
    report = export_xlsform(study, path)
    assert "Curly quotes that XLSForm tools read as straight quotes: symptoms" in report.not_carried_over
    assert_pyxform_converts_cleanly(path)
    back = read_xlsform(path)
    assert back.fields == as_pyxform_reads(study.repo.current_protocol().fields) and back.left_out == {}
    assert back.fields[0].help == study.repo.current_protocol().fields[0].help


@pytest.mark.parametrize(
    "name",
    [
        "bug_example_xls/UCL_Biomass_Plot_Form.xlsx",
        "example_xls/tutorial.xls",
        "example_xls/widgets.xls",
        "example_xls/xlsform_spec_test.xlsx",
    ],
)
def test_an_imported_workbook_goes_round_without_a_warning(data, tmp_path, name):
    study, report = import_xlsform(data, EXAMPLES / name, "Amina")
    path = tmp_path / "again.xlsx"
    export_xlsform(study, path, draft=True)
    assert_pyxform_converts_cleanly(path)
    again = read_xlsform(path)
    assert again.fields == d.open_draft(study).fields == report.fields
    assert again.languages == report.languages and again.left_out == {}
    assert again.draft and again.draft_of is None


def test_a_form_in_two_languages_with_hints_in_one_converts_cleanly(data, tmp_path):
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label::English (en)", "label::Français (fr)", "hint::English (en)", "constraint"])
    survey.append(["integer", "age", "Age", "Âge", "In years", ". >= 0 and . <= 120"])
    survey.append(["select_one yn", "smokes", "Do you smoke?", "Fumez-vous ?", "", ""])
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label::English (en)", "label::Français (fr)"])
    choices.append(["yn", "yes", "Yes", "Oui"])
    choices.append(["yn", "no", "No", "Non"])
    book.save(tmp_path / "two.xlsx")
    study, report = import_xlsform(data, tmp_path / "two.xlsx", "Amina")
    assert report.languages == ["en", "fr"] and report.fields[1].type is FieldType.yes_no
    export_xlsform(study, tmp_path / "out.xlsx", draft=True)
    assert_pyxform_converts_cleanly(tmp_path / "out.xlsx")
    assert read_xlsform(tmp_path / "out.xlsx").fields == report.fields


def test_a_damaged_workbook_is_refused_plainly(data, tmp_path):
    for name in ("form.xls", "form.xlsm"):
        (tmp_path / name).write_bytes(b"PK this is no workbook")
        with pytest.raises(Refused, match=rf"^{name} is not an Excel workbook that can be read"):
            import_xlsform(data, tmp_path / name, "Amina")
    assert data.study_ids() == []
