"""The merge laws on generated histories of three laptops: idempotent, commutative, associative, lossless."""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citizen.services import import_protocol
from citizen.services.demo import DEMO_FILE, studies_folder
from citizen.services.merge import MERGE_ACTIONS, canonical_digest, canonical_form, merge_bundle

from .support.bundles import LAPTOPS, laptop_folder, random_activity, snapshot, study_of

PROTOCOL = studies_folder() / DEMO_FILE


def _laptops(tmp: Path, seeds: tuple[int, int, int], base_steps: int, steps: tuple[int, int, int], independent: bool):
    """Three laptops on one study: the same protocol file, a shared start, then each on its own."""
    folders = [laptop_folder(tmp / f"laptop-{i}", LAPTOPS[i]) for i in range(3)]
    first = import_protocol(folders[0], PROTOCOL, "Amina Yusuf")
    random_activity(first, random.Random(seeds[0] * 7 + 1), base_steps, "Amina Yusuf")
    base = snapshot(first)
    for folder in folders[1:]:
        if independent:  # each laptop imported the protocol file itself before the first exchange
            import_protocol(folder, PROTOCOL, "Amina Yusuf")
        merge_bundle(folder, base, "Amina Yusuf")
    for i, folder in enumerate(folders):
        random_activity(study_of(folder), random.Random(seeds[i]), steps[i], f"reviewer {i}")
    return folders


def _merged(tmp: Path, name: str, bundles) -> str:
    with laptop_folder(tmp / name, "HJ") as coordinator:
        for bundle in bundles:
            merge_bundle(coordinator, bundle, "coordinator")
        return canonical_digest(study_of(coordinator))


# MERGE_EXAMPLES=200 for a longer hunt; the suite runs a quick dozen.
EXAMPLES = int(os.environ.get("MERGE_EXAMPLES", "12"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seeds=st.tuples(st.integers(0, 10_000), st.integers(0, 10_000), st.integers(0, 10_000)),
    base_steps=st.integers(0, 12),
    steps=st.tuples(st.integers(0, 14), st.integers(0, 14), st.integers(0, 14)),
    independent=st.booleans(),
)
def test_any_order_of_three_laptops_gives_the_same_study(seeds, base_steps, steps, independent):
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        folders = _laptops(tmp, seeds, base_steps, steps, independent)
        try:
            b = [snapshot(study_of(f)) for f in folders]

            # Commutative: a coordinator's laptop merging the three bundles in any order.
            orders = [(0, 1, 2), (2, 1, 0), (1, 2, 0)]
            digests = {_merged(tmp, f"coord-{''.join(map(str, o))}", [b[i] for i in o]) for o in orders}
            assert len(digests) == 1

            # Associative: laptop 0 takes in 1 then 2; laptop 2 takes in (1 merged with 0) as one bundle.
            merge_bundle(folders[0], b[1], "reviewer 0")
            merge_bundle(folders[0], b[2], "reviewer 0")
            merge_bundle(folders[1], b[0], "reviewer 1")
            merge_bundle(folders[2], snapshot(study_of(folders[1])), "reviewer 2")
            assert canonical_digest(study_of(folders[0])) in digests
            assert canonical_digest(study_of(folders[2])) in digests

            # Idempotent: the same bundle again changes nothing, not even the journal.
            study0 = study_of(folders[0])
            journal = study0.store.journal.path.read_bytes()
            again = merge_bundle(folders[0], b[2], "reviewer 0")
            assert again.nothing_to_merge
            assert study0.store.journal.path.read_bytes() == journal
            assert canonical_digest(study0) in digests

            # Loses nothing: every record, consent event, review note, feedback and proposal note is there.
            final = canonical_form(study0)
            by_id = {
                name: {str(d.get("id", d.get("number", d.get("participant_id")))): d for d in docs}
                for name, docs in final.items()
            }
            for bundle in b:
                for name, docs in bundle.records.items():
                    for doc in docs:
                        if name == "audit" and doc["action"] in MERGE_ACTIONS:
                            continue
                        ident = str(doc.get("id", doc.get("number", doc.get("participant_id"))))
                        assert ident in by_id[name], (name, ident)
                for doc in bundle.records["contributions"]:
                    kept = by_id["contributions"][doc["id"]]
                    if kept["removed_at"]:
                        continue  # withdrawn with removal: the tombstone is what must remain
                    for note in doc["reviews"]:
                        assert note in kept["reviews"]
                    for fb in doc["feedback"]:
                        assert fb in kept["feedback"]
                for doc in bundle.records["proposals"]:
                    for note in doc["notes"]:
                        assert note in by_id["proposals"][doc["id"]]["notes"]
            # Participant codes stay unique.
            codes = [p["code"] for p in final["participants"]]
            assert len(codes) == len(set(codes))
            # Each conflict a merge resolved left its losing value in the audit log.
            audit = [d for d in study0.store.table("audit") if d["action"] == "merge conflict"]
            lost = [(d["details"]["record"], d["details"]["field"]) for d in audit]
            assert len(lost) == len(audit)
        finally:
            for f in folders:
                f.close()
