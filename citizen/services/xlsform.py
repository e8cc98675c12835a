"""XLSForm, the wider field's form standard (ODK, KoboToolbox and others): read and write the form.

A workbook's ``survey``, ``choices`` and ``settings`` sheets are mapped to citizen's field types
and back. What a citizen form cannot hold (groups, repeats, calculations, skip logic, complex
constraints, files) is not carried over, and the report says so plainly, question by question.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from pydantic import ValidationError

from ..domain.design import Draft, make_code
from ..domain.models import KEY, LANG, FieldType, FormField, to_doc, utcnow
from ..domain.protocol_file import explain
from ..store import DataFolder, StoreError
from ..store.durable import atomic_write
from .common import Refused, ServiceError, Study, audit, change, row_of

LANGUAGE_NAMES = {
    "en": "English", "fr": "French", "es": "Spanish", "pt": "Portuguese", "ar": "Arabic", "sw": "Swahili",
    "hi": "Hindi", "ur": "Urdu", "bn": "Bengali", "zh": "Chinese", "de": "German", "it": "Italian",
    "pl": "Polish", "ro": "Romanian", "so": "Somali", "am": "Amharic", "ha": "Hausa", "yo": "Yoruba",
    "tr": "Turkish", "fa": "Persian", "ru": "Russian", "uk": "Ukrainian", "pa": "Punjabi", "ne": "Nepali",
}
NAME_TO_CODE = {name.casefold(): code for code, name in LANGUAGE_NAMES.items()}

METADATA = {"start", "end", "today", "deviceid", "subscriberid", "simserial", "phonenumber", "username",
            "email", "audit", "start-geopoint", "background-geopoint", "instanceid"}
MEDIA = {"image", "audio", "video", "file", "barcode", "background-audio", "signature"}
OTHER_COLUMNS = {
    "calculation": "calculations",
    "default": "default answers",
    "read_only": "read-only settings",
    "choice_filter": "choice filters (cascading choices)",
    "repeat_count": "repeat counts",
    "trigger": "triggers",
}
YES_NO = [("yes", "Yes"), ("no", "No")]


@dataclass
class XLSFormReport:
    """What was read from a workbook (or written to one), and what was not carried over."""

    title: str = ""
    form_id: str = ""
    languages: list[str] = field(default_factory=lambda: ["en"])
    fields: list[FormField] = field(default_factory=list)
    left_out: dict[str, list[str]] = field(default_factory=dict)

    def note(self, kind: str, what: str) -> None:
        self.left_out.setdefault(kind, []).append(what)

    @property
    def not_carried_over(self) -> list[str]:
        """One plain line per kind of feature that was not carried over, naming the questions."""
        return [f"{kind}: {', '.join(names)}" for kind, names in self.left_out.items()]

    def summary(self) -> str:
        lines = [f"{len(self.fields)} questions carried over."]
        if self.left_out:
            lines.append("Not carried over:")
            lines += [f"- {line}" for line in self.not_carried_over]
        return "\n".join(lines)


# -- reading ------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _rows(sheet: Any) -> list[dict[str, str]]:
    """The sheet's rows as dicts keyed by lower-cased header; blank rows dropped."""
    rows = [[_cell(c) for c in row] for row in sheet.iter_rows(values_only=True)]
    rows = [r for r in rows if any(r)]
    if not rows:
        return []
    header = [h.strip().lower() for h in rows[0]]
    out = []
    for r in rows[1:]:
        out.append({h: (r[i] if i < len(r) else "") for i, h in enumerate(header) if h})
    return out


def _language(label: str) -> Optional[str]:
    """'English (en)' -> 'en'; 'fr' -> 'fr'; 'Swahili' -> 'sw'; None when it cannot be told."""
    label = label.strip()
    m = re.search(r"\(([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})?)\)\s*$", label)
    if m:
        return m.group(1).lower() if "-" not in m.group(1) else m.group(1)
    if LANG.match(label):
        return label
    return NAME_TO_CODE.get(label.casefold())


def _texts(row: dict[str, str], column: str, default_lang: str, languages: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for header, value in row.items():
        if not value:
            continue
        if header == column:
            out.setdefault(default_lang, value)
        elif header.startswith(column + "::"):
            lang = _language(header.split("::", 1)[1])
            if lang and lang in languages:
                out[lang] = value
    return out


_BOUND = re.compile(r"^(string-length\(\s*\.\s*\)|\.)\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?)$")


def _bounds(expr: str, integer: bool) -> Optional[tuple[Optional[float], Optional[float], bool]]:
    """A constraint of plain bounds ('. >= 0 and . <= 120') as (min, max, on_length); else None."""
    low: Optional[float] = None
    high: Optional[float] = None
    length = None
    for part in re.split(r"\s+and\s+", expr.strip()):
        m = _BOUND.match(part.strip())
        if not m:
            return None
        on_length = m.group(1) != "."
        if length is not None and length != on_length:
            return None
        length = on_length
        op, number = m.group(2), float(m.group(3))
        step = 1 if (integer or on_length) else 0
        if op in (">", "<") and not step:
            return None  # a strict bound on a decimal cannot be said exactly
        if op == ">=":
            low = number
        elif op == ">":
            low = number + step
        elif op == "<=":
            high = number
        else:
            high = number - step
    return low, high, bool(length)


def _choice_code(name: str) -> str:
    code = name.strip().lower()
    return code if KEY.match(code) else make_code(name, "option")


def read_xlsform(path: Path) -> XLSFormReport:
    """Read an XLSForm workbook into citizen form fields, noting everything not carried over."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError:
        raise Refused(f"There is no file {path}.", {"path": f"There is no file {path}."}) from None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        msg = f"{path.name} is not an Excel workbook (.xlsx) that can be read ({type(exc).__name__})."
        raise Refused(msg, {"path": msg}) from None
    try:
        sheets = {ws.title.strip().lower(): ws for ws in book.worksheets}
        if "survey" not in sheets:
            msg = f"{path.name} has no 'survey' sheet, so it is not an XLSForm."
            raise Refused(msg, {"path": msg})
        survey = _rows(sheets["survey"])
        choice_rows = _rows(sheets["choices"]) if "choices" in sheets else []
        settings_rows = _rows(sheets["settings"]) if "settings" in sheets else []
    finally:
        book.close()
    settings = settings_rows[0] if settings_rows else {}
    report = XLSFormReport(title=settings.get("form_title", "") or path.stem, form_id=settings.get("form_id", ""))

    # Languages: from the label columns, the default one first.
    headers = {h for row in survey for h in row} | {h for row in choice_rows for h in row}
    found: list[str] = []
    unknown_langs = []
    for h in sorted(headers):
        if h.startswith(("label::", "hint::")):
            name = h.split("::", 1)[1]
            lang = _language(name)
            if lang is None:
                if name not in unknown_langs:
                    unknown_langs.append(name)
            elif lang not in found:
                found.append(lang)
    for name in unknown_langs:
        report.note("Languages whose code could not be told (add the code, as in 'French (fr)')", name)
    default = _language(settings.get("default_language", "")) if settings.get("default_language") else None
    if "label" in headers or not found:
        default = default or "en"
    default = default or found[0]
    report.languages = [default] + [lang for lang in found if lang != default]
    langs = report.languages

    lists: dict[str, list[dict[str, Any]]] = {}
    renamed_lists = set()
    for row in choice_rows:
        list_name = row.get("list_name") or row.get("list name") or ""
        name = row.get("name", "")
        if not list_name or not name:
            continue
        code = _choice_code(name)
        if code != name:
            renamed_lists.add(list_name)
        label = _texts(row, "label", default, langs) or {default: name}
        lists.setdefault(list_name, []).append({"value": code, "label": label})
    for list_name in sorted(renamed_lists):
        report.note("Choice codes changed to start with a letter (the labels are unchanged)", list_name)

    used: set[str] = set()
    groups: list[str] = []
    for row in survey:
        type_words = row.get("type", "").split()
        if not type_words:
            continue
        kind = type_words[0].lower().replace("-", "_") if type_words[0].lower() not in METADATA else type_words[0].lower()
        name = row.get("name", "")
        what = name or f"(row of type {kind})"
        if kind in ("begin_group", "begin"):
            if len(type_words) > 1 and type_words[1].lower() == "repeat":
                kind = "begin_repeat"
        if kind == "begin_group":
            groups.append(name)
            report.note("Groups (their questions are kept, in order, without the grouping)", what)
            if row.get("relevant"):
                report.note("Skip logic (relevant) not carried over", f"group {what}")
            continue
        if kind == "begin_repeat":
            groups.append(name)
            report.note("Repeats (their questions are asked once, not repeated)", what)
            if row.get("relevant"):
                report.note("Skip logic (relevant) not carried over", f"repeat {what}")
            continue
        if kind in ("end_group", "end_repeat", "end"):
            if groups:
                groups.pop()
            continue
        if kind == "calculate":
            report.note("Calculations left out", what)
            continue
        if kind == "note":
            report.note("Notes left out (they show text and ask nothing)", what)
            continue
        if kind in METADATA:
            report.note("Metadata left out (citizen records times itself)", what)
            continue
        if kind in MEDIA:
            report.note("Photo, sound, video, file and barcode questions left out", what)
            continue

        ftype: Optional[FieldType] = None
        extra: dict[str, Any] = {}
        list_name = type_words[1] if len(type_words) > 1 else ""
        appearance = row.get("appearance", "")
        if kind == "text":
            ftype = FieldType.long_text if "multiline" in appearance else FieldType.text
        elif kind in ("integer", "int"):
            ftype = FieldType.integer
        elif kind == "decimal":
            ftype = FieldType.decimal
        elif kind in ("select_one", "select1", "select_multiple"):
            choices = lists.get(list_name)
            if not choices:
                report.note("Choice questions whose list is missing from the choices sheet, left out", what)
                continue
            if len(type_words) > 2 and type_words[2].lower() == "or_other":
                report.note("'or_other' options not carried over", what)
            multiple = kind == "select_multiple"
            if not multiple and sorted(c["value"] for c in choices) == ["no", "yes"]:
                ftype = FieldType.yes_no
            else:
                ftype = FieldType.multiple_choice if multiple else FieldType.single_choice
                extra["choices"] = choices
        elif kind == "range":
            params = dict(re.findall(r"(\w+)\s*=\s*(-?[\d.]+)", row.get("parameters", "")))
            start, end, step = params.get("start", "1"), params.get("end", "10"), params.get("step", "1")
            if (float(start), float(end), float(step)) == (1, 5, 1):
                ftype = FieldType.rating
            else:
                whole = all(float(v).is_integer() for v in (start, end, step))
                ftype = FieldType.integer if whole else FieldType.decimal
                extra.update(min=float(start), max=float(end))
                if float(step) != 1:
                    report.note("Range steps not carried over (any number between the bounds is accepted)", what)
        elif kind == "date":
            ftype = FieldType.date
        elif kind == "datetime":
            ftype = FieldType.date
            report.note("Date-and-time questions kept as a date only", what)
        elif kind == "time":
            ftype = FieldType.time
        elif kind in ("geopoint", "geotrace", "geoshape"):
            ftype = FieldType.place
            if kind != "geopoint":
                report.note("Lines and shapes on a map kept as a place in words", what)
        else:
            report.note(f"Questions of a type citizen does not have ({kind}), left out", what)
            continue

        key = name.strip().lower()
        if not KEY.match(key):
            key = make_code(name or "question", "q")
        if key != name.strip():
            report.note("Question names changed to lower-case letters, digits and '_'", f"{name} -> {key}")
        base, n = key, 2
        while key in used:
            key = f"{base}_{n}"[:63]
            n += 1
        used.add(key)
        label = _texts(row, "label", default, langs)
        if not label:
            label = {default: name or key}
            report.note("Questions with no label (their name is used as the label)", what)
        required_text = row.get("required", "").strip().lower()
        required = required_text in ("yes", "true", "true()", "1", "y")
        if required_text and not required and required_text not in ("no", "false", "false()", "0", "n"):
            report.note("Conditional 'required' not carried over (the question is optional)", what)
        if row.get("relevant"):
            report.note("Skip logic (relevant) not carried over: the question is always asked", what)
        constraint = row.get("constraint", "")
        if constraint:
            parsed = _bounds(constraint, ftype is FieldType.integer)
            numeric = ftype in (FieldType.integer, FieldType.decimal)
            if parsed and (numeric and not parsed[2] or ftype in (FieldType.text, FieldType.long_text) and parsed[2]):
                extra.setdefault("min", parsed[0])
                extra.setdefault("max", parsed[1])
            else:
                report.note("Constraints not carried over", f"{what} ({constraint})")
        for column, kind_name in OTHER_COLUMNS.items():
            if row.get(column):
                report.note(f"{kind_name.capitalize()} not carried over", what)
        try:
            report.fields.append(FormField(
                key=key, type=ftype, label=label, help=_texts(row, "hint", default, langs), required=required,
                identifying=row.get("citizen_identifying", "").lower() in ("yes", "true", "1"), **extra))
        except ValidationError as exc:
            report.note("Questions that could not be used", f"{what} ({'; '.join(explain(exc))})")
    if not report.fields:
        msg = f"{path.name} has no question citizen can use."
        raise Refused(msg, {"path": msg})
    return report


def _add_fields(study: Study, draft: Draft, report: XLSFormReport, actor: str, source: str) -> Draft:
    fields = list(draft.fields)
    keys = {f.key for f in fields}
    for f in report.fields:
        key, n = f.key, 2
        while key in keys:
            key = f"{f.key}_{n}"[:63]
            n += 1
        keys.add(key)
        fields.append(f if key == f.key else f.model_copy(update={"key": key}))
    updated = draft.model_copy(update={"fields": fields, "updated_at": utcnow()})
    with change(study) as tx:
        tx.put("drafts", row_of(study, "drafts", draft.id), to_doc(updated))
        audit(tx, actor, "XLSForm imported", source,
              {"questions": len(report.fields), "not_carried_over": report.not_carried_over}, laptop=study.laptop)
    return updated


def import_xlsform(data: DataFolder, path: Path, actor: str, study_id: str = "",
                   shared_aim: str = "") -> tuple[Study, XLSFormReport]:
    """A new study whose draft holds the workbook's questions; consent is written before publishing."""
    from .design import new_study, start_draft

    report = read_xlsform(path)
    source = f"imported from the XLSForm {path.name}" + (f" (form id {report.form_id})" if report.form_id else "")
    aim = shared_aim.strip() or f"To be agreed with the community (started from the XLSForm {path.name})."
    study = new_study(data, report.title[:200] or path.stem, aim, actor, languages=report.languages,
                      study_id=study_id or make_code(report.form_id or report.title or path.stem, "study")
                      .replace("_", "-")[:63], source=source)
    draft = start_draft(study, actor)
    _add_fields(study, draft, report, actor, path.name)
    return study, report


def import_xlsform_into_draft(study: Study, draft_id: str, path: Path, actor: str) -> XLSFormReport:
    """Add a workbook's questions after the open draft's fields (keys already used get a suffix)."""
    from .design import _draft

    _row, draft = _draft(study, draft_id)
    report = read_xlsform(path)
    _add_fields(study, draft, report, actor, path.name)
    return report


# -- writing ------------------------------------------------------------------------------------


def _lang_header(column: str, lang: str) -> str:
    return f"{column}::{LANGUAGE_NAMES.get(lang, lang)} ({lang})"


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


def export_xlsform(study: Study, path: Path, version: Optional[int] = None) -> XLSFormReport:
    """Write a protocol version's form as an XLSForm workbook (survey, choices, settings)."""
    from openpyxl import Workbook

    protocol = study.repo.protocol_version(version) if version else study.repo.current_protocol()
    if protocol is None:
        raise ServiceError("This study has no published protocol to export." if version is None
                           else f"There is no protocol version {version}.")
    record = study.repo.study()
    langs = record.languages
    report = XLSFormReport(title=record.title, form_id=record.id, languages=langs, fields=protocol.fields)
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", *(_lang_header("label", lang) for lang in langs),
                   *(_lang_header("hint", lang) for lang in langs), "required", "constraint", "constraint_message",
                   "appearance", "parameters", "citizen_identifying"])
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", *(_lang_header("label", lang) for lang in langs)])
    need_yes_no = False
    for f in protocol.fields:
        appearance = parameters = ""
        xtype = {
            FieldType.text: "text", FieldType.long_text: "text", FieldType.integer: "integer",
            FieldType.decimal: "decimal", FieldType.date: "date", FieldType.time: "time",
            FieldType.place: "geopoint", FieldType.rating: "range",
        }.get(f.type, "")
        if f.type is FieldType.long_text:
            appearance = "multiline"
        elif f.type is FieldType.rating:
            parameters = "start=1 end=5 step=1"
        elif f.type is FieldType.place:
            report.note("Places are written as geopoint (a point on a map); citizen asks for a place in words",
                        f.key)
        elif f.type is FieldType.yes_no:
            xtype, need_yes_no = "select_one yes_no", True
        elif f.type in (FieldType.single_choice, FieldType.multiple_choice):
            xtype = ("select_one " if f.type is FieldType.single_choice else "select_multiple ") + f.key
            for c in f.choices:
                choices.append([f.key, c.value, *(c.label.get(lang, "") for lang in langs)])
        constraint = _constraint(f)
        message = ""
        if constraint:
            message = "Please enter a value between the bounds." if f.min is not None and f.max is not None else \
                "Please enter a value within the bound."
        survey.append([xtype, f.key, *(f.label.get(lang, "") for lang in langs), *(f.help.get(lang, "") for lang in langs),
                       "yes" if f.required else "", constraint, message, appearance, parameters,
                       "yes" if f.identifying else ""])
    if need_yes_no:
        for value, label in YES_NO:
            choices.append(["yes_no", value, *(label for _ in langs)])
    settings = book.create_sheet("settings")
    settings.append(["form_title", "form_id", "version", "default_language"])
    settings.append([record.title, record.id, str(protocol.number), _lang_header("x", langs[0]).split("::", 1)[1]])
    report.note("The consent document is not part of an XLSForm; share the protocol file (.json) for it",
                f"consent version {protocol.consent.version}")
    buffer = io.BytesIO()
    book.save(buffer)
    try:
        atomic_write(path, buffer.getvalue())
    except StoreError as exc:
        raise ServiceError(str(exc)) from None
    return report


__all__ = ["XLSFormReport", "export_xlsform", "import_xlsform", "import_xlsform_into_draft", "read_xlsform"]
