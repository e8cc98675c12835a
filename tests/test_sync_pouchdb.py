"""Interoperability: PouchDB's own replicator finds exactly what citizen pushed, and a change that
another client writes by the documented mapping arrives in citizen."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid

from .support.bundles import study_of
from .support.commands import ROOT
from .support.hub import all_docs
from .support.sync import local_revs, started, sync

CLIENT = ROOT / "tests" / "support" / "pouchdb_client.js"


def pouchdb(*args: str) -> str:
    done = subprocess.run(
        [shutil.which("node") or "node", str(CLIENT), *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_pouchdb_replicates_exactly_what_citizen_pushed(tmp_path, demo_file, hub_db):
    a = started(tmp_path, demo_file)
    sync(a, hub_db)
    copy = json.loads(pouchdb("pull", hub_db))
    assert {i: d["rev"] for i, d in copy.items()} == local_revs(a)
    assert {i: d["_rev"] for i, d in all_docs(hub_db).items()} == local_revs(a)
    assert not [i for i, d in copy.items() if d["conflicts"]]
    a.close()


def test_a_change_written_by_another_client_arrives_in_citizen(tmp_path, demo_file, hub_db):
    a = started(tmp_path, demo_file)
    sync(a, hub_db)
    target = next(d for d in study_of(a).repo.contribution_docs() if not d.get("removed_at"))
    update_id = str(uuid.uuid4())
    note = {"state": "accepted", "note": "checked on the dashboard", "by": "Dashboard", "at": "2030-01-01T10:00:00Z"}
    changes = [
        {
            "doc": {
                "_id": f"update:{update_id}",
                "type": "update",
                "schema": 1,
                "id": update_id,
                "title": "Halfway",
                "body": {"en": "We have walked 200 km together."},
                "author": "Dashboard",
                "posted_at": "2030-01-01T10:00:00Z",
            }
        },
        {"edit": f"contribution:{target['id']}", "set": {"review_state": "accepted"}, "push": {"reviews": note}},
    ]
    pouchdb("write", hub_db, json.dumps(changes))
    report = sync(a, hub_db)
    assert (report.pulled, report.pushed) == (2, 0)  # their revision is the join: nothing to send back
    study = study_of(a)
    assert [u.title for u in study.repo.updates() if u.id == update_id] == ["Halfway"]
    got = study.repo.contribution(target["id"])
    assert got is not None and got.review_state.value == "accepted" and got.reviews[-1].note == "checked on the dashboard"
    assert sync(a, hub_db).pushed == 0
    copy = json.loads(pouchdb("pull", hub_db))
    assert not [i for i, d in copy.items() if d["conflicts"]]
    a.close()
