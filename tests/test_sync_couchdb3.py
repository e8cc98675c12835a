"""CouchDB 3's answers (see tests/support/couchdb3.py): string sequences sent back exactly, _bulk_get errors,
the winner first, possible_ancestors, no _bulk_get on an old server, checkpoints never trusted
from another server."""

from __future__ import annotations

import random

import pytest

from citizen.domain.models import ReviewState
from citizen.services import review_contributions

from .support.bundles import laptop_folder, random_activity, study_of
from .support.couchdb3 import CouchDB3, seq_text
from .support.sync import clone, differences, started, sync


@pytest.fixture(params=[False, True], ids=["couchdb3", "couchdb1-no-bulk-get"])
def couch(request):
    server = CouchDB3(old=request.param).start()
    yield server
    server.stop()


def test_a_study_goes_up_and_comes_down_in_couchdb_shapes(tmp_path, demo_file, couch):
    a = started(tmp_path, demo_file)
    pushed = sync(a, couch.url, batch=8)
    assert pushed.pushed == sum(len(v) for v in couch.docs.values())
    b = laptop_folder(tmp_path / "b", "DE")
    got = clone(b, couch.url, batch=8)
    assert got.pulled == pushed.pushed
    assert differences(a, b) == []
    # Every since sent back was "0" or a sequence exactly as the server gave it (else it answers 400).
    assert couch.sinces[0] == "0" and len(couch.sinces) > 3
    assert all(s == "0" or s.split("-", 1)[1].startswith("g1AAAA") for s in couch.sinces)
    assert (couch.open_revs_asked > 0) == couch.old and (couch.bulk_get_asked > 0) != couch.old
    again = sync(b, couch.url)
    assert (again.pushed, again.pulled) == (0, 0)


def test_a_conflict_in_couchdb_shapes_is_settled(tmp_path, demo_file, couch):
    a = started(tmp_path, demo_file)
    b = laptop_folder(tmp_path / "b", "DE")
    sync(a, couch.url)
    clone(b, couch.url)
    target = next(d for d in study_of(a).repo.contribution_docs() if not d.get("removed_at"))["id"]
    review_contributions(study_of(a), [target], ReviewState.accepted, "fine", "Amina Yusuf")
    review_contributions(study_of(b), [target], ReviewState.needs_attention, "which street?", "Li Wei")
    sync(a, couch.url, "push")
    sync(b, couch.url, "push")
    assert (
        len([r for r in couch.leaves(f"contribution:{target}") if not couch.docs[f"contribution:{target}"][r].get("_deleted")])
        == 2
    )
    sync(a, couch.url)
    sync(b, couch.url)
    leaves = couch.leaves(f"contribution:{target}")
    live = [r for r in leaves if not couch.docs[f"contribution:{target}"][r].get("_deleted")]
    assert len(live) == 1
    assert differences(a, b) == []


def test_a_checkpoint_from_another_server_is_never_trusted(tmp_path, demo_file, couch):
    a = started(tmp_path, demo_file)
    sync(a, couch.url)
    b = laptop_folder(tmp_path / "b", "DE")
    clone(b, couch.url)
    random_activity(study_of(a), random.Random(2), 6, "Amina Yusuf")
    sync(a, couch.url)
    couch.sinces.clear()
    sync(b, couch.url)
    assert couch.sinces[0] != "0"  # resumed from the checkpoint both sides recorded
    couch.local.clear()  # the server lost its checkpoints (a restore, another server at that address)
    couch.sinces.clear()
    sync(b, couch.url)
    assert couch.sinces[0] == "0"
    for doc in list(couch.local.values()):  # a checkpoint of a session this laptop never had
        doc["session_id"], doc["history"] = "someone-else", []
    couch.sinces.clear()
    sync(b, couch.url)
    assert couch.sinces[0] == "0"
    assert seq_text(1) != seq_text(2)
    assert differences(a, b) == []
