"""Rows made by one call per row give exactly what the cell-by-cell rules give, for any value."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta
from functools import partial

import pytest

from citizen.domain.models import FREE_TEXT_TYPES, FieldType, pick
from citizen.export.cells import row_maker, safe_row_maker
from citizen.export.check import category_holders
from citizen.export.plan import base_columns, field_columns, make_options
from citizen.export.sink import safe_cell
from citizen.services import open_study
from citizen.store import DataFolder

from .support.export_before import category_holders as cell_by_cell_holders

ODD = [
    None,
    "",
    "plain",
    "=SUM(A1)",
    "+1",
    "-2",
    "@x",
    "\tx",
    "\uff1dx",
    0,
    7,
    -3,
    2.5,
    -0.5,
    True,
    False,
    ["cough"],
    ["none", "cough"],
    "2026-05-01",
    "not a date",
    {"a": 1},
    "canal_path",
]


def cell_by_cell(f, value, labels, language, shift):
    """The per-cell rule the export followed before rows were made in one call."""
    if value is None:
        return None
    if f.type is FieldType.single_choice and labels:
        for c in f.choices:
            if c.value == value:
                return pick(c.label, language)
        return value
    if f.type is FieldType.yes_no:
        return ("yes" if value else "no") if labels else (1 if value else 0)
    if f.type is FieldType.date and shift:
        try:
            return (date.fromisoformat(value) + shift).isoformat()
        except (TypeError, ValueError):
            return value
    return value


def reference_row(columns, present, quote_ok, labels, language, values, shift):
    row, blanked = [], False
    for col in columns:
        f = col.field
        if f.key not in present:
            row.append(None)
        elif col.option is not None:
            row.append(1 if col.option in (values.get(f.key) or []) else 0)
        elif f.type in FREE_TEXT_TYPES and not quote_ok:
            blanked = blanked or values.get(f.key) not in (None, "")
            row.append(None)
        else:
            row.append(cell_by_cell(f, values.get(f.key), labels, language, shift))
    return row, blanked


def outcome(make, values, shift):
    """The row, or the kind of error (a value no form would store may fail, but the same way)."""
    try:
        return make(values, shift)
    except TypeError:
        return "TypeError"


@pytest.fixture(scope="module")
def versions(demo_template):
    """The demo study's protocol versions (two, the second with a new question)."""
    with DataFolder(demo_template, readonly=True) as data:
        return open_study(data, data.study_ids()[0]).repo.protocol_versions()


@pytest.mark.parametrize("labels", [False, True])
@pytest.mark.parametrize("quote_ok", [False, True])
def test_a_row_made_in_one_call_is_the_row_made_cell_by_cell(versions, labels, quote_ok):
    columns, _ = field_columns(versions, make_options(identifying=True, labels=labels))
    keys = [c.field.key for c in columns]
    rng = random.Random(11)
    for _trial in range(400):
        present = {k for k in keys if rng.random() < 0.9}
        values = {k: rng.choice(ODD) for k in keys if rng.random() < 0.8}
        shift = timedelta(days=rng.choice([0, 0, -40, 90]))
        for lang in ("en", "zh", "ar"):
            make = row_maker(columns, present, quote_ok, labels, lang)
            assert outcome(make, values, shift) == outcome(
                partial(reference_row, columns, present, quote_ok, labels, lang), values, shift
            )


def test_a_row_made_safe_in_one_call_writes_the_same_csv_as_cell_by_cell():
    rng = random.Random(5)
    for _trial in range(300):
        numeric = [rng.random() < 0.5 for _ in range(12)]
        row = [rng.choice(ODD) for _ in numeric]
        safe = safe_row_maker(numeric, safe_cell)
        ours, theirs = io.StringIO(), io.StringIO()
        csv.writer(ours, lineterminator="\r\n").writerow(safe(row))
        csv.writer(theirs, lineterminator="\r\n").writerow([safe_cell(v, numeric[i]) for i, v in enumerate(row)])
        assert ours.getvalue() == theirs.getvalue()


def test_keys_and_codes_are_values_never_code(versions):
    """A field key or choice code that looks like Python is only ever looked up, never run."""
    columns, _ = field_columns(versions, make_options(labels=True))
    col = columns[0]
    hostile = "') or __import__('os').system('false') or ('"
    field = col.field.model_copy(update={"key": hostile})
    odd = type(col)(col.name, col.labels, col.type, col.choices, col.versions, field=field, option=col.option)
    make = row_maker([odd], {hostile}, True, True, "en")
    cells, _ = make({hostile: "=1"}, timedelta(0))
    assert cells == [reference_row([odd], {hostile}, True, True, "en", {hostile: "=1"}, timedelta(0))[0][0]]


def test_the_sharing_check_counted_a_column_at_a_time_is_the_check_counted_cell_by_cell(versions):
    """Who holds each answer, whatever the answers' types (1 and True, 0.0 and -0.0, lists, text)."""
    columns, _ = field_columns(versions, make_options(identifying=True))
    columns = [*base_columns(versions[-1].page_words), *columns]
    answers = [None, 0, 1, 2, True, False, 1.0, 0.0, -0.0, 2.5, "1", "yes", "=x", ["cough"], {"a": 1}, "canal_path"]
    rng = random.Random(3)
    for trial in range(60):
        rows = []
        for n in range(rng.randint(0, 40)):
            row: list = [f"c{n}", f"P{rng.randint(1, 9)}"]
            for col in columns[2:]:
                if col.option is not None:
                    row.append(rng.choice([None, 0, 1]))  # what cells.row_maker gives an option column
                elif trial % 2:
                    row.append(rng.choice(answers))
                else:
                    row.append(rng.choice([None, 1, 2, 3, "canal_path", "other"]))
            rows.append(row)
        assert category_holders(columns, rows) == cell_by_cell_holders(columns, rows)
