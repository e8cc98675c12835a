"""Laptops syncing one study through a hub (PouchDB Server): clone, sync twice, conflicts, contacts."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citizen.domain.models import ReviewState
from citizen.export.bundle import export_bundle, read_bundle
from citizen.services import review_contributions
from citizen.services.merge import merge_bundle

from .support.bundles import STUDY, laptop_folder, random_activity, study_of
from .support.hub import get
from .support.sync import clone, content, differences, hub_rows, local_revs, started, sync


def with_clone(tmp_path, demo_file, hub_db, seed: int, steps: int = 25):
    """Laptop AC pushed the study; laptop DE cloned it, then worked on its own."""
    a = started(tmp_path, demo_file, steps=steps)
    b = laptop_folder(tmp_path / "b", "DE")
    sync(a, hub_db)
    clone(b, hub_db)
    random_activity(study_of(b), random.Random(seed), 10, "Li Wei")
    return a, b


def test_a_pushed_study_cloned_onto_an_empty_laptop_is_the_same_study(tmp_path, demo_file, hub_db):
    a = started(tmp_path, demo_file)
    report = sync(a, hub_db)
    assert report.pushed > 20 and report.pulled == 0 and report.conflicts == 0
    b = laptop_folder(tmp_path / "b", "DE")
    cloned = clone(b, hub_db)
    assert cloned.pulled == report.pushed
    assert differences(b, a) == []
    # The hub holds one document per record, by the documented mapping, and nothing private.
    docs = {i: r["doc"] for i, r in hub_rows(hub_db).items()}
    people = study_of(a).repo.participants()
    assert {f"participant:{p.id}" for p in people} <= set(docs)
    assert all("token" not in d for i, d in docs.items() if i.startswith("participant:"))
    assert not [i for i in docs if i.startswith("contact:")]
    assert all(p.token not in str(docs) for p in people)
    assert docs["study"]["type"] == "study" and docs["study"]["schema"] == 1 and docs["study"]["id"] == STUDY
    assert not [d for d in docs.values() if d.get("action") == "study synced"]
    # The people received have a link nobody holds; the laptop where they enrolled keeps theirs.
    assert all(p.token.startswith("unlinked-") for p in study_of(b).repo.participants())
    assert study_of(b).repo.contact(people[-1].id) is None
    a.close()
    b.close()


def test_sync_twice_changes_nothing_on_either_side(tmp_path, demo_file, hub_db):
    a, b = with_clone(tmp_path, demo_file, hub_db, 5)
    for _ in range(2):  # a round for the news, a round for any conflict settled on the way
        sync(b, hub_db)
        sync(a, hub_db)
    seq = get(hub_db)["update_seq"]
    journals = [study_of(f).store.journal.path.read_bytes() for f in (a, b)]
    for f in (a, b):
        again = sync(f, hub_db)
        assert (again.pushed, again.pulled, again.conflicts) == (0, 0, 0)
    assert get(hub_db)["update_seq"] == seq
    assert [study_of(f).store.journal.path.read_bytes() for f in (a, b)] == journals
    assert differences(a, b) == []
    a.close()
    b.close()


def test_contact_details_travel_only_when_asked(tmp_path, demo_file, hub_db):
    a = started(tmp_path, demo_file)
    sync(a, hub_db)
    assert not [i for i in hub_rows(hub_db) if i.startswith("contact:")]
    sync(a, hub_db, contacts=True)
    on_hub = sorted(r["doc"]["phone"] for i, r in hub_rows(hub_db).items() if i.startswith("contact:"))
    kept = sorted(c["phone"] for c in study_of(a).store.table("contacts"))
    assert "0700 111" in on_hub and on_hub == kept
    b = laptop_folder(tmp_path / "b", "DE")
    clone(b, hub_db)
    assert not list(study_of(b).store.table("contacts"))
    sync(b, hub_db, contacts=True)
    assert sorted(c["phone"] for c in study_of(b).store.table("contacts")) == kept
    assert differences(a, b, contacts=True) == []
    a.close()
    b.close()


def _two_reviews(tmp_path, demo_file, hub_db):
    a, b = with_clone(tmp_path, demo_file, hub_db, 3, steps=30)
    target = next(d for d in study_of(a).repo.contribution_docs() if not d.get("removed_at"))["id"]
    review_contributions(study_of(a), [target], ReviewState.accepted, "fine", "Amina Yusuf")
    review_contributions(study_of(b), [target], ReviewState.rejected, "blurred photo", "Li Wei")
    sync(a, hub_db, "push")
    sync(b, hub_db, "push")
    row = get(f"{hub_db}/contribution:{target}?conflicts=true")
    assert len(row.get("_conflicts", [])) == 1  # the hub holds the two laptops' revisions
    return a, b, target


def test_a_conflict_converges_and_keeps_the_losing_value(tmp_path, demo_file, hub_db):
    a, b, target = _two_reviews(tmp_path, demo_file, hub_db)
    first = sync(a, hub_db)
    assert first.conflicts >= 1
    sync(b, hub_db)
    sync(a, hub_db)
    assert differences(a, b) == []
    doc = get(f"{hub_db}/contribution:{target}?conflicts=true")
    assert "_conflicts" not in doc
    assert {r["note"] for r in doc["reviews"]} >= {"fine", "blurred photo"}
    assert local_revs(a)[f"contribution:{target}"] == local_revs(b)[f"contribution:{target}"] == doc["_rev"]
    lost = [e for e in study_of(a).repo.audit() if e.action == "merge conflict" and target in e.target]
    assert lost and lost[0].details["lost"]


def test_two_laptops_settling_one_conflict_write_the_same_revision(tmp_path, demo_file, hub_db):
    a, b, target = _two_reviews(tmp_path, demo_file, hub_db)
    sync(a, hub_db, "pull")  # both see the conflict before either settles it
    sync(b, hub_db, "pull")
    seq = get(hub_db)["update_seq"]
    sync(a, hub_db, "push")
    after_a = get(hub_db)["update_seq"]
    settled = get(f"{hub_db}/contribution:{target}?conflicts=true")
    assert after_a != seq and "_conflicts" not in settled
    sync(b, hub_db, "push")
    # B's settlement was already there, revision for revision: B sent only its own activity log
    # entry about the conflict.
    news = get(f"{hub_db}/_changes?since={after_a}&include_docs=true")["results"]
    assert {r["doc"].get("action") for r in news} == {"merge conflict"}
    assert get(f"{hub_db}/contribution:{target}?conflicts=true") == settled
    sync(a, hub_db)
    sync(b, hub_db)
    assert differences(a, b) == []


def test_laptops_that_met_by_bundle_and_by_sync_end_identical(tmp_path, demo_file, hub_db):
    a, b = with_clone(tmp_path, demo_file, hub_db, 9)
    export_bundle(study_of(b), tmp_path / "b.citizen-bundle")
    merge_bundle(a, read_bundle(tmp_path / "b.citizen-bundle"), "Amina Yusuf")
    # A's participants keep the links they hold (B's copies have none that anyone holds).
    assert not [p for p in study_of(a).repo.participants() if p.token.startswith("unlinked-") and p.laptop == "AC"]
    sync(a, hub_db)
    sync(b, hub_db)
    sync(a, hub_db)
    assert differences(a, b) == []


# SYNC_EXAMPLES=50 for a longer hunt; the suite runs a quick few.
EXAMPLES = int(__import__("os").environ.get("SYNC_EXAMPLES", "4"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    seeds=st.lists(st.integers(0, 10_000), min_size=3, max_size=3),
    order=st.lists(st.integers(0, 2), min_size=2, max_size=7),
    directions=st.lists(st.sampled_from(["both", "both", "pull", "push"]), min_size=7, max_size=7),
    three=st.booleans(),
)
def test_laptops_syncing_in_any_order_end_with_the_same_study(hub_server, demo_file, seeds, order, directions, three):
    url = hub_server.new_db()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        first = started(tmp, demo_file, steps=8, seed=seeds[0])
        sync(first, url)
        folders = [first]
        for i in range(1, 3 if three else 2):
            folder = laptop_folder(tmp / f"l{i}", ("DE", "FG")[i - 1])
            clone(folder, url)
            folders.append(folder)
        for step, who in enumerate(order):
            who %= len(folders)
            random_activity(study_of(folders[who]), random.Random(seeds[who] + step), 4, f"reviewer {who}")
            sync(folders[who], url, directions[step])
        for _ in range(2):  # everyone syncs until nothing is news
            for folder in folders:
                sync(folder, url)
        final = {content(f) for f in folders}
        assert len(final) == 1
        for folder in folders:
            assert sync(folder, url).pushed == 0
        docs = get(url + "/_all_docs")["total_rows"]
        assert docs == sum(1 for _ in hub_rows(url))
        for folder in folders:
            folder.close()
