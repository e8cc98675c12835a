"""The shareable protocol file (studies/*.json): a study, its form and its consent document."""

from __future__ import annotations

import json
from typing import Any, Optional

from pydantic import Field, ValidationError, field_validator, model_validator

from .models import (
    ConsentDocument,
    FormField,
    Localised,
    PageWords,
    ProtocolChecks,
    Record,
    Study,
    TeamMember,
    _check_localised,
    assign_roles,
)

FORMAT = "citizen-protocol"
SCHEMA = 1
MAX_FILE_BYTES = 2_000_000


class StudyPart(Record):
    id: str
    title: str
    shared_aim: str
    shared_aim_text: Localised = Field(default_factory=dict)
    summary: Localised = Field(default_factory=dict)
    team: list[TeamMember] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=lambda: ["en"])


class ConsentPart(Record):
    text: Localised
    items: list[dict[str, Any]]


class ProtocolPart(ProtocolChecks):
    fields: list[FormField]
    consent: ConsentPart
    change_summary: str = ""
    approved_by: str = Field("", max_length=120)  # required unless the file is a draft
    page_words: PageWords = Field(default_factory=dict)  # the study's own translation of the phone pages' words


class DraftMark(Record):
    """A draft shared for review: not a published version, and the version it was based on."""

    based_on: Optional[int] = Field(None, ge=1)


class ProtocolFile(Record):
    format: str
    schema_version: int = Field(alias="schema")
    study: StudyPart
    protocol: ProtocolPart
    source: str = ""
    draft: Optional[DraftMark] = None

    model_config = Record.model_config | {"populate_by_name": True}

    @model_validator(mode="after")
    def _approved(self) -> ProtocolFile:
        if self.draft is None and not self.protocol.approved_by.strip():
            raise ValueError("protocol.approved_by: a published protocol names who approved it (only a draft may leave it empty)")
        return self

    @field_validator("format")
    @classmethod
    def _format(cls, value: str) -> str:
        if value != FORMAT:
            raise ValueError(f"this is not a citizen protocol file (format should be '{FORMAT}')")
        return value

    @field_validator("schema_version")
    @classmethod
    def _schema(cls, value: int) -> int:
        if value > SCHEMA:
            raise ValueError(f"this file was written by a newer citizen (schema {value}; this one reads {SCHEMA})")
        if value < 1:
            raise ValueError("the schema number must be 1 or more")
        return value

    def consent_document(self, version: int = 1) -> ConsentDocument:
        return ConsentDocument(version=version, text=self.protocol.consent.text, items=self.protocol.consent.items)

    def role_notes(self) -> list[str]:
        """One plain line when the file's consent items had no roles and got them from their ids."""
        return roles_note(self.protocol.consent.items)

    def to_study(self, source: str = "") -> Study:
        s = self.study
        return Study(
            id=s.id,
            title=s.title,
            shared_aim=s.shared_aim,
            shared_aim_text=s.shared_aim_text,
            summary=s.summary,
            team=s.team,
            languages=s.languages,
            source=source or self.source,
        )


class ProtocolFileError(ValueError):
    """A protocol file that cannot be used, with every reason in plain words."""

    def __init__(self, name: str, problems: list[str]):
        self.name = name
        self.problems = problems
        super().__init__(f"{name}: " + "; ".join(problems))


def roles_note(items: list) -> list[str]:
    """A line telling which roles consent items without one were given (empty when all had one)."""
    _items, notes = assign_roles(items)
    if not notes:
        return []
    return [
        "The consent items had no roles, so they were given them from their ids: "
        + "; ".join(notes)
        + ". Check them in the consent editor."
    ]


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(the file)"


def explain(error: ValidationError) -> list[str]:
    """pydantic's errors as plain lines: where, then why."""
    lines = []
    for e in error.errors():
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "this setting is not known (check its spelling)"
        elif e["type"] == "missing":
            msg = "this is required but missing"
        lines.append(f"{_where(tuple(e['loc']))}: {msg}")
    return lines


def parse_protocol_file(data: bytes, name: str) -> ProtocolFile:
    """Read a protocol file's bytes; raise ProtocolFileError saying exactly what is wrong."""
    if len(data) > MAX_FILE_BYTES:
        raise ProtocolFileError(name, [f"the file is too large ({len(data)} bytes; at most {MAX_FILE_BYTES})"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProtocolFileError(name, [f"the file is not UTF-8 text (byte {exc.start})"]) from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolFileError(name, [f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"]) from None
    except RecursionError:
        raise ProtocolFileError(name, ["the JSON is nested too deeply"]) from None
    if not isinstance(raw, dict):
        raise ProtocolFileError(name, ["the file must hold one JSON object"])
    try:
        pf = ProtocolFile.model_validate(raw)
        if pf.draft is None:  # a draft's consent document may still be unfinished
            pf.consent_document()
        pf.to_study()
    except ValidationError as exc:
        raise ProtocolFileError(name, explain(exc)) from None
    return pf


def protocol_file_dict(
    study: Study,
    fields: list[FormField],
    consent: ConsentDocument | ConsentPart,
    approved_by: str,
    change_summary: str = "",
    source: Optional[str] = None,
    draft: Optional[DraftMark] = None,
    page_words: Optional[PageWords] = None,
) -> dict[str, Any]:
    """The JSON-ready protocol file of a study's protocol version (or of its draft, marked as one); the page
    words only when it has some, so an older citizen still reads a file that carries none."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "schema": SCHEMA,
        "study": {
            "id": study.id,
            "title": study.title,
            "shared_aim": study.shared_aim,
            "shared_aim_text": study.shared_aim_text,
            "summary": study.summary,
            "team": [m.model_dump(mode="json") for m in study.team],
            "languages": study.languages,
        },
        "protocol": {
            "fields": [f.model_dump(mode="json", exclude_defaults=True) | {"key": f.key, "type": f.type.value} for f in fields],
            "consent": {
                "text": consent.text,
                "items": [i if isinstance(i, dict) else i.model_dump(mode="json") for i in consent.items],
            },
            "change_summary": change_summary,
            "approved_by": approved_by,
        },
        "source": source if source is not None else study.source,
    }
    if draft is not None:
        doc["draft"] = draft.model_dump(mode="json")
    if page_words:
        doc["protocol"]["page_words"] = page_words
    return doc


__all__ = [
    "DraftMark",
    "ProtocolFile",
    "ProtocolFileError",
    "parse_protocol_file",
    "protocol_file_dict",
    "explain",
    "roles_note",
    "_check_localised",
]
