"""A study as CouchDB documents: one document per record, ids stable across laptops.

The mapping is documented for other tools in docs/sync.md; in short::

    _id                       record                  changes?
    study                     the study record        yes (status)
    protocol:<number>         a protocol version      no (published versions are never edited)
    invite:<uuid>             an invite               yes (uses, closed); its token only sealed
    participant:<uuid>        a participant           yes (code after a clash); no private token
    contact:<participant id>  contact details         yes (blanked on removal); only when asked
    consent:<uuid>            a consent event         never (append-only log)
    contribution:<uuid>       a contribution          yes (reviews, feedback, replies, corrections, removal)
    proposal:<uuid>           a proposal              yes (notes, decision)
    update:<uuid>             an update               never
    audit:<uuid>              an activity log entry   never

A document is the record's own fields, as the store keeps them, plus ``type`` (the table's name in
the singular, as in the id) and ``schema`` (this mapping's version).

Revision ids are a pure function of the parent revision and the content, so two laptops that write
the same content onto the same parent write the same revision, and the hub holds it once.
"""

from __future__ import annotations

import hashlib
from typing import Any, Optional

from ..domain.models import canonical_json, stored_invite

SCHEMA = 1

# table -> document type; the order is the order of a push (the study first, logs last).
TYPES: dict[str, str] = {
    "study": "study",
    "protocol_versions": "protocol",
    "invites": "invite",
    "participants": "participant",
    "contacts": "contact",
    "consent_events": "consent",
    "contributions": "contribution",
    "proposals": "proposal",
    "updates": "update",
    "audit": "audit",
}
TABLES = {t: table for table, t in TYPES.items()}
KEYS = {
    "study": "id",
    "protocol_versions": "number",
    "invites": "id",
    "participants": "id",
    "contacts": "participant_id",
    "consent_events": "id",
    "contributions": "id",
    "proposals": "id",
    "updates": "id",
    "audit": "id",
}
# What never leaves the laptop inside a record that does: the participant's private link token
# (raw on this laptop; whoever holds it can act as the participant).
WITHHELD = {"participants": ("token",)}
# Activity log entries about this laptop's own syncs: its local history, never sent.
LOCAL_ACTIONS = frozenset({"study synced", "study cloned from hub"})
RESERVED = ("type", "schema")


class NotARecord(ValueError):
    """A document on the hub that does not follow the mapping."""


def doc_id(table: str, record: dict[str, Any]) -> str:
    if table == "study":
        return "study"
    return f"{TYPES[table]}:{record[KEYS[table]]}"


def table_of(document_id: str) -> Optional[str]:
    """The table a document id belongs to, or None for documents that are not records."""
    if document_id == "study":
        return "study"
    kind, sep, rest = document_id.partition(":")
    if not sep or not rest:
        return None
    return TABLES.get(kind) if kind != "study" else None


def travels(table: str, record: dict[str, Any], include_contacts: bool) -> bool:
    """Whether a record goes to the hub at all."""
    if table == "contacts":
        return include_contacts
    if table == "audit":
        return record.get("action") not in LOCAL_ACTIONS
    return table in TYPES


def to_body(table: str, record: dict[str, Any]) -> dict[str, Any]:
    """The document's content (without _id and _rev) for a record."""
    body = {k: v for k, v in record.items() if k not in WITHHELD.get(table, ())}
    body["type"] = TYPES[table]
    body["schema"] = SCHEMA
    return body


def from_doc(doc: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The table and record a (non-deleted) document holds; NotARecord when it follows no mapping."""
    ident = doc.get("_id")
    if not isinstance(ident, str):
        raise NotARecord("it has no id")
    table = table_of(ident)
    if table is None:
        raise NotARecord(f"'{ident[:80]}' is not an id of the mapping")
    if doc.get("type") != TYPES[table]:
        raise NotARecord(f"'{ident[:80]}' says it is a {str(doc.get('type'))[:30]}, not a {TYPES[table]}")
    schema = doc.get("schema")
    if not isinstance(schema, int) or schema < 1:
        raise NotARecord(f"'{ident[:80]}' has no schema version")
    if schema > SCHEMA:
        raise NotARecord(f"'{ident[:80]}' was written by a newer citizen (mapping schema {schema}); update citizen")
    record = {k: v for k, v in doc.items() if not k.startswith("_") and k not in RESERVED}
    if table != "study" and (KEYS[table] not in record or doc_id(table, record) != ident):
        raise NotARecord(f"'{ident[:80]}' does not match the record it holds")
    if table == "invites":  # an older laptop sent its invite's token as it is: only the fingerprint is kept
        record = stored_invite(record)
    return table, record


def typed_numbers(table: str, record: dict[str, Any]) -> dict[str, Any]:
    """A protocol version's bounds as the floats citizen wrote (a JavaScript hub gives 300.0 back
    as 300); every other record as it is (a contribution's decimals need its form: see replicate)."""
    if table != "protocol_versions":
        return record
    fields = [dict(f, **{b: float(f[b]) for b in ("min", "max") if isinstance(f.get(b), int)}) for f in record.get("fields", [])]
    return dict(record, fields=fields)


# -- revisions ---------------------------------------------------------------------------------------
def digest(body: dict[str, Any]) -> str:
    """A short fingerprint of a document's content: equal content, equal digest."""
    return hashlib.md5(canonical_json(body).encode("utf-8")).hexdigest()


def generation(rev: str) -> int:
    head, _, _ = rev.partition("-")
    try:
        return int(head)
    except ValueError:
        return 0


def rev_hash(rev: str) -> str:
    return rev.partition("-")[2]


def next_rev(parent: Optional[str], content_digest: str, absorbed: tuple[str, ...] = ()) -> str:
    """The revision that puts content onto parent (and settles the conflicting leaves ``absorbed``).

    A record never changed has revision 1-<digest of its content> on every laptop.
    """
    if parent is None:
        return f"1-{content_digest}"
    seed = canonical_json([parent, sorted(absorbed), content_digest])
    return f"{generation(parent) + 1}-{hashlib.md5(seed.encode('utf-8')).hexdigest()}"


def tombstone_rev(leaf: str) -> str:
    """The revision that closes a losing leaf; the same on every laptop that settles the conflict."""
    return f"{generation(leaf) + 1}-{hashlib.md5(('deleted:' + leaf).encode('utf-8')).hexdigest()}"


def revisions(rev: str, parent: Optional[str]) -> dict[str, Any]:
    """The ``_revisions`` field a ``new_edits: false`` write carries: this revision and its parent."""
    ids = [rev_hash(rev)]
    if parent is not None and generation(parent) == generation(rev) - 1:
        ids.append(rev_hash(parent))
    return {"start": generation(rev), "ids": ids}


def winner(leaves: list[str]) -> str:
    """CouchDB's winning revision among live leaves: the highest generation, then the highest id."""
    return max(leaves, key=lambda r: (generation(r), rev_hash(r)))
