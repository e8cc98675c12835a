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
from itertools import chain
from typing import TYPE_CHECKING, Any, NamedTuple, Optional

from ..domain.base import parse_utc
from ..domain.models import ConsentRole, ReviewState
from ..domain.rules import ConsentState
from ..services.revisions import last_corrections
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
        if doc.get("corrected_at"):
            return parse_utc(doc["corrected_at"])
        if self.logged is None:  # corrected before contributions kept the time
            self.logged = last_corrections(self.reading.audit_events)
        return self.logged.get(doc.get("id", ""))


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


def contribution_rows(
    reading: StudyReading,
    options: ExportOptions,
    columns: list[Column],
    consent: ConsentRules,
    pseudonyms: Pseudonyms,
    wanted_versions: set[int],
    progress: Optional[Progress] = None,
) -> ContributionRows:
    """contributions.csv: a row per contribution that consent and the filters let leave."""
    out = ContributionRows()
    rows, exclusions, exported_by, owners = out.rows, out.exclusions, out.exported_by, out.owners
    present_in = {v.number: {f.key for f in v.fields} for v in reading.versions}
    state_of = {s.value: s for s in ReviewState}
    states = set(options.review_states)
    dated = bool(options.date_from or options.date_to)
    partners_only = options.audience.value == "partners"
    people: dict[str, Contributor] = {}
    makers: dict[tuple[Any, bool], RowMaker] = {}  # how a row is made, per protocol version and quoting
    blanked_rows = 0
    total = reading.contribution_total
    corrections = Corrections(reading)
    done = 0

    def read_so_far(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        nonlocal done
        if progress:
            progress(done, total, "reading contributions")
        done += len(batch)
        return batch

    for doc in chain.from_iterable(map(read_so_far, reading.batches)):
        pid = doc.get("participant_id", "")
        person = people.get(pid)
        if person is None:
            person = people[pid] = contributor(pid, consent, pseudonyms, partners_only)
        owners[doc.get("id")] = person.code
        if doc.get("removed_at") or person.remove_data:
            exclusions[REMOVED] += 1
            continue
        stamp = doc["submitted_at"]  # as stored: UTC, ISO 8601 with Z
        submitted = parse_utc(stamp)
        reason, quote_ok = person.verdicts[bisect_right(person.times, submitted)]
        if reason is None:
            named = doc.get("review_state", "received")
            state = state_of.get(named) or ReviewState(named)
            number = doc.get("protocol_version")
            if dated or state not in states or number not in wanted_versions:
                reason = _filtered_out(state, number, submitted, options, states, wanted_versions)
        if reason is not None:
            exclusions[reason] += 1
            continue
        shift = person.shift
        make = makers.get((number, quote_ok))
        if make is None:
            make = makers[(number, quote_ok)] = row_maker(
                columns, present_in.get(number, set()), quote_ok, options.labels, reading.language
            )
        cells, blanked = make(doc.get("values") or {}, shift)
        if not shift and stamp.endswith("Z"):
            submitted_at = stamp  # as stored, not written again
        else:
            submitted_at = _stamp(submitted + shift)
        revisions = len(doc.get("history") or ())
        corrected = corrections.when(doc) if revisions else None
        last_corrected = _stamp(corrected + shift) if corrected else None
        rows.append([doc.get("id"), person.shown, submitted_at, number, state.value, revisions, last_corrected, *cells])
        if blanked:
            blanked_rows += 1
        exported_by[pid] += 1
    if blanked_rows:
        out.redactions[BLANKED] += blanked_rows
    if progress:
        progress(total, total, "checking what will leave the laptop")
    return out
