"""Write a form as an XLSForm workbook that pyxform converts with no error and no warning.

Every language the study speaks gets its own column for every translatable column the form uses
(label, hint, choice labels), and the default language is declared in the settings, so that
pyxform has nothing to warn about. Bounds are written as constraints without a message of ours:
ODK shows its own, in the phone's language, where a message in one language would not do.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Optional

from ...domain.models import FieldType, FormField
from ...store import StoreError
from ...store.durable import atomic_write
from ..common import ServiceError
from .report import XLSFormReport, language_header

SMART_QUOTES = ("\u2018", "\u2019", "\u201c", "\u201d")
YES_NO = [("yes", "Yes"), ("no", "No")]
XLSFORM_TYPES = {
    FieldType.text: "text",
    FieldType.long_text: "text",
    FieldType.integer: "integer",
    FieldType.decimal: "decimal",
    FieldType.date: "date",
    FieldType.time: "time",
    FieldType.place: "geopoint",
    FieldType.rating: "range",
}


def _column(column: str, lang: str) -> str:
    return f"{column}::{language_header(lang)}"


def _num(value: float) -> str:
    return f"{value:g}"


def _constraint(f: FormField) -> str:
    target = "." if f.type in (FieldType.integer, FieldType.decimal) else "string-length(.)"
    parts = []
    if f.min is not None:
        parts.append(f"{target} >= {_num(f.min)}")
    if f.max is not None:
        parts.append(f"{target} <= {_num(f.max)}")
    return " and ".join(parts)


def write_xlsform(
    path: Path, report: XLSFormReport, version: str, draft_of: Optional[int] = None, draft: bool = False
) -> XLSFormReport:
    """Write report.fields as a workbook (survey, choices, settings); a draft says so in its settings."""
    from openpyxl import Workbook  # lazy: openpyxl loads only when an XLSForm is written (start-up time)

    langs = report.languages
    fields = report.fields
    uses_hint = any(f.help for f in fields)
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(
        [
            "type",
            "name",
            *(_column("label", lang) for lang in langs),
            *((_column("hint", lang) for lang in langs) if uses_hint else ()),
            "required",
            "constraint",
            "appearance",
            "parameters",
            "citizen_identifying",
        ]
    )
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", *(_column("label", lang) for lang in langs)])
    need_yes_no = False
    curly = [f.key for f in fields if any(q in f.model_dump_json() for q in SMART_QUOTES)]
    if curly:
        report.note("Curly quotes that XLSForm tools read as straight quotes", ", ".join(curly))
    for f in fields:
        xtype, appearance, parameters = XLSFORM_TYPES.get(f.type, ""), "", ""
        if f.type is FieldType.long_text:
            appearance = "multiline"
        elif f.type is FieldType.rating:
            parameters = "start=1 end=5 step=1"
        elif f.type is FieldType.place:
            report.note("Places are written as geopoint (a point on a map); citizen asks for a place in words", f.key)
        elif f.type is FieldType.yes_no:
            xtype, need_yes_no = "select_one yes_no", True
        elif f.type in (FieldType.single_choice, FieldType.multiple_choice):
            xtype = ("select_one " if f.type is FieldType.single_choice else "select_multiple ") + f.key
            for c in f.choices:
                choices.append([f.key, c.value, *(c.label.get(lang, "") for lang in langs)])
        hints = [f.help.get(lang, "") for lang in langs] if uses_hint else []
        survey.append(
            [
                xtype,
                f.key,
                *(f.label.get(lang, "") for lang in langs),
                *hints,
                "yes" if f.required else "",
                _constraint(f),
                appearance,
                parameters,
                "yes" if f.identifying else "",
            ]
        )
    if need_yes_no:
        for value, label in YES_NO:
            choices.append(["yes_no", value, *(label for _ in langs)])
    settings = book.create_sheet("settings")
    # clean_text_values "no": pyxform keeps line breaks and spaces in the texts as written
    header = ["form_title", "form_id", "version", "default_language", "clean_text_values"]
    row: list[object] = [report.title, report.form_id, version, language_header(langs[0]), "no"]
    if draft:
        header.append("citizen_draft_of")
        row.append(str(draft_of) if draft_of else "none")
    settings.append(header)
    settings.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    try:
        atomic_write(path, buffer.getvalue())
    except StoreError as exc:
        raise ServiceError(str(exc)) from None
    return report
