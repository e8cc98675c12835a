"""What the contributions screen filters and searches on, derived per segment and kept beside the
segments like the counts and the indexes (derived.py: checked against each segment file, made
again from that segment alone when missing, stale or damaged; never trusted over the data).

- ``columns``: for each row, its participant, protocol version, time (seconds since the epoch),
  review state ("removed" for a removed contribution's tombstone) and whether its contributor
  has replied to the team's latest feedback;
- ``words``: the words of every text answer (folded to compare in any case), each with the rows
  whose answer to that question holds it, so a word search reads no contribution.

Opening the contributions screen of a study of 100,000 then reads these files, not 100 segments.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from itertools import chain
from operator import itemgetter
from typing import Any

from ..domain.values import ReviewState, replied
from .derived import Derive

COLUMNS_KIND = "contributions/columns/1"  # bump the number when what is derived changes
WORDS_KIND = "contributions/words/1"
COLUMNS = ("row", "pid", "version", "at", "state", "replied")
STATES = {*(s.value for s in ReviewState), "removed"}  # and "" for a record of no known state


def contribution_columns(rows: dict[str, dict[str, Any]]) -> dict[str, list[Any]]:
    """One segment's columns, in row order: ``row``, ``pid``, ``version``, ``at``, ``state``,
    ``replied`` (1: the contributor replied after the team's latest feedback)."""
    out: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for key in sorted(rows, key=int):
        doc = rows[key]
        version, at = doc.get("protocol_version", 0), doc.get("submitted_at")
        state = "removed" if doc.get("removed_at") else doc.get("review_state")
        out["row"].append(int(key))
        out["pid"].append(str(doc.get("participant_id", "")))
        out["version"].append(version if type(version) is int else 0)
        out["at"].append(timestamp(at))
        out["state"].append(state if isinstance(state, str) and state in STATES else "")  # "": none to show
        out["replied"].append(int(state != "removed" and has_reply(doc)))
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
    """One segment's words: ``[[question key, word, [row, ...]], ...]`` for every text answer.

    A word is a run of characters between white space, case-folded: a word typed in a search (it
    holds no white space) is within an answer exactly when it is within one of its words.
    """
    found: dict[tuple[str, str], list[int]] = {}
    for key, doc in rows.items():
        row = int(key)
        values = doc.get("values")
        for question, value in values.items() if isinstance(values, dict) else ():
            if isinstance(value, str) and value:
                for word in set(value.casefold().split()):
                    found.setdefault((question, word), []).append(row)
    return [[question, word, sorted(rows_)] for (question, word), rows_ in found.items()]


def columns_shape(value: Any) -> bool:
    """Whether a value read back from a file is columns as ``contribution_columns`` makes them."""
    if not isinstance(value, dict) or not all(isinstance(value.get(k), list) for k in COLUMNS):
        return False
    rows, pids, versions, times, states, replies = (value[k] for k in COLUMNS)
    return (
        len(rows) == len(pids) == len(versions) == len(times) == len(states) == len(replies)
        and set(replies) <= {0, 1}
        and set(map(type, rows)) <= {int}
        and set(map(type, pids)) <= {str}
        and set(map(type, versions)) <= {int}
        and set(map(type, times)) <= {int, float}
        and set(map(type, states)) <= {str}
        and set(states) <= {*STATES, ""}
    )


def words_shape(value: Any) -> bool:
    """Whether a value read back from a file is words as ``answer_words`` makes them."""
    return (
        isinstance(value, list)
        and set(map(type, value)) <= {list}
        and all(len(e) == 3 and type(e[0]) is str and type(e[1]) is str and type(e[2]) is list for e in value)
        and set(map(type, chain.from_iterable(map(itemgetter(2), value)))) <= {int}
    )


# Table name -> the caches kept for it (stem of the file name -> how each segment's value is made).
KEPT: dict[str, dict[str, tuple[Derive, str, Callable[[Any], bool]]]] = {
    "contributions": {
        "columns": (contribution_columns, COLUMNS_KIND, columns_shape),
        "words": (answer_words, WORDS_KIND, words_shape),
    },
}
