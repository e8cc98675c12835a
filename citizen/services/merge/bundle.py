"""A bundle's content, whatever file it came from: its tables, their models, and checks of its records;
the canonical form that tells whether two laptops hold the same study."""

from __future__ import annotations

import contextlib
import gc
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from typing import Any, Optional

from pydantic import ValidationError

from ...domain.base import parse_utc
from ...domain.models import (
    AuditEvent,
    ConsentEvent,
    Contact,
    Contribution,
    Invite,
    Participant,
    Proposal,
    ProtocolVersion,
    Update,
    canonical_json,
    fingerprinted,
    stored_invite,
)
from ...domain.models import Study as StudyRecord
from ...store.store import TABLES
from ..common import Refused, Study

BUNDLE_TABLES = (
    "study",
    "protocol_versions",
    "invites",
    "participants",
    "contacts",
    "consent_events",
    "contributions",
    "proposals",
    "updates",
    "audit",
)
MODELS: dict[str, Any] = {
    "study": StudyRecord,
    "protocol_versions": ProtocolVersion,
    "invites": Invite,
    "participants": Participant,
    "contacts": Contact,
    "consent_events": ConsentEvent,
    "contributions": Contribution,
    "proposals": Proposal,
    "updates": Update,
    "audit": AuditEvent,
}
# Audit events written by merges themselves: local history of how copies came together, left out
# of the canonical form (they differ with the order of merges, the study content does not).
# Syncs with a hub (citizen.sync) keep their own bookkeeping the same way.
MERGE_ACTIONS = frozenset(
    {"bundle merged", "merge conflict", "study created from bundle", "study synced", "study cloned from hub"}
)
MERGE_ACTOR = "merge"
CHUNK = 5000  # documents per journal line when a new study is built in its own folder

Progress = Optional[Callable[[int, int, str], None]]


class BundleRefused(Refused):
    """A bundle that cannot be merged here; nothing was changed."""


def _key_text(key: str, doc: dict) -> str:
    return str(doc.get(key))


def key_of(table: str) -> str:
    return TABLES[table][1]


def as_time(value: Any) -> datetime:
    """A record's time for ordering: a missing one sorts first."""
    return parse_utc(str(value)) if value else datetime.min.replace(tzinfo=timezone.utc)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Hold off the cycle collector while a bundle's many records are built (it would rescan them
    all again and again, doubling the time); the records hold no cycles, plain counting frees them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# -- the bundle's content, whatever file it came from ---------------------------------------------
@dataclass
class Bundle:
    study_id: str
    laptop: str
    created_at: str
    records: dict[str, list[dict[str, Any]]]

    def count(self, table: str) -> int:
        return len(self.records.get(table, ()))


def bundle_records(study: Study) -> dict[str, Iterator[dict[str, Any]]]:
    """Every record a bundle carries, table by table, as the store keeps them (links as fingerprints
    only, invite links sealed, even from a folder not converted yet)."""
    records: dict[str, Iterator[dict[str, Any]]] = {
        name: (doc for _, doc in study.store.table(name).stream()) for name in BUNDLE_TABLES
    }
    records["participants"] = (fingerprinted(doc) for _, doc in study.store.table("participants").stream())
    records["invites"] = (stored_invite(doc) for _, doc in study.store.table("invites").stream())
    return records


def canonical_form(study: Study) -> dict[str, list[dict[str, Any]]]:
    """The study's content without row numbers: records sorted by identity, merge bookkeeping left out.

    Two laptops hold the same study exactly when their canonical forms are equal.
    """
    form: dict[str, list[dict[str, Any]]] = {}
    for name in BUNDLE_TABLES:
        docs = [d for d in study.store.table(name) if not (name == "audit" and d.get("action") in MERGE_ACTIONS)]
        form[name] = sorted(docs, key=partial(_key_text, key_of(name)))
    return form


def canonical_digest(study: Study) -> str:
    return hashlib.sha256(canonical_json(canonical_form(study)).encode("utf-8")).hexdigest()


# -- reading and checking the bundle's records -----------------------------------------------------
def check_bundle(bundle: Bundle) -> Bundle:
    """Validate every record through its model; a record that is not ours refuses the whole bundle."""
    clean: dict[str, list[dict[str, Any]]] = {}
    for name in BUNDLE_TABLES:
        model = MODELS[name]
        docs = []
        for i, doc in enumerate(bundle.records.get(name, [])):
            try:
                model.model_validate(doc)
                docs.append(doc)  # kept as written: the copy on every laptop stays byte for byte the same
            except (ValidationError, TypeError, ValueError) as exc:
                raise BundleRefused(
                    f"The bundle holds a record that is not valid ({name} {i + 1}: "
                    f"{str(exc).splitlines()[0]}); nothing was changed."
                ) from None
        clean[name] = docs
    unknown = set(bundle.records) - set(BUNDLE_TABLES)
    if unknown:
        raise BundleRefused(
            f"The bundle holds tables this citizen does not know ({', '.join(sorted(unknown))}); "
            "update citizen. Nothing was changed."
        )
    if len(clean["study"]) != 1 or clean["study"][0]["id"] != bundle.study_id:
        raise BundleRefused("The bundle's study record is missing or does not match its header; nothing was changed.")
    numbers = sorted(d["number"] for d in clean["protocol_versions"])
    if numbers != list(range(1, len(numbers) + 1)):
        raise BundleRefused("The bundle's protocol versions are not numbered 1, 2, 3 ...; nothing was changed.")
    return Bundle(bundle.study_id, bundle.laptop, bundle.created_at, clean)
