"""What an export reads of each contribution, kept per segment beside the segments (issue 16).

An export of 100,000 contributions spent most of its time reading every stored contribution whole
(92 MB of JSON: feedback, reviews, replies and all) and laying out its answers as CSV cells. Here
each segment's contributions are kept as an export reads them, like the indexes and the screen's
columns (derived.py: checked against each segment file, made again from that segment alone when
missing, stale, unreadable or of the wrong shape; never trusted over the data):

    {"keys": [every answer's question key in the segment, sorted],
     "columns": [ids, participant_ids, removed, submitted_at, microseconds, review_states,
                 protocol_versions, revisions, corrected_at],      (each a list, in stored order)
     "answers": [the answers to each key, one per contribution (None: no answer)]}

An answer is kept as stored, except text that a CSV file holds exactly as it is (no comma, quote or
line break, nothing a spreadsheet would run as a formula): that is kept as the text of its cell,
which is the same string; any other text is kept as ``{"s": text, "c": its cell}``.
Nothing here depends on the export's options: they are applied when the rows are made
(export/ready.py). A segment holding anything unexpected (a time that does not parse, answers that
are not a mapping...) is kept as ``{"odd": 1}``, and an export reads that segment's records instead.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from itertools import chain, compress
from operator import not_
from typing import Any

from ..domain.values import parse_utc

EXPORT_KIND = "contributions/export/1"  # bump the number when what is kept changes
EXPORT_GROUP = 8  # segments per cache file: written back with the segments it describes, so kept small
FORMULA_FIRST = frozenset(("=", "+", "-", "@", "\t", "\r", "\uff1d"))  # a cell starting so is run by spreadsheets
NEEDS_QUOTES = re.compile(r'[,"\r\n]')  # a cell holding one of these is quoted by the csv module
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MICROSECOND = timedelta(microseconds=1)
ODD = {"odd": 1}
FIELDS = 9  # the columns kept besides the answers
HASHABLE = (str, int, float, type(None))
ANSWER_TYPES = frozenset((str, int, float, bool, type(None), list, dict))


def plain(text: str) -> bool:
    """Whether a CSV file holds this text exactly as it is, as a formula-safe cell."""
    return text[:1] not in FORMULA_FIRST and NEEDS_QUOTES.search(text) is None


def text_cell(text: str) -> str:
    """A text as a CSV cell: an apostrophe before what a spreadsheet would run as a formula, and
    quoted (quotes doubled) when it holds a comma, quote or line break, as the csv module writes it."""
    if text[:1] in FORMULA_FIRST:
        text = "'" + text
    return '"' + text.replace('"', '""') + '"' if NEEDS_QUOTES.search(text) else text


def micros(when: datetime) -> int:
    """A UTC time as whole microseconds since 1970 (compared exactly as the times are)."""
    return (when - EPOCH) // MICROSECOND


class Odd(Exception):
    """A record the export-ready form does not hold; its segment is read as records instead."""


def _answer(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        return value if plain(value) else {"s": value, "c": text_cell(value)}
    if kind is dict:
        raise Odd("an answer that is a mapping")
    return value


def _row(doc: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    ident, pid, state, version = (
        doc.get("id"),
        doc.get("participant_id", ""),
        doc.get("review_state", "received"),
        doc.get("protocol_version"),
    )
    if (
        type(ident) is not str
        or not plain(ident)
        or type(pid) is not str
        or type(state) is not str
        or not isinstance(version, HASHABLE)
    ):
        raise Odd("a record whose id, participant, state or version is unexpected")
    removed = bool(doc.get("removed_at"))
    stamp, at, corrected = None, None, None
    if not removed:
        stamp = doc.get("submitted_at")
        if type(stamp) is not str or not plain(stamp):
            raise Odd("no submission time, or one that is not plain text")
        try:
            at = micros(parse_utc(stamp))
            corrected = doc.get("corrected_at") or None
            if corrected is not None:
                micros(parse_utc(corrected))
        except (TypeError, ValueError, AttributeError, OverflowError):
            raise Odd("a time that does not parse") from None
    try:
        revisions = len(doc.get("history") or ())
    except TypeError:
        raise Odd("history that is not a list") from None
    values = doc.get("values") or {}
    if type(values) is not dict:
        raise Odd("answers that are not a mapping")
    return [ident, pid, removed, stamp, at, state, version, revisions, corrected], values


def export_rows(rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One segment's contributions as an export reads them (see the module's docstring)."""
    try:
        read = [_row(doc) for doc in rows.values()]
        keys = sorted({k for _, values in read for k in values})
        return {
            "keys": keys,
            "columns": [list(c) for c in zip(*(r for r, _ in read), strict=True)] if read else [[] for _ in range(FIELDS)],
            "answers": [[_answer(values.get(k)) for _, values in read] for k in keys],
        }
    except Odd:
        return dict(ODD)


def export_shape(value: Any) -> bool:
    """Whether a value read back from a file is what ``export_rows`` makes (checked a column at a time)."""
    if value == ODD:
        return True
    if not isinstance(value, dict) or set(value) != {"keys", "columns", "answers"}:
        return False
    keys, columns, answers = value["keys"], value["columns"], value["answers"]
    if not (type(keys) is list and type(columns) is list and type(answers) is list and len(columns) == FIELDS):
        return False
    if len(answers) != len(keys) or set(map(type, keys)) - {str} or set(map(type, columns + answers)) - {list}:
        return False
    if len(set(map(len, columns + answers))) > 1:
        return False
    ids, pids, removed, stamps, ats, states, versions, revisions, corrected = columns
    given = list(map(not_, removed))
    found = set(map(type, chain.from_iterable(answers)))
    wrapped = [a for column in answers if dict in set(map(type, column)) for a in column if type(a) is dict]
    return (
        not set(map(type, ids)) - {str}
        and not set(map(type, pids)) - {str}
        and not set(map(type, removed)) - {bool}
        and not set(map(type, compress(stamps, given))) - {str}
        and not set(map(type, compress(ats, given))) - {int}
        and not set(map(type, states)) - {str}
        and not set(map(type, versions)) - {str, int, float, bool, type(None)}
        and not set(map(type, revisions)) - {int}
        and not set(map(type, corrected)) - {str, type(None)}
        and not found - ANSWER_TYPES
        and all(set(a) == {"s", "c"} and type(a["s"]) is str and type(a["c"]) is str for a in wrapped)
    )


ACTIVITY_KIND = "audit/activity/1"
ACTIVITY_FIELDS = 6


def activity_rows(rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One segment of the activity log as activity.csv reads it, a list per field, in stored order:
    ``{"columns": [microseconds, times as written, actors, actions, targets, participants named in the details or None]}``;
    ``{"odd": 1}`` for a segment holding a time without its zone (or not in UTC), or fields that are not text."""
    out = []
    for doc in rows.values():
        at, actor, action, target = doc.get("at"), doc.get("actor", ""), doc.get("action", ""), doc.get("target", "")
        details = doc.get("details") or {}
        if (
            not (type(at) is str and type(actor) is str and type(action) is str and type(target) is str)
            or type(details) is not dict
        ):
            return dict(ODD)
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            return dict(ODD)
        if when.utcoffset() != timedelta(0):  # None (no zone) or another zone: read as records
            return dict(ODD)
        named = details.get("participant")
        out.append(
            (micros(when), when.isoformat().replace("+00:00", "Z"), actor, action, target, named if type(named) is str else None)
        )
    return {"columns": [list(c) for c in zip(*out, strict=True)] if out else [[] for _ in range(ACTIVITY_FIELDS)]}


def activity_shape(value: Any) -> bool:
    """Whether a value read back from a file is what ``activity_rows`` makes."""
    if value == ODD:
        return True
    if not isinstance(value, dict) or set(value) != {"columns"} or type(value["columns"]) is not list:
        return False
    columns = value["columns"]
    if len(columns) != ACTIVITY_FIELDS or set(map(type, columns)) - {list} or len(set(map(len, columns))) > 1:
        return False
    ats, texts, actors, actions, targets, named = columns
    return (
        not set(map(type, ats)) - {int}
        and not set(map(type, chain(texts, actors, actions, targets))) - {str}
        and not set(map(type, named)) - {str, type(None)}
    )
