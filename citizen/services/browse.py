"""Browsing a study's participants and contributions: filtering, paging and text search.

The contributions of a large study (100,000 and more) are never parsed into models to be shown:
``ContributionIndex`` keeps a few compact columns per contribution (participant, protocol
version, time, review state) in arrays, answers filters from them, and reads only the stored
documents of the page being shown. It follows the study's changes as they are committed.
"""

from __future__ import annotations

import gc
import threading
import time as clock
import weakref
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Optional

from ..domain.contribution import replied
from ..domain.models import ConsentEvent, Contact, FieldType, Participant, ReviewState
from ..domain.rules import ConsentState, fold_consent
from .common import NotFound, Study
from .revisions import shown_answer

REVIEW_STATES: list[str] = [s.value for s in ReviewState]
_REMOVED = len(REVIEW_STATES)  # state code of a contribution removed at the contributor's request
_MISSING = _REMOVED + 1  # a row number with no document (never expected; kept safe)
TEXT_TYPES = {FieldType.text, FieldType.long_text, FieldType.place}


# -- contributions -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ContributionFilter:
    """What the coordinator asked to see. Dates are local calendar days, both ends included.

    ``review_state`` is one of ``REVIEW_STATES``, or "removed" for the tombstones of contributions
    removed at their contributor's request (which are otherwise left out). ``replied``: only those
    whose contributor has the last word (a reply after the team's latest feedback).
    """

    review_state: Optional[str] = None
    replied: bool = False
    participant: str = ""
    protocol_version: Optional[int] = None
    since: Optional[date] = None
    until: Optional[date] = None
    text: str = ""

    @property
    def is_empty(self) -> bool:
        return self == ContributionFilter()


@dataclass
class ContributionRow:
    """One line of the contributions table, read from the stored document."""

    id: str
    row: int
    code: str
    submitted_at: datetime
    protocol_version: int
    source: str
    review_state: str
    feedback: int
    preview: str
    removed: bool
    replied: bool = False


@dataclass
class Selection:
    """The store rows matching a filter, newest first."""

    rows: Sequence[int]
    filter: ContributionFilter = field(default_factory=ContributionFilter)

    def __len__(self) -> int:
        return len(self.rows)


def settle_memory() -> None:
    """Keep the documents now loaded out of the garbage collector's full passes.

    A large study holds millions of small objects for as long as it is open; without this each
    full collection walks all of them (about a second at 100,000 contributions) and the
    interface stalls on an ordinary allocation.
    """
    gc.collect()
    gc.freeze()


def parse_day(text: str) -> Optional[date]:
    """A day typed as year-month-day; empty means no bound. Raises ValueError in plain words."""
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError("Please enter a date as year-month-day, like 2026-05-31.") from None


def _local_bound(day: date, end: bool) -> float:
    moment = datetime.combine(day + timedelta(days=1) if end else day, time.min).astimezone()
    return moment.timestamp()


class ContributionIndex:
    """Compact columns of every contribution, kept current from the study's committed changes."""

    def __init__(self, study: Study):
        self.study = study
        self._table = study.store.table("contributions")
        self._lock = threading.RLock()
        # Column n holds store row n + 1 (rows are numbered 1, 2, 3 ... and never deleted).
        self._participant = array("l")
        self._version = array("l")
        self._when = array("d")
        self._state = array("b")
        self._replied = array("b")  # 1: the contributor replied after the team's latest feedback
        self._text: list[str] = []  # the text answers of each row, folded for search ("" when none)
        self._pids: list[str] = []
        self._pid_number: dict[str, int] = {}
        self._codes: dict[str, str] = {}
        self._text_keys: dict[int, tuple[str, ...]] = {}
        self._order: Optional[list[int]] = None
        self.built = False

    # -- building and following changes ----------------------------------------------------
    def build(self) -> ContributionIndex:
        """Read every contribution once (call it in a worker thread); safe against concurrent writes."""
        store = self.study.store
        with store.lock:
            self._codes = {d["id"]: d["code"] for d in store.table("participants")}
            numbers = list(self._table.segment_numbers())
        for number in numbers:
            with store.lock:  # one segment at a time, so a writer waits at most one segment
                docs = list(self._table.segment_rows(number))
                with self._lock:
                    for row, doc in docs:
                        self._set(row, doc)
            clock.sleep(0)  # let the interface thread run between segments
        with self._lock:
            self._order = None
            self.built = True
        settle_memory()
        return self

    def attach(self) -> None:
        """Follow the study's changes (the listener runs in whichever thread committed them)."""
        self.study.on_change(self.apply)

    def detach(self) -> None:
        self.study.remove_listener(self.apply)

    def apply(self, ops: Iterable[tuple[str, int, dict[str, Any]]]) -> None:
        with self._lock:
            for table, row, doc in ops:
                if table == "contributions":
                    self._set(row, doc)
                elif table == "participants":
                    self._codes[doc["id"]] = doc["code"]

    def _set(self, row: int, doc: dict[str, Any]) -> None:
        pos = row - 1
        if len(self._state) <= pos:
            missing = pos + 1 - len(self._state)
            self._participant.extend([-1] * missing)
            self._version.extend([0] * missing)
            self._when.extend([0.0] * missing)
            self._state.extend([_MISSING] * missing)
            self._replied.extend([0] * missing)
            self._text.extend([""] * missing)
            self._order = None
        pid = doc.get("participant_id", "")
        number = self._pid_number.get(pid)
        if number is None:
            number = self._pid_number[pid] = len(self._pids)
            self._pids.append(pid)
        when = datetime.fromisoformat(doc["submitted_at"]).timestamp()
        if self._when[pos] != when:
            self._order = None
        self._participant[pos] = number
        self._version[pos] = int(doc.get("protocol_version", 0))
        self._when[pos] = when
        self._state[pos] = _REMOVED if doc.get("removed_at") else REVIEW_STATES.index(doc["review_state"])
        self._replied[pos] = replied(doc.get("feedback") or [], doc.get("replies") or [])
        values = doc.get("values") or {}
        words = [str(values[k]) for k in self._keys_of(self._version[pos]) if values.get(k)]
        self._text[pos] = " ".join(words).casefold() if words else ""

    # -- questions --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._state)

    def counts(self) -> dict[str, int]:
        """How many contributions are in each review state (and removed)."""
        with self._lock:
            out = {s: 0 for s in [*REVIEW_STATES, "removed"]}
            for code in self._state:
                if code < _REMOVED:
                    out[REVIEW_STATES[code]] += 1
                elif code == _REMOVED:
                    out["removed"] += 1
            return out

    def versions(self) -> list[int]:
        return sorted({v.number for v in self.study.repo.protocol_versions()})

    def _newest_first(self) -> list[int]:
        if self._order is None:
            when = self._when
            self._order = sorted(range(len(when)), key=when.__getitem__, reverse=True)
        return self._order

    def total(self) -> int:
        """Contributions ever stored, removed ones included (known without reading them)."""
        return self._table.count_rows()

    def latest(self, count: int) -> list[int]:
        """The last rows written, newest row first: the first page, before the index is built."""
        total = self._table.count_rows()
        return list(range(total, max(0, total - count), -1))

    def select(self, flt: ContributionFilter) -> Selection:
        """The rows matching a filter, newest first (the whole filter runs here, off the UI thread)."""
        with self._lock:
            positions: Iterable[int] = self._newest_first()
            state = self._state
            if flt.review_state == "removed":
                positions = [p for p in positions if state[p] == _REMOVED]
            elif flt.review_state:
                wanted = REVIEW_STATES.index(flt.review_state)
                positions = [p for p in positions if state[p] == wanted]
            else:
                positions = [p for p in positions if state[p] < _REMOVED]
            if flt.replied:
                positions = [p for p in positions if self._replied[p]]
            if flt.protocol_version is not None:
                version, wanted_v = self._version, flt.protocol_version
                positions = [p for p in positions if version[p] == wanted_v]
            if flt.participant.strip():
                needle = flt.participant.strip().upper()
                numbers = {n for n, pid in enumerate(self._pids) if needle in self._codes.get(pid, "").upper()}
                who = self._participant
                positions = [p for p in positions if who[p] in numbers]
            if flt.since is not None or flt.until is not None:
                low = _local_bound(flt.since, False) if flt.since else float("-inf")
                high = _local_bound(flt.until, True) if flt.until else float("inf")
                when = self._when
                positions = [p for p in positions if low <= when[p] < high]
            positions = list(positions)
            if flt.text.strip():
                positions = self._search(positions, flt.text)
        return Selection(array("l", (p + 1 for p in positions)), flt)

    def _keys_of(self, version: int) -> tuple[str, ...]:
        keys = self._text_keys.get(version)
        if keys is None:
            pv = self.study.repo.protocol_version(version)
            keys = tuple(f.key for f in pv.fields if f.type in TEXT_TYPES) if pv else ()
            self._text_keys[version] = keys
        return keys

    def _search(self, positions: list[int], text: str) -> list[int]:
        """Positions whose text answers contain every word typed (in any case)."""
        words = text.casefold().split()
        with self._lock:
            blobs = self._text
            for word in words:
                positions = [p for p in positions if word in blobs[p]]
        return positions

    def page(self, rows: Sequence[int], start: int, count: int) -> list[ContributionRow]:
        """The table lines of ``rows[start:start + count]``, read from the stored documents."""
        out = []
        for row in rows[max(0, start) : start + count]:
            doc = self._table.get(row)
            if doc is None:
                continue
            out.append(self.line(row, doc))
        return out

    def line(self, row: int, doc: dict[str, Any]) -> ContributionRow:
        values = doc.get("values") or {}
        preview = next(
            (str(values[k]) for k in self._keys_of(doc.get("protocol_version", 0)) if str(values.get(k, "")).strip()), ""
        )
        code = self._codes.get(doc["participant_id"])
        if code is None:
            p = self.study.repo.participant(doc["participant_id"])
            code = self._codes[doc["participant_id"]] = p.code if p else "?"
        removed = bool(doc.get("removed_at"))
        return ContributionRow(
            id=doc["id"],
            row=row,
            code=code,
            submitted_at=datetime.fromisoformat(doc["submitted_at"]),
            protocol_version=int(doc.get("protocol_version", 0)),
            source=doc.get("source", ""),
            review_state="removed" if removed else doc["review_state"],
            feedback=len(doc.get("feedback") or []),
            preview=" ".join(preview.split())[:200],
            removed=removed,
            replied=not removed and replied(doc.get("feedback") or [], doc.get("replies") or []),
        )

    def state_of(self, row: int) -> str:
        with self._lock:
            code = self._state[row - 1] if 0 < row <= len(self._state) else _MISSING
        return REVIEW_STATES[code] if code < _REMOVED else ("removed" if code == _REMOVED else "")


_INDEXES: weakref.WeakKeyDictionary[Study, ContributionIndex] = weakref.WeakKeyDictionary()


def index_for(study: Study) -> ContributionIndex:
    """The study handle's one contribution index, following its changes (built on first filter)."""
    index = _INDEXES.get(study)
    if index is None:
        index = _INDEXES[study] = ContributionIndex(study)
        index.attach()
    return index


def contribution_answers(study: Study, contribution_id: str, language: str = "en") -> list[tuple[str, str]]:
    """A contribution's answers as (question, answer) in the order of its protocol version's form."""
    doc = study.store.table("contributions").find(contribution_id)
    if doc is None:
        raise NotFound("This contribution is not known.")
    version = study.repo.protocol_version(int(doc["protocol_version"]))
    values = doc.get("values") or {}
    fields = version.fields if version else []
    return [(f.text(language), shown_answer(f, values[f.key], language)) for f in fields if f.key in values]


# -- participants ------------------------------------------------------------------------------
PARTICIPANT_STATUSES = ["active", "needs re-consent", "withdrawn", "not enrolled"]


@dataclass
class ParticipantRow:
    id: str
    code: str
    enrolled_at: datetime
    route: str
    consent_version: Optional[int]
    consent: str
    contributions: int
    status: str


def _consent_words(state: ConsentState, current_version: Optional[int]) -> tuple[str, str]:
    """(consent state, status) in the words the participants table shows."""
    if not state.enrolled:
        return "no consent", "not enrolled"
    if state.withdrawn:
        return ("withdrawn: removed" if state.remove_data else "withdrawn: kept"), "withdrawn"
    if current_version is not None and state.document_version != current_version:
        return "needs re-consent", "needs re-consent"
    return "current", "active"


def participant_rows(study: Study) -> list[ParticipantRow]:
    """Every participant with their consent and contribution counts, newest enrolment first."""
    repo = study.repo
    current = repo.current_protocol()
    current_version = current.consent.version if current else None
    states = repo.consent_states()
    table = study.store.table("contributions")
    out = []
    for p in repo.participants():
        state = states.get(p.id, ConsentState())
        consent, status = _consent_words(state, current_version)
        rows = table.rows_where("participant_id", p.id)
        count = sum(1 for r in rows if (d := table.get(r)) is not None and not d.get("removed_at"))
        out.append(
            ParticipantRow(
                id=p.id,
                code=p.code,
                enrolled_at=p.enrolled_at,
                route=p.route.value,
                consent_version=state.document_version,
                consent=consent,
                contributions=count,
                status=status,
            )
        )
    out.sort(key=lambda r: r.enrolled_at, reverse=True)
    return out


def filter_participants(rows: Iterable[ParticipantRow], text: str = "", status: Optional[str] = None) -> list[ParticipantRow]:
    """Participants whose code contains the text (any case) and whose status is the one asked."""
    needle = text.strip().upper()
    return [r for r in rows if (not needle or needle in r.code.upper()) and (not status or r.status == status)]


@dataclass
class ParticipantDetail:
    participant: Participant
    state: ConsentState
    consent: str
    status: str
    events: list[ConsentEvent]
    contact: Optional[Contact]
    contributions: int


def participant_detail(study: Study, participant_id: str) -> ParticipantDetail:
    """One participant with their whole consent history, oldest event first."""
    repo = study.repo
    p = repo.participant(participant_id)
    if p is None:
        raise NotFound("This participant is not known.")
    events = sorted(repo.consent_events(participant_id), key=lambda e: (e.at, e.id))
    state = fold_consent(events)
    current = repo.current_protocol()
    consent, status = _consent_words(state, current.consent.version if current else None)
    table = study.store.table("contributions")
    count = sum(
        1
        for r in table.rows_where("participant_id", participant_id)
        if (d := table.get(r)) is not None and not d.get("removed_at")
    )
    contact = repo.contact(participant_id)
    if contact is not None and not (contact.name or contact.phone or contact.email):
        contact = None
    return ParticipantDetail(
        participant=p, state=state, consent=consent, status=status, events=events, contact=contact, contributions=count
    )


def participant_by_code(study: Study, code: str) -> Participant:
    """The participant with this code (typed in any case, spaces ignored)."""
    wanted = "".join(code.split()).upper()
    if not wanted:
        raise NotFound("Please enter the participant's code (like AB-C3D4).")
    p = study.repo.participant_by("code", wanted)
    if p is None:
        raise NotFound(f"No participant has the code '{code.strip()}'.")
    return p
