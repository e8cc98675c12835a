"""contributions.csv's rows: every stored contribution walked once, a segment at a time; the rows that may leave kept.

What a row needs of its contributor (the code the export shows, their date shift, the consent
verdict for each of their consent states, whether their data is to be removed) is worked out once
per participant; a contribution then costs one look-up, a time comparison and one call that makes
its cells (cells.py). ``plan.prepare_export`` calls ``contribution_rows`` under the study's lock.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Optional

from ..domain.base import parse_utc
from ..domain.models import ConsentRole, ReviewState
from ..domain.rules import ConsentState
from ..services.revisions import last_corrections
from . import ready
from .cells import RowMaker, row_maker
from .rows import ConsentRules, Pseudonyms, StudyReading, _stamp

if TYPE_CHECKING:
    from .plan import Column, ExportOptions, Progress

NO_CONSENT = ConsentState()  # one object: verdicts are kept by the identity of the states they were asked of
REMOVED = "the contributor withdrew and asked for their data to be removed"
BLANKED = "free-text answers blanked: the contributor did not agree to be quoted"
Verdict = tuple[Optional[str], bool]  # why consent keeps a contribution out (None: it may leave), and may its words be quoted


@dataclass
class ContributionRows:
    rows: list[list[Any]] = field(default_factory=list)
    exclusions: Counter = field(default_factory=Counter)
    redactions: Counter = field(default_factory=Counter)
    exported_by: Counter = field(default_factory=Counter)
    owners: dict[str, str] = field(default_factory=dict)  # every contribution's id -> its participant's study code
    lines: Optional[list[str]] = None  # read from the export-ready form: the rows as CSV text (``rows`` then
    checked: Optional[list[Column]] = None  # hold only id, code and these columns, that the data-sharing check reads)


def _excluded(consent: ConsentRules, now_state: ConsentState, then: ConsentState, partners_only: bool) -> Optional[str]:
    """Why consent keeps this contribution out of the export (None: consent lets it leave)."""
    if not consent.covered(then):
        return "no consent covering it was in force when it was given"
    if partners_only and not consent.allowed(ConsentRole.share_partners, then, now_state):
        return (
            "the contributor did not agree to sharing with partner organisations"
            if then.item_in_force(ConsentRole.share_partners, consent.documents) is not None
            else "the consent document has no item for sharing with partner organisations"
        )
    return None


class Contributor(NamedTuple):
    """What every row of one participant needs, worked out once for them."""

    code: str  # their study code (for activity.csv), "" if unknown
    shown: str  # the code the export shows (hashed on request)
    shift: timedelta
    times: list[datetime]  # their consent events' times
    verdicts: list[Verdict]  # before the first event, then after each
    remove_data: bool


def contributor(participant_id: str, consent: ConsentRules, pseudonyms: Pseudonyms, partners_only: bool) -> Contributor:
    """The rules run once per consent state the participant went through, not once per contribution:
    a contribution needs only the state in force when it was given and the participant's state today."""
    timeline = consent.timelines.get(participant_id)
    now_state = timeline.now if timeline else NO_CONSENT
    verdicts = []
    for then in [NO_CONSENT, *(timeline.states if timeline else [])]:
        reason = _excluded(consent, now_state, then, partners_only)
        # no quoting item: free text is exported
        verdicts.append((reason, reason is None and consent.allowed(ConsentRole.quote_words, then, now_state)))
    return Contributor(
        pseudonyms.codes.get(participant_id, ""),
        pseudonyms.code_of(pseudonyms.codes.get(participant_id, "?")),
        pseudonyms.shift(participant_id),
        timeline.times if timeline else [],
        verdicts,
        now_state.remove_data,
    )


class Corrections:
    """When a corrected contribution was last corrected: kept with it, or else in the activity log."""

    def __init__(self, reading: StudyReading):
        self.reading = reading
        self.logged: Optional[dict[str, datetime]] = None  # read from the activity log only if needed

    def when(self, doc: dict[str, Any]) -> Optional[datetime]:
        return self.at(doc.get("corrected_at"), doc.get("id", ""))

    def at(self, corrected: Any, ident: Any) -> Optional[datetime]:
        """``corrected``: the time kept with the contribution (if any); ``ident``: its id."""
        if corrected:
            return parse_utc(corrected)
        if self.logged is None:  # corrected before contributions kept the time
            self.logged = last_corrections(self.reading.audit_events)
        return self.logged.get(ident)


def _filtered_out(
    state: ReviewState,
    number: Any,
    submitted: datetime,
    options: ExportOptions,
    states: set[ReviewState],
    wanted_versions: set[int],
) -> Optional[str]:
    """Why the export's own filters leave this contribution out (None: it is wanted)."""
    if state not in states:
        return f"filtered out: review state '{state.value}' not chosen"
    if number not in wanted_versions:
        return f"filtered out: protocol version {number} not chosen"
    day = submitted.date()
    if (options.date_from and day < options.date_from) or (options.date_to and day > options.date_to):
        return "filtered out: submitted outside the date range"
    return None


@dataclass
class RowBuilder:
    """contributions.csv's rows, one stored contribution after another, and what was left out and why."""

    REMOVED: ClassVar[str] = REMOVED
    reading: StudyReading
    options: ExportOptions
    columns: list[Column]
    consent: ConsentRules
    pseudonyms: Pseudonyms
    wanted_versions: set[int]

    def __post_init__(self) -> None:
        reading, options = self.reading, self.options
        self.out = ContributionRows()
        self.present_in = {v.number: {f.key for f in v.fields} for v in reading.versions}
        self.state_of = {s.value: s for s in ReviewState}
        self.states = set(options.review_states)
        self.dated = bool(options.date_from or options.date_to)
        self.partners_only = options.audience.value == "partners"
        self.people: dict[str, Contributor] = {}
        self.makers: dict[tuple[Any, bool], RowMaker] = {}  # how a row is made, per protocol version and quoting
        self.blanked_rows = 0
        self.corrections = Corrections(reading)

    def person(self, pid: str) -> Contributor:
        person = self.people.get(pid)
        if person is None:
            person = self.people[pid] = contributor(pid, self.consent, self.pseudonyms, self.partners_only)
        return person

    def state(self, named: str) -> ReviewState:
        return self.state_of.get(named) or ReviewState(named)

    def filtered_out(self, state: ReviewState, number: Any, submitted: datetime) -> Optional[str]:
        return _filtered_out(state, number, submitted, self.options, self.states, self.wanted_versions)

    def add(self, doc: dict[str, Any]) -> Optional[list[Any]]:
        """The row of one stored contribution (None: left out, and counted)."""
        out, options = self.out, self.options
        pid = doc.get("participant_id", "")
        person = self.person(pid)
        out.owners[doc.get("id")] = person.code
        if doc.get("removed_at") or person.remove_data:
            out.exclusions[REMOVED] += 1
            return None
        stamp = doc["submitted_at"]  # as stored: UTC, ISO 8601 with Z
        submitted = parse_utc(stamp)
        reason, quote_ok = person.verdicts[bisect_right(person.times, submitted)]
        if reason is None:
            state = self.state(doc.get("review_state", "received"))
            number = doc.get("protocol_version")
            if self.dated or state not in self.states or number not in self.wanted_versions:
                reason = self.filtered_out(state, number, submitted)
        if reason is not None:
            out.exclusions[reason] += 1
            return None
        shift = person.shift
        make = self.makers.get((number, quote_ok))
        if make is None:
            make = self.makers[(number, quote_ok)] = row_maker(
                self.columns, self.present_in.get(number, set()), quote_ok, options.labels, self.reading.language
            )
        cells, blanked = make(doc.get("values") or {}, shift)
        if not shift and stamp.endswith("Z"):
            submitted_at = stamp  # as stored, not written again
        else:
            submitted_at = _stamp(submitted + shift)
        revisions = len(doc.get("history") or ())
        corrected = self.corrections.when(doc) if revisions else None
        last_corrected = _stamp(corrected + shift) if corrected else None
        row = [doc.get("id"), person.shown, submitted_at, number, state.value, revisions, last_corrected, *cells]
        if blanked:
            self.blanked_rows += 1
        out.exported_by[pid] += 1
        return row

    def finish(self) -> ContributionRows:
        if self.blanked_rows:
            self.out.redactions[BLANKED] += self.blanked_rows
        return self.out


def contribution_rows(
    reading: StudyReading,
    options: ExportOptions,
    columns: list[Column],
    consent: ConsentRules,
    pseudonyms: Pseudonyms,
    wanted_versions: set[int],
    progress: Optional[Progress] = None,
) -> ContributionRows:
    """contributions.csv: a row per contribution that consent and the filters let leave.

    Read from the export-ready form kept per segment (ready.py) where the options allow it, else
    from the stored contributions themselves.
    """
    builder = RowBuilder(reading, options, columns, consent, pseudonyms, wanted_versions)
    total = reading.contribution_total
    if ready.usable(options) and reading.ready is not None:
        ready.add_rows(builder, reading.ready(), total, progress)
    else:
        done = 0
        for batch in reading.batches:
            if progress:
                progress(done, total, "reading contributions")
            done += len(batch)
            rows = builder.out.rows
            for doc in batch:
                row = builder.add(doc)
                if row is not None:
                    rows.append(row)
    if progress:
        progress(total, total, "checking what will leave the laptop")
    return builder.finish()
