"""The contributions of a study, browsed: filtering, paging and word search at any size.

The contributions of a large study (100,000 and more) are never parsed into models to be shown,
nor read at all to be filtered: ``ContributionIndex`` holds a few compact columns per
contribution (participant, protocol version, time, review state) in arrays, filled from the
columns kept beside the segments (``store/columns.py``), answers filters from them and word
searches from the words kept there too, and reads only the stored documents of the page being
shown. It follows the study's changes as they are committed.
"""

from __future__ import annotations

import gc
import threading
import weakref
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import compress, islice
from operator import lt
from typing import Any, Optional

from ..domain.contribution import replied
from ..domain.models import FieldType, ReviewState
from ..store.columns import STATES, read_columns, read_words
from .common import Study

REVIEW_STATES: list[str] = [s.value for s in ReviewState]
_REMOVED = len(REVIEW_STATES)  # state code of a contribution removed at the contributor's request
_MISSING = _REMOVED + 1  # a row number with no document (never expected; kept safe)
_STATE_CODES = {**{s: n for n, s in enumerate(REVIEW_STATES)}, "removed": _REMOVED}
# A kept column's state (its place in ``store.columns.STATES``) -> the state code here.
_FROM_KEPT = bytes(_STATE_CODES.get(s, _MISSING) for s in STATES).ljust(256, bytes([_MISSING]))
TEXT_TYPES = {FieldType.text, FieldType.long_text, FieldType.place}


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
        self._pids: list[str] = []
        self._pid_number: dict[str, int] = {}
        self._codes: dict[str, str] = {}
        self._text_keys: dict[int, tuple[str, ...]] = {}
        self._order: Optional[list[int]] = None
        self._everything: Optional[Selection] = None  # the answer to no filter, until a row changes
        self.built = False
        self.words_ready = False  # the kept words are read: a word search only looks them up

    # -- building and following changes ----------------------------------------------------
    def build(self) -> ContributionIndex:
        """Fill the columns from those kept beside the segments (call it in a worker thread).

        No contribution is read where a segment's kept columns are current; a segment whose
        columns are missing, stale or damaged is read once to make them again. Safe against
        concurrent writes: a segment at a time under the study's lock, so a writer waits at most that.
        """
        store = self.study.store
        columns = self._table.kept["columns"]
        with store.lock:
            self._codes = {d["id"]: d["code"] for d in store.table("participants")}
            numbers = list(self._table.segment_numbers())
        for number in numbers:
            with store.lock:
                value = columns.segment(number)
                with self._lock:
                    self._put_segment(value)
        with self._lock:
            self._order = None
            self.built = True
        with store.lock:
            columns.save()
        return self

    def build_from_kept(self, wait: float = -1) -> bool:
        """Fill the columns at once if every segment's kept columns are current (milliseconds at
        100,000: no segment is read); else change nothing and say so (``build`` then does it).
        ``wait``: at most so many seconds for the study's lock (the interface's thread does not wait
        long for a writer: it says False, and a worker fills the index)."""
        store = self.study.store
        columns = self._table.kept["columns"]
        if not store.lock.acquire(timeout=wait):
            return False
        try:
            if self.built:  # (filled meanwhile by another thread)
                return True
            values = []
            for number in self._table.segment_numbers():
                found, value = columns.known(number)
                if not found:
                    return False
                values.append(value)
            codes = {d["id"]: d["code"] for d in store.table("participants")}
            with self._lock:
                self._codes = codes
                for value in values:
                    self._put_segment(value)
                self._order = None
                self.built = True
            columns.save()
        finally:
            store.lock.release()
        return True

    def prepare_words(self) -> None:
        """Read the words kept beside the segments now (a worker does it as the person goes to the
        words box), so that the search itself only looks them up."""
        words = self._table.kept["words"]
        with self.study.store.lock:
            for _ in words.each():
                pass
            words.save()
        self.words_ready = True

    def attach(self) -> None:
        """Follow the study's changes (the listener runs in whichever thread committed them)."""
        self.study.on_change(self.apply)

    def detach(self) -> None:
        self.study.remove_listener(self.apply)

    def apply(self, ops: Iterable[tuple[str, int, dict[str, Any]]]) -> None:
        with self._lock:
            for table, row, doc in ops:
                if table == "contributions":
                    self._put(
                        row,
                        doc.get("participant_id", ""),
                        int(doc.get("protocol_version", 0)),
                        datetime.fromisoformat(doc["submitted_at"]).timestamp(),
                        _REMOVED if doc.get("removed_at") else _STATE_CODES[doc["review_state"]],
                        int(not doc.get("removed_at") and replied(doc.get("feedback") or [], doc.get("replies") or [])),
                    )
                elif table == "participants":
                    self._codes[doc["id"]] = doc["code"]

    def _put_segment(self, value: Any) -> None:
        """One segment's kept columns; the next rows in order (as nearly always) are added at once."""
        kept = read_columns(value)
        if kept is None:  # never expected: a kept value is checked when read
            return
        rows = kept.rows
        for pid in set(kept.pids).difference(self._pid_number):
            self._pid_number[pid] = len(self._pids)
            self._pids.append(pid)
        numbers = array("l", map(self._pid_number.__getitem__, kept.pids))
        states = kept.states.translate(_FROM_KEPT)
        if not rows or rows[0] != len(self._state) + 1 or rows[-1] != rows[0] + len(rows) - 1:
            for n, row in enumerate(rows):
                pid = kept.pids[kept.who[n]]
                self._put(row, pid, kept.versions[n], kept.times[n], states[n], kept.replied[n])
            return
        self._participant.extend(map(numbers.__getitem__, kept.who))
        self._version.extend(iter(kept.versions))  # of another width
        self._when.extend(kept.times)
        self._state.frombytes(states)
        self._replied.frombytes(kept.replied)
        self._order = None
        self._everything = None

    def _put(self, row: int, pid: str, version: int, when: float, state: int, reply: int) -> None:
        pos = row - 1
        self._everything = None
        if len(self._state) <= pos:
            missing = pos + 1 - len(self._state)
            self._participant.extend([-1] * missing)
            self._version.extend([0] * missing)
            self._when.extend([0.0] * missing)
            self._state.extend([_MISSING] * missing)
            self._replied.extend([0] * missing)
            self._order = None
        number = self._pid_number.get(pid)
        if number is None:
            number = self._pid_number[pid] = len(self._pids)
            self._pids.append(pid)
        if self._when[pos] != when:
            self._order = None
        self._participant[pos] = number
        self._version[pos] = version
        self._when[pos] = when
        self._state[pos] = state
        self._replied[pos] = reply

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
        """Positions by time, newest first (of equal times, the earlier row first)."""
        if self._order is None:
            when = self._when
            if all(map(lt, when, islice(when, 1, None))):  # as written, nearly always: no sort
                self._order = list(range(len(when) - 1, -1, -1))
            else:
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
        """The rows matching a filter, newest first (the answer to no filter is kept until a row changes)."""
        with self._lock:
            if flt.is_empty and self._everything is not None:
                return self._everything
            order = self._newest_first()
            if flt.review_state == "removed":
                keep = {_REMOVED}
            elif flt.review_state:
                keep = {REVIEW_STATES.index(flt.review_state)}
            else:
                keep = set(range(_REMOVED))
            shown = self._state.tobytes().translate(bytes(int(code in keep) for code in range(256)))
            positions: Iterable[int] = list(compress(order, map(shown.__getitem__, order)))
            if flt.replied:
                positions = list(compress(positions, map(self._replied.__getitem__, positions)))
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
            found = Selection(array("l", map((1).__add__, positions)), flt)
            if flt.is_empty:
                self._everything = found
            return found

    def _keys_of(self, version: int) -> tuple[str, ...]:
        keys = self._text_keys.get(version)
        if keys is None:
            pv = self.study.repo.protocol_version(version)
            keys = tuple(f.key for f in pv.fields if f.type in TEXT_TYPES) if pv else ()
            self._text_keys[version] = keys
        return keys

    def _search(self, positions: list[int], text: str) -> list[int]:
        """Positions whose text answers hold every word typed (in any case, within a word of theirs).

        Answered from the words kept per segment (``store/columns.py``): no contribution is read.
        A question counts only where it is a text question of the row's protocol version.
        """
        words = self._table.kept["words"]
        with self.study.store.lock:
            each = [entries for _, entries in words.each()]
            words.save()
        self.words_ready = True
        version = self._version
        present = set(version)  # the versions rows have
        text_in = {v: set(self._keys_of(v)) for v in present}
        wanted: Optional[set[int]] = None  # rows holding every word so far
        for typed in text.casefold().split():
            holding: set[int] = set()
            for entries in each:
                for question, word, packed in entries:
                    if typed not in word:
                        continue
                    where = {v for v in present if question in text_in[v]}
                    if where == present:  # a text question of every version: every row counts
                        holding.update(read_words(packed))
                    elif where:
                        holding.update(row for row in read_words(packed) if version[row - 1] in where)
            wanted = holding if wanted is None else wanted & holding
        if wanted is None:
            return positions
        return [p for p in positions if p + 1 in wanted]

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


# Up to this many contributions the index is filled at once (on the thread asking) when its kept
# columns are current: a few milliseconds per 10,000. Above it, or when the columns must be made again
# from the segments, it is filled in a worker while the newest rows are shown.
AT_ONCE = 250_000


def prepare_index(study: Study) -> None:
    """Fill the study's contribution index ahead of the contributions screen, if that is quick (call it
    in a worker: the study's overview does, once its figures are shown)."""
    index = index_for(study)
    if not index.built and index.total() <= AT_ONCE and index.build_from_kept():
        index.select(ContributionFilter())  # what the screen shows first, ready


def index_for(study: Study) -> ContributionIndex:
    """The study handle's one contribution index, following its changes (built on first filter)."""
    index = _INDEXES.get(study)
    if index is None:
        index = _INDEXES[study] = ContributionIndex(study)
        index.attach()
    return index
