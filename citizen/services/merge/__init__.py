"""Several laptops, one study: merging another laptop's copy of a study into this one.

A bundle (``citizen.export.bundle`` reads and writes the file) carries every record of a study. The
merge is a join: idempotent (the same bundle twice changes nothing), commutative and associative
(any order of laptops gives the same study), and it loses nothing:

- records are identified by their ``id`` (protocol versions by number, contacts by participant);
  a record only one side has is added;
- append-only logs (consent events, audit events) are unioned;
- lists that grow on several laptops (review notes, feedback, proposal notes) are unioned and
  sorted by (time, content); a contribution's review state follows its latest review note (a
  correction, which resets the review, counts first: the side with more corrections decides);
- a withdrawal with removal wins over everything (its tombstone stays a tombstone; what another
  laptop still holds of that person's words is removed too, ``removal.py``), an invite once
  closed stays closed and its use count is the number of people who enrolled through it;
- a proposal decided on two laptops keeps the first decision (time, then content); a contribution
  corrected on two laptops keeps the version with more corrections (then a fixed order);
- a value that loses is written to the audit log ("merge conflict", with the kept and the lost value).

Row numbers are local to each laptop: records are matched by identity, new ones appended, changed
ones replaced in place. ``canonical_form`` is the order-free content used to compare two laptops.
Contacts travel in the bundle: the coordinator's laptop needs them to reach people who asked to be
contacted; they stay out of every default export as before. Drafts stay on their laptop.
"""

from .bundle import (
    BUNDLE_TABLES,
    MERGE_ACTIONS,
    MERGE_ACTOR,
    MODELS,
    Bundle,
    BundleRefused,
    bundle_records,
    canonical_digest,
    canonical_form,
    check_bundle,
    key_of,
    paused_gc,
)
from .joins import JOINS, reassigned_code
from .planning import plan_existing, plan_merge
from .report import Conflict, MergePlan, MergeReport
from .streaming import BundleSource, merge_stream, plan_stream
from .writing import clear_unfinished_imports, conflict_events, merge_bundle

__all__ = [
    "BUNDLE_TABLES",
    "JOINS",
    "MERGE_ACTIONS",
    "MERGE_ACTOR",
    "MODELS",
    "Bundle",
    "BundleSource",
    "BundleRefused",
    "Conflict",
    "MergePlan",
    "MergeReport",
    "bundle_records",
    "canonical_digest",
    "canonical_form",
    "check_bundle",
    "clear_unfinished_imports",
    "conflict_events",
    "key_of",
    "merge_bundle",
    "merge_stream",
    "paused_gc",
    "plan_existing",
    "plan_merge",
    "plan_stream",
    "reassigned_code",
]
