"""Read an XLSForm through pyxform, the format's reference implementation, into citizen's form fields.

pyxform reads the workbook (``.xlsx``, ``.xlsm``, ``.xls``, or the ``.csv`` and ``.md`` text forms)
exactly as ODK and KoboToolbox do: aliases, older spellings, sheet names, languages, ``or_other``.
A workbook it refuses is refused here with its reason on one line. From what it reads, the
questions citizen can hold become fields; groups are flattened, repeats asked once, and whatever a
citizen form cannot hold (logic, calculations, media, ...) is named in the report, question by question.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path
from typing import Any, Optional

from pydantic import ValidationError

from ...domain.design import make_code
from ...domain.models import KEY, FieldType, FormField
from ...domain.protocol_file import explain
from ..common import Refused
from .report import XLSFormReport, language_code

OLE = bytes.fromhex("d0cf11e0a1b11ae1")  # how every .xls workbook begins
SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv", ".md")
GROUPS = {
    "group": "Groups (their questions are kept, in order, without the grouping)",
    "repeat": "Repeats (their questions are asked once, not repeated)",
    "loop": "Loops over a list (their questions are asked once, not for each item)",
}
OTHER_COLUMNS = {"default": "default answers", "choice_filter": "choice filters (cascading choices)", "trigger": "triggers"}
TRUE = {"yes", "true", "true()", "1", "y"}
FALSE = {"no", "false", "false()", "0", "n"}


def _refuse(msg: str) -> Refused:
    return Refused(msg, {"path": msg})


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def convert_form(path: Path) -> dict[str, Any]:
    """The form as pyxform reads it, or Refused with pyxform's reason; no library warning escapes."""
    # lazy: pyxform loads only when an XLSForm is read (start-up time)
    from pyxform.errors import PyXFormError
    from pyxform.xls2xform import convert

    if not path.is_file():
        raise _refuse(f"There is no file {path}.")
    if path.suffix.lower() not in SUFFIXES:
        raise _refuse(f"{path.name} is not an XLSForm (.xlsx, .xls, .xlsm, .csv or .md).")
    suffix = path.suffix.lower()
    with path.open("rb") as fh:
        start = fh.read(8)
    if suffix in (".xlsx", ".xlsm") and not zipfile.is_zipfile(path) or suffix == ".xls" and start != OLE:
        raise _refuse(f"{path.name} is not an Excel workbook that can be read (the file is damaged or of another kind).")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl's "Unknown extension is not supported" and the like
        try:
            result = convert(xlsform=str(path), validate=False)
        except PyXFormError as exc:
            raise _refuse(f"{path.name} is not a valid XLSForm: {_one_line(exc)}") from None
        except Exception as exc:  # noqa: BLE001 - a damaged or foreign file fails in many ways inside the readers
            reason = _one_line(exc) or type(exc).__name__
            raise _refuse(f"{path.name} cannot be read as an XLSForm: {reason}") from None
    return result._pyxform or {}


def _texts(value: Any, langs: dict[str, Optional[str]], default: str) -> dict[str, str]:
    """A label or hint as pyxform holds it (text, or a dict by language) keyed by citizen's codes."""
    if isinstance(value, str):
        return {default: value.strip()} if value.strip() else {}
    out: dict[str, str] = {}
    for name, text in (value or {}).items():
        lang = langs.get(name)
        if lang and isinstance(text, str) and text.strip():
            out.setdefault(lang, text.strip())
    return out


def _language_names(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        for key in ("label", "hint"):
            if isinstance(node.get(key), dict):
                found.update(node[key])
        for value in node.values():
            if isinstance(value, (list, dict)):
                _language_names(value, found)
    elif isinstance(node, list):
        for item in node:
            _language_names(item, found)


def _languages(form: dict[str, Any], report: XLSFormReport) -> dict[str, Optional[str]]:
    """Each language name the form uses mapped to a code (the default first in report.languages)."""
    names: set[str] = set()
    _language_names(form.get("children", []), names)
    _language_names(form.get("choices", {}), names)
    declared = form.get("default_language") or "default"
    default = language_code(declared) if declared != "default" else None
    if default is None:
        coded = [c for c in (language_code(n) for n in sorted(names) if n != "default") if c]
        default = "en" if "default" in names or not coded or "en" in coded else coded[0]
    mapping: dict[str, Optional[str]] = {"default": default}
    order = [default]
    for name in sorted(names - {"default"}):
        code = language_code(name)
        mapping[name] = code
        if code is None:
            report.note("Languages whose code could not be told (add the code, as in 'French (fr)')", name)
        elif code not in order:
            order.append(code)
    report.languages = order
    return mapping


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


class _Reader:
    """Walks pyxform's tree once, turning questions into fields and noting what is left out."""

    def __init__(self, form: dict[str, Any], report: XLSFormReport):
        from pyxform.question_type_dictionary import QUESTION_TYPE_DICT  # lazy: pyxform (start-up time)

        self.types = QUESTION_TYPE_DICT
        self.report = report
        self.langs = _languages(form, report)
        self.default = report.languages[0]
        self.used: set[str] = set()
        self.renamed_lists: set[str] = set()
        self.doubled_lists: set[str] = set()

    def walk(self, children: list[dict[str, Any]]) -> None:
        for node in children:
            kind = str(node.get("type", ""))
            name = str(node.get("name", ""))
            what = name or f"(row of type {kind})"
            if kind in GROUPS or "children" in node:
                if node.get("control", {}).get("bodyless") and name == "meta":
                    self.walk([c for c in node.get("children", []) if c.get("name") not in ("instanceID", "instanceName")])
                    continue
                if kind == "entity":
                    self.report.note("Entities (records shared between forms) left out", what)
                    continue
                self.report.note(GROUPS.get(kind, GROUPS["group"]), what)
                if node.get("bind", {}).get("relevant"):
                    self.report.note("Skip logic (relevant) not carried over", f"{kind} {what}")
                if node.get("control", {}).get("jr:count"):
                    self.report.note("Repeat counts not carried over", what)
                self.walk(node.get("children", []))
                continue
            self.question(node, kind, name, what)

    def _kind(self, node: dict[str, Any], kind: str) -> tuple[str, str, dict[str, Any]]:
        spec = self.types.get(kind, {})
        bind = {**spec.get("bind", {}), **node.get("bind", {})}
        return spec.get("control", {}).get("tag", ""), str(spec.get("bind", {}).get("type", "")), bind

    def question(self, node: dict[str, Any], kind: str, name: str, what: str) -> None:
        report = self.report
        tag, btype, bind = self._kind(node, kind)
        if kind not in self.types:
            report.note(f"Questions of a type citizen does not have ({kind}), left out", what)
            return
        if "jr:preload" in bind:
            report.note("Metadata left out (citizen records times itself)", what)
            return
        if kind == "note" or (tag == "input" and bind.get("readonly") == "true()" and not bind.get("calculate")):
            report.note("Notes left out (they show text and ask nothing)", what)
            return
        if not tag:
            report.note(
                "Calculations left out" if bind.get("calculate") or kind == "calculate" else "Hidden values left out", what
            )
            return
        if tag == "upload" or btype in ("binary", "barcode"):
            report.note("Photo, sound, video, file and barcode questions left out", what)
            return
        ftype, extra = self._type(node, kind, tag, btype, what)
        if ftype is None:
            return
        self.add(node, ftype, extra, bind, name, what)

    def _choices(self, node: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        list_name = str(node.get("list_name") or node.get("itemset") or "")
        for choice in node.get("choices") or []:
            raw = str(choice.get("name", "")).strip()
            if not raw:
                continue
            code = raw.lower() if KEY.match(raw.lower()) else make_code(raw, "option")
            if code != raw:
                self.renamed_lists.add(list_name)
            if code in seen:  # a cascading list repeats a code under each parent; a citizen list holds it once
                self.doubled_lists.add(list_name)
                continue
            seen.add(code)
            out.append({"value": code, "label": _texts(choice.get("label"), self.langs, self.default) or {self.default: raw}})
        return out

    def _type(
        self, node: dict[str, Any], kind: str, tag: str, btype: str, what: str
    ) -> tuple[Optional[FieldType], dict[str, Any]]:
        report, extra = self.report, dict[str, Any]()
        appearance = str(node.get("control", {}).get("appearance", ""))
        if tag in ("select1", "select") and kind != "rank":
            choices = self._choices(node)
            if not choices:
                report.note("Choice questions whose list is kept outside the workbook, left out", what)
                return None, extra
            if tag == "select" or sorted(c["value"] for c in choices) != ["no", "yes"]:
                extra["choices"] = choices
                return (FieldType.multiple_choice if tag == "select" else FieldType.single_choice), extra
            return FieldType.yes_no, extra
        if tag == "range":
            params = node.get("parameters") or {}
            start, end, step = (float(params.get(k, d)) for k, d in (("start", 1), ("end", 10), ("step", 1)))
            if (start, end, step) == (1, 5, 1):
                return FieldType.rating, extra
            extra.update(min=min(start, end), max=max(start, end))
            if step != 1:
                report.note("Range steps not carried over (any number between the bounds is accepted)", what)
            return (FieldType.integer if all(v.is_integer() for v in (start, end, step)) else FieldType.decimal), extra
        if tag == "input":
            if kind == "select one external":
                report.note("Choice questions whose list is kept outside the workbook, left out", what)
                return None, extra
            simple = {
                "int": FieldType.integer,
                "decimal": FieldType.decimal,
                "date": FieldType.date,
                "time": FieldType.time,
                "dateTime": FieldType.date,
                "geopoint": FieldType.place,
                "geotrace": FieldType.place,
                "geoshape": FieldType.place,
            }
            if btype == "string":
                return (FieldType.long_text if "multiline" in appearance else FieldType.text), extra
            if btype == "dateTime":
                report.note("Date-and-time questions kept as a date only", what)
            elif btype in ("geotrace", "geoshape"):
                report.note("Lines and shapes on a map kept as a place in words", what)
            if btype in simple:
                return simple[btype], extra
        report.note(f"Questions of a type citizen does not have ({kind}), left out", what)
        return None, extra

    def add(
        self, node: dict[str, Any], ftype: FieldType, extra: dict[str, Any], bind: dict[str, Any], name: str, what: str
    ) -> None:
        report = self.report
        key = name.strip().lower()
        if not KEY.match(key):
            key = make_code(name or "question", "q")
        if key != name.strip():
            report.note("Question names changed to lower-case letters, digits and '_'", f"{name} -> {key}")
        base, n = key, 2
        while key in self.used:
            key = f"{base}_{n}"[:63]
            n += 1
        self.used.add(key)
        label = _texts(node.get("label"), self.langs, self.default)
        if not label:
            label = {self.default: name or key}
            report.note("Questions with no label (their name is used as the label)", what)
        required_text = str(bind.get("required", "")).strip().lower()
        required = required_text in TRUE
        if required_text and not required and required_text not in FALSE:
            report.note("Conditional 'required' not carried over (the question is optional)", what)
        if bind.get("relevant"):
            report.note("Skip logic (relevant) not carried over: the question is always asked", what)
        if bind.get("calculate"):
            report.note("Calculations not carried over", what)
        if str(bind.get("readonly", "")).strip().lower() in TRUE:
            report.note("Read-only settings not carried over", what)
        constraint = str(bind.get("constraint", "")).strip()
        if constraint:
            parsed = _bounds(constraint, ftype is FieldType.integer)
            numeric = ftype in (FieldType.integer, FieldType.decimal)
            if parsed and (numeric and not parsed[2] or ftype in (FieldType.text, FieldType.long_text) and parsed[2]):
                extra.setdefault("min", parsed[0])
                extra.setdefault("max", parsed[1])
            else:
                report.note("Constraints not carried over", f"{what} ({constraint})")
        for column, kind_name in OTHER_COLUMNS.items():
            if node.get(column) not in (None, ""):
                report.note(f"{kind_name.capitalize()} not carried over", what)
        identifying = str(node.get("citizen_identifying", "")).strip().lower() in TRUE
        try:
            report.fields.append(
                FormField(
                    key=key,
                    type=ftype,
                    label=label,
                    help=_texts(node.get("hint"), self.langs, self.default),
                    required=required,
                    identifying=identifying,
                    **extra,
                )
            )
        except ValidationError as exc:
            report.note("Questions that could not be used", f"{what} ({'; '.join(explain(exc))})")


def read_xlsform(path: Path) -> XLSFormReport:
    """Read an XLSForm through pyxform into citizen form fields, noting everything not carried over."""
    form = convert_form(path)
    report = XLSFormReport(title=str(form.get("title") or path.stem), form_id=str(form.get("id_string") or ""))
    if "citizen_draft_of" in form:  # written by citizen's own draft export: "none" or the version's number
        report.draft = True
        based_on = str(form["citizen_draft_of"]).strip()
        report.draft_of = int(based_on) if based_on.isdigit() else None
    reader = _Reader(form, report)
    reader.walk(form.get("children", []))
    for list_name in sorted(reader.renamed_lists):
        report.note("Choice codes changed to start with a letter (the labels are unchanged)", list_name)
    for list_name in sorted(reader.doubled_lists):
        report.note("Choices listed more than once under one code (as cascading lists do) kept once", list_name)
    if not report.fields:
        found = "; ".join(report.not_carried_over)
        raise _refuse(f"{path.name} has no question citizen can use" + (f" ({found})." if found else "."))
    return report
