"""What an export will write: its options, the rows consent allows, and the data-sharing check.

Nothing here writes a file or changes the study. ``prepare_export`` reads the study once (under
its lock, so no change lands half-way through), folds each participant's consent through the
domain rules and builds every row; the writers (``files.py``, ``redcap.py``) only lay them out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from operator import itemgetter
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..domain.design import role_meanings
from ..domain.models import (
    FREE_TEXT_TYPES,
    FieldType,
    FormField,
    PageWords,
    ProtocolVersion,
    ReviewState,
)
from ..domain.protocol_file import explain
from ..domain.words import N_, SOURCE_LANGUAGE, StudyWords, shipped_languages
from ..services.common import Refused, Study
from ..services.merge import paused_gc
from .activity import activity_of
from .check import SharingCheck, sharing_check
from .contributions import contribution_rows
from .rows import ConsentRules, Pseudonyms, participant_rows, read_study

Progress = Callable[[int, int, str], None]


class Audience(str, Enum):
    team = "team"
    partners = "partners"


class ExportFormat(str, Enum):
    csv = "csv"
    redcap = "redcap"


class ExportOptions(BaseModel):
    """What the person exporting chose; recorded as is in the manifest."""

    model_config = ConfigDict(extra="forbid", use_enum_values=False)

    format: ExportFormat = ExportFormat.csv
    audience: Audience = Audience.team
    identifying: bool = Field(False, description="include the form fields marked as identifying")
    contacts: bool = Field(False, description="include contact details of those who agreed to be contacted")
    drop_free_text: bool = Field(False, description="leave out every free-text field")
    hash_codes: bool = Field(False, description="replace participant codes with a hash salted for this export")
    shift_dates: bool = Field(False, description="move each participant's dates by a secret random offset")
    review_states: list[ReviewState] = Field(default_factory=lambda: list(ReviewState))
    date_from: Optional[date] = None
    date_to: Optional[date] = None
    versions: list[int] = Field(default_factory=list, description="protocol versions to include (empty: all)")
    labels: bool = Field(False, description="choice labels instead of their codes")
    language: Optional[str] = Field(None, description="language of the labels (default: the study's main one)")
    bom: bool = Field(False, description="UTF-8 with a byte-order mark, for spreadsheets")
    fhir: bool = Field(False, description="also the consent log as a FHIR R5 Bundle (consent.fhir.json)")

    @field_validator("review_states")
    @classmethod
    def _states(cls, value: list[ReviewState]) -> list[ReviewState]:
        if not value:
            raise ValueError("choose at least one review state to export")
        return [s for s in ReviewState if s in value]

    @field_validator("versions")
    @classmethod
    def _versions(cls, value: list[int]) -> list[int]:
        if any(v < 1 for v in value):
            raise ValueError("protocol versions are numbered from 1")
        return sorted(set(value))

    @model_validator(mode="after")
    def _range(self) -> ExportOptions:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"the date range starts ({self.date_from}) after it ends ({self.date_to})")
        return self


def make_options(**values: Any) -> ExportOptions:
    """Options from loose input (the command line, the screen), refused in plain words."""
    try:
        return ExportOptions.model_validate(values)
    except ValidationError as exc:
        raise Refused("These export options cannot be used: " + "; ".join(explain(exc))) from None


@dataclass
class Column:
    """One column of contributions.csv, described in the data dictionary."""

    name: str
    labels: dict[str, str]
    type: str
    choices: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)
    identifying: bool = False
    numeric: bool = False
    field: Optional[FormField] = None
    option: Optional[str] = None


# The dictionary's own words: msgids of the page catalogues, so each is said in every language that
# ships a catalogue, or that the study translates itself (``labelled``).
CHOSEN, NOT_CHOSEN, YES, NO = N_("chosen"), N_("not chosen"), N_("yes"), N_("no")
BASE = [
    ("contribution_id", N_("Contribution id"), "text"),
    ("participant", N_("Participant code (pseudonymous)"), "text"),
    ("submitted_at", N_("When it was submitted (UTC, ISO 8601)"), "datetime"),
    ("protocol_version", N_("Protocol version it was given under"), "integer"),
    ("review_state", N_("Review state"), "text"),
    ("revisions", N_("How many times the contributor corrected it (0: never)"), "integer"),
    ("last_corrected_at", N_("When the contributor last corrected it (UTC, ISO 8601; empty: never)"), "datetime"),
]


def labelled(msgid: str, page_words: PageWords) -> dict[str, str]:
    """One of the dictionary's words in every language that has it: shipped catalogues, then the study's own."""
    out = {SOURCE_LANGUAGE: msgid}
    for lang in [*shipped_languages(), *page_words]:
        words = StudyWords(lang, page_words.get(lang, {}))
        if words.knows(msgid):
            out[lang] = words.gettext(msgid)
    return out


def base_columns(page_words: PageWords) -> list[Column]:
    return [Column(name, labelled(msgid, page_words), kind, numeric=kind == "integer") for name, msgid, kind in BASE]


NUMERIC_FIELDS = {FieldType.integer, FieldType.decimal, FieldType.rating}


@dataclass
class ExportPlan:
    """Every row an export will write, with its check; made without writing anything."""

    study_id: str
    study_title: str
    options: ExportOptions
    languages: list[str]
    versions: list[ProtocolVersion]
    columns: list[Column]
    contributions: list[list[Any]]  # cell values in column order (None: empty)
    participants_header: list[str]
    participants: list[list[Any]]
    consent_header: list[str]
    consent_log: list[list[Any]]
    exclusions: Counter
    redactions: Counter
    check: SharingCheck
    salt_used: bool = False
    filters: dict[str, Any] = field(default_factory=dict)
    activity: list[list[Any]] = field(default_factory=list)  # activity.csv (see activity.py)
    # contributions.csv's rows as CSV text, when made from the export-ready form (ready.py); then
    # ``contributions`` holds for each row only its id, code and the cells the data-sharing check reads
    lines: Optional[list[str]] = None
    activity_lines: Optional[list[str]] = None  # activity.csv's rows as CSV text, when read from the export-ready form

    @property
    def participant_count(self) -> int:
        return len(self.participants)


def ordered_fields(versions: list[ProtocolVersion]) -> list[tuple[FormField, list[int]]]:
    """Every field across the versions, in a stable order: each new field after its neighbour."""
    order: list[str] = []
    latest: dict[str, FormField] = {}
    seen_in: dict[str, list[int]] = defaultdict(list)
    for version in versions:
        previous: Optional[str] = None
        for f in version.fields:
            seen_in[f.key].append(version.number)
            latest[f.key] = f
            if f.key not in order:
                order.insert(order.index(previous) + 1 if previous is not None else 0, f.key)
            previous = f.key
    return [(latest[k], seen_in[k]) for k in order]


def field_columns(versions: list[ProtocolVersion], options: ExportOptions) -> tuple[list[Column], Counter]:
    """The form's columns after the de-identification options; what was left out, by reason."""
    columns: list[Column] = []
    left_out: Counter = Counter()
    own = versions[-1].page_words if versions else {}
    chosen, not_chosen, yes, no = (labelled(m, own) for m in (CHOSEN, NOT_CHOSEN, YES, NO))
    for f, seen in ordered_fields(versions):
        identifying = any(v.field(f.key) is not None and v.field(f.key).identifying for v in versions)
        if identifying and not options.identifying:
            left_out["identifying field left out (not asked for)"] += 1
            continue
        if f.type in FREE_TEXT_TYPES and options.drop_free_text:
            left_out["free-text field left out (asked for)"] += 1
            continue
        if f.type is FieldType.multiple_choice:
            for c in f.choices:
                labels = {lang: f"{f.label.get(lang, '')}: {text}" for lang, text in c.label.items() if f.label.get(lang)}
                columns.append(
                    Column(
                        f"{f.key}__{c.value}",
                        labels,
                        "0/1 (one of several choices)",
                        [("1", chosen), ("0", not_chosen)],
                        seen,
                        identifying,
                        numeric=True,
                        field=f,
                        option=c.value,
                    )
                )
            continue
        choices = [(c.value, dict(c.label)) for c in f.choices]
        if f.type is FieldType.yes_no:
            choices = [("1", yes), ("0", no)]
        columns.append(
            Column(
                f.key,
                dict(f.label),
                f.type.value,
                choices,
                seen,
                identifying,
                numeric=f.type in NUMERIC_FIELDS or f.type is FieldType.yes_no,
                field=f,
            )
        )
    return columns, left_out


def prepare_export(study: Study, options: ExportOptions, progress: Optional[Progress] = None) -> ExportPlan:
    """Read the study and build every row the options and each participant's consent allow.

    The cycle collector rests meanwhile: the rows hold no cycles, and it would rescan the growing
    rows again and again (a third of the time at 100,000 contributions).
    """
    with paused_gc():
        return _prepare(study, options, progress)


def _prepare(study: Study, options: ExportOptions, progress: Optional[Progress]) -> ExportPlan:
    with study.store.lock:  # the contributions are read as the rows are made, in the same reading
        reading = read_study(study, options)
        record, versions = reading.record, reading.versions
        known_versions = {v.number for v in versions}
        wanted_versions = set(options.versions) or known_versions
        columns, left_out = field_columns(versions, options)
        consent = ConsentRules(versions, reading.events_by)
        pseudonyms = Pseudonyms(reading.participants, options.hash_codes, options.shift_dates)
        contributions = contribution_rows(reading, options, columns, consent, pseudonyms, wanted_versions, progress)
        for reason, count in left_out.items():
            contributions.redactions[reason] = count
        people = participant_rows(reading, options, consent, pseudonyms, contributions.exported_by, contributions.redactions)
        activity = activity_of(
            reading,
            people.exported_codes,
            people.code_shifts,
            contributions.owners,
            set(map(itemgetter(0), contributions.rows)),
        )
    exclusions = contributions.exclusions
    for reason, count in people.left_out.items():
        exclusions["participants: " + reason] += count

    fixed = base_columns(versions[-1].page_words)
    for col in fixed:
        col.versions = sorted(known_versions)
    all_columns = [*fixed, *columns]
    checked = None if contributions.checked is None else [*fixed[:2], *contributions.checked]
    check = sharing_check(
        record.title, options, all_columns, contributions.rows, len(people.rows), exclusions, people.contacts_given, checked
    )
    check.consent_roles = role_meanings(versions[-1].consent.items)
    filters = {
        "review_states": [s.value for s in options.review_states],
        "date_from": options.date_from.isoformat() if options.date_from else None,
        "date_to": options.date_to.isoformat() if options.date_to else None,
        "protocol_versions": sorted(wanted_versions),
        "audience": options.audience.value,
    }
    return ExportPlan(
        record.id,
        record.title,
        options,
        list(record.languages),
        versions,
        all_columns,
        contributions.rows,
        people.header,
        people.rows,
        people.consent_header,
        people.consent_log,
        exclusions,
        contributions.redactions,
        check,
        options.hash_codes,
        filters,
        activity.rows,
        contributions.lines,
        activity.lines,
    )
