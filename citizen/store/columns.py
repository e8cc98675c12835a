"""What the contributions screen filters and searches on, derived per segment and kept beside the
segments like the counts and the indexes (derived.py: checked against each segment file, made
again from that segment alone when missing, stale or damaged; never trusted over the data).

- ``columns``: for each row, its participant, protocol version, time (seconds since the epoch),
  review state ("removed" for a removed contribution's tombstone) and whether its contributor
  has replied to the team's latest feedback;
- ``words``: the words of every text answer (folded to compare in any case), each with the rows
  whose answer to that question holds it, so a word search reads no contribution.

Opening the contributions screen of a study of 100,000 then reads these files, not 100 segments.
The numbers of each column (and the rows of each word) are kept as the text of their bytes
(``pack``), read back at C speed: as JSON lists of numbers and strings the columns of 100,000
contributions took a quarter of a second to read, and their words more.
"""

from __future__ import annotations

import base64
import binascii
import sys
from array import array
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, NamedTuple, Optional

from ..domain.values import ReviewState, replied
from .derived import Derive
from .export_ready import ACTIVITY_KIND, EXPORT_GROUP, EXPORT_KIND, activity_rows, activity_shape, export_rows, export_shape

COLUMNS_KIND = "contributions/columns/2"  # bump the number when what is derived changes
WORDS_KIND = "contributions/words/2"
# A row's review state is kept as its place in this list ("removed": a removed contribution's
# tombstone; "": a record of no known state).
STATES = [*(s.value for s in ReviewState), "removed", ""]
_STATE_NUMBER = {s: n for n, s in enumerate(STATES)}
U32 = next(code for code in "IL" if array(code).itemsize == 4)
I32 = next(code for code in "il" if array(code).itemsize == 4)


def pack(code: str, values: Iterable[Any]) -> str:
    """Numbers as the text of their bytes (little-endian, base64): read back at C speed."""
    numbers = array(code, values)
    if sys.byteorder == "big":
        numbers.byteswap()
    return base64.b64encode(numbers.tobytes()).decode("ascii")


def unpack(code: str, text: str) -> array:
    """The numbers ``pack`` wrote; ValueError if the text is not such numbers."""
    numbers = array(code)
    try:
        numbers.frombytes(binascii.a2b_base64(text))
    except (binascii.Error, TypeError) as exc:
        raise ValueError(str(exc)) from None
    if sys.byteorder == "big":
        numbers.byteswap()
    return numbers


class Columns(NamedTuple):
    """One segment's columns, read back: ``who`` numbers each row's participant in ``pids``;
    ``states`` holds one byte per row, its place in ``STATES``; ``replied`` 1 where the contributor
    replied to the team's latest feedback."""

    rows: array
    pids: list[str]
    who: array
    versions: array
    times: array
    states: bytes
    replied: bytes


def contribution_columns(rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One segment's columns, in row order (see ``Columns``), each packed as text."""
    numbers, who, versions, times, states, replies = [], [], [], [], [], []
    pids: dict[str, int] = {}
    for key in sorted(rows, key=int):
        doc = rows[key]
        version, at = doc.get("protocol_version", 0), doc.get("submitted_at")
        state = "removed" if doc.get("removed_at") else doc.get("review_state")
        numbers.append(int(key))
        who.append(pids.setdefault(str(doc.get("participant_id", "")), len(pids)))
        versions.append(version if type(version) is int and -(2**31) <= version < 2**31 else 0)
        times.append(timestamp(at))
        states.append(_STATE_NUMBER.get(state, _STATE_NUMBER[""]) if isinstance(state, str) else _STATE_NUMBER[""])
        replies.append(int(state != "removed" and has_reply(doc)))
    return {
        "row": pack(U32, numbers),
        "pid": list(pids),
        "who": pack(U32, who),
        "version": pack(I32, versions),
        "at": pack("d", times),
        "state": pack("B", states),
        "replied": pack("B", replies),
    }


def read_columns(value: Any) -> Optional[Columns]:
    """The columns ``contribution_columns`` made, from a value read back; None if it is not such a value."""
    if not isinstance(value, dict) or not isinstance(value.get("pid"), list):
        return None
    try:
        out = Columns(
            unpack(U32, value["row"]),
            value["pid"],
            unpack(U32, value["who"]),
            unpack(I32, value["version"]),
            unpack("d", value["at"]),
            unpack("B", value["state"]).tobytes(),
            unpack("B", value["replied"]).tobytes(),
        )
    except (KeyError, ValueError):
        return None
    n = len(out.rows)
    if not (len(out.who) == len(out.versions) == len(out.times) == len(out.states) == len(out.replied) == n):
        return None
    if not set(map(type, out.pids)) <= {str}:
        return None
    if n and (max(out.who) >= len(out.pids) or max(out.states) >= len(STATES) or max(out.replied) > 1):
        return None
    return out


def has_reply(doc: dict[str, Any]) -> bool:
    try:
        return replied(doc.get("feedback") or [], doc.get("replies") or [])
    except (KeyError, TypeError, ValueError, AttributeError):
        return False


def timestamp(at: Any) -> float:
    try:
        return datetime.fromisoformat(at).timestamp()
    except (TypeError, ValueError):
        return 0.0


def answer_words(rows: dict[str, dict[str, Any]]) -> list[list[Any]]:
    """One segment's words: ``[[question key, word, rows packed], ...]`` for every text answer,
    in order of question and word (``read_words`` gives the rows back).

    A word is a run of characters between white space, case-folded: a word typed in a search (it
    holds no white space) is within an answer exactly when it is within one of its words.
    """
    found: dict[str, dict[str, list[int]]] = {}  # question -> word -> rows
    for key, doc in rows.items():
        row = int(key)
        values = doc.get("values")
        for question, value in values.items() if isinstance(values, dict) else ():
            if isinstance(value, str) and value:
                words = found.get(question)
                if words is None:
                    words = found[question] = {}
                for word in set(value.casefold().split()):
                    at = words.get(word)
                    if at is None:
                        words[word] = [row]
                    else:
                        at.append(row)
    return [[q, w, pack(U32, sorted(found[q][w]))] for q in sorted(found) for w in sorted(found[q])]


def read_words(packed: str) -> array:
    """The rows of one entry of ``answer_words``."""
    return unpack(U32, packed)


def columns_shape(value: Any) -> bool:
    """Whether a value read back from a file is columns as ``contribution_columns`` makes them."""
    return read_columns(value) is not None


def words_shape(value: Any) -> bool:
    """Whether a value read back from a file is words as ``answer_words`` makes them."""
    if not isinstance(value, list) or not set(map(type, value)) <= {list}:
        return False
    try:
        return all(
            len(e) == 3 and type(e[0]) is str and type(e[1]) is str and type(e[2]) is str and read_words(e[2]) is not None
            for e in value
        )
    except ValueError:
        return False


# Table name -> the caches kept for it (stem of the file name -> how each segment's value is made,
# what it is, the shape it has, and how many segments one cache file holds: None, derived.GROUP).
KEPT: dict[str, dict[str, tuple[Derive, str, Callable[[Any], bool], Optional[int]]]] = {
    "contributions": {
        "columns": (contribution_columns, COLUMNS_KIND, columns_shape, None),
        "words": (answer_words, WORDS_KIND, words_shape, None),
        "export": (export_rows, EXPORT_KIND, export_shape, EXPORT_GROUP),  # export_ready.py
    },
    "audit": {"activity": (activity_rows, ACTIVITY_KIND, activity_shape, EXPORT_GROUP)},  # export_ready.py
}
