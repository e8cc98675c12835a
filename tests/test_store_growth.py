"""The growth shape of reads and writes: bounded segments touched, exact counts, a summary that is
only a cache. Counts of records and files are asserted here, never seconds (those are in bench/)."""

from __future__ import annotations

import json

import pytest

from citizen.domain.models import ConsentMethod, ContributionSource, ReviewState
from citizen.services import add_contribution, enrol_participant, open_study, review_contributions, withdraw
from citizen.services.demo import create_demo
from citizen.services.queries import figures, list_studies, summarise
from citizen.store import DataFolder, StudyStore, transaction
from citizen.store import store as store_module
from citizen.store.segments import SUMMARY_FILE

from .support.factories import SHORT_WALK as WALK
from .support.factories import YES_ALL


@pytest.fixture
def small_segments(monkeypatch):
    """Segments of 50 contributions and 50 audit events, so a few hundred records span many files."""
    tables = dict(store_module.TABLES)
    tables["contributions"] = (50, "id")
    tables["audit"] = (50, "id")
    monkeypatch.setattr(store_module, "TABLES", tables)


@pytest.fixture
def grown(small_segments, data_path):
    """A demo study of 600 contributions over a dozen segments, closed (everything written back)."""
    with DataFolder(data_path) as data:
        study = create_demo(data, participants=30, contributions=600, seed=5)
        study_id = study.id
    return data_path, study_id


def contribution_segments(data_path, study_id):
    return sorted((data_path / "studies" / study_id / "contributions").glob("[0-9]*.json"))


def test_an_acknowledged_add_touches_a_bounded_number_of_segments(grown):
    data_path, study_id = grown
    assert len(contribution_segments(data_path, study_id)) >= 12
    with DataFolder(data_path) as data:
        study = open_study(data, study_id)
        current = study.repo.current_protocol()
        people = [p.id for p in study.repo.participants() if study.repo.consent_state(p.id).covers(current.consent)]
        before = study.store.journal.entries
        for who in people[:5]:
            add_contribution(study, who, WALK, ContributionSource.phone, "volunteer")
        contributions, audit = study.store.table("contributions"), study.store.table("audit")
        # One journal line per add; only the newest segments were read or changed.
        assert study.store.journal.entries - before == 5
        assert len(contributions.loaded_segments()) <= 2 and len(contributions.dirty_storages()) <= 2
        assert len(audit.loaded_segments()) <= 2 and len(audit.dirty_storages()) <= 2


def test_the_studies_list_and_the_overview_count_the_same_live_contributions(grown):
    data_path, study_id = grown
    with DataFolder(data_path) as data:
        study = open_study(data, study_id)
        docs = list(study.repo.contribution_docs())
        live = sum(1 for d in docs if not d.get("removed_at"))
        removed = len(docs) - live
        assert removed > 0  # the demo has a withdrawal with removal
        [listed] = list_studies(data)
        fig = figures(study)
        assert listed.contributions == fig.contributions == live == study.repo.contribution_count()
        assert fig.removed == removed
        accepted = sum(1 for d in docs if not d.get("removed_at") and d["review_state"] == "accepted")
        assert fig.by_review["accepted"] == accepted
        assert sum(fig.by_week.values()) == live


def test_the_overview_reads_no_contribution_when_the_summary_is_current(grown):
    data_path, study_id = grown
    with DataFolder(data_path) as data:
        study = open_study(data, study_id)
        summarise(study.repo)
        fig = figures(study)
        table = study.store.table("contributions")
        # The newest segment is read to know the next row; nothing else.
        assert len(table.loaded_segments()) <= 1
        assert table.summary.rebuilt == 0
        assert fig.contributions > 500


def test_a_lost_or_unreadable_summary_is_rebuilt_from_the_segments(grown):
    data_path, study_id = grown
    summary = data_path / "studies" / study_id / "contributions" / SUMMARY_FILE
    with DataFolder(data_path) as data:
        expected = figures(open_study(data, study_id))
    segments = len(contribution_segments(data_path, study_id))
    for damage in (lambda: summary.unlink(), lambda: summary.write_text("{half")):
        damage()
        with DataFolder(data_path) as data:
            study = open_study(data, study_id)
            fig = figures(study)
            table = study.store.table("contributions")
            assert table.summary.rebuilt == segments
            assert len(table.loaded_segments()) <= 1  # counted without keeping the segments in memory
        assert (fig.contributions, fig.removed, fig.by_review, fig.by_week) == (
            expected.contributions,
            expected.removed,
            expected.by_review,
            expected.by_week,
        )
        assert json.loads(summary.read_text())["citizen-cache"] == 1
    with DataFolder(data_path) as data:
        study = open_study(data, study_id)
        figures(study)
        assert study.store.table("contributions").summary.rebuilt == 0


def test_a_segment_changed_behind_the_summary_is_counted_from_its_data(grown):
    """The summary is never trusted over the data: a segment put back from elsewhere is recounted."""
    data_path, study_id = grown
    first = contribution_segments(data_path, study_id)[0]
    raw = json.loads(first.read_text())
    rows = raw["contributions"]
    live = [k for k, d in rows.items() if not d.get("removed_at")]
    for key in live:
        rows[key]["review_state"] = "rejected"
    first.write_text(json.dumps(raw))  # as `citizen check --restore` or a copy from a backup would
    with DataFolder(data_path) as data:
        study = open_study(data, study_id)
        fig = figures(study)
        assert study.store.table("contributions").summary.rebuilt == 1
        docs = list(study.repo.contribution_docs())
        assert (
            fig.by_review["rejected"]
            == sum(1 for d in docs if not d.get("removed_at") and d["review_state"] == "rejected")
            >= len(live)
        )


def test_counts_follow_changes_before_and_after_they_are_written_back(small_segments, data, study):
    people = [enrol_participant(study, YES_ALL, ConsentMethod.phone, "volunteer") for _ in range(3)]
    made = [add_contribution(study, people[i % 3].id, WALK, ContributionSource.phone, "v") for i in range(120)]
    assert study.repo.contribution_count() == 120
    review_contributions(study, [c.id for c in made[:7]], ReviewState.accepted, "ok", "Amina Yusuf")
    assert figures(study).by_review["accepted"] == 7
    withdraw(study, people[0].id, True, ConsentMethod.phone, "participant")
    counts = study.repo.contribution_counts()
    assert counts["rows"] == 120 and counts["removed"] == 40 and counts["live"] == 80
    study.store.compact()
    assert study.repo.contribution_counts() == counts
    assert summarise(study.repo).contributions == 80


def test_consent_is_folded_again_only_when_it_changes(data, study):
    p = enrol_participant(study, YES_ALL, ConsentMethod.phone, "volunteer")
    first = study.repo.consent_state(p.id)
    assert study.repo.consent_state(p.id) is first  # cached: the events are the same
    withdraw(study, p.id, False, ConsentMethod.phone, "participant")
    state = study.repo.consent_state(p.id)
    assert state is not first and state.withdrawn and study.repo.consent_states()[p.id] is state


def test_a_bulk_batch_keeps_a_bounded_number_of_segments_in_memory(small_segments, tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "BATCH_JOURNAL_MAX_BYTES", 20_000)
    store = StudyStore(tmp_path / "s")
    with store.batch():
        for i in range(1000):
            with transaction(store) as tx:
                tx.insert(
                    "contributions", {"id": f"c{i}", "review_state": "received", "submitted_at": "2026-05-01T10:00:00+00:00"}
                )
    table = store.table("contributions")
    assert len(table.segment_numbers()) == 20
    assert len(table.loaded_segments()) <= 4  # written back segments are let go during the batch
    assert store.journal.entries < 1000  # compacted along the way
    assert table.summary.totals()["live"] == 1000


def test_a_read_only_open_never_writes_the_summary(grown):
    data_path, study_id = grown
    summary = data_path / "studies" / study_id / "contributions" / SUMMARY_FILE
    summary.unlink()
    with DataFolder(data_path) as writer:
        reader = DataFolder(data_path, readonly=True)
        assert figures(open_study(reader, study_id)).contributions > 500
        assert not summary.exists()
        assert writer.laptop_id
