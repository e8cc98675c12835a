"""What an export will write: its options, the rows consent allows, and the data-sharing check.

Nothing here writes a file or changes the study. ``prepare_export`` reads the study once (under
its lock, so no change lands half-way through), folds each participant's consent through the
domain rules and builds every row; the writers (``files.py``, ``redcap.py``) only lay them out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import Enum
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..domain.design import role_meanings
from ..domain.models import (
    FREE_TEXT_TYPES,
    ConsentDocument,
    ConsentEvent,
    ConsentRole,
    FieldType,
    FormField,
    PageWords,
    ProtocolVersion,
    ReviewState,
)
from ..domain.protocol_file import explain
from ..domain.rules import ConsentState, fold_consent
from ..domain.words import N_, SOURCE_LANGUAGE, StudyWords, shipped_languages
from ..services.common import Refused, ServiceError, Study
from .activity import activity_rows
from .cells import RowMaker, row_maker
from .check import SharingCheck, sharing_check

Progress = Callable[[int, int, str], None]
SHIFT_DAYS = 182  # dates move by a secret whole number of days, at most this many either way


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

    @property
    def participant_count(self) -> int:
        return len(self.participants)


def _utc(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


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


class ConsentTimeline:
    """One participant's consent, folded through the domain rule at each of their events."""

    def __init__(self, events: list[ConsentEvent]):
        events = sorted(events, key=lambda e: (e.at, e.id))
        self.times = [e.at for e in events]
        self.states = [fold_consent(events[: i + 1]) for i in range(len(events))]
        self.now = self.states[-1] if self.states else ConsentState()

    def at(self, when: datetime) -> ConsentState:
        i = bisect_right(self.times, when)
        return self.states[i - 1] if i else ConsentState()


def _hasher(enabled: bool) -> Callable[[str], str]:
    if not enabled:
        return lambda code: code
    salt = secrets.token_bytes(32)  # made for this export and never kept
    return lambda code: hmac.new(salt, code.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


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
                columns.append(Column(f"{f.key}__{c.value}", labels, "0/1 (one of several choices)",
                                      [("1", chosen), ("0", not_chosen)], seen, identifying,
                                      numeric=True, field=f, option=c.value))
            continue
        choices = [(c.value, dict(c.label)) for c in f.choices]
        if f.type is FieldType.yes_no:
            choices = [("1", yes), ("0", no)]
        columns.append(Column(f.key, dict(f.label), f.type.value, choices, seen, identifying,
                              numeric=f.type in NUMERIC_FIELDS or f.type is FieldType.yes_no, field=f))
    return columns, left_out


def prepare_export(study: Study, options: ExportOptions, progress: Optional[Progress] = None) -> ExportPlan:
    """Read the study and build every row the options and each participant's consent allow."""
    with study.store.lock:  # one consistent reading: no change lands half-way through
        record = study.repo.study()
        versions = study.repo.protocol_versions()
        if not versions:
            raise ServiceError("This study has no published protocol yet, so there is nothing to export.")
        participants = study.repo.participants()
        events_by: dict[str, list[ConsentEvent]] = defaultdict(list)
        for event in study.repo.consent_events():
            events_by[event.participant_id].append(event)
        contacts = {p.id: study.repo.contact(p.id) for p in participants} if options.contacts else {}
        invites = {i.id: i.label for i in study.repo.invites()}
        docs = list(study.repo.contribution_docs())
        audit_events = study.repo.audit_entries()
    language = options.language or record.main_language
    if options.language and options.language not in record.languages:
        raise Refused(f"'{options.language}' is not one of this study's languages ({', '.join(record.languages)}).")
    known_versions = {v.number for v in versions}
    unknown = [v for v in options.versions if v not in known_versions]
    if unknown:
        raise Refused(f"This study has no protocol version {', '.join(map(str, unknown))}; "
                      f"it has {', '.join(map(str, sorted(known_versions)))}.")
    documents: dict[int, ConsentDocument] = {v.consent.version: v.consent for v in versions}
    consent_items = {i.id for d in documents.values() for i in d.items}
    present_in = {v.number: {f.key for f in v.fields} for v in versions}
    required_of = {number: d.required_ids for number, d in documents.items()}
    state_of = {s.value: s for s in ReviewState}
    columns, left_out = field_columns(versions, options)
    code_of = _hasher(options.hash_codes)
    timelines = {pid: ConsentTimeline(evs) for pid, evs in events_by.items()}
    offsets = {p.id: timedelta(days=secrets.choice([d for d in range(-SHIFT_DAYS, SHIFT_DAYS + 1) if d]))
               for p in participants} if options.shift_dates else {}
    codes = {p.id: p.code for p in participants}
    exclusions: Counter = Counter()
    redactions: Counter = Counter()
    states = set(options.review_states)
    wanted_versions = set(options.versions) or known_versions
    partners_only = options.audience is Audience.partners

    verdicts: dict[tuple[ConsentRole, int, int], bool] = {}  # one per participant's consent states, not per row

    def allowed(role: ConsentRole, then: ConsentState, now: ConsentState) -> bool:
        # The consent in force when it was given AND the participant's choices today, each read
        # by role in the document that participant agreed to (ids differ between studies).
        key = (role, id(then), id(now))  # the states live in ``timelines`` for the whole export
        verdict = verdicts.get(key)
        if verdict is None:
            verdict = verdicts[key] = then.allows_role(role, documents) and now.allows_role(role, documents)
        return verdict

    rows: list[list[Any]] = []
    makers: dict[tuple[Any, bool], RowMaker] = {}  # how a row is made, per protocol version and quoting
    exported_by: Counter = Counter()
    total = len(docs)
    for n, doc in enumerate(docs):
        if progress and n % 5000 == 0:
            progress(n, total, "reading contributions")
        pid = doc.get("participant_id", "")
        timeline = timelines.get(pid)
        now_state = timeline.now if timeline else ConsentState()
        if doc.get("removed_at") or now_state.remove_data:
            exclusions["the contributor withdrew and asked for their data to be removed"] += 1
            continue
        stamp = doc["submitted_at"]  # as stored: UTC, ISO 8601 with Z (written again only when shifted)
        submitted = _utc(stamp)
        then = timeline.at(submitted) if timeline else ConsentState()
        required = required_of.get(then.document_version or 0)
        if required is None or not then.enrolled or then.withdrawn or not required <= then.granted:
            exclusions["no consent covering it was in force when it was given"] += 1
            continue
        if partners_only and not allowed(ConsentRole.share_partners, then, now_state):
            exclusions[("the contributor did not agree to sharing with partner organisations"
                        if then.item_in_force(ConsentRole.share_partners, documents) is not None
                        else "the consent document has no item for sharing with partner organisations")] += 1
            continue
        state = state_of.get(doc.get("review_state", "received")) or ReviewState(doc.get("review_state"))
        if state not in states:
            exclusions[f"filtered out: review state '{state.value}' not chosen"] += 1
            continue
        number = doc.get("protocol_version")
        if number not in wanted_versions:
            exclusions[f"filtered out: protocol version {number} not chosen"] += 1
            continue
        day = submitted.date()
        if (options.date_from and day < options.date_from) or (options.date_to and day > options.date_to):
            exclusions["filtered out: submitted outside the date range"] += 1
            continue
        present = present_in.get(number, set())
        quote_ok = allowed(ConsentRole.quote_words, then, now_state)  # no quoting item: free text is exported
        values = doc.get("values") or {}
        shift = offsets.get(pid, timedelta(0))
        make = makers.get((number, quote_ok))
        if make is None:
            make = makers[(number, quote_ok)] = row_maker(columns, present, quote_ok, options.labels, language)
        cells, blanked = make(values, shift)
        row: list[Any] = [doc.get("id"), code_of(codes.get(pid, "?")),
                          stamp if not shift and stamp.endswith("Z") else
                          (submitted + shift).isoformat().replace("+00:00", "Z"), number, state.value, *cells]
        if blanked:
            redactions["free-text answers blanked: the contributor did not agree to be quoted"] += 1
        exported_by[pid] += 1
        rows.append(row)
    for reason, count in left_out.items():
        redactions[reason] = count
    if progress:
        progress(total, total, "checking what will leave the laptop")

    # participants.csv and consent_log.csv: everyone whose data may leave, pseudonymous.
    items = sorted(consent_items)
    p_header = ["participant", "enrolled_at", "route", "invite", "consent_version", "consent_language", "status",
                "contributions_exported"] + [f"consent_{i}" for i in items]
    if options.contacts:
        p_header += ["contact_name", "contact_phone", "contact_email"]
    p_rows: list[list[Any]] = []
    c_header = ["participant", "event", "document_version", "language", "granted", "declined", "method", "witnessed",
                "remove_data", "at", "text_sha256"]
    c_rows: list[list[Any]] = []
    people_left_out: Counter = Counter()
    contacts_given = 0
    exported_codes: dict[str, str] = {}
    code_shifts: dict[str, timedelta] = {}
    for p in participants:
        timeline = timelines.get(p.id)
        now_state = timeline.now if timeline else ConsentState()
        if now_state.remove_data:
            people_left_out["the participant withdrew and asked for their data to be removed"] += 1
            continue
        if partners_only and not now_state.allows_role(ConsentRole.share_partners, documents):
            people_left_out["the participant did not agree to sharing with partner organisations"] += 1
            continue
        shift = offsets.get(p.id, timedelta(0))
        code = code_of(p.code)
        exported_codes[p.code], code_shifts[p.code] = code, shift
        row = [code, (p.enrolled_at + shift).isoformat().replace("+00:00", "Z"), p.route.value,
               invites.get(p.invite_id or "", ""), now_state.document_version, now_state.language, now_state.status,
               exported_by.get(p.id, 0)] + [("yes" if now_state.allows(i) else "no") for i in items]
        if options.contacts:
            contact = contacts.get(p.id)
            if contact is not None and now_state.allows_role(ConsentRole.contact_later, documents) and any(
                    (contact.name, contact.phone, contact.email)):
                row += [contact.name, contact.phone, contact.email]
                contacts_given += 1
            else:
                row += [None, None, None]
                if contact is not None and any((contact.name, contact.phone, contact.email)):
                    redactions["contact details left out: the participant did not agree to be contacted"] += 1
        p_rows.append(row)
        for e in sorted(events_by.get(p.id, []), key=lambda e: (e.at, e.id)):
            c_rows.append([code, e.kind.value, e.document_version, e.language, " ".join(e.granted),
                           " ".join(e.declined), e.method.value, "yes" if e.witness else "no",
                           "yes" if e.remove_data else "no", (e.at + shift).isoformat().replace("+00:00", "Z"),
                           e.text_sha256])
    for reason, count in people_left_out.items():
        exclusions["participants: " + reason] += count

    fixed = base_columns(versions[-1].page_words)
    for col in fixed:
        col.versions = sorted(known_versions)
    all_columns = [*fixed, *columns]
    check = sharing_check(record.title, options, all_columns, rows, len(p_rows), exclusions, contacts_given)
    check.consent_roles = role_meanings(versions[-1].consent.items)
    filters = {"review_states": [s.value for s in options.review_states],
               "date_from": options.date_from.isoformat() if options.date_from else None,
               "date_to": options.date_to.isoformat() if options.date_to else None,
               "protocol_versions": sorted(wanted_versions), "audience": options.audience.value}
    activity = activity_rows(audit_events, exported_codes, code_shifts,
                             {doc["id"]: codes.get(doc.get("participant_id", ""), "") for doc in docs},
                             {row[0] for row in rows})
    return ExportPlan(record.id, record.title, options, list(record.languages), versions, all_columns, rows,
                      p_header, p_rows, c_header, c_rows, exclusions, redactions, check, options.hash_codes, filters,
                      activity)
