"""A hand-over to REDCap: its data dictionary (the 18 standard columns) and a records file to import.

Choices get numeric codes 1, 2, ... in the order of the form ("1, Canal path | 2, High Street");
several choices become REDCap checkbox columns ``field___1``; yes/no is REDCap's ``yesno``
(1 = yes, 0 = no). ``record_id`` is the first field and the first column of the records file, and
``<form>_complete`` the last (2 = accepted, 1 = received or needing attention, 0 = rejected).
A variable name REDCap would refuse (more than 26 characters) is shortened, and
``redcap_notes.csv`` records every such rename and every choice's REDCap code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..domain.models import FieldType, FormField, pick
from .plan import ExportPlan
from .sink import WrittenFile, write_csv

DICTIONARY_HEADER = [
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
VALIDATION = {FieldType.integer: "integer", FieldType.decimal: "number", FieldType.date: "date_ymd", FieldType.time: "time"}
FIELD_TYPE = {
    FieldType.text: "text",
    FieldType.place: "text",
    FieldType.integer: "text",
    FieldType.decimal: "text",
    FieldType.date: "text",
    FieldType.time: "text",
    FieldType.long_text: "notes",
    FieldType.single_choice: "radio",
    FieldType.rating: "radio",
    FieldType.multiple_choice: "checkbox",
    FieldType.yes_no: "yesno",
}


MAX_NAME = 26  # REDCap's limit on a variable name
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
BASE = ["record_id", "participant", "submitted_at", "protocol_version", "review_state", "revisions", "last_corrected_at"]
COMPLETE = {"accepted": 2, "received": 1, "needs attention": 1, "rejected": 0}
NOTES_HEADER = ["kind", "ours", "redcap", "note"]


def redcap_names(fields: list[FormField]) -> dict[str, str]:
    """Each field key as a REDCap variable name: lower case, at most 26 characters, unique."""
    used = set(BASE)
    names: dict[str, str] = {}
    for f in fields:
        name = re.sub(r"[^a-z0-9_]", "_", f.key.lower())
        name = name if name[:1].isalpha() else "v_" + name
        name = name.replace("___", "__")[:MAX_NAME].rstrip("_") or "v"
        base, n = name, 2
        while name in used:
            suffix = f"_{n}"
            name = base[: MAX_NAME - len(suffix)].rstrip("_") + suffix
            n += 1
        used.add(name)
        names[f.key] = name
    return names


def form_name(study_id: str) -> str:
    name = re.sub(r"[^a-z0-9_]", "_", study_id.lower()).strip("_") or "form"
    return name if name[0].isalpha() else "f_" + name


def choice_codes(f: FormField) -> list[tuple[str, str]]:
    """(REDCap code, our code) for each choice of a field, in the form's order."""
    if f.type is FieldType.rating:
        return [(str(n), str(n)) for n in range(1, 6)]
    return [(str(n), c.value) for n, c in enumerate(f.choices, start=1)]


def _choices(f: FormField, language: str) -> str:
    if f.type is FieldType.rating:
        return " | ".join(f"{n}, {n}" for n in range(1, 6))
    return " | ".join(f"{n}, {pick(c.label, language).replace('|', '/')}" for n, c in enumerate(f.choices, start=1))


def _bound(value: Any) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value) == int(value) else str(value)


def dictionary(plan: ExportPlan, language: str) -> list[list[str]]:
    form = form_name(plan.study_id)
    rows = [
        ["record_id", form, "", "text", "Record ID (contribution id)", "", "", "", "", "", "", "", "", "", "", "", "", ""],
        ["participant", form, "", "text", "Participant code (pseudonymous)", "", "", "", "", "", "", "", "", "", "", "", "", ""],
        ["submitted_at", form, "", "text", "When it was submitted (UTC)", "", "", "", "", "", "", "", "", "", "", "", "", ""],
        ["protocol_version", form, "", "text", "Protocol version", "", "", "integer", "", "", "", "", "", "", "", "", "", ""],
        ["review_state", form, "", "text", "Review state", "", "", "", "", "", "", "", "", "", "", "", "", ""],
        [
            "revisions",
            form,
            "",
            "text",
            "Times the contributor corrected it",
            "",
            "",
            "integer",
            "0",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        ["last_corrected_at", form, "", "text", "When last corrected (UTC)", "", "", "", "", "", "", "", "", "", "", "", "", ""],
    ]
    fields = _fields(plan)
    names = redcap_names(fields)
    for f in fields:
        kind = FIELD_TYPE[f.type]
        choices = _choices(f, language) if kind in ("radio", "checkbox") else ""
        validation = VALIDATION.get(f.type, "")
        numeric = f.type in (FieldType.integer, FieldType.decimal)
        rows.append(
            [
                names[f.key],
                form,
                "",
                kind,
                pick(f.label, language),
                choices,
                pick(f.help, language),
                validation,
                _bound(f.min) if numeric else "",
                _bound(f.max) if numeric else "",
                "y" if f.identifying else "",
                "",
                "y" if f.required else "",
                "",
                "",
                "",
                "",
                "",
            ]
        )
    return rows


def _fields(plan: ExportPlan) -> list[FormField]:
    seen: list[FormField] = []
    for col in plan.columns:
        if col.field is not None and all(col.field.key != f.key for f in seen):
            seen.append(col.field)
    return seen


def records(plan: ExportPlan, rows: Iterator[list[Any]]) -> tuple[list[str], list[bool], Iterator[list[Any]]]:
    """The records file's header and rows, translated from the plan's contributions rows."""
    fields = _fields(plan)
    names = redcap_names(fields)
    header = list(BASE)
    numeric = [False, False, False, True, False, True, False]
    makers: list[Callable[[list[Any]], list[Any]]] = []
    index = {c.name: i for i, c in enumerate(plan.columns)}
    for f in fields:
        if f.type is FieldType.multiple_choice:
            codes = choice_codes(f)
            header += [f"{names[f.key]}___{rc}" for rc, _ in codes]
            numeric += [True] * len(codes)
            cols = [index[f"{f.key}__{ours}"] for _, ours in codes]
            makers.append(lambda row, cols=cols: [row[i] for i in cols])
            continue
        header.append(names[f.key])
        numeric.append(
            f.type in (FieldType.integer, FieldType.decimal, FieldType.rating, FieldType.yes_no, FieldType.single_choice)
        )
        i = index[f.key]
        if f.type is FieldType.single_choice:
            to_code = {ours: rc for rc, ours in choice_codes(f)}
            to_code.update(
                {
                    pick(c.label, plan.options.language or plan.languages[0]): rc
                    for (rc, _), c in zip(choice_codes(f), f.choices, strict=True)
                }
            )
            makers.append(lambda row, i=i, m=to_code: [None if row[i] is None else int(m.get(row[i], 0)) or row[i]])
        elif f.type is FieldType.yes_no:
            makers.append(lambda row, i=i: [None if row[i] is None else (1 if row[i] in (1, "yes") else 0)])
        else:
            makers.append(lambda row, i=i: [row[i]])

    header.append(f"{form_name(plan.study_id)}_complete")
    numeric.append(True)

    def translated() -> Iterator[list[Any]]:
        for row in rows:
            out = row[: len(BASE)]
            for make in makers:
                out += make(row)
            out.append(COMPLETE.get(row[4], 1))
            yield out

    return header, numeric, translated()


def notes(plan: ExportPlan, language: str) -> list[list[str]]:
    """redcap_notes.csv: the renames, each choice's REDCap code, and what the form status means."""
    fields = _fields(plan)
    names = redcap_names(fields)
    rows = [
        ["variable renamed", key, name, f"REDCap variable names are at most {MAX_NAME} characters"]
        for key, name in names.items()
        if key != name
    ]
    for f in fields:
        if f.type in (FieldType.single_choice, FieldType.multiple_choice):
            labels = {c.value: pick(c.label, language) for c in f.choices}
            rows += [["choice code", f"{f.key} = {ours}", f"{names[f.key]} = {rc}", labels[ours]] for rc, ours in choice_codes(f)]
    complete = f"{form_name(plan.study_id)}_complete"
    rows += [
        [
            "form status",
            f"review_state = {state}",
            f"{complete} = {value}",
            {2: "Complete", 1: "Unverified", 0: "Incomplete"}[value],
        ]
        for state, value in COMPLETE.items()
    ]
    return rows


def write_redcap(
    plan: ExportPlan, folder: Path, bom: bool, with_progress: Callable[[list[list[Any]]], Iterator[list[Any]]]
) -> list[WrittenFile]:
    language = plan.options.language or plan.languages[0]
    written = [
        write_csv(
            folder,
            "redcap_data_dictionary.csv",
            DICTIONARY_HEADER,
            dictionary(plan, language),
            [False] * len(DICTIONARY_HEADER),
            bom,
        )
    ]
    header, numeric, rows = records(plan, with_progress(plan.contributions))
    written.append(write_csv(folder, "redcap_records.csv", header, rows, numeric, bom))
    written.append(write_csv(folder, "redcap_notes.csv", NOTES_HEADER, notes(plan, language), [False] * 4, bom))
    return written
