"""datapackage.json: the export described as a Frictionless Data Package (v2), its one record.

Each CSV file is a resource with its Table Schema (field types, choice codes as ``constraints.enum``,
``required``, ``missingValues``, ``primaryKey`` and ``foreignKeys`` from contributions to
participants), the data dictionary's labels as field titles (the main language) and descriptions
(every other language), and its bytes and sha256. The export's options, filters, counts,
exclusions, sharing check and approval are properties of the package: there is no other manifest.
R (``frictionless``), Python (``frictionless``) and data portals read it as it is.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from .. import __version__
from ..domain.models import FieldType, pick, utcnow
from .plan import Column, ExportFormat, ExportPlan
from .redcap import form_name

PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
RESOURCE_PROFILE = "https://datapackage.org/profiles/2.0/dataresource.json"
SCHEMA_PROFILE = "https://datapackage.org/profiles/2.0/tableschema.json"
MISSING = [""]
YES_NO_WORDS = ["yes", "no"]
SIMPLE_TYPES = {
    FieldType.integer: "integer",
    FieldType.decimal: "number",
    FieldType.rating: "integer",
    FieldType.date: "date",
    FieldType.time: "time",
}


def _texts(labels: dict[str, str], languages: list[str]) -> dict[str, str]:
    """title in the main language; the other languages as 'zh: ...' lines in the description."""
    main = languages[0] if languages else "en"
    out: dict[str, str] = {}
    title = labels.get(main) or next(iter(labels.values()), "")
    if title:
        out["title"] = title
    others = [f"{lang}: {labels[lang]}" for lang in languages[1:] if labels.get(lang)]
    if others:
        out["description"] = "\n".join(others)
    return out


def _choice_values(plan: ExportPlan, col: Column) -> list[str]:
    """Every value a choice column can hold: its codes (or labels) across every exported version."""
    assert col.field is not None
    key = col.field.key
    language = plan.options.language or plan.languages[0]
    values: list[str] = []
    for version in plan.versions:
        f = version.field(key)
        if f is None:
            continue
        for c in f.choices:  # as plan._cell writes them
            value = pick(c.label, language) if plan.options.labels else c.value
            if value not in values:
                values.append(value)
    return values


def contribution_field(plan: ExportPlan, col: Column) -> dict[str, Any]:
    """The Table Schema field of one contributions.csv column."""
    out: dict[str, Any] = {"name": col.name, **_texts(col.labels, plan.languages)}
    f = col.field
    if f is None:  # the columns every export has
        kind = {"protocol_version": "integer", "revisions": "integer"}.get(col.name, "string")
        out["type"] = "datetime" if col.type == "datetime" else kind
        out["constraints"] = {"required": col.name != "last_corrected_at"}  # empty: never corrected
        if col.name == "revisions":
            out["constraints"]["minimum"] = 0
        if col.name == "review_state":
            out["constraints"]["enum"] = [s for s in plan.filters.get("review_states", [])]
        if col.name == "contribution_id":
            out["constraints"]["unique"] = True
        return out
    if col.option is not None or f.type is FieldType.yes_no and not plan.options.labels:
        out.update(type="integer", constraints={"enum": [0, 1]})
    elif f.type is FieldType.yes_no:
        out.update(type="string", constraints={"enum": YES_NO_WORDS})
    elif f.type is FieldType.single_choice:
        out.update(type="string", constraints={"enum": _choice_values(plan, col)})
    elif f.type in SIMPLE_TYPES:
        out["type"] = SIMPLE_TYPES[f.type]
        if f.type is FieldType.time:
            out["format"] = "%H:%M"
        if f.type is FieldType.rating:
            out["constraints"] = {"minimum": 1, "maximum": 5}
    else:
        out["type"] = "string"
    return out


def _named_field(name: str, header_types: dict[str, str]) -> dict[str, Any]:
    kind = header_types.get(name)
    if kind is None:
        for pattern, pattern_kind in header_types.items():
            if pattern.startswith("^") and re.match(pattern, name):
                kind = pattern_kind
                break
    out: dict[str, Any] = {"name": name, "type": kind or "string"}
    if kind == "yes/no":
        out.update(type="string", constraints={"enum": YES_NO_WORDS})
    return out


PARTICIPANT_TYPES = {
    "participant": "string",
    "enrolled_at": "datetime",
    "consent_version": "integer",
    "contributions_exported": "integer",
    "^consent_(?!version|language)": "yes/no",
}
CONSENT_TYPES = {"document_version": "integer", "at": "datetime", "witnessed": "yes/no", "remove_data": "yes/no"}
ACTIVITY_TYPES = {"at": "datetime"}


def _schema(
    fields: list[dict[str, Any]], primary_key: Optional[str] = None, foreign: Optional[tuple[str, str, str]] = None
) -> dict[str, Any]:
    schema: dict[str, Any] = {"$schema": SCHEMA_PROFILE, "fields": fields, "missingValues": MISSING}
    if primary_key:
        schema["primaryKey"] = [primary_key]
    if foreign:
        column, resource, target = foreign
        schema["foreignKeys"] = [{"fields": [column], "reference": {"resource": resource, "fields": [target]}}]
    return schema


def schema_of(plan: ExportPlan, name: str, header: list[str]) -> dict[str, Any]:
    """The Table Schema of one file the export wrote, from what the plan knows of its columns."""
    if name == "contributions.csv":
        return _schema(
            [contribution_field(plan, c) for c in plan.columns], "contribution_id", ("participant", "participants", "participant")
        )
    if name == "participants.csv":
        fields = [_named_field(h, PARTICIPANT_TYPES) for h in header]
        fields[0]["constraints"] = {"required": True, "unique": True}
        return _schema(fields, "participant")
    if name == "consent_log.csv":
        return _schema([_named_field(h, CONSENT_TYPES) for h in header], None, ("participant", "participants", "participant"))
    if name == "activity.csv":
        return _schema([_named_field(h, ACTIVITY_TYPES) for h in header])
    if name == "redcap_records.csv":
        fields = [
            _named_field(
                h,
                {
                    "record_id": "string",
                    "protocol_version": "integer",
                    "submitted_at": "datetime",
                    "revisions": "integer",
                    "last_corrected_at": "datetime",
                    f"{form_name(plan.study_id)}_complete": "integer",
                },
            )
            for h in header
        ]
        fields[-1]["constraints"] = {"required": True, "enum": [0, 1, 2]}
        return _schema(fields, "record_id")
    return _schema([_named_field(h, {}) for h in header])


DESCRIPTIONS = {
    "contributions.csv": "One row per contribution that consent and the filters allow; a column per form field "
    "across versions (several choices: one 0/1 column per option). The team's feedback and the contributors' "
    "replies are conversation, not answers, and are never exported.",
    "participants.csv": "Everyone whose data may leave, by pseudonymous code, with their consent today.",
    "consent_log.csv": "Every consent event of those participants: granted, changed, withdrawn.",
    "data_dictionary.csv": "Every column of contributions.csv with its label and choices in each language "
    "(feedback and replies to it are not data and have no column).",
    "activity.csv": "The study's activity log: who did what, when, to which record (no answers, no contacts, "
    "participant codes only).",
    "redcap_data_dictionary.csv": "REDCap's data dictionary (its 18 columns), to import into a REDCap project.",
    "redcap_records.csv": "The records, in REDCap's import layout (checkboxes as field___code, then the form's "
    "status as <form>_complete).",
    "redcap_notes.csv": "How citizen's names and codes became REDCap's: renamed variables, each choice's "
    "REDCap code, and what the form status means.",
}


def resource_of(plan: ExportPlan, name: str, header: list[str], rows: int, sha256: str, size: int) -> dict[str, Any]:
    if name.endswith(".json"):  # consent.fhir.json: a FHIR Bundle, not a table
        return {
            "name": "consent-fhir",
            "$schema": RESOURCE_PROFILE,
            "path": name,
            "type": "json",
            "format": "json",
            "mediatype": "application/fhir+json",
            "encoding": "utf-8",
            "bytes": size,
            "hash": f"sha256:{sha256}",
            "description": "The consent log as an HL7 FHIR R5 Bundle: a Consent resource per consent event.",
        }
    return {
        "name": name.removesuffix(".csv"),
        "$schema": RESOURCE_PROFILE,
        "path": name,
        "type": "table",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8-sig" if plan.options.bom else "utf-8",
        "bytes": size,
        "hash": f"sha256:{sha256}",
        "description": DESCRIPTIONS.get(name, ""),
        "rows": rows,
        "dialect": {
            "$schema": "https://datapackage.org/profiles/2.0/tabledialect.json",
            "delimiter": ",",
            "lineTerminator": "\r\n",
            "quoteChar": '"',
            "header": True,
        },
        "schema": schema_of(plan, name, header),
    }


def package_of(plan: ExportPlan, resources: list[dict[str, Any]], approved_by: str) -> dict[str, Any]:
    """The package: the resources, and the export's own record (options, counts, check, approval)."""
    return {
        "$schema": PROFILE,
        "name": f"{plan.study_id}-export",
        "title": plan.study_title,
        "created": utcnow().isoformat().replace("+00:00", "Z"),
        "format": "citizen-export",
        "app": f"citizen {__version__}",
        "study": {"id": plan.study_id, "title": plan.study_title},
        "approved_by": approved_by,
        "export_format": plan.options.format.value if plan.options.format is not ExportFormat.csv else "csv",
        "options": plan.options.model_dump(mode="json"),
        "filters": plan.filters,
        "rows": {r["path"]: r.get("rows", 0) for r in resources if "rows" in r},
        "exclusions": [{"reason": r, "count": n} for r, n in sorted(plan.exclusions.items())],
        "redactions": [{"reason": r, "count": n} for r, n in sorted(plan.redactions.items())],
        "sharing_check": plan.check.lines(),
        "participant_codes": "hashed with a salt made for this export and not kept"
        if plan.options.hash_codes
        else "pseudonymous study codes",
        "dates": "shifted per participant by a secret offset (not kept)" if plan.options.shift_dates else "as recorded",
        "resources": resources,
    }
