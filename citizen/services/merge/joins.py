"""Joins of two copies of one record: each is idempotent, commutative and associative, and loses nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, Optional

from ...domain.base import CODE_ALPHABET
from ...domain.models import (
    UNLINKED,
    canonical_json,
)
from .bundle import as_time, key_of
from .report import Conflict


# -- joins of two copies of one record --------------------------------------------------------------
def _item_key(item: dict) -> Any:
    try:
        return tuple(sorted(item.items()))  # notes hold plain strings: a cheap, exact identity
    except TypeError:
        return canonical_json(item)


def _union_sorted(a: list[dict], b: list[dict], time_key: str = "at") -> list[dict]:
    """Both lists joined, each item once, in (time, content) order."""
    if a == b or not b:
        return a
    if not a:
        return b
    seen: dict[Any, dict] = {}
    for item in [*a, *b]:
        seen.setdefault(_item_key(item), item)
    return [seen[k] for k in sorted(seen, key=lambda k: (as_time(seen[k].get(time_key)), canonical_json(seen[k])))]


def _immutable(table: str) -> Callable[[dict, dict], tuple[dict, list[Conflict]]]:
    def join(a: dict, b: dict) -> tuple[dict, list[Conflict]]:
        if a == b:
            return a, []
        ka, kb = canonical_json(a), canonical_json(b)
        win, lose = (a, b) if ka >= kb else (b, a)
        return win, [Conflict(table, str(a.get(key_of(table))), "record", win, lose, "copies differ; a fixed order decides")]

    return join


# A participant received from a hub comes without their private link token (it never leaves the
# laptop where they enrolled); the laptop gives them one nobody holds, marked so a real one wins.


def _linked(a: dict, b: dict) -> tuple[dict, dict]:
    ta, tb = a.get("token", ""), b.get("token", "")
    if ta == tb:
        return a, b
    if ta.startswith(UNLINKED) and tb.startswith(UNLINKED):
        return dict(a, token=max(ta, tb)), dict(b, token=max(ta, tb))
    if ta.startswith(UNLINKED):
        return dict(a, token=tb), b
    if tb.startswith(UNLINKED):
        return a, dict(b, token=ta)
    return a, b


def _join_participant(a: dict, b: dict) -> tuple[dict, list[Conflict]]:
    if a == b:
        return a, []
    a, b = _linked(a, b)
    # A code given anew to settle a clash (it starts with Z, which no laptop id has) wins over the old one.
    ka = (a["code"].startswith(REASSIGNED), canonical_json(a))
    kb = (b["code"].startswith(REASSIGNED), canonical_json(b))
    win, lose = (a, b) if ka >= kb else (b, a)
    if {k: v for k, v in win.items() if k != "code"} == {k: v for k, v in lose.items() if k != "code"}:
        return win, []
    return win, [Conflict("participants", a["id"], "record", win, lose, "copies differ; a fixed order decides")]


def _blank_contact(doc: dict) -> bool:
    return not (doc.get("name") or doc.get("phone") or doc.get("email"))


def _contact_rank(doc: dict) -> tuple:
    # A withdrawal deletes the details without a time: that always wins. Otherwise the latest change
    # the participant made (given, changed, removed) wins; a record without a time is the oldest.
    blank = _blank_contact(doc)
    return (blank and not doc.get("changed_at"), as_time(doc.get("changed_at")), blank, canonical_json(doc))


def join_contact(a: dict, b: dict) -> tuple[dict, list[Conflict]]:
    if a == b:
        return a, []
    win, lose = (a, b) if _contact_rank(a) >= _contact_rank(b) else (b, a)
    if _contact_rank(win)[:3] != _contact_rank(lose)[:3]:
        return win, []
    return win, [
        Conflict(
            "contacts",
            a["participant_id"],
            "contact",
            "(kept)",
            "(other details)",
            "contact details differ; a fixed order decides",
        )
    ]


def join_contribution(a: dict, b: dict, corrected_at: Optional[dict[str, datetime]] = None) -> tuple[dict, list[Conflict]]:
    if a == b:
        return a, []
    cid = a["id"]
    ra, rb = a.get("removed_at"), b.get("removed_at")
    if ra or rb:
        # The participant asked for removal: the tombstone stays, whatever the other copy holds.
        if ra and rb:
            return min((a, b), key=lambda d: (as_time(d["removed_at"]), canonical_json(d))), []
        return (a if ra else b), []
    conflicts: list[Conflict] = []
    same_answers = a["values"] == b["values"] and a["history"] == b["history"]
    if same_answers:
        win, lose = a, b
    else:  # the history is part of the key: its times differ between laptops that corrected apart
        ka = (len(a["history"]), canonical_json(a["values"]), canonical_json(a["history"]))
        kb = (len(b["history"]), canonical_json(b["values"]), canonical_json(b["history"]))
        win, lose = (a, b) if ka >= kb else (b, a)
    if a["values"] != b["values"] and not any(h["values"] == lose["values"] for h in win["history"]):
        conflicts.append(
            Conflict(
                "contributions",
                cid,
                "values",
                win["values"],
                lose["values"],
                "corrected on two laptops; the one with more corrections, then a fixed order, stays",
            )
        )
    reviews = _union_sorted(a["reviews"], b["reviews"])
    feedback = _union_sorted(a["feedback"], b["feedback"])
    replies = _union_sorted(a.get("replies", []), b.get("replies", []))
    sa, sb = a["review_state"], b["review_state"]
    # The state follows the latest review note made after the latest correction (a correction,
    # found in the joined activity log, sends the contribution back to "received").
    last_correction = (corrected_at or {}).get(cid)
    after = [r for r in reviews if last_correction is None or as_time(r["at"]) > last_correction]
    state = after[-1]["state"] if after else ("received" if last_correction or not reviews else reviews[-1]["state"])
    if sa != sb:
        ca = {canonical_json(r) for r in a["reviews"]}
        cb = {canonical_json(r) for r in b["reviews"]}
        if (ca - cb) and (cb - ca):  # both laptops reviewed it: a real conflict
            conflicts.append(
                Conflict(
                    "contributions",
                    cid,
                    "review_state",
                    state,
                    sb if state == sa else sa,
                    "reviewed on two laptops; the latest review note decides",
                )
            )
    doc = dict(win, reviews=reviews, feedback=feedback, review_state=state)
    corrected = [d["corrected_at"] for d in (a, b) if d.get("corrected_at")]
    if same_answers and corrected:  # the same correction made on two laptops: it was first made at the earlier time
        doc["corrected_at"] = min(corrected, key=as_time)
    if replies:  # a contributor's replies from either laptop (documents from before replies have none)
        doc["replies"] = replies
    return doc, conflicts


def _join_proposal(a: dict, b: dict) -> tuple[dict, list[Conflict]]:
    if a == b:
        return a, []
    conflicts: list[Conflict] = []
    notes = _union_sorted(a["notes"], b["notes"])
    decided = [d for d in (a, b) if d["status"] != "open"]
    base = max((a, b), key=canonical_json)
    decision_fields = ("status", "decision_reason", "decided_by", "decided_at")
    if decided:
        first = min(decided, key=lambda d: (as_time(d["decided_at"]), canonical_json([d[f] for f in decision_fields])))
        decision = {f: first[f] for f in decision_fields}
        if len(decided) == 2 and a["status"] != "open" and [a[f] for f in decision_fields] != [b[f] for f in decision_fields]:
            other = b if first is a else a
            conflicts.append(
                Conflict(
                    "proposals",
                    a["id"],
                    "decision",
                    decision,
                    {f: other[f] for f in decision_fields},
                    "decided on two laptops; the first decision stands",
                )
            )
    else:
        decision = {f: base[f] for f in decision_fields}
    versions = [v for v in (a.get("protocol_version"), b.get("protocol_version")) if v is not None]
    doc = dict(base, notes=notes, protocol_version=max(versions) if versions else None, **decision)
    return doc, conflicts


JOINS: dict[str, Callable[[dict, dict], tuple[dict, list[Conflict]]]] = {
    "participants": _join_participant,
    "contacts": join_contact,
    "contributions": join_contribution,
    "proposals": _join_proposal,
    "consent_events": _immutable("consent_events"),
    "updates": _immutable("updates"),
    "audit": _immutable("audit"),
}

REASSIGNED = "Z"  # first letter of a code given anew after a clash: never the first letter of a laptop id


def reassigned_code(participant_id: str) -> str:
    """The code a participant gets when their code clashed: a pure function of their id."""
    digest = hashlib.sha256(participant_id.encode()).digest()
    chars = [CODE_ALPHABET[b % len(CODE_ALPHABET)] for b in digest[:5]]
    return f"{REASSIGNED}{chars[0]}-{''.join(chars[1:])}"
